"""Guards that `make mutants` removes (tools/mutants.py), on fakes and the emulator: the settle guard across a
customer's batches (engine and service), and redact() on error texts that hold a secret.

The assertion messages are the kill marks tools/mutants.py looks for: keep them in step.
"""
import pytest
import requests

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    OutcomeUnknownError, PartnerCenterClient, PartnerCenterError, StaticTokenProvider)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import batch_requests
from ansible_collections.partnercenter.autopilot.plugins.module_utils.engine import RunOptions, run_batches
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import UploadJournal
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import PartnerCenterService
from tests.helpers import CUSTOMER as EMULATED_CUSTOMER
from tests.unit.plugins.module_utils.fakes import CUSTOMER, URL, FakeClock, FakeService, FakeTransport, dev

SETTLE = "customer-scope settle did not wait for another batch"
LEAK = "secret leaked into the error"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.guard-token-payload.signature-part"
SECRET = "client-secret-value-0123456789"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def journal(tmp_path, clock):
    return UploadJournal(str(tmp_path / "journal.json"), URL, clock=clock.now)


def params(**overrides):
    p = dict(customer_id=CUSTOMER, batch_id="b1", devices=None, devices_file=None, batches=None, batches_file=None,
             state="present", purge=False, force=False, match_scope="customer", wait=True, wait_timeout=900,
             poll_interval=2.0, fail_on_device_errors=True, journal_path=None, timeout=60)
    p.update(overrides)
    return p


def serials(identities):
    return sorted(i["serial_number"] for i in identities)


# ----- the settle guard, match_scope customer: another batch of the customer still processing ---------------
def test_customer_scope_waits_for_another_batch_still_processing(clock, journal):
    service = FakeService(clock, job_seconds=30.0)
    # Another controller's upload to ANOTHER batch of the customer (not in this journal): only the listing's
    # status of that batch shows the running job.
    service.start_job(CUSTOMER, "elsewhere", [dict(serial_number="S1"), dict(serial_number="S2")], seconds=70.0)
    clock.sleep(10.0)
    assert [(b["id"], b["status"]) for b in service.list_batches(CUSTOMER)] == [("elsewhere", "processing")]
    started = clock.now()

    [result], _warnings = run_batches(service, journal, batch_requests(params(
        devices=[dev("S1"), dev("S2"), dev("S3")])), RunOptions(), clock)

    assert service.writes == [("create", CUSTOMER, "b1", ["S3"])], "%s: %r" % (SETTLE, service.writes)
    assert ("settled_batches", CUSTOMER, None) in service.calls, "customer scope settles every batch"
    assert service.write_times[0] >= clock.start + 70.0, "sent before the other batch's job had ended"
    assert service.write_times[0] - started <= 60.0 + 2.0, "the listing was polled every poll_interval"
    assert not result.get("failed"), result
    assert serials(result["already_present"]) == ["S1", "S2"] and serials(result["added"]) == ["S3"]
    assert service.listed_serials(CUSTOMER, "elsewhere") == ["S1", "S2"]
    assert service.listed_serials(CUSTOMER, "b1") == ["S3"]


def test_batch_scope_settles_only_its_own_batch(clock, journal):
    """The contrast: match_scope batch neither waits for nor reads the other batch."""
    service = FakeService(clock, job_seconds=30.0)
    service.start_job(CUSTOMER, "elsewhere", [dict(serial_number="S1")], seconds=70.0)

    [result], _warnings = run_batches(service, journal, batch_requests(params(
        match_scope="batch", devices=[dev("S1"), dev("S2")])), RunOptions(), clock)

    assert ("settled_batches", CUSTOMER, ["b1"]) in service.calls
    assert service.writes == [("create", CUSTOMER, "b1", ["S1", "S2"])] and service.write_times[0] == clock.start
    assert not result.get("failed"), result


def test_service_settled_batches_with_none_waits_for_any_batch(clock):
    transport = FakeTransport(clock)

    def listing():
        busy = clock.elapsed() < 25.0
        return [{"id": "b1", "status": "finished"}, {"id": "elsewhere", "status": "processing" if busy else "finished"}]
    transport.answers[("GET", transport.path(CUSTOMER, "deviceBatches"))] = listing
    service = PartnerCenterService(transport, clock=clock)

    assert sorted(service.settled_batches(CUSTOMER, ["b1"], clock.now() + 60, 5.0)) == ["b1", "elsewhere"]
    assert clock.elapsed() == 0.0, "its own batch is settled: no wait"
    assert sorted(service.settled_batches(CUSTOMER, None, clock.now() + 60, 5.0)) == ["b1", "elsewhere"]
    assert clock.elapsed() == 25.0 and clock.sleeps == [5.0] * 5, SETTLE


# ----- redact(): a secret in an error text -----------------------------------------------------------------
def secret_free(err):
    text = str(err)
    leaked = [name for name, value in (("token", TOKEN), ("client secret", SECRET)) if value in text]
    assert leaked == [], "%s: %s in %r" % (LEAK, ", ".join(leaked), text)
    assert "********" in text, "the secret's place is marked: %r" % text
    return text


@pytest.fixture
def echoing_client(emulator):
    """A client whose secrets are the token it sends and a client secret; the emulator's faults echo both."""
    return PartnerCenterClient(emulator.url, StaticTokenProvider(TOKEN), ca_path=emulator.ca_path,
                               secrets=[SECRET], backoff_base=0.01)


ECHO = "request refused: Authorization 'Bearer %s', client_secret=%s" % (TOKEN, SECRET)


def test_4xx_body_echoing_the_token_and_a_secret_is_redacted(emulator, echoing_client):
    emulator.add_fault("status", method="GET", path="/deviceBatches$", status=400, code=800002, description=ECHO)
    with pytest.raises(PartnerCenterError) as info:
        PartnerCenterService(echoing_client).list_batches(EMULATED_CUSTOMER)
    text = secret_free(info.value)
    assert "HTTP 400" in text and "request refused" in text and info.value.status == 400
    [entry] = emulator.requests("GET", "/deviceBatches$")
    assert entry["status"] == 400 and entry["headers"]["Authorization"] == "Bearer " + TOKEN


def test_lost_write_answer_echoing_a_secret_is_redacted(emulator, echoing_client):
    # A gateway timeout (answered before the request reaches the service: the token is never checked).
    emulator.add_fault("status", method="POST", path="/policies$", status=504, description=ECHO)
    with pytest.raises(OutcomeUnknownError) as info:
        echoing_client.request("POST", echoing_client.path(EMULATED_CUSTOMER, "policies"),
                               json_body={"name": "Kiosk", "category": "o_o_b_e", "policySettings": []},
                               customer_id=EMULATED_CUSTOMER)
    text = secret_free(info.value)
    assert "HTTP 504" in text and "re-read before sending again" in text
    assert len(emulator.requests("POST", "/policies$")) == 1


@pytest.mark.parametrize("error", [
    requests.exceptions.ConnectionError("proxy refused CONNECT; it echoed Authorization: Bearer %s" % TOKEN),
    requests.exceptions.ProxyError("proxy auth for client_secret=%s failed" % SECRET),
    requests.exceptions.SSLError("handshake failed after sending Bearer %s" % TOKEN),
], ids=["connection", "proxy", "tls"])
def test_connection_error_message_holding_a_secret_is_redacted(error):
    client = PartnerCenterClient(URL, StaticTokenProvider(TOKEN), secrets=[SECRET], max_attempts=1,
                                 sleep=lambda _seconds: None)
    sent = []

    def fail(method, url, **kwargs):
        sent.append((method, url, kwargs["headers"]["Authorization"]))
        raise error
    client.session.request = fail
    with pytest.raises(PartnerCenterError) as info:
        client.get_json(client.path(CUSTOMER, "deviceBatches"), CUSTOMER)
    secret_free(info.value)
    assert sent == [("GET", URL + client.path(CUSTOMER, "deviceBatches"), "Bearer " + TOKEN)]
