"""Faults during real module runs: each run converges, with 0 duplicate uploads and 0 lost devices."""
import pytest

from tests.helpers import CUSTOMER, api_device, device
from tests.reliability.conftest import assert_converged

MODULE = "partnercenter.autopilot.partnercenter_device_batch"
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
    ("502 on an upload (outcome unknown)", [dict(action="status", method="POST", path="/devices$", status=502,
                                                 times=1)], {"timeout": 3}),
    ("slow reads near the timeout", [dict(action="delay", method="GET", path="/deviceBatches$", seconds=1.5,
                                          times=2)], {"timeout": 2}),
    ("slow upload past the timeout", [dict(action="delay", method="POST", path="/devices$", seconds=2.5, times=1)],
     {"timeout": 2}),
    ("answer lost after the create was applied", [dict(action="drop_after_apply", method="POST",
                                                       path="/deviceBatches$", times=1)], {"new_only": True, "timeout": 3}),
    ("answer lost after a chunk was added", [dict(action="drop_after_apply", method="POST", path="/devices$",
                                                  times=1)], {"timeout": 3}),
    ("connection dropped before an upload", [dict(action="drop", method="POST", path="/v1/", times=1)],
     {"timeout": 3}),
    ("token expires mid-run", [dict(action="expire_tokens", method="GET", path="/devices$", times=1)], {}),
    ("token expires mid-wait", [dict(action="expire_tokens", method="GET", path="/batchJobStatus/", times=1)], {}),
]


# Each fault against a new batch (create) and an existing one (add devices); faults aimed at the add-devices
# endpoint only make sense for the latter.
CASES = [(name, faults, extra, existing) for name, faults, extra in FAULTS for existing in (0, 3)
         if (existing or "/devices$" not in str(faults)) and not (existing and extra.get("new_only"))]


@pytest.mark.parametrize("name,faults,extra,existing", CASES,
                         ids=["%s, %s" % (c[0], "existing batch" if c[3] else "new batch") for c in CASES])
def test_fault_converges_without_duplicates(emulator, run_module, name, faults, extra, existing):
    batch = "reliability"
    if existing:
        emulator.seed_batch(CUSTOMER, batch, [api_device(device(i, with_hash=False)) for i in range(existing)])
    for spec in faults:
        spec = dict(spec)
        emulator.add_fault(spec.pop("action"), **spec)
    desired = [device(i, with_hash=False) for i in range(existing + 4)]
    args = {"customer_id": CUSTOMER, "batch_id": batch, "devices": desired, "poll_interval": 0.1}
    args.update((k, v) for k, v in extra.items() if k != "new_only")
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


def test_rerun_while_a_batch_is_still_processing_waits_instead_of_uploading_twice(emulator, run_module):
    emulator.queue_seconds, emulator.process_seconds = 1.0, 1.0
    desired = [device(i, with_hash=False) for i in range(3)]
    args = {"customer_id": CUSTOMER, "batch_id": "busy", "devices": desired, "poll_interval": 0.2}
    first = run_module(MODULE, dict(args, wait=False)).result
    assert first["job_status"] == "queued"
    second = run_module(MODULE, args).result
    assert second["changed"] is False and len(emulator.writes()) == 1
    assert_converged(emulator, CUSTOMER, "busy", [d["serial_number"] for d in desired])
