"""SIGKILL the whole playbook at chosen points of a large registration, then re-run it normally.

The kill is triggered by the emulator's request log, not by a wall-clock delay, so each seed lands where it
says on a loaded machine too: while reading, while an upload request is in the service's hands (held, then
done after the kill, as a real server finishes a request whose client died), between two chunks (the next
request never arrives) or while waiting for the jobs. The jobs take 8 s and are held where they are until the
re-run's first request, so the re-run meets them still running however slowly it starts. Whatever the kill
interrupted, the re-run must converge without uploading any device twice.

KILL_SEEDS sets how many seeds run (make test: 4, one per phase; make kill-matrix: 20).
"""
import json
import os
import signal
import subprocess
import time

import pytest

from tests.helpers import CUSTOMER, device
from tests.playbooks import BIN, MODULE_PLAY, ROOT, ansible_env, descendants
from tests.reliability.conftest import assert_converged, hold_jobs_until_the_next_run

DEVICES = 1200  # three chunks: 500, 500, 200
CHUNKS = 3
PHASES = ("reading", "uploading", "between_chunks", "waiting")
SEEDS = range(int(os.environ.get("KILL_SEEDS", "4")))


def plan_for(seed):
    """(phase, k, shape): k is the upload request the kill falls on (or after)."""
    phase = PHASES[seed % len(PHASES)]
    k = {"uploading": seed // 4 % CHUNKS + 1, "between_chunks": seed // 4 % (CHUNKS - 1) + 1}.get(phase)
    # A request that never arrived cannot be told from a running job without the listing's status: the
    # re-run would wait wait_timeout. Between chunks therefore runs with the published shape; the others
    # alternate, starting with the SDK shape, which only the journal guards.
    shape = "published" if phase == "between_chunks" else ("sdk" if seed // 4 % 2 == 0 else "published")
    return phase, k, shape


def kill_tree(pid):
    for victim in descendants(pid):
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until(condition, proc, what, timeout=120):
    deadline = time.time() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail("the run ended (rc %s) before its kill point: %s" % (proc.returncode, what))
        if time.time() > deadline:
            kill_tree(proc.pid)
            pytest.fail("the kill point was never reached: %s" % what)
        time.sleep(0.01)


def accepted_uploads(emulator):
    return [e for e in emulator.requests("POST", "/v1/") if e["status"] == 202]


@pytest.mark.parametrize("seed", SEEDS)
def test_killed_run_then_rerun_converges_without_duplicates(emulator, pc_env, tmp_path, seed):
    phase, k, shape = plan_for(seed)
    emulator.batch_shape = shape
    emulator.queue_seconds, emulator.process_seconds = 1.0, 7.0
    desired = [device(i, with_hash=False) for i in range(DEVICES)]
    args = {"customer_id": CUSTOMER, "batch_id": "kill-%02d" % seed, "devices": desired, "poll_interval": 0.5,
            "wait_timeout": 120, "timeout": 10}
    play = tmp_path / "play.yml"
    play.write_text(MODULE_PLAY.format(module="partnercenter.autopilot.partnercenter_device_batch",
                                       args=json.dumps(args)))
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({"result_path": str(tmp_path / "result.json")}))

    hold = None
    if phase == "reading":
        hold = emulator.add_fault("hold", method="GET", path="/deviceBatches$")
    elif phase == "uploading":
        hold = emulator.add_fault("hold", method="POST", path="/v1/", after=k - 1)
    elif phase == "between_chunks":
        hold = emulator.add_fault("hold", method="POST", path="/v1/", after=k)
    cmd = [os.path.join(BIN, "ansible-playbook"), str(play), "-e", "@" + str(extra)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(pc_env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    if hold is not None:
        wait_until(lambda: hold.hits == 1, proc, "%s, request %s held" % (phase, k))
    else:
        wait_until(lambda: emulator.requests("GET", "/batchJobStatus/"), proc, "waiting: first job status poll")
    kill_tree(proc.pid)
    proc.wait(timeout=30)
    killed_at = time.time()
    accepted = len(accepted_uploads(emulator))
    posts = emulator.requests("POST", "/v1/")
    if hold is not None:
        hold.release(apply=phase != "between_chunks")
        held = [e for e in emulator.log if e["fault"] and e["fault"].startswith("hold")][0]
        deadline = time.time() + 30
        while held["status"] is None and time.time() < deadline:
            time.sleep(0.01)

    # Where the kill landed, from the log.
    if phase == "reading":
        assert posts == [], "killed while reading: nothing sent"
    elif phase == "uploading":
        assert accepted == k - 1 and len(posts) == k and held["status"] == 202, \
            "killed while upload %d was in the service's hands; it was done after the kill" % k
    elif phase == "between_chunks":
        assert accepted == k and held["status"] == "discarded", "killed after upload %d, before the next" % k
    else:
        assert accepted == CHUNKS, "killed while waiting: every chunk accepted"
    held = hold_jobs_until_the_next_run(emulator, killed_at)
    rerun = subprocess.run(cmd, cwd=ROOT, env=ansible_env(pc_env), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    held.join()
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    jobs_end = max([j["created"] + emulator.queue_seconds + emulator.process_seconds
                    for j in emulator.jobs.values()] or [0])
    result = json.loads((tmp_path / "result.json").read_text())
    assert not result.get("failed"), result.get("msg")
    if phase != "reading":
        first = [e for e in emulator.log if e["time"] > killed_at and e["path"].startswith("/v1/")][0]
        assert first["time"] < jobs_end, "the re-run must start while the killed run's jobs are still running"
    assert_converged(emulator, CUSTOMER, args["batch_id"], [d["serial_number"] for d in desired])
    print("seed %d: %s (request %s, %s shape): %d uploads accepted before the kill"
          % (seed, phase, k, shape, accepted))
