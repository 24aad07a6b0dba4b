"""Module runs against the emulator for the guards `make mutants` removes (tools/mutants.py): the settle guard
across a customer's batches, the numeric range of concurrency, and check mode leaving the journal alone.

The assertion messages are the kill marks tools/mutants.py looks for: keep them in step.
"""
import os

import pytest

from tests.helpers import CUSTOMER, device
from tests.reliability.conftest import hold_jobs_until_the_next_run, upload_counts

MODULE = "partnercenter.autopilot.partnercenter_device_batch"
STATUS_MODULE = "partnercenter.autopilot.partnercenter_batch_job_status_info"
SETTLE = "customer-scope settle did not wait for another batch"
CONCURRENCY = "concurrency out of range was not refused"
JOURNAL = "check mode created the journal"


def requests_after(emulator, moment):
    return [e for e in emulator.requests() if e["time"] >= moment and e["path"].startswith("/v1/")]


def test_customer_scope_waits_for_another_batch_of_the_customer_still_processing(
        emulator, run_module, pc_env, tmp_path):
    """Another controller's upload to batch `elsewhere` (not in this journal) is still processing; this task
    declares the same devices in batch `mine` with match_scope customer. Only the listing's status of the
    OTHER batch shows the running job: the task must wait for it, then find the devices registered there."""
    emulator.queue_seconds, emulator.process_seconds = 1.0, 7.0
    desired = [device(i, with_hash=False) for i in range(10)]
    other = dict(pc_env, PARTNERCENTER_JOURNAL_PATH=str(tmp_path / "other-controller.json"))
    first = run_module(MODULE, {"customer_id": CUSTOMER, "batch_id": "elsewhere", "devices": desired,
                                "wait": False, "poll_interval": 0.2}, env=other).result
    assert first["job_status"] == "queued" and len(emulator.writes()) == 1
    job = emulator.jobs[first["tracking_id"]]
    first_done = emulator.log[-1]["time"]
    held = hold_jobs_until_the_next_run(emulator, first_done)
    second = run_module(MODULE, {"customer_id": CUSTOMER, "batch_id": "mine", "devices": desired,
                                 "match_scope": "customer", "poll_interval": 0.2}).result
    held.join()
    assert not second.get("failed"), second.get("msg")
    later = [(e["method"], e["path"]) for e in emulator.writes()[1:]]
    assert later == [], "%s: the task wrote %r" % (SETTLE, later)
    assert set(upload_counts(emulator).values()) == {1}
    # The emulator's log: the task's first listing saw `elsewhere` still processing, and the task read the
    # devices of `elsewhere` only once its job had ended.
    rerun = requests_after(emulator, first_done + 1e-6)
    job_end = job["created"] + emulator.queue_seconds + emulator.process_seconds
    listings = [e for e in rerun if e["method"] == "GET" and e["path"].endswith("/deviceBatches")]
    assert listings[0]["time"] < job_end, "the task must have met the other batch's job still running"
    reads = [e for e in rerun if e["path"].endswith("/deviceBatches/elsewhere/devices")]
    assert reads and reads[0]["time"] >= job_end, "devices of the busy batch were read before its job ended"
    assert second["changed"] is False and second["created"] is False
    assert sorted(d["serial_number"] for d in second["already_present"]) == sorted(
        d["serial_number"] for d in desired)
    assert emulator.batch_ids(CUSTOMER) == ["elsewhere"]


@pytest.mark.parametrize("module,args", [
    pytest.param(MODULE, {"concurrency": 0}, id="batch-0"),
    pytest.param(MODULE, {"concurrency": 65}, id="batch-65"),
    pytest.param(STATUS_MODULE, {"concurrency": 0, "tracking_id": "t-1"}, id="job-status-0"),
])
def test_concurrency_out_of_range_is_refused_before_any_request(emulator, run_module, module, args):
    if module == MODULE:
        args = dict(args, batch_id="b1", devices=[device(0, with_hash=False)], poll_interval=0.1)
    result = run_module(module, dict(args, customer_id=CUSTOMER)).result
    expected = "concurrency must be between 1 and 64, got %d" % args["concurrency"]
    assert result.get("failed") and expected in result.get("msg", ""), "%s: %r" % (CONCURRENCY, result.get("msg"))
    sent = [(e["method"], e["path"]) for e in emulator.requests()]
    assert sent == [], "%s before any request: %r" % (CONCURRENCY, sent)
    assert emulator.batch_ids(CUSTOMER) == []


def test_check_mode_creates_no_journal_file_directory_or_lock(emulator, run_module, pc_env, tmp_path):
    directory = tmp_path / "journal-not-yet"
    path = directory / "journal.json"
    env = dict(pc_env, PARTNERCENTER_JOURNAL_PATH=str(path))
    args = {"customer_id": CUSTOMER, "batch_id": "b1", "devices": [device(i, with_hash=False) for i in range(3)],
            "poll_interval": 0.1}
    checked = run_module(MODULE, args, check=True, env=env).result
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] is True and len(checked["plan"]["would_add"]) == 3
    assert emulator.writes() == [] and emulator.requests("GET", "/deviceBatches$"), "check mode plans by reading"
    left = [p for p in (directory, path, tmp_path / "journal-not-yet" / "journal.json.lock") if os.path.exists(p)]
    assert left == [], "%s: %s" % (JOURNAL, left)

    # The same path is the one a real run uses: it creates the directory and the journal there.
    done = run_module(MODULE, args, env=env).result
    assert not done.get("failed"), done.get("msg")
    assert done["changed"] is True and len(emulator.writes()) == 1
    assert directory.is_dir() and path.exists()
