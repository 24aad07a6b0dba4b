"""The emulator's own tests: it must behave like partnercenter-api.md says, independent of the collection."""
import base64
import os
import time

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
    policies = api("GET", "/policies").json()["items"]
    resp = api("PATCH", "/DevicePolicyUpdates", {"Devices": [{"Id": device["id"], "Policies": [
        {"Key": "o_o_b_e", "Value": policies[0]["id"]}]}], "Attributes": {"ObjectType": "DevicePolicyUpdateRequest"}})
    assert resp.status_code == 202
    api.wait(resp.headers["Location"])
    assert api("GET", "/deviceBatches/b1/devices").json()["items"][0]["policies"] == [
        {"key": "o_o_b_e", "value": policies[0]["id"]}]
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
        resp = PerRequestVerify(data["ca_path"]).get(
            data["url"] + "/%s/v2.0/.well-known/openid-configuration" % data["tenant_id"])
        assert resp.json()["token_endpoint"].startswith(data["url"])
        PerRequestVerify(data["ca_path"]).post(data["url"] + "/_emulator/faults", json=[
            {"action": "status", "status": 503, "path": "/deviceBatches"}])
        log = PerRequestVerify(data["ca_path"]).get(data["url"] + "/_emulator/log").json()
        assert [e["path"] for e in log] == ["/%s/v2.0/.well-known/openid-configuration" % data["tenant_id"]]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
