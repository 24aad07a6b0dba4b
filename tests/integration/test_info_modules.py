"""partnercenter_batch_job_status_info and partnercenter_device_batch_info against the emulator."""
import pytest

from tests.helpers import CUSTOMER, CUSTOMER_B, api_device, device

STATUS = "partnercenter.autopilot.partnercenter_batch_job_status_info"
BATCHES = "partnercenter.autopilot.partnercenter_device_batch_info"


def start_upload(emulator, run_module, devices, batch_id="b1"):
    r = run_module("partnercenter.autopilot.partnercenter_device_batch", {
        "customer_id": CUSTOMER, "batch_id": batch_id, "devices": devices, "wait": False,
        "fail_on_device_errors": False}).result
    assert r["changed"] and r["job_status"] == "queued" and r["tracking_id"]
    return r


def test_wait_through_queued_and_processing(emulator, run_module):
    emulator.queue_seconds, emulator.process_seconds = 3.0, 2.0
    up = start_upload(emulator, run_module, [device(0), device(1)])
    r = run_module(STATUS, {"customer_id": CUSTOMER, "tracking_id": up["tracking_id"], "wait": True,
                            "poll_interval": 0.2}).result
    job = r["job"]
    assert r["changed"] is False and job["status"] == "finished" and job["succeeded"] == 2 and job["failed"] == 0
    assert job["started_time"] and job["completed_time"] and job["tracking_id"] == up["tracking_id"]
    polls = emulator.requests("GET", "/batchJobStatus/")
    finished_at = emulator.jobs[up["tracking_id"]]["created"] + emulator.queue_seconds + emulator.process_seconds
    assert polls[0]["time"] < finished_at <= polls[-1]["time"], "the module must have polled an unfinished job"
    assert len(polls) >= 2
    assert {d["device_id"] is not None for d in job["devices"]} == {True}
    assert len(emulator.writes()) == 1  # only the upload; the info module wrote nothing


def test_without_wait_reports_the_current_status(emulator, run_module):
    emulator.queue_seconds = 30
    up = start_upload(emulator, run_module, [device(0)])
    job = run_module(STATUS, {"customer_id": CUSTOMER, "tracking_id": up["tracking_id"]}).result["job"]
    assert job["status"] == "queued" and job["devices"][0]["outcome"] == "pending"


def test_finished_with_errors_has_explanations(emulator, run_module):
    emulator.foreign_keys.add(("serial", "SN-00001"))
    emulator.seed_batch(CUSTOMER, "old", [api_device(device(2))])
    up = start_upload(emulator, run_module, [device(0), device(1), {"hardware_hash": device(2)["hardware_hash"]}])
    job = run_module(STATUS, {"customer_id": CUSTOMER, "location": up["location"], "wait": True,
                              "poll_interval": 0.1}).result["job"]
    assert job["status"] == "finished_with_errors"
    assert (job["succeeded"], job["failed"], job["already_present"]) == (1, 1, 1)
    failed = [d for d in job["devices"] if d["outcome"] == "failed"][0]
    assert failed["serial_number"] == "SN-00001" and failed["error_code"] == "808"
    assert "another tenant" in failed["explanation"]


@pytest.mark.parametrize("absolute", [False, True])
def test_location_absolute_and_relative(emulator, run_module, absolute):
    up = start_upload(emulator, run_module, [device(0)])
    location = ("https://api.partnercenter.microsoft.com/v1" + up["location"]) if absolute else up["location"]
    job = run_module(STATUS, {"customer_id": CUSTOMER, "location": location}).result["job"]
    assert job["tracking_id"] == up["tracking_id"]


@pytest.mark.parametrize("params,needle", [
    ({"tracking_id": "5e3c7b5a-0000-4000-8000-000000000000"}, "tracking id 5e3c7b5a-0000-4000-8000-000000000000 "
                                                              "was not found for customer"),
    ({"location": "/somewhere/else"}, "does not look like"),
    ({"location": "/customers/7c9e6679-7425-40de-944b-e07fc1f90ae7/batchJobStatus/x"}, "location names customer"),
    ({}, "one of the following is required: tracking_id, location"),
])
def test_unknown_or_bad_ids(emulator, run_module, params, needle):
    r = run_module(STATUS, dict(customer_id=CUSTOMER, **params)).result
    assert r["failed"] and needle in r["msg"]


def test_job_wait_timeout_names_tracking_id(emulator, run_module):
    emulator.jobs_never_finish = True
    up = start_upload(emulator, run_module, [device(0)])
    r = run_module(STATUS, {"customer_id": CUSTOMER, "tracking_id": up["tracking_id"], "wait": True,
                            "wait_timeout": 1, "poll_interval": 0.2}).result
    assert r["failed"] and up["tracking_id"] in r["msg"] and r["job"]["status"] == "queued"


def test_batches_listing_and_devices_over_pages(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "big", [dict(api_device(device(i, with_hash=False))) for i in range(260)])
    emulator.seed_batch(CUSTOMER, "small", [{"ProductKey": "PK-1"}])
    listing = run_module(BATCHES, {"customer_id": CUSTOMER}).result
    assert listing["changed"] is False
    assert [(b["id"], b["devices_count"], b["status"]) for b in listing["batches"]] == [
        ("big", 260, "finished"), ("small", 1, "finished")]
    assert "devices" not in listing["batches"][0]
    one = run_module(BATCHES, {"customer_id": CUSTOMER, "batch_id": "big"}).result
    devices = one["batches"][0]["devices"]
    assert len(devices) == 260 and devices[0]["serial_number"] == "SN-00000"
    assert devices[0]["manufacturer"] == "Contoso" and devices[0]["model"] == "Laptop 7" and devices[0]["id"]
    assert "hardware_hash" not in devices[0]
    assert len(emulator.requests("GET", "/deviceBatches/big/devices$")) == 3
    assert emulator.writes() == []


def test_sdk_batch_shape_and_missing_batch(emulator, run_module):
    emulator.batch_shape = "sdk"
    emulator.seed_batch(CUSTOMER, "b", [{"ProductKey": "PK-1"}])
    r = run_module(BATCHES, {"customer_id": CUSTOMER, "include_devices": True}).result
    assert r["batches"][0]["id"] == "b" and r["batches"][0]["status"] is None
    assert r["batches"][0]["devices"][0]["product_key"] == "PK-1"
    missing = run_module(BATCHES, {"customer_id": CUSTOMER, "batch_id": "nope"}).result
    assert missing["batches"] == [] and not missing.get("failed")


def test_info_modules_in_check_mode(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "b", [{"ProductKey": "PK-1"}])
    r = run_module(BATCHES, {"customer_id": CUSTOMER, "batch_id": "b"}, check=True).result
    assert r["batches"][0]["devices_count"] == 1 and emulator.writes() == []


def test_jobs_of_many_customers_waited_for_in_one_task(emulator, run_module):
    emulator.queue_seconds, emulator.process_seconds = 2.0, 4.0  # longer than starting the next two playbooks
    first = start_upload(emulator, run_module, [device(0), device(1)], batch_id="b1")
    other = run_module("partnercenter.autopilot.partnercenter_device_batch", {
        "customer_id": CUSTOMER_B, "batch_id": "b2", "devices": [device(5)], "wait": False}).result
    jobs = first["jobs"] + other["jobs"]  # passed as the upload results give them
    assert [(j["customer_id"], j["batch_id"]) for j in jobs] == [(CUSTOMER, "b1"), (CUSTOMER_B, "b2")]
    r = run_module(STATUS, {"jobs": jobs, "wait": True, "poll_interval": 0.2}).result
    assert r["changed"] is False and "job" not in r
    assert [(j["customer_id"], j["batch_id"], j["status"], j["succeeded"]) for j in r["jobs"]] == [
        (CUSTOMER, "b1", "finished", 2), (CUSTOMER_B, "b2", "finished", 1)]
    assert r["jobs"][1]["devices"][0]["serial_number"] == "SN-00005"
    polls = emulator.requests("GET", "/batchJobStatus/")
    ends = [emulator.jobs[j["tracking_id"]]["created"] + 6.0 for j in jobs]
    assert polls[0]["time"] < ends[0] and ends[1] <= polls[-1]["time"] < ends[1] + 0.5  # waited, and not long after
    assert [p["path"].rsplit("/", 1)[1] for p in polls][-1] == other["tracking_id"]


def test_jobs_problems_named_before_any_request(emulator, run_module):
    jobs = [{"customer_id": CUSTOMER, "tracking_id": "t-1"}, {"customer_id": CUSTOMER},
            {"customer_id": "not-a-guid", "tracking_id": "t-3"},
            {"customer_id": CUSTOMER, "location": "/customers/%s/batchJobStatus/t-4" % CUSTOMER_B}]
    r = run_module(STATUS, {"jobs": jobs}).result
    assert r["failed"]
    for text in ("jobs[1]: needs tracking_id or location", "jobs[2]: customer_id must be",
                 "jobs[3]: location names customer %s" % CUSTOMER_B):
        assert text in r["msg"]
    assert emulator.log == []
