"""The HTML report of the large run of register_devices.yml (tests/integration/large_run.py: 10,000 devices in
`make test-slow`, 2,000 in `make test`), opened in a real browser (Debian's chromium, headless; `make test`
installs it when missing): the counts, the failure-first order, the filters and sorting, read and used through
the page (tests/integration/browser.py). Screenshots and the report go to .build/test-output/report-browser/,
named by the run's device count.
"""
import os
import shutil
import time

import pytest

from tests.integration import large_run
from tests.integration.large_run import (CUSTOMERS, FAILED_BATCH, FOREIGN, OUTPUT_DIR, PER_CUSTOMER, Expected,
                                         customer_id, customer_name, device_key)

SHOTS = os.path.join(OUTPUT_DIR, "report-browser")
SIZE = CUSTOMERS * PER_CUSTOMER  # devices in the inventory, in the names of the report copy and screenshots
REPORT = os.path.join(SHOTS, "autopilot-report-%d.html" % SIZE)
ALL_ROWS = Expected.devices + 1  # and the failed batch's own row
RANKS = {"batch failed": 0, "failed": 1, "profile failed": 2, "pending": 3, "would add": 4, "registered": 5,
         "already present": 6}


@pytest.fixture(scope="module")
def runs(emulator_tls):
    return large_run.large_runs(emulator_tls)


@pytest.fixture(scope="module")
def report(runs):
    first = runs[0]
    assert os.path.exists(first.html_path), first
    shutil.rmtree(SHOTS, ignore_errors=True)
    os.makedirs(SHOTS)
    shutil.copyfile(first.html_path, REPORT)
    return REPORT


def number(text):
    return int(text.replace(",", ""))


def test_counts_per_outcome_and_customer(page):
    tiles = page.js("(function () { var out = {}; document.querySelectorAll('#outcome-counts b')"
                    ".forEach(function (b) { out[b.dataset.count] = b.textContent; }); return out; }())")
    assert dict((k, number(v)) for k, v in tiles.items()) == {
        "all": Expected.devices, "batch_failed": 1, "failed": len(Expected.failed), "pending": 0,
        "profile_failed": 0, "profile_assigned": Expected.profiles, "registered": Expected.registered,
        "already_present": 0}
    # Problems look like problems only when there are some.
    assert page.js("document.querySelector('[data-k=pending]').className") == ""
    assert page.js("document.querySelector('[data-k=failed]').className") == "bad"
    meta = page.js("document.querySelector('.meta').textContent")
    assert large_run.service_url() in meta and "UTC" in meta
    assert "{0:,} devices of {1} customers in {1} batches".format(Expected.devices, CUSTOMERS) in meta
    assert page.js("document.querySelectorAll('#devices tbody tr').length") == ALL_ROWS
    assert page.shown() == "{0:,} of {0:,} shown".format(ALL_ROWS)

    heads = page.js("Array.prototype.map.call(document.querySelectorAll('#customers thead th'), "
                    "function (h) { return h.textContent; })")
    table = page.js("Array.prototype.map.call(document.querySelectorAll('#customers tbody tr'), function (r) { "
                    "return Array.prototype.map.call(r.cells, function (c) { return c.textContent; }); })")
    assert heads[:4] == ["customer", "customer id", "batches", "devices"]
    found = dict((row[1], dict(zip(heads, row))) for row in table)
    assert len(found) == CUSTOMERS
    for c in range(CUSTOMERS):
        devices, failed, registered, batch_failed = Expected.per_customer(c)
        row = found[customer_id(c)]
        assert row["customer"] == (customer_name(c) or ""), row
        assert (number(row["devices"]), number(row["failed"]), number(row["registered"]),
                number(row["batches failed"])) == (devices, failed, registered, batch_failed), row
        assert number(row["profile failed"]) == 0 and number(row["already present"]) == 0
    # Customers with problems first.
    troubled = set([customer_id(FAILED_BATCH)] + [customer_id(c) for c, _key in Expected.failed])
    assert set(row[1] for row in table[:len(troubled)]) == troubled


def test_failures_first(page):
    outcomes = page.js("Array.prototype.map.call(document.querySelectorAll('#devices tbody tr'), "
                       "function (r) { return r.cells[4].textContent; })")
    ranks = [RANKS[o] for o in outcomes]
    assert ranks == sorted(ranks)
    assert outcomes[:1 + len(Expected.failed)] == ["batch failed"] + ["failed"] * len(Expected.failed)
    first = page.js("Array.prototype.map.call(document.querySelectorAll('#devices tbody tr'), function (r) { "
                    "return r.cells[2].textContent + r.cells[3].textContent; }).slice(1, %d)"
                    % (1 + len(Expected.failed)))
    assert sorted(first) == sorted(key for _c, key in Expected.failed)
    page.screenshot(os.path.join(SHOTS, "report-%d-devices.png" % SIZE))


def test_filter_by_outcome_customer_and_text(page):
    page.choose("#outcome-filter", "failed")
    assert sorted(v[1] + v[2] for v in page.visible()) == sorted(key for _c, key in Expected.failed)
    assert set(v[0] for v in page.visible()) == {"failed"}
    assert page.shown() == "3 of {:,} shown".format(ALL_ROWS)
    assert page.js("location.hash") == "#outcome=failed"
    page.screenshot(os.path.join(SHOTS, "report-%d-devices-failed.png" % SIZE))

    four = customer_id(4)
    page.choose("#customer-filter", four)  # both filters at once
    assert sorted(v[1] for v in page.visible()) == sorted(device_key(c, d) for c, d in FOREIGN if c == 4)
    page.choose("#outcome-filter", "")
    visible = page.visible()
    assert len(visible) == PER_CUSTOMER and set(v[3] for v in visible) == {four}
    assert page.shown() == "{:,} of {:,} shown".format(PER_CUSTOMER, ALL_ROWS)
    # Any part of a row, any case: all but the last digit of SN-04-0200 (SN-04-0040 at 2,000 devices).
    tens = FOREIGN[1][1]
    assert FOREIGN[1][0] == 4 and tens % 10 == 0 and tens + 10 <= PER_CUSTOMER
    page.type("#search", device_key(4, tens)[:-1].lower())
    assert sorted(v[1] for v in page.visible()) == [device_key(4, d) for d in range(tens, tens + 10)]
    assert page.shown() == "10 of {:,} shown".format(ALL_ROWS)

    # Clicking an outcome count filters by it (and clicking it again shows all); so does a customer's line.
    page.type("#search", "")
    page.choose("#customer-filter", "")
    page.click("#outcome-counts [data-k=batch_failed]")
    assert [(v[0], v[3]) for v in page.visible()] == [("batch failed", customer_id(FAILED_BATCH))]
    page.click("#outcome-counts [data-k=batch_failed]")
    assert len(page.visible()) == ALL_ROWS
    page.click('#customers tbody tr[data-c="%s"]' % customer_id(29))
    assert page.js("document.getElementById('customer-filter').value") == customer_id(29)
    assert len(page.visible()) == PER_CUSTOMER

    # A link with a filter in its address opens the report filtered.
    page.js("location.hash = '#outcome=attention'")
    time.sleep(0.2)
    assert sorted(v[0] for v in page.visible()) == ["batch failed"] + ["failed"] * len(Expected.failed)


def test_sort_by_column(page):
    page.choose("#customer-filter", customer_id(4))
    page.click("#devices thead th:nth-child(3) button")  # serial number, ascending
    serials = [v[1] for v in page.visible()]
    assert serials == [device_key(4, d) for d in range(PER_CUSTOMER)]
    assert page.js("document.querySelector('#devices thead th:nth-child(3)').getAttribute('aria-sort')") == "ascending"
    page.click("#devices thead th:nth-child(3) button")  # again: descending
    assert [v[1] for v in page.visible()] == serials[::-1]
    page.click("#devices thead th:nth-child(5) button")  # outcome: failures first again
    outcomes = [v[0] for v in page.visible()]
    assert outcomes[:2] == ["failed", "failed"] and set(outcomes[2:]) == {"registered"}


def test_the_report_is_one_file_that_loads_nothing(page):
    assert page.requested() == ["file://" + REPORT]
    assert page.js("document.querySelectorAll('script[src], link[href], img, iframe').length") == 0
    assert "default-src 'none'" in page.js(
        "document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content")
