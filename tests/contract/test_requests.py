"""Contract, direction 2: every request the collection builds has the documented shape - method, path (exact
casing), query, body field names and casing, and headers - captured at the transport by the CannedAdapter.

Casing of bodies, as the documents say the service accepts them: device uploads PascalCase (api.md: "Requests
are sent PascalCase (as the SDK does)"); configuration policies camelCase as published (policies.md 4.3, 4.4);
DevicePolicyUpdates camelCase (policies.md 4.6: the service binds case-insensitively, "Module: send camelCase").
"""
import base64
import os
import re
import uuid

import pytest
import requests

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import OutcomeUnknownError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import Device
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profile_state import ensure_profile
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import (
    create_body, declared, profile_view, update_body)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import MAX_DEVICES_PER_REQUEST
from tests.contract import published as pub
from tests.contract.conftest import TOKEN

C = pub.CUSTOMER
V1 = "/v1/customers/%s" % C
HASH = base64.b64encode(bytes(range(256)) * 2).decode("ascii")  # stands for the published "<base64>"
TRACKING = "0127ed8e-2f0c-4d5a-9b1e-3c6d7e8f9a0b"
DEVICE_ID = "7c141ea9-2816-4e15-a819-53f6856499ff"
POLICY_ID = pub.POLICY_UPDATE_REQUEST["id"]
ACCEPTED = {"status": 202, "headers": {"Location": pub.CREATE_BATCH_LOCATION}}


def galaxy_version():
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "galaxy.yml")) as handle:
        return re.search(r"^version:\s*(\S+)", handle.read(), re.M).group(1)


def published_device():
    return Device(serial_number="1R9-ZNP67", product_key="00329-00000-0003-AA606", hardware_hash=HASH)


def published_upload_devices():
    """api.md "Create a batch with devices": its Devices, with a real hash in place of "<base64>"."""
    return [dict(d, HardwareHash=HASH) for d in pub.CREATE_BATCH_REQUEST["Devices"]]


# Every call of the service layer: (id, canned answer, call, method, path, body expected on the wire).
OPERATIONS = [
    ("list batches", dict(body=pub.BATCH_LIST), lambda s: s.list_batches(C),
     "GET", V1 + "/deviceBatches", None),
    ("list devices", dict(body=pub.DEVICES_PAGE_LAST), lambda s: s.list_devices(C, "Test batch"),
     "GET", V1 + "/deviceBatches/Test%20batch/devices", None),
    ("job status", dict(body=pub.JOB_STATUS), lambda s: s.job_status(C, TRACKING),
     "GET", V1 + "/batchJobStatus/" + TRACKING, None),
    ("create batch", ACCEPTED, lambda s: s.send_chunk(C, "contoso-2026-11", [published_device()], create=True),
     "POST", V1 + "/deviceBatches", dict(pub.CREATE_BATCH_REQUEST, Devices=published_upload_devices())),
    ("add devices", ACCEPTED, lambda s: s.send_chunk(C, "contoso-2026-11", [published_device()], create=False),
     "POST", V1 + "/deviceBatches/contoso-2026-11/devices", published_upload_devices()),
    ("delete device", dict(status=204), lambda s: s.delete_device(C, "Test batch", DEVICE_ID),
     "DELETE", V1 + "/deviceBatches/Test%20batch/devices/" + DEVICE_ID, None),
    ("list policies", dict(body=pub.POLICY_LIST), lambda s: s.list_profiles(C),
     "GET", V1 + "/policies", None),
    ("create policy", dict(body=pub.POLICY_CREATE_RESPONSE),
     lambda s: s.create_profile(C, create_body("Windows 10 Enterprise E5", "test policy creation from API",
                                               ["skip_express_settings", "oobe_user_not_local_admin"])),
     "POST", V1 + "/policies", pub.POLICY_CREATE_REQUEST),
    ("update policy", dict(body=pub.POLICY_UPDATE_RESPONSE),
     lambda s: s.update_profile(C, POLICY_ID, {k: v for k, v in pub.POLICY_UPDATE_REQUEST.items()
                                               if k != "devicesAssigned"}),
     "PUT", V1 + "/policies/" + POLICY_ID, {k: v for k, v in pub.POLICY_UPDATE_REQUEST.items()
                                            if k != "devicesAssigned"}),
    ("delete policy", dict(status=204), lambda s: s.delete_profile(C, POLICY_ID),
     "DELETE", V1 + "/policies/" + POLICY_ID, None),
    ("assign profile", dict(status=202, headers={"Location": pub.ASSIGN_LOCATION}),
     lambda s: s.assign_profiles(C, [("9993-8627-3608-6844-6369-4361-72", "15a04610-9229-4e80-94e0-0e826a09c9e2")]),
     "PATCH", V1 + "/DevicePolicyUpdates",
     {"devices": [{"id": "9993-8627-3608-6844-6369-4361-72",
                   "policies": [{"key": "o_o_b_e", "value": "15a04610-9229-4e80-94e0-0e826a09c9e2"}]}]}),
]


@pytest.mark.parametrize("answer, call, method, path, body", [o[1:] for o in OPERATIONS],
                         ids=[o[0] for o in OPERATIONS])
def test_each_request_has_the_documented_method_path_query_and_body(service, wire, answer, call, method, path,
                                                                    body):
    wire.reply(method, path, **answer)
    call(service)
    sent = wire.only()
    assert (sent.scheme, sent.host) == ("https", "api.partnercenter.microsoft.com")
    assert (sent.method, sent.path, sent.query) == (method, path, "")
    assert sent.json == body


@pytest.mark.parametrize("answer, call, method, path, body", [o[1:] for o in OPERATIONS],
                         ids=[o[0] for o in OPERATIONS])
def test_each_request_carries_the_documented_headers(client, service, wire, answer, call, method, path, body):
    """api.md "Errors, headers, throttling" and policies.md 1: Authorization Bearer, Accept, MS-RequestId (a GUID
    per call), MS-CorrelationId (a GUID per run), X-Locale en-US, MS-PartnerCenter-Application naming the
    caller (partnercenter.autopilot/<version>), Content-Type: application/json on calls with a body."""
    wire.reply(method, path, **answer)
    call(service)
    h = wire.only().headers
    assert h["Authorization"] == "Bearer " + TOKEN
    assert h["Accept"] == "application/json"
    assert str(uuid.UUID(h["MS-RequestId"])) == h["MS-RequestId"]
    assert str(uuid.UUID(h["MS-CorrelationId"])) == h["MS-CorrelationId"] == client.correlation_id
    assert h["X-Locale"] == "en-US"
    caller = "partnercenter.autopilot/" + galaxy_version()
    assert h["MS-PartnerCenter-Application"] == caller
    assert h["User-Agent"] == caller  # not in the documents; the collection names itself there too
    if body is None:
        assert "Content-Type" not in h and wire.only().raw_body is None
    else:
        assert h["Content-Type"] == "application/json"


def test_request_ids_are_new_per_call_and_the_correlation_id_is_shared(client, service, wire):
    wire.reply("GET", V1 + "/deviceBatches", body=pub.BATCH_LIST, repeat=True)
    wire.reply("GET", V1 + "/policies", body=pub.POLICY_LIST)
    service.list_batches(C)
    service.list_batches(C)
    service.list_profiles(C)
    assert len({s.headers["MS-RequestId"] for s in wire.sent}) == 3
    assert {s.headers["MS-CorrelationId"] for s in wire.sent} == {client.correlation_id}


# ----- resending: the same MS-RequestId (api.md "resend the same value when retrying that call after a timeout")
def test_a_read_resent_after_a_timeout_keeps_its_request_id(client, service, wire):
    wire.fail("GET", V1 + "/deviceBatches", requests.exceptions.ReadTimeout("read timed out"))
    wire.reply("GET", V1 + "/deviceBatches", body=pub.BATCH_LIST)
    assert service.list_batches(C) == [pub.PUBLISHED_BATCH]
    first, second = wire.sent
    assert first.headers["MS-RequestId"] == second.headers["MS-RequestId"]
    assert [r[2] for r in client.retries] == ["ReadTimeout"]


def test_a_write_never_sent_is_resent_with_its_request_id_and_body(service, wire):
    wire.fail("POST", V1 + "/deviceBatches", requests.exceptions.ConnectTimeout("connect timed out"))
    wire.reply("POST", V1 + "/deviceBatches", **ACCEPTED)
    service.send_chunk(C, "contoso-2026-11", [published_device()], create=True)
    first, second = wire.sent
    assert first.headers["MS-RequestId"] == second.headers["MS-RequestId"]
    assert first.raw_body == second.raw_body


def test_a_write_whose_answer_was_lost_is_not_resent_blindly(service, wire):
    wire.fail("PATCH", V1 + "/DevicePolicyUpdates", requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknownError):
        service.assign_profiles(C, [(DEVICE_ID, pub.ASSIGNED_POLICY_ID)])
    assert len(wire.sent) == 1


# ----- device uploads (api.md "Devices", "Create a batch with devices", "Add devices", "Not published") ---------
@pytest.mark.parametrize("given, fields", [
    (dict(hardware_hash=HASH, product_key="00329-00000-0003-AA606"), {"HardwareHash", "ProductKey"}),
    (dict(hardware_hash=HASH, serial_number="1R9-ZNP67"), {"HardwareHash", "SerialNumber"}),
    (dict(hardware_hash=HASH, product_key="00329-00000-0003-AA606", serial_number="1R9-ZNP67"),
     {"HardwareHash", "ProductKey", "SerialNumber"}),
    (dict(hardware_hash=HASH), {"HardwareHash"}),
    (dict(product_key="00329-00000-0003-AA606"), {"ProductKey"}),
    (dict(serial_number="1R9-ZNP67", manufacturer="Dell Inc.", model="Precision WorkStation T7500"),
     {"SerialNumber", "OemManufacturerName", "ModelName"}),
    # make/model beside a hash are not an accepted combination: only hash + serial is sent.
    (dict(hardware_hash=HASH, serial_number="1R9-ZNP67", manufacturer="Dell Inc.", model="T7500"),
     {"HardwareHash", "SerialNumber"}),
], ids=["hash+pk", "hash+serial", "hash+pk+serial", "hash", "pk", "serial+make+model", "hash+serial+make+model"])
def test_uploaded_devices_use_one_published_combination_in_pascal_case(service, wire, given, fields):
    wire.reply("POST", V1 + "/deviceBatches/contoso-2026-11/devices", **ACCEPTED)
    service.send_chunk(C, "contoso-2026-11", [Device(**given)], create=False)
    [sent] = wire.only().json
    assert set(sent) == fields | {"Attributes"}
    assert sent["Attributes"] == {"ObjectType": "Device"}
    names = {"HardwareHash": "hardware_hash", "ProductKey": "product_key", "SerialNumber": "serial_number",
             "OemManufacturerName": "manufacturer", "ModelName": "model"}
    assert all(sent[f] == given[names[f]] for f in fields)


def test_a_create_refused_with_409_sends_the_same_devices_to_the_existing_batch(service, wire):
    """api.md "Real-world behaviour": 409 on create -> add."""
    wire.reply("POST", V1 + "/deviceBatches", status=409,
               body={"code": "600031", "description": "batch exists", "data": [], "source": "PartnerApi"})
    wire.reply("POST", V1 + "/deviceBatches/contoso-2026-11/devices", **ACCEPTED)
    job = service.send_chunk(C, "contoso-2026-11", [published_device()], create=True)
    assert job["tracking_id"] == TRACKING
    create, add = wire.sent
    assert create.json["Devices"] == add.json == published_upload_devices()


def test_uploads_are_chunked_at_our_published_cap(service, wire):
    """api.md "Not published (our own rules)": at most 500 devices per request; the first chunk creates."""
    assert MAX_DEVICES_PER_REQUEST == 500
    devices = [Device(product_key="%05d-00000-0003-AA606" % i) for i in range(501)]
    wire.reply("POST", V1 + "/deviceBatches", **ACCEPTED)
    wire.reply("POST", V1 + "/deviceBatches/contoso-2026-11/devices", **ACCEPTED)
    jobs = list(service.upload(C, "contoso-2026-11", devices, create=True))
    assert len(jobs) == 2
    create, add = wire.sent
    assert (create.method, create.path, len(create.json["Devices"])) == ("POST", V1 + "/deviceBatches", 500)
    assert create.json["BatchId"] == "contoso-2026-11"
    assert (add.path, len(add.json)) == (V1 + "/deviceBatches/contoso-2026-11/devices", 1)


# ----- configuration policies (policies.md 4.3-4.5, 8) ------------------------------------------------------------
def test_the_collection_builds_the_published_create_body():
    assert create_body("Windows 10 Enterprise E5", "test policy creation from API",
                       ["oobe_user_not_local_admin", "skip_express_settings"]) == pub.POLICY_CREATE_REQUEST
    # description is optional; category is always o_o_b_e (policies.md 4.3 "always send")
    assert create_body("Kiosk", None, ["skip_eula"]) == {"name": "Kiosk", "category": "o_o_b_e",
                                                         "policySettings": ["skip_eula"]}


def test_every_setting_the_collection_sends_is_a_published_wire_value():
    body = create_body("All", "", list(pub.POLICY_SETTINGS))
    assert sorted(body["policySettings"]) == sorted(pub.POLICY_SETTINGS)
    assert isinstance(body["policySettings"], list)  # an array of strings, not a bitmask (policies.md 2.2)


def test_the_collection_builds_the_published_update_body():
    existing = profile_view(dict(pub.POLICY_CREATE_RESPONSE, id=POLICY_ID))
    after = declared(existing, "Windows test policy", "Test policy creation from API", ["skip_express_settings"])
    body = update_body(after)
    assert body == {k: v for k, v in pub.POLICY_UPDATE_REQUEST.items() if k != "devicesAssigned"}
    required = {f for f, (req, _upd) in pub.POLICY_UPDATE_FIELDS.items() if req}
    assert required <= set(body) <= set(pub.POLICY_UPDATE_FIELDS)


def test_an_update_keeps_fields_not_declared_as_they_are(service, wire):
    """policies.md 4.4: the body is a full replacement, so what is not declared is sent as it is now."""
    existing = profile_view(dict(pub.POLICY_CREATE_RESPONSE, id=POLICY_ID))
    body = update_body(declared(existing, "Renamed", None, None))
    assert body == {"id": POLICY_ID, "name": "Renamed", "category": "o_o_b_e",
                    "description": "test policy creation from API",
                    "policySettings": ["oobe_user_not_local_admin", "skip_express_settings"]}


def profile_params(**overrides):
    p = dict(customer_id=C, name="Windows 10 Enterprise E5", profile_id=None, description=None, settings=None,
             state="present", force=False, timeout=60)
    p.update(overrides)
    return p


def test_ensuring_a_new_profile_lists_then_posts_the_published_body(service, wire):
    wire.reply("GET", V1 + "/policies", body=pub.POLICY_LIST)
    wire.reply("POST", V1 + "/policies", status=200, body=pub.POLICY_CREATE_RESPONSE)
    result = ensure_profile(service, profile_params(description="test policy creation from API",
                                                    settings=["skip_express_settings", "oobe_user_not_local_admin"]),
                            False, service.clock)
    listing, create = wire.sent
    assert (listing.method, listing.path, listing.query) == ("GET", V1 + "/policies", "")
    assert (create.method, create.path, create.json) == ("POST", V1 + "/policies", pub.POLICY_CREATE_REQUEST)
    assert result["changed"] is True
    assert result["profile"]["id"] == "40cdb858-edcc-44d7-9083-d6a36d43bd3f"  # the created view, from the 200


def test_ensuring_a_changed_profile_sends_a_put_never_a_patch(service, wire):
    """policies.md 4 and 9: update is PUT, not PATCH."""
    listed = dict(pub.POLICY_UPDATE_RESPONSE, description="old", policySettings=["skip_eula"])
    wire.reply("GET", V1 + "/policies", body=dict(pub.POLICY_LIST, items=[listed]))
    wire.reply("PUT", V1 + "/policies/" + POLICY_ID, status=200, body=pub.POLICY_UPDATE_RESPONSE)
    result = ensure_profile(service, profile_params(name="Windows test policy", profile_id=POLICY_ID,
                                                    description="Test policy creation from API",
                                                    settings=["skip_express_settings"]), False, service.clock)
    assert [(s.method, s.path) for s in wire.sent] == [("GET", V1 + "/policies"),
                                                       ("PUT", V1 + "/policies/" + POLICY_ID)]
    assert wire.sent[1].json == {k: v for k, v in pub.POLICY_UPDATE_REQUEST.items() if k != "devicesAssigned"}
    assert not wire.requests_to("PATCH")
    assert result["changed"] is True and result["profile"]["last_modified_date"] == "2017-07-26T09:12:01"


def test_ensuring_an_absent_profile_deletes_it_without_a_body(service, wire):
    wire.reply("GET", V1 + "/policies", body=pub.POLICY_LIST)
    pid = pub.POLICY_LIST["items"][0]["id"]
    wire.reply("DELETE", V1 + "/policies/" + pid, status=204)
    result = ensure_profile(service, profile_params(name="Windows 10 Enterprise E3", state="absent"), False,
                            service.clock)
    delete = wire.sent[1]
    assert (delete.method, delete.path, delete.raw_body) == ("DELETE", V1 + "/policies/" + pid, None)
    assert "Content-Type" not in delete.headers
    assert result["changed"] is True and result["profile"] is None


def test_an_unchanged_profile_sends_only_the_listing(service, wire):
    wire.reply("GET", V1 + "/policies", body=pub.POLICY_LIST)
    result = ensure_profile(service, profile_params(name="Windows 10 Enterprise E3",
                                                    description="P462017 description",
                                                    settings=["skip_express_settings", "oobe_user_not_local_admin"]),
                            False, service.clock)
    assert result["changed"] is False and [s.method for s in wire.sent] == ["GET"]


# ----- DevicePolicyUpdates (policies.md 4.6) -------------------------------------------------------------------
def fold(value):
    """A body with lower-cased keys and no null fields: how a case-insensitive binder sees it."""
    if isinstance(value, dict):
        return dict((k.lower(), fold(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [fold(v) for v in value]
    return value


def test_the_assignment_body_binds_like_the_published_request(service, wire):
    wire.reply("PATCH", V1 + "/DevicePolicyUpdates", status=202, headers={"Location": pub.ASSIGN_LOCATION})
    published = fold(pub.ASSIGN_REQUEST)["devices"][0]
    service.assign_profiles(C, [(published["id"], published["policies"][0]["value"])])
    sent = wire.only().json
    # camelCase as policies.md 4.6 tells the module to send, only Id and Policies per device (all D-res requires)
    assert sent == {"devices": [{"id": "9993-8627-3608-6844-6369-4361-72",
                                 "policies": [{"key": "o_o_b_e", "value": "15a04610-9229-4e80-94e0-0e826a09c9e2"}]}]}
    # and case-insensitively it says what the published SDK trace says about the device and its policy
    device = fold(sent)["devices"][0]
    assert device == {k: published[k] for k in ("id", "policies")}


def test_one_assignment_request_carries_several_devices(service, wire):
    wire.reply("PATCH", V1 + "/DevicePolicyUpdates", status=202, headers={"Location": pub.ASSIGN_LOCATION})
    pairs = [(DEVICE_ID, pub.ASSIGNED_POLICY_ID), ("e528a62f-5031-49f4-bea7-5fafe47388fd", POLICY_ID)]
    service.assign_profiles(C, pairs)
    assert [(d["id"], d["policies"]) for d in wire.only().json["devices"]] == [
        (device_id, [{"key": "o_o_b_e", "value": policy_id}]) for device_id, policy_id in pairs]
