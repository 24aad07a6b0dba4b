"""One large run of playbooks/register_devices.yml against the emulator, shared by the output and the browser
tests (made once per pytest session: under pytest-xdist the first worker to ask runs it, holding a lock file,
and the others read what it recorded): 40 customers of 250 devices (10,000) in `make test-slow`, of 50 (2,000) in
`make test`; most named in the inventory, two with an Autopilot profile, three devices registered to another
tenant and one customer without a reseller relationship (its batch fails as a whole). The first run is at
default verbosity; a second run of the same inventory at -v follows (every device already present but the
failed ones, which are sent and fail again).
"""
import csv
import fcntl
import json
import os
import shutil
import tempfile
import time
import uuid

from tests.emulator import Emulator
from tests.playbooks import ROOT, run_playbook

PLAYBOOK = os.path.join(ROOT, "playbooks", "register_devices.yml")
# Where the tests keep what they produced (reports, outputs, screenshots): kept after the run, ignored by git.
OUTPUT_DIR = os.path.join(ROOT, ".build", "test-output")
# AUTOPILOT_TEST_SIZE: "full" (make test-slow) or "reduced" (make test, and the default). Only the devices per
# customer shrink: the 40 customers stay, so the summary still cuts its customer list at 10 and counts the rest,
# and the reports still hold every customer. 2,000 devices still make a per-device listing, or the rows dumped as
# one JSON line, far longer than the claims allow (default output under 100 lines, no line of 100,000 characters).
SIZES = {"full": 250, "reduced": 50}
SIZE = os.environ.get("AUTOPILOT_TEST_SIZE") or "reduced"
if SIZE not in SIZES:
    raise ValueError("AUTOPILOT_TEST_SIZE must be one of %s, not %r" % (", ".join(sorted(SIZES)), SIZE))
CUSTOMERS, PER_CUSTOMER = 40, SIZES[SIZE]
UNNAMED = (7, 23, 31, 38)          # customers without partnercenter_customer_name: the report shows their id
WITH_PROFILE = (1, 2)              # customers whose devices get an Autopilot profile
FAILED_BATCH = 17                  # no reseller relationship: its batch fails (403) and is one row of its own
# (customer, device): registered to another tenant, so they fail. The second is device 200 of 250 (40 of 50):
# it and the nine after it are the serial numbers that all but its last digit matches (the browser test's search).
FOREIGN = ((4, 11), (4, PER_CUSTOMER * 4 // 5), (29, 0))


def customer_id(c):
    return "5e1a%04x-0c2d-4e6f-8a9b-%012x" % (c, 0x1c2d3e4f0000 + c)


def customer_name(c):
    return None if c in UNNAMED else "Customer %02d %s" % (c, ("Ltd", "GmbH", "S.A.", "Inc.")[c % 4])


def device_key(c, d):
    """Even customers' devices have serial numbers (with manufacturer and model), odd ones product keys."""
    return ("SN-%02d-%04d" % (c, d)) if c % 2 == 0 else ("PK-%02d-%04d" % (c, d))


def inventory():
    out = ["all:", "  vars:", "    autopilot_profiles:"]
    for c in WITH_PROFILE:
        out.append("      - {customer_id: %s, name: Standard %02d, settings: [skip_eula]}" % (customer_id(c), c))
    out += ["  children:", "    autopilot_devices:", "      children:"]
    for c in range(CUSTOMERS):
        out += ["        customer%02d:" % c, "          vars:",
                "            partnercenter_customer_id: %s" % customer_id(c),
                "            partnercenter_batch_id: estate-%02d" % c]
        if customer_name(c):
            out.append("            partnercenter_customer_name: %s" % customer_name(c))
        if c in WITH_PROFILE:
            out.append("            autopilot_profile: Standard %02d" % c)
        out.append("          hosts:")
        for d in range(PER_CUSTOMER):
            key = device_key(c, d)
            if c % 2 == 0:
                out.append("            c%02d-%04d: {autopilot_serial_number: %s, autopilot_manufacturer: Contoso, "
                           "autopilot_model: Laptop 7}" % (c, d, key))
            else:
                out.append("            c%02d-%04d: {autopilot_product_key: %s}" % (c, d, key))
    return "\n".join(out) + "\n"


class Expected:
    """What the run must report, from how it was set up."""
    failed = [(c, device_key(c, d)) for c, d in FOREIGN]
    devices = (CUSTOMERS - 1) * PER_CUSTOMER          # the failed batch's devices have no rows
    registered = devices - len(failed)
    profiles = len(WITH_PROFILE) * PER_CUSTOMER

    @staticmethod
    def per_customer(c):
        """(devices, failed, registered, batches failed) of customer c after the first run."""
        if c == FAILED_BATCH:
            return 0, 0, 0, 1
        failed = sum(1 for fc, _d in FOREIGN if fc == c)
        return PER_CUSTOMER, failed, PER_CUSTOMER - failed, 0


class Run:
    def __init__(self, name, rc, stdout, seconds, report_dir):
        self.name, self.rc, self.stdout, self.seconds = name, rc, stdout, seconds
        self.report_dir = report_dir
        self.lines = self.stdout.splitlines()

    def record(self):
        """Its output in <name>.out (kept for a reader) and the rest as a dict for the session's record."""
        with open(os.path.join(OUTPUT_DIR, "large-run", "%s.out" % self.name), "w") as handle:
            handle.write(self.stdout)
        return {"name": self.name, "rc": self.rc, "seconds": self.seconds, "report_dir": self.report_dir}

    @classmethod
    def recorded(cls, entry):
        with open(os.path.join(OUTPUT_DIR, "large-run", "%s.out" % entry["name"])) as handle:
            return cls(entry["name"], entry["rc"], handle.read(), entry["seconds"], entry["report_dir"])

    @property
    def html_path(self):
        return os.path.join(self.report_dir, "autopilot-report.html")

    def csv_rows(self):
        with open(os.path.join(self.report_dir, "autopilot-report.csv"), encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))

    def __repr__(self):
        tail = "\n".join(line[:300] for line in self.lines[-60:])
        return "%s run: rc=%s, %d lines, %.0f s\n%s" % (self.name, self.rc, len(self.lines), self.seconds, tail)


_RUNS = {}
# The pytest session: xdist gives its workers one id; a plain pytest process is a session of its own.
SESSION = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
RECORD = os.path.join(OUTPUT_DIR, "large-run.json")


def large_runs(tls_dir):
    """(default-verbosity run, -v re-run) of the large inventory; made once per pytest session."""
    if "runs" not in _RUNS:
        os.makedirs(OUTPUT_DIR, exist_ok=True)
        with open(os.path.join(OUTPUT_DIR, "large-run.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held while another worker runs it
            try:
                with open(RECORD) as handle:
                    record = json.load(handle)
            except (OSError, ValueError):
                record = {}
            if record.get("session") != SESSION or record.get("size") != SIZE:
                runs, service = _run(tls_dir)
                record = {"session": SESSION, "size": SIZE, "service": service, "runs": [r.record() for r in runs]}
                with open(RECORD + ".tmp", "w") as handle:
                    json.dump(record, handle)
                os.replace(RECORD + ".tmp", RECORD)
        _RUNS["service"] = record["service"]
        _RUNS["runs"] = tuple(Run.recorded(entry) for entry in record["runs"])
    return _RUNS["runs"]


def _run(tls_dir):
    base = os.path.join(OUTPUT_DIR, "large-run")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    work = tempfile.mkdtemp(prefix="pc-large-run-")
    try:
        inventory_path = os.path.join(work, "hosts.yml")
        with open(inventory_path, "w") as handle:
            handle.write(inventory())
        emu = Emulator(workdir=tls_dir, reuse_tls=True)
        emu.start()
        try:
            emu.foreign_keys.update(("pk" if c % 2 else "serial", key.upper()) for c, key in Expected.failed)
            emu.unrelated_customers.add(customer_id(FAILED_BATCH))
            env = dict(os.environ)
            env.update({
                "PARTNERCENTER_BASE_URL": emu.url, "PARTNERCENTER_AUTHORITY": emu.authority,
                "PARTNERCENTER_CA_PATH": emu.ca_path, "PARTNERCENTER_TENANT_ID": emu.tenant_id,
                "PARTNERCENTER_CLIENT_ID": emu.client_id, "PARTNERCENTER_CLIENT_SECRET": emu.client_secret,
                "PARTNERCENTER_REFRESH_TOKEN": emu._initial_refresh_token,
                "PARTNERCENTER_JOURNAL_PATH": os.path.join(work, "upload-journal.json"),
            })
            runs = []
            for name, extra in (("default", []), ("verbose", ["-v"])):
                report_dir = os.path.join(base, name)
                started = time.time()
                proc = run_playbook(PLAYBOOK, env, inventory=inventory_path,
                                    args=["-e", "report_dir=%s" % report_dir, "-e", "register_poll_interval=0.2"]
                                    + extra)
                runs.append(Run(name, proc.returncode, proc.stdout, time.time() - started, report_dir))
            return runs, emu.url
        finally:
            emu.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def service_url():
    return _RUNS.get("service")
