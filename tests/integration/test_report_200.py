"""The HTML report of 200 customer tenants, as an MSP runs them, opened in headless chromium
(tests/integration/browser.py, as in test_report_browser.py): customers with a failure first, every table
sorted by clicking its heading (both ways, then back), the customer filter found by typing part of a name, and a
failed and a refused batch listing the devices they kept from being sent, with the reason.

The report is made by the filters the playbook's template calls (device_report, then device_report_html) from
batch results shaped as partnercenter_device_batch returns them, so that a refused batch with reasons per device
and 200 customers take a fraction of a second; tests/integration/test_report_history.py runs the playbook.
Screenshots and the report go to .build/test-output/report-browser-200/.
"""
import json
import os
import shutil
import time

import pytest

from ansible_collections.partnercenter.autopilot.plugins.filter.device_report import device_report
from ansible_collections.partnercenter.autopilot.plugins.filter.device_report_html import device_report_html
from tests.integration.large_run import OUTPUT_DIR

SHOTS = os.path.join(OUTPUT_DIR, "report-browser-200")
REPORT = os.path.join(SHOTS, "autopilot-report-200-customers.html")
CUSTOMERS = 200
FAILED, REFUSED, FOREIGN, PENDING = 150, 62, 7, 120  # a failed batch, a refused one, a failed device, pending ones
UNNAMED = (13, 99, 187)  # no display name: the report shows their id
# A few names that an MSP has: accents, markup and an ampersand (escaped), a namesake prefix.
NAMES = {5: u"Soci\u00e9t\u00e9 G\u00e9n\u00e9rale D\u00e9mo", 42: "<b>Bold & Sons</b>", 77: "Contoso Ltd",
         78: "Contoso Pharma"}
REASON = "403: the customer has no reseller relationship with this partner"
REFUSAL = "batch estate-062 refused for bad input: nothing of it was sent"
BAD = {1: "device 2 (SN-062-1): hardware hash is not base64", 3: "device 4 (SN-062-3): product key is malformed"}


def customer_id(c):
    return "00000000-0000-4000-8000-%012d" % c


def customer_name(c):
    return None if c in UNNAMED else NAMES.get(c, "Customer %03d" % c)


def devices_of(c):
    return 2 + c % 3  # 2 to 4 devices each


def serial(c, d):
    return "SN-%03d-%d" % (c, d)


def entry(c, d, outcome, **fields):
    """A device's entry in a batch result's devices, as partnercenter_device_batch returns it."""
    value = {"serial_number": serial(c, d), "product_key": None, "device_id": None, "status": "finished",
             "error_code": None, "error_description": None, "explanation": None, "outcome": outcome,
             "profile": None, "profile_id": None, "profile_status": None}
    value.update(fields)
    return value


def results():
    out = []
    for c in range(CUSTOMERS):
        batch = {"customer_id": customer_id(c), "batch_id": "estate-%03d" % c}
        if c == FAILED:
            batch.update(failed=True, msg=REASON, devices=[
                entry(c, d, "failed", status="not sent", explanation=REASON) for d in range(devices_of(c))])
        elif c == REFUSED:
            batch.update(failed=True, msg=REFUSAL, devices=[
                entry(c, d, "refused", status="not sent", explanation=BAD.get(d, REFUSAL))
                for d in range(devices_of(c))])
        else:
            devices = []
            for d in range(devices_of(c)):
                if c == FOREIGN and d == 0:
                    devices.append(entry(c, d, "failed", status="finished_with_errors", error_code="808",
                                         error_description="ZtdDeviceAssignedToOtherTenant",
                                         explanation="registered to another partner's customer"))
                elif c == PENDING:
                    devices.append(entry(c, d, "pending", status="processing"))
                else:
                    devices.append(entry(c, d, "registered" if c % 4 else "already_present"))
            batch["devices"] = devices
        out.append(batch)
    return out


UNDECLARED = [{"customer_id": customer_id(9), "batch_id": "portal", "serial_number": "OLD-%d" % n,
               "product_key": None, "manufacturer": "Contoso", "model": "Laptop %d" % (3 - n), "profile": None}
              for n in range(3)]
TROUBLED = [FAILED, REFUSED, FOREIGN]  # customers with a failure; then PENDING; then the others


def label(c):
    return customer_name(c) or customer_id(c)


@pytest.fixture(scope="module")
def report():
    names = dict((customer_id(c), customer_name(c)) for c in range(CUSTOMERS) if customer_name(c))
    page = device_report_html(device_report(results(), customer_names=names), run_at="2026-12-07 01:02:03 UTC",
                              service="https://api.partnercenter.microsoft.com", undeclared=UNDECLARED)
    shutil.rmtree(SHOTS, ignore_errors=True)
    os.makedirs(SHOTS)
    with open(REPORT, "w", encoding="utf-8") as handle:
        handle.write(page)
    return REPORT


def column(page, table, index):
    return page.js("Array.prototype.map.call(document.querySelectorAll('%s tbody tr'), function (r) { "
                   "return r.cells[%d].textContent; })" % (table, index))


def customer_order(page):
    return page.js("Array.prototype.map.call(document.querySelectorAll('#customers tbody tr'), "
                   "function (r) { return r.dataset.c; })")


def heading(page, table, text):
    """The nth-child index of a table's heading."""
    heads = page.js("Array.prototype.map.call(document.querySelectorAll('%s thead th'), "
                    "function (h) { return h.textContent; })" % table)
    return heads.index(text) + 1


def press(page, key):
    codes = {"Enter": 13, "ArrowDown": 40, "ArrowUp": 38, "Escape": 27}
    for kind in ("keyDown", "keyUp"):
        page.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key,
                                             "windowsVirtualKeyCode": codes[key]}, session=True)


def options(page):
    """The customers the search box lists: [(customer id, shown text)]."""
    return page.js("Array.prototype.filter.call(document.querySelectorAll('#customer-options li[role=option]'), "
                   "function (li) { return !li.hidden; }).map(function (li) { return [li.dataset.c, "
                   "li.firstChild.textContent]; })")


def visible_customers(page):
    return sorted(set(page.js("Array.prototype.filter.call(document.querySelectorAll('#devices tbody tr'), "
                              "function (r) { return !r.hidden; }).map(function (r) { return r.dataset.c; })")))


def test_customers_with_failures_first(page):
    order = customer_order(page)
    assert len(order) == CUSTOMERS
    # Failures (by name), then the customer whose devices are still pending, then the others: named ones by name,
    # then the unnamed by id.
    failing = sorted(TROUBLED, key=lambda c: label(c).lower())
    calm = [c for c in range(CUSTOMERS) if c not in TROUBLED + [PENDING]]
    calm.sort(key=lambda c: (customer_name(c) is None, label(c).lower()))
    assert order == [customer_id(c) for c in failing + [PENDING] + calm]
    rows = page.js("Array.prototype.map.call(document.querySelectorAll('#customers tbody tr'), function (r) { "
                   "return Array.prototype.map.call(r.cells, function (c) { return c.textContent; }); })")
    assert rows[order.index(customer_id(42))][0] == "<b>Bold & Sons</b>"  # shown as text, not markup
    assert page.js("document.querySelectorAll('#customers b, #devices b, #customer-options b').length") == 0
    # The tiles count the failed and the refused batch once each, and none of their devices.
    declared = sum(devices_of(c) for c in range(CUSTOMERS) if c not in (FAILED, REFUSED))
    assert page.js("document.querySelector('[data-count=all]').textContent") == "{:,}".format(declared)
    assert page.js("document.querySelector('[data-count=batch_failed]').textContent") == "2"
    page.screenshot(os.path.join(SHOTS, "report-200-customers.png"))


def test_every_table_sorts_by_clicking_a_heading_both_ways(page):
    failure_first = customer_order(page)
    ids = sorted(customer_id(c) for c in range(CUSTOMERS))
    n = heading(page, "#customers", "customer id")
    page.click("#customers thead th:nth-child(%d) button" % n)
    assert customer_order(page) == ids
    assert page.js("document.querySelector('#customers thead th:nth-child(%d)').getAttribute('aria-sort')"
                   % n) == "ascending"
    page.click("#customers thead th:nth-child(%d) button" % n)
    assert customer_order(page) == ids[::-1]
    assert page.js("document.querySelector('#customers thead th:nth-child(%d)').getAttribute('aria-sort')"
                   % n) == "descending"
    page.click("#customers thead th:nth-child(%d) button" % n)  # a third time: the page's order again
    assert customer_order(page) == failure_first
    # A count sorts as a number (4 after 2 and 3, 1,234 would after 999), ties in the page's order.
    n = heading(page, "#customers", "devices")
    page.click("#customers thead th:nth-child(%d) button" % n)
    counts = [int(v.replace(",", "")) for v in column(page, "#customers", n - 1)]
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 4
    page.click("#customers thead th:nth-child(%d) button" % n)
    assert [int(v) for v in column(page, "#customers", n - 1)] == sorted(counts, reverse=True)
    # Another column's heading starts over, ascending; the customers' names sort in the reader's language.
    n = heading(page, "#customers", "customer")
    page.click("#customers thead th:nth-child(%d) button" % n)
    names = column(page, "#customers", n - 1)
    assert page.js("(function (names) { var c = new Intl.Collator(undefined, {numeric: true, sensitivity: 'base'}); "
                   "return names.every(function (n, i) { return i === 0 || c.compare(names[i - 1], n) <= 0; }); }"
                   "(%s))" % json.dumps(names))
    assert names[:len(UNNAMED)] == [""] * len(UNNAMED)  # no name: first going up
    page.screenshot(os.path.join(SHOTS, "report-200-customers-sorted.png"))

    # The devices: by serial number up and down (a batch's own row has none).
    serials = sorted(serial(c, d) for c in range(CUSTOMERS) if c not in (FAILED, REFUSED) for d in range(devices_of(c)))
    page.click("#devices thead th:nth-child(3) button")
    assert [s for s in column(page, "#devices", 2) if s] == serials
    page.click("#devices thead th:nth-child(3) button")
    assert [s for s in column(page, "#devices", 2) if s] == serials[::-1]
    # The devices registered here but declared nowhere: by model, both ways.
    page.click("table.undeclared thead th:nth-child(5) button")
    assert column(page, "table.undeclared", 4) == ["Laptop 1", "Laptop 2", "Laptop 3"]
    page.click("table.undeclared thead th:nth-child(5) button")
    assert column(page, "table.undeclared", 4) == ["Laptop 3", "Laptop 2", "Laptop 1"]


def test_the_customer_filter_finds_a_customer_by_typing_part_of_its_name(page):
    assert page.js("document.getElementById('customer-filter').closest('label').hidden") is True
    assert page.js("document.getElementById('customer-search').placeholder") == \
        "all 200 customers: type a name or id"
    # Part of a name, in any case and without its accents: the one customer it names, chosen with Enter.
    page.type("#customer-search", "GENERALE")
    assert options(page) == [[customer_id(5), NAMES[5]]]
    assert page.js("document.getElementById('customer-search').getAttribute('aria-expanded')") == "true"
    page.screenshot(os.path.join(SHOTS, "report-200-customer-search.png"))
    press(page, "Enter")
    assert page.js("document.getElementById('customer-filter').value") == customer_id(5)
    assert page.js("document.getElementById('customer-search').value") == NAMES[5]
    assert page.js("document.getElementById('customer-options').hidden") is True
    assert visible_customers(page) == [customer_id(5)]
    every = page.js("document.querySelectorAll('#devices tbody tr').length")
    assert page.shown() == "{} of {:,} shown".format(devices_of(5), every)
    assert page.js("location.hash") == "#customer=" + customer_id(5)
    assert page.js("document.querySelector('#customers tr.chosen').dataset.c") == customer_id(5)

    # A prefix shared by namesakes lists them all (by name); the arrow keys choose among them.
    page.type("#customer-search", "contoso")
    assert options(page) == [[customer_id(77), "Contoso Ltd"], [customer_id(78), "Contoso Pharma"]]
    press(page, "ArrowDown")
    press(page, "Enter")
    assert visible_customers(page) == [customer_id(78)]

    # Part of a customer id (a customer without a name), chosen with a click; markup in a name is text.
    page.type("#customer-search", "%012d" % 99)
    assert options(page) == [[customer_id(99), customer_id(99)]]
    page.click('#customer-options li[data-c="%s"]' % customer_id(99))
    assert visible_customers(page) == [customer_id(99)]
    page.type("#customer-search", "bold &")
    assert options(page) == [[customer_id(42), "<b>Bold & Sons</b>"]]
    page.click('#customer-options li[data-c="%s"]' % customer_id(42))
    assert page.js("document.getElementById('customer-search').value") == "<b>Bold & Sons</b>"

    # Nothing matches: said so, and the filter stays as it was; an empty box is every customer again.
    page.type("#customer-search", "no such tenant")
    assert options(page) == [] and page.js("document.querySelector('#customer-options li.none').hidden") is False
    press(page, "Enter")
    assert visible_customers(page) == [customer_id(42)]
    page.type("#customer-search", "")
    assert page.js("document.getElementById('customer-filter').value") == ""
    assert len(visible_customers(page)) == CUSTOMERS
    # Clicking a customer's line chooses it too, and the box says which.
    page.js("document.activeElement.blur()")
    page.click('#customers tbody tr[data-c="%s"]' % customer_id(FOREIGN))
    assert page.js("document.getElementById('customer-search').value") == label(FOREIGN)
    assert visible_customers(page) == [customer_id(FOREIGN)]
    # And a link naming a customer opens the report filtered by it, named in the box.
    page.js("location.hash = '#customer=%s'" % customer_id(77))
    time.sleep(0.2)
    assert page.js("document.getElementById('customer-search').value") == "Contoso Ltd"
    assert visible_customers(page) == [customer_id(77)]


def test_a_failed_and_a_refused_batch_list_their_devices_with_the_reason(page):
    def batch_row(c):
        return page.js("(function () { var r = document.querySelector('#devices tbody tr[data-c=\"%s\"]"
                       "[data-k~=batch_failed]'); var d = r.querySelector('details.not-sent'); return {outcome: "
                       "r.cells[4].textContent, error: r.cells[6].dataset.s, summary: d.querySelector('summary')"
                       ".textContent, open: d.open, items: Array.prototype.map.call(d.querySelectorAll('li'), "
                       "function (li) { return [li.textContent, li.checkVisibility()]; }) }; }())"
                       % customer_id(c))

    failed = batch_row(FAILED)
    assert (failed["outcome"], failed["error"], failed["summary"]) == (
        "batch failed", REASON, "%d devices not sent" % devices_of(FAILED))
    # Folded: listed, not shown until opened; each device without repeating the batch's error.
    assert failed["open"] is False and all(not shown for _text, shown in failed["items"])
    assert [text for text, _shown in failed["items"]] == [serial(FAILED, d) for d in range(devices_of(FAILED))]
    page.click('#devices tr[data-c="%s"][data-k~=batch_failed] summary' % customer_id(FAILED))
    failed = batch_row(FAILED)
    assert failed["open"] is True and all(shown for _text, shown in failed["items"])
    page.screenshot(os.path.join(SHOTS, "report-200-failed-batch.png"))

    # The refused batch: refused, and each device with what is wrong with it (the others: the batch's reason).
    refused = batch_row(REFUSED)
    assert (refused["outcome"], refused["error"]) == ("batch refused", REFUSAL)
    assert [text for text, _shown in refused["items"]] == [
        serial(REFUSED, d) + (" - " + BAD[d] if d in BAD else "") for d in range(devices_of(REFUSED))]
    # Both come first (by customer), and the batch filter shows just them.
    assert column(page, "#devices", 4)[:3] == ["batch refused", "batch failed", "failed"]
    page.click("#outcome-counts [data-k=batch_failed]")
    assert visible_customers(page) == sorted([customer_id(FAILED), customer_id(REFUSED)])
    page.click("#outcome-counts [data-k=batch_failed]")

    # Searching for a device that was never sent finds its batch, unfolded.
    page.type("#search", serial(REFUSED, 3).lower())
    assert visible_customers(page) == [customer_id(REFUSED)]
    assert page.shown().startswith("1 of ")
    assert batch_row(REFUSED)["open"] is True
    page.screenshot(os.path.join(SHOTS, "report-200-refused-batch.png"))
