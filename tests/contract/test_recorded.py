"""Contract, direction 1 (recorded): the answers Partner-Center-PowerShell recorded, replayed through the real
client, service layer and views, read field by field as the collection must read them (issue 24, Build 1 and 3).

The records are in recorded.py, each naming its file and commit. They are bodies only (no status line, no
headers), so each is replayed as the 200 answer of its GET. The shapes issue 24 asks for that no record holds
(links.next forms, PascalCase statuses, 806/808 without descriptions, the 429 body, deviceCount) are replayed
from recorded.py's last section, which names their sources.
"""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils import profiles, service as service_mod
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import Device
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import (
    batch_view, device_outcome, device_view, interpret_job)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import profile_view
from tests.contract import recorded as rec

C = rec.CUSTOMER
V1 = "/v1/customers/%s" % C
BATCHES_PATH = rec.DEVICE_BATCHES["path"]
DEVICES_PATH = rec.BATCH_DEVICES["path"]
JOB_PATH = V1 + "/batchJobStatus/" + rec.TRACKING_ID


class SteppingTime(object):
    """The wait tests' own clock: a sleep moves it on at once, so a reader that keeps polling runs into its
    timeout in a few iterations instead of spinning on the real clock."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(1.0, seconds)


def stepping(service):
    clock = SteppingTime()
    service.clock = service_mod.Clock(now=clock, sleep=clock.sleep)
    return clock


def replay(wire, record, repeat=False):
    """A record's body as the answer to its request (status not recorded: a GET's published 200)."""
    wire.reply(record["method"], record["path"], status=record["status"] or 200, body=record["body"],
               headers=record["headers"], repeat=repeat)


DEFAULT_ROAMING = {
    "id": "d57870f4-8465-48d5-8e57-a1e6d47894d0",
    "name": "DefaultRoaming",
    "description": "Roaming",
    "category": "o_o_b_e",
    "settings": ["skip_express_settings", "skip_eula"],
    "devices_assigned": 1,
    "created_date": "2018-07-24T15:03:28.5483557-07:00",
    "last_modified_date": "2018-07-24T15:03:28.5483557-07:00",
}
RECORDED_DEVICE_VIEW = {
    "id": "9a2b05d1-2f89-4688-9768-c104e76626a8", "serial_number": "R9-ZNP74",
    "product_key": "00329-00000-0003-AA613", "model": "Surface 7", "manufacturer": "Microsoft",
    "uploaded_date": "2018-07-24T15:03:40.3184992-07:00",
    "policies": [{"key": "o_o_b_e", "value": "DefaultRoaming"}],
}


def test_every_record_names_its_file_and_commit():
    for record in rec.RECORDS:
        assert record["repository"] == "microsoft/Partner-Center-PowerShell"
        assert record["commit"] == "35df4df4fd4ded893daa2cdbf01a9d35daf879da"
        assert record["record"].startswith("test/PowerShell.Tests/SessionRecords/") and \
            record["record"].endswith(".json")
        assert record["path"].startswith(V1 + "/")


# ----- GetCustomerDeviceBatch.json ---------------------------------------------------------------------------
def test_recorded_batch_listing_is_read_without_status_or_created_by(service, wire):
    replay(wire, rec.DEVICE_BATCHES, repeat=True)
    assert service.list_batches(C) == [rec.RECORDED_BATCH]
    assert service.describe_batches(C) == [
        # no status, no createdBy; creationDate .NET's DateTime.MinValue, returned as the service sent it
        {"id": "Testing1", "status": None, "creation_date": "0001-01-01T00:00:00", "devices_count": 1},
    ]
    assert batch_view(rec.RECORDED_BATCH) == service.describe_batches(C)[0]
    assert [(s.method, s.path, s.query) for s in wire.sent] == [("GET", BATCHES_PATH, "")] * 3


def test_recorded_batch_is_described_with_its_devices_at_its_devices_link(service, wire):
    replay(wire, rec.DEVICE_BATCHES)
    replay(wire, rec.BATCH_DEVICES)
    [view] = service.describe_batches(C, include_devices=True)
    assert view == {"id": "Testing1", "status": None, "creation_date": "0001-01-01T00:00:00", "devices_count": 1,
                    "devices": [RECORDED_DEVICE_VIEW]}
    # The devices are read where the batch's devicesLink points (relative, without /v1: under the /v1 root).
    assert [s.path for s in wire.sent] == [BATCHES_PATH, "/v1" + rec.RECORDED_BATCH["devicesLink"]["uri"]]


@pytest.mark.parametrize("declared", ["Testing1", "testing1", "TESTING1"])
def test_a_batch_id_in_another_case_finds_the_recorded_batch_and_keeps_its_spelling(service, wire, declared):
    """api.md "Recorded answers": batch ids in paths are case-insensitive (the cmdlet finds a batch ignoring
    case); results keep the spelling the service holds (issue 24, Build 1)."""
    replay(wire, rec.DEVICE_BATCHES)
    replay(wire, rec.BATCH_DEVICES)
    [view] = service.describe_batches(C, declared, include_devices=True)
    assert view["id"] == "Testing1" and view["devices"] == [RECORDED_DEVICE_VIEW]
    assert wire.sent[-1].path == DEVICES_PATH  # the service's spelling, not the declared one


def test_a_recorded_batch_without_status_is_settled_at_once(service, wire):
    """The listing carries no status: nothing says the batch is still processing, so the settle guard does not
    wait on it (one read; the engine's second guard covers a job still running)."""
    replay(wire, rec.DEVICE_BATCHES, repeat=True)
    clock = stepping(service)
    batches = service.settled_batches(C, ["testing1"], deadline=clock() + 60, poll_interval=0)
    assert batches == {"Testing1": {"id": "Testing1", "status": None, "creation_date": "0001-01-01T00:00:00",
                                    "devices_count": 1}}
    assert len(wire.sent) == 1


def test_the_count_is_read_under_the_resources_table_spelling_device_count(service, wire):
    """Issue 24: the resources table spells the count deviceCount; read beside devicesCount. Not recorded: the
    recorded batch with its count renamed."""
    renamed = dict((k, v) for k, v in rec.RECORDED_BATCH.items() if k != "devicesCount")
    renamed["deviceCount"] = 1
    assert batch_view(renamed)["devices_count"] == 1
    wire.reply("GET", BATCHES_PATH, body=dict(rec.DEVICE_BATCHES["body"], items=[renamed]))
    assert service.describe_batches(C)[0]["devices_count"] == 1


# ----- GetCustomerDevice.json --------------------------------------------------------------------------------
def test_recorded_device_listing_ends_at_an_empty_links_object(service, wire):
    replay(wire, rec.BATCH_DEVICES)
    assert service.list_devices(C, "Testing1") == [rec.RECORDED_DEVICE]
    [sent] = wire.sent
    assert (sent.path, sent.query, sent.headers.get("MS-ContinuationToken")) == (DEVICES_PATH, "", None)


def test_recorded_device_is_read_field_by_field_with_the_raw_policy_value(service, wire):
    replay(wire, rec.BATCH_DEVICES)
    [item] = service.list_devices(C, "Testing1")
    device = Device.from_api(item, "Testing1")
    assert (device.device_id, device.serial_number, device.product_key, device.manufacturer, device.model,
            device.hardware_hash, device.batch_id) == (
        "9a2b05d1-2f89-4688-9768-c104e76626a8", "R9-ZNP74", "00329-00000-0003-AA613", "Microsoft", "Surface 7",
        None, "Testing1")
    assert device.policy_id == "DefaultRoaming"  # the raw value: the profile's name, as listed
    assert device_view(item) == RECORDED_DEVICE_VIEW
    # Matched against declarations by serial + make + model, or by product key (no hash is listed).
    assert Device(serial_number="r9-znp74", manufacturer="MICROSOFT", model="surface 7").matches(device)
    assert Device(product_key="00329-00000-0003-aa613").matches(device)
    assert not Device(serial_number="R9-ZNP74", manufacturer="Microsoft", model="Surface 8").matches(device)


@pytest.mark.parametrize("value", [
    "DefaultRoaming",                                  # as recorded: the profile's name
    "defaultroaming", "DEFAULTROAMING",                # names compared case-insensitively
    "d57870f4-8465-48d5-8e57-a1e6d47894d0",            # the profile's id, as the assignment sends it
    "D57870F4-8465-48D5-8E57-A1E6D47894D0",
])
def test_a_device_listed_with_the_profile_name_or_id_carries_that_profile(value):
    """api.md "Recorded answers": a device carries a profile when its policy value equals the profile's id or
    its name, case-insensitively (issue 24, Build 1: profiles.carries)."""
    profile = profile_view(rec.POLICY_BY_ID["body"])
    assert profiles.carries(profile, value) is True


def test_the_recorded_device_carries_the_recorded_profile_and_no_other(service, wire):
    replay(wire, rec.BATCH_DEVICES)
    replay(wire, rec.POLICIES)
    device = Device.from_api(service.list_devices(C, "Testing1")[0], "Testing1")
    default_roaming = profile_view(rec.POLICY_BY_ID["body"])
    assert profiles.carries(default_roaming, device.policy_id) is True
    others = service.list_profiles(C)
    assert [profiles.carries(p, device.policy_id) for p in others] == [False, False, False]
    assert profiles.carries(default_roaming, None) is False  # "value": null carries nothing


def test_a_profile_declared_by_name_or_id_resolves_to_the_one_the_recorded_device_carries(service, wire):
    """The idempotency chain of a re-run: the declared profile resolves to DefaultRoaming, and the listed device
    (value "DefaultRoaming") already carries it, so nothing is to be assigned."""
    known = [profile_view(item) for item in rec.POLICIES["body"]["items"]] + [profile_view(rec.POLICY_BY_ID["body"])]
    device = Device.from_api(rec.RECORDED_DEVICE, "Testing1")
    for reference in ("DefaultRoaming", "d57870f4-8465-48d5-8e57-a1e6d47894d0"):
        profile = profiles.resolve(known, C, reference)
        assert profile == DEFAULT_ROAMING
        assert profiles.carries(profile, device.policy_id) is True


# ----- GetCustomerConfigurationPolicies.json / GetCustomerConfigurationPolicyById.json -----------------------
def test_recorded_policy_list_is_read_field_by_field(service, wire):
    replay(wire, rec.POLICIES)
    assert service.list_profiles(C) == [
        {"id": "8c7d25aa-2dbb-409c-a1f0-f55bd9108fa9", "name": "Windows 10 Enterprise E3",
         "description": "P462017 description", "category": "o_o_b_e",
         "settings": ["oobe_user_not_local_admin", "skip_express_settings"], "devices_assigned": 0,
         "created_date": "2017-04-27T11:30:34.1944704-07:00",
         "last_modified_date": "2017-04-27T11:30:34.1944704-07:00"},
        {"id": "56edf752-ee77-4fd8-b7f5-df1f74a3a9ac", "name": "Test policy",
         "description": "Test policy creation from API 1", "category": "o_o_b_e",
         "settings": ["skip_express_settings"], "devices_assigned": 0,
         "created_date": "2017-07-25T11:03:03.8457088-07:00",
         "last_modified_date": "2017-07-25T11:04:00.8150016-07:00"},
        {"id": "a96b5fd9-0f3a-419a-b55c-a8aecd6b1f00", "name": "Windows 10 Enterprise E5",
         "description": "test policy creation from API", "category": "o_o_b_e",
         "settings": ["oobe_user_not_local_admin", "skip_express_settings"], "devices_assigned": 0,
         "created_date": "2017-07-25T11:07:36.1501184-07:00",
         "last_modified_date": "2017-07-25T11:07:36.1501184-07:00"},
    ]
    [sent] = wire.sent
    assert (sent.path, sent.query) == (V1 + "/policies", "")


def test_recorded_policy_by_id_is_read_with_its_count_spelled_devices_assigned_count():
    """The list record spells the count devicesAssigned, the by-id record devicesAssignedCount: both read."""
    assert profile_view(rec.POLICY_BY_ID["body"]) == DEFAULT_ROAMING


@pytest.mark.parametrize("method, path", rec.POLICY_WRITE_ANSWERS, ids=["create-POST", "update-PUT"])
def test_recorded_policy_answers_a_create_and_an_update(service, wire, method, path):
    """CustomerTests.cs answers New- and Set-PartnerCustomerConfigurationPolicy with the by-id record."""
    wire.reply(method, path, status=200, body=rec.POLICY_BY_ID["body"])
    body = profiles.create_body("DefaultRoaming", "Roaming", ["skip_express_settings", "skip_eula"])
    if method == "POST":
        view = service.create_profile(C, body)
    else:
        view = service.update_profile(C, DEFAULT_ROAMING["id"], profiles.update_body(DEFAULT_ROAMING))
    assert view == DEFAULT_ROAMING
    assert [(s.method, s.path) for s in wire.sent] == [(method, path)]


def test_assigning_the_recorded_profile_sends_its_id_though_the_listing_shows_its_name(service, wire):
    """No DevicePolicyUpdates answer is recorded: the answer is the published form (202, relative Location)."""
    location = "/customers/%s/batchJobStatus/%s" % (C, rec.TRACKING_ID)
    wire.reply("PATCH", V1 + "/DevicePolicyUpdates", status=202, headers={"Location": location})
    job = service.assign_profiles(C, [(rec.RECORDED_DEVICE["id"], DEFAULT_ROAMING["id"])])
    assert job == {"location": location, "tracking_id": rec.TRACKING_ID}
    [sent] = wire.sent
    [entry] = [dict((k.lower(), v) for k, v in d.items()) for d in
               dict((k.lower(), v) for k, v in sent.json.items())["devices"]]
    assert entry["id"] == "9a2b05d1-2f89-4688-9768-c104e76626a8"
    [pair] = [dict((k.lower(), v) for k, v in p.items()) for p in entry["policies"]]
    assert pair == {"key": "o_o_b_e", "value": "d57870f4-8465-48d5-8e57-a1e6d47894d0"}


# ----- batchJobStatus: not recorded (recorded.py names the sources) ------------------------------------------
@pytest.mark.parametrize("raw, normalised", rec.PASCAL_CASE_STATUSES + tuple(
    (status, status) for _raw, status in rec.PASCAL_CASE_STATUSES))
def test_job_statuses_are_compared_case_insensitively(service, wire, raw, normalised):
    wire.reply("GET", JOB_PATH, body=rec.job_status(raw, []))
    info = interpret_job(service.job_status(C, rec.TRACKING_ID))
    assert info["status"] == normalised
    assert info["tracking_id"] == rec.TRACKING_ID


@pytest.mark.parametrize("raw, normalised", [("FinishedWithErrors", "finished_with_errors"),
                                             ("finished_with_errors", "finished_with_errors"),
                                             ("Finished", "finished")])
def test_device_statuses_are_compared_case_insensitively(raw, normalised):
    assert device_outcome(rec.device_result(raw, None))["status"] == normalised


def test_a_finished_job_status_in_pascal_case_ends_the_wait(service, wire):
    stepping(service)
    wire.reply("GET", JOB_PATH, body=rec.job_status("Processing", []))
    wire.reply("GET", JOB_PATH, body=rec.job_status("FinishedWithErrors", []), repeat=True)
    body = service.wait_for_job(C, rec.TRACKING_ID, timeout=600, poll_interval=0)
    assert body["status"] == "FinishedWithErrors" and len(wire.sent) == 2


def test_an_unknown_job_status_is_reported_not_polled_until_the_timeout(service, wire):
    stepping(service)
    wire.reply("GET", JOB_PATH, body=rec.job_status("Unknown", []), repeat=True)
    with pytest.raises(PartnerCenterError) as caught:
        service.wait_for_job(C, rec.TRACKING_ID, timeout=600, poll_interval=0)
    assert not isinstance(caught.value, service_mod.JobTimeoutError)
    assert "Unknown" in str(caught.value) and rec.TRACKING_ID in str(caught.value)
    assert len(wire.sent) == 1


@pytest.mark.parametrize("raw", ["Paused", "cancelled"])
def test_an_unrecognised_job_status_is_reported_with_its_raw_value_and_tracking_id(service, wire, raw):
    """Issue 24, Build 1: a status the collection does not know is reported (raw value and tracking id), not
    polled until wait_timeout. The values are made up: none is recorded or published."""
    stepping(service)
    wire.reply("GET", JOB_PATH, body=rec.job_status(raw, []), repeat=True)
    with pytest.raises(PartnerCenterError) as caught:
        service.wait_for_job(C, rec.TRACKING_ID, timeout=600, poll_interval=0)
    assert not isinstance(caught.value, service_mod.JobTimeoutError)
    assert raw in str(caught.value) and rec.TRACKING_ID in str(caught.value)
    assert len(wire.sent) == 1


DESCRIPTION_MISSING = [{}, {"errorDescription": None}, {"errorDescription": ""}]


@pytest.mark.parametrize("extra", DESCRIPTION_MISSING, ids=["absent", "null", "empty"])
@pytest.mark.parametrize("status", ["Finished", "finished", "FinishedWithErrors", "finished_with_errors"])
def test_806_without_a_description_is_already_present(service, wire, extra, status):
    wire.reply("GET", JOB_PATH, body=rec.job_status("Finished", [rec.device_result(status, "806", **extra)]))
    info = interpret_job(service.job_status(C, rec.TRACKING_ID))
    [device] = info["devices"]
    assert (device["outcome"], device["error_code"], device["serial_number"], device["product_key"]) == (
        "already_present", "806", "R9-ZNP74", "00329-00000-0003-AA613"), "806 not read before the description"
    assert (info["already_present"], info["failed"], info["succeeded"]) == (1, 0, 0)


@pytest.mark.parametrize("extra", DESCRIPTION_MISSING, ids=["absent", "null", "empty"])
def test_808_without_a_description_still_says_another_tenant_holds_the_device(service, wire, extra):
    wire.reply("GET", JOB_PATH, body=rec.job_status("FinishedWithErrors",
                                                    [rec.device_result("FinishedWithErrors", "808", **extra)]))
    info = interpret_job(service.job_status(C, rec.TRACKING_ID))
    [device] = info["devices"]
    assert (device["outcome"], device["error_code"], device["status"]) == ("failed", "808", "finished_with_errors")
    assert "another tenant" in device["explanation"]
    assert (info["already_present"], info["failed"]) == (0, 1)


# ----- links.next: not recorded (recorded.py names the sources) ----------------------------------------------
def test_a_seek_next_link_is_followed_with_its_query_and_its_headers(service, wire):
    wire.reply("GET", DEVICES_PATH, body=rec.DEVICES_PAGE_WITH_SEEK_NEXT)
    wire.reply("GET", DEVICES_PATH, body=rec.DEVICES_LAST_PAGE)
    assert service.list_devices(C, "Testing1") == [rec.RECORDED_DEVICE, rec.SECOND_DEVICE]
    first, second = wire.sent
    assert (first.path, first.query, first.headers.get("MS-ContinuationToken")) == (DEVICES_PATH, "", None)
    assert (second.path, second.query, second.headers.get("MS-ContinuationToken")) == (
        DEVICES_PATH, "seekOperation=Next", rec.SEEK_TOKEN)


def test_an_offset_next_link_without_a_continuation_header_is_followed_too(service, wire):
    wire.reply("GET", DEVICES_PATH, body=rec.DEVICES_PAGE_WITH_OFFSET_NEXT)
    wire.reply("GET", DEVICES_PATH, body=rec.DEVICES_LAST_PAGE)
    assert service.list_devices(C, "Testing1") == [rec.RECORDED_DEVICE, rec.SECOND_DEVICE]
    first, second = wire.sent
    assert (second.path, second.query) == (DEVICES_PATH, "size=1&offset=1")
    assert [s.headers.get("MS-ContinuationToken") for s in wire.sent] == [None, None]


# ----- errors: not recorded (recorded.py names the source) ---------------------------------------------------
def test_a_429_body_with_status_code_and_message_keeps_its_message(client, service, wire):
    client.policy.max_attempts = 1  # the answer as the last attempt gets it, without waiting Retry-After
    wire.reply("GET", BATCHES_PATH, status=429, body=rec.THROTTLED_BODY, headers=rec.THROTTLED_HEADERS)
    with pytest.raises(PartnerCenterError) as caught:
        service.list_batches(C)
    assert caught.value.status == 429
    assert "Rate limit is exceeded. Try again in 57 seconds." in str(caught.value)
    assert len(wire.sent) == 1


def test_a_429_that_outlasts_the_retry_budget_keeps_its_message(client, service, wire):
    """The same answer every time: Retry-After is honoured until the budget is spent, then the error names the
    message. On the test's own stepping clock: a real clock would make each Retry-After spin for 57 s."""
    clock = SteppingTime()
    client.throttle.clock, client.throttle.sleep, client.policy.clock = clock, clock.sleep, clock
    wire.reply("GET", BATCHES_PATH, status=429, body=rec.THROTTLED_BODY, headers=rec.THROTTLED_HEADERS,
               repeat=True)
    with pytest.raises(PartnerCenterError) as caught:
        service.list_batches(C)
    assert caught.value.status == 429
    assert "Rate limit is exceeded. Try again in 57 seconds." in str(caught.value)
    assert 1 < len(wire.sent) <= client.policy.max_attempts
    assert {s.headers["MS-RequestId"] for s in wire.sent} == {wire.sent[0].headers["MS-RequestId"]}
