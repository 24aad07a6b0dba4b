"""What the benchmarks share: timing, running a one-task playbook, sampling memory, a token the emulator knows."""
import os
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
