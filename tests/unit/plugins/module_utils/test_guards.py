"""guards.py on fakes: nothing is planned against a batch an upload may still be processing (the listing's
status, the journal's in-flight uploads); and the guards `make mutants` removes (tools/mutants.py): the settle
guard across a customer's batches, and redact() on error texts that hold a secret.

The assertion messages are the kill marks tools/mutants.py looks for: keep them in step.
"""
import pytest
import requests

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    OutcomeUnknownError, PartnerCenterClient, PartnerCenterError, StaticTokenProvider)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import Device
from ansible_collections.partnercenter.autopilot.plugins.module_utils.tasks import batch_requests
from ansible_collections.partnercenter.autopilot.plugins.module_utils.engine import RunOptions, run_batches
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import PartnerCenterService
from tests.helpers import CUSTOMER as EMULATED_CUSTOMER
from tests.unit.plugins.module_utils.fakes import (
    CUSTOMER, FakeService, FakeTransport, JOB, URL, calls_named, dev, params, run, serials)

SETTLE = "customer-scope settle did not wait for another batch"
LEAK = "secret leaked into the error"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.guard-token-payload.signature-part"
SECRET = "client-secret-value-0123456789"


# ----- the settle guard, match_scope customer: another batch of the customer still processing ---------------
def test_customer_scope_waits_for_another_batch_still_processing(clock, journal):
    service = FakeService(clock, job_seconds=30.0)
    # Another controller's upload to ANOTHER batch of the customer (not in this journal): only the listing's
    # status of that batch shows the running job.
    service.start_job(CUSTOMER, "elsewhere", [dict(serial_number="S1"), dict(serial_number="S2")], seconds=70.0)
    clock.sleep(10.0)
    assert [(b["id"], b["status"]) for b in service.list_batches(CUSTOMER)] == [("elsewhere", "processing")]
    started = clock.now()

    [result], _warnings, _undeclared = run_batches(service, journal, batch_requests(params(
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

    [result], _warnings, _undeclared = run_batches(service, journal, batch_requests(params(
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


# ----- 2. a batch still processing an upload -------------------------------------------------------------------
@pytest.mark.parametrize("match_scope", ["customer", "batch"])
@pytest.mark.parametrize("listed_as", ["queued", "processing"])
def test_batch_still_processing_is_waited_for_before_planning(clock, journal, listed_as, match_scope):
    service = FakeService(clock, job_seconds=JOB)
    # Another controller's upload, not in this journal: only the listing's status shows it.
    service.start_job(CUSTOMER, "b1", [dict(serial_number="S1"), dict(serial_number="S2")], seconds=70.0)
    if listed_as == "processing":
        clock.sleep(10.0)
    assert [b["status"] for b in service.list_batches(CUSTOMER)] == [listed_as]
    started = clock.now()

    result, _warnings = run(service, journal, clock, match_scope=match_scope,
                            devices=[dev("S1"), dev("S2"), dev("S3")])

    assert service.writes == [("add", CUSTOMER, "b1", ["S3"])], "devices of the running job were sent again"
    assert service.write_times[0] >= clock.start + 70.0
    assert service.write_times[0] - started <= 70.0 + 2.0, "the listing was polled every poll_interval"
    assert serials(result["already_present"]) == ["S1", "S2"] and serials(result["added"]) == ["S3"]
    assert not result["created"] and not result.get("failed"), result


def test_status_omitted_an_earlier_upload_in_the_journal_is_waited_for(clock, journal):
    service = FakeService(clock, job_seconds=JOB, with_status=False)
    earlier = [Device(serial_number="S1", manufacturer="Contoso", model="Laptop 7"),
               Device(serial_number="S2", manufacturer="Contoso", model="Laptop 7")]
    tracking_id = service.start_job(CUSTOMER, "b1", earlier, seconds=60.0)
    journal.accepted(journal.begin(CUSTOMER, "b1", earlier), tracking_id)

    result, _warnings = run(service, journal, clock, devices=[dev("S1"), dev("S2"), dev("S3")])

    assert service.writes == [("add", CUSTOMER, "b1", ["S3"])], "the earlier upload's devices were sent again"
    assert service.write_times[0] >= clock.start + 60.0
    assert service.calls.index(("wait_for_job", CUSTOMER, tracking_id)) < service.calls.index(
        ("send_chunk", CUSTOMER, "b1"))
    assert serials(result["already_present"]) == ["S1", "S2"] and serials(result["added"]) == ["S3"]
    assert journal.pending(CUSTOMER) == []


def test_status_omitted_a_killed_runs_upload_without_tracking_id_is_waited_for_until_listed(clock, journal):
    service = FakeService(clock, job_seconds=JOB, with_status=False)
    earlier = [Device(serial_number="S1", manufacturer="Contoso", model="Laptop 7")]
    # The run was killed while its request was on the way: the journal has the intent, the service the job.
    journal.begin(CUSTOMER, "b1", earlier)
    service.start_job(CUSTOMER, "b1", earlier, seconds=45.0)

    result, _warnings = run(service, journal, clock, devices=[dev("S1"), dev("S2")])

    assert service.writes == [("add", CUSTOMER, "b1", ["S2"])]
    assert service.write_times[0] >= clock.start + 45.0
    assert serials(result["already_present"]) == ["S1"] and serials(result["added"]) == ["S2"]
    assert journal.pending(CUSTOMER) == []


# ----- 4. wait: false ----------------------------------------------------------------------------------------
def test_wait_false_leaves_the_job_in_the_journal_and_the_next_run_waits_for_it(clock, journal):
    service = FakeService(clock, job_seconds=JOB, with_status=False)
    first, _warnings = run(service, journal, clock, wait=False, devices=[dev("S1"), dev("S2")])

    assert service.writes == [("create", CUSTOMER, "b1", ["S1", "S2"])]
    assert first["job_status"] == "queued" and first["changed"] and serials(first["added"]) == ["S1", "S2"]
    assert calls_named(service, "wait_for_job") == [] and calls_named(service, "job_status") == []
    assert clock.elapsed() == 0
    [entry] = journal.pending(CUSTOMER)
    assert entry["tracking_id"] == first["tracking_id"]

    second, _warnings = run(service, journal, clock, devices=[dev("S1"), dev("S2"), dev("S3")])

    assert service.writes == [("create", CUSTOMER, "b1", ["S1", "S2"]), ("add", CUSTOMER, "b1", ["S3"])]
    assert ("wait_for_job", CUSTOMER, first["tracking_id"]) in service.calls
    assert service.write_times[1] >= clock.start + JOB
    assert serials(second["already_present"]) == ["S1", "S2"] and serials(second["added"]) == ["S3"]
    assert journal.pending(CUSTOMER) == []
