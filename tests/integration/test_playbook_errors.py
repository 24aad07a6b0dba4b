"""Input errors reach the user readably through playbooks/register_devices.yml, on every supported ansible-core.

ansible-core 2.19 turns an exception raised inside a filter into a marker that is only raised when the template's
result is used; some expressions (a lazy list + the marker) lose it and print a TypeError instead. Each test runs
the playbook (make compat runs this file on 2.17 and 2.18 too) and checks that the failure names the culprit and
that nothing was sent to Partner Center.
"""
import os

from tests.helpers import CUSTOMER, CUSTOMER_B, hw_hash
from tests.playbooks import ROOT, run_playbook

PLAYBOOK = os.path.join(ROOT, "playbooks", "register_devices.yml")
HEADER = "Device Serial Number,Windows Product ID,Hardware Hash,Manufacturer name,Device model,Group Tag"


def play(tmp_path, pc_env, inventory, csv_files=None):
    """Run register_devices.yml with the inventory text and CSV files (name -> text) in tmp_path."""
    (tmp_path / "hosts.yml").write_text(inventory)
    for name, text in (csv_files or {}).items():
        (tmp_path / name).write_text(text)
    return run_playbook(PLAYBOOK, pc_env, inventory=str(tmp_path / "hosts.yml"),
                        args=["-e", "report_dir=%s" % (tmp_path / "reports"), "-e", "register_poll_interval=0.2"])


def failure(proc):
    """The output of a failed run, with the check that it failed readably (no template machinery leaking)."""
    out = proc.stdout
    assert proc.returncode != 0, out[-3000:]
    for leak in ("CapturedExceptionMarker", "can only concatenate list (not", "Error rendering template", "Traceback"):
        assert leak not in out, out[-3000:]
    return out


def nothing_sent(emulator):
    assert [e for e in emulator.requests() if e["path"].startswith("/v1/")] == []


CSV_INVENTORY = """
all:
  vars:
    autopilot_csv_batches:
      - {{customer_id: {a}, batch_id: contoso-csv, csv: first.csv}}
      - {{customer_id: {b}, batch_id: fabrikam-csv, csv: second.csv}}
""".format(a=CUSTOMER, b=CUSTOMER_B)
GOOD_CSV = HEADER + "\r\nSN-OK-1,,%s,,,\r\n" % hw_hash("ok1", 300)


def test_a_misspelt_csv_column_is_named(emulator, pc_env, tmp_path):
    misspelt = HEADER.replace("Hardware Hash", "Hardwre Hash") + "\r\nSN-1,,%s,,,\r\n" % hw_hash("a", 300)
    # The bad file is the second entry: the list built from the first one must not hide the error.
    proc = play(tmp_path, pc_env, CSV_INVENTORY, {"first.csv": GOOD_CSV, "second.csv": misspelt})
    out = failure(proc)
    assert "unknown columns 'hardwre hash'" in out, out[-3000:]
    assert "(expected device serial number, windows product id, hardware hash" in out, out[-3000:]
    nothing_sent(emulator)


def test_a_misspelt_column_in_the_first_csv_is_named(emulator, pc_env, tmp_path):
    misspelt = HEADER.replace("Device Serial Number", "Device Serial Numbr") + "\r\nSN-1,,,,,\r\n"
    out = failure(play(tmp_path, pc_env, CSV_INVENTORY, {"first.csv": misspelt, "second.csv": GOOD_CSV}))
    assert "unknown columns 'device serial numbr'" in out, out[-3000:]
    nothing_sent(emulator)


def test_a_missing_csv_file_is_named(emulator, pc_env, tmp_path):
    out = failure(play(tmp_path, pc_env, CSV_INVENTORY, {"first.csv": GOOD_CSV}))
    assert "second.csv" in out, out[-3000:]
    nothing_sent(emulator)


def test_a_bad_row_of_a_csv_is_named_by_line(emulator, pc_env, tmp_path):
    bad_rows = HEADER + "\r\nSN-1,,%s,,,Sales\r\n,,,Contoso,,\r\nSN-3,,%s,,,Sales/Paris\r\n" % (
        hw_hash("a", 300), hw_hash("b", 300))
    out = failure(play(tmp_path, pc_env, CSV_INVENTORY, {"first.csv": GOOD_CSV, "second.csv": bad_rows}))
    assert "csv_batches: 2 bad rows: line 3: no serial number, product id or hardware hash" in out, out[-3000:]
    assert "line 4: Group Tag 'Sales/Paris' is not a batch name" in out, out[-3000:]
    nothing_sent(emulator)


def test_a_bad_hardware_hash_in_a_csv_names_the_device(emulator, pc_env, tmp_path):
    rows = [("SN-GOOD-1", hw_hash("g1", 300)), ("SN-BAD-2", "not*base64!"), ("SN-SHORT-3", hw_hash("s3", 30))]
    text = HEADER + "\r\n" + "".join("%s,,%s,,,\r\n" % row for row in rows)
    out = failure(play(tmp_path, pc_env, CSV_INVENTORY, {"first.csv": GOOD_CSV, "second.csv": text}))
    # The second CSV is the module's batches[1]; its devices are named by position and serial number.
    assert "devices[1] (serial SN-BAD-2): hardware_hash is not base64" in out, out[-3000:]
    assert "devices[2] (serial SN-SHORT-3): hardware_hash decodes to 30 bytes" in out, out[-3000:]
    assert "batches[1] (%s / fabrikam-csv)" % CUSTOMER_B in out, out[-3000:]
    assert "SN-GOOD-1" not in out.split("fatal:", 1)[-1], out[-3000:]
    # register_on_invalid refuse_batch (the default): that batch alone is refused, nothing of it is sent.
    assert emulator.writes() and not [e for e in emulator.writes() if CUSTOMER_B in e["path"]]
    assert not {"SN-GOOD-1", "SN-BAD-2"} & set(d.get("SerialNumber") for d in emulator.uploaded_devices())


HOST_INVENTORY = """
all:
  children:
    autopilot_devices:
      children:
        contoso:
          vars:
            partnercenter_customer_id: {a}
            partnercenter_batch_id: contoso-batch
          hosts:
            c1: {{autopilot_product_key: PK-C1}}
            c2: {{autopilot_product_key: PK-C2, autopilot_group_tag: Kiosks}}
            c3: {{autopilot_product_key: PK-C3, autopilot_group_tag: contoso-batch}}
""".format(a=CUSTOMER)


def test_a_group_tag_that_conflicts_with_the_batch_is_named(emulator, pc_env, tmp_path):
    out = failure(play(tmp_path, pc_env, HOST_INVENTORY))
    assert ("device_batches: 1 hosts cannot be placed in a batch: c2: partnercenter_batch_id 'contoso-batch' and "
            "autopilot_group_tag 'Kiosks' differ") in out, out[-3000:]
    nothing_sent(emulator)


def test_a_group_tag_conflict_is_named_when_csv_files_are_read_too(emulator, pc_env, tmp_path):
    inventory = HOST_INVENTORY.replace("all:\n", "all:\n  vars:\n    autopilot_csv_batches:\n"
                                       "      - {customer_id: %s, batch_id: fabrikam-csv, csv: second.csv}\n"
                                       % CUSTOMER_B, 1)
    out = failure(play(tmp_path, pc_env, inventory, {"second.csv": GOOD_CSV}))
    assert "c2: partnercenter_batch_id 'contoso-batch' and autopilot_group_tag 'Kiosks' differ" in out, out[-3000:]
    nothing_sent(emulator)
