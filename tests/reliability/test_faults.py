"""Faults during real module runs: each run converges, with 0 duplicate uploads and 0 lost devices.

The first tests are the ones that guard "exactly once" against a batch whose job is still running: they are
what `make mutants` expects to fail when a guard is removed, so they come first (pytest -x stops early).
"""
import pytest

from tests.helpers import CUSTOMER, api_device, device
from tests.reliability.conftest import assert_converged, hold_jobs_until_the_next_run, upload_counts

MODULE = "partnercenter.autopilot.partnercenter_device_batch"
SHAPES = ("published", "sdk", "recorded")  # the answer modes: the batch listing with and without its status


def long_jobs(emulator):
    """Jobs of 8 s: longer than the start of the next ansible-playbook run and than the lost-answer grace."""
    emulator.queue_seconds, emulator.process_seconds = 1.0, 7.0


def job_end(emulator, tracking_id):
    job = emulator.jobs[tracking_id]
    return job["created"] + emulator.queue_seconds + emulator.process_seconds


def requests_after(emulator, moment):
    return [e for e in emulator.log if e["time"] >= moment and e["path"].startswith("/v1/")]


@pytest.mark.parametrize("shape", SHAPES)
def test_rerun_while_the_job_is_processing_sends_no_device_twice(emulator, run_module, shape):
    emulator.batch_shape = shape
    long_jobs(emulator)
    desired = [device(i, with_hash=False) for i in range(50)]
    args = {"customer_id": CUSTOMER, "batch_id": "busy", "devices": desired, "poll_interval": 0.2}
    first = run_module(MODULE, dict(args, wait=False)).result
    assert first["job_status"] == "queued" and len(first["jobs"]) == 1
    first_done = emulator.log[-1]["time"]
    held = hold_jobs_until_the_next_run(emulator, first_done)
    second = run_module(MODULE, args).result
    held.join()
    assert not second.get("failed"), second.get("msg")
    rerun = requests_after(emulator, first_done + 1e-6)
    assert rerun and rerun[0]["time"] < job_end(emulator, first["tracking_id"]), \
        "the re-run must have met the job still processing"
    assert second["changed"] is False and len(emulator.writes()) == 1
    assert_converged(emulator, CUSTOMER, "busy", [d["serial_number"] for d in desired])


def test_another_controllers_upload_still_processing_is_waited_for(emulator, run_module, pc_env, tmp_path):
    """Not in this controller's journal: only the listing's status (published shape) shows the running job."""
    long_jobs(emulator)
    desired = [device(i, with_hash=False) for i in range(20)]
    args = {"customer_id": CUSTOMER, "batch_id": "shared", "devices": desired, "poll_interval": 0.2}
    other = dict(pc_env, PARTNERCENTER_JOURNAL_PATH=str(tmp_path / "other-controller.json"))
    first = run_module(MODULE, dict(args, wait=False), env=other).result
    first_done = emulator.log[-1]["time"]
    held = hold_jobs_until_the_next_run(emulator, first_done)
    second = run_module(MODULE, args).result
    held.join()
    assert not second.get("failed"), second.get("msg")
    listings = [e for e in requests_after(emulator, first_done + 1e-6) if e["path"].endswith("/deviceBatches")]
    assert listings[0]["time"] < job_end(emulator, first["tracking_id"]), "the batch listing saw the job running"
    assert second["changed"] is False and len(emulator.writes()) == 1
    assert_converged(emulator, CUSTOMER, "shared", [d["serial_number"] for d in desired])


def test_another_controllers_upload_without_status_is_unguarded_but_reported_present(
        emulator, run_module, pc_env, tmp_path):
    """What remains unguarded (README): neither the journal nor the listing shows the other upload's job.

    The devices are sent again and the service answers ZtdDeviceAlreadyAssigned (806) for each: already
    present, not failed, and no change.
    """
    emulator.batch_shape = "sdk"
    long_jobs(emulator)
    desired = [device(i, with_hash=False) for i in range(5)]
    args = {"customer_id": CUSTOMER, "batch_id": "shared", "devices": desired, "poll_interval": 0.2}
    other = dict(pc_env, PARTNERCENTER_JOURNAL_PATH=str(tmp_path / "other-controller.json"))
    run_module(MODULE, dict(args, wait=False), env=other)
    second = run_module(MODULE, args).result
    assert not second.get("failed"), second.get("msg")
    assert set(upload_counts(emulator).values()) == {2}
    assert [d["outcome"] for d in second["devices"]] == ["already_present"] * 5
    assert second["changed"] is False and len(second["already_present"]) == 5


LOST_ANSWERS = [
    ("answer lost after the create was applied", dict(action="drop_after_apply", method="POST",
                                                      path="/deviceBatches$"), 0),
    ("answer lost after a chunk was added", dict(action="drop_after_apply", method="POST", path="/devices$"), 3),
    ("500 after the add was applied", dict(action="status_after_apply", method="POST", path="/devices$",
                                           status=500), 3),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name,fault,existing", LOST_ANSWERS, ids=[c[0] for c in LOST_ANSWERS])
def test_lost_answer_while_the_job_outlasts_the_grace_period(emulator, run_module, shape, name, fault, existing):
    emulator.batch_shape = shape
    long_jobs(emulator)
    if existing:
        emulator.seed_batch(CUSTOMER, "lost", [api_device(device(i, with_hash=False)) for i in range(existing)])
    emulator.add_fault(**fault)
    desired = [device(i, with_hash=False) for i in range(existing + 4)]
    # timeout 3 s: the grace period after a lost answer is 3 s, well short of the 8 s job.
    args = {"customer_id": CUSTOMER, "batch_id": "lost", "devices": desired, "poll_interval": 0.2, "timeout": 3}
    r = run_module(MODULE, args).result
    assert not r.get("failed"), r.get("msg")
    assert emulator.faults[0].hits == 1
    assert_converged(emulator, CUSTOMER, "lost", [d["serial_number"] for d in desired])
    assert r["changed"] is True and len(r["added"]) == 4
    emulator.clear_log()
    again = run_module(MODULE, args).result
    assert again["changed"] is False and emulator.writes() == []


FAULTS = [
    # (name, [fault specs], module extras)
    ("429 storm on uploads", [dict(action="status", method="POST", path="/devices$|/deviceBatches$", status=429,
                                   retry_after=1, times=3)], {}),
    ("429 storm on reads", [dict(action="status", method="GET", path="/v1/", status=429, retry_after=0, times=6)], {}),
    ("429 storm on the token endpoint", [dict(action="status", path="/oauth2/v2.0/token$", status=429,
                                              retry_after=1, times=2)], {}),
    ("500/502/503 burst on reads", [dict(action="status", method="GET", path="/v1/", status=s, times=1)
                                    for s in (500, 502, 503)], {}),
    ("503 on uploads", [dict(action="status", method="POST", path="/v1/", status=503, times=2)], {}),
    # Refused, not applied: without the listing's status the run waits wait_timeout (kept short) before resending.
    ("502 on an upload (outcome unknown)", [dict(action="status", method="POST", path="/devices$", status=502,
                                                 times=1)], {"timeout": 3, "wait_timeout": 8, "lost": True}),
    ("500 after the create was applied", [dict(action="status_after_apply", method="POST", path="/deviceBatches$",
                                               status=500, times=1)], {"new_only": True, "timeout": 3, "lost": True}),
    ("504 after a chunk was added", [dict(action="status_after_apply", method="POST", path="/devices$",
                                          status=504, times=1)], {"timeout": 3, "lost": True}),
    ("slow reads near the timeout", [dict(action="delay", method="GET", path="/deviceBatches$", seconds=1.5,
                                          times=2)], {"timeout": 2}),
    ("slow upload past the timeout", [dict(action="delay", method="POST", path="/devices$", seconds=2.5, times=1)],
     {"timeout": 2}),
    ("answer lost after the create was applied", [dict(action="drop_after_apply", method="POST",
                                                       path="/deviceBatches$", times=1)],
     {"new_only": True, "timeout": 3, "lost": True}),
    ("answer lost after a chunk was added", [dict(action="drop_after_apply", method="POST", path="/devices$",
                                                  times=1)], {"timeout": 3, "lost": True}),
    # Never applied: without the listing's status nothing tells it from a job still running, so the run waits
    # wait_timeout before sending the devices again (kept short here).
    ("connection dropped before an upload", [dict(action="drop", method="POST", path="/v1/", times=1)],
     {"timeout": 3, "wait_timeout": 8, "lost": True}),
    ("token expires mid-run", [dict(action="expire_tokens", method="GET", path="/devices$", times=1)], {}),
    ("token expires mid-wait", [dict(action="expire_tokens", method="GET", path="/batchJobStatus/", times=1)], {}),
]


# Each fault against a new batch (create) and an existing one (add devices); faults aimed at the add-devices
# endpoint only make sense for the latter. Lost answers run with a listing with and without its status: the
# recorded answers list batches without status as the SDK shape does, so that matrix needs only those two.
CASES = [(name, faults, extra, existing, shape) for name, faults, extra in FAULTS for existing in (0, 3)
         for shape in (SHAPES[:2] if extra.get("lost") else SHAPES[:1])
         if (existing or "/devices$" not in str(faults)) and not (existing and extra.get("new_only"))]


@pytest.mark.parametrize("name,faults,extra,existing,shape", CASES,
                         ids=["%s, %s, %s" % (c[0], "existing batch" if c[3] else "new batch", c[4]) for c in CASES])
def test_fault_converges_without_duplicates(emulator, run_module, name, faults, extra, existing, shape):
    emulator.batch_shape = shape
    batch = "reliability"
    if existing:
        emulator.seed_batch(CUSTOMER, batch, [api_device(device(i, with_hash=False)) for i in range(existing)])
    for spec in faults:
        spec = dict(spec)
        emulator.add_fault(spec.pop("action"), **spec)
    desired = [device(i, with_hash=False) for i in range(existing + 4)]
    args = {"customer_id": CUSTOMER, "batch_id": batch, "devices": desired, "poll_interval": 0.1}
    args.update((k, v) for k, v in extra.items() if k not in ("new_only", "lost"))
    r = run_module(MODULE, args).result
    assert not r.get("failed"), r.get("msg")
    assert r["changed"] is True
    assert_converged(emulator, CUSTOMER, batch, [d["serial_number"] for d in desired])
    assert all(f.hits >= 1 for f in emulator.faults), "every injected fault must have been hit"
    emulator.clear_faults()
    emulator.clear_log()
    again = run_module(MODULE, args).result
    assert again["changed"] is False and emulator.writes() == []


def test_job_that_never_finishes_fails_with_the_tracking_id(emulator, run_module):
    emulator.jobs_never_finish = True
    r = run_module(MODULE, {"customer_id": CUSTOMER, "batch_id": "stuck", "devices": [device(0)],
                            "wait_timeout": 2, "poll_interval": 0.2}).result
    assert r["failed"] and r["tracking_id"] in r["msg"]
    assert "partnercenter_batch_job_status_info" in r["msg"] and r["job_status"] == "queued"
    assert r["plan"]["would_add"] == [{"serial_number": "SN-00000", "product_key": None}]
    assert len(emulator.writes()) == 1
