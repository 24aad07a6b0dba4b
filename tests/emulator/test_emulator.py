"""The emulator's own tests: it must behave like partnercenter-api.md says, independent of the collection."""
import base64
import datetime
import os
import threading
import time
import uuid

import msal
import pytest
import requests

from tests.emulator import OUTCOMES, PC_SCOPE_APP, PC_SCOPE_USER, make_client_certificate

CUSTOMER = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
OTHER_CUSTOMER = "9a7b1c2d-0000-4000-8000-000000000abc"


class PerRequestVerify(requests.Session):
    """Passes verify on each call, the only way REQUESTS_CA_BUNDLE cannot override it."""

    def __init__(self, ca):
        super().__init__()
        self.ca = ca

    def request(self, method, url, **kwargs):
        kwargs["verify"] = self.ca
        return super().request(method, url, **kwargs)


def a_hash(seed, size=4000):
    return base64.b64encode((seed.encode() * (size // max(1, len(seed)) + 1))[:size]).decode()


def msal_app(emu, credential=None, **kwargs):
    return msal.ConfidentialClientApplication(
        emu.client_id, client_credential=credential or emu.client_secret,
        authority="%s/%s" % (emu.authority, emu.tenant_id), instance_discovery=False,
        http_client=PerRequestVerify(emu.ca_path), **kwargs)


def user_token(emu):
    result = msal_app(emu).acquire_token_by_refresh_token(emu._initial_refresh_token, scopes=[PC_SCOPE_USER])
    assert "access_token" in result, result
    return result["access_token"]


class Api:
    def __init__(self, emu, token):
        self.emu, self.token = emu, token
        self.session = PerRequestVerify(emu.ca_path)

    def __call__(self, method, path, body=None, headers=None, raw=None, customer=CUSTOMER):
        hdrs = {"Authorization": "Bearer " + self.token, "Accept": "application/json",
                "MS-RequestId": "req-1", "MS-CorrelationId": "corr-1"}
        hdrs.update(headers or {})
        url = self.emu.url + "/v1/customers/%s%s" % (customer, path)
        if raw is not None:
            return self.session.request(method, url, data=raw, headers=hdrs)
        return self.session.request(method, url, json=body, headers=hdrs)

    def wait(self, location, timeout=5):
        tracking = location.rsplit("/", 1)[-1]
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = self("GET", "/batchJobStatus/" + tracking).json()
            if job["status"] in ("finished", "finished_with_errors"):
                return job
            time.sleep(0.05)
        raise AssertionError("job did not finish")


@pytest.fixture
def api(emulator):
    return Api(emulator, user_token(emulator))


# ----- TLS and the Entra ID side -------------------------------------------------------------------------
def test_env_ca_bundle_overrides_session_verify_but_not_per_request_verify(emulator, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    url = emulator.url + "/%s/v2.0/.well-known/openid-configuration" % emulator.tenant_id
    naive = requests.Session()
    naive.verify = emulator.ca_path
    with pytest.raises(requests.exceptions.SSLError):
        naive.get(url)  # the pitfall DESIGN.md names: the environment wins over Session.verify
    assert PerRequestVerify(emulator.ca_path).get(url).status_code == 200


def test_unknown_ca_is_refused(emulator):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emulator.url + "/x", verify=True)


def test_msal_refresh_token_flow_over_tls(emulator, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    app = msal_app(emulator)
    result = app.acquire_token_by_refresh_token(emulator._initial_refresh_token, scopes=[PC_SCOPE_USER])
    assert result["token_type"] == "Bearer" and result["access_token"].startswith("emu-at-")
    assert result["refresh_token"] != emulator._initial_refresh_token  # rotated
    assert app.get_accounts(), "client_info/id_token let msal keep an account in its cache"
    silent = app.acquire_token_silent([PC_SCOPE_USER], account=app.get_accounts()[0], force_refresh=True)
    assert silent["access_token"] != result["access_token"]


def test_msal_client_credentials_and_certificate(emulator):
    result = msal_app(emulator).acquire_token_for_client(scopes=[PC_SCOPE_APP])
    assert "access_token" in result
    cert = make_client_certificate(emulator.workdir)
    emulator.client_certificate = cert
    with open(cert["path"]) as handle:
        pem = handle.read()
    key = pem[:pem.index("-----BEGIN CERTIFICATE-----")]
    for credential in ({"private_key": key, "thumbprint": cert["thumbprint"]},  # RS256 + x5t
                       {"private_key": key, "public_certificate": pem[len(key):]}):  # PS256 + x5t#S256
        result = msal_app(emulator, credential).acquire_token_for_client(scopes=[PC_SCOPE_APP])
        assert "access_token" in result, result
    other = make_client_certificate(emulator.workdir, name="not-registered")
    with open(other["path"]) as handle:
        other_key = handle.read().split("-----BEGIN CERTIFICATE-----")[0]
    bad = msal_app(emulator, {"private_key": other_key, "thumbprint": other["thumbprint"]})
    result = bad.acquire_token_for_client(scopes=[PC_SCOPE_APP])
    assert result["error"] == "invalid_client" and "AADSTS700027" in result["error_description"]


@pytest.mark.parametrize("setup,expected", [
    ("wrong_secret", "AADSTS7000215"),
    ("unknown_token", "AADSTS9002313"),
    ("expired_token", "AADSTS700082"),
    ("mfa", "AADSTS50076"),
])
def test_token_errors(emulator, setup, expected):
    secret, token = emulator.client_secret, emulator._initial_refresh_token
    if setup == "wrong_secret":
        secret = "nope"
    elif setup == "unknown_token":
        token = "garbage"
    elif setup == "expired_token":
        emulator.expire_refresh_token(token)
    elif setup == "mfa":
        emulator.mfa_required_refresh_tokens.add(token)
    result = msal_app(emulator, secret).acquire_token_by_refresh_token(token, scopes=[PC_SCOPE_USER])
    assert "access_token" not in result
    assert expected in result["error_description"]


def test_unknown_tenant(emulator):
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        msal.ConfidentialClientApplication(
            emulator.client_id, client_credential=emulator.client_secret,
            authority="%s/%s" % (emulator.authority, "00000000-0000-0000-0000-000000000000"),
            instance_discovery=False, http_client=PerRequestVerify(emulator.ca_path))


# ----- Partner Center side ---------------------------------------------------------------------------------
def test_missing_expired_and_app_only_tokens(emulator, api):
    plain = PerRequestVerify(emulator.ca_path)
    resp = plain.get(emulator.url + "/v1/customers/%s/deviceBatches" % CUSTOMER)
    assert resp.status_code == 401 and resp.json()["code"] == 800001 and "WWW-Authenticate" in resp.headers
    emulator.expire_access_tokens()
    assert api("GET", "/deviceBatches").status_code == 401
    app_token = msal_app(emulator).acquire_token_for_client(scopes=[PC_SCOPE_APP])["access_token"]
    app_api = Api(emulator, app_token)
    assert app_api("GET", "/deviceBatches").status_code == 200
    resp = app_api("POST", "/deviceBatches", {"BatchId": "b", "Devices": [{"ProductKey": "PK1"}]})
    assert resp.status_code == 401 and "App+User" in resp.json()["description"]


def test_create_list_add_and_job_progression(emulator, api):
    emulator.queue_seconds, emulator.process_seconds = 1.0, 1.0
    devices = [{"SerialNumber": "SN-%d" % i, "HardwareHash": a_hash("h%d" % i),
                "Attributes": {"ObjectType": "Device"}} for i in range(3)]
    resp = api("POST", "/deviceBatches", {"BatchId": "Test batch", "Devices": devices,
                                          "Attributes": {"ObjectType": "DeviceBatchCreationRequest"}})
    assert resp.status_code == 202 and resp.content == b""
    assert resp.headers["Location"].startswith("/customers/%s/batchJobStatus/" % CUSTOMER)
    assert resp.headers["MS-RequestId"] == "req-1" and resp.headers["MS-CorrelationId"] == "corr-1"
    tracking = resp.headers["Location"].rsplit("/", 1)[-1]
    job = api("GET", "/batchJobStatus/" + tracking).json()
    assert job["status"] == "queued" and job["batchTrackingId"] == tracking
    batches = api("GET", "/deviceBatches").json()
    assert batches["items"][0]["id"] == "Test batch" and batches["items"][0]["status"] == "queued"
    assert batches["items"][0]["devicesLink"]["uri"].endswith("/deviceBatches/Test batch/devices")
    time.sleep(max(0.0, emulator.jobs[tracking]["created"] + 1.2 - time.time()))
    assert api("GET", "/batchJobStatus/" + tracking).json()["status"] == "processing"
    job = api.wait(resp.headers["Location"])
    assert job["status"] == "finished" and all(d["status"] == "finished" and d["deviceId"] for d in job["devicesStatus"])
    listed = api("GET", "/deviceBatches/Test%20batch/devices").json()["items"]
    assert [d["serialNumber"] for d in listed] == ["SN-0", "SN-1", "SN-2"]
    assert all("hardwareHash" not in d for d in listed)
    resp = api("POST", "/deviceBatches/Test%20batch/devices", [{"ProductKey": "PK-NEW"}])
    assert resp.status_code == 202
    assert api.wait(resp.headers["Location"])["status"] == "finished"
    assert api("GET", "/deviceBatches").json()["items"][0]["devicesCount"] == 4
    assert api("POST", "/deviceBatches", {"BatchId": "Test batch", "Devices": [{"ProductKey": "X"}]}).status_code == 409


def test_per_device_outcomes(emulator, api):
    emulator.foreign_keys.add(("serial", "FOREIGN-1"))
    emulator.invalid_hashes.add(a_hash("unreadable"))
    emulator.unknown_product_keys.add("PK-UNKNOWN")
    emulator.seed_batch(CUSTOMER, "old", [{"SerialNumber": "OLD-1", "ProductKey": "PK-OLD"}])
    emulator.seed_batch(OTHER_CUSTOMER, "theirs", [{"ProductKey": "PK-THEIRS"}])
    devices = [
        {"HardwareHash": a_hash("ok"), "SerialNumber": "NEW-1"},
        {"HardwareHash": a_hash("f"), "SerialNumber": "FOREIGN-1"},
        {"HardwareHash": a_hash("unreadable")},
        {"HardwareHash": "QUJD"},  # decodes to 3 bytes
        {"ProductKey": "PK-OLD"},
        {"ProductKey": "PK-THEIRS"},
        {"HardwareHash": a_hash("ok"), "ProductKey": "PK-DUP"},
        {"ProductKey": "PK-UNKNOWN"},
    ]
    resp = api("POST", "/deviceBatches", {"BatchId": "mixed", "Devices": devices})
    job = api.wait(resp.headers["Location"])
    assert job["status"] == "finished_with_errors"
    got = [(d["errorCode"], d["errorDescription"]) for d in job["devicesStatus"]]
    assert got == [(None, None), OUTCOMES["other_tenant"], OUTCOMES["invalid_hash"], OUTCOMES["invalid_hash"],
                   OUTCOMES["already"], OUTCOMES["other_tenant"], OUTCOMES["duplicated"], OUTCOMES["not_found"]]
    assert OUTCOMES["already"] == ("806", "ZtdDeviceAlreadyAssigned")
    assert OUTCOMES["other_tenant"] == ("808", "ZtdDeviceAssignedToOtherTenant")
    assert [d["serialNumber"] for d in emulator.batch_devices(CUSTOMER, "mixed")] == ["NEW-1"]


@pytest.mark.parametrize("device", [
    {"SerialNumber": "only-serial"},
    {"SerialNumber": "S", "OemManufacturerName": "M"},
    {"ProductKey": "PK", "SerialNumber": "S"},
    {"HardwareHash": "AAAA", "ModelName": "M"},
    {},
    {"SerialNumber": 12345, "OemManufacturerName": "M", "ModelName": "X"},
])
def test_invalid_identity_combinations_rejected(api, device):
    resp = api("POST", "/deviceBatches", {"BatchId": "bad", "Devices": [device]})
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == 800002 and "Devices[0]" in body["description"] and set(body) == {
        "code", "description", "data", "source"}


def test_paging_both_styles(emulator, api):
    devices = [{"SerialNumber": "P-%03d" % i, "ProductKey": "K-%03d" % i} for i in range(250)]
    emulator.seed_batch(CUSTOMER, "big", devices)
    for style in ("both", "token", "link"):
        emulator.paging_style = style
        seen, token, pages = [], None, 0
        while True:
            body = api("GET", "/deviceBatches/big/devices",
                       headers={"MS-ContinuationToken": token} if token else None).json()
            pages += 1
            assert len(body["items"]) <= 100
            seen.extend(d["serialNumber"] for d in body["items"])
            token = body.get("continuationToken") or next(
                (h["value"] for h in body.get("links", {}).get("next", {}).get("headers", [])), None)
            if style == "token":
                assert "links" not in body
            if style == "link":
                assert "continuationToken" not in body
            if not token:
                break
        assert pages == 3 and seen == ["P-%03d" % i for i in range(250)]
    resp = api("GET", "/deviceBatches/big/devices", headers={"MS-ContinuationToken": "!!bad"})
    assert resp.status_code == 400


def test_sdk_batch_shape(emulator, api):
    emulator.batch_shape = "sdk"
    emulator.seed_batch(CUSTOMER, "b1", [{"ProductKey": "K"}])
    item = api("GET", "/deviceBatches").json()["items"][0]
    assert "devicesLink" not in item and item["links"]["devices"]["uri"] and "createdBy" in item


def test_delete_device_and_policy_update(emulator, api):
    emulator.seed_batch(CUSTOMER, "b1", [{"SerialNumber": "D-1", "OemManufacturerName": "M", "ModelName": "X"}])
    device = api("GET", "/deviceBatches/b1/devices").json()["items"][0]
    policy_id = emulator.seed_policy(CUSTOMER, "Default OOBE", ["skip_eula"])
    resp = api("PATCH", "/DevicePolicyUpdates", {"Devices": [{"Id": device["id"], "Policies": [
        {"Key": "o_o_b_e", "Value": policy_id}]}], "Attributes": {"ObjectType": "DevicePolicyUpdateRequest"}})
    assert resp.status_code == 202
    api.wait(resp.headers["Location"])
    assert api("GET", "/deviceBatches/b1/devices").json()["items"][0]["policies"] == [
        {"key": "o_o_b_e", "value": policy_id}]
    assert api("DELETE", "/deviceBatches/b1/devices/" + device["id"]).status_code == 204
    assert api("DELETE", "/deviceBatches/b1/devices/" + device["id"]).status_code == 404
    assert api("GET", "/deviceBatches/b1/devices").json()["items"] == []


@pytest.mark.parametrize("method,path,kwargs,status,code", [
    ("GET", "/deviceBatches/nope/devices", {}, 404, 600042),
    ("POST", "/deviceBatches/nope/devices", {"body": [{"ProductKey": "K"}]}, 404, 600042),
    ("GET", "/batchJobStatus/not-a-job", {}, 404, 600044),
    ("POST", "/deviceBatches", {"raw": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, 800002),
    ("POST", "/deviceBatches", {"raw": b"a=b", "headers": {"Content-Type": "text/plain"}}, 415, 800002),
    ("GET", "/deviceBatches", {"customer": "not-a-guid"}, 404, 60003),
    ("GET", "/nothing-here", {}, 404, "404"),
])
def test_error_bodies_never_tracebacks(api, method, path, kwargs, status, code):
    resp = api(method, path, **kwargs)
    assert resp.status_code == status
    assert resp.json()["code"] == code and resp.json()["description"] and "Traceback" not in resp.text


def test_no_relationship(emulator, api):
    emulator.unrelated_customers.add(OTHER_CUSTOMER)
    resp = api("GET", "/deviceBatches", customer=OTHER_CUSTOMER)
    assert resp.status_code == 403 and resp.json()["code"] == 20002


# ----- configuration policies and their assignment (partnercenter-policies.md) -----------------------------
POLICY_FIELDS = {"id", "name", "category", "description", "devicesAssignedCount", "policySettings", "createdDate",
                 "lastModifiedDate", "attributes"}


def generic_error(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"code", "description", "data", "source"} and body["description"]
    return body


def seed_devices(emulator, batch="b1", count=2):
    """Registered devices of CUSTOMER, as the listing shows them."""
    emulator.seed_batch(CUSTOMER, batch, [{"SerialNumber": "%s-%d" % (batch, i), "ProductKey": "PK-%s-%d" % (batch, i)}
                                          for i in range(count)])
    return emulator.batch_devices(CUSTOMER, batch)


def test_policy_create_answers_200_with_the_full_object(api):
    body = {"name": "Windows 10 Enterprise E5", "category": "o_o_b_e", "description": "test policy creation from API",
            "policySettings": ["oobe_user_not_local_admin", "skip_express_settings"]}
    resp = api("POST", "/policies", body)
    assert resp.status_code == 200  # published: 200, never 201
    policy = resp.json()
    assert set(policy) == POLICY_FIELDS and "osType" not in policy and "devicesAssigned" not in policy
    assert policy["name"] == body["name"] and policy["description"] == body["description"]
    assert policy["category"] == "o_o_b_e" and policy["devicesAssignedCount"] == 0
    assert policy["policySettings"] == body["policySettings"]
    assert policy["attributes"] == {"objectType": "ConfigurationPolicy"}
    assert policy["createdDate"] == policy["lastModifiedDate"]
    assert str(uuid.UUID(policy["id"], version=4)) == policy["id"]
    # category missing or "none" (what the .NET SDK sends) is stored as o_o_b_e; keys are read in any casing
    for extra in ({}, {"Category": "none"}):
        resp = api("POST", "/policies", dict({"Name": "SDK style", "PolicySettings": []}, **extra))
        assert resp.status_code == 200 and resp.json()["category"] == "o_o_b_e"
        assert resp.json()["description"] is None
    assert "oobe" in generic_error(api("POST", "/policies", {"name": "x", "category": "oobe", "policySettings": []}),
                                   400)["description"]


def test_policy_list_and_get(emulator, api):
    assert api("GET", "/policies").json() == {"totalCount": 0, "items": [], "attributes": {"objectType": "Collection"}}
    first = emulator.seed_policy(CUSTOMER, "Kiosk", ["skip_eula"], description="kiosks")
    second = api("POST", "/policies", {"name": "Desk", "policySettings": ["none"]}).json()
    emulator.seed_policy(OTHER_CUSTOMER, "Someone else's", [])
    listed = api("GET", "/policies").json()
    assert listed["totalCount"] == 2 and listed["attributes"] == {"objectType": "Collection"}
    assert [p["name"] for p in listed["items"]] == ["Kiosk", "Desk"]
    assert all(set(p) == POLICY_FIELDS for p in listed["items"])
    got = api("GET", "/policies/" + first).json()
    assert got == listed["items"][0] and got["description"] == "kiosks" and got["policySettings"] == ["skip_eula"]
    assert api("GET", "/POLICIES/" + second["id"].upper()).json() == second  # segments and GUIDs in any case
    assert emulator.policy_list(CUSTOMER) == listed["items"]
    generic_error(api("GET", "/policies/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12), 404)
    other = emulator.policy_list(OTHER_CUSTOMER)[0]["id"]
    generic_error(api("GET", "/policies/" + other), 404)  # policies are per customer


def test_policy_put_replaces_and_moves_last_modified(emulator, api):
    created = api("POST", "/policies", {"name": "Old", "description": "d", "category": "o_o_b_e",
                                        "policySettings": ["skip_eula", "skip_oem_registration"]}).json()
    body = {"id": "56edf752-ee77-4fd8-b7f5-df1f74a3a9ac", "name": "New", "category": "none", "devicesAssigned": 7,
            "devicesAssignedCount": 7, "policySettings": ["skip_express_settings"]}
    resp = api("PUT", "/policies/" + created["id"], body)
    assert resp.status_code == 200
    updated = resp.json()
    assert updated["id"] == created["id"] and updated["category"] == "o_o_b_e"  # id and category are not updatable
    assert updated["name"] == "New" and updated["policySettings"] == ["skip_express_settings"]
    assert updated["description"] is None  # a full replacement: left out means gone
    assert updated["devicesAssignedCount"] == 0  # computed, never taken from the body
    assert updated["createdDate"] == created["createdDate"]
    parse = datetime.datetime.fromisoformat
    assert parse(updated["lastModifiedDate"]) > parse(created["lastModifiedDate"])
    assert api("GET", "/policies/" + created["id"]).json() == updated
    generic_error(api("PUT", "/policies/" + str(uuid.uuid4()), body), 404)
    generic_error(api("PUT", "/policies/" + created["id"], {"name": "", "policySettings": []}), 400)
    generic_error(api("PUT", "/policies/" + created["id"], {"name": "x"}), 400)  # policySettings is required


def test_policy_patch_is_not_published_and_answers_405(emulator, api):
    policy_id = emulator.seed_policy(CUSTOMER, "Kiosk", ["skip_eula"])
    resp = api("PATCH", "/policies/" + policy_id, {"name": "Patched", "policySettings": []})
    generic_error(resp, 405)
    assert "PUT" in resp.headers["Allow"]
    assert emulator.policy_list(CUSTOMER)[0]["name"] == "Kiosk"
    generic_error(api("DELETE", "/policies"), 405)


def test_policy_delete_then_get_404_and_devices_lose_it(emulator, api):
    devices = seed_devices(emulator)
    policy_id = emulator.seed_policy(CUSTOMER, "Gone soon")
    emulator.assign_seeded(CUSTOMER, [devices[0]["id"]], policy_id)
    resp = api("DELETE", "/policies/" + policy_id)
    assert resp.status_code == 204 and resp.content == b""
    generic_error(api("GET", "/policies/" + policy_id), 404)
    generic_error(api("DELETE", "/policies/" + policy_id), 404)
    assert api("GET", "/policies").json()["totalCount"] == 0
    # emulator choice (unpublished): deletion is accepted and the device goes back to no policy
    assert emulator.device_policy(CUSTOMER, devices[0]["id"]) is None
    assert api("GET", "/deviceBatches/b1/devices").json()["items"][0]["policies"] == [
        {"key": "o_o_b_e", "value": None}]


@pytest.mark.parametrize("body,named", [
    ({"name": "x", "policySettings": ["skip_eula", "skip_oobe"]}, "skip_oobe"),
    ({"name": "x", "policySettings": ["skip _oem_registration"]}, "skip _oem_registration"),  # D-update's typo
    ({"name": "x", "policySettings": "skip_eula"}, "policySettings"),
    ({"name": "x"}, "policySettings"),
    ({"policySettings": []}, "name"),
    ({"name": "   ", "policySettings": []}, "name"),
])
def test_policy_bad_body_is_400(emulator, api, body, named):
    assert named in generic_error(api("POST", "/policies", body), 400)["description"]
    assert emulator.policy_list(CUSTOMER) == []


def test_device_policy_update_202_location_job_and_counts(emulator, api):
    emulator.queue_seconds = 1.0  # long enough to see the job queued, and the device unchanged meanwhile
    devices = seed_devices(emulator, count=3)
    old = emulator.seed_policy(CUSTOMER, "Old", ["skip_eula"])
    new = emulator.seed_policy(CUSTOMER, "New", ["skip_express_settings"])
    emulator.assign_seeded(CUSTOMER, [d["id"] for d in devices], old)
    assert [p["devicesAssignedCount"] for p in api("GET", "/policies").json()["items"]] == [3, 0]
    bodies = [  # the published .NET trace (PascalCase), then the camelCase the REST reference names
        {"Devices": [{"Id": devices[0]["id"], "SerialNumber": None, "ProductKey": None, "HardwareHash": None,
                      "Policies": [{"Key": "o_o_b_e", "Value": new}], "CreatedBy": None,
                      "UploadedDate": "0001-01-01T00:00:00", "AllowedOperations": None,
                      "Attributes": {"ObjectType": "Device"}}],
         "Attributes": {"ObjectType": "DevicePolicyUpdateRequest"}},
        {"devices": [{"id": devices[1]["id"], "policies": [{"key": "o_o_b_e", "value": new}]}]},
    ]
    for device, body in zip(devices, bodies):
        resp = api("PATCH", "/DevicePolicyUpdates", body)
        assert resp.status_code == 202 and resp.content == b"" and "Content-Type" not in resp.headers
        location = resp.headers["Location"]
        assert location.startswith("/customers/%s/batchJobStatus/" % CUSTOMER) and "/v1" not in location
        job = api("GET", "/batchJobStatus/" + location.rsplit("/", 1)[-1]).json()
        assert job["status"] == "queued" and job["devicesStatus"][0]["status"] == "in-progress"
        assert emulator.device_policy(CUSTOMER, job["devicesStatus"][0]["deviceId"]) == old  # not applied yet
        job = api.wait(location)
        assert job["status"] == "finished" and job["attributes"] == {"objectType": "BatchUploadDetails"}
        assert job["devicesStatus"] == [{
            "deviceId": device["id"], "serialNumber": device["serialNumber"], "productKey": device["productKey"],
            "status": "finished", "errorCode": None, "errorDescription": None,
            "attributes": {"objectType": "DeviceUploadDetails"}}]
    listed = {d["id"]: d["policies"] for d in api("GET", "/deviceBatches/b1/devices").json()["items"]}
    assert listed == {devices[0]["id"]: [{"key": "o_o_b_e", "value": new}],
                      devices[1]["id"]: [{"key": "o_o_b_e", "value": new}],
                      devices[2]["id"]: [{"key": "o_o_b_e", "value": old}]}
    counts = {p["name"]: p["devicesAssignedCount"] for p in api("GET", "/policies").json()["items"]}
    assert counts == {"Old": 1, "New": 2}
    assert api("GET", "/policies/" + new).json()["devicesAssignedCount"] == 2
    assert [d.get("Id") or d.get("id") for d in emulator.assigned_devices()] == [devices[0]["id"], devices[1]["id"]]


@pytest.mark.parametrize("case", ["unknown_device", "other_customers_device", "unknown_policy",
                                  "other_customers_policy", "null_policy", "wrong_key", "empty_policies",
                                  "no_devices", "no_id"])
def test_device_policy_update_bad_requests_are_400(emulator, api, case):
    devices = seed_devices(emulator)
    emulator.seed_batch(OTHER_CUSTOMER, "theirs", [{"ProductKey": "PK-THEIRS"}])
    their_device = emulator.batch_devices(OTHER_CUSTOMER)[0]["id"]
    policy = emulator.seed_policy(CUSTOMER, "Mine")
    their_policy = emulator.seed_policy(OTHER_CUSTOMER, "Theirs")
    second = {"id": devices[1]["id"], "policies": [{"key": "o_o_b_e", "value": policy}]}
    bad = {"unknown_device": {"id": "9993-8627-3608-6844-6369-4361-72"},
           "other_customers_device": {"id": their_device},
           "unknown_policy": {"policies": [{"key": "o_o_b_e", "value": str(uuid.uuid4())}]},
           "other_customers_policy": {"policies": [{"key": "o_o_b_e", "value": their_policy}]},
           "null_policy": {"policies": [{"key": "o_o_b_e", "value": None}]},  # un-assigning is not published
           "wrong_key": {"policies": [{"key": "none", "value": policy}]},
           "empty_policies": {"policies": []},
           "no_id": {"id": None}}.get(case)
    body = {"devices": [] if case == "no_devices" else [second, dict(second, **bad)]}
    description = generic_error(api("PATCH", "/DevicePolicyUpdates", body), 400)["description"]
    assert case == "no_devices" or "Devices[1]" in description
    assert emulator.jobs == {} and emulator.assigned_devices() == []
    assert emulator.device_policy(CUSTOMER, devices[1]["id"]) is None  # nothing applied, not even the good entry


def test_device_policy_update_failures_for_chosen_devices(emulator, api):
    devices = seed_devices(emulator, count=3)
    old = emulator.seed_policy(CUSTOMER, "Old")
    new = emulator.seed_policy(CUSTOMER, "New")
    emulator.assign_seeded(CUSTOMER, [devices[1]["id"]], old)
    emulator.policy_failures.add(devices[1]["id"])
    resp = api("PATCH", "/DevicePolicyUpdates", {"devices": [
        {"id": d["id"], "policies": [{"key": "o_o_b_e", "value": new}]} for d in devices]})
    job = api.wait(resp.headers["Location"])
    assert job["status"] == "finished_with_errors"
    statuses = [(d["deviceId"], d["status"], d["errorCode"], d["errorDescription"]) for d in job["devicesStatus"]]
    assert statuses == [(devices[0]["id"], "finished", None, None),
                        (devices[1]["id"], "finished_with_errors") + OUTCOMES["policy_failed"],
                        (devices[2]["id"], "finished", None, None)]
    assert OUTCOMES["policy_failed"][1] == "ZtdPolicyAssignmentFailed"
    assert [emulator.device_policy(CUSTOMER, d["id"]) for d in devices] == [new, old, new]


def test_registered_devices_list_an_unassigned_oobe_policy(emulator, api):
    emulator.seed_batch(CUSTOMER, "seeded", [{"ProductKey": "PK-SEEDED"}])
    resp = api("POST", "/deviceBatches", {"BatchId": "uploaded", "Devices": [{"ProductKey": "PK-UPLOADED"}]})
    api.wait(resp.headers["Location"])
    for batch in ("seeded", "uploaded"):
        items = api("GET", "/deviceBatches/%s/devices" % batch).json()["items"]
        assert items[0]["policies"] == [{"key": "o_o_b_e", "value": None}]
        assert emulator.device_policy(CUSTOMER, items[0]["id"]) is None


@pytest.mark.parametrize("field,present", [
    ("devicesAssignedCount", {"devicesAssignedCount"}),
    ("devicesAssigned", {"devicesAssigned"}),
    ("both", {"devicesAssignedCount", "devicesAssigned"}),
])
def test_policy_count_field_switch(emulator, api, field, present):
    devices = seed_devices(emulator)
    policy_id = emulator.seed_policy(CUSTOMER, "Counted")
    emulator.assign_seeded(CUSTOMER, [d["id"] for d in devices], policy_id)
    emulator.policy_count_field = field
    for policy in (api("GET", "/policies/" + policy_id).json(), api("GET", "/policies").json()["items"][0],
                   api("POST", "/policies", {"name": "fresh", "policySettings": []}).json()):
        counts = {k: v for k, v in policy.items() if k.startswith("devicesAssigned")}
        assert set(counts) == present
    assert set(api("GET", "/policies/" + policy_id).json()[f] for f in present) == {2}


def test_write_accounting_separates_uploads_and_assignments(emulator, api):
    devices = seed_devices(emulator)
    api("POST", "/policies", {"name": "Not an upload", "policySettings": [], "Devices": [{"ProductKey": "NO"}]})
    api("POST", "/deviceBatches", {"BatchId": "real", "Devices": [{"ProductKey": "K1"}]})
    assert emulator.uploaded_devices() == [{"ProductKey": "K1"}]
    policy_id = emulator.policy_list(CUSTOMER)[0]["id"]
    update = {"devices": [{"id": devices[0]["id"], "policies": [{"key": "o_o_b_e", "value": policy_id}]}]}
    emulator.add_fault("status", method="PATCH", path="DevicePolicyUpdates", status=429, retry_after=1)
    refused = api("PATCH", "/DevicePolicyUpdates", update)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert emulator.assigned_devices() == []  # refused before anything was done
    assert [j["kind"] for j in emulator.jobs.values()] == ["upload"]
    emulator.add_fault("status_after_apply", method="PATCH", path="devicepolicyupdates", status=500)
    lost = api("PATCH", "/DevicePolicyUpdates", update)
    assert lost.status_code == 500
    assert emulator.assigned_devices() == update["devices"]  # applied although the answer was lost
    assert emulator.uploaded_devices() == [{"ProductKey": "K1"}]
    time.sleep(emulator.queue_seconds + emulator.process_seconds + 0.1)
    assert emulator.device_policy(CUSTOMER, devices[0]["id"]) == policy_id
    assert len(emulator.requests("PATCH", "DevicePolicyUpdates")) == 2  # the log keeps refused requests too


def test_policy_routes_honour_hold_and_drop_after_apply(emulator, api):
    hold = emulator.add_fault("hold", method="POST", path="/policies$")
    answers = []
    body = {"name": "held", "policySettings": []}
    worker = threading.Thread(target=lambda: answers.append(api("POST", "/policies", body)))
    worker.start()
    time.sleep(0.2)
    assert emulator.policy_list(CUSTOMER) == [] and not answers
    hold.release()
    worker.join(5)
    assert answers[0].status_code == 200 and emulator.policy_list(CUSTOMER)[0]["name"] == "held"
    emulator.add_fault("drop_after_apply", method="DELETE", path="/policies/")
    with pytest.raises(requests.exceptions.ConnectionError):
        api("DELETE", "/policies/" + answers[0].json()["id"])
    assert emulator.policy_list(CUSTOMER) == []


def test_control_state_shows_policies_and_device_assignments(emulator, api):
    devices = seed_devices(emulator, count=1)
    policy_id = emulator.seed_policy(CUSTOMER, "Stateful", ["skip_eula"])
    emulator.assign_seeded(CUSTOMER, devices[0]["id"], policy_id)
    state = PerRequestVerify(emulator.ca_path).get(emulator.url + "/_emulator/state").json()
    assert state[CUSTOMER]["b1"]["devices"][0]["policy"] == policy_id
    assert [(p["id"], p["name"], p["devicesAssignedCount"]) for p in state["policies"][CUSTOMER]] == [
        (policy_id, "Stateful", 1)]


# ----- faults and the log ----------------------------------------------------------------------------------
def test_fault_429_with_retry_after_then_success(emulator, api):
    emulator.add_fault("status", method="GET", path="/deviceBatches$", status=429, retry_after=3, times=2)
    first, second, third = (api("GET", "/deviceBatches") for _attempt in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "3" and first.json()["description"]


def test_fault_5xx_burst_and_token_endpoint_throttling(emulator, api):
    emulator.add_fault("status", path="/deviceBatches$", status=503, times=1)
    emulator.add_fault("status", path="/oauth2/", status=429, retry_after=1, times=1)
    assert api("GET", "/deviceBatches").status_code == 503
    resp = PerRequestVerify(emulator.ca_path).post(
        emulator.url + "/%s/oauth2/v2.0/token" % emulator.tenant_id, data={"grant_type": "client_credentials"})
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"


def test_fault_drop_after_apply(emulator, api):
    emulator.add_fault("drop_after_apply", method="POST", path="/deviceBatches$")
    with pytest.raises(requests.exceptions.ConnectionError):
        api("POST", "/deviceBatches", {"BatchId": "lost", "Devices": [{"ProductKey": "K1"}]})
    assert emulator.batch_ids(CUSTOMER) == ["lost"]  # applied although the answer never came
    assert emulator.writes()[-1]["status"] == "dropped"


def test_fault_drop_before_apply_and_delay(emulator, api):
    emulator.add_fault("drop", method="POST")
    with pytest.raises(requests.exceptions.ConnectionError):
        api("POST", "/deviceBatches", {"BatchId": "never", "Devices": [{"ProductKey": "K1"}]})
    assert emulator.batch_ids(CUSTOMER) == []
    emulator.add_fault("delay", method="GET", seconds=0.5)
    started = time.time()
    assert api("GET", "/deviceBatches").status_code == 200
    assert time.time() - started >= 0.5


def test_jobs_that_never_finish(emulator, api):
    emulator.jobs_never_finish = True
    resp = api("POST", "/deviceBatches", {"BatchId": "stuck", "Devices": [{"ProductKey": "K1"}]})
    time.sleep(0.4)
    assert api("GET", "/batchJobStatus/" + resp.headers["Location"].rsplit("/", 1)[-1]).json()["status"] == "queued"


def test_request_log_records_headers_and_bodies(emulator, api):
    api("POST", "/deviceBatches", {"BatchId": "logged", "Devices": [{"ProductKey": "K1"}]})
    api("GET", "/deviceBatches")
    writes = emulator.writes()
    assert len(writes) == 1 and writes[0]["headers"]["MS-RequestId"] == "req-1"
    assert writes[0]["body"]["BatchId"] == "logged"
    assert emulator.uploaded_devices() == [{"ProductKey": "K1"}]
    assert len(emulator.token_requests()) == 1


def test_command_line_emulator(tmp_path):
    import json
    import signal
    import subprocess
    import sys
    info = tmp_path / "info.json"
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--info-file", str(info), "--workdir",
                             str(tmp_path)], cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                            stdout=subprocess.PIPE)
    try:
        for _attempt in range(100):
            if info.exists():
                break
            time.sleep(0.1)
        data = json.loads(info.read_text())
        assert data["timing"]["profile"] is None and data["timing"]["latency"] == 0  # no profile: no latency
        resp = PerRequestVerify(data["ca_path"]).get(
            data["url"] + "/%s/v2.0/.well-known/openid-configuration" % data["tenant_id"])
        assert resp.json()["token_endpoint"].startswith(data["url"])
        PerRequestVerify(data["ca_path"]).post(data["url"] + "/_emulator/faults", json=[
            {"action": "status", "status": 503, "path": "/deviceBatches"}])
        log = PerRequestVerify(data["ca_path"]).get(data["url"] + "/_emulator/log").json()
        assert [e["path"] for e in log] == ["/%s/v2.0/.well-known/openid-configuration" % data["tenant_id"]]
        assert log[0]["latency"] == 0 and log[0]["answered"] >= log[0]["time"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
