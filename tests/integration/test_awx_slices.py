"""README "Running at scale in AWX / Ansible Automation Platform": a sliced job template converges.

playbooks/register_devices.yml runs as 3 job slices at once through ansible-runner, the engine AWX runs a job
with: each slice has a private data dir of its own with the inventory file AWX would write for it, the
environment the credential type of docs/awx-credential-type.yml injects, and an upload journal of its own (an
AWX job runs in a container of its own, so nothing in it is shared). The claims, checked on the emulator's
request log and the slices' reports:
- slices that create the same batch at once converge: one create is accepted, the others get 409 and their
  devices go to the batch with an add;
- a device another slice registered first is reported as already present, never failed;
- at the end every device of the inventory is registered exactly once, and a run of the whole inventory
  writes nothing.
"""
import collections
import csv
import json
import os
import stat
import time

import ansible_runner
import jinja2.sandbox
import yaml

from tests.helpers import CUSTOMER, CUSTOMER_B, hw_hash
from tests.playbooks import ROOT, ansible_env

CUSTOMER_C = "5d2c8f14-3b7a-4e90-a6d1-9c0e7b2f4a63"
SLICES = 3
CREDENTIAL_TYPE = os.path.join(ROOT, "docs", "awx-credential-type.yml")
UPLOAD_TASK = "Upload each customer's missing devices and wait for the jobs"


# ----- the inventory, as AWX stores it (hosts, groups with vars and children) ------------------------------
def build_inventory():
    """28 device hosts of 3 customers in 4 batches; every batch has devices in every slice.

    contoso: one batch, product keys. fabrikam: two batches, serial + manufacturer + model; fabrikam13 declares
    the same device as fabrikam02 in the other batch (one laptop listed twice, as two inventory sources that
    overlap give it), so two slices are given one device. northwind: one batch, serial + hardware hash.
    """
    hosts, groups = {}, {}
    groups["autopilot_devices"] = {"vars": {}, "hosts": [], "children": ["contoso", "fabrikam", "northwind"]}
    groups["contoso"] = {"vars": {"partnercenter_customer_id": CUSTOMER, "partnercenter_batch_id": "contoso-2026"},
                         "hosts": [], "children": []}
    groups["fabrikam"] = {"vars": {"partnercenter_customer_id": CUSTOMER_B}, "hosts": [], "children": []}
    groups["northwind"] = {"vars": {"partnercenter_customer_id": CUSTOMER_C, "partnercenter_batch_id": "northwind-lab"},
                           "hosts": [], "children": []}
    for i in range(1, 10):
        hosts["contoso%02d" % i] = {"autopilot_product_key": "PK-CONTOSO-%02d" % i}
    for i in range(1, 13):
        hosts["fabrikam%02d" % i] = {"partnercenter_batch_id": "fabrikam-sales" if i <= 6 else "fabrikam-kiosk",
                                     "autopilot_serial_number": "FAB-SN-%04d" % i,
                                     "autopilot_manufacturer": "Microsoft Corporation",
                                     "autopilot_model": "Surface Laptop 5"}
    hosts["fabrikam13"] = dict(hosts["fabrikam02"], partnercenter_batch_id="fabrikam-kiosk")
    for i in range(1, 7):
        hosts["northwind%02d" % i] = {"autopilot_serial_number": "NW-SN-%04d" % i,
                                      "autopilot_hardware_hash": hw_hash("northwind%d" % i, 300)}
    for name in hosts:  # the order hosts were added in: AWX's group membership is a set, not an order
        groups[name.rstrip("0123456789")]["hosts"].append(name)
    return hosts, groups


def sliced_hosts(host_names, slice_number, slice_count):
    """AWX's Inventory.get_sliced_hosts, as get_script_data calls it (awx/main/models/inventory.py, read at
    ansible/awx e21dd0a, the last commit of its main branch): the enabled hosts ordered by name, then
    `hosts[slice_number - 1::slice_count]`. AWX orders by name in PostgreSQL; these names are lower-case
    letters and zero-padded digits, which every collation orders like Python's sorted()."""
    ordered = sorted(host_names)
    if slice_count > 1 and slice_number > 0:
        return ordered[slice_number - 1::slice_count]
    return ordered


def script_data(hosts, groups, slice_number=1, slice_count=1):
    """What AWX's get_script_data(hostvars=True, towervars=True, slice_number, slice_count) returns: every
    group (with its vars and children) and, of the hosts, only the slice's, with their vars in _meta."""
    host_ids = dict((name, index + 1) for index, name in enumerate(hosts))
    names = sliced_hosts(list(hosts), slice_number, slice_count)
    in_slice = set(names)
    grouped = set(h for g in groups.values() for h in g["hosts"])
    data = {"all": {"hosts": [h for h in names if h not in grouped], "children": list(groups)}}
    for group_name, group in groups.items():
        info = {}
        members = [h for h in group["hosts"] if h in in_slice]
        if members:
            info["hosts"] = members
        if group["children"]:
            info["children"] = list(group["children"])
        if group["vars"]:
            info["vars"] = dict(group["vars"])
        if info:
            data[group_name] = info
    data["_meta"] = {"hostvars": {}}
    for name in names:
        hostvars = dict(hosts[name])
        for prefix in ("host", "tower"):
            hostvars["remote_%s_enabled" % prefix] = "true"
            hostvars["remote_%s_id" % prefix] = host_ids[name]
        data["_meta"]["hostvars"][name] = hostvars
    return data


def write_inventory(private_data_dir, data):
    """The file AWX's write_inventory_file puts in the job's private data dir: a script printing the JSON."""
    directory = os.path.join(private_data_dir, "inventory")
    os.makedirs(directory)
    path = os.path.join(directory, "hosts")
    with open(path, "w") as handle:
        handle.write("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(data))
    os.chmod(path, stat.S_IRWXU)
    return path


# ----- the credential, as AWX injects it -----------------------------------------------------------------
def credential_env(inputs):
    """The credential type's env injectors rendered with the credential's inputs, as AWX's
    CredentialType.inject_credential does (an ImmutableSandboxedEnvironment, awx/main/models/credential.py)."""
    with open(CREDENTIAL_TYPE) as handle:
        credential_type = yaml.safe_load(handle)
    fields = [f["id"] for f in credential_type["inputs"]["fields"]]
    assert set(credential_type["inputs"]["required"]) <= set(inputs) <= set(fields), (fields, sorted(inputs))
    sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment()
    return dict((name, sandbox.from_string(template).render(**inputs))
                for name, template in credential_type["injectors"]["env"].items())


def job_env(emulator, private_data_dir):
    env = credential_env({
        "tenant_id": emulator.tenant_id,
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "refresh_token": emulator._initial_refresh_token,
    })
    # The credential type has no fields for where Partner Center and Entra ID are, nor for a CA: a real job
    # uses the collection's defaults. Here they point at the emulator, set beside the credential (in AWX that
    # would be the "Extra Environment Variables" job setting).
    env.update({
        "PARTNERCENTER_BASE_URL": emulator.url,
        "PARTNERCENTER_AUTHORITY": emulator.authority,
        "PARTNERCENTER_CA_PATH": emulator.ca_path,
        # Each job runs in a container of its own: no journal is shared, and its directory does not exist yet,
        # as in a fresh container's home (the credential sets no token cache, so none is kept).
        "PARTNERCENTER_JOURNAL_PATH": os.path.join(private_data_dir, "journal", "upload-journal.json"),
    })
    env.update(ansible_env({"PATH": os.environ.get("PATH", "")}))
    return env


class Job:
    """One ansible-runner run of register_devices.yml, started at once in a thread of its own."""

    def __init__(self, name, emulator, tmp_path, inventory_data):
        self.name = name
        self.private_data_dir = str(tmp_path / name)
        os.makedirs(self.private_data_dir)
        self.inventory = write_inventory(self.private_data_dir, inventory_data)
        # The report directory exists, as on a controller that keeps it between runs: a run's change count is
        # then its registrations only. (In a fresh AWX container with the default report_dir - reports/ is
        # not in git - the play's "Create the report directory" task counts as a change on every run.)
        self.report_dir = os.path.join(self.private_data_dir, "reports")
        os.makedirs(self.report_dir)
        self.env = job_env(emulator, self.private_data_dir)
        self.thread, self.runner = ansible_runner.run_async(
            private_data_dir=self.private_data_dir, project_dir=ROOT, playbook="playbooks/register_devices.yml",
            inventory=self.inventory, envvars=self.env,
            extravars={"report_dir": self.report_dir, "register_poll_interval": 0.3},
            quiet=True, timeout=120, cancel_callback=lambda: False)

    def wait(self):
        self.thread.join(150)
        assert not self.thread.is_alive(), "%s still running" % self.name
        return self

    @property
    def stdout(self):
        with open(os.path.join(self.private_data_dir, "artifacts", self.runner.config.ident, "stdout")) as handle:
            return handle.read()

    def describe(self):
        return "%s: status %s rc %s\n%s" % (self.name, self.runner.status, self.runner.rc, self.stdout[-4000:])

    def rows(self):
        """The slice's report: one row per device (and one per failed batch)."""
        with open(os.path.join(self.report_dir, "autopilot-report.csv")) as handle:
            return list(csv.DictReader(handle))

    def upload_result(self):
        [event] = [e for e in self.runner.events if e["event"] == "runner_on_ok"
                   and e["event_data"].get("task") == UPLOAD_TASK]
        return event["event_data"]["res"]


# ----- reading the log -----------------------------------------------------------------------------------
def identity(dev):
    """A device's identity in the inventory, an upload body, the listing or a report row."""
    for key in ("autopilot_product_key", "ProductKey", "productKey", "product_key",
                "autopilot_serial_number", "SerialNumber", "serialNumber", "serial_number"):
        if dev.get(key):
            return dev[key].upper()
    raise AssertionError("no identity in %r" % (dev,))


def token_of(entry):
    return entry["headers"].get("Authorization")


def creates(emulator, customer):
    return emulator.requests("POST", r"/customers/%s/deviceBatches$" % customer)


def adds(emulator, customer, batch_id):
    return emulator.requests("POST", r"/customers/%s/deviceBatches/%s/devices$" % (customer, batch_id))


def print_log(emulator):
    """The request sequence, each request named by the token that sent it (one per slice)."""
    tokens = {}
    for entry in emulator.requests():
        if not entry["path"].startswith("/v1/"):
            continue
        who = tokens.setdefault(token_of(entry), "token%d" % (len(tokens) + 1))
        body = entry["body"]
        devices = body if isinstance(body, list) else (body or {}).get("Devices") or []
        print("%7.3f %s %-6s %-70s %s%s" % (
            entry["time"] % 1000, who, entry["method"], entry["path"][:70], entry["status"],
            " %d devices" % len(devices) if devices else ""))


def wait_for(condition, jobs, timeout=30):
    """Until condition() holds, giving up when it times out or every job has ended."""
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline or not any(j.thread.is_alive() for j in jobs):
            return False
        time.sleep(0.05)
    return True


def test_three_slices_at_once_converge_and_a_full_rerun_writes_nothing(emulator, tmp_path, monkeypatch):
    # Jobs take 1.5 s: slices that upload to one customer overlap with each other's jobs.
    emulator.queue_seconds, emulator.process_seconds = 0.5, 1.0
    # ansible-runner seeds a job's environment with this process's: only the credential may bring PARTNERCENTER_*.
    for name in list(os.environ):
        if name.startswith("PARTNERCENTER_"):
            monkeypatch.delenv(name)
    hosts, groups = build_inventory()
    customer_of = dict((name, (hosts[name].get("partnercenter_customer_id")
                               or groups[name.rstrip("0123456789")]["vars"]["partnercenter_customer_id"]))
                       for name in hosts)
    batch_of = dict((name, hosts[name].get("partnercenter_batch_id")
                     or groups[name.rstrip("0123456789")]["vars"]["partnercenter_batch_id"]) for name in hosts)
    slice_hosts = [sliced_hosts(list(hosts), n, SLICES) for n in range(1, SLICES + 1)]
    # The split the claims rest on: every host in exactly one slice, every batch spread over all slices, and
    # the device declared twice given to two slices.
    assert sorted(h for s in slice_hosts for h in s) == sorted(hosts) and len(hosts) == 28
    for batch in set(batch_of.values()):
        assert all(any(batch_of[h] == batch for h in s) for s in slice_hosts), batch
    slice_of = dict((h, n) for n, s in enumerate(slice_hosts) for h in s)
    assert slice_of["fabrikam02"] != slice_of["fabrikam13"]

    # The three slices' creates of contoso's batch are held until all three have arrived, then let go
    # together: each slice read the batch list before any create was done, as slices that start together
    # do, and exactly one create can win. (Left to chance, a slice often lists the batch another slice has
    # just created and adds to it without a 409; fabrikam's and northwind's batches are left to chance.)
    held = emulator.add_fault("hold", method="POST", path=r"/customers/%s/deviceBatches$" % CUSTOMER, times=SLICES)
    jobs = [Job("slice%d" % n, emulator, tmp_path, script_data(hosts, groups, n, SLICES))
            for n in range(1, SLICES + 1)]
    all_arrived = wait_for(lambda: len(creates(emulator, CUSTOMER)) == SLICES, jobs)
    held.release()
    for job in jobs:
        job.wait()
    print_log(emulator)  # shown when the test fails
    for job in jobs:
        assert job.runner.status == "successful" and job.runner.rc == 0, job.describe()
    assert all_arrived, "contoso's creates did not all arrive (see the log above)"

    # Each slice got a token of its own and sent only its own hosts' devices.
    tokens = []
    for entry in emulator.requests():
        if entry["path"].startswith("/v1/") and token_of(entry) not in tokens:
            tokens.append(token_of(entry))
    assert len(tokens) == SLICES and len(emulator.token_requests()) == SLICES
    slice_ids = [set(identity(hosts[h]) for h in s) for s in slice_hosts]
    sender = {}  # token -> slice index
    for token in tokens:
        sent = set(identity(d) for e in emulator.writes() if token_of(e) == token
                   for d in (e["body"] if isinstance(e["body"], list) else e["body"]["Devices"]))
        owners = [n for n, ids in enumerate(slice_ids) if sent and sent <= ids]
        assert len(owners) == 1, (sent, slice_ids)
        sender[token] = owners[0]

    # contoso: one create accepted, the two others refused with 409, and each of those slices sent the same
    # devices to the batch with an add that was accepted.
    contoso_creates = creates(emulator, CUSTOMER)
    assert sorted(sender[token_of(e)] for e in contoso_creates) == list(range(SLICES))
    assert sorted(e["status"] for e in contoso_creates) == [202, 409, 409], contoso_creates
    contoso_adds = adds(emulator, CUSTOMER, "contoso-2026")
    assert len(contoso_adds) == 2 and all(e["status"] == 202 for e in contoso_adds), contoso_adds
    for refused in [e for e in contoso_creates if e["status"] == 409]:
        [add] = [e for e in contoso_adds if token_of(e) == token_of(refused)]
        assert add["time"] > refused["time"]
        assert [identity(d) for d in add["body"]] == [identity(d) for d in refused["body"]["Devices"]]
    # fabrikam's and northwind's creates are left to chance: their 409s are counted, not required.
    conflicts = collections.Counter()
    for customer in (CUSTOMER, CUSTOMER_B, CUSTOMER_C):
        for entry in creates(emulator, customer):
            conflicts["%s/%s" % (customer[:8], entry["body"]["BatchId"])] += entry["status"] == 409
    print("409 on create per batch: %s" % dict(conflicts))
    assert sum(conflicts.values()) >= 2

    # Every slice reports each of its devices registered or already present; none failed. The device declared
    # twice is registered by one slice and reported already present by the other.
    outcomes = collections.defaultdict(list)  # identity -> [(slice, outcome, error description)]
    for n, job in enumerate(jobs):
        rows = job.rows()
        assert len(rows) == len(slice_hosts[n]), rows
        for row in rows:
            assert row["outcome"] in ("registered", "already_present"), (job.name, row)
            outcomes[identity(row)].append((n, row["outcome"], row["error_description"]))
        assert not [b for b in job.upload_result()["batches"] if b.get("failed")], job.upload_result()
    for ident in set(identity(v) for v in hosts.values()):
        registered = [o for o in outcomes[ident] if o[1] == "registered"]
        assert len(registered) == 1, (ident, outcomes[ident])
    twice = identity(hosts["fabrikam02"])
    assert sorted(o[1] for o in outcomes[twice]) == ["already_present", "registered"], outcomes[twice]

    # A device uploaded in more than one accepted request was answered "already assigned" for all but one.
    uploads = collections.Counter(identity(d) for d in emulator.uploaded_devices())
    for ident, count in uploads.items():
        answered_present = [o for o in outcomes[ident] if o[1] == "already_present"
                            and o[2] == "ZtdDeviceAlreadyAssigned"]
        assert count == 1 or len(answered_present) == count - 1, (ident, count, outcomes[ident])
    print("devices uploaded twice: %s; reported already present: %s (answered 806 by the service: %s)" % (
        sorted(i for i, c in uploads.items() if c > 1),
        sorted(i for i, o in outcomes.items() if any(x[1] == "already_present" for x in o)),
        sorted(i for i, o in outcomes.items() if any(x[2] == "ZtdDeviceAlreadyAssigned" for x in o))))

    # The end state is the whole inventory, each device once, in the batch its host declares.
    for customer in (CUSTOMER, CUSTOMER_B, CUSTOMER_C):
        registered = collections.Counter(identity(d) for d in emulator.batch_devices(customer))
        declared = set(identity(hosts[h]) for h in hosts if customer_of[h] == customer)
        assert set(registered) == declared and set(registered.values()) == {1}, (customer, registered)
        for batch_id in emulator.batch_ids(customer):
            listed = set(identity(d) for d in emulator.batch_devices(customer, batch_id))
            assert listed <= set(identity(hosts[h]) for h in hosts if batch_of[h] == batch_id), (batch_id, listed)
        assert sorted(emulator.batch_ids(customer)) == sorted(set(batch_of[h] for h in hosts
                                                                  if customer_of[h] == customer))

    # The whole inventory, unsliced, run again: nothing to write, nothing changed, every device present.
    emulator.clear_log()
    emulator.clear_faults()
    rerun = Job("unsliced", emulator, tmp_path, script_data(hosts, groups)).wait()
    assert rerun.runner.status == "successful" and rerun.runner.rc == 0, rerun.describe()
    assert emulator.writes() == [], [(e["method"], e["path"]) for e in emulator.writes()]
    assert rerun.upload_result()["changed"] is False
    assert not any(rerun.runner.stats["changed"].values()), rerun.runner.stats
    assert "changed=0" in rerun.stdout.split("PLAY RECAP")[1], rerun.describe()
    rows = rerun.rows()
    assert len(rows) == len(hosts) and set(r["outcome"] for r in rows) == {"already_present"}, rows
