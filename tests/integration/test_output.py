"""What register_devices.yml prints for 10,000 devices (40 customers; 2,000 in `make test`, see large_run.py)
and the reports it writes: at default
verbosity fewer than 100 lines that count outcomes per customer and name every failed device; at -v every
device, every customer and what the upload waited for. The outputs are kept in .build/test-output/large-run/.
"""
import codecs
import re

import pytest

from tests.integration import large_run
from tests.integration.large_run import (CUSTOMERS, FAILED_BATCH, PER_CUSTOMER, UNNAMED, WITH_PROFILE, Expected,
                                         customer_id, customer_name, device_key)


@pytest.fixture(scope="module")
def runs(emulator_tls):
    return large_run.large_runs(emulator_tls)


def summary(run):
    """The lines of the summary task's message."""
    text = run.stdout.split("TASK [Summarise the outcomes]", 1)[1].split("TASK [", 1)[0]
    return [line.strip()[1:].rstrip(",").rstrip('"') for line in text.splitlines() if line.strip().startswith('"  ')
            or re.match(r'^\s+"[^"]', line) and '"msg"' not in line]


def label(c):
    return "%s (%s)" % (customer_name(c), customer_id(c)) if customer_name(c) else customer_id(c)


def test_default_output_is_short_and_names_every_failure(runs):
    run = runs[0]
    assert run.rc != 0, run  # devices failed: the play fails after writing the report
    assert len(run.lines) < 100, run
    assert "1 batches and 3 devices could not be registered" in run.stdout, run
    lines = summary(run)
    assert lines[0] == "{:,} devices of {} customers: 3 failed, {:,} registered; 1 batch failed".format(
        Expected.devices, CUSTOMERS, Expected.registered), lines
    assert lines[1] == "profiles of {0:,} devices: {0:,} assigned".format(Expected.profiles), lines
    assert lines[2] == "per customer:"
    # Customers with a problem first, then 10 others (register_summary_customers), then how many more.
    n = PER_CUSTOMER
    assert lines[3:6] == ["  %s: %d devices - 2 failed, %d registered" % (label(4), n, n - 2),
                          "  %s: 1 batch failed" % label(FAILED_BATCH),
                          "  %s: %d devices - 1 failed, %d registered" % (label(29), n, n - 1)], lines
    calm = sorted((c for c in range(CUSTOMERS) if c not in (4, 29, FAILED_BATCH)),
                  key=lambda c: (customer_name(c) is None, (customer_name(c) or customer_id(c)).lower()))
    assert lines[6:16] == ["  %s: %d devices - %d registered" % (label(c), n, n) for c in calm[:10]], lines
    assert lines[16] == ("  ... and 27 more customers without a failed or pending device (every customer at -v and "
                         "in the report)"), lines
    assert lines[17] == "failed or needing attention (4):"
    named = lines[18:22]
    assert named[0].startswith("  %s / estate-%02d: failed - " % (customer_name(FAILED_BATCH), FAILED_BATCH)), named
    assert "relationship" in named[0]
    for (c, key), line in zip(Expected.failed, named[1:]):
        assert line.startswith("  %s / estate-%02d %s: failed - ZtdDeviceAssignedToOtherTenant (" % (
            customer_name(c), c, key)), named
    assert lines[22].startswith("report: ") and lines[22].endswith("/default/autopilot-report.html")
    # No device that registered is listed.
    assert device_key(0, 0) not in run.stdout and device_key(1, 1) not in run.stdout


def test_verbose_output_lists_every_device_customer_and_wait(runs):
    run = runs[1]
    assert run.rc != 0, run
    listed = set(re.findall(r'"[^"]* / estate-\d\d ((?:SN|PK)-\d\d-\d{4}): ', run.stdout))
    assert len(listed) == Expected.devices
    assert "%s / estate-%02d: failed" % (customer_name(FAILED_BATCH), FAILED_BATCH) in run.stdout
    lines = summary(run)
    # The re-run: every device present but the three failed ones, which were sent again and failed again.
    assert lines[0] == "{:,} devices of {} customers: 3 failed, {:,} already present; 1 batch failed".format(
        Expected.devices, CUSTOMERS, Expected.registered), lines
    assert sum(1 for line in lines if re.match(r"  .*: (%d devices|1 batch failed)" % PER_CUSTOMER, line)) == CUSTOMERS
    # What the upload task waited for: the jobs of the two batches with failed devices, devices done.
    waits = run.stdout.split("TASK [Show what the upload task waited for]", 1)[1].split("TASK [", 1)[0]
    for c in (4, 29):
        assert "(item=%s / estate-%02d)" % (customer_name(c), c) in waits, waits
    assert re.search(r"job [0-9a-f-]+: finished_with_errors, 2/2 devices done", waits), waits
    assert re.search(r"job [0-9a-f-]+: finished_with_errors, 1/1 devices done", waits), waits
    # The rows are not also dumped as one multi-megabyte JSON line.
    assert max(len(line) for line in run.lines[run.lines.index(next(
        l for l in run.lines if l.startswith("TASK [Collect one row per device]"))) + 1:]) < 100000


def test_csv_one_row_per_device_with_names_and_profiles_in_a_stable_order(runs):
    run = runs[0]
    with open(run.report_dir + "/autopilot-report.csv", "rb") as handle:
        raw = handle.read()
    assert raw.startswith(codecs.BOM_UTF8)  # spreadsheets open it as UTF-8
    assert raw[3:].split(b"\n", 1)[0] == (
        b'"customer_name","customer_id","batch_id","serial_number","product_key","outcome","status","error_code",'
        b'"error_description","explanation","profile","profile_status","profile_error"')
    rows = run.csv_rows()
    assert len(rows) == Expected.devices + 1
    order = [(r["customer_id"], r["batch_id"], r["serial_number"], r["product_key"]) for r in rows]
    assert order == sorted(order)
    by_key = dict((r["serial_number"] or r["product_key"], r) for r in rows)
    for c in range(CUSTOMERS):
        if c == FAILED_BATCH:
            assert by_key[""]["customer_id"] == customer_id(c) and by_key[""]["status"] == "error"
            continue
        row = by_key[device_key(c, PER_CUSTOMER - 1)]
        assert row["customer_name"] == (customer_name(c) or "") and row["customer_id"] == customer_id(c)
        expected_profile = ("Standard %02d" % c, "assigned") if c in WITH_PROFILE else ("", "")
        assert (row["profile"], row["profile_status"]) == expected_profile
    assert sorted(k for k, r in by_key.items() if r["outcome"] == "failed" and k) == sorted(
        key for _c, key in Expected.failed)
    assert all(r["customer_name"] == "" for r in rows if r["customer_id"] in [customer_id(c) for c in UNNAMED])
