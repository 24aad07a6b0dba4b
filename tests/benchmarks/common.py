"""What the benchmarks share: timing, running a one-task playbook, sampling memory, a token the emulator knows,
the targets of docs/performance.md with the machine-readable line each benchmark prints per target part, and the
run of many customers' batches in one task at real-world latency that targets 6, 9 and 11 measure.
"""
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from tests.benchmarks import timeline
from tests.helpers import hw_hash
from tests.playbooks import BIN, ROOT, ansible_env, descendants

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Task under measurement
      {task}
"""
NOOP_TASK = """ansible.builtin.debug:
        msg: "{{ bench_devices | length }} devices"
"""
SINK_TASK = """bench_sink:
        devices: "{{ bench_devices }}"
"""

# The targets of docs/performance.md, the one place their limits are written. A target with several conditions
# has one part per condition; it is met when all its parts are. Figures are judged as printed (rounded by fmt),
# so each line can be checked on its own. `bench` is the benchmark that measures the part.
Target = collections.namedtuple("Target", "number part bench cmp limit fmt unit label")
TARGETS = [
    Target(1, "cost_ratio", "bench_noop_rerun", "le", 2, "%.2f", "x",
           "no-op re-run over 5,000 devices: module cost against the floor"),
    Target(1, "writes", "bench_noop_rerun", "eq", 0, "%d", "", "no-op re-run: writes"),
    Target(2, "cost_ratio", "bench_first_registration", "le", 1.5, "%.2f", "x",
           "first registration of 5,000 devices: module cost against the floor"),
    Target(3, "creating_posts_per_customer", "bench_many_customers", "eq", 1, "%.2f", "",
           "100 customers x 100 devices: batch-creating POSTs per customer"),
    Target(3, "token_requests", "bench_many_customers", "eq", 1, "%d", "", "100 x 100: token requests"),
    # "Job time dominates": more than half of the play's wall time is the (one) job time.
    Target(3, "job_time_pct", "bench_many_customers", "gt", 50, "%.0f", "%",
           "100 x 100, 60 s jobs: job time's share of the wall time"),
    Target(4, "fewer_requests", "bench_uri_baseline", "ge", 20, "%.1f", "x",
           "re-run of 1,000 devices against a plain `uri` playbook: fewer requests"),
    Target(4, "less_time", "bench_uri_baseline", "ge", 5, "%.1f", "x", "re-run against `uri`: less wall time"),
    Target(5, "planning_ms", "bench_noop_rerun", "lt", 100, "%.1f", "ms", "planning 10,000 devices"),
    Target(5, "peak_memory_mb", "bench_first_registration", "lt", 400, "%.0f", "MB",
           "peak memory of the 5,000-device registration"),
    # Targets 6 to 9 run at real-world latency: the emulator's lenient profile at time_scale 1 (see
    # docs/performance.md). Target 6: concurrency 1's time beyond the job time over the default concurrency's
    # (tests/benchmarks/timeline.py defines it), and the counts of the default concurrency's run.
    Target(6, "beyond_job_ratio", "bench_customers_latency", "ge", 6, "%.1f", "x",
           "500 customers x 20 devices, lenient latency: time beyond the job time, concurrency 1 against 8"),
    Target(6, "creating_posts", "bench_customers_latency", "eq", 500, "%d", "", "500 x 20: batch-creating POSTs"),
    Target(6, "token_requests", "bench_customers_latency", "eq", 1, "%d", "", "500 x 20: token requests"),
    Target(6, "uploaded_twice", "bench_customers_latency", "eq", 0, "%d", "", "500 x 20: devices uploaded twice"),
    # Target 7: module cost against the floor of its own requests at that latency plus a no-op module's cost.
    Target(7, "cost_ratio", "bench_first_registration_latency", "le", 1.5, "%.2f", "x",
           "first registration of 5,000 devices, lenient latency: module cost against floor + no-op module"),
    Target(8, "cost_ratio", "bench_noop_customers_latency", "le", 2, "%.2f", "x",
           "no-op re-run of 10,000 devices over 100 customers, lenient latency: module cost against "
           "`requests` with as many threads"),
    Target(9, "module_peak_mb", "bench_customers_latency", "lt", 400, "%.0f", "MB",
           "peak memory of the module process registering 500 x 20 devices"),
    # Target 10: the whole export playbook (Ansible's start-up included) against `requests` reading the same.
    Target(10, "cost_ratio", "bench_export", "le", 2, "%.2f", "x",
           "export of 50 customers x 200 devices, lenient latency: the playbook against `requests` with as many "
           "threads"),
    # Target 11: 2,000 customers x 5 devices, each batch naming its customer by domain, lenient, concurrency 8.
    # The customer list is read once, in ceil(2,000 / 500) pages (500: the emulator's customer_page_size, the
    # most a page holds). The time beyond the job time per customer is compared with target 6's run at
    # concurrency 8 (its figure over its 500 customers, both in real-world seconds): at most 1.1 x, linear scaling.
    Target(11, "customer_list_reads", "bench_customers_by_domain", "le", 4, "%d", "",
           "2,000 customers x 5 devices named by domain, lenient latency: GET /v1/customers reads "
           "(ceil(2,000 / 500))"),
    Target(11, "beyond_per_customer_ratio", "bench_customers_by_domain", "le", 1.1, "%.2f", "x",
           "2,000 x 5 by domain: time beyond the job time per customer against 500 x 20's (target 6, concurrency 8)"),
    Target(11, "module_peak_mb", "bench_customers_by_domain", "lt", 400, "%.0f", "MB",
           "2,000 x 5 by domain: peak memory of the module process"),
]
COMPARE = {"le": lambda v, lim: v <= lim, "lt": lambda v, lim: v < lim, "ge": lambda v, lim: v >= lim,
           "gt": lambda v, lim: v > lim, "eq": lambda v, lim: v == lim}
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
TARGET_LINE = re.compile(r"^target_met=(?P<number>[1-9][0-9]*) part=(?P<part>[a-z_]+) value=(?P<value>%s) "
                         r"cmp=(?P<cmp>le|lt|ge|gt|eq) limit=(?P<limit>%s) met=(?P<met>yes|no)$" % (_NUMBER, _NUMBER))
LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "library")
TOKEN = "emu-at-benchmark"


def median_time(func, repeat, before=None):
    """Median wall time of func over repeat rounds; before() runs untimed ahead of each round."""
    times = []
    for _round in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def target_line(target, value):
    """The machine-readable line for one target part, e.g. `target_met=1 part=cost_ratio value=1.51 cmp=le
    limit=2 met=yes`; met is judged on the value as printed."""
    shown = target.fmt % value
    met = COMPARE[target.cmp](float(shown), target.limit)
    return "target_met=%d part=%s value=%s cmp=%s limit=%g met=%s" % (
        target.number, target.part, shown, target.cmp, target.limit, "yes" if met else "no")


def print_targets(bench, **values):
    """Print the target line of every part `bench` measures. A miss does not change the exit code: at toy sizes
    the figures mean nothing, and under `make bench` the summary (tests/benchmarks/summary.py) decides."""
    mine = [t for t in TARGETS if t.bench == bench]
    if sorted(values) != sorted(t.part for t in mine):
        raise ValueError("%s measures %s, got %s" % (bench, sorted(t.part for t in mine), sorted(values)))
    for target in mine:
        print(target_line(target, values[target.part]))


def parse_target_lines(text):
    """The target lines in a benchmark's output, as dicts of their fields (strings). A line that starts like
    one but does not match the format raises ValueError rather than being skipped."""
    found = []
    for line in text.splitlines():
        if line.startswith("target_met="):
            match = TARGET_LINE.match(line.rstrip())
            if not match:
                raise ValueError("malformed target line: %r" % line)
            found.append(match.groupdict())
    return found


# An interpreter for one module task (set as its ansible_python_interpreter) that runs the real one and, when
# it exits, appends its peak resident set size in bytes (ru_maxrss from wait4, exact: no sampling) to a file.
RSS_WRAPPER = """#!%(python)s
import os
import sys
pid = os.fork()
if pid == 0:
    os.execv(%(python)r, [%(python)r] + sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
with open(%(out)r, "a") as handle:
    handle.write("%%d\\n" %% (usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def rss_interpreter(directory):
    """(path of an interpreter wrapper, path of the file it appends each module process's peak RSS to)."""
    wrapper, out = os.path.join(directory, "python-peak-rss"), os.path.join(directory, "module-peak-rss.txt")
    with open(wrapper, "w") as handle:
        handle.write(RSS_WRAPPER % {"python": sys.executable, "out": out})
    os.chmod(wrapper, 0o755)
    return wrapper, out


def read_peak_rss(path):
    """The largest peak RSS (bytes) the wrapper recorded, and how many module processes it saw; then forget them."""
    if not os.path.exists(path):
        return 0, 0
    with open(path) as handle:
        values = [int(line) for line in handle if line.strip()]
    os.unlink(path)
    return max(values or [0]), len(values)


def grant_token(emu):
    """An access token the emulator accepts, so no benchmark pays (or counts) a token request."""
    emu.access_tokens[TOKEN] = {"expires": time.time() + 3600, "kind": "user"}
    return TOKEN


def playbook_env(emu, **extra):
    return ansible_env(dict(os.environ, PARTNERCENTER_BASE_URL=emu.url, PARTNERCENTER_CA_PATH=emu.ca_path,
                            PARTNERCENTER_ACCESS_TOKEN=TOKEN, ANSIBLE_LIBRARY=LIBRARY, **extra))


def run_play(task, vars_file, env, sampler=None, text=None, args=()):
    """Run a one-task play (or the playbook text given); exit with its output when it fails."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(text if text is not None else PLAY.replace("{task}", task))
    cmd = [os.path.join(BIN, "ansible-playbook"), handle.name] + (["-e", "@" + vars_file] if vars_file else [])
    proc = subprocess.Popen(cmd + list(args), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if sampler:
        sampler.watch(proc.pid)
    out = proc.communicate()[0]
    if sampler:
        sampler.stop()
    os.unlink(handle.name)
    if proc.returncode:
        sys.exit(out[-3000:])
    return out


class TreeMemory(object):
    """Peak memory of a process and all its descendants together, sampled from /proc (Linux).

    peak sums each process's proportional set size (PSS): pages a forked worker still shares with the
    controller count once, split between them, where summing RSS would count them twice. peak_single is
    the largest single process's RSS.
    """

    def __init__(self, interval=0.01):
        self.interval, self.peak, self.peak_single = interval, 0, 0
        self._stop = threading.Event()
        self._thread = None

    def watch(self, pid):
        self._thread = threading.Thread(target=self._loop, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def _loop(self, root):
        while not self._stop.is_set():
            pids = descendants(root)
            self.peak = max(self.peak, sum(self._read(pid, "smaps_rollup", "Pss:") for pid in pids))
            self.peak_single = max([self.peak_single] + [self._read(pid, "status", "VmRSS:") for pid in pids])
            time.sleep(self.interval)

    @staticmethod
    def _read(pid, name, field):
        try:
            with open("/proc/%d/%s" % (pid, name)) as handle:
                for line in handle:
                    if line.startswith(field):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0


# ----- many customers' batches in one task at real-world latency (bench_customers_latency, targets 6 and 9;
# bench_customers_by_domain, target 11) ---------------------------------------------------------------------------
# One task of partnercenter_device_batch with `batches`, authenticating itself with the refresh token (so its
# workers must share one token); the module process's peak RSS recorded by rss_interpreter.
BATCHES_PLAYBOOK = """
- name: Register every customer's devices in one task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Upload each customer's devices and wait for the jobs
      partnercenter.autopilot.partnercenter_device_batch:
        batches: "{{ bench_batches }}"
        concurrency: "{{ bench_concurrency | int }}"
        poll_interval: "{{ bench_poll_interval | float }}"
        fail_on_device_errors: false
      vars:
        ansible_python_interpreter: "{{ bench_interpreter }}"
      register: result
      failed_when: false  # a failure is reported by the benchmark, with the figures
    - name: Hand the module's figures to the benchmark
      ansible.builtin.copy:
        dest: "{{ bench_result_path }}"
        mode: "0600"
        content: >-
          {{ {'failed': result.failed | default(false) or result.msg is defined, 'msg': result.msg | default(''),
              'throttled_seconds': result.throttled_seconds | default(none),
              'batches': result.batches | default([]) | length,
              'batches_failed': result.batches | default([]) | selectattr('failed', 'defined')
                                | selectattr('failed') | list | length,
              'added': result.batches | default([]) | map(attribute='added') | map('length') | sum,
              'warnings': result.warnings | default([])} | to_json }}
"""
# The first line of bench_customers_latency's output (and bench_customers_by_domain's, which adds to it), then a
# `--- <profile>, concurrency <n> ---` header and report_batches' lines per run; reference_beyond reads them back.
SIZE_LINE = "customers x devices:            %d x %d (4 KB hashes), seed %d, time_scale %g"
BEYOND_LABEL = "time beyond the job time:"


def customer_id(number):
    return str(uuid.UUID(int=number + 1))


def make_batches(customers, devices):
    """One batch per customer (by tenant id), each device with a serial number and a 4 KB hash."""
    return [{"customer_id": customer_id(c), "batch_id": "batch-%03d" % c,
             "devices": [{"serial_number": "SN-%03d-%04d" % (c, d), "hardware_hash": hw_hash("lat-%d-%d" % (c, d))}
                         for d in range(devices)]} for c in range(customers)]


def run_batches(emu, tmp, vars_file, batches, tenant_ids, profile, concurrency, time_scale, seed, memory=None,
                prepare=None):
    """One fresh run of BATCHES_PLAYBOOK on `batches` (the list vars_file holds as bench_batches; tenant_ids: the
    tenant id of each, in order): the emulator reset, set to `profile` at time_scale and seed, then handed to
    prepare(emu) if given. Returns the figures of the run (dict); the emulator keeps the run's log."""
    emu.reset()
    emu.configure(profile=profile, time_scale=time_scale, seed=seed)
    if prepare:
        prepare(emu)
    journal = os.path.join(tmp, "journal-%s-%d.json" % (profile, concurrency))
    result_path = os.path.join(tmp, "result.json")
    interpreter, rss_file = rss_interpreter(tmp)
    env = ansible_env(dict(os.environ, PARTNERCENTER_BASE_URL=emu.url, PARTNERCENTER_AUTHORITY=emu.authority,
                           PARTNERCENTER_CA_PATH=emu.ca_path, PARTNERCENTER_TENANT_ID=emu.tenant_id,
                           PARTNERCENTER_CLIENT_ID=emu.client_id, PARTNERCENTER_CLIENT_SECRET=emu.client_secret,
                           PARTNERCENTER_REFRESH_TOKEN=emu._initial_refresh_token,
                           PARTNERCENTER_JOURNAL_PATH=journal))
    started = time.perf_counter()
    run_play(None, vars_file, env, sampler=memory, text=BATCHES_PLAYBOOK,
             args=["-e", "bench_concurrency=%d" % concurrency, "-e", "bench_interpreter=%s" % interpreter,
                   "-e", "bench_result_path=%s" % result_path,
                   # The module's default (and register_devices.yml's) first poll delay, scaled like the emulator.
                   "-e", "bench_poll_interval=%g" % max(0.1, 2.0 * time_scale)])
    playbook_wall = time.perf_counter() - started
    with open(result_path) as handle:
        module = json.load(handle)
    peak_rss, processes = read_peak_rss(rss_file)
    entries = emu.requests()
    uploads = [e for e in emu.writes() if e["method"] == "POST" and e["path"].endswith(("/deviceBatches", "/devices"))]
    accepted = [e for e in uploads if e["status"] == 202 or e.get("applied")]
    creates = [e for e in accepted if e["path"].endswith("/deviceBatches")]
    jobs = timeline.jobs_of(emu)
    account = timeline.beyond_job_time(entries, [timeline.answered(e) for e in accepted], [j[2] for j in jobs])
    first, last = timeline.span(entries)
    last_upload = first + account["uploads"]
    uploaded = [d.get("SerialNumber") for d in emu.uploaded_devices()]
    expected = sorted(d["serial_number"] for batch in batches for d in batch["devices"])
    registered = sorted(d["serialNumber"] for tenant in sorted(set(t.lower() for t in tenant_ids))
                        for d in emu.batch_devices(tenant))
    late = timeline.seen_late(entries, jobs)
    # Jobs are waited for once every upload is in (by design): lateness counted from then shows workers held up.
    held = timeline.seen_late(entries, jobs, since=last_upload)
    long_jobs = [j for j in jobs if j[3] >= 60 * time_scale]
    api = [e for e in entries if e["path"].startswith("/v1/")]
    return dict(
        profile=profile, concurrency=concurrency, playbook_wall=playbook_wall, module=module, account=account,
        requests=len(entries), api_requests=len(api), uploads=len(uploads), creates=len(creates),
        creates_sent=len([e for e in uploads if e["path"].endswith("/deviceBatches")]),
        adds=len(accepted) - len(creates), tokens=len(emu.token_requests()),
        polls=len(emu.requests("GET", "/batchJobStatus/")), throttled=len(emu.throttled()),
        throttled_writes=len([e for e in emu.throttled() if e["method"] != "GET"]),
        slow=len([e for e in entries if e.get("tail") == "slow"]), hung=len([e for e in entries if e.get("tail") == "hang"]),
        uploaded=len(uploaded), uploaded_twice=len(uploaded) - len(set(uploaded)),
        registered_once=registered == expected, registered=len(registered),
        jobs=len(jobs), longest_job=max(j[3] for j in jobs) if jobs else 0.0, long_jobs=len(long_jobs),
        last_job_seen_late=late.get(max(jobs, key=lambda j: j[2])[0]) if jobs else None,
        seen_late_max=max(late.values()) if late else 0.0,
        held_minute=len([v for v in held.values() if v > 60 * time_scale]),
        held_max=max(held.values()) if held else 0.0,
        in_flight_uploading=timeline.in_flight(entries, first, last_upload),
        idle_uploading=timeline.idle(entries, first, last_upload), idle_total=timeline.idle(entries, first, last),
        service_seconds=sum(timeline.answered(e) - e["time"] for e in entries),
        peak_rss=peak_rss, module_processes=processes)


def report_batches(run, devices, time_scale):
    """Print one run's figures (devices: how many the task handed over), under a `--- profile, concurrency ---`
    header."""
    a, m = run["account"], run["module"]
    print("--- %s, concurrency %d ---" % (run["profile"], run["concurrency"]))
    print("playbook wall time:             %.1f s (outside the log: Ansible start-up, loading %d devices, result)"
          % (run["playbook_wall"], devices))
    print("module span in the log:         %.1f s = uploads %.1f s + waiting on a job only %.1f s + tail %.1f s"
          % (a["wall"], a["uploads"], a["waiting"], a["tail"]))
    print("%-31s %.1f s" % (BEYOND_LABEL, a["beyond"]))
    print("requests:                       %d (%d to /v1/); %d slow (5-10 s), %d hanging (60-90 s)"
          % (run["requests"], run["api_requests"], run["slow"], run["hung"]))
    print("requests in flight, uploading:  %.2f on average (concurrency %d)"
          % (run["in_flight_uploading"], run["concurrency"]))
    print("no request in flight:           %.1f s while uploading, %.1f s in all (the module's own work, "
          "connecting, sending)" % (run["idle_uploading"], run["idle_total"]))
    print("token requests:                 %d" % run["tokens"])
    print("batch-creating POSTs:           %d accepted (%d sent), other uploads accepted %d"
          % (run["creates"], run["creates_sent"], run["adds"]))
    print("job status polls:               %d; a job's end seen at most %.1f s late, the last job's %s"
          % (run["polls"], run["seen_late_max"], "%.1f s late" % run["last_job_seen_late"]
             if run["last_job_seen_late"] is not None else "never"))
    print("once every upload was in:       %d jobs already ended were read finished more than %g s later, one "
          "%.1f s later (a worker waits for its customer's jobs in turn)"
          % (run["held_minute"], 60 * time_scale, run["held_max"]))
    print("jobs:                           %d, longest %.0f s, %d of 60 s or more"
          % (run["jobs"], run["longest_job"], run["long_jobs"]))
    print("throttled (429):                %d requests (%d writes); module throttled_seconds %s"
          % (run["throttled"], run["throttled_writes"], m["throttled_seconds"]))
    print("devices uploaded / twice:       %d / %d" % (run["uploaded"], run["uploaded_twice"]))
    print("every device registered once:   %s (%d registered)"
          % ("yes" if run["registered_once"] else "no", run["registered"]))
    print("module result:                  %s, %d batches, %d failed, %d devices added%s"
          % ("failed: " + m["msg"][:300] if m["failed"] else "ok", m["batches"], m["batches_failed"], m["added"],
             "; warnings: " + " | ".join(w[:200] for w in m["warnings"]) if m["warnings"] else ""))
    print("module process peak RSS:        %.0f MiB (%d module process)"
          % (run["peak_rss"] / 2.0 ** 20, run["module_processes"]))


Reference = collections.namedtuple("Reference", "beyond customers time_scale source")


def reference_beyond(text, concurrency, source):
    """Target 6's figure as a bench_customers_latency output prints it: the time beyond the job time of its
    lenient run at `concurrency`, its customers and time_scale (Reference); None when the text has no such run."""
    size = re.search(r"^customers x devices: +([0-9]+) x [0-9]+ .*time_scale (%s)$" % _NUMBER, text, re.M)
    run = re.search(r"^--- lenient, concurrency %d ---$(?:\n(?!---).*)*?\n%s +(%s) s$"
                    % (concurrency, re.escape(BEYOND_LABEL), _NUMBER), text, re.M)
    if not (size and run):
        return None
    return Reference(float(run.group(1)), int(size.group(1)), float(size.group(2)), source)


def recorded_beyond(doc, concurrency, source):
    """The same figure as docs/performance.md records it, in target 6's section: the command's --customers and
    the table's bold "time beyond the job time" in the lenient, concurrency `concurrency` column (real-world
    seconds, time_scale 1); None when the section does not hold it."""
    section = re.search(r"^## [0-9]+\. [^\n]*\(`bench_customers_latency`\)$(.*?)(?=^## )", doc, re.M | re.S)
    if not section:
        return None
    body = section.group(1)
    customers = re.search(r"bench_customers_latency --customers ([0-9]+)", body)
    header = re.search(r"^\| figure \|(.*)\|$", body, re.M)
    row = re.search(r"^\| \*\*time beyond the job time\*\* \|(.*)\|$", body, re.M)
    if not (customers and header and row):
        return None
    columns = [c.strip() for c in header.group(1).split("|")]
    values = [c.strip().strip("*") for c in row.group(1).split("|")]
    name = "lenient, concurrency %d" % concurrency
    if name not in columns or len(values) != len(columns):
        return None
    value = re.match(r"^([0-9,]+(?:\.[0-9]+)?) s$", values[columns.index(name)])
    if not value:
        return None
    return Reference(float(value.group(1).replace(",", "")), int(customers.group(1)), 1.0, source)
