"""SIGKILL the whole playbook at seeded random points of a large registration, then re-run it normally.

Whatever the kill interrupted (reading, a chunk in flight, waiting), the re-run must converge to the desired
state without uploading any device twice.
"""
import json
import os
import random
import signal
import subprocess
import time

import pytest

from tests.helpers import CUSTOMER, device
from tests.playbooks import BIN, MODULE_PLAY, ROOT, ansible_env, descendants
from tests.reliability.conftest import assert_converged

DEVICES = 1200  # three chunks of at most 500
SEEDS = range(20)


def kill_tree(pid):
    for victim in descendants(pid):
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start(play, extra, env):
    return subprocess.Popen([os.path.join(BIN, "ansible-playbook"), play, "-e", "@" + extra], cwd=ROOT,
                            env=ansible_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_killed_run_then_rerun_converges_without_duplicates(emulator, pc_env, tmp_path, seed):
    emulator.queue_seconds, emulator.process_seconds = 0.3, 0.5
    desired = [device(i, with_hash=False) for i in range(DEVICES)]
    args = {"customer_id": CUSTOMER, "batch_id": "kill-%02d" % seed, "devices": desired, "poll_interval": 0.2}
    play = tmp_path / "play.yml"
    play.write_text(MODULE_PLAY.format(module="partnercenter.autopilot.partnercenter_device_batch",
                                       args=json.dumps(args)))
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({"result_path": str(tmp_path / "result.json")}))

    # Slow uploads stretch the write phase (three POSTs) over about a second and a half, so the seeded kill
    # points fall before, between and after the chunks as well as while waiting.
    emulator.add_fault("delay", method="POST", path="/v1/", seconds=0.5, times=None)
    kill_after = random.Random(seed).uniform(0.3, 3.5)
    proc = start(str(play), str(extra), pc_env)
    time.sleep(kill_after)
    if proc.poll() is None:
        kill_tree(proc.pid)
    proc.wait(timeout=30)
    emulator.clear_faults()
    time.sleep(0.6)  # a POST the kill cut off may still be inside the emulator's delay
    print("seed %d: killed after %.2fs, %d chunks accepted before the kill"
          % (seed, kill_after, len(emulator.uploaded_devices()) // 500 + (len(emulator.uploaded_devices()) % 500 > 0)))

    rerun = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play), "-e", "@" + str(extra)], cwd=ROOT,
                           env=ansible_env(pc_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert not result.get("failed"), result.get("msg")
    assert_converged(emulator, CUSTOMER, args["batch_id"], [d["serial_number"] for d in desired])
