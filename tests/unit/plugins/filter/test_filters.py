"""The inventory and report filters, table-driven."""
import csv
import io

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.partnercenter.autopilot.plugins.filter.autopilot_csv import autopilot_csv
from ansible_collections.partnercenter.autopilot.plugins.filter.device_batches import device_batches
from ansible_collections.partnercenter.autopilot.plugins.filter.device_report import device_report
from ansible_collections.partnercenter.autopilot.plugins.filter.device_report_csv import device_report_csv
from ansible_collections.partnercenter.autopilot.plugins.filter.device_report_html import device_report_html

C1 = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
C2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def host(name, customer=C1, batch="b1", **device):
    data = {"inventory_hostname": name, "partnercenter_customer_id": customer, "partnercenter_batch_id": batch}
    data.update(("autopilot_" + k, v) for k, v in device.items())
    return data


def test_groups_by_customer_and_batch_in_inventory_order():
    hosts = [host("a", serial_number="S1", manufacturer="HP", model="x"),
             host("b", customer=C2, batch="other", product_key="PK1"),
             host("c", serial_number="S2", hardware_hash="HASH"),
             host("d", customer=C1.upper(), serial_number="S3", manufacturer="HP", model="x", product_key="")]
    out = device_batches(hosts)
    assert [(b["customer_id"], b["batch_id"], len(b["devices"])) for b in out] == [(C1, "b1", 3), (C2, "other", 1)]
    assert out[0]["devices"][0] == {"serial_number": "S1", "manufacturer": "HP", "model": "x"}
    assert out[0]["devices"][1] == {"serial_number": "S2", "hardware_hash": "HASH"}
    assert "product_key" not in out[0]["devices"][2]  # empty values are not a device field


@pytest.mark.parametrize("bad,needle", [
    (host("x", customer=None, serial_number="S"), "x: missing partnercenter_customer_id"),
    (host("y", batch="", serial_number="S"), "y: missing partnercenter_batch_id"),
    (host("z"), "z: missing one of autopilot_serial_number, autopilot_product_key, autopilot_hardware_hash"),
    ({"autopilot_serial_number": "S"}, "host #1: missing partnercenter_customer_id, partnercenter_batch_id"),
])
def test_hosts_missing_variables_are_named(bad, needle):
    with pytest.raises(AnsibleFilterError) as info:
        device_batches([host("ok", product_key="P"), bad])
    assert needle in str(info.value) and "ok" not in str(info.value).split(":", 2)[2]


def test_all_bad_hosts_reported_at_once():
    with pytest.raises(AnsibleFilterError) as info:
        device_batches([host("a"), host("b"), host("c", product_key="P")])
    assert "2 hosts" in str(info.value) and "a: missing" in str(info.value) and "b: missing" in str(info.value)


def test_empty_inventory():
    assert device_batches([]) == []


HEADER = "Device Serial Number,Windows Product ID,Hardware Hash"


@pytest.mark.parametrize("text,expected", [
    (HEADER + "\nS1,,QUJD\n", [{"serial_number": "S1", "hardware_hash": "QUJD"}]),
    ("\ufeff" + HEADER + "\r\nS1,PK1,QUJD\r\n", [{"serial_number": "S1", "product_key": "PK1", "hardware_hash": "QUJD"}]),
    ('"Device Serial Number","Windows Product ID","Hardware Hash"\n"S1","","QUJD"\n',
     [{"serial_number": "S1", "hardware_hash": "QUJD"}]),
    (HEADER + ",Manufacturer name,Device model,Group Tag\nS1,,QUJD,HP,\"EliteBook 840, G8\",Sales\n",
     [{"serial_number": "S1", "hardware_hash": "QUJD", "manufacturer": "HP", "model": "EliteBook 840, G8"}]),
    ("device serial number , HARDWARE HASH\n  S1 , QUJD \n\n\n", [{"serial_number": "S1", "hardware_hash": "QUJD"}]),
    (HEADER + "\n", []),
    (b"\xef\xbb\xbf" + (HEADER + "\nS1,,QUJD\n").encode(), [{"serial_number": "S1", "hardware_hash": "QUJD"}]),
])
def test_autopilot_csv_reads_what_get_windowsautopilotinfo_writes(text, expected):
    assert autopilot_csv(text) == expected


@pytest.mark.parametrize("text,needle", [
    ("", "the CSV is empty"),
    ("Serial,Hash\nS1,QUJD\n", "unknown columns 'serial', 'hash'"),
    ("Manufacturer name,Device model\nHP,x\n", "no identity column"),
    (HEADER + "\nS1,,QUJD\nS2,QUJD\n,,\nS3,,QUJD,extra\n", "line 3: 2 fields, the header has 3; line 5: 4 fields"),
    (HEADER + ",Manufacturer name\n,,,HP\n", "line 2: no serial number, product id or hardware hash"),
    (42, "expected the CSV text, got int"),
])
def test_autopilot_csv_errors_name_the_line(text, needle):
    with pytest.raises(AnsibleFilterError) as info:
        autopilot_csv(text)
    assert needle in str(info.value)


def upload(customer, batch, added=(), already=(), failed=None):
    res = {"item": {"customer_id": customer, "batch_id": batch, "devices": []},
           "added": [{"serial_number": s, "product_key": None} for s in added],
           "already_present": [{"serial_number": s, "product_key": None} for s in already]}
    if failed:
        res.update(failed=True, msg=failed)
    return res


def outcome(serial, outcome, description=None):
    return {"serial_number": serial, "product_key": None, "status": "finished_with_errors" if description else
            "finished", "outcome": outcome, "error_code": "808" if description else None,
            "error_description": description, "explanation": "ask the other partner" if description else None}


def test_device_report_one_row_per_device_from_uploads_and_jobs():
    results = [upload(C1, "b1", added=["S1", "S2", "S3"], already=["S0"]), upload(C2, "b2", failed="403: no relationship")]
    jobs = [{"customer_id": C1, "batch_id": "b1", "devices": [
        outcome("S1", "registered"), outcome("S2", "failed", "ZtdDeviceAssignedToOtherTenant")]},
        {"customer_id": C1, "batch_id": "other", "devices": [outcome("X9", "registered")]}]
    rows = device_report(results, jobs)
    assert [(r["batch_id"], r["serial_number"], r["outcome"]) for r in rows] == [
        ("b1", "S0", "already_present"), ("b1", "S1", "registered"), ("b1", "S2", "failed"),
        ("b1", "S3", "registered"),  # sent, answer lost, found registered: no job of its own
        ("b2", "", "failed")]
    assert rows[2]["error_code"] == "808" and rows[2]["line"].endswith(
        "S2: failed - ZtdDeviceAssignedToOtherTenant (ask the other partner)")
    assert "lost" in rows[3]["explanation"]
    assert rows[4]["explanation"] == "403: no relationship" and rows[4]["status"] == "error"


def test_device_report_from_batches_that_waited_themselves():
    # A task run with batches returns per-batch results with customer_id/batch_id on top and the outcomes the
    # module waited for in devices. A device the service answered ZtdDeviceAlreadyAssigned is in both
    # already_present and devices: one row.
    first = {"customer_id": C1, "batch_id": "b1", "added": [{"serial_number": "S1", "product_key": None}],
             "already_present": [{"serial_number": "S0", "product_key": None},
                                 {"serial_number": "S2", "product_key": None}],
             "devices": [outcome("S1", "registered"), outcome("S2", "already_present")]}
    second = {"customer_id": C2, "batch_id": "b2", "failed": True, "msg": "403: no relationship",
              "added": [], "already_present": [], "devices": []}
    rows = device_report([first, second])
    assert [(r["customer_id"], r["batch_id"], r["serial_number"], r["outcome"]) for r in rows] == [
        (C1, "b1", "S0", "already_present"), (C1, "b1", "S1", "registered"), (C1, "b1", "S2", "already_present"),
        (C2, "b2", "", "failed")]


def test_device_report_in_check_mode_lists_what_would_be_added():
    rows = device_report([upload(C1, "b1", added=["S1"], already=["S0"])], [], True)
    assert [(r["serial_number"], r["outcome"], r["status"]) for r in rows] == [
        ("S0", "already_present", "finished"), ("S1", "would_add", "not sent")]


def test_device_report_csv_quotes_every_field_and_round_trips():
    rows = [{"customer_id": C1, "batch_id": "b, 1", "serial_number": 'S"1', "product_key": "",
             "outcome": "failed", "status": "error", "error_code": None, "error_description": "",
             "explanation": "line one\nline two", "line": "not a column"}]
    text = device_report_csv(rows)
    assert text.splitlines()[0] == ('"customer_id","batch_id","serial_number","product_key","outcome","status",'
                                    '"error_code","error_description","explanation"')
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed == [{"customer_id": C1, "batch_id": "b, 1", "serial_number": 'S"1', "product_key": "",
                       "outcome": "failed", "status": "error", "error_code": "", "error_description": "",
                       "explanation": "line one\nline two"}]


def test_device_report_html_escapes_counts_and_puts_failures_first():
    rows = [{"customer_id": C1, "batch_id": "b1", "serial_number": "S1", "product_key": "", "outcome": "registered",
             "status": "finished", "error_code": "", "error_description": "", "explanation": "", "line": "x"},
            {"customer_id": C1, "batch_id": "b<1>", "serial_number": "S&2", "product_key": None, "outcome": "failed",
             "status": "finished_with_errors", "error_code": "808", "error_description": "ZtdDeviceAssignedToOtherTenant",
             "explanation": "<script>alert(1)</script>", "line": "y"},
            {"customer_id": C2, "batch_id": "b2", "serial_number": "S3", "product_key": "", "outcome": "already_present",
             "status": "finished", "error_code": "", "error_description": "", "explanation": "", "line": "z"}]
    page = device_report_html(rows)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<td>b&lt;1&gt;</td><td>S&amp;2</td><td></td>" in page  # None is an empty cell, not "None"
    assert "ZtdDeviceAssignedToOtherTenant (808)" in page
    for label, count in (("devices", 3), ("registered", 1), ("already present", 1), ("failed", 1), ("pending", 0)):
        assert ">%s: %d</span>" % (label, count) in page
    body = page.split("<tbody>")[1]
    assert body.index("S&amp;2") < body.index("S1") < body.index("S3")
    assert page.count("<tr class=") == 3
