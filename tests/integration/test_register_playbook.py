"""playbooks/register_devices.yml end to end: uploads, job waits, per-device report, failure at the end."""
import csv
import os

from tests.helpers import CUSTOMER, CUSTOMER_B
from tests.playbooks import ROOT, run_playbook

PLAYBOOK = os.path.join(ROOT, "playbooks", "register_devices.yml")
INVENTORY = """
all:
  children:
    autopilot_devices:
      children:
        contoso:
          vars:
            partnercenter_customer_id: {a}
            partnercenter_batch_id: contoso-batch
          hosts:
            c1: {{autopilot_product_key: "PK-C1"}}
            c2: {{autopilot_product_key: "PK-C2"}}
            c3: {{autopilot_product_key: "PK-FOREIGN"}}
        fabrikam:
          vars:
            partnercenter_customer_id: {b}
            partnercenter_batch_id: fabrikam-batch
          hosts:
            f1: {{autopilot_product_key: "PK-F1"}}
            f2: {{autopilot_product_key: "PK-F2"}}
""".format(a=CUSTOMER, b=CUSTOMER_B)


def run(tmp_path, pc_env, *args):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    report_dir = tmp_path / "reports"
    proc = run_playbook(PLAYBOOK, pc_env, inventory=str(inventory),
                        args=["-e", "report_dir=%s" % report_dir, "-e", "register_poll_interval=0.2"] + list(args))
    with open(str(report_dir / "autopilot-report.csv")) as handle:
        rows = dict((r["product_key"], r) for r in csv.DictReader(handle))
    return proc, rows


def test_every_device_reported_and_the_play_fails_on_device_errors(emulator, pc_env, tmp_path):
    emulator.foreign_keys.add(("pk", "PK-FOREIGN"))
    emulator.seed_batch(CUSTOMER_B, "fabrikam-batch", [{"ProductKey": "PK-F1"}])
    proc, rows = run(tmp_path, pc_env)
    assert proc.returncode != 0 and "1 devices could not be registered" in proc.stdout, proc.stdout[-3000:]
    assert {k: r["outcome"] for k, r in rows.items()} == {
        "PK-C1": "registered", "PK-C2": "registered", "PK-FOREIGN": "failed",
        "PK-F1": "already_present", "PK-F2": "registered"}
    assert rows["PK-FOREIGN"]["error_description"] == "ZtdDeviceAssignedToOtherTenant"
    assert rows["PK-FOREIGN"]["explanation"] and rows["PK-F2"]["customer_id"] == CUSTOMER_B
    posts = [e for e in emulator.writes() if e["method"] == "POST"]
    assert len(posts) == 2 and len(emulator.token_requests()) == 1
    assert [d["ProductKey"] for d in posts[1]["body"]] == ["PK-F2"]  # only the missing device
    tracking_ids = set(e["path"].rsplit("/", 1)[1] for e in emulator.requests("GET", "/batchJobStatus/"))
    assert len(tracking_ids) == 2  # each upload job was waited for


def test_a_failed_batch_is_reported_and_fails_the_play_after_the_others_registered(emulator, pc_env, tmp_path):
    emulator.unrelated_customers.add(CUSTOMER)
    proc, rows = run(tmp_path, pc_env, "-e", "register_fail_on_device_errors=false")
    assert proc.returncode != 0 and "1 batches and 0 devices could not be registered" in proc.stdout, \
        proc.stdout[-3000:]
    assert rows[""]["customer_id"] == CUSTOMER and rows[""]["status"] == "error"
    assert "relationship" in rows[""]["explanation"]
    assert rows["PK-F2"]["outcome"] == "registered"  # the other customer's batch went through
    assert sorted(d["productKey"] for d in emulator.batch_devices(CUSTOMER_B)) == ["PK-F1", "PK-F2"]


def test_check_mode_reports_what_would_be_added_and_writes_nothing(emulator, pc_env, tmp_path):
    emulator.seed_batch(CUSTOMER, "contoso-batch", [{"ProductKey": "PK-C1"}])
    proc, rows = run(tmp_path, pc_env, "--check")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert emulator.writes() == []
    assert rows["PK-C1"]["outcome"] == "already_present"
    assert {rows[k]["outcome"] for k in ("PK-C2", "PK-FOREIGN", "PK-F1", "PK-F2")} == {"would_add"}


def test_rerun_writes_nothing_and_reports_every_device_present(emulator, pc_env, tmp_path):
    first, _rows = run(tmp_path, pc_env)
    assert first.returncode == 0, first.stdout[-3000:]
    emulator.clear_log()
    second, rows = run(tmp_path, pc_env)
    assert second.returncode == 0 and emulator.writes() == []
    assert "changed=0" in second.stdout.split("PLAY RECAP")[1]
    assert {r["outcome"] for r in rows.values()} == {"already_present"} and len(rows) == 5


PROFILE_INVENTORY = """
all:
  vars:
    autopilot_profiles:
      - {{customer_id: {a}, name: Standard, settings: [skip_eula]}}
      - {{customer_id: {b}, name: Kiosk, description: Shared, settings: [skip_eula, oobe_user_not_local_admin]}}
    autopilot_csv_batches:
      - {{customer_id: {b}, batch_id: fabrikam-untagged, csv: tagged.csv, profile: Kiosk}}
  children:
    autopilot_devices:
      hosts:
        c1: {{partnercenter_customer_id: {a}, autopilot_group_tag: Sales, autopilot_product_key: PK-C1,
              autopilot_profile: Standard}}
        c2: {{partnercenter_customer_id: {a}, autopilot_group_tag: Sales, autopilot_product_key: PK-C2}}
""".format(a=CUSTOMER, b=CUSTOMER_B)
TAGGED_CSV = ("Device Serial Number,Windows Product ID,Hardware Hash,Manufacturer name,Device model,Group Tag\r\n"
              ",PK-T1,,,,Kiosks\r\n,PK-T2,,,,\r\n")


def test_profiles_and_group_tags_from_the_inventory(emulator, pc_env, tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(PROFILE_INVENTORY)
    (tmp_path / "tagged.csv").write_text(TAGGED_CSV)
    report_dir = tmp_path / "reports"

    def play():
        return run_playbook(PLAYBOOK, pc_env, inventory=str(inventory),
                            args=["-e", "report_dir=%s" % report_dir, "-e", "register_poll_interval=0.2"])
    first = play()
    assert first.returncode == 0, first.stdout[-3000:]
    # The group tag chose the batch; the CSV was split by its Group Tag column.
    assert sorted(emulator.batch_ids(CUSTOMER)) == ["Sales"]
    assert sorted(emulator.batch_ids(CUSTOMER_B)) == ["Kiosks", "fabrikam-untagged"]
    [standard] = emulator.policy_list(CUSTOMER)
    [kiosk] = emulator.policy_list(CUSTOMER_B)
    policy_of = dict((d["productKey"], d["policies"][0]["value"])
                     for c in (CUSTOMER, CUSTOMER_B) for d in emulator.batch_devices(c))
    # c2 declares no profile: it is never touched.
    assert policy_of == {"PK-C1": standard["id"], "PK-C2": None, "PK-T1": kiosk["id"], "PK-T2": kiosk["id"]}
    assert sorted(e["method"] for e in emulator.writes() if "/policies" in e["path"]) == ["POST", "POST"]
    with open(str(report_dir / "autopilot-report.csv")) as handle:
        rows = dict((r["product_key"], r) for r in csv.DictReader(handle))
    assert {k: (r["profile"], r["profile_status"]) for k, r in rows.items()} == {
        "PK-C1": ("Standard", "assigned"), "PK-C2": ("", ""), "PK-T1": ("Kiosk", "assigned"),
        "PK-T2": ("Kiosk", "assigned")}

    emulator.clear_log()
    second = play()
    assert second.returncode == 0 and emulator.writes() == [], second.stdout[-3000:]
    assert "changed=0" in second.stdout.split("PLAY RECAP")[1]
    with open(str(report_dir / "autopilot-report.csv")) as handle:
        assert sorted(r["profile_status"] for r in csv.DictReader(handle)) == ["", "already_assigned",
                                                                               "already_assigned",
                                                                               "already_assigned"]


def test_profiles_playbook_alone_then_registration_without_the_profile_step(emulator, pc_env, tmp_path):
    # The AWX workflow for sliced jobs: profiles first, once; the sliced registration skips that step.
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(PROFILE_INVENTORY)
    (tmp_path / "tagged.csv").write_text(TAGGED_CSV)
    profiles = run_playbook(os.path.join(ROOT, "playbooks", "profiles.yml"), pc_env, inventory=str(inventory))
    assert profiles.returncode == 0, profiles.stdout[-3000:]
    assert [(e["method"], e["path"].rsplit("/", 1)[1]) for e in emulator.writes()] == [("POST", "policies")] * 2
    emulator.clear_log()
    register = run_playbook(PLAYBOOK, pc_env, inventory=str(inventory), args=[
        "-e", "report_dir=%s" % (tmp_path / "reports"), "-e", "register_ensure_profiles=false",
        "-e", "register_poll_interval=0.2"])
    assert register.returncode == 0, register.stdout[-3000:]
    assert not [e for e in emulator.writes() if e["path"].endswith("/policies")]
    assert len(emulator.policy_list(CUSTOMER)) == 1 and len(emulator.policy_list(CUSTOMER_B)) == 1


def test_a_device_dropped_from_inventory_is_listed_undeclared_and_nothing_is_written(emulator, pc_env, tmp_path):
    """--check is the audit: the plan, and what is registered but declared nowhere; zero writes either way."""
    emulator.seed_batch(CUSTOMER, "contoso-batch", [{"ProductKey": k} for k in ("PK-C1", "PK-C2", "PK-FOREIGN")])
    emulator.seed_batch(CUSTOMER, "portal-upload", [{"ProductKey": "PK-OLD"}])
    emulator.seed_batch(CUSTOMER_B, "fabrikam-batch", [{"ProductKey": k} for k in ("PK-F1", "PK-F2")])
    inventory = INVENTORY.replace('            c3: {{autopilot_product_key: "PK-FOREIGN"}}\n'.replace("{{", "{").replace(
        "}}", "}"), "")
    assert "PK-FOREIGN" not in inventory
    for args in (["--check"], []):
        emulator.clear_log()
        path = tmp_path / "hosts.yml"
        path.write_text(inventory)
        report_dir = tmp_path / ("reports-check" if args else "reports")
        proc = run_playbook(PLAYBOOK, pc_env, inventory=str(path), args=["-e", "report_dir=%s" % report_dir] + args)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert emulator.writes() == [] and "changed=0" in proc.stdout
        assert "registered, declared nowhere: 2 devices (%s 2)" % CUSTOMER in proc.stdout, proc.stdout[-2000:]
        page = (report_dir / "autopilot-report.html").read_text()
        section = page.split('<h2 id="undeclared">')[1]
        assert "<td>contoso-batch</td><td></td><td>PK-FOREIGN</td>" in section
        assert "<td>portal-upload</td><td></td><td>PK-OLD</td>" in section
        assert CUSTOMER_B not in section, "every fabrikam device is declared"


def test_wait_false_reports_submitted_and_batch_status_reads_the_jobs_into_the_report(emulator, pc_env, tmp_path):
    emulator.foreign_keys.add(("pk", "PK-FOREIGN"))
    proc, rows = run(tmp_path, pc_env, "-e", "register_wait=false")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert set(r["outcome"] for r in rows.values()) == {"submitted"} and len(rows) == 5
    assert emulator.requests("GET", "/batchJobStatus/") == [], "wait: false waited"
    assert "changed=1" in proc.stdout

    status = run_playbook(os.path.join(ROOT, "playbooks", "batch_status.yml"), pc_env,
                          inventory=str(tmp_path / "hosts.yml"),
                          args=["-e", "report_dir=%s" % (tmp_path / "reports"), "-e", "status_wait=true"])
    assert status.returncode == 0, status.stdout[-3000:]
    with open(str(tmp_path / "reports" / "autopilot-report.csv")) as handle:
        rows = dict((r["product_key"], r) for r in csv.DictReader(handle))
    assert {k: r["outcome"] for k, r in rows.items()} == {
        "PK-C1": "registered", "PK-C2": "registered", "PK-FOREIGN": "failed", "PK-F1": "registered",
        "PK-F2": "registered"}
    assert rows["PK-FOREIGN"]["error_code"] == "808"
    assert emulator.writes() and all(e["time"] < emulator.requests("GET", "/batchJobStatus/")[0]["time"]
                                     for e in emulator.writes()), "batch_status.yml wrote"
