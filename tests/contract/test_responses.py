"""Contract, direction 1: every published response example, replayed through the real client, service layer
and views, parses to the expected result field by field.

The examples are in published.py, each with the document section it comes from.
"""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    OutcomeUnknownError, PartnerCenterError)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import Device
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import (
    EXPLANATIONS, batch_view, interpret_job, oobe_policy_id, parse_location)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import profile_view
from tests.contract import published as pub

C = pub.CUSTOMER
V1 = "/v1/customers/%s" % C


# ----- List batches (api.md "List batches") ------------------------------------------------------------------
def test_published_batch_listing_is_read_field_by_field(service, wire):
    wire.reply("GET", V1 + "/deviceBatches", body=pub.BATCH_LIST, repeat=True)
    assert service.list_batches(C) == [pub.PUBLISHED_BATCH]
    [view] = service.describe_batches(C)
    assert view == {"id": "Test batch", "status": "finished", "creation_date": "2017-07-25T01:51:00",
                    "devices_count": 5}


def test_sdk_batch_shape_is_read_with_status_and_created_by_optional(service, wire):
    wire.reply("GET", V1 + "/deviceBatches", body=dict(pub.BATCH_LIST, totalCount=2,
                                                       items=[pub.PUBLISHED_BATCH, pub.SDK_BATCH]))
    views = service.describe_batches(C)
    assert views == [
        {"id": "Test batch", "status": "finished", "creation_date": "2017-07-25T01:51:00", "devices_count": 5},
        {"id": "contoso-2026-11", "status": None, "creation_date": "2017-07-25T01:51:00", "devices_count": 2},
    ]
    # A batch carrying neither status nor count still has a view (every field but id optional).
    assert batch_view({"id": "bare"}) == {"id": "bare", "status": None, "creation_date": None,
                                          "devices_count": None}


def test_one_batch_is_described_with_its_devices_under_the_url_encoded_name(service, wire):
    """api.md "Create a batch": spaces occur in batch names; URL-encode them in paths."""
    wire.reply("GET", V1 + "/deviceBatches", body=dict(pub.BATCH_LIST, items=[pub.PUBLISHED_BATCH, pub.SDK_BATCH]))
    wire.reply("GET", V1 + "/deviceBatches/Test%20batch/devices",
               body={"totalCount": 2, "items": [pub.LISTED_DEVICE, pub.LISTED_DEVICE_WITH_PROFILE],
                     "attributes": {"objectType": "Collection"}})
    [view] = service.describe_batches(C, "Test batch", include_devices=True)
    assert view["id"] == "Test batch" and view["devices_count"] == 5  # the listing's count is kept
    assert view["devices"] == [
        {"id": "7c141ea9-2816-4e15-a819-53f6856499ff", "serial_number": "1R9-ZNP67",
         "product_key": "00329-00000-0003-AA606", "model": "Precision WorkStation T7500",
         "manufacturer": "Dell Inc.", "uploaded_date": "2017-08-09T14:43:26.0092288-07:00",
         "policies": [{"key": "o_o_b_e", "value": None}]},
        {"id": "e528a62f-5031-49f4-bea7-5fafe47388fd", "serial_number": "1234567890",
         "product_key": "12345-67890-09876-54321-13579", "model": "HP Z420 Workstation",
         "manufacturer": "Hewlett-Packard", "uploaded_date": "2017-08-09T14:35:51.3126144-07:00",
         "policies": [{"key": "o_o_b_e", "value": pub.ASSIGNED_POLICY_ID}]},
    ]
    assert [s.path for s in wire.sent] == [V1 + "/deviceBatches", V1 + "/deviceBatches/Test%20batch/devices"]


def test_a_batch_without_a_count_is_counted_from_its_devices(service, wire):
    bare = dict(pub.SDK_BATCH)
    del bare["devicesCount"]
    wire.reply("GET", V1 + "/deviceBatches", body=dict(pub.BATCH_LIST, items=[bare]))
    wire.reply("GET", V1 + "/deviceBatches/contoso-2026-11/devices",
               body={"items": [pub.LISTED_DEVICE, pub.LISTED_DEVICE_WITH_PROFILE]})
    [view] = service.describe_batches(C, include_devices=True)
    assert view["devices_count"] == 2


# ----- List devices in a batch (api.md "List devices in a batch", policies.md 4.8) ---------------------------
def test_device_listing_follows_both_continuation_forms_and_stops_without_one(service, wire):
    path = V1 + "/deviceBatches/Test%20batch/devices"
    wire.reply("GET", path, body=pub.DEVICES_PAGE_TOKEN)
    wire.reply("GET", path, body=pub.DEVICES_PAGE_LINK)
    wire.reply("GET", path, body=pub.DEVICES_PAGE_LAST)
    items = service.list_devices(C, "Test batch")
    assert items == pub.DEVICES_PAGE_TOKEN["items"] + pub.DEVICES_PAGE_LINK["items"] + pub.DEVICES_PAGE_LAST["items"]
    assert [s.path for s in wire.sent] == [path] * 3
    assert [s.query for s in wire.sent] == [""] * 3
    assert [s.headers.get("MS-ContinuationToken") for s in wire.sent] == [None, "token-page-2", "token-page-3"]


def test_a_page_with_both_a_top_level_token_and_a_next_link_is_followed_once(service, wire):
    path = V1 + "/deviceBatches/Test%20batch/devices"
    both = dict(pub.DEVICES_PAGE_LINK, continuationToken="token-page-3")
    wire.reply("GET", path, body=both)
    wire.reply("GET", path, body=pub.DEVICES_PAGE_LAST)
    assert len(service.list_devices(C, "Test batch")) == 2
    assert [s.headers.get("MS-ContinuationToken") for s in wire.sent] == [None, "token-page-3"]


def test_listed_devices_become_devices_with_their_profile_and_no_hash(service, wire):
    path = V1 + "/deviceBatches/Test%20batch/devices"
    wire.reply("GET", path, body=pub.DEVICES_PAGE_TOKEN)
    wire.reply("GET", path, body=pub.DEVICES_PAGE_LINK)
    wire.reply("GET", path, body=pub.DEVICES_PAGE_LAST)
    first, second, third = [Device.from_api(item, "Test batch") for item in service.list_devices(C, "Test batch")]
    assert (first.device_id, first.serial_number, first.product_key, first.manufacturer, first.model,
            first.hardware_hash, first.batch_id, first.policy_id) == (
        "7c141ea9-2816-4e15-a819-53f6856499ff", "1R9-ZNP67", "00329-00000-0003-AA606", "Dell Inc.",
        "Precision WorkStation T7500", None, "Test batch", None)  # "value": null: no profile assigned
    assert (second.device_id, second.serial_number, second.product_key, second.manufacturer, second.model,
            second.hardware_hash, second.policy_id) == (
        "e528a62f-5031-49f4-bea7-5fafe47388fd", "1234567890", "12345-67890-09876-54321-13579", "Hewlett-Packard",
        "HP Z420 Workstation", None, pub.ASSIGNED_POLICY_ID)
    assert (third.serial_number, third.product_key) == ("3R9-ZNP67", None)
    # Matching against what the user declares uses serial or product key, never the (unlisted) hash.
    assert Device(serial_number="1r9-znp67", hardware_hash="AAAA").matches(first)
    assert Device(product_key="12345-67890-09876-54321-13579").matches(second)


@pytest.mark.parametrize("policies, expected", [
    ([{"key": "o_o_b_e", "value": None}], None),                        # policies.md 4.8, as published
    ([{"key": "o_o_b_e", "value": pub.ASSIGNED_POLICY_ID}], pub.ASSIGNED_POLICY_ID),
    ([{"Key": "o_o_b_e", "Value": pub.ASSIGNED_POLICY_ID}], pub.ASSIGNED_POLICY_ID),  # read case-insensitively
    ([{"key": "none", "value": "x"}, {"key": "o_o_b_e", "value": "y"}], "y"),
    ([], None),
    (None, None),
])
def test_the_oobe_policy_of_a_listed_device(policies, expected):
    assert oobe_policy_id(policies) == expected


# ----- Batch job status (api.md "Batch job status", policies.md 4.7) -----------------------------------------
def test_published_job_status_is_interpreted_field_by_field(service, wire):
    wire.reply("GET", V1 + "/batchJobStatus/0127ed8e-2f0c-4d5a-9b1e-3c6d7e8f9a0b", body=pub.JOB_STATUS)
    body = service.job_status(C, "0127ed8e-2f0c-4d5a-9b1e-3c6d7e8f9a0b")
    assert body == pub.JOB_STATUS
    info = interpret_job(body)
    assert info == {
        "tracking_id": "0127ed8e-...",
        "status": "finished",
        "started_time": "2017-07-25T10:00:00",
        "completed_time": "2017-07-25T10:10:00",
        "devices": [{
            "serial_number": "1234567890",
            "product_key": "12345-67890-09876-54321-13579",
            "device_id": None,
            "status": "finished_with_errors",
            "error_code": "808",
            "error_description": "ZtdDeviceAssignedToOtherTenant",
            "explanation": EXPLANATIONS["ZtdDeviceAssignedToOtherTenant"],
            "outcome": "failed",
        }],
        "succeeded": 0,
        "already_present": 0,
        "failed": 1,  # api.md: a job "finished" can hold failed devices; per-device status decides
    }


@pytest.mark.parametrize("code, description, outcome", [
    # api.md "Per-device outcomes seen in job status": the code first (806 and 808 are published with their
    # names), then errorDescription; the table gives no code for the others.
    ("808", "ZtdDeviceAssignedToOtherTenant", "failed"),
    ("808", "ZtdDeviceAssignedToAnotherTenant", "failed"),
    ("806", "ZtdDeviceAlreadyAssigned", "already_present"),
    (None, "ZtdDeviceAlreadyAssigned", "already_present"),
    (None, "ZtdDeviceDuplicated", "failed"),
    (None, "InvalidZtdHardwareHash", "failed"),
    (None, "ZtdDeviceNotFound", "failed"),
    (None, "SomethingNobodyPublished", "failed"),  # unknown values become generic failures
])
def test_each_published_per_device_outcome(code, description, outcome):
    item = dict(pub.JOB_STATUS["devicesStatus"][0], errorDescription=description, errorCode=code,
                status="finished" if outcome == "already_present" else "finished_with_errors")
    [device] = interpret_job(dict(pub.JOB_STATUS, devicesStatus=[item]))["devices"]
    assert device["outcome"] == outcome
    assert device["error_description"] == description and device["error_code"] == code
    assert device["explanation"] == EXPLANATIONS.get(description, "the service reported %s" % description)
    if "Tenant" in description:
        assert "another tenant" in device["explanation"]


@pytest.mark.parametrize("code, outcome", [("806", "already_present"), ("808", "failed")])
def test_a_published_code_without_its_description_is_classified_by_the_code(code, outcome):
    item = dict(pub.JOB_STATUS["devicesStatus"][0], errorCode=code, status="finished_with_errors")
    item.pop("errorDescription")
    [device] = interpret_job(dict(pub.JOB_STATUS, devicesStatus=[item]))["devices"]
    assert device["outcome"] == outcome and device["error_description"] is None
    assert ("another tenant" if code == "808" else "already registered") in device["explanation"]


@pytest.mark.parametrize("status", pub.JOB_STATUSES)
def test_every_published_job_status_value_is_kept(status):
    assert interpret_job(dict(pub.JOB_STATUS, status=status, devicesStatus=[]))["status"] == status


@pytest.mark.parametrize("status, outcome", [("in-progress", "pending"), ("finished", "registered"),
                                             ("finished_with_errors", "failed")])
def test_every_published_device_status_value(status, outcome):
    item = {"deviceId": "7c141ea9-2816-4e15-a819-53f6856499ff", "serialNumber": "1R9-ZNP67", "productKey": None,
            "status": status, "errorCode": None, "errorDescription": None,
            "attributes": {"objectType": "DeviceUploadDetails"}}
    [device] = interpret_job(dict(pub.JOB_STATUS, devicesStatus=[item]))["devices"]
    assert (device["status"], device["outcome"], device["device_id"], device["error_code"]) == (
        status, outcome, "7c141ea9-2816-4e15-a819-53f6856499ff", None)


def test_a_job_is_waited_for_until_a_final_status(service, wire):
    path = V1 + "/batchJobStatus/0127ed8e-2f0c-4d5a-9b1e-3c6d7e8f9a0b"
    for status in ("queued", "processing"):
        wire.reply("GET", path, body=dict(pub.JOB_STATUS, status=status, completedTime=None, devicesStatus=[]))
    wire.reply("GET", path, body=pub.JOB_STATUS)
    assert service.wait_for_job(C, "0127ed8e-2f0c-4d5a-9b1e-3c6d7e8f9a0b", timeout=600, poll_interval=0) == \
        pub.JOB_STATUS
    assert len(wire.sent) == 3


# ----- Location of an accepted write (api.md "Create a batch", policies.md 4.6) --------------------------------
@pytest.mark.parametrize("location, expected", [
    (pub.CREATE_BATCH_LOCATION, (C, "0127ed8e-2f0c-4d5a-9b1e-3c6d7e8f9a0b")),
    (pub.ASSIGN_LOCATION, (C, pub.ASSIGN_TRACKING_ID)),                         # relative, no /v1
    ("https://api.partnercenter.microsoft.com/v1" + pub.ASSIGN_LOCATION, (C, pub.ASSIGN_TRACKING_ID)),
    ("", (None, None)),
    (None, (None, None)),
])
def test_location_values_name_customer_and_tracking_id(location, expected):
    assert parse_location(location) == expected


def test_accepted_upload_yields_the_tracking_id_of_its_location(service, wire):
    wire.reply("POST", V1 + "/deviceBatches", status=202, headers={"Location": pub.CREATE_BATCH_LOCATION})
    chunk = [Device(serial_number="1R9-ZNP67", product_key="00329-00000-0003-AA606")]
    job = service.send_chunk(C, "contoso-2026-11", chunk, create=True)
    assert job == {"location": pub.CREATE_BATCH_LOCATION, "tracking_id": "0127ed8e-2f0c-4d5a-9b1e-3c6d7e8f9a0b",
                   "devices": chunk}


def test_an_accepted_write_without_location_is_an_error_not_a_silent_success(service, wire):
    wire.reply("POST", V1 + "/deviceBatches/contoso-2026-11/devices", status=202)
    with pytest.raises(PartnerCenterError, match="no usable Location"):
        service.send_chunk(C, "contoso-2026-11", [Device(product_key="00329-00000-0003-AA606")], create=False)


# ----- Errors and throttling (api.md "Errors, headers, throttling", "Real-world behaviour") ---------------------
@pytest.mark.parametrize("status, code, meaning", pub.COMMON_ERRORS)
@pytest.mark.parametrize("as_number", [False, True], ids=["code-string", "code-number"])
def test_published_error_bodies_become_readable_errors(client, service, wire, status, code, meaning, as_number):
    body = dict(pub.ERROR_BODY, code=int(code) if as_number else code, description=meaning, source="PartnerApi")
    headers = {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'} if status == 401 else {}
    wire.reply("GET", V1 + "/deviceBatches", status=status, body=body, headers=headers, repeat=True)
    with pytest.raises(PartnerCenterError) as caught:
        service.list_batches(C)
    err = caught.value
    assert (err.status, err.code, err.description, err.method, err.path) == (
        status, code, meaning, "GET", V1 + "/deviceBatches")
    request_id = wire.sent[-1].headers["MS-RequestId"]
    assert (err.request_id, err.correlation_id) == (request_id, client.correlation_id)
    text = str(err)
    assert "HTTP %d" % status in text and "code %s: %s" % (code, meaning) in text
    assert request_id in text and client.correlation_id in text
    hint = {401: "access token was refused", 403: "no reseller relationship with customer %s" % C,
            404: "customer tenant %s was not found" % C}.get(status)
    if hint:
        assert hint in text
    # Reads are resent on 500 (the same MS-RequestId every time), never on 4xx.
    assert len(wire.sent) == (client.policy.max_attempts if status == 500 else 1)
    assert {s.headers["MS-RequestId"] for s in wire.sent} == {request_id}


def test_a_failed_write_with_an_error_body_keeps_its_code(service, wire):
    wire.reply("POST", V1 + "/policies", status=400,
               body={"code": 800002, "description": "invalid input", "data": [], "source": "PartnerApi"})
    with pytest.raises(PartnerCenterError) as caught:
        service.create_profile(C, dict(pub.POLICY_CREATE_REQUEST))
    assert (caught.value.status, caught.value.code, caught.value.description) == (400, "800002", "invalid input")
    assert len(wire.sent) == 1


def test_a_500_answer_to_a_write_is_an_unknown_outcome_not_a_resend(service, wire):
    wire.reply("PUT", V1 + "/policies/" + pub.POLICY_UPDATE_REQUEST["id"], status=500,
               body={"code": "800003", "description": "unexpected error", "data": [], "source": "PartnerApi"})
    with pytest.raises(OutcomeUnknownError) as caught:
        service.update_profile(C, pub.POLICY_UPDATE_REQUEST["id"], dict(pub.POLICY_UPDATE_REQUEST))
    assert caught.value.code == "800003" and len(wire.sent) == 1


@pytest.mark.parametrize("method, path, call", [
    ("GET", V1 + "/deviceBatches", lambda s: s.list_batches(C)),
    ("POST", V1 + "/policies", lambda s: s.create_profile(C, dict(pub.POLICY_CREATE_REQUEST))),
], ids=["read", "write"])
def test_throttling_waits_retry_after_and_resends_the_same_call(client, service, wire, method, path, call):
    wire.reply(method, path, status=429, body=pub.THROTTLED_BODY, headers={"Retry-After": pub.THROTTLED_RETRY_AFTER})
    wire.reply(method, path, body=pub.POLICY_CREATE_RESPONSE if method == "POST" else pub.BATCH_LIST)
    call(service)
    assert client.retries == [(method, path, 429, 57.0)]
    first, second = wire.sent
    assert first.headers["MS-RequestId"] == second.headers["MS-RequestId"]
    assert first.raw_body == second.raw_body


# ----- Configuration policies (policies.md 3, 4.1-4.5) --------------------------------------------------------
LISTED_VIEW = {
    "id": "8c7d25aa-2dbb-409c-a1f0-f55bd9108fa9",
    "name": "Windows 10 Enterprise E3",
    "description": "P462017 description",
    "category": "o_o_b_e",
    "settings": ["oobe_user_not_local_admin", "skip_express_settings"],
    "devices_assigned": 0,
    "created_date": "2017-04-27T11:30:34.1944704-07:00",
    "last_modified_date": "2017-04-27T11:30:34.1944704-07:00",
}


def test_published_policy_list_is_read_field_by_field(service, wire):
    wire.reply("GET", V1 + "/policies", body=pub.POLICY_LIST)
    assert service.list_profiles(C) == [LISTED_VIEW]


def test_the_count_is_read_under_either_published_name(service, wire):
    wire.reply("GET", V1 + "/policies", body=dict(pub.POLICY_LIST, items=[pub.POLICY_WITH_COUNT_NAME]))
    assert service.list_profiles(C) == [dict(LISTED_VIEW, devices_assigned=4)]


def test_get_by_id_answers_in_the_shape_of_a_list_item():
    """policies.md 4.2: a single ConfigurationPolicy, the same shape as one list item (the collection never
    calls Get by id: it lists and matches, 4.1)."""
    assert profile_view(pub.POLICY_LIST["items"][0]) == LISTED_VIEW


def test_policies_of_category_none_are_read_too(service, wire):
    # policies.md 4.3: the .NET SDK and PowerShell create policies without a category ("none"); hidden, the
    # profile module would create a namesake of each on every run.
    none = dict(pub.POLICY_LIST["items"][0], id="0b8e2f4c-0000-4000-8000-000000000001", category="none")
    wire.reply("GET", V1 + "/policies", body=dict(pub.POLICY_LIST, items=[pub.POLICY_LIST["items"][0], none]))
    assert [p["id"] for p in service.list_profiles(C)] == [LISTED_VIEW["id"], none["id"]]


def test_create_answers_200_and_the_service_returns_the_created_view(service, wire):
    wire.reply("POST", V1 + "/policies", status=200, body=pub.POLICY_CREATE_RESPONSE)
    view = service.create_profile(C, dict(pub.POLICY_CREATE_REQUEST))
    assert view == {
        "id": "40cdb858-edcc-44d7-9083-d6a36d43bd3f",
        "name": "Windows 10 Enterprise E5",
        "description": "test policy creation from API",
        "category": "o_o_b_e",
        "settings": ["oobe_user_not_local_admin", "skip_express_settings"],
        "devices_assigned": 0,
        "created_date": "2017-07-25T18:07:36",
        "last_modified_date": "2017-07-25T18:07:36",
    }


def test_update_answers_200_with_the_updated_policy(service, wire):
    pid = pub.POLICY_UPDATE_REQUEST["id"]
    wire.reply("PUT", V1 + "/policies/" + pid, status=200, body=pub.POLICY_UPDATE_RESPONSE)
    view = service.update_profile(C, pid, dict(pub.POLICY_UPDATE_REQUEST))
    assert view == {
        "id": pid, "name": "Windows test policy", "description": "Test policy creation from API",
        "category": "o_o_b_e", "settings": ["skip_express_settings"], "devices_assigned": 0,
        "created_date": "2017-07-25T18:07:36", "last_modified_date": "2017-07-26T09:12:01",
    }


@pytest.mark.parametrize("status", [204, 404], ids=["deleted", "already-gone"])
def test_delete_policy_answers_204_with_no_body(service, wire, status):
    pid = pub.POLICY_CREATE_RESPONSE["id"]
    body = None if status == 204 else {"code": "600011", "description": "not found", "data": [], "source": "x"}
    wire.reply("DELETE", V1 + "/policies/" + pid, status=status, body=body)
    assert service.delete_profile(C, pid) is None
    assert len(wire.sent) == 1


@pytest.mark.parametrize("status", [204, 404], ids=["deleted", "already-gone"])
def test_delete_device_answers_204_with_no_body(service, wire, status):
    path = V1 + "/deviceBatches/Test%20batch/devices/7c141ea9-2816-4e15-a819-53f6856499ff"
    wire.reply("DELETE", path, status=status)
    assert service.delete_device(C, "Test batch", "7c141ea9-2816-4e15-a819-53f6856499ff") is None


def test_delete_policy_refused_otherwise_is_an_error(service, wire):
    pid = pub.POLICY_CREATE_RESPONSE["id"]
    wire.reply("DELETE", V1 + "/policies/" + pid, status=409,
               body={"code": "600012", "description": "policy in use", "data": [], "source": "PartnerApi"})
    with pytest.raises(PartnerCenterError) as caught:
        service.delete_profile(C, pid)
    assert (caught.value.status, caught.value.code) == (409, "600012")


# ----- Assign a profile: DevicePolicyUpdates (policies.md 4.6) -------------------------------------------------
PAIR = [("9993-8627-3608-6844-6369-4361-72", "15a04610-9229-4e80-94e0-0e826a09c9e2")]


def test_published_202_with_a_relative_location_yields_the_tracking_id(service, wire):
    wire.reply("PATCH", V1 + "/DevicePolicyUpdates", status=202, headers={"Location": pub.ASSIGN_LOCATION})
    job = service.assign_profiles(C, PAIR)
    assert job == {"location": pub.ASSIGN_LOCATION, "tracking_id": pub.ASSIGN_TRACKING_ID}
    # policies.md 4.7: poll it at /v1/customers/{customer}/batchJobStatus/{tracking id}.
    wire.reply("GET", V1 + "/batchJobStatus/" + pub.ASSIGN_TRACKING_ID, body=dict(pub.JOB_STATUS, devicesStatus=[]))
    assert interpret_job(service.job_status(C, job["tracking_id"]))["status"] == "finished"
    assert wire.sent[-1].path == "/v1/customers/c7f3c849-129f-4b85-a96d-4f8e88b315a3/batchJobStatus/" \
                                 "a15f3996-620a-4404-9f1f-4c2de78de0de"


@pytest.mark.parametrize("body", [
    pub.ASSIGN_LOCATION,                                        # the link itself as the JSON body
    {"location": pub.ASSIGN_LOCATION},
    {"Location": "https://api.partnercenter.microsoft.com/v1" + pub.ASSIGN_LOCATION},
], ids=["string", "location-field", "Location-absolute"])
@pytest.mark.parametrize("status", [200, 202])
def test_reference_variant_with_the_status_link_in_the_body_still_yields_the_tracking_id(service, wire, body,
                                                                                         status):
    """policies.md 4.6: R-update-device-policy lists 200 and 202 with "the status link ... in the response
    body"; take the tracking id from Location, falling back to the body."""
    wire.reply("PATCH", V1 + "/DevicePolicyUpdates", status=status, body=body)
    assert service.assign_profiles(C, PAIR)["tracking_id"] == pub.ASSIGN_TRACKING_ID


def test_the_location_header_wins_over_a_body(service, wire):
    wire.reply("PATCH", V1 + "/DevicePolicyUpdates", status=202, headers={"Location": pub.ASSIGN_LOCATION},
               body={"location": "/customers/%s/batchJobStatus/other" % C})
    assert service.assign_profiles(C, PAIR)["tracking_id"] == pub.ASSIGN_TRACKING_ID


def test_an_assignment_answer_naming_no_job_is_an_error(service, wire):
    wire.reply("PATCH", V1 + "/DevicePolicyUpdates", status=202)
    with pytest.raises(PartnerCenterError, match="named no job"):
        service.assign_profiles(C, PAIR)


# ----- The collection wrapper versus the REST reference's bare array (policies.md 4.1) --------------------------
# Read, not taken as "no profiles": the profile module would otherwise create a duplicate on every run.
def test_policy_list_as_a_bare_array_is_read(service, wire):
    wire.reply("GET", V1 + "/policies", body=pub.POLICY_LIST["items"])
    assert service.list_profiles(C) == [LISTED_VIEW]
