"""The emulator's answer modes and its listing lag, against the running emulator over HTTPS.

answer_mode="recorded" must answer in the shapes of Partner-Center-PowerShell's recorded sessions
(test/PowerShell.Tests/SessionRecords at RECORDINGS_COMMIT; docs/emulator.md names the file of each shape);
listing_lag must hide new batches, devices and profiles from the listings while every write applies at once.
"""
import datetime
import re
import time
import uuid

import pytest

from tests.emulator import OUTCOMES
from tests.emulator.server import ANSWER_MODES, RECORDINGS_COMMIT, Emulator
from tests.emulator.test_emulator import CUSTOMER, Api, PerRequestVerify, a_hash, generic_error, user_token

RECORDED_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}-07:00$")  # "2018-07-24T15:03:40.3184992-07:00"
RECORDED_DEVICE_FIELDS = {"id", "serialNumber", "productKey", "modelName", "oemManufacturerName", "policies",
                          "uploadedDate", "attributes"}
RECORDED_BATCH_FIELDS = {"id", "creationDate", "devicesCount", "devicesLink", "attributes"}


@pytest.fixture
def api(emulator):
    return Api(emulator, user_token(emulator))


def follow(api, uri, headers=None):
    """GET a link as the service gives it: relative, without /v1, its query kept."""
    hdrs = {h["key"]: h["value"] for h in headers or []}
    return api.session.get(api.emu.url + "/v1" + uri, headers=dict(
        {"Authorization": "Bearer " + api.token, "Accept": "application/json"}, **hdrs))


def assign(api, device_ids, policy_id):
    resp = api("PATCH", "/DevicePolicyUpdates", {"Devices": [
        {"Id": d, "Policies": [{"Key": "o_o_b_e", "Value": policy_id}]} for d in device_ids],
        "Attributes": {"ObjectType": "DevicePolicyUpdateRequest"}})
    assert resp.status_code == 202, resp.text
    return api.wait(resp.headers["Location"])


def listed_batches(api):
    return {b["id"]: b for b in api("GET", "/deviceBatches").json()["items"]}


def listed_serials(api, batch):
    resp = api("GET", "/deviceBatches/%s/devices" % batch)
    assert resp.status_code == 200, resp.text
    return [d["serialNumber"] for d in resp.json()["items"]]


def listed_policies(api):
    return [p["name"] for p in api("GET", "/policies").json()["items"]]


# ----- the knobs --------------------------------------------------------------------------------------------
def test_answer_mode_and_listing_lag_are_keywords_attributes_and_configure_knobs(emulator, make_emulator, tmp_path):
    assert emulator.answer_mode == emulator.batch_shape == "published" and emulator.listing_lag == 0
    assert ANSWER_MODES == ("published", "sdk", "recorded") and len(RECORDINGS_COMMIT) == 40
    emulator.batch_shape = "recorded"  # the old name sets the new knob
    assert emulator.answer_mode == "recorded"
    emulator.answer_mode = "sdk"
    assert emulator.batch_shape == "sdk"
    for bad in ("Recorded", "", None):
        with pytest.raises(ValueError):
            emulator.answer_mode = bad
    for bad in (-1, "5", True):
        with pytest.raises(ValueError):
            emulator.listing_lag = bad
    made = make_emulator(answer_mode="recorded", listing_lag=90)
    assert (made.answer_mode, made.listing_lag) == ("recorded", 90)
    assert make_emulator(batch_shape="sdk").answer_mode == "sdk"
    with pytest.raises(ValueError):
        Emulator(workdir=str(tmp_path), answer_mode="recorded", batch_shape="sdk")
    timing = emulator.configure(answer_mode="recorded", listing_lag=2.5)
    assert (timing["answer_mode"], timing["listing_lag"]) == ("recorded", 2.5)
    emulator.profile = "lenient"  # a profile sets the timing knobs only
    assert (emulator.answer_mode, emulator.listing_lag) == ("recorded", 2.5)
    with pytest.raises(TypeError):
        emulator.configure(answer_shape="recorded")
    session = PerRequestVerify(emulator.ca_path)  # the command-line emulator's way
    changed = session.post(emulator.url + "/_emulator/timing", json={"batch_shape": "published", "listing_lag": 0})
    assert changed.status_code == 200 and (changed.json()["answer_mode"], changed.json()["listing_lag"]) == (
        "published", 0)
    assert session.post(emulator.url + "/_emulator/timing", json={"answer_mode": "raw"}).status_code == 400
    assert session.get(emulator.url + "/_emulator/timing").json()["answer_mode"] == "published"


# ----- recorded answers -------------------------------------------------------------------------------------
def test_recorded_device_listing_names_the_profile_the_request_gave_by_id(emulator, api):
    """GetCustomerDevice.json: "policies": [{"key": "o_o_b_e", "value": "DefaultRoaming"}], the profile whose
    id GetCustomerConfigurationPolicyById.json shows as a GUID."""
    emulator.answer_mode = "recorded"
    emulator.seed_batch(CUSTOMER, "Testing1", [{"SerialNumber": "R9-ZNP74", "ProductKey": "00329-00000-0003-AA613",
                                                "OemManufacturerName": "Microsoft", "ModelName": "Surface 7"},
                                               {"ProductKey": "PK-UNASSIGNED"}])
    policy_id = emulator.seed_policy(CUSTOMER, "DefaultRoaming", ["skip_express_settings", "skip_eula"], "Roaming")
    body = api("GET", "/deviceBatches/Testing1/devices").json()
    device = body["items"][0]
    assert assign(api, [device["id"]], policy_id)["status"] == "finished"  # assigned by id, as published
    body = api("GET", "/deviceBatches/Testing1/devices").json()
    assert set(body) == {"totalCount", "items", "links", "attributes"} and body["links"] == {}
    assert "continuationToken" not in body and body["attributes"] == {"objectType": "Collection"}
    named, unassigned = body["items"]
    assert set(named) == RECORDED_DEVICE_FIELDS and set(unassigned) == RECORDED_DEVICE_FIELDS
    assert named["policies"] == [{"key": "o_o_b_e", "value": "DefaultRoaming"}]
    assert unassigned["policies"] == [{"key": "o_o_b_e", "value": None}]
    assert (named["modelName"], named["oemManufacturerName"]) == ("Surface 7", "Microsoft")
    assert named["attributes"] == {"objectType": "Device"}
    assert RECORDED_DATE.match(named["uploadedDate"]), named["uploadedDate"]
    uploaded = datetime.datetime.fromisoformat(named["uploadedDate"])
    assert abs(uploaded.timestamp() - time.time()) < 60
    by_id = api("GET", "/policies/" + policy_id).json()
    assert by_id["name"] == "DefaultRoaming" and str(uuid.UUID(by_id["id"])) == by_id["id"] == policy_id
    assert emulator.device_policy(CUSTOMER, named["id"]) == policy_id  # the service holds the id
    renamed = dict(by_id, name="Roaming v2")
    assert api("PUT", "/policies/" + policy_id, renamed).status_code == 200
    assert api("GET", "/deviceBatches/Testing1/devices").json()["items"][0]["policies"][0]["value"] == "Roaming v2"
    # The request names a profile by id only: a name where the id belongs is refused, as in every mode.
    refused = api("PATCH", "/DevicePolicyUpdates", {"Devices": [
        {"Id": unassigned["id"], "Policies": [{"Key": "o_o_b_e", "Value": "Roaming v2"}]}]})
    generic_error(refused, 400)
    emulator.answer_mode = "published"  # the same state, answered as published: the id, and the other fields
    item = api("GET", "/deviceBatches/Testing1/devices").json()["items"][0]
    assert item["policies"] == [{"key": "o_o_b_e", "value": policy_id}]
    assert {"createdBy", "allowedOperations"} <= set(item) and "hardwareHash" not in item


def test_recorded_batch_listing_has_no_status_created_by_or_creation_date(emulator, api):
    """GetCustomerDeviceBatch.json."""
    emulator.answer_mode = "recorded"
    emulator.seed_batch(CUSTOMER, "Testing1", [{"ProductKey": "PK-1"}])
    resp = api("POST", "/deviceBatches", {"BatchId": "Fresh batch", "Devices": [{"ProductKey": "PK-2"}]})
    api.wait(resp.headers["Location"])
    body = api("GET", "/deviceBatches").json()
    assert set(body) == {"totalCount", "items", "attributes"} and body["totalCount"] == 2
    for item in body["items"]:
        assert set(item) == RECORDED_BATCH_FIELDS
        assert item["creationDate"] == "0001-01-01T00:00:00" and item["devicesCount"] == 1
        assert item["attributes"] == {"objectType": "DeviceBatch"}
        link = item["devicesLink"]
        assert link == {"uri": "/customers/%s/deviceBatches/%s/devices" % (CUSTOMER, item["id"]), "method": "GET",
                        "headers": []}
        assert not link["uri"].startswith("/v1")
        listed = follow(api, link["uri"].replace(" ", "%20"))
        assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    emulator.answer_mode = "published"
    assert {"status", "creationDate"} <= set(api("GET", "/deviceBatches").json()["items"][0])
    assert api("GET", "/deviceBatches").json()["items"][0]["creationDate"] != "0001-01-01T00:00:00"


def test_recorded_job_results_carry_codes_and_null_descriptions(emulator, api):
    """No batchJobStatus answer is recorded: the emulator keeps errorCode and answers errorDescription null."""
    emulator.answer_mode = "recorded"
    emulator.foreign_keys.add(("serial", "FOREIGN-1"))
    emulator.seed_batch(CUSTOMER, "old", [{"SerialNumber": "OLD-1", "ProductKey": "PK-OLD"}])
    resp = api("POST", "/deviceBatches", {"BatchId": "mixed", "Devices": [
        {"HardwareHash": a_hash("new"), "SerialNumber": "NEW-1"}, {"ProductKey": "PK-OLD"},
        {"HardwareHash": a_hash("f"), "SerialNumber": "FOREIGN-1"}]})
    job = api.wait(resp.headers["Location"])
    assert job["status"] == "finished_with_errors"
    got = [(d["status"], d["errorCode"], d["errorDescription"]) for d in job["devicesStatus"]]
    assert got == [("finished", None, None), ("finished_with_errors", "806", None),
                   ("finished_with_errors", "808", None)]
    assert all("errorDescription" in d for d in job["devicesStatus"])  # present, null
    # A policy job's failure the same way.
    device = emulator.batch_devices(CUSTOMER, "old")[0]["id"]
    emulator.policy_failures.add(device)
    failed = assign(api, [device], emulator.seed_policy(CUSTOMER, "P"))["devicesStatus"]
    assert [(d["errorCode"], d["errorDescription"]) for d in failed] == [(OUTCOMES["policy_failed"][0], None)]
    emulator.answer_mode = "published"  # the job is the same; only the answer differs
    again = api("GET", "/batchJobStatus/" + resp.headers["Location"].rsplit("/", 1)[-1]).json()
    assert [(d["errorCode"], d["errorDescription"]) for d in again["devicesStatus"][1:]] == [
        OUTCOMES["already"], OUTCOMES["other_tenant"]]


def test_recorded_paging_is_a_next_link_whose_query_and_header_are_both_honoured(emulator, api):
    emulator.answer_mode = "recorded"
    emulator.seed_batch(CUSTOMER, "big", [{"SerialNumber": "P-%03d" % i, "ProductKey": "K-%03d" % i}
                                          for i in range(250)])
    body = api("GET", "/deviceBatches/big/devices").json()
    seen, pages, links = [], 1, []
    while True:
        assert "continuationToken" not in body and len(body["items"]) <= 100
        seen.extend(d["serialNumber"] for d in body["items"])
        nxt = body["links"].get("next")
        if not nxt:
            assert body["links"] == {}
            break
        assert nxt["method"] == "GET" and nxt["uri"] == "/customers/%s/deviceBatches/big/devices?seekOperation=Next" \
            % CUSTOMER
        assert [h["key"] for h in nxt["headers"]] == ["MS-ContinuationToken"]
        links.append(nxt)
        resp = follow(api, nxt["uri"], nxt["headers"])
        assert resp.status_code == 200, resp.text
        body, pages = resp.json(), pages + 1
    assert pages == 3 and seen == ["P-%03d" % i for i in range(250)]
    first = links[0]
    token = {"MS-ContinuationToken": first["headers"][0]["value"]}
    # Half a link is not the link: the query without its header, or the header without its query.
    generic_error(api("GET", "/deviceBatches/big/devices", headers=token), 400)
    generic_error(api("GET", "/deviceBatches/big/devices?seekOperation=Next"), 400)
    generic_error(api("GET", "/deviceBatches/big/devices?seekOperation=Previous", headers=token), 400)
    # Query names and enum values bind case-insensitively, as ASP.NET binds them.
    page2 = api("GET", "/deviceBatches/big/devices?seekoperation=next", headers=token).json()
    assert page2["items"][0]["serialNumber"] == "P-100"
    emulator.answer_mode = "published"  # published paging is untouched: a token alone is the next page
    assert api("GET", "/deviceBatches/big/devices", headers=token).json()["items"][0]["serialNumber"] == "P-100"


def test_recorded_policies_list_devices_assigned_and_read_by_id_devices_assigned_count(emulator, api):
    """GetCustomerConfigurationPolicies.json lists devicesAssigned, GetCustomerConfigurationPolicyById.json reads
    devicesAssignedCount; both spell dates with seven digits and -07:00."""
    emulator.answer_mode = "recorded"
    emulator.seed_batch(CUSTOMER, "b", [{"ProductKey": "PK-1"}])
    devices = [d["id"] for d in emulator.batch_devices(CUSTOMER, "b")]
    policy_id = emulator.seed_policy(CUSTOMER, "DefaultRoaming", ["skip_eula"])
    emulator.assign_seeded(CUSTOMER, devices, policy_id)
    [listed] = api("GET", "/policies").json()["items"]
    by_id = api("GET", "/policies/" + policy_id).json()
    assert listed["devicesAssigned"] == 1 and "devicesAssignedCount" not in listed
    assert by_id["devicesAssignedCount"] == 1 and "devicesAssigned" not in by_id
    assert emulator.policy_list(CUSTOMER) == [listed]
    created = api("POST", "/policies", {"name": "New", "policySettings": []}).json()
    assert "devicesAssignedCount" in created  # a single resource, as read by id
    for date in (listed["createdDate"], listed["lastModifiedDate"], by_id["createdDate"], created["createdDate"]):
        assert RECORDED_DATE.match(date), date
    emulator.answer_mode = "published"
    published = api("GET", "/policies/" + policy_id).json()
    same = datetime.datetime.fromisoformat
    assert same(published["createdDate"]) == same(by_id["createdDate"])  # the same instant, spelled otherwise
    emulator.answer_mode = "recorded"
    emulator.policy_count_field = "both"  # a spelling forced by the test wins in every mode
    assert {"devicesAssigned", "devicesAssignedCount"} <= set(api("GET", "/policies").json()["items"][0])


# ----- listing lag ------------------------------------------------------------------------------------------
def test_listing_lag_hides_new_resources_from_listings_while_writes_apply_at_once(emulator, api):
    emulator.listing_lag = 600  # far longer than the test: nothing new may be listed while it runs
    emulator.seed_batch(CUSTOMER, "old", [{"SerialNumber": "OLD-1", "ProductKey": "PK-OLD"}])
    seeded = emulator.seed_policy(CUSTOMER, "Seeded")
    assert list(listed_batches(api)) == ["old"] and listed_serials(api, "old") == ["OLD-1"]
    assert listed_policies(api) == ["Seeded"]  # what was there before is listed at once

    resp = api("POST", "/deviceBatches", {"BatchId": "new", "Devices": [
        {"SerialNumber": "NEW-1", "HardwareHash": a_hash("n1")}]})
    job = api.wait(resp.headers["Location"])
    assert job["status"] == "finished" and job["devicesStatus"][0]["deviceId"]  # registered...
    assert list(listed_batches(api)) == ["old"]  # ...but neither the batch...
    assert listed_serials(api, "new") == []  # ...nor its device is listed yet
    assert emulator.batch_ids(CUSTOMER) == ["old", "new"]  # the test side sees the truth
    again = api("POST", "/deviceBatches", {"BatchId": "new", "Devices": [{"ProductKey": "PK-X"}]})
    assert again.status_code == 409  # the write side knows the batch at once
    added = api("POST", "/deviceBatches/new/devices", [{"SerialNumber": "NEW-1", "HardwareHash": a_hash("n1")}])
    assert api.wait(added.headers["Location"])["devicesStatus"][0]["errorCode"] == "806"  # and the device

    more = api("POST", "/deviceBatches/old/devices", [
        {"SerialNumber": "OLD-2", "OemManufacturerName": "M", "ModelName": "X"}])
    api.wait(more.headers["Location"])
    assert listed_serials(api, "old") == ["OLD-1"] and listed_batches(api)["old"]["devicesCount"] == 1

    created = api("POST", "/policies", {"name": "Fresh", "policySettings": ["skip_eula"]})
    assert created.status_code == 200
    fresh = created.json()["id"]
    assert listed_policies(api) == ["Seeded"]
    generic_error(api("GET", "/policies/" + fresh), 404)  # "readable only after ~90 s": by id too
    put = api("PUT", "/policies/" + fresh, {"name": "Fresh", "policySettings": ["skip_express_settings"]})
    assert put.status_code == 200  # writes by id apply at once
    device = emulator.batch_devices(CUSTOMER, "new")[0]["id"]
    assert assign(api, [device], fresh)["status"] == "finished"  # so does an assignment to it
    assert api("GET", "/policies/" + seeded).status_code == 200

    emulator.listing_lag = 0  # the lag is read when listing: now everything written is listed
    assert list(listed_batches(api)) == ["old", "new"]
    assert listed_serials(api, "new") == ["NEW-1"] and listed_serials(api, "old") == ["OLD-1", "OLD-2"]
    assert listed_batches(api)["old"]["devicesCount"] == 2
    assert listed_policies(api) == ["Seeded", "Fresh"]
    assert api("GET", "/policies/" + fresh).json()["policySettings"] == ["skip_express_settings"]


def test_listing_lag_is_scaled_and_each_resource_is_listed_once_it_has_passed(make_emulator):
    emu = make_emulator(listing_lag=4.0, time_scale=0.25)  # 1 s
    api = Api(emu, user_token(emu))
    assert emu.timing()["listing_lag"] == 4.0
    written = {"batch": time.time()}
    resp = api("POST", "/deviceBatches", {"BatchId": "b", "Devices": [{"ProductKey": "PK-1"}]})
    api.wait(resp.headers["Location"])
    written["device"] = emu.jobs[resp.headers["Location"].rsplit("/", 1)[-1]]["completed"]
    written["policy"] = time.time()
    policy_id = api("POST", "/policies", {"name": "P", "policySettings": []}).json()["id"]
    seen = {}
    deadline = time.time() + 10
    checks = {"batch": lambda: "b" in listed_batches(api),
              "device": lambda: api("GET", "/deviceBatches/b/devices").json()["items"] != [],
              "policy": lambda: listed_policies(api) == ["P"],
              "policy by id": lambda: api("GET", "/policies/" + policy_id).status_code == 200}
    while len(seen) < len(checks) and time.time() < deadline:
        for name, check in checks.items():
            if name not in seen and check():
                seen[name] = time.time()  # after the answer: no earlier than the emulator decided
        time.sleep(0.05)
    assert set(seen) == set(checks), seen
    for name, at in seen.items():
        since = at - written[name.split()[0]]
        assert 1.0 - 0.01 <= since < 4.0, (name, since)  # never early; late only by the machine's load


def test_batch_ids_in_paths_ignore_case_and_keep_the_created_spelling(emulator, api):
    """partnercenter-api.md, "Recorded answers": batch ids in paths are case-insensitive."""
    emulator.seed_batch(CUSTOMER, "Testing1", [{"SerialNumber": "CASE-1", "OemManufacturerName": "Contoso",
                                               "ModelName": "Laptop 7"}])
    created = api("POST", "/deviceBatches", {"BatchId": "testing1", "Devices": [{"ProductKey": "PK-CASE-2"}]})
    assert created.status_code == 409
    listed = api("GET", "/deviceBatches/TESTING1/devices")
    assert listed.status_code == 200 and [d["serialNumber"] for d in listed.json()["items"]] == ["CASE-1"]
    added = api("POST", "/deviceBatches/testing1/devices", [{"ProductKey": "PK-CASE-2"}])
    assert added.status_code == 202
    api.wait(added.headers["Location"])
    assert emulator.batch_ids(CUSTOMER) == ["Testing1"]
    assert sorted(d.get("productKey") or d.get("serialNumber") for d in
                  api("GET", "/deviceBatches/Testing1/devices").json()["items"]) == ["CASE-1", "PK-CASE-2"]
