"""partnercenter_batch_job_status_info, partnercenter_device_batch_info and (with customers)
partnercenter_autopilot_profile_info against the emulator.

Uploads are started straight through the client: the modules under test only read, and an upload playbook
would add its own start-up time, which a loaded machine stretches without bound, to every job's timeline.
"""
import threading
import time

import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    PartnerCenterClient, StaticTokenProvider)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import validate_devices
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import PartnerCenterService
from ansible_collections.partnercenter.autopilot.plugins.module_utils.waiting import poll_delay
from tests.helpers import CUSTOMER, CUSTOMER_B, api_device, device

STATUS = "partnercenter.autopilot.partnercenter_batch_job_status_info"
BATCHES = "partnercenter.autopilot.partnercenter_device_batch_info"
PROFILES = "partnercenter.autopilot.partnercenter_autopilot_profile_info"
NORTHWIND = "2b8a7d41-51e3-4c0e-9d8f-7a6b5c4d3e2f"  # the emulator's third customer (DEFAULT_CUSTOMERS)
# A status answer's way back plus the next poll's way out, on a loaded machine: the log times arrivals, so a
# gap between two polls is the module's sleep plus these. Process start-up is never inside a gap.
ROUND_TRIPS = 0.5


@pytest.fixture
def client(emulator):
    token = "emu-at-info-modules-test"
    emulator.access_tokens[token] = {"expires": time.time() + 3600, "kind": "user"}
    return PartnerCenterClient(emulator.url, StaticTokenProvider(token), ca_path=emulator.ca_path)


def start_upload(emulator, client, devices, batch_id="b1", customer=CUSTOMER):
    """Create a batch with devices; the job as the upload module lists it in its `jobs` result."""
    [job] = list(PartnerCenterService(client).upload(customer, batch_id, validate_devices(devices), create=True))
    assert emulator.jobs[job["tracking_id"]]["status"] == "queued"
    return dict(customer_id=customer, batch_id=batch_id, tracking_id=job["tracking_id"], location=job["location"],
                status=None, devices=len(devices))


def run_with_clocks_from_first_poll(emulator, run_module, params, starts):
    """Run the status module; each job in starts stays queued until the module's first status poll, then
    runs its course from that moment plus starts[tracking id] seconds.

    However long ansible-playbook takes to start, the module meets unfinished jobs, and every window the test
    checks lies between the job times and the emulator's log, not around a process start.
    """
    emulator.jobs_never_finish = True
    outcome = {}

    def module_run():
        try:
            outcome["run"] = run_module(STATUS, params)
        except BaseException as err:  # pylint: disable=broad-except  # re-raised in the test's thread
            outcome["error"] = err

    thread = threading.Thread(target=module_run, name="status-module", daemon=True)
    thread.start()
    while thread.is_alive() and not emulator.requests("GET", "/batchJobStatus/"):
        time.sleep(0.01)
    with emulator.lock:
        now = time.time()
        for tracking_id, offset in starts.items():
            emulator.jobs[tracking_id]["created"] = now + offset
        emulator.jobs_never_finish = False
    thread.join(600)
    assert not thread.is_alive(), "the status module did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["run"].result


def module_requests(emulator):
    """What the module sent: its token requests, then its polls (the uploads came before, from the test)."""
    return [e for e in emulator.requests() if e["method"] == "GET" or "/oauth2/" in e["path"]]


def gaps(entries):
    return [b["time"] - a["time"] for a, b in zip(entries, entries[1:])]


def assert_waited_for(emulator, polls, tracking_id, poll_interval, since):
    """polls (one job's, in order) waited through the unfinished job and saw its end at the next poll.

    since: the first request the module sent while waiting for this job, from when it counts the time waited.
    """
    job = emulator.jobs[tracking_id]
    end = job["created"] + emulator.queue_seconds + emulator.process_seconds
    assert len(polls) >= 2 and polls[0]["time"] < end, "the module must have polled the unfinished job"
    # The one before the last poll still saw it unfinished. (The job may have been finished by any request -
    # another job's poll, when several are waited for at once - just before the last poll.)
    assert polls[-2]["time"] < end <= job["completed"]
    assert all(gap >= poll_interval for gap in gaps(polls)), gaps(polls)
    # So the end was seen at most one poll delay late: poll_interval, later a quarter of the time waited.
    delay = poll_delay(polls[-1]["time"] - since["time"], poll_interval)
    assert gaps(polls)[-1] <= delay + ROUND_TRIPS, (gaps(polls), delay)


def test_wait_through_queued_and_processing(emulator, run_module, client):
    emulator.queue_seconds, emulator.process_seconds = 1.0, 1.5
    up = start_upload(emulator, client, [device(0), device(1)])
    r = run_with_clocks_from_first_poll(emulator, run_module, {
        "customer_id": CUSTOMER, "tracking_id": up["tracking_id"], "wait": True, "poll_interval": 0.2},
        {up["tracking_id"]: 0.0})
    job = r["job"]
    assert r["changed"] is False and job["status"] == "finished" and job["succeeded"] == 2 and job["failed"] == 0
    assert job["started_time"] and job["completed_time"] and job["tracking_id"] == up["tracking_id"]
    polls = emulator.requests("GET", "/batchJobStatus/")
    assert_waited_for(emulator, polls, up["tracking_id"], 0.2, since=module_requests(emulator)[0])
    processing_from = emulator.jobs[up["tracking_id"]]["created"] + emulator.queue_seconds
    assert any(processing_from <= p["time"] < emulator.jobs[up["tracking_id"]]["completed"] for p in polls[:-1])
    registered = dict((d["serialNumber"], d["id"]) for d in emulator.batch_devices(CUSTOMER, "b1"))
    assert [(d["serial_number"], d["device_id"]) for d in job["devices"]] == sorted(registered.items())
    assert len(emulator.writes()) == 1  # only the upload; the info module wrote nothing


def test_without_wait_reports_the_current_status(emulator, run_module, client):
    emulator.jobs_never_finish = True  # still queued when the module reads it, however late it starts
    up = start_upload(emulator, client, [device(0)])
    job = run_module(STATUS, {"customer_id": CUSTOMER, "tracking_id": up["tracking_id"]}).result["job"]
    assert job["status"] == "queued" and job["devices"][0]["outcome"] == "pending"


def test_finished_with_errors_has_explanations(emulator, run_module, client):
    emulator.foreign_keys.add(("serial", "SN-00001"))
    emulator.seed_batch(CUSTOMER, "old", [api_device(device(2))])
    up = start_upload(emulator, client, [device(0), device(1), {"hardware_hash": device(2)["hardware_hash"]}])
    job = run_module(STATUS, {"customer_id": CUSTOMER, "location": up["location"], "wait": True,
                              "poll_interval": 0.1}).result["job"]
    assert job["status"] == "finished_with_errors"
    assert (job["succeeded"], job["failed"], job["already_present"]) == (1, 1, 1)
    failed = [d for d in job["devices"] if d["outcome"] == "failed"][0]
    assert failed["serial_number"] == "SN-00001" and failed["error_code"] == "808"
    assert "another tenant" in failed["explanation"]


@pytest.mark.parametrize("absolute", [False, True])
def test_location_absolute_and_relative(emulator, run_module, client, absolute):
    up = start_upload(emulator, client, [device(0)])
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


def test_job_wait_timeout_names_tracking_id(emulator, run_module, client):
    emulator.jobs_never_finish = True
    up = start_upload(emulator, client, [device(0)])
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


def test_jobs_of_many_customers_waited_for_in_one_task(emulator, run_module, client):
    emulator.queue_seconds, emulator.process_seconds = 0.5, 1.0
    jobs = [start_upload(emulator, client, [device(0), device(1)], batch_id="b1"),
            start_upload(emulator, client, [device(5)], batch_id="b2", customer=CUSTOMER_B)]
    first, other = (j["tracking_id"] for j in jobs)
    # The second job ends 1.5 s after the first: once the first is seen finished, the second is still running,
    # so the module has to wait for it too, not just read it.
    r = run_with_clocks_from_first_poll(emulator, run_module, {"jobs": jobs, "wait": True, "poll_interval": 0.2},
                                        {first: 0.0, other: 1.5})
    assert r["changed"] is False and "job" not in r
    assert [(j["customer_id"], j["batch_id"], j["status"], j["succeeded"]) for j in r["jobs"]] == [
        (CUSTOMER, "b1", "finished", 2), (CUSTOMER_B, "b2", "finished", 1)]
    assert [j["tracking_id"] for j in r["jobs"]] == [first, other]
    assert r["jobs"][1]["devices"][0]["serial_number"] == "SN-00005"
    polls = emulator.requests("GET", "/batchJobStatus/")
    first_polls = [p for p in polls if p["path"].endswith(first)]
    other_polls = [p for p in polls if p["path"].endswith(other)]
    # Waited for side by side (concurrency 8): the second job was polled while the first was still waited for.
    assert other_polls[0]["time"] < first_polls[-1]["time"]
    assert_waited_for(emulator, first_polls, first, 0.2, since=module_requests(emulator)[0])
    assert_waited_for(emulator, other_polls, other, 0.2, since=other_polls[0])


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


def test_batches_of_many_customers_in_one_task_every_page_side_by_side(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "big", [dict(api_device(device(i, with_hash=False))) for i in range(260)])
    emulator.seed_batch(CUSTOMER, "small", [{"ProductKey": "PK-1"}])
    emulator.seed_batch(CUSTOMER_B, "kiosks", [{"ProductKey": "PK-2"}, {"ProductKey": "PK-3"}])
    emulator.latency = 0.3  # every read takes 0.3 s: reads side by side overlap in the log
    customers = [CUSTOMER_B, NORTHWIND, CUSTOMER, CUSTOMER_B.upper()]  # listed twice: read once, returned twice
    r = run_module(BATCHES, {"customers": customers, "include_devices": True, "concurrency": 3}).result
    assert r["changed"] is False and not r.get("failed") and "batches" not in r and r["throttled_seconds"] == 0
    # One entry per customer given, in the order given, each with its batches as the single form lists them.
    assert [e["customer_id"] for e in r["customers"]] == customers
    assert [[(b["id"], b["devices_count"], len(b["devices"])) for b in e["batches"]] for e in r["customers"]] == [
        [("kiosks", 2, 2)], [], [("big", 260, 260), ("small", 1, 1)], [("kiosks", 2, 2)]]
    big = r["customers"][2]["batches"][0]["devices"]
    assert [d["serial_number"] for d in big] == ["SN-%05d" % i for i in range(260)]  # every page, in order
    assert "hardware_hash" not in big[0]
    assert len(emulator.requests("GET", "/deviceBatches/big/devices$")) == 3
    # Each customer's batch list read once (the one listed twice too), with one token, and nothing written.
    listed = [e["path"].split("/")[3].lower() for e in emulator.requests("GET", "/deviceBatches$")]
    assert sorted(listed) == sorted([CUSTOMER, CUSTOMER_B, NORTHWIND])
    assert len(emulator.token_requests()) == 1 and emulator.writes() == []
    # The three customers' batch lists were read at once (concurrency 3), not one after another.
    lists = emulator.requests("GET", "/deviceBatches$")
    assert max(e["time"] for e in lists) < min(e["answered"] for e in lists), lists


def test_profiles_of_many_customers_a_customer_that_cannot_be_read_fails_the_task_naming_it(emulator, run_module):
    standard = emulator.seed_policy(CUSTOMER, "Standard", ["skip_eula"])
    emulator.seed_policy(CUSTOMER, "Kiosk", ["skip_eula"])
    northwind = emulator.seed_policy(NORTHWIND, "Standard", [])
    r = run_module(PROFILES, {"customers": [NORTHWIND, CUSTOMER, CUSTOMER_B], "name": "Standard"}).result
    assert not r.get("failed") and "profiles" not in r
    assert [(e["customer_id"], [p["id"] for p in e["profiles"]]) for e in r["customers"]] == [
        (NORTHWIND, [northwind]), (CUSTOMER, [standard]), (CUSTOMER_B, [])]

    emulator.add_fault("status", method="GET", path="/customers/%s/policies" % CUSTOMER_B, times=None, status=404)
    r = run_module(PROFILES, {"customers": [CUSTOMER, CUSTOMER_B, NORTHWIND]}).result
    assert r["failed"] and r["msg"].startswith("1 of 3 customers could not be read: %s: " % CUSTOMER_B), r["msg"]
    ok, failed, other = r["customers"]
    assert [p["name"] for p in ok["profiles"]] == ["Standard", "Kiosk"]
    assert failed["customer_id"] == CUSTOMER_B and failed["failed"] and failed["status"] == 404
    assert "profiles" not in failed and CUSTOMER_B in failed["msg"]
    assert (other["customer_id"], len(other["profiles"])) == (NORTHWIND, 1)  # read despite the failure before it
    assert emulator.writes() == []


@pytest.mark.parametrize("module,params,needle", [
    (BATCHES, {"customers": [CUSTOMER, "not-a-guid", " "]},
     "customers[1] must be a customer's tenant id (a GUID), got 'not-a-guid'; customers[2] must be"),
    (BATCHES, {"customers": [CUSTOMER], "customer_id": CUSTOMER}, "mutually exclusive: customer_id|customer|customers"),
    (PROFILES, {"customers": [CUSTOMER], "concurrency": 65}, "concurrency must be between 1 and 64, got 65"),
    (PROFILES, {}, "one of the following is required: customer_id, customer, customers"),
])
def test_customers_problems_named_before_any_request(emulator, run_module, module, params, needle):
    r = run_module(module, params).result
    assert r["failed"] and needle in r["msg"], r["msg"]
    assert emulator.requests(path="/v1/") == []


def test_customers_a_token_that_cannot_be_had_fails_the_task_once_reading_nothing(emulator, run_module):
    emulator.expire_refresh_token(emulator._initial_refresh_token)
    r = run_module(BATCHES, {"customers": [CUSTOMER, CUSTOMER_B, NORTHWIND] * 4, "concurrency": 3}).result
    # The task's error, not twelve customers' (no worker reads after the first refusal).
    assert r["failed"] and r["msg"].startswith("Entra ID refused the refresh token") and "customers" not in r
    assert len(emulator.token_requests()) == 1 and emulator.requests(path="/v1/") == []


def test_info_modules_name_their_customer_by_domain_or_company_name(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "by-name", [api_device(device(0))])
    emulator.seed_policy(CUSTOMER, "Kiosk", [])
    batches = run_module(BATCHES, {"customer": "CONTOSO.onmicrosoft.com"}).result
    assert [b["id"] for b in batches["batches"]] == ["by-name"]
    profiles = run_module(PROFILES, {"customer": "contoso"}).result
    assert [p["name"] for p in profiles["profiles"]] == ["Kiosk"]
    assert len([e for e in emulator.requests("GET") if e["path"] == "/v1/customers"]) == 2  # one per task
    unknown = run_module(BATCHES, {"customer": "nowhere.example"}).result
    assert unknown["failed"] and "'nowhere.example' is not a customer of this partner" in unknown["msg"]
    assert emulator.writes() == []
