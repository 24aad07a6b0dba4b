"""client.py (and the service's endpoints over it) against the running emulator: headers, paging, retries,
chunking, refresh, lost answers, TLS."""
import os
import re
import time

import pytest
from urllib3.exceptions import InsecureRequestWarning

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import MsalTokenProvider
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    USER_AGENT, OutcomeUnknownError, PartnerCenterClient, PartnerCenterError, StaticTokenProvider)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import validate_devices
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import parse_location
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import (
    JobTimeoutError, PartnerCenterService)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.waiting import poll_delay
from tests.helpers import CUSTOMER, api_device, device


def provider(emu, **kwargs):
    return MsalTokenProvider(emu.tenant_id, emu.client_id, client_secret=emu.client_secret,
                             refresh_token=emu._initial_refresh_token, authority=emu.authority, ca_path=emu.ca_path,
                             **kwargs)


@pytest.fixture
def client(emulator):
    return PartnerCenterClient(emulator.url, provider(emulator), ca_path=emulator.ca_path, backoff_base=0.05)


def gaps(entries):
    """Seconds between consecutive logged requests, as the emulator saw them arrive."""
    return [b["time"] - a["time"] for a, b in zip(entries, entries[1:])]


def assert_waited_as_recorded(entries, retries):
    # client.retries is what the client meant to wait; only the emulator's log shows it did, before each resend.
    assert len(gaps(entries)) == len(retries)
    for gap, (_method, _path, _reason, delay) in zip(gaps(entries), retries):
        assert gap >= delay, "resent %.3fs after the previous attempt, %.3fs was recorded" % (gap, delay)


def test_headers_follow_the_api_document(emulator, client):
    PartnerCenterService(client).list_batches(CUSTOMER)
    PartnerCenterService(client).list_batches(CUSTOMER)
    gets = emulator.requests("GET", "/deviceBatches$")
    for entry in gets:
        h = entry["headers"]
        assert h["Accept"] == "application/json" and h["X-Locale"] == "en-US"
        assert h["MS-PartnerCenter-Application"] == "partnercenter.autopilot/0.1.0"
        assert h["Authorization"].startswith("Bearer emu-at-")
        assert h["MS-CorrelationId"] == client.correlation_id
    assert gets[0]["headers"]["MS-RequestId"] != gets[1]["headers"]["MS-RequestId"]  # new per logical call
    assert len(emulator.token_requests()) == 1


@pytest.mark.parametrize("style", ["both", "token", "link"])
def test_paging_followed_to_the_end(emulator, client, style):
    emulator.paging_style = style
    emulator.seed_batch(CUSTOMER, "big", [api_device(device(i)) for i in range(250)])
    items = PartnerCenterService(client).list_devices(CUSTOMER, "big")
    assert [d["serialNumber"] for d in items] == ["SN-%05d" % i for i in range(250)]
    assert len(emulator.requests("GET", "/big/devices$")) == 3


def test_retry_after_is_honoured_with_the_same_request_id(emulator, client):
    emulator.add_fault("status", method="GET", path="/deviceBatches$", status=429, retry_after=1, times=2)
    started = time.time()
    assert PartnerCenterService(client).list_batches(CUSTOMER) == []
    elapsed = time.time() - started
    entries = emulator.requests("GET", "/deviceBatches$")
    assert [e["status"] for e in entries] == [429, 429, 200]
    assert len({e["headers"]["MS-RequestId"] for e in entries}) == 1
    assert all(gap >= 1.0 for gap in gaps(entries)), gaps(entries)  # Retry-After: 1, as the service sees it
    assert elapsed >= 2.0
    assert [r[2:] for r in client.retries] == [(429, 1.0), (429, 1.0)]
    assert_waited_as_recorded(entries, client.retries)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_transient_errors_retried_with_backoff_on_reads(emulator, client, status):
    emulator.add_fault("status", method="GET", path="/deviceBatches$", status=status, times=3)
    assert PartnerCenterService(client).list_batches(CUSTOMER) == []
    delays = [r[3] for r in client.retries]
    assert len(delays) == 3 and all(0.025 * 2 ** i <= d <= 0.05 * 2 ** i for i, d in enumerate(delays)), delays
    entries = emulator.requests("GET", "/deviceBatches$")
    assert [e["status"] for e in entries] == [status] * 3 + [200]
    assert len({e["headers"]["MS-RequestId"] for e in entries}) == 1
    # backoff_base 0.05 with jitter of x0.5-1: the k-th resend comes at least 0.025 * 2**k s after the one before.
    assert all(gap >= 0.025 * 2 ** i for i, gap in enumerate(gaps(entries))), gaps(entries)
    assert_waited_as_recorded(entries, client.retries)


def test_retry_budget_bounds_the_wait(emulator):
    client = PartnerCenterClient(emulator.url, provider(emulator), ca_path=emulator.ca_path, retry_budget=1.5)
    emulator.add_fault("status", method="GET", status=429, retry_after=1, times=None)
    started = time.time()
    with pytest.raises(PartnerCenterError) as info:
        PartnerCenterService(client).list_batches(CUSTOMER)
    assert time.time() - started < 3
    assert info.value.status == 429 and "still throttled" in str(info.value)
    # One Retry-After fits in 1.5 s, a second does not: two attempts, a second apart, then the error.
    attempts = emulator.requests("GET", "/deviceBatches$")
    assert [e["status"] for e in attempts] == [429, 429] and gaps(attempts)[0] >= 1.0
    assert_waited_as_recorded(attempts, client.retries)


def test_post_refused_with_429_or_503_is_resent(emulator, client):
    emulator.add_fault("status", method="POST", path="/deviceBatches", status=503, times=1)
    emulator.add_fault("status", method="POST", path="/deviceBatches", status=429, retry_after=0, times=1)
    devs = validate_devices([device(0)])
    jobs = list(PartnerCenterService(client).upload(CUSTOMER, "b", devs, create=True))
    assert len(jobs) == 1 and [e["status"] for e in emulator.writes()] == [503, 429, 202]
    assert len({e["headers"]["MS-RequestId"] for e in emulator.writes()}) == 1
    assert [r[2] for r in client.retries] == [503, 429]
    assert_waited_as_recorded(emulator.writes(), client.retries)


def test_each_attempt_of_a_write_is_announced_before_it_is_sent(emulator, client):
    """The engine's journal learns when a resent upload really leaves (a killed run's re-run waits from then)."""
    emulator.add_fault("status", method="POST", path="/deviceBatches", status=429, retry_after=0, times=2)
    announced = []
    PartnerCenterService(client).send_chunk(CUSTOMER, "b", validate_devices([device(0)]), create=True,
                                            on_attempt=lambda: announced.append(len(emulator.writes())))
    assert announced == [0, 1, 2] and [e["status"] for e in emulator.writes()] == [429, 429, 202]


@pytest.mark.parametrize("fault", [dict(action="status", status=500), dict(action="status", status=502),
                                   dict(action="status", status=504), dict(action="drop_after_apply")])
def test_post_with_unknown_outcome_is_not_resent(emulator, client, fault):
    action = fault.pop("action")
    emulator.add_fault(action, method="POST", path="/deviceBatches", times=1, **fault)
    devs = validate_devices([device(0)])
    with pytest.raises(OutcomeUnknownError) as info:
        list(PartnerCenterService(client).upload(CUSTOMER, "b", devs, create=True))
    assert len(emulator.writes()) == 1
    assert "re-read" in str(info.value)


def test_post_dropped_before_apply_on_a_fresh_connection_is_still_unknown(emulator, client):
    emulator.add_fault("drop", method="POST", path="/deviceBatches", times=1)
    with pytest.raises(OutcomeUnknownError):
        list(PartnerCenterService(client).upload(CUSTOMER, "b", validate_devices([device(0)]), create=True))


def test_connection_refused_is_retried_for_posts(emulator):
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    client = PartnerCenterClient("https://127.0.0.1:%d" % port, StaticTokenProvider("t"), ca_path=emulator.ca_path,
                                 max_attempts=3, backoff_base=0.01)
    with pytest.raises(PartnerCenterError) as info:
        PartnerCenterService(client).create_batch(CUSTOMER, "b", [{"ProductKey": "K"}])
    assert not isinstance(info.value, OutcomeUnknownError)
    assert "failed after 3 attempts" in str(info.value) and len(client.retries) == 2


def test_chunks_of_at_most_500(emulator, client):
    devs = validate_devices([device(i, with_hash=False) for i in range(1201)])
    jobs = list(PartnerCenterService(client).upload(CUSTOMER, "big", devs, create=True))
    sizes = [len(e["body"]["Devices"]) if isinstance(e["body"], dict) else len(e["body"]) for e in emulator.writes()]
    assert sizes == [500, 500, 201] and len(jobs) == 3
    assert emulator.writes()[0]["path"].endswith("/deviceBatches")
    assert all(e["path"].endswith("/big/devices") for e in emulator.writes()[1:])


def test_expired_token_refreshed_once(emulator, client):
    PartnerCenterService(client).list_batches(CUSTOMER)
    emulator.expire_access_tokens()
    PartnerCenterService(client).list_batches(CUSTOMER)
    statuses = [e["status"] for e in emulator.requests("GET", "/deviceBatches$")]
    assert statuses == [200, 401, 200]
    assert len(emulator.token_requests()) == 2


def test_static_token_rejected_says_what_to_renew(emulator):
    client = PartnerCenterClient(emulator.url, StaticTokenProvider("emu-at-bogus-token-value"),
                                 ca_path=emulator.ca_path)
    with pytest.raises(PartnerCenterError) as info:
        PartnerCenterService(client).list_batches(CUSTOMER)
    text = str(info.value)
    assert info.value.status == 401 and "partnercenter_auth" in text and "MS-RequestId" in text
    assert "emu-at-bogus-token-value" not in text


def test_no_relationship_message(emulator, client):
    emulator.unrelated_customers.add(CUSTOMER)
    with pytest.raises(PartnerCenterError) as info:
        PartnerCenterService(client).list_batches(CUSTOMER)
    err = info.value
    assert (err.status, err.code) == (403, "20002")
    assert "no reseller relationship with customer %s" % CUSTOMER in str(err)
    assert err.request_id and err.correlation_id == client.correlation_id


def test_ca_path_wins_over_environment_bundles(emulator, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    client = PartnerCenterClient(emulator.url, provider(emulator), ca_path=emulator.ca_path)
    assert PartnerCenterService(client).list_batches(CUSTOMER) == []


def test_unknown_ca_refused_with_clear_message(emulator):
    client = PartnerCenterClient(emulator.url, StaticTokenProvider("x"))
    with pytest.raises(PartnerCenterError, match="TLS verification failed.*ca_path"):
        PartnerCenterService(client).list_batches(CUSTOMER)
    assert emulator.requests() == []


def test_validate_certs_false_connects(emulator):
    with pytest.warns(InsecureRequestWarning):  # unverified (token endpoint and API), and said so
        client = PartnerCenterClient(emulator.url, provider(emulator, validate_certs=False), validate_certs=False)
        assert PartnerCenterService(client).list_batches(CUSTOMER) == []


def test_wait_for_job_backs_off_and_times_out(emulator):
    slept = []

    def recording_sleep(seconds):
        slept.append(seconds)
        time.sleep(seconds)

    client = PartnerCenterClient(emulator.url, provider(emulator), ca_path=emulator.ca_path, sleep=recording_sleep)
    emulator.jobs_never_finish = True
    job = PartnerCenterService(client).create_batch(CUSTOMER, "b", [{"ProductKey": "K"}])
    seen = []
    started = time.time()
    with pytest.raises(JobTimeoutError) as info:
        PartnerCenterService(client).wait_for_job(CUSTOMER, job["tracking_id"], timeout=1.0, poll_interval=0.2, progress=seen.append)
    assert 0.9 <= time.time() - started < 3
    assert info.value.tracking_id == job["tracking_id"] and "partnercenter_batch_job_status_info" in str(info.value)
    assert slept[0] == 0.2  # poll_interval until a quarter of the waited time is longer; the last is clipped
    assert all(0.2 <= s <= 0.25 + 1e-3 for s in slept[:-1]), slept
    polls = emulator.requests("GET", "/batchJobStatus/")
    assert len(seen) == len(polls) == len(slept) + 1
    assert all(gap >= s for gap, s in zip(gaps(polls), slept)), (gaps(polls), slept)


def test_wait_for_job_sees_the_end_of_a_job_soon(emulator, client):
    emulator.queue_seconds, emulator.process_seconds = 0.5, 2.5
    job = PartnerCenterService(client).create_batch(CUSTOMER, "b", [{"ProductKey": "K"}])
    PartnerCenterService(client).wait_for_job(CUSTOMER, job["tracking_id"], timeout=30, poll_interval=0.5)
    polls = emulator.requests("GET", "/batchJobStatus/")
    state = emulator.jobs[job["tracking_id"]]
    end = state["created"] + emulator.queue_seconds + emulator.process_seconds
    # The last poll is the one that saw the end (it finished the job), the one before still saw it running.
    assert polls[-2]["time"] < end <= state["completed"] and polls[-1]["time"] <= state["completed"]
    # So the end was seen at most one poll delay late. That delay is a quarter of the time waited (0.5-0.75 s
    # here); a x1.5 backoff would have been at 1.7 s by then. The allowance is for the two requests'
    # round trips on a loaded machine, as the log times arrivals, not the client's sleeps.
    allowance = 0.5
    assert gaps(polls)[-1] <= poll_delay(polls[-1]["time"] - polls[0]["time"], 0.5) + allowance, gaps(polls)
    assert all(gap >= 0.5 for gap in gaps(polls)), gaps(polls)  # never more often than poll_interval
    assert len(polls) <= 8


def test_wait_for_job_finishes(emulator, client):
    job = PartnerCenterService(client).create_batch(CUSTOMER, "b", [{"ProductKey": "K"}])
    body = PartnerCenterService(client).wait_for_job(CUSTOMER, job["tracking_id"], timeout=10, poll_interval=0.1)
    assert body["status"] == "finished"


@pytest.mark.parametrize("location,expected", [
    ("/customers/c1/batchJobStatus/t1", ("c1", "t1")),
    ("https://api.partnercenter.microsoft.com/v1/customers/c1/batchJobStatus/t1", ("c1", "t1")),
    ("/v1/customers/c1/BatchJobStatus/t1?x=1", ("c1", "t1")),
    ("nonsense", (None, None)),
    ("", (None, None)),
])
def test_parse_location(location, expected):
    assert parse_location(location) == expected


def test_delete_of_missing_device_is_not_an_error(emulator, client):
    emulator.seed_batch(CUSTOMER, "b", [{"ProductKey": "K"}])
    PartnerCenterService(client).delete_device(CUSTOMER, "b", "no-such-device")
    assert [e["status"] for e in emulator.writes()] == [404]


def test_create_refused_because_the_batch_appeared_adds_to_it(emulator, client):
    # Read "absent", then another run created the batch: the create is answered 409 and nothing was applied.
    emulator.seed_batch(CUSTOMER, "b", [api_device(device(0))])
    devices = validate_devices([device(1), device(2)])
    jobs = list(PartnerCenterService(client).upload(CUSTOMER, "b", devices, create=True))
    posts = [e for e in emulator.writes() if e["method"] == "POST"]
    assert [(p["path"].rsplit("/", 1)[1], p["status"]) for p in posts] == [("deviceBatches", 409), ("devices", 202)]
    assert len(jobs) == 1 and [d["SerialNumber"] for d in posts[1]["body"]] == ["SN-00001", "SN-00002"]
    PartnerCenterService(client).wait_for_job(CUSTOMER, jobs[0]["tracking_id"], timeout=10, poll_interval=0.1)
    assert len(emulator.batch_devices(CUSTOMER, "b")) == 3


def test_user_agent_names_the_collection_version_of_galaxy_yml():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    with open(os.path.join(root, "galaxy.yml")) as handle:
        version = re.search(r"^version:\s*(\S+)", handle.read(), re.M).group(1)
    assert USER_AGENT == "partnercenter.autopilot/%s" % version
