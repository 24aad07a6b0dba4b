"""The inventory and report filters, table-driven."""
import csv
import io

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.partnercenter.autopilot.plugins.filter.autopilot_csv import autopilot_csv
from ansible_collections.partnercenter.autopilot.plugins.filter.csv_batches import csv_batches
from ansible_collections.partnercenter.autopilot.plugins.filter.device_batches import device_batches
from ansible_collections.partnercenter.autopilot.plugins.filter.device_report import device_report
from ansible_collections.partnercenter.autopilot.plugins.filter.device_report_csv import device_report_csv
from ansible_collections.partnercenter.autopilot.plugins.filter.device_report_html import device_report_html
from ansible_collections.partnercenter.autopilot.plugins.filter.device_summary import device_summary
from ansible_collections.partnercenter.autopilot.plugins.module_utils.outcomes import explanation

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
    ({"autopilot_serial_number": "S"}, "host #1: missing partnercenter_customer_id (or partnercenter_customer), "
                                       "partnercenter_batch_id"),
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
    assert device_batches([]) == [] and device_batches(None) == []


def test_hosts_that_are_not_host_variables_are_named():
    with pytest.raises(AnsibleFilterError) as info:
        device_batches([host("a", product_key="P"), "b", None])
    assert str(info.value) == ("device_batches: 2 hosts cannot be placed in a batch: host #1: expected its host "
                               "variables (a dictionary), got str; host #2: expected its host variables (a "
                               "dictionary), got NoneType")


@pytest.mark.parametrize("hosts", ["localhost", 42, {"inventory_hostname": "a"}])
def test_a_value_that_is_not_a_list_of_hosts_is_an_error(hosts):
    with pytest.raises(AnsibleFilterError, match="device_batches: expected a list of host variables"):
        device_batches(hosts)


def test_autopilot_profile_becomes_the_device_profile_and_is_omitted_when_unset():
    hosts = [host("a", serial_number="S1", profile="Kiosk"),
             host("b", serial_number="S2", profile=""),
             host("c", serial_number="S3", profile=None),
             host("d", serial_number="S4")]
    out = device_batches(hosts)
    assert [d.get("profile", "<none>") for d in out[0]["devices"]] == ["Kiosk", "<none>", "<none>", "<none>"]
    assert out[0]["devices"][0] == {"serial_number": "S1", "profile": "Kiosk"}


def test_a_profile_alone_is_not_an_identity():
    with pytest.raises(AnsibleFilterError) as info:
        device_batches([host("p", profile="Kiosk")])
    assert "p: missing one of autopilot_serial_number" in str(info.value)


def test_group_tag_is_the_batch_when_no_batch_id_is_set():
    hosts = [host("a", batch=None, serial_number="S1", group_tag="Sales"),
             host("b", batch="", serial_number="S2", group_tag="Kiosks"),
             host("c", batch="Sales", serial_number="S3", group_tag="Sales"),  # the same value in both: fine
             host("d", batch="b1", serial_number="S4"),
             host("e", batch="b1", serial_number="S5", group_tag="")]
    out = device_batches(hosts)
    assert [(b["batch_id"], [d["serial_number"] for d in b["devices"]]) for b in out] == [
        ("Sales", ["S1", "S3"]), ("Kiosks", ["S2"]), ("b1", ["S4", "S5"])]
    assert all("group_tag" not in d for b in out for d in b["devices"])  # not a device field


def test_batch_id_and_group_tag_that_differ_are_an_error_with_the_other_problems():
    hosts = [host("ok", serial_number="S0", group_tag="b1"),
             host("clash", batch="b1", serial_number="S1", group_tag="Sales"),
             host("nobatch", batch=None, serial_number="S2"),
             host("clash2", customer=C2, batch="x", product_key="P", group_tag="y")]
    with pytest.raises(AnsibleFilterError) as info:
        device_batches(hosts)
    message = str(info.value)
    assert "3 hosts" in message
    assert "clash: partnercenter_batch_id 'b1' and autopilot_group_tag 'Sales' differ" in message
    assert "clash2: partnercenter_batch_id 'x' and autopilot_group_tag 'y' differ" in message
    assert "nobatch: missing partnercenter_batch_id (or autopilot_group_tag)" in message
    assert "ok:" not in message


def test_a_host_with_differing_batch_variables_and_a_missing_customer_gets_both_problems():
    with pytest.raises(AnsibleFilterError) as info:
        device_batches([host("h", customer="", batch="b1", serial_number="S1", group_tag="Sales")])
    assert str(info.value).endswith("1 hosts cannot be placed in a batch: h: partnercenter_batch_id 'b1' and "
                                    "autopilot_group_tag 'Sales' differ (set one, or both to the same batch), "
                                    "missing partnercenter_customer_id (or partnercenter_customer)")


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
    (HEADER + '\nS1,,QUJD\nS2,,"' + "Q" * 200000 + "\nS3,,QUJD\n",
     "line 3: the CSV cannot be read from this line on: field larger than field limit"),
    (b"\xff\xfeD\x00e\x00", "the CSV is not UTF-8 text (byte 0)"),
])
def test_autopilot_csv_errors_name_the_line(text, needle):
    with pytest.raises(AnsibleFilterError) as info:
        autopilot_csv(text)
    assert needle in str(info.value)


TAGGED = HEADER + ",Group Tag\n"


def batches_summary(entries):
    return [(e["batch_id"], [d.get("serial_number") for d in e["devices"]]) for e in entries]


def test_csv_batches_one_entry_per_group_tag_in_first_seen_order():
    text = TAGGED + "S1,,QUJD,Sales\nS2,,QUJD,\nS3,,QUJD,Kiosks\nS4,,QUJD,Sales\nS5,,QUJD,  \nS6,,QUJD,dflt\n"
    out = csv_batches(text, " " + C1 + " ", "dflt")
    assert batches_summary(out) == [("Sales", ["S1", "S4"]), ("dflt", ["S2", "S5", "S6"]), ("Kiosks", ["S3"])]
    assert all(e["customer_id"] == C1 and "profile" not in e for e in out)
    assert out[0]["devices"][0] == {"serial_number": "S1", "hardware_hash": "QUJD"}  # the tag is not a device field


def test_csv_batches_puts_the_profile_on_every_entry():
    out = csv_batches(TAGGED + "S1,,QUJD,Sales\nS2,,QUJD,\n", C1, "b1", profile="Kiosk")
    assert [(e["batch_id"], e["profile"]) for e in out] == [("Sales", "Kiosk"), ("b1", "Kiosk")]
    assert all("profile" not in e for e in csv_batches(TAGGED + "S1,,QUJD,\n", C1, "b1", profile=""))


def test_csv_batches_without_a_group_tag_column_gives_one_batch():
    out = csv_batches(HEADER + "\nS1,,QUJD\nS2,PK2,\n", C1, "b1")
    assert out == [{"customer_id": C1, "batch_id": "b1",
                    "devices": [{"serial_number": "S1", "hardware_hash": "QUJD"},
                                {"serial_number": "S2", "product_key": "PK2"}]}]


def test_csv_batches_entries_without_devices_are_not_returned():
    assert csv_batches(HEADER + "\n", C1, "b1") == []
    assert csv_batches(TAGGED + "\n\n", C1, "b1") == []
    assert batches_summary(csv_batches(TAGGED + "S1,,QUJD,Sales\n", C1, "b1")) == [("Sales", ["S1"])]


@pytest.mark.parametrize("text", [
    "\ufeff" + TAGGED.replace("\n", "\r\n") + "S1,,QUJD,Sales\r\n\r\nS2,,QUJD,\r\n",
    b"\xef\xbb\xbf" + (TAGGED + "S1,,QUJD,Sales\nS2,,QUJD,\n").replace("\n", "\r\n").encode(),
    '"Device Serial Number","Windows Product ID","Hardware Hash","Group Tag"\r\n"S1","","QUJD","Sales"\r\n'
    '"S2","","QUJD",""\r\n',
])
def test_csv_batches_reads_bom_crlf_and_quoted_csv(text):
    assert batches_summary(csv_batches(text, C1, "b1")) == [("Sales", ["S1"]), ("b1", ["S2"])]


def test_csv_batches_names_the_line_of_every_bad_group_tag_and_bad_row_at_once():
    text = (TAGGED + "S1,,QUJD,Sales\nS2,,QUJD,Sales/EMEA\nS3,,QUJD\nS4,,QUJD," + "x" * 65 + "\n"
            + "S5,,QUJD," + "y" * 64 + "\n,,,Sales\n")
    with pytest.raises(AnsibleFilterError) as info:
        csv_batches(text, C1, "b1")
    message = str(info.value)
    assert message.startswith("csv_batches: 4 bad rows: line 3: Group Tag 'Sales/EMEA' is not a batch name")
    assert "line 4: 3 fields, the header has 4" in message
    assert "line 5: Group Tag '%s' is not a batch name" % ("x" * 65) in message
    assert "line 7: no serial number, product id or hardware hash" in message
    assert "line 6" not in message and "line 2" not in message  # 64 characters is a batch name
    assert message.index("line 3") < message.index("line 4") < message.index("line 5") < message.index("line 7")


@pytest.mark.parametrize("text,batch,needle", [
    (TAGGED + "S1,,QUJD,Sales\nS2,,QUJD,\n", None, "csv_batches: 1 bad rows: line 3: no Group Tag and no batch_id"),
    (HEADER + "\nS1,,QUJD\n", "", "line 2: no Group Tag and no batch_id given"),
    ("", "b1", "csv_batches: the CSV is empty"),
    ("Serial,Group Tag\nS1,x\n", "b1", "csv_batches: line 1: unknown columns 'serial'"),
    (42, "b1", "csv_batches: expected the CSV text, got int"),
])
def test_csv_batches_errors(text, batch, needle):
    with pytest.raises(AnsibleFilterError) as info:
        csv_batches(text, C1, batch)
    assert needle in str(info.value)


def test_csv_batches_every_row_tagged_needs_no_batch_id():
    assert batches_summary(csv_batches(TAGGED + "S1,,QUJD,Sales\n", C1, None)) == [("Sales", ["S1"])]


@pytest.mark.parametrize("customer", [None, "", "  "])
def test_csv_batches_needs_a_customer(customer):
    with pytest.raises(AnsibleFilterError, match="give customer_id or customer"):
        csv_batches(HEADER + "\nS1,,QUJD\n", customer, "b1")


def test_autopilot_csv_still_drops_the_group_tag():
    assert autopilot_csv(TAGGED + "S1,,QUJD,Sales\n") == [{"serial_number": "S1", "hardware_hash": "QUJD"}]


# The status the module gives a device's entry with each outcome; None (no job status) for a device found
# registered before any upload, one planned in check mode, or one its batch's failure reached before it was sent.
STATUSES = {"registered": "finished", "recovered": "finished", "failed": "finished_with_errors",
            "submitted": "queued", "pending": "processing"}


def device(serial, outcome, description=None, **fields):
    """An entry of a batch result's devices as partnercenter_device_batch returns it: every declared device once,
    with its outcome and, for an outcome a job gave, that job's status and error."""
    entry = {"serial_number": serial, "product_key": None, "device_id": None, "status": STATUSES.get(outcome),
             "error_code": "808" if description else None, "error_description": description,
             "explanation": "ask the other partner" if description else explanation(outcome), "outcome": outcome,
             "profile": None, "profile_id": None, "profile_status": None}
    entry.update(fields)
    return entry


def batch(customer, batch_id, *devices):
    """One batch's result (a task's, or an entry of its batches): every declared device's entry in devices,
    and the lists the module derives from them."""
    def ids(*outcomes):
        return [{"serial_number": d["serial_number"], "product_key": d["product_key"]} for d in devices
                if d["outcome"] in outcomes]
    return {"customer_id": customer, "batch_id": batch_id, "devices": list(devices),
            "added": ids("registered", "recovered", "submitted", "would_add"),
            "already_present": ids("already_present"), "removed": ids("removed", "would_remove")}


def upload(customer, batch_id, *devices, **failure):
    """A looped task's result: its batch in item, and the batch's result; or with failed="msg" a task that
    failed before its batch was read (no devices, so the report gives the batch a row of its own)."""
    item = {"customer_id": customer, "batch_id": batch_id,
            "devices": [{"serial_number": d["serial_number"]} for d in devices]}
    if failure.get("failed"):
        return {"item": item, "failed": True, "msg": failure["failed"]}
    return dict(batch(customer, batch_id, *devices), item=item)


def outcome(serial, outcome, description=None):
    """A device of a job's devicesStatus, as partnercenter_batch_job_status_info returns it in its jobs."""
    return {"serial_number": serial, "product_key": None, "device_id": None,
            "status": "finished_with_errors" if description else "finished", "outcome": outcome,
            "error_code": "808" if description else None, "error_description": description,
            "explanation": "ask the other partner" if description else None}


def test_device_report_one_row_per_device_from_uploads_and_jobs():
    # Uploaded with wait: false (S1, S2 submitted); S3 was sent, its answer lost, and found registered.
    results = [upload(C1, "b1", device("S0", "already_present"), device("S1", "submitted"),
                      device("S2", "submitted"), device("S3", "recovered")),
               upload(C2, "b2", failed="403: no relationship")]
    jobs = [{"customer_id": C1, "batch_id": "b1", "devices": [
        outcome("S1", "registered"), outcome("S2", "failed", "ZtdDeviceAssignedToOtherTenant")]},
        {"customer_id": C1, "batch_id": "other", "devices": [outcome("X9", "registered")]}]
    rows = device_report(results, jobs)
    assert [(r["batch_id"], r["serial_number"], r["outcome"]) for r in rows] == [
        ("b1", "S0", "already_present"), ("b1", "S1", "registered"), ("b1", "S2", "failed"),
        ("b1", "S3", "recovered"),  # sent, answer lost, found registered: no job of its own
        ("b2", "", "failed")]
    assert rows[2]["error_code"] == "808" and rows[2]["line"].endswith(
        "S2: failed - ZtdDeviceAssignedToOtherTenant (ask the other partner)")
    assert "lost" in rows[3]["explanation"]
    assert rows[4]["explanation"] == "403: no relationship" and rows[4]["status"] == "error"


def test_device_report_of_uploads_not_waited_for_then_of_their_jobs_read_later():
    # wait: false: every uploaded device is submitted (S0 was already registered, so it was not sent).
    results = [upload(C1, "b1", device("S0", "already_present"), device("S1", "submitted"),
                      device(None, "submitted", product_key="PK2"), device("S3", "submitted"),
                      device("S4", "submitted"), device(None, "submitted")),
               upload(C2, "b1", device("S1", "submitted"))]
    rows = device_report(results)
    assert [(r["customer_id"], r["serial_number"] or r["product_key"], r["outcome"], r["status"]) for r in rows] == [
        (C1, "S0", "already_present", ""), (C1, "S1", "submitted", "queued"), (C1, "PK2", "submitted", "queued"),
        (C1, "S3", "submitted", "queued"), (C1, "S4", "submitted", "queued"), (C1, "", "submitted", "queued"),
        (C2, "S1", "submitted", "queued")]
    assert rows[1]["line"] == "%s / b1 S1: submitted - %s" % (C1, explanation("submitted"))
    # The jobs read later by partnercenter_batch_job_status_info (jobs: the uploads' jobs): each submitted device
    # takes its job's outcome, joined by serial number else product key within its own customer's batch (the
    # job of batch b2 is not S4's). S4's job is not finished yet; the hash-only device cannot be joined (the
    # entry naming neither identity is not it); C2's job was not read.
    jobs = [{"customer_id": C1, "batch_id": "b2", "tracking_id": "t0", "status": "finished",
             "devices": [outcome("S4", "registered")]},
            {"customer_id": C1, "batch_id": "b1", "tracking_id": "t1", "status": "finished_with_errors",
             "devices": [outcome("S1", "registered"), outcome(None, "failed", "ZtdDeviceAssignedToOtherTenant"),
                         dict(outcome("S2x", "failed", "ZtdDeviceAssignedToOtherTenant"), product_key="PK2")]},
            {"customer_id": C1, "batch_id": "b1", "tracking_id": "t2", "status": "processing",
             "devices": [outcome("S3", "registered"), dict(outcome("S4", "pending"), status="processing")]}]
    rows = device_report(results, jobs)
    assert [(r["customer_id"], r["serial_number"] or r["product_key"], r["outcome"], r["status"]) for r in rows] == [
        (C1, "S0", "already_present", ""), (C1, "S1", "registered", "finished"),
        (C1, "S2x", "failed", "finished_with_errors"), (C1, "S3", "registered", "finished"),
        (C1, "S4", "pending", "processing"), (C1, "", "submitted", "queued"), (C2, "S1", "submitted", "queued")]
    assert rows[2]["product_key"] == "PK2" and rows[2]["error_code"] == "808" and rows[2]["line"].endswith(
        "S2x: failed - ZtdDeviceAssignedToOtherTenant (ask the other partner)")
    assert rows[1]["line"] == "%s / b1 S1: registered" % C1


def test_device_report_from_batches_that_waited_themselves():
    # A task run with batches returns per-batch results with customer_id/batch_id on top and every declared
    # device's outcome in devices: S0 found registered before the upload, S1 registered by the job waited for,
    # S2 answered ZtdDeviceAlreadyAssigned by it (one entry, so one row). A batch that failed (403) before
    # sending marks its devices failed and not sent: its own row (status error, counted as a batch) stands for them.
    first = batch(C1, "b1", device("S0", "already_present"), device("S1", "registered", device_id="dev-S1"),
                  device("S2", "already_present", status="finished", device_id="dev-S2",
                         explanation="already registered to this customer; counted as present"))
    second = dict(batch(C2, "b2", device("S5", "failed", status="not sent", explanation="403: no relationship")),
                  failed=True, msg="403: no relationship")
    rows = device_report([first, second])
    assert [(r["customer_id"], r["batch_id"], r["serial_number"], r["outcome"]) for r in rows] == [
        (C1, "b1", "S0", "already_present"), (C1, "b1", "S1", "registered"), (C1, "b1", "S2", "already_present"),
        (C2, "b2", "", "failed")]
    assert rows[3]["status"] == "error" and rows[3]["line"] == "%s / b2: failed - 403: no relationship" % C2
    # A batch that failed after sending keeps the rows of the devices it sent.
    sent = dict(batch(C2, "b3", device("S6", "pending"), device("S7", "failed", status="not sent")), failed=True,
                msg="job timed out")
    assert [(r["serial_number"], r["outcome"]) for r in device_report([sent])] == [("", "failed"), ("S6", "pending")]


def test_device_report_in_check_mode_lists_what_would_be_added():
    rows = device_report([upload(C1, "b1", device("S0", "already_present"), device("S1", "would_add"))], [], True)
    assert [(r["serial_number"], r["outcome"], r["status"]) for r in rows] == [
        ("S0", "already_present", ""), ("S1", "would_add", "not sent")]


def test_device_report_csv_quotes_every_field_and_round_trips():
    rows = [{"customer_id": C1, "batch_id": "b, 1", "serial_number": 'S"1', "product_key": "",
             "outcome": "failed", "status": "error", "error_code": None, "error_description": "",
             "explanation": "line one\nline two", "line": "not a column"}]
    text = device_report_csv(rows)
    # A byte order mark, so spreadsheets read UTF-8; the columns always all present, in this order.
    assert text.startswith("\ufeff") and text[1:].splitlines()[0] == (
        '"customer_name","customer_id","batch_id","serial_number","product_key","outcome","status","error_code",'
        '"error_description","explanation","profile","profile_status","profile_error"')
    parsed = list(csv.DictReader(io.StringIO(text[1:])))
    # A row without the newer keys (built by an older device_report) gives empty columns.
    assert parsed == [{"customer_name": "", "customer_id": C1, "batch_id": "b, 1", "serial_number": 'S"1',
                       "product_key": "", "outcome": "failed", "status": "error", "error_code": "",
                       "error_description": "", "explanation": "line one\nline two", "profile": "",
                       "profile_status": "", "profile_error": ""}]
    assert not device_report_csv(rows, bom=False).startswith("\ufeff")


def test_device_report_csv_rows_in_a_stable_order_with_customer_names():
    res = [upload(C2, "b2", device("S9", "already_present")),
           upload(C1, "b1", device("S2", "already_present"), device("S1", "already_present")),
           upload(C1, "a0", device("S5", "already_present"))]
    rows = device_report(res, customer_names={C1.upper(): "Contoso \u00e9t\u00e9", C2: " "})
    text = device_report_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text.encode("utf-8").decode("utf-8-sig"))))
    # Sorted by customer id, batch, serial number and product key, whatever order the results came in.
    assert [(r["customer_id"], r["batch_id"], r["serial_number"], r["customer_name"]) for r in parsed] == [
        (C1, "a0", "S5", "Contoso \u00e9t\u00e9"), (C1, "b1", "S1", "Contoso \u00e9t\u00e9"),
        (C1, "b1", "S2", "Contoso \u00e9t\u00e9"), (C2, "b2", "S9", "")]
    assert device_report_csv(list(reversed(rows))) == text


def test_device_report_html_escapes_counts_and_puts_failures_first():
    rows = [{"customer_id": C1, "batch_id": "b1", "serial_number": "S1", "product_key": "", "outcome": "registered",
             "status": "finished", "error_code": "", "error_description": "", "explanation": "", "line": "x"},
            {"customer_id": C1, "batch_id": "b<1>", "serial_number": "S&2", "product_key": None, "outcome": "failed",
             "status": "finished_with_errors", "error_code": "808", "error_description": "ZtdDeviceAssignedToOtherTenant",
             "explanation": "<script>alert(1)</script>", "line": "y"},
            {"customer_id": C2, "batch_id": "b2", "serial_number": "S3", "product_key": "", "outcome": "already_present",
             "status": "finished", "error_code": "", "error_description": "", "explanation": "", "line": "z"}]
    page = device_report_html(rows, run_at="2026-11-27 06:14:03 UTC", service="https://pc.example/<x>")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<script>") == 1 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # only the page's own
    assert "<td>b&lt;1&gt;</td><td>S&amp;2</td><td></td>" in page  # None is an empty cell, not "None"
    assert "ZtdDeviceAssignedToOtherTenant (808)" in page
    assert ("Run <time>2026-11-27 06:14:03 UTC</time> &middot; against <code>https://pc.example/&lt;x&gt;</code> "
            "&middot; 3 devices of 2 customers in 3 batches") in page
    for key, count in (("all", 3), ("registered", 1), ("already_present", 1), ("failed", 1), ("pending", 0)):
        assert 'data-count="%s">%d</b>' % (key, count) in page
    assert '<button type="button" data-k="failed" class="bad">' in page  # red only when there are some
    assert '<button type="button" data-k="pending">' in page
    assert "batches failed" not in page and "would add" not in page and "profile" not in page.split("<body>")[1]
    body = page.split('<table id="devices">')[1]
    assert body.index("S&amp;2") < body.index("S1") < body.index("S3")
    assert body.count("<tr class=") == 3
    assert '<tr class="failed" data-k="failed attention" data-c="%s" data-r="2">' % C1 in body  # after refused
    # Offline and mailable: nothing loaded from elsewhere.
    assert "default-src 'none'" in page and " src=" not in page and "<link" not in page


def test_device_report_html_customers_names_filters_and_failed_batches():
    res = [upload(C1, "b1", device("S1", "already_present"), device("S2", "already_present"),
                  device("S4", "pending")),
           upload(C2, "b2", failed="403: no relationship"), upload(C2, "b3", device("S3", "already_present"))]
    page = device_report_html(device_report(res, customer_names={C1: "Contoso <Ltd>"}))
    customers = page.split('<table id="customers">')[1].split("</table>")[0]
    assert "<th>customer</th><th>customer id</th><th>batches</th><th>devices</th><th>batches failed</th>" in customers
    # Customers with a failure first (the other customer's failed batch), then those with devices still open
    # (Contoso's pending device), then the others.
    assert customers.index(C2) < customers.index("Contoso &lt;Ltd&gt;")
    assert ('<tr data-c="%s"><td></td><td>%s</td><td class="n">2</td><td class="n">1</td>'
            '<td class="n bad">1</td>' % (C2, C2)) in customers
    assert 'data-count="all">4</b>' in page and 'data-count="batch_failed">1</b>' in page
    assert "3 devices of 2 customers" not in page and "4 devices of 2 customers in 3 batches" in page
    options = page.split('<select id="outcome-filter">')[1].split("</select>")[0]
    assert options == ('<option value="">all outcomes</option><option value="attention">needs attention</option>'
                       '<option value="batch_failed">batch failed</option><option value="pending">pending</option>'
                       '<option value="already_present">already present</option>')
    choices = page.split('<select id="customer-filter">')[1].split("</select>")[0]
    assert ('<option value="%s">%s</option>' % (C2, C2)) in choices and ">Contoso &lt;Ltd&gt;</option>" in choices
    devices = page.split('<table id="devices">')[1]
    assert devices.index("batch failed") < devices.index(">pending<") < devices.index(">already present<")
    assert '<td title="%s">%s</td><td>b2</td><td></td><td></td><td>batch failed</td>' % (C2, C2) in devices
    assert '<td title="Contoso &lt;Ltd&gt; (%s)">Contoso &lt;Ltd&gt;</td>' % C1 in devices


def test_device_report_html_in_check_mode():
    page = device_report_html(device_report([upload(C1, "b1", device("S0", "already_present"),
                                                    device("S1", "would_add"))], [], True), check_mode=True)
    assert "Check mode: nothing was sent to Partner Center" in page
    assert 'data-count="would_add">1</b>' in page and "<th>would add</th>" in page


def test_device_report_html_counts_refused_submitted_and_recovered_devices_per_customer():
    refusal = "nothing was sent: profile Kiosk was not found"
    res = [upload(C1, "b1", device("S1", "already_present")),
           dict(batch(C2, "b2", device("S2", "refused", explanation=refusal)), failed=True, msg=refusal),
           upload(C2, "b3", device("S3", "submitted"), device("S4", "recovered"))]
    page = device_report_html(device_report(res))
    customers = page.split('<table id="customers">')[1].split("</table>")[0]
    assert ("<th>customer id</th><th>batches</th><th>devices</th><th>batches failed</th><th>refused</th>"
            "<th>failed</th><th>pending</th><th>submitted</th><th>registered</th><th>recovered</th>"
            "<th>already present</th>") in customers
    # A refused or submitted device needs someone: its customer comes first, its counts in red; the refused
    # batch counts as a failed batch too.
    assert customers.index(C2) < customers.index(C1)
    assert ('<tr data-c="%s"><td>%s</td><td class="n">2</td><td class="n">3</td><td class="n bad">1</td>'
            '<td class="n bad">1</td><td class="n">0</td><td class="n">0</td><td class="n bad">1</td><td class="n">0</td><td class="n">1</td>'
            '<td class="n">0</td></tr>' % (C2, C2)) in customers
    devices = page.split('<table id="devices">')[1]
    assert devices.index(">S2<") < devices.index(">S3<") < devices.index(">S4<") < devices.index(">S1<")
    assert "<td>refused</td><td></td><td>%s</td>" % refusal in devices


def assignment(serial, status, profile="Kiosk", description=None, product_key=None):
    return {"serial_number": serial, "product_key": product_key, "device_id": "dev-" + str(serial),
            "profile": profile, "profile_id": "7c1d2a3b-0000-4000-8000-000000000001", "status": status,
            "error_code": "400" if description else None, "error_description": description,
            "explanation": "check the profile" if description else None}


def test_device_report_joins_profile_assignments_by_serial_then_product_key():
    # The device entries' own profile keys are left empty here, so that the profile comes from the join alone.
    res = dict(batch(C1, "b1", device("S0", "already_present"), device("S9", "already_present"),
                     device("S1", "registered"), device(None, "registered", product_key="PK2"),
                     device("S3", "failed", "ZtdDeviceAssignedToOtherTenant"), device("S4", "registered")),
               profile_assignments=[assignment("S0", "already_assigned"), assignment("S1", "assigned"),
                                    assignment(None, "failed", "Frontline", "ProfileNotFound", product_key="PK2"),
                                    assignment("S3", "not_registered"), assignment("S4", "pending")])
    rows = dict((r["serial_number"] or r["product_key"], r) for r in device_report([res]))
    assert {k: (r["outcome"], r["profile"], r["profile_status"]) for k, r in rows.items()} == {
        "S0": ("already_present", "Kiosk", "already_assigned"), "S9": ("already_present", "", ""),
        "S1": ("registered", "Kiosk", "assigned"), "PK2": ("registered", "Frontline", "failed"),
        "S3": ("failed", "Kiosk", "not_registered"), "S4": ("registered", "Kiosk", "pending")}
    # The failed assignment leaves the registration outcome alone; the line says what went wrong.
    assert rows["PK2"]["line"] == ("%s / b1 PK2: registered; profile Frontline: failed - ProfileNotFound "
                                   "(check the profile)" % C1)
    assert rows["PK2"]["profile_error"] == "ProfileNotFound (check the profile)"
    assert rows["PK2"]["error_description"] == "" and rows["PK2"]["explanation"] == explanation("registered")
    assert rows["S1"]["line"] == "%s / b1 S1: registered" % C1 and rows["S1"]["profile_error"] == ""
    assert rows["S3"]["line"].endswith("S3: failed - ZtdDeviceAssignedToOtherTenant (ask the other partner)")


def test_device_report_reads_the_profile_keys_of_the_device_entries():
    res = batch(C1, "b1", device("S1", "registered", profile="Kiosk", profile_status="assigned"),
                device("S2", "registered", profile=None, profile_status=None),
                device("S3", "registered", profile="Kiosk", profile_status="failed"))
    rows = device_report([res])
    assert [(r["serial_number"], r["profile"], r["profile_status"]) for r in rows] == [
        ("S1", "Kiosk", "assigned"), ("S2", "", ""), ("S3", "Kiosk", "failed")]
    assert rows[2]["line"].endswith("S3: registered; profile Kiosk: failed")


def test_device_report_profile_assignments_win_over_the_device_entry_keys():
    res = dict(batch(C1, "b1", device("S1", "registered", profile="Kiosk", profile_status="pending")),
               profile_assignments=[assignment("S1", "failed", description="ProfileAssignmentFailed")])
    row = device_report([res])[0]
    assert (row["profile_status"], row["profile_error"]) == ("failed", "ProfileAssignmentFailed (check the profile)")


def test_device_report_without_profile_keys_gives_empty_profile_columns():
    results = [upload(C1, "b1", device("S0", "already_present"), device("S1", "submitted")),
               upload(C2, "b2", failed="403: no relationship")]
    jobs = [{"customer_id": C1, "batch_id": "b1", "devices": [outcome("S1", "registered")]}]
    rows = device_report(results, jobs)
    assert len(rows) == 3
    assert all((r["profile"], r["profile_status"], r["profile_error"]) == ("", "", "") for r in rows)
    assert rows[1]["line"] == "%s / b1 S1: registered" % C1


def test_device_report_of_a_looped_result_and_a_failed_batch_with_profiles():
    looped = upload(C1, "b1", device("S1", "registered"))
    looped["profile_assignments"] = [assignment("S1", "assigned")]
    failed = upload(C2, "b2", failed="403: no relationship")
    failed["profile_assignments"] = [assignment("S7", "not_registered")]
    rows = device_report([looped, failed])
    assert [(r["batch_id"], r["serial_number"], r["profile_status"]) for r in rows] == [
        ("b1", "S1", "assigned"), ("b2", "", "")]  # the batch's own row has no device, so no profile


def test_device_report_in_check_mode_shows_would_assign():
    res = upload(C1, "b1", device("S0", "already_present"), device("S1", "would_add"))
    res["profile_assignments"] = [assignment("S0", "would_assign"), assignment("S1", "would_assign")]
    rows = device_report([res], [], True)
    assert [(r["serial_number"], r["outcome"], r["profile"], r["profile_status"]) for r in rows] == [
        ("S0", "already_present", "Kiosk", "would_assign"), ("S1", "would_add", "Kiosk", "would_assign")]


def test_device_report_profile_name_falls_back_to_the_id():
    res = upload(C1, "b1", device("S0", "already_present"))
    res["profile_assignments"] = [dict(assignment("S0", "failed", profile=None, description="ProfileNotFound"))]
    row = device_report([res])[0]
    assert row["profile"] == "7c1d2a3b-0000-4000-8000-000000000001"
    assert "; profile 7c1d2a3b-0000-4000-8000-000000000001: failed - ProfileNotFound" in row["line"]


def test_device_report_csv_has_the_profile_columns():
    res = upload(C1, "b1", device("S0", "already_present"))
    res["profile_assignments"] = [assignment("S0", "already_assigned")]
    parsed = list(csv.DictReader(io.StringIO(device_report_csv(device_report([res])))))
    assert [(r["serial_number"], r["profile"], r["profile_status"]) for r in parsed] == [
        ("S0", "Kiosk", "already_assigned")]


def test_device_report_html_shows_and_escapes_profiles():
    res = dict(batch(C1, "b1", device("S1", "registered"), device("S2", "registered"), device("S3", "pending"),
                     device("S4", "failed", "ZtdDeviceAssignedToOtherTenant")),
               profile_assignments=[assignment("S1", "assigned", "<b>Kiosk</b>"),
                                    assignment("S2", "failed", "<b>Kiosk</b>", "<i>Nope</i>")])
    page = device_report_html(device_report([res]))
    assert "<b>Kiosk" not in page and "<i>" not in page
    assert ('<button type="button">profile</button></th><th scope="col"><button type="button">profile status'
            in page)
    assert "<td>&lt;b&gt;Kiosk&lt;/b&gt;</td><td>assigned</td></tr>" in page
    assert ('<td>&lt;b&gt;Kiosk&lt;/b&gt;</td><td class="profile-failed">failed - &lt;i&gt;Nope&lt;/i&gt; '
            '(check the profile)</td></tr>') in page
    assert "<td></td><td></td></tr>" in page  # S3 and S4: no profile
    assert 'data-count="profile_assigned">1</b>' in page and 'data-count="profile_failed">1</b>' in page
    assert "<th>profile failed</th>" in page
    body = page.split('<table id="devices">')[1]
    # Failed devices first, then failed profile assignments, then pending, then registered.
    assert body.index(">S4<") < body.index(">S2<") < body.index(">S3<") < body.index(">S1<")
    assert 'data-k="registered profile_failed attention"' in body


def test_device_report_html_without_profiles_has_no_profile_columns():
    page = device_report_html(device_report([upload(C1, "b1", device("S0", "already_present"))]))
    assert "profile" not in page.split("<body>")[1].split("<script>")[0]
    assert ("<td>S0</td><td></td><td>already present</td><td></td><td>already registered to this customer</td></tr>"
            in page)


def test_device_report_names_customers_in_rows_and_lines():
    res = [upload(C1, "b1", device("S0", "already_present")), upload(C2, "b2", failed="403: no relationship")]
    rows = device_report(res, customer_names={C1.upper() + " ": "Contoso", C2: None})
    assert [(r["customer_id"], r["customer_name"], r["line"]) for r in rows] == [
        (C1, "Contoso", "Contoso / b1 S0: already present"),
        (C2, "", "%s / b2: failed - 403: no relationship" % C2)]
    assert device_report(res)[0]["customer_name"] == ""


def summary_rows():
    res = [upload(C1, "b1", device("S0", "already_present"), device("S1", "registered"),
                  device("S2", "failed", "ZtdDeviceAssignedToOtherTenant"), device("S3", "pending")),
           upload(C2, "b2", failed="403: no relationship")]
    res[0]["profile_assignments"] = [assignment("S1", "assigned"), assignment("S0", "failed", description="Nope")]
    calm = [upload("c%02d" % i, "b", device("X%d" % i, "already_present")) for i in range(12)]
    return device_report(res + calm, customer_names={C1: "Contoso"})


def test_device_summary_counts_customers_and_names_every_problem():
    lines = device_summary(summary_rows(), report="reports/autopilot-report.html", limit=3)
    assert lines == [
        "16 devices of 14 customers: 1 failed, 1 pending, 1 registered, 13 already present; 1 batch failed",
        "profiles of 2 devices: 1 failed, 1 assigned",
        "per customer:",
        "  Contoso (%s): 4 devices - 1 failed, 1 pending, 1 registered, 1 already present" % C1,
        "  %s: 1 batch failed" % C2,
        "  c00: 1 device - 1 already present",
        "  c01: 1 device - 1 already present",
        "  c02: 1 device - 1 already present",
        "  ... and 9 more customers without a failed or pending device (every customer at -v and in the report)",
        "failed or needing attention (4):",
        "  %s / b2: failed - 403: no relationship" % C2,
        "  Contoso / b1 S2: failed - ZtdDeviceAssignedToOtherTenant (ask the other partner)",
        "  Contoso / b1 S0: already present; profile Kiosk: failed - Nope (check the profile)",
        "  Contoso / b1 S3: pending - " + explanation("pending"),
        "report: reports/autopilot-report.html"]


def test_device_summary_lists_every_customer_with_limit_0_and_says_check_mode():
    lines = device_summary(summary_rows(), limit=0, check_mode=True)
    assert lines[0].endswith(" (check mode: nothing was sent)")
    assert sum(1 for line in lines if line.startswith("  c")) == 12 and not any("more customers" in l for l in lines)
    assert not lines[-1].startswith("report:")
    assert device_summary([]) == ["0 devices of 0 customers: 0 failed"]


UNDECLARED = [dict(customer_id=C1, customer_name="Contoso", batch_id="old", device_id="d1", serial_number="GONE-1",
                   product_key=None, model="Laptop 7", manufacturer="Contoso", profile="Kiosk"),
              dict(customer_id=C2, customer_name=None, batch_id="b2", device_id="d2", serial_number=None,
                   product_key="PK-<9>", model=None, manufacturer=None, profile=None)]


def test_summary_and_html_report_what_is_registered_and_declared_nowhere():
    rows = device_report([upload(C1, "b1", device("S1", "already_present"))])
    lines = device_summary(rows, report="r.html", undeclared=UNDECLARED)
    assert lines[-2:] == ["registered, declared nowhere: 2 devices (%s 1, Contoso 1)" % C2, "report: r.html"]
    assert "declared nowhere" not in " ".join(device_summary(rows))
    page = device_report_html(rows, undeclared=UNDECLARED)
    section = page.split('<h2 id="undeclared">')[1]
    assert section.startswith("Registered here, declared nowhere (2)</h2>")
    assert section.index("<h3>%s</h3>" % C2) < section.index("<h3>Contoso (%s)</h3>" % C1)
    assert "<td>old</td><td>GONE-1</td><td></td><td>Contoso</td><td>Laptop 7</td><td>Kiosk</td>" in section
    assert "PK-&lt;9&gt;" in section and "PK-<9>" not in page
    assert 'id="undeclared"' not in device_report_html(rows)


def test_device_counts_counts_failed_batches_failed_and_open_devices_through_the_classifier():
    from ansible_collections.partnercenter.autopilot.plugins.filter.device_counts import device_counts
    rows = device_report([dict(batch(C1, "b1", device("S1", "failed"), device("S2", "refused"), device("S3", "pending"),
                                     device("S4", "submitted"), device("S5", "registered"))),
                          dict(batch(C2, "b2"), failed=True, msg="403")])
    assert device_counts(rows) == {"failed_batches": 1, "failed_devices": 2, "open_devices": 2}
    assert device_counts([]) == {"failed_batches": 0, "failed_devices": 0, "open_devices": 0}


def test_undeclared_devices_take_the_name_the_rows_give_their_customer():
    rows = device_report([upload(C2, "b2", device("S1", "already_present"))], customer_names={C2: "Fabrikam"})
    assert device_summary(rows, undeclared=UNDECLARED[1:])[-1] == "registered, declared nowhere: 1 device (Fabrikam 1)"
    assert "<h3>Fabrikam (%s)</h3>" % C2 in device_report_html(rows, undeclared=UNDECLARED[1:])


# The report at 200 tenants (issue 26, Build 6): a failed or refused batch's devices under its row, customers with a
# failure first, a searchable customer filter; the CSV and the counts keep one row per device and a batch once.
def failed_and_refused_batches():
    reason = "403: no relationship"
    failed = dict(batch(C2, "b2", device("S5", "failed", status="not sent", explanation=reason),
                        device(None, "failed", status="not sent", explanation=reason, product_key="PK<6>")),
                  failed=True, msg=reason)
    refusal = "bad input in batch b3: nothing was sent"
    bad = "device 1 (S7): hash is not base64"
    refused = dict(batch(C1, "b3", device("S7", "refused", status="not sent", explanation=bad),
                         device("S8", "refused", status="not sent", explanation=refusal, profile="Kiosk & <Co>")),
                   failed=True, msg=refusal)
    return [upload(C1, "b1", device("S1", "registered")), failed, refused]


def test_device_report_lists_the_devices_a_failed_batch_kept_from_being_sent_in_its_row():
    rows = device_report(failed_and_refused_batches())
    batches = [r for r in rows if r["status"] == "error"]
    assert [(r["batch_id"], [(d["serial_number"], d["product_key"], d["outcome"]) for d in r["not_sent"]])
            for r in batches] == [("b2", [("S5", "", "failed"), ("", "PK<6>", "failed")]),
                                  ("b3", [("S7", "", "refused"), ("S8", "", "refused")])]
    assert batches[1]["not_sent"][0]["explanation"] == "device 1 (S7): hash is not base64"
    assert "not_sent" not in rows[0]  # only a failed batch's row has them
    # The CSV keeps one row per device (and the batch's): the devices not sent have no rows, the key no column.
    parsed = list(csv.DictReader(io.StringIO(device_report_csv(rows, bom=False))))
    assert [(r["customer_id"], r["batch_id"], r["serial_number"], r["status"]) for r in parsed] == [
        (C1, "b1", "S1", "finished"), (C1, "b3", "", "error"), (C2, "b2", "", "error")]
    assert "not_sent" not in parsed[0]
    # The play's counts still take each failed batch once and none of its devices.
    from ansible_collections.partnercenter.autopilot.plugins.filter.device_counts import device_counts
    assert device_counts(rows) == {"failed_batches": 2, "failed_devices": 0, "open_devices": 0}
    assert device_summary(rows)[0].startswith("1 device of 2 customers: 0 failed, 1 registered; 2 batch")


def test_device_report_html_folds_a_failed_or_refused_batch_s_devices_under_its_row_with_the_reason():
    page = device_report_html(device_report(failed_and_refused_batches()))
    devices = page.split('<table id="devices">')[1].split("</table>")[0]
    rows = dict((line.split("<td>")[1].split("</td>")[0], line) for line in devices.splitlines()
                if 'data-k="batch_failed attention"' in line)
    # The failed batch: its error (the cell's sort key), then its devices, each without repeating that error.
    assert "<td>batch failed</td>" in rows["b2"]
    assert ('<td data-s="403: no relationship">403: no relationship<details class="not-sent"><summary>2 devices not '
            'sent</summary><ol><li><span class="id">S5</span></li><li><span class="id">PK&lt;6&gt;</span></li></ol>'
            '</details></td>') in rows["b2"]
    # The refused batch: each device with its own reason when it has one, and its profile; all escaped.
    assert "<td>batch refused</td>" in rows["b3"]
    assert "<li><span class=\"id\">S7</span> - device 1 (S7): hash is not base64</li>" in rows["b3"]
    assert '<li><span class="id">S8</span> (profile Kiosk &amp; &lt;Co&gt;)</li>' in rows["b3"]
    assert "PK<6>" not in page and "Kiosk & <Co>" not in page
    # Not counted as devices: the tiles and the header count the batches once.
    assert 'data-count="all">1</b>' in page and 'data-count="batch_failed">2</b>' in page
    assert "1 devices of 2 customers in 3 batches" in page


def test_device_report_html_customers_with_a_failure_then_open_devices_then_the_others():
    names = {"c-pending": "Aardvark", "c-calm": "Aaa first by name", "c-failed": "Zulu", "c-refused": "Yankee"}
    res = [upload("c-calm", "b", device("S1", "registered")), upload("c-pending", "b", device("S2", "pending")),
           upload("c-failed", "b", device("S3", "failed", "ZtdDeviceAssignedToOtherTenant")),
           upload("c-submitted", "b", device("S4", "submitted")),
           dict(batch("c-refused", "b", device("S5", "refused", status="not sent")), failed=True, msg="bad input")]
    page = device_report_html(device_report(res, customer_names=names))
    customers = page.split('<table id="customers">')[1].split("</table>")[0]
    order = [line.split('data-c="')[1].split('"')[0] for line in customers.splitlines()
             if line.startswith("<tr data-c")]
    assert order == ["c-refused", "c-failed", "c-pending", "c-submitted", "c-calm"]


def test_device_report_html_customer_filter_is_a_search_box_and_a_rewrite_names_when_the_jobs_were_read():
    rows = device_report([upload(C1, "b1", device("S1", "registered")), upload(C2, "b2", device("S2", "pending"))],
                         customer_names={C1: "Contoso"})
    page = device_report_html(rows, run_at="2026-12-07 01:02:03 UTC", updated_at="2026-12-07 02:00:00 UTC")
    assert ('<input id="customer-search" type="search" role="combobox" aria-autocomplete="list" '
            'aria-expanded="false" aria-controls="customer-options"') in page
    assert 'placeholder="all 2 customers: type a name or id"' in page
    assert '<ul id="customer-options" role="listbox" aria-label="Customers" hidden></ul>' in page
    assert ("Run <time>2026-12-07 01:02:03 UTC</time> &middot; outcomes of its jobs read "
            "<time>2026-12-07 02:00:00 UTC</time>") in page
    assert "outcomes of its jobs read" not in device_report_html(rows)
    # Still one script, inline, and nothing loaded.
    assert page.count("<script>") == 1 and " src=" not in page and "default-src 'none'" in page


def test_customers_by_name_or_domain_pass_through_the_batch_filters_for_the_module_to_resolve():
    def named(name, serial, **extra):
        return dict(host(name, customer=None, serial_number=serial), partnercenter_customer="contoso.onmicrosoft.com",
                    **extra)
    batches = device_batches([named("a", "S1"), named("b", "S2")])
    assert [(b.get("customer"), b.get("customer_id"), len(b["devices"])) for b in batches] == [
        ("contoso.onmicrosoft.com", None, 2)]
    with pytest.raises(AnsibleFilterError, match="set partnercenter_customer_id or partnercenter_customer, not both"):
        device_batches([dict(host("c", serial_number="S3"), partnercenter_customer="Contoso")])
    [entry] = csv_batches(HEADER + "\nS1,,QUJD\n", None, "b1", customer="Fabrikam")
    assert entry["customer"] == "Fabrikam" and "customer_id" not in entry
    with pytest.raises(AnsibleFilterError, match="not both"):
        csv_batches(HEADER + "\nS1,,QUJD\n", C1, "b1", customer="Fabrikam")


def test_device_summary_says_batches_in_the_plural():
    rows = device_report([dict(batch(C1, "b1"), failed=True, msg="403"), dict(batch(C2, "b2"), failed=True, msg="403")])
    assert device_summary(rows)[0].endswith("; 2 batches failed")
