# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: device_report_html
short_description: Report rows as an HTML page
version_added: 0.1.0
description:
  - Turns the rows of P(partnercenter.autopilot.device_report#filter) into one self-contained HTML page, to keep
    for audit or to mail to the customer. Its styles and its few lines of script are inline and it loads
    nothing (its Content-Security-Policy forbids it), so it opens offline.
  - At the top - when the run happened (O(run_at)), against which service (O(service)), whether it was check
    mode, and the number of devices per outcome (failed batches, failed, pending, profile failed and assigned
    when any device has a profile, would add in check mode, registered, already present). A count is shown as a
    problem only when it is not 0.
  - Then one line per customer - its display name (the rows' C(customer_name), from the inventory's
    C(partnercenter_customer_name)) and id, its batches and its devices per outcome; customers with a failure
    (a failed or refused batch, failed, refused or profile-failed devices) first, then those with devices still
    open (pending, submitted), then the others; in each group named customers by name, then the others by id.
  - Then one table row per device (and one per failed batch), failed batches first, then failed devices, devices
    whose profile assignment failed, pending ones and the rest, each group by customer, batch and device. The
    columns are customer, batch, serial number, product key, outcome, error, what to do, and - when any device
    has an Autopilot profile - profile and profile status (with the reason when the assignment failed).
  - The row of a failed batch (C(batch refused) when it was refused for its input) lists, folded under its error,
    the devices it kept from being sent (the row's C(not_sent)), each with its reason when it is not the batch's
    own error. They are not counted as devices, as in the CSV report and the play's summary.
  - In a browser the rows can be filtered by outcome (or everything that needs attention), by customer and by
    text; the customer filter is a search box that lists the customers whose name or id contains what is typed
    (Enter or a click chooses one). Every table sorts by any column (click its heading to sort ascending, again
    descending, a third time back to the page's order; the outcome column sorts failures first). Clicking an
    outcome count or a customer's line filters by it. The filter is kept in the page's address
    (C(#outcome=failed&customer=...)), so a link can open the report filtered. Without script the page still
    lists every row, failures first.
  - Every value is HTML-escaped. Written in Python because a Jinja loop over ten thousand rows takes seconds.
options:
  _input:
    description: Rows from P(partnercenter.autopilot.device_report#filter).
    type: list
    elements: dict
    required: true
  run_at:
    description:
      - When the run happened, as shown in the report, for example made with Jinja's C(now) function (see the
        examples).
      - Defaults to the time the page is made, in UTC.
    type: str
  service:
    description: The Partner Center API the run talked to (its base URL), shown in the report; left out when empty.
    type: str
    default: ''
  check_mode:
    description: Whether the run was in check mode (the report then says that nothing was sent).
    type: bool
    default: false
  updated_at:
    description:
      - When the outcomes of the run's jobs were read later (by C(batch_status.yml), which rewrites the report),
        shown after O(run_at); left out when empty.
    type: str
    default: ''
  undeclared:
    description:
      - The RV(partnercenter.autopilot.partnercenter_device_batch#module:undeclared) devices of the upload task,
        shown after the device table in a section per customer (named as the rows name it) headed C(Registered
        here, declared nowhere).
    type: list
    elements: dict
    default: []
'''

EXAMPLES = r'''
- name: Write the report
  ansible.builtin.copy:
    content: >-
      {{ rows | partnercenter.autopilot.device_report_html(
           run_at=now(utc=true, fmt='%Y-%m-%d %H:%M:%S UTC'), service='https://api.partnercenter.microsoft.com',
           check_mode=ansible_check_mode) }}
    dest: reports/autopilot-report.html
    mode: "0644"
'''

RETURN = r'''
_value:
  description: The HTML document.
  type: str
'''

import datetime
from html import escape

from ansible_collections.partnercenter.autopilot.plugins.module_utils.outcomes import OUTCOMES, is_failure, kind

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem 2rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
.meta { color: #444; margin: 0 0 1rem; }
.check { background: #fff6d6; border: 1px solid #e0c060; padding: .5rem .8rem; border-radius: .3rem; }
.counts { display: flex; flex-wrap: wrap; gap: .6rem; margin: 0; padding: 0; list-style: none; }
.counts button { font: inherit; cursor: pointer; border: 1px solid #c8cbe0; background: #eef0fa; border-radius: .3rem;
  padding: .4rem .9rem; text-align: left; }
.counts button b { display: block; font-size: 1.3rem; }
.counts button.bad { background: #fde2e2; border-color: #e08b8b; color: #8a1010; }
.counts button.warn { background: #fff1d0; border-color: #e0b860; }
.counts button[aria-pressed="true"] { outline: 2px solid #1b1b1b; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; text-align: left; font-size: .88rem; vertical-align: top; }
th { background: #f3f3f3; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
#devices td:nth-child(-n+5) { white-space: nowrap; }
#devices td:first-child { max-width: 14rem; overflow: hidden; text-overflow: ellipsis; }
#devices td:nth-child(7) { overflow-wrap: anywhere; }
#devices td:nth-child(7) { min-width: 12rem; }
.scroll { max-height: 20rem; overflow: auto; border-bottom: 1px solid #d0d0d0; }
#customers thead th { position: sticky; top: 0; }
#customers td { white-space: nowrap; }
#customers tbody tr { cursor: pointer; }
#customers tbody tr:hover td { background: #f2f6ff; }
#customers td.bad { color: #8a1010; font-weight: bold; }
#devices thead th { position: sticky; top: 0; z-index: 1; padding: 0; }
table.sortable thead th { padding: 0; }
#devices thead th button, table.sortable thead th button { all: unset; display: block; box-sizing: border-box;
  width: 100%; padding: .25rem .5rem; cursor: pointer; font-weight: bold; }
table.sortable thead th button:focus-visible { outline: 2px solid #1b1b1b; outline-offset: -2px; }
#devices thead th[aria-sort="ascending"] button::after, table.sortable th[aria-sort="ascending"] button::after {
  content: " \\25B2"; }
#devices thead th[aria-sort="descending"] button::after, table.sortable th[aria-sort="descending"] button::after {
  content: " \\25BC"; }
#customers tbody tr.chosen td { background: #e3ebff; }
#devices details.not-sent summary { cursor: pointer; color: #8a1010; font-weight: bold; }
#devices details.not-sent ol { margin: .3rem 0 0; padding-left: 2.2rem; max-height: 16rem; overflow: auto; }
#devices details.not-sent .id { font-family: ui-monospace, monospace; white-space: nowrap; }
#devices tr.failed td { background: #fff0f0; }
#devices tr.profile-failed td, #devices tr.pending td { background: #fffbea; }
#devices td.profile-failed { background: #fde2e2; }
.filters { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: .4rem 0 .6rem; }
.filters select, .filters input { font: inherit; }
.combo .box { position: relative; display: inline-block; }
#customer-search { width: 20rem; max-width: 70vw; }
#customer-options { position: absolute; top: 100%; left: 0; z-index: 3; margin: 0; padding: 0; list-style: none;
  min-width: 100%; max-width: 40rem; max-height: 18rem; overflow: auto; background: #fff; border: 1px solid #8a8a8a;
  box-shadow: 0 .2rem .6rem rgba(0, 0, 0, .2); }
#customer-options li { padding: .2rem .5rem; cursor: pointer; white-space: nowrap; }
#customer-options li[aria-selected="true"], #customer-options li:hover { background: #e3ebff; }
#customer-options li small { color: #555; margin-left: .6rem; }
#customer-options li.none { color: #555; cursor: default; }
#shown { color: #444; }
footer { color: #666; font-size: .8rem; margin-top: 1.5rem; }
@media print { .filters, noscript { display: none; } #devices thead th { position: static; }
  .scroll, #devices details.not-sent ol { max-height: none; } }
"""

# A few lines of script: filter rows (by their data-k keys, their customer and their text), keeping the filter in
# the address; find a customer by typing part of its name or id; sort every table by a column (the devices'
# outcome column by its failure-first rank).
SCRIPT = """
(function () {
  "use strict";
  var slice = function (items) { return Array.prototype.slice.call(items); };
  var body = document.querySelector("#devices tbody"), rows = slice(body.rows);
  var outcome = document.getElementById("outcome-filter"), customer = document.getElementById("customer-filter");
  var search = document.getElementById("search"), shown = document.getElementById("shown");
  var find = document.getElementById("customer-search"), list = document.getElementById("customer-options");
  var customerRows = slice(document.querySelectorAll("#customers tbody tr"));
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  function fold(text) { return text.normalize("NFD").replace(/[\\u0300-\\u036f]/g, "").toLowerCase(); }
  function label() { return customer.value ? customer.options[customer.selectedIndex].textContent : ""; }
  function apply(keepAddress) {
    var o = outcome.value, c = customer.value, q = search.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (r, i) {
      var show = (!o || (" " + r.dataset.k + " ").indexOf(" " + o + " ") >= 0) && (!c || r.dataset.c === c) &&
        (!q || texts[i].indexOf(q) >= 0);
      r.hidden = !show;
      if (show) { n += 1; }
      var folded = show && q && r.querySelector("details.not-sent");
      if (folded && folded.textContent.toLowerCase().indexOf(q) >= 0) { folded.open = true; }
    });
    shown.textContent = n.toLocaleString("en-US") + " of " + rows.length.toLocaleString("en-US") + " shown";
    document.querySelectorAll(".counts button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.k === o));
    });
    customerRows.forEach(function (r) { r.classList.toggle("chosen", r.dataset.c === c); });
    if (document.activeElement !== find) { find.value = label(); }
    if (!keepAddress) {
      var state = [["outcome", o], ["customer", c], ["q", q]].filter(function (p) { return p[1]; })
        .map(function (p) { return p[0] + "=" + encodeURIComponent(p[1]); }).join("&");
      history.replaceState(null, "", state ? "#" + state : location.pathname + location.search);
    }
  }
  function choose(select, value) {
    select.value = value;
    if (select.value !== value) { select.value = ""; }
  }
  function fromAddress() {
    var state = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv.length === 2) { state[kv[0]] = decodeURIComponent(kv[1]); }
    });
    choose(outcome, state.outcome || "");
    choose(customer, state.customer || "");
    search.value = state.q || "";
    apply(true);
  }

  // Sorting, for every table: a click on a heading sorts by its column ascending, the next descending, the next
  // back to the page's order (failures first). Numbers (class n) sort as numbers, the rest as text in the
  // reader's language, digits by value; a cell's data-s replaces its text as the key.
  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    if (cell.dataset.s !== undefined) { return cell.dataset.s; }
    var text = cell.textContent.trim();
    return cell.classList.contains("n") ? Number(text.replace(/,/g, "")) : text;
  }
  function compare(a, b) {
    return typeof a === "number" && typeof b === "number" ? a - b : collator.compare(String(a), String(b));
  }
  function sortable(table, keyOf, sorted) {
    var tbody = table.tBodies[0], heads = slice(table.tHead.rows[0].cells), original = slice(tbody.rows);
    table.classList.add("sortable");
    heads.forEach(function (head, index) {
      var button = head.querySelector("button");
      if (!button) {
        button = document.createElement("button");
        button.type = "button";
        while (head.firstChild) { button.appendChild(head.firstChild); }
        head.appendChild(button);
      }
      button.addEventListener("click", function () {
        var now = head.getAttribute("aria-sort");
        var next = now === "ascending" ? "descending" : (now === "descending" ? "" : "ascending");
        var order = original.slice();
        if (next) {
          var sign = next === "ascending" ? 1 : -1;
          order = original.map(function (r, i) { return [keyOf(r, index), i, r]; });
          order.sort(function (a, b) { return sign * compare(a[0], b[0]) || a[1] - b[1]; });
          order = order.map(function (e) { return e[2]; });
        }
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        if (next) { head.setAttribute("aria-sort", next); }
        var fragment = document.createDocumentFragment();
        order.forEach(function (r) { fragment.appendChild(r); });
        tbody.appendChild(fragment);
        if (sorted) { sorted(order); }
      });
    });
  }
  sortable(document.getElementById("devices"), function (r, i) {
    return i === 4 ? Number(r.dataset.r) : cellKey(r, i);  // the outcome column: failures first
  }, function (order) {
    rows = order;
    texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  });
  document.querySelectorAll("#customers, table.undeclared").forEach(function (t) { sortable(t, cellKey); });

  // The customer filter: a search box over the customers' names and ids (a list of 200 is too long to scroll);
  // the select it drives stays the filter's value (and the page's address names the customer by it).
  var choices = slice(customer.options).filter(function (o) { return o.value; }).map(function (o, i) {
    var item = document.createElement("li"), text = o.textContent;
    item.id = "customer-option-" + i;
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", "false");
    item.dataset.c = o.value;
    item.textContent = text;
    if (text.toLowerCase() !== o.value) {
      var id = document.createElement("small");
      id.textContent = o.value;
      item.appendChild(id);
    }
    list.appendChild(item);
    return {item: item, value: o.value, text: fold(text + " " + o.value)};
  });
  var none = document.createElement("li"), matches = [], active = -1;
  none.className = "none";
  none.textContent = "no customer matches";
  list.appendChild(none);
  function mark(index) {
    if (active >= 0 && matches[active]) { matches[active].item.setAttribute("aria-selected", "false"); }
    active = index;
    if (index >= 0) {
      matches[index].item.setAttribute("aria-selected", "true");
      matches[index].item.scrollIntoView({block: "nearest"});
      find.setAttribute("aria-activedescendant", matches[index].item.id);
    } else {
      find.removeAttribute("aria-activedescendant");
    }
  }
  function suggest(everyone) {
    var q = everyone ? "" : fold(find.value.trim());
    mark(-1);
    matches = choices.filter(function (m) {
      var hit = !q || m.text.indexOf(q) >= 0;
      m.item.hidden = !hit;
      return hit;
    });
    none.hidden = matches.length > 0;
    list.hidden = false;
    find.setAttribute("aria-expanded", "true");
    if (q && matches.length) { mark(0); }
  }
  function close() {
    mark(-1);
    list.hidden = true;
    find.setAttribute("aria-expanded", "false");
  }
  function pick(value) {
    choose(customer, value);
    close();
    find.value = label();
    apply(false);
  }
  find.addEventListener("focus", function () { find.select(); suggest(true); });
  find.addEventListener("blur", function () { close(); find.value = label(); });
  find.addEventListener("input", function () {
    if (!find.value.trim() && customer.value) { choose(customer, ""); apply(false); }
    suggest(false);
  });
  find.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var step = event.key === "ArrowDown" ? 1 : -1;
      if (list.hidden) { suggest(false); }
      if (matches.length) {
        mark(active < 0 ? (step > 0 ? 0 : matches.length - 1) : (active + step + matches.length) % matches.length);
      }
      event.preventDefault();
    } else if (event.key === "Enter") {
      if (active >= 0) { pick(matches[active].value); } else if (!find.value.trim()) { pick(""); }
      event.preventDefault();
    } else if (event.key === "Escape" && !list.hidden) {
      close();
      find.value = label();
      event.preventDefault();
    }
  });
  list.addEventListener("mousedown", function (event) {
    var item = event.target.closest("li[role=option]");
    event.preventDefault();  // the box keeps the focus
    if (item) { pick(item.dataset.c); }
  });
  find.closest(".combo").hidden = false;
  customer.closest("label").hidden = true;

  [outcome, customer].forEach(function (s) { s.addEventListener("change", function () { apply(false); }); });
  search.addEventListener("input", function () { apply(false); });
  document.querySelectorAll(".counts button").forEach(function (b) {
    b.addEventListener("click", function () {
      choose(outcome, b.dataset.k === outcome.value ? "" : b.dataset.k);
      apply(false);
    });
  });
  customerRows.forEach(function (r) {
    r.addEventListener("click", function () { choose(customer, r.dataset.c); apply(false); });
  });
  window.addEventListener("hashchange", fromAddress);
  window.addEventListener("beforeprint", function () {  // on paper every failed batch's devices are listed
    document.querySelectorAll("details.not-sent").forEach(function (d) { d.open = true; });
  });
  fromAddress();
  document.body.dataset.ready = "true";
}());
"""

# Failure first: the rank of a row in the page, and of its outcome when the outcome column is sorted.
ORDER = ("batch_failed", "refused", "failed", "profile_failed", "pending", "submitted", "would_add", "would_remove",
         "registered", "recovered", "removed", "already_present")
RANK = dict((key, rank) for rank, key in enumerate(ORDER))
# The outcome counts at the top: (filter key, label, class when the count is not 0, shown when 0).
TILES = (("", "devices", "", True), ("batch_failed", "batches failed", "bad", False), ("failed", "failed", "bad", True),
         ("pending", "pending", "warn", True),
         ("profile_failed", "profile failed", "bad", False), ("profile_assigned", "profile assigned", "", False),
         ("refused", "refused", "bad", False), ("submitted", "submitted", "warn", False),
         ("would_add", "would add", "", False), ("would_remove", "would remove", "", False),
         ("registered", "registered", "", True), ("recovered", "recovered", "", False),
         ("removed", "removed", "", False), ("already_present", "already present", "", True))
LABELS = {"batch_failed": "batch failed", "failed": "failed", "profile_failed": "profile failed", "pending": "pending",
          "would_add": "would add", "would_remove": "would remove", "refused": "refused", "submitted": "submitted",
          "recovered": "recovered", "removed": "removed",
          "registered": "registered", "already_present": "already present", "attention": "needs attention",
          "profile_assigned": "profile assigned"}
PROFILE_DONE = ("assigned", "already_assigned", "would_assign")


def _text(value):
    return escape("" if value is None else str(value), quote=True)


def _customer_key(row):
    return str(row.get("customer_id") or "").strip().lower()


def _batch_failure(row):
    """A batch that failed as a whole is one row with status error and no device."""
    return row.get("status") == "error"


def _keys(row):
    """The filter keys of a row: its outcome (batch_failed for a failed batch's row), profile_failed when its
    assignment failed, attention when it needs someone to act (or wait)."""
    outcome, profile_status = row.get("outcome") or "", row.get("profile_status") or ""
    if _batch_failure(row):
        return ["batch_failed", "attention"]
    keys = [outcome]
    if profile_status == "failed":
        keys.append("profile_failed")
    elif profile_status in PROFILE_DONE:
        keys.append("profile_assigned")
    if kind(outcome) in ("failed", "open") or profile_status in ("failed", "pending"):
        keys.append("attention")
    return keys


def _rank(row):
    if _batch_failure(row):
        return RANK["batch_failed"]
    if not is_failure(row.get("outcome")) and row.get("profile_status") == "failed":
        return RANK["profile_failed"]
    return RANK.get(row.get("outcome"), len(ORDER))


def _sort_key(row):
    return (_rank(row), str(row.get("customer_name") or row.get("customer_id") or "").lower(), _customer_key(row),
            str(row.get("batch_id") or ""), str(row.get("serial_number") or ""), str(row.get("product_key") or ""))


def _customer_title(row):
    name, customer = row.get("customer_name"), row.get("customer_id") or ""
    return "%s (%s)" % (name, customer) if name else customer


def _number(count):
    return "{0:,}".format(count)


class _Customer(object):
    def __init__(self, row):
        self.id, self.name = str(row.get("customer_id") or "").strip(), str(row.get("customer_name") or "").strip()
        self.batches, self.counts = set(), dict((key, 0) for key in ORDER + ("profile_assigned",))
        self.devices = 0

    def add(self, row):
        self.devices += 0 if _batch_failure(row) else 1
        self.batches.add(str(row.get("batch_id") or ""))
        for key in _keys(row):
            if key in self.counts:
                self.counts[key] += 1

    def problems(self):
        return sum(self.counts[key] for key in ORDER if _problem(key))

    def group(self):
        """0 with a failure (a failed or refused batch, a failed, refused or profile-failed device), 1 with devices
        still open (pending, submitted), 2 without a problem."""
        if any(self.counts[key] for key in ORDER if _problem(key) and not _open(key)):
            return 0
        return 1 if self.problems() else 2

    def label(self):
        return self.name or self.id


def _problem(key):
    """Whether a count needs someone: a failed batch or profile assignment, a failed (refused) or open device."""
    return key in ("batch_failed", "profile_failed") or (key in OUTCOMES and kind(key) in ("failed", "open"))


def _open(key):
    return key in OUTCOMES and kind(key) == "open"


def _customers(rows):
    customers, order = {}, []
    for row in rows:
        key = _customer_key(row)
        if key not in customers:
            customers[key] = _Customer(row)
            order.append(key)
        customers[key].add(row)
    found = [customers[key] for key in order]
    found.sort(key=lambda c: (c.group(), not c.name, c.label().lower(), c.id.lower()))
    return found


def _devices(rows):
    return sum(1 for row in rows if not _batch_failure(row))


def _header(rows, customers, run_at, service, check_mode, updated_at=""):
    batches = len(set((_customer_key(r), str(r.get("batch_id") or "")) for r in rows))
    meta = ["Run <time>%s</time>" % _text(run_at)]
    if updated_at:
        meta.append("outcomes of its jobs read <time>%s</time>" % _text(updated_at))
    if service:
        meta.append("against <code>%s</code>" % _text(service))
    meta.append("%s devices of %s customers in %s batches"
                % (_number(_devices(rows)), _number(len(customers)), _number(batches)))
    parts = ['<header>\n<h1>Autopilot device registration</h1>\n<p class="meta">%s</p>\n' % " &middot; ".join(meta)]
    if check_mode:
        parts.append('<p class="check">Check mode: nothing was sent to Partner Center. Devices marked '
                     '&ldquo;would add&rdquo; are not registered.</p>\n')
    parts.append("</header>\n")
    return parts


def _tiles(rows, has_profiles):
    counts = dict((key, 0) for key in ORDER + ("profile_assigned",))
    for row in rows:
        for key in _keys(row):
            if key in counts:
                counts[key] += 1
    parts = ['<section aria-label="Devices per outcome">\n<ul class="counts" id="outcome-counts">\n']
    for key, label, problem, always in TILES:
        count = _devices(rows) if key == "" else counts[key]
        if not (always or count or (key.startswith("profile_") and has_profiles)):
            continue
        css = ' class="%s"' % problem if problem and count else ""
        parts.append('<li><button type="button" data-k="%s"%s>%s <b data-count="%s">%s</b></button></li>\n'
                     % (key, css, label, key or "all", _number(count)))
    parts.append("</ul>\n</section>\n")
    return parts


def _customer_table(customers, has_profiles, has_would_add):
    has_names = any(c.name for c in customers)

    def some(*keys):  # the columns of the newer outcomes only when a customer has some
        return [(key, LABELS[key]) for key in keys if any(c.counts[key] for c in customers)]
    columns = some("refused") + [("failed", "failed"), ("pending", "pending")] + some("submitted")
    if any(c.counts["batch_failed"] for c in customers):
        columns.insert(0, ("batch_failed", "batches failed"))
    if has_profiles:
        columns.append(("profile_failed", "profile failed"))
    if has_would_add:
        columns.append(("would_add", "would add"))
    columns += some("would_remove") + [("registered", "registered")] + some("recovered", "removed")
    columns.append(("already_present", "already present"))
    parts = ['<h2>Customers</h2>\n<div class="scroll">\n<table id="customers">\n<thead><tr>%s<th>customer id</th>'
             '<th>batches</th><th>devices</th>%s</tr></thead>\n<tbody>\n'
             % ("<th>customer</th>" if has_names else "", "".join("<th>%s</th>" % label for _key, label in columns))]
    for customer in customers:
        cells = []
        for key, _label in columns:
            count = customer.counts[key]
            bad = _problem(key) and count
            cells.append('<td class="n%s">%s</td>' % (" bad" if bad else "", _number(count)))
        name = "<td>%s</td>" % _text(customer.name) if has_names else ""
        parts.append('<tr data-c="%s">%s<td>%s</td><td class="n">%s</td><td class="n">%s</td>%s</tr>\n'
                     % (_text(customer.id.lower()), name, _text(customer.id),
                        _number(len(customer.batches)), _number(customer.devices), "".join(cells)))
    parts.append("</tbody>\n</table>\n</div>\n")
    return parts


def _filters(rows, customers):
    present = set()
    for row in rows:
        present.update(_keys(row))
    options = ['<option value="">all outcomes</option>']
    for key in ("attention",) + ORDER + ("profile_assigned",):
        if key in present:
            options.append('<option value="%s">%s</option>' % (key, LABELS[key]))
    names = [c.label() for c in customers]
    choices = ['<option value="">all customers</option>']
    for customer in sorted(customers, key=lambda c: (not c.name, c.label().lower(), c.id.lower())):
        label = customer.label()
        if customer.name and names.count(label) > 1:
            label = "%s (%s)" % (customer.name, customer.id)
        choices.append('<option value="%s">%s</option>' % (_text(customer.id.lower()), _text(label)))
    # The script shows the search box (.combo) and hides the select, which keeps the filter's value.
    return ['<h2>Devices</h2>\n<noscript><p>Filtering and sorting need JavaScript; every device is listed below, '
            'failures first.</p></noscript>\n<div class="filters">\n'
            '<label>Outcome <select id="outcome-filter">%s</select></label>\n'
            '<span class="combo" hidden><label for="customer-search">Customer</label> <span class="box">'
            '<input id="customer-search" type="search" role="combobox" aria-autocomplete="list" '
            'aria-expanded="false" aria-controls="customer-options" autocomplete="off" spellcheck="false" '
            'placeholder="all %s customers: type a name or id">'
            '<ul id="customer-options" role="listbox" aria-label="Customers" hidden></ul></span></span>\n'
            '<label>Customer <select id="customer-filter">%s</select></label>\n'
            '<label>Search <input id="search" type="search" placeholder="serial number, product key, batch, error">'
            '</label>\n<span id="shown" aria-live="polite">%s of %s shown</span>\n</div>\n'
            % ("".join(options), _number(len(customers)), "".join(choices), _number(len(rows)), _number(len(rows)))]


def _batch_label(row):
    """A failed batch's outcome cell: refused when every device it kept from being sent was refused (bad input)."""
    devices = row.get("not_sent") or []
    return "batch refused" if devices and all(d.get("outcome") == "refused" for d in devices) else "batch failed"


def _not_sent(row):
    """The devices a failed batch kept from being sent, folded under its error: each by serial number and product
    key (and profile), with its reason when that is not the batch's own error."""
    devices = row.get("not_sent") or []
    if not devices:
        return ""
    error, usual = str(row.get("explanation") or ""), _batch_label(row).split()[1]
    items = []
    for device in devices:
        names = [str(device.get(key)) for key in ("serial_number", "product_key") if device.get(key)]
        item = '<span class="id">%s</span>' % " &middot; ".join(_text(n) for n in names or ["hash-only device"])
        if device.get("profile"):
            item += " (profile %s)" % _text(device.get("profile"))
        reason = str(device.get("explanation") or "")
        if device.get("error_description"):
            reason = "%s (%s)" % (device.get("error_description"), reason) if reason else device["error_description"]
        if reason and reason != error:
            item += " - %s" % _text(reason)
        if device.get("outcome") and device.get("outcome") != usual:
            item += ' <span class="outcome">[%s]</span>' % _text(str(device.get("outcome")).replace("_", " "))
        items.append("<li>%s</li>" % item)
    return ('<details class="not-sent"><summary>%s %s not sent</summary><ol>%s</ol></details>'
            % (_number(len(devices)), "device" if len(devices) == 1 else "devices", "".join(items)))


def _device_rows(rows, has_profiles):
    columns = ["customer", "batch", "serial number", "product key", "outcome", "error", "what to do"]
    if has_profiles:
        columns += ["profile", "profile status"]
    parts = ['<table id="devices">\n<thead><tr>%s</tr></thead>\n<tbody>\n'
             % "".join('<th scope="col"><button type="button">%s</button></th>' % label for label in columns)]
    for row in sorted(rows, key=_sort_key):
        keys, outcome, profile_status = _keys(row), row.get("outcome") or "", row.get("profile_status") or ""
        css = "failed" if _batch_failure(row) else (
            "profile-failed" if outcome != "failed" and profile_status == "failed" else outcome)
        error = _text(row.get("error_description"))
        if row.get("error_code"):
            error += " (%s)" % _text(row.get("error_code"))
        cells = [_text(row.get("customer_name") or row.get("customer_id")), _text(row.get("batch_id")),
                 _text(row.get("serial_number")), _text(row.get("product_key")),
                 _batch_label(row) if _batch_failure(row) else _text(outcome.replace("_", " ")), error,
                 _text(row.get("explanation"))]
        folded = _not_sent(row) if _batch_failure(row) else ""
        tail = ""
        if has_profiles:
            status, attrs = _text(profile_status), ""
            if profile_status == "failed":
                attrs = ' class="profile-failed"'
                if row.get("profile_error"):
                    status += " - " + _text(row.get("profile_error"))
            tail = "<td>%s</td><td%s>%s</td>" % (_text(row.get("profile")), attrs, status)
        tds = ["<td>%s</td>" % c for c in cells[1:]]
        if folded:  # the batch's devices under its error; the error alone is the cell's sort key
            tds[5] = '<td data-s="%s">%s%s</td>' % (cells[6], cells[6], folded)
        parts.append('<tr class="%s" data-k="%s" data-c="%s" data-r="%d"><td title="%s">%s</td>%s%s</tr>\n'
                     % (_text(css), _text(" ".join(keys)), _text(_customer_key(row)), _rank(row),
                        _text(_customer_title(row)), cells[0], "".join(tds), tail))
    parts.append("</tbody>\n</table>\n")
    return parts


def _undeclared(undeclared, rows):
    """A section per customer: what is registered there that no inventory declares."""
    if not undeclared:
        return []
    names = dict((_customer_key(r), r.get("customer_name")) for r in rows if r.get("customer_name"))
    by_customer = {}
    for device in undeclared:
        name = device.get("customer_name") or names.get(_customer_key(device)) or ""
        by_customer.setdefault((name, device.get("customer_id") or ""), []).append(device)
    parts = ['<h2 id="undeclared">Registered here, declared nowhere (%s)</h2>\n' % _number(len(undeclared))]
    for (name, customer), devices in sorted(by_customer.items(), key=lambda item: (item[0][0].lower(), item[0][1])):
        parts.append("<h3>%s</h3>\n<table class=\"undeclared\"><thead><tr><th>batch</th><th>serial number</th>"
                     "<th>product key</th><th>manufacturer</th><th>model</th><th>profile</th></tr></thead><tbody>\n"
                     % _text("%s (%s)" % (name, customer) if name else customer))
        for device in sorted(devices, key=lambda d: (str(d.get("batch_id")), str(d.get("serial_number")))):
            parts.append("<tr>%s</tr>\n" % "".join("<td>%s</td>" % _text(device.get(key) or "") for key in (
                "batch_id", "serial_number", "product_key", "manufacturer", "model", "profile")))
        parts.append("</tbody></table>\n")
    return parts


def device_report_html(rows, run_at=None, service="", check_mode=False, undeclared=None, updated_at=""):
    rows = list(rows or [])
    if not run_at:
        run_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    has_profiles = any(row.get("profile") or row.get("profile_status") for row in rows)
    has_would_add = any(row.get("outcome") == "would_add" for row in rows)
    customers = _customers(rows)
    parts = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
             'script-src \'unsafe-inline\'">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
             '<title>Autopilot device registration report, %s</title>\n<style>%s</style>\n</head>\n<body>\n'
             % (_text(run_at), STYLE)]
    parts += _header(rows, customers, run_at, service, check_mode, updated_at)
    parts += _tiles(rows, has_profiles)
    parts += _customer_table(customers, has_profiles, has_would_add)
    parts += _filters(rows, customers)
    parts += _device_rows(rows, has_profiles)
    parts += _undeclared(undeclared, rows)
    parts.append("<footer>partnercenter.autopilot &middot; one row per device, as in the CSV report beside this "
                 "page</footer>\n<script>%s</script>\n</body>\n</html>\n" % SCRIPT)
    return "".join(parts)


class FilterModule(object):
    def filters(self):
        return {"device_report_html": device_report_html}
