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
    C(partnercenter_customer_name)) and id, its batches and its devices per outcome; customers with a failed
    batch, failed, pending or profile-failed devices first, then named customers by name, then the others by id.
  - Then one table row per device (and one per failed batch), failed batches first, then failed devices, devices
    whose profile assignment failed, pending ones and the rest, each group by customer, batch and device. The
    columns are customer, batch, serial number, product key, outcome, error, what to do, and - when any device
    has an Autopilot profile - profile and profile status (with the reason when the assignment failed).
  - In a browser the rows can be filtered by outcome (or everything that needs attention), by customer and by
    text, and sorted by any column (click its heading; again to reverse; the outcome column sorts failures
    first). Clicking an outcome count or a customer filters by it. The filter is kept in the page's address
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
#devices thead th button { all: unset; display: block; box-sizing: border-box; width: 100%; padding: .25rem .5rem;
  cursor: pointer; font-weight: bold; }
#devices thead th[aria-sort="ascending"] button::after { content: " \\25B2"; }
#devices thead th[aria-sort="descending"] button::after { content: " \\25BC"; }
#devices tr.failed td { background: #fff0f0; }
#devices tr.profile-failed td, #devices tr.pending td { background: #fffbea; }
#devices td.profile-failed { background: #fde2e2; }
.filters { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: .4rem 0 .6rem; }
.filters select, .filters input { font: inherit; }
#shown { color: #444; }
footer { color: #666; font-size: .8rem; margin-top: 1.5rem; }
@media print { .filters, noscript { display: none; } #devices thead th { position: static; } }
"""

# A few lines of script: filter rows (by their data-k keys, their customer and their text) and sort by a
# column (the outcome column by its failure-first rank), keeping the filter in the address.
SCRIPT = """
(function () {
  "use strict";
  var body = document.querySelector("#devices tbody"), rows = Array.prototype.slice.call(body.rows);
  var outcome = document.getElementById("outcome-filter"), customer = document.getElementById("customer-filter");
  var search = document.getElementById("search"), shown = document.getElementById("shown");
  var heads = Array.prototype.slice.call(document.querySelectorAll("#devices thead th"));
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  function apply(keepAddress) {
    var o = outcome.value, c = customer.value, q = search.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (r, i) {
      var show = (!o || (" " + r.dataset.k + " ").indexOf(" " + o + " ") >= 0) && (!c || r.dataset.c === c) &&
        (!q || texts[i].indexOf(q) >= 0);
      r.hidden = !show;
      if (show) { n += 1; }
    });
    shown.textContent = n.toLocaleString("en-US") + " of " + rows.length.toLocaleString("en-US") + " shown";
    document.querySelectorAll(".counts button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.k === o));
    });
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
  function sortBy(index) {
    var head = heads[index], up = head.getAttribute("aria-sort") !== "ascending";
    var key = function (r) { return index === 4 ? r.dataset.r : r.cells[index].textContent; };
    var order = rows.map(function (r, i) { return [key(r), i, r]; });
    order.sort(function (a, b) { return (up ? 1 : -1) * collator.compare(a[0], b[0]) || a[1] - b[1]; });
    rows = order.map(function (e) { return e[2]; });
    texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    head.setAttribute("aria-sort", up ? "ascending" : "descending");
    var fragment = document.createDocumentFragment();
    rows.forEach(function (r) { fragment.appendChild(r); });
    body.appendChild(fragment);
  }
  heads.forEach(function (h, i) { h.querySelector("button").addEventListener("click", function () { sortBy(i); }); });
  [outcome, customer].forEach(function (s) { s.addEventListener("change", function () { apply(false); }); });
  search.addEventListener("input", function () { apply(false); });
  document.querySelectorAll(".counts button").forEach(function (b) {
    b.addEventListener("click", function () {
      choose(outcome, b.dataset.k === outcome.value ? "" : b.dataset.k);
      apply(false);
    });
  });
  document.querySelectorAll("#customers tbody tr").forEach(function (r) {
    r.addEventListener("click", function () { choose(customer, r.dataset.c); apply(false); });
  });
  window.addEventListener("hashchange", fromAddress);
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

    def label(self):
        return self.name or self.id


def _problem(key):
    """Whether a count needs someone: a failed batch or profile assignment, a failed (refused) or open device."""
    return key in ("batch_failed", "profile_failed") or (key in OUTCOMES and kind(key) in ("failed", "open"))


def _customers(rows):
    customers, order = {}, []
    for row in rows:
        key = _customer_key(row)
        if key not in customers:
            customers[key] = _Customer(row)
            order.append(key)
        customers[key].add(row)
    found = [customers[key] for key in order]
    found.sort(key=lambda c: (c.problems() == 0, not c.name, c.label().lower(), c.id.lower()))
    return found


def _devices(rows):
    return sum(1 for row in rows if not _batch_failure(row))


def _header(rows, customers, run_at, service, check_mode):
    batches = len(set((_customer_key(r), str(r.get("batch_id") or "")) for r in rows))
    meta = ["Run <time>%s</time>" % _text(run_at)]
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
    return ['<h2>Devices</h2>\n<noscript><p>Filtering and sorting need JavaScript; every device is listed below, '
            'failures first.</p></noscript>\n<div class="filters">\n'
            '<label>Outcome <select id="outcome-filter">%s</select></label>\n'
            '<label>Customer <select id="customer-filter">%s</select></label>\n'
            '<label>Search <input id="search" type="search" placeholder="serial number, product key, batch, error">'
            '</label>\n<span id="shown" aria-live="polite">%s of %s shown</span>\n</div>\n'
            % ("".join(options), "".join(choices), _number(len(rows)), _number(len(rows)))]


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
                 "batch failed" if _batch_failure(row) else _text(outcome.replace("_", " ")), error,
                 _text(row.get("explanation"))]
        tail = ""
        if has_profiles:
            status, attrs = _text(profile_status), ""
            if profile_status == "failed":
                attrs = ' class="profile-failed"'
                if row.get("profile_error"):
                    status += " - " + _text(row.get("profile_error"))
            tail = "<td>%s</td><td%s>%s</td>" % (_text(row.get("profile")), attrs, status)
        parts.append('<tr class="%s" data-k="%s" data-c="%s" data-r="%d"><td title="%s">%s</td>%s%s</tr>\n'
                     % (_text(css), _text(" ".join(keys)), _text(_customer_key(row)), _rank(row),
                        _text(_customer_title(row)), cells[0], "".join("<td>%s</td>" % c for c in cells[1:]),
                        tail))
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


def device_report_html(rows, run_at=None, service="", check_mode=False, undeclared=None):
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
    parts += _header(rows, customers, run_at, service, check_mode)
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
