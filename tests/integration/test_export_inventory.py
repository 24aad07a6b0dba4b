"""playbooks/export_inventory.yml end to end: register, export, register over the export (0 writes, changed=0),
and the bad input - a customer the partner does not have, an existing file, a directory that does not exist."""
import csv
import os

import yaml

from tests.helpers import CUSTOMER, CUSTOMER_B, hw_hash
from tests.playbooks import ROOT, run_playbook

REGISTER = os.path.join(ROOT, "playbooks", "register_devices.yml")
EXPORT = os.path.join(ROOT, "playbooks", "export_inventory.yml")
NORTHWIND = "2b8a7d41-51e3-4c0e-9d8f-7a6b5c4d3e2f"  # the emulator's third customer (DEFAULT_CUSTOMERS)
INVENTORY = """
all:
  vars:
    autopilot_profiles:
      - {{customer_id: {a}, name: Standard, description: Laptops, settings: [skip_eula, oobe_user_not_local_admin]}}
      - {{customer_id: {b}, name: Kiosk, settings: [skip_express_settings]}}
  children:
    autopilot_devices:
      children:
        contoso:
          vars:
            partnercenter_customer_id: {a}
            partnercenter_customer_name: Contoso
            partnercenter_batch_id: contoso-2026-11
            autopilot_profile: Standard
          hosts:
            laptop-01: {{autopilot_serial_number: CNU1234ABC, autopilot_manufacturer: HP,
                         autopilot_model: EliteBook 840}}
            laptop-02: {{autopilot_serial_number: CNU1234ABD, autopilot_manufacturer: HP,
                         autopilot_model: EliteBook 840}}
            desktop-01: {{autopilot_product_key: "3312345678901", autopilot_profile: ""}}
        fabrikam:
          vars:
            partnercenter_customer_id: {b}
            autopilot_group_tag: Kiosks
          hosts:
            kiosk-01: {{autopilot_product_key: "3312345678902", autopilot_profile: Kiosk}}
            kiosk-02: {{autopilot_serial_number: "0B7X92K", autopilot_manufacturer: Dell Inc.,
                        autopilot_model: OptiPlex}}
""".format(a=CUSTOMER, b=CUSTOMER_B)


def register(tmp_path, env, inventory, name):
    report_dir = tmp_path / ("report-" + name)
    proc = run_playbook(REGISTER, env, inventory=str(inventory),
                        args=["-e", "report_dir=%s" % report_dir, "-e", "register_poll_interval=0.2"])
    rows = []
    if (report_dir / "autopilot-report.csv").exists():
        with open(str(report_dir / "autopilot-report.csv"), encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    return proc, rows


def export(env, path, *args):
    return run_playbook(EXPORT, env, args=["-e", "export_path=%s" % path] + list(args))


def recap(proc):
    return proc.stdout.split("PLAY RECAP")[-1]


def test_register_export_and_register_the_export_writes_nothing(emulator, pc_env, tmp_path):
    # Devices registered elsewhere (the portal, with hashes): one the export can declare (serial + make + model
    # are listed), one it cannot (only the serial is listed), both carrying a profile.
    profile_id = emulator.seed_policy(NORTHWIND, "Shared", ["skip_eula"], description="Front desk")
    emulator.seed_batch(NORTHWIND, "portal", [
        {"SerialNumber": "NW-1", "OemManufacturerName": "Lenovo", "ModelName": "ThinkCentre",
         "HardwareHash": hw_hash("nw1", 300)},
        {"SerialNumber": "NW-HASH", "HardwareHash": hw_hash("nw2", 300)}])
    emulator.assign_seeded(NORTHWIND, [d["id"] for d in emulator.batch_devices(NORTHWIND)], profile_id)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    first, _rows = register(tmp_path, pc_env, inventory, "first")
    assert first.returncode == 0, first.stdout[-3000:]

    exported = tmp_path / "exported.yml"
    emulator.clear_log()
    proc = export(pc_env, exported)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert emulator.writes() == [] and len(emulator.token_requests()) == 1
    text = exported.read_text()
    assert "Partner Center never lists them" in text and "3 customers, 6 devices, 3 profiles, and 1 device" in text
    inv = yaml.safe_load(text)
    groups = inv["all"]["children"]["autopilot_devices"]["children"]
    assert sorted(groups) == ["contoso", "fabrikam", "northwind_traders"]
    assert groups["fabrikam"]["vars"] == {"partnercenter_customer_id": CUSTOMER_B,
                                          "partnercenter_customer_name": "Fabrikam"}
    assert groups["contoso"]["hosts"] == {
        "contoso-cnu1234abc": {"autopilot_serial_number": "CNU1234ABC", "autopilot_manufacturer": "HP",
                               "autopilot_model": "EliteBook 840", "autopilot_profile": "Standard",
                               "partnercenter_batch_id": "contoso-2026-11"},
        "contoso-cnu1234abd": {"autopilot_serial_number": "CNU1234ABD", "autopilot_manufacturer": "HP",
                               "autopilot_model": "EliteBook 840", "autopilot_profile": "Standard",
                               "partnercenter_batch_id": "contoso-2026-11"},
        "contoso-pk-3312345678901": {"autopilot_product_key": "3312345678901",
                                     "partnercenter_batch_id": "contoso-2026-11"}}
    assert groups["fabrikam"]["hosts"]["fabrikam-pk-3312345678902"] == {
        "autopilot_product_key": "3312345678902", "autopilot_profile": "Kiosk", "partnercenter_batch_id": "Kiosks"}
    assert groups["northwind_traders"]["hosts"] == {
        "northwind_traders-nw-1": {"autopilot_serial_number": "NW-1", "autopilot_manufacturer": "Lenovo",
                                   "autopilot_model": "ThinkCentre", "autopilot_profile": "Shared",
                                   "partnercenter_batch_id": "portal"}}
    assert inv["all"]["children"]["autopilot_needs_hardware_hash"]["hosts"] == {
        "northwind_traders-nw-hash": {"autopilot_serial_number": "NW-HASH", "autopilot_profile": "Shared",
                                      "partnercenter_batch_id": "portal", "partnercenter_customer_id": NORTHWIND,
                                      "partnercenter_customer_name": "Northwind Traders"}}
    assert {"customer_id": NORTHWIND, "name": "Shared", "description": "Front desk",
            "settings": ["skip_eula"]} in inv["all"]["vars"]["autopilot_profiles"]

    # The round trip: the export, as it is, registers and assigns nothing.
    emulator.clear_log()
    again, rows = register(tmp_path, pc_env, exported, "again")
    assert again.returncode == 0, again.stdout[-3000:]
    assert emulator.writes() == [], emulator.writes()
    assert "changed=0" in recap(again) and "failed=0" in recap(again)
    assert len(rows) == 6 and {r["outcome"] for r in rows} == {"already_present"}

    # A re-export of the same state is the same file, and says so.
    proc = export(pc_env, exported)
    assert proc.returncode == 0 and exported.read_text() == text, proc.stdout[-3000:]
    assert "unchanged in %s" % exported in proc.stdout and "changed=0" in recap(proc)


def test_export_customers_by_domain_company_name_or_tenant_id(emulator, pc_env, tmp_path):
    emulator.seed_batch(CUSTOMER, "b", [{"ProductKey": "PK-1"}])
    exported = tmp_path / "exported.yml"
    proc = export(pc_env, exported, "-e", '{"export_customers": ["CONTOSO.onmicrosoft.com", " northwind traders ", '
                                          '"%s", "Contoso"]}' % CUSTOMER.upper())
    assert proc.returncode == 0, proc.stdout[-3000:]
    groups = yaml.safe_load(exported.read_text())["all"]["children"]["autopilot_devices"]["children"]
    assert sorted(groups) == ["contoso", "northwind_traders"]
    assert list(groups["contoso"]["hosts"]) == ["contoso-pk-pk-1"]
    # Only the customers chosen were read.
    read = set(e["path"].split("/")[3].lower() for e in emulator.requests("GET", "/deviceBatches"))
    assert read == {CUSTOMER, NORTHWIND}


def test_a_customer_the_partner_does_not_have_fails_before_anything_is_read_or_written(emulator, pc_env, tmp_path):
    exported = tmp_path / "exported.yml"
    exported.write_text("# the previous export\n")
    proc = export(pc_env, exported, "-e", '{"export_customers": ["contoso.onmicrosoft.com", "Nobody Ltd", '
                                          '"00000000-0000-4000-8000-000000000000"]}')
    assert proc.returncode != 0
    message = " ".join(proc.stdout.replace('\\"', '"').split())  # ansible-core < 2.19 prints the message as JSON
    assert ('export_customers: "Nobody Ltd", "00000000-0000-4000-8000-000000000000" name no customer of the partner'
            in message), proc.stdout[-3000:]
    assert exported.read_text() == "# the previous export\n"
    assert emulator.requests("GET", "/deviceBatches") == [] and emulator.writes() == []


def test_an_existing_file_is_replaced_by_a_rename_and_nothing_is_left_beside_it(emulator, pc_env, tmp_path):
    emulator.seed_batch(CUSTOMER, "b", [{"ProductKey": "PK-1"}])
    exported = tmp_path / "exported.yml"
    exported.write_text("# the previous export\n")
    before = os.stat(str(exported)).st_ino
    proc = export(pc_env, exported, "-e", "export_customers=Contoso")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert os.stat(str(exported)).st_ino != before  # a new file renamed over the old one, not rewritten in place
    assert "contoso-pk-pk-1" in exported.read_text()
    assert sorted(os.listdir(str(tmp_path))) == ["exported.yml", "upload-journal.json"] or \
        sorted(os.listdir(str(tmp_path))) == ["exported.yml"]


def test_a_directory_that_does_not_exist_is_a_clear_error_before_any_read(emulator, pc_env, tmp_path):
    missing = tmp_path / "nowhere" / "exported.yml"
    proc = export(pc_env, missing)
    assert proc.returncode != 0
    assert "its directory %s does not exist" % missing.parent in " ".join(proc.stdout.split()), proc.stdout[-3000:]
    assert emulator.requests(path="/v1/") == [] and not missing.parent.exists()
    proc = export(pc_env, tmp_path)
    assert proc.returncode != 0 and "is a directory; give the path of the file to write" in proc.stdout


def test_a_customer_that_cannot_be_read_leaves_the_previous_file(emulator, pc_env, tmp_path):
    exported = tmp_path / "exported.yml"
    exported.write_text("# the previous export\n")
    emulator.add_fault("status", method="GET", path="/customers/%s/policies" % CUSTOMER_B, times=None, status=404)
    proc = export(pc_env, exported)
    assert proc.returncode != 0
    message = " ".join(proc.stdout.split())
    assert "was not written: 1 of 3 customers could not be read (their errors are above): Fabrikam" in message
    assert exported.read_text() == "# the previous export\n"


def test_a_read_that_fails_for_every_customer_leaves_the_previous_file_with_its_reason(emulator, pc_env, tmp_path):
    exported = tmp_path / "exported.yml"
    exported.write_text("# the previous export\n")
    proc = export(pc_env, exported, "-e", "export_concurrency=0")
    assert proc.returncode != 0
    message = " ".join(proc.stdout.replace('\\"', '"').split())
    assert ("%s was not written: the customers could not be read: Invalid input: concurrency must be between 1 and "
            "64, got 0" % exported) in message, proc.stdout[-3000:]
    assert exported.read_text() == "# the previous export\n"
    assert emulator.requests("GET", "/deviceBatches") == [] and emulator.writes() == []
