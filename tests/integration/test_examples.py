"""Every module's EXAMPLES, run against the emulator as written (make lint runs ansible-lint on them).

tools/examples.py turns each module's EXAMPLES into a playbook; this test supplies what the examples assume
exists (their variables, a hash file, an Autopilot CSV) and checks the effect on the emulator.
"""
import json
import os
import re
import sys

import pytest

from tests.helpers import CUSTOMER, CUSTOMER_B as OTHER, hw_hash
from tests.playbooks import ROOT, run_playbook

sys.path.insert(0, os.path.join(ROOT, "tools"))
import examples  # noqa: E402  pylint: disable=wrong-import-position

CSV = ("Device Serial Number,Windows Product ID,Hardware Hash\r\n"
       "CSV-1,,%s\r\nCSV-2,,%s\r\n" % (hw_hash("csv-1", 300), hw_hash("csv-2", 300)))

INVENTORY = """
autopilot_devices:
  vars: {partnercenter_customer_id: %s, partnercenter_batch_id: fabrikam}
  hosts:
    inv-1: {autopilot_serial_number: INV-1, autopilot_manufacturer: HP, autopilot_model: M}
    inv-2: {autopilot_serial_number: INV-2, autopilot_manufacturer: HP, autopilot_model: M}
""" % OTHER


@pytest.fixture
def example_dir(tmp_path):
    written = dict((os.path.basename(p)[:-4], p) for p in examples.write(str(tmp_path)))
    (tmp_path / "hashes").mkdir()
    (tmp_path / "hashes" / "1R9-ZNP67.txt").write_text(hw_hash("1R9-ZNP67", 300))
    (tmp_path / "autopilot.csv").write_text(CSV)
    return tmp_path, written


# Appended after the examples: what they registered is what a user reads, so the test reads it too.
REPORT = """
    - name: Hand what the examples registered to the test
      ansible.builtin.copy:
        content: "{{{{ {{{names}}} | to_json }}}}"
        dest: "{{{{ examples_result_path }}}}"
        mode: "0600"
"""


def run(example_dir, module, env, extra, inventory=None, report=False):
    """Run the module's examples; with report, return {registered name: value} for every `register:` in them."""
    tmp_path, written = example_dir
    playbook = written[module]
    result_path = tmp_path / "registered.json"
    if report:
        with open(playbook) as handle:
            text = handle.read()
        names = re.findall(r"^\s+register: (\w+)$", text, re.M)
        assert names, "the examples of %s register nothing to read" % module
        with open(playbook, "a") as handle:
            handle.write(REPORT.format(names=", ".join("'%s': %s" % (n, n) for n in names)))
        extra = dict(extra, examples_result_path=str(result_path))
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra))
    proc = run_playbook(playbook, env, extra_vars=str(vars_file), inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    if report:
        return proc, json.loads(result_path.read_text())
    return proc


def test_every_module_has_an_examples_playbook(example_dir):
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))
    assert sorted(example_dir[1]) == modules


def test_device_batch_examples(emulator, pc_env, example_dir):
    token = "emu-at-examples"
    emulator.access_tokens[token] = {"expires": 4102444800, "kind": "user"}
    inventory = example_dir[0] / "hosts.yml"
    inventory.write_text(INVENTORY)
    kiosk = emulator.seed_policy(CUSTOMER, "Contoso kiosk", ["skip_eula"])
    frontline = emulator.seed_policy(CUSTOMER, "Contoso frontline", [])
    run(example_dir, "partnercenter_device_batch", pc_env, {"partnercenter_access_token": token}, str(inventory))
    assert sorted((d["productKey"], d["policies"][0]["value"]) for d in emulator.batch_devices(
        CUSTOMER, "contoso-kiosks")) == [("3312345678901", kiosk), ("3312345678902", frontline)]
    assert sorted(d["serialNumber"] for d in emulator.batch_devices(CUSTOMER, "contoso-2026-11")) == ["5CG1234XYZ"]
    assert sorted(d["serialNumber"] for d in emulator.batch_devices(CUSTOMER, "contoso-csv")) == ["CSV-1", "CSV-2"]
    assert sorted(d["serialNumber"] for d in emulator.batch_devices(OTHER, "fabrikam")) == ["INV-1", "INV-2"]
    assert [e["method"] for e in emulator.writes()].count("DELETE") == 1  # the removal example


def test_job_status_examples(emulator, pc_env, example_dir):
    devices = [{"serial_number": "EX-1", "manufacturer": "HP", "model": "M"}]
    batches = [{"customer_id": CUSTOMER, "batch_id": "b-%d" % i,
                "devices": [{"product_key": "PK-EX-%d" % i}]} for i in range(2)]
    _proc, got = run(example_dir, "partnercenter_batch_job_status_info", pc_env,
                     {"contoso_devices": devices, "batches": batches}, report=True)
    assert [len(emulator.batch_devices(CUSTOMER, b)) for b in ("contoso-2026-11", "b-0", "b-1")] == [1, 1, 1]
    polled = set(e["path"].rsplit("/", 1)[1] for e in emulator.requests("GET", "/batchJobStatus/"))
    assert len(polled) == 3  # every job the examples started was waited for

    # The single job: the one the upload started, read until finished, its device registered under the id
    # the service gave it.
    job = got["job"]["job"]
    assert job["tracking_id"] == got["upload"]["tracking_id"] and job["tracking_id"] in polled
    assert (job["status"], job["succeeded"], job["failed"]) == ("finished", 1, 0)
    [registered] = emulator.batch_devices(CUSTOMER, "contoso-2026-11")
    assert [(d["serial_number"], d["outcome"], d["device_id"]) for d in job["devices"]] == [
        ("EX-1", "registered", registered["id"])]
    # The jobs of the loop, passed on as the uploads returned them: each reported with its batch and device.
    started = [j["tracking_id"] for r in got["uploads"]["results"] for j in r["jobs"]]
    outcomes = got["outcomes"]["jobs"]
    assert [j["tracking_id"] for j in outcomes] == started and set(started) == polled - {job["tracking_id"]}
    assert [(j["customer_id"], j["batch_id"], j["status"], j["succeeded"]) for j in outcomes] == [
        (CUSTOMER, "b-0", "finished", 1), (CUSTOMER, "b-1", "finished", 1)]
    assert [[(d["product_key"], d["outcome"]) for d in j["devices"]] for j in outcomes] == [
        [("PK-EX-0", "registered")], [("PK-EX-1", "registered")]]
    assert [emulator.jobs[t]["batch_id"] for t in started] == ["b-0", "b-1"]


def test_device_batch_info_examples(emulator, pc_env, example_dir):
    emulator.seed_batch(CUSTOMER, "contoso-2026-11", [{"SerialNumber": "S1"}, {"ProductKey": "PK-2"}])
    emulator.seed_batch(CUSTOMER, "older", [{"SerialNumber": "S3", "OemManufacturerName": "HP", "ModelName": "M"}])
    emulator.seed_batch(OTHER, "not-contoso", [{"SerialNumber": "S9"}])
    proc, got = run(example_dir, "partnercenter_device_batch_info", pc_env, {}, report=True)
    assert emulator.writes() == [] and "ok=3" in proc.stdout.split("PLAY RECAP")[1]
    # All batches of the customer (and only of that customer), without their devices.
    listing = got["batches"]["batches"]
    assert [(b["id"], b["devices_count"], b["status"]) for b in listing] == [
        ("contoso-2026-11", 2, "finished"), ("older", 1, "finished")]
    assert all("devices" not in b for b in listing)
    # One batch with its devices, as the service lists them.
    [contoso] = got["contoso"]["batches"]
    service = emulator.batch_devices(CUSTOMER, "contoso-2026-11")
    assert contoso["id"] == "contoso-2026-11" and contoso["devices_count"] == 2
    assert [(d["serial_number"], d["product_key"], d["id"]) for d in contoso["devices"]] == [
        ("S1", None, service[0]["id"]), (None, "PK-2", service[1]["id"])]
    assert len(emulator.requests("GET", "/deviceBatches/contoso-2026-11/devices$")) == 1
    assert emulator.requests("GET", "/deviceBatches/older/devices$") == []


def test_profile_examples(emulator, pc_env, example_dir):
    old = emulator.seed_policy(CUSTOMER, "Old pilot", ["skip_eula"])
    _proc, got = run(example_dir, "partnercenter_autopilot_profile", pc_env, {}, report=True)
    [kiosk] = emulator.policy_list(CUSTOMER)
    assert (kiosk["name"], sorted(kiosk["policySettings"])) == (
        "Contoso kiosk", ["oobe_user_not_local_admin", "skip_eula", "skip_express_settings"])
    assert got["kiosk"]["profile"]["id"] == kiosk["id"] and old != kiosk["id"]
    assert [e["method"] for e in emulator.writes()] == ["POST", "DELETE"]
    _proc, got = run(example_dir, "partnercenter_autopilot_profile_info", pc_env, {}, report=True)
    assert [p["id"] for p in got["contoso_profiles"]["profiles"]] == [kiosk["id"]]
    assert [e["method"] for e in emulator.writes()] == ["POST", "DELETE"]


def test_token_example(emulator, pc_env, example_dir):
    home = example_dir[0] / "home"
    home.mkdir()
    env = dict(pc_env, HOME=str(home))
    run(example_dir, "partnercenter_token", env, {
        "vault_partner_tenant_id": emulator.tenant_id, "vault_app_id": emulator.client_id,
        "vault_app_secret": emulator.client_secret, "vault_refresh_token": emulator._initial_refresh_token})
    assert len(emulator.token_requests()) == 1
    cache = home / ".cache" / "partnercenter" / "token-cache.json"
    assert cache.exists() and oct(cache.stat().st_mode & 0o777) == "0o600"


def test_consent_examples(emulator, pc_env, example_dir):
    # The browser step is a lookup the test supplies as consent_redirect_url (the examples' prompt is then
    # skipped): it opens the address the start example returned and gives back the address it lands on.
    home = example_dir[0] / "home"
    home.mkdir()
    script = example_dir[0] / "browser.py"
    script.write_text("import sys, requests\n"
                      "print(requests.get(sys.argv[1], verify=sys.argv[2], allow_redirects=False).headers['Location'])\n")
    env = dict(pc_env, HOME=str(home))
    del env["PARTNERCENTER_REFRESH_TOKEN"]
    _proc, got = run(example_dir, "partnercenter_consent", env, {
        "vault_partner_tenant_id": emulator.tenant_id, "vault_app_id": emulator.client_id,
        "vault_app_secret": emulator.client_secret,
        "test_browser": "%s %s" % (sys.executable, script), "test_ca": emulator.ca_path,
        "consent_redirect_url": "{{ lookup('ansible.builtin.pipe', test_browser ~ ' ' ~ "
                                "(consent.authorization_url | quote) ~ ' ' ~ test_ca) }}"}, report=True)
    assert got["landed"].get("skipped") and got["signed_in"]["username"] == "admin@partner.example"
    cache = home / ".cache" / "partnercenter" / "token-cache.json"
    assert oct(cache.stat().st_mode & 0o777) == "0o600" and not os.path.exists(got["consent"]["flow_path"])
    # The token example then read the access token the consent wrote: no token request of its own.
    assert [e["body"]["grant_type"] for e in emulator.token_requests()] == ["authorization_code"]
    assert got["pc_token"]["access_token"] in cache.read_text()
