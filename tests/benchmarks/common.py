"""What the benchmarks share: timing, running a one-task playbook, sampling memory, a token the emulator knows,
and the targets of docs/performance.md with the machine-readable line each benchmark prints per target part.
"""
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

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
