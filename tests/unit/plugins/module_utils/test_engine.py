"""engine.py over a fake service and a fake clock (no emulator, no HTTP), and service.py over a fake transport.

Every engine test asserts the exact writes: "exactly once" is about what is sent, not only what is reported.
"""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import AuthError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (
    Device, batch_requests, validate_devices)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.engine import (
    RunOptions, read_jobs, run_batches)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import UploadJournal
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import (
    JobStatusError, JobTimeoutError, PartnerCenterService)
from tests.unit.plugins.module_utils.fakes import (
    CUSTOMER, CUSTOMER_B, CUSTOMER_C, URL, FakeClock, FakeService, FakeTransport, dev, hw_hash)

JOB = 30.0  # how long the fake service's jobs run unless a test says otherwise


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def journal(tmp_path, clock):
    return UploadJournal(str(tmp_path / "journal.json"), URL, clock=clock.now)


def params(**overrides):
    """The module's options with their defaults (partnercenter_device_batch), as the engine gets them."""
    p = dict(customer_id=CUSTOMER, batch_id="b1", devices=None, devices_file=None, batches=None, batches_file=None,
             state="present", purge=False, force=False, match_scope="customer", wait=True, wait_timeout=900,
             poll_interval=2.0, fail_on_device_errors=True, journal_path=None, timeout=60)
    p.update(overrides)
    return p


def run(service, journal, clock, options=None, **overrides):
    """One batch through run_batches, as the module runs it: (its result, warnings)."""
    results, warnings = run_batches(service, journal, batch_requests(params(**overrides)),
                                    options or RunOptions(), clock)
    assert len(results) == 1
    return results[0], warnings


def serials(identities):
    return sorted(i["serial_number"] for i in identities)


def calls_named(service, name):
    return [c for c in service.calls if c[0] == name]


# ----- 1. a lost answer ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("with_status", [True, False], ids=["status", "no-status"])
def test_lost_answer_that_landed_is_waited_for_and_nothing_is_sent_again(clock, journal, with_status):
    service = FakeService(clock, job_seconds=JOB, with_status=with_status)
    service.lose = {1: "after"}
    result, warnings = run(service, journal, clock, devices=[dev("S1"), dev("S2")])

    assert service.writes == [("create", CUSTOMER, "b1", ["S1", "S2"])]
    assert not result.get("failed"), result
    assert serials(result["added"]) == ["S1", "S2"] and result["changed"] and result["created"]
    assert result["already_present"] == []
    # It waited until the upload was listed, and saw it within a quarter of the time waited.
    assert JOB <= clock.elapsed() <= JOB * 1.25 + 2
    assert service.listed_serials(CUSTOMER, "b1") == ["S1", "S2"]
    assert journal.pending(CUSTOMER) == []
    assert any("resolving by reading the batch again" in w for w in warnings)


def test_lost_answer_for_part_of_the_input_sends_only_the_devices_it_did_not_hold(clock, journal):
    service = FakeService(clock, job_seconds=JOB, with_status=False, chunk_size=2)
    service.lose = {1: "after"}
    result, _warnings = run(service, journal, clock, devices=[dev("S1"), dev("S2"), dev("S3")])

    assert service.writes == [("create", CUSTOMER, "b1", ["S1", "S2"]), ("add", CUSTOMER, "b1", ["S3"])]
    assert service.write_times[1] >= clock.start + JOB, "S3 was sent before the lost upload had landed"
    assert not result.get("failed"), result
    assert serials(result["added"]) == ["S1", "S2", "S3"]
    assert [j["devices"] for j in result["jobs"]] == [1] and result["job_status"] == "finished"
    assert service.listed_serials(CUSTOMER, "b1") == ["S1", "S2", "S3"]
    assert journal.pending(CUSTOMER) == []


def test_lost_answer_of_a_later_chunk_keeps_the_earlier_job_and_sends_nothing_again(clock, journal):
    service = FakeService(clock, job_seconds=JOB, with_status=False, chunk_size=2)
    service.lose = {2: "after"}
    result, _warnings = run(service, journal, clock, devices=[dev("S1"), dev("S2"), dev("S3")])

    assert service.writes == [("create", CUSTOMER, "b1", ["S1", "S2"]), ("add", CUSTOMER, "b1", ["S3"])]
    assert not result.get("failed"), result
    assert serials(result["added"]) == ["S1", "S2", "S3"]
    assert len(result["jobs"]) == 1 and result["jobs"][0]["status"] == "finished"
    assert journal.pending(CUSTOMER) == []


@pytest.mark.parametrize("with_status", [True, False], ids=["status", "no-status"])
def test_lost_request_that_never_reached_the_service_is_sent_again_after_the_grace_period(
        clock, journal, with_status):
    service = FakeService(clock, job_seconds=JOB, with_status=with_status)
    service.lose = {1: "before"}
    result, _warnings = run(service, journal, clock, devices=[dev("S1"), dev("S2")])

    # The batch was never created, so once the grace period (min(timeout, 10 s)) is over nothing can be running.
    assert service.writes == [("create", CUSTOMER, "b1", ["S1", "S2"])] * 2
    assert 10 <= service.write_times[1] - clock.start <= 12
    assert not result.get("failed"), result
    assert serials(result["added"]) == ["S1", "S2"]
    assert journal.pending(CUSTOMER) == []


def test_lost_answer_while_an_earlier_chunk_of_the_same_run_finishes_sends_nothing_twice(clock, journal):
    service = FakeService(clock, job_seconds=JOB, with_status=False, chunk_size=2)
    service.lose = {2: "after"}
    service.job_times = {2: 120.0}
    run(service, journal, clock, devices=[dev("S1"), dev("S2"), dev("S3"), dev("S4")])

    assert service.writes == [("create", CUSTOMER, "b1", ["S1", "S2"]), ("add", CUSTOMER, "b1", ["S3", "S4"])]


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


# ----- 5. check mode -------------------------------------------------------------------------------------------
def test_check_mode_plans_and_reports_without_writing(clock, journal):
    service = FakeService(clock)
    service.seed(CUSTOMER, "b1", ["S1"])
    result, _warnings = run(service, journal, clock, RunOptions(check_mode=True), devices=[dev("S1"), dev("S2")])

    assert service.writes == []
    assert result["plan"]["would_add"] == [dict(serial_number="S2", product_key=None)]
    assert serials(result["plan"]["already_present"]) == ["S1"] and result["plan"]["would_remove"] == []
    assert serials(result["added"]) == ["S2"] and result["changed"] and not result["created"]
    assert journal.pending(CUSTOMER) == []


def test_check_mode_removal_and_new_batch_write_nothing(clock, journal):
    service = FakeService(clock)
    service.seed(CUSTOMER, "b1", ["S1", "S2"])
    removal, _warnings = run(service, journal, clock, RunOptions(check_mode=True), state="absent",
                             devices=[dict(serial_number="S1")])
    created, _warnings = run(service, journal, clock, RunOptions(check_mode=True), batch_id="b2",
                             match_scope="batch", devices=[dev("S1")])

    assert service.writes == []
    assert serials(removal["removed"]) == ["S1"] and serials(removal["plan"]["would_remove"]) == ["S1"]
    assert removal["changed"]
    assert created["created"] and serials(created["added"]) == ["S1"]


# ----- 6. diff ----------------------------------------------------------------------------------------------
def test_diff_shows_device_labels_before_and_after_never_hashes(clock, journal):
    service = FakeService(clock, job_seconds=JOB)
    ids = service.seed(CUSTOMER, "b1", ["S1", "S2"])
    result, _warnings = run(service, journal, clock, RunOptions(diff=True), purge=True,
                            devices=[dev("S1", with_hash=True), dev("S3", with_hash=True)])

    assert result["diff"] == dict(before=dict(batch_id="b1", devices=["S1", "S2"]),
                                  after=dict(batch_id="b1", devices=["S1", "S3"]))
    assert service.writes == [("delete", CUSTOMER, "b1", [ids["S2"]]), ("add", CUSTOMER, "b1", ["S3"])]
    assert serials(result["removed"]) == ["S2"] and serials(result["added"]) == ["S3"]
    text = repr(result)
    assert hw_hash("S1") not in text and hw_hash("S3") not in text


def test_diff_of_a_new_batch_in_check_mode(clock, journal):
    service = FakeService(clock)
    result, _warnings = run(service, journal, clock, RunOptions(check_mode=True, diff=True),
                            devices=[dev("S2", with_hash=True), dev("S1")])

    assert result["diff"] == dict(before=dict(batch_id=None, devices=[]),
                                  after=dict(batch_id="b1", devices=["S1", "S2"]))
    assert service.writes == [] and hw_hash("S2") not in repr(result)


def test_a_token_refused_mid_run_fails_that_batch_and_the_others_still_finish(clock, journal):
    """AuthError (a refresh that Entra ID refuses) is a failed result, not a module traceback."""
    service = FakeService(clock, job_seconds=JOB)
    service.refuse[CUSTOMER_B] = AuthError("Entra ID refused the token request: invalid_grant")
    requests = batch_requests(params(customer_id=None, batch_id=None, batches=[
        dict(customer_id=CUSTOMER_B, batch_id="b2", devices=[dev("S2")]),
        dict(customer_id=CUSTOMER, batch_id="b1", devices=[dev("S1")])]))
    results, _warnings = run_batches(service, journal, requests, RunOptions(), clock)
    assert results[0]["failed"] and "invalid_grant" in results[0]["msg"]
    assert not results[1].get("failed") and service.writes == [("create", CUSTOMER, "b1", ["S1"])]


def test_check_mode_only_reads_the_journal(clock, tmp_path):
    path = tmp_path / "sub" / "journal.json"
    service = FakeService(clock)
    result, _warnings = run(service, UploadJournal(str(path), URL, clock=clock.now, read_only=True), clock,
                            RunOptions(check_mode=True), devices=[dev("S1")])
    assert result["changed"] and service.writes == [] and not (tmp_path / "sub").exists()


# ----- 7. several batches ------------------------------------------------------------------------------------
def test_several_batches_one_refused_the_others_finish_results_in_input_order(clock, journal):
    service = FakeService(clock, job_seconds=JOB)
    service.refuse[CUSTOMER_B] = PartnerCenterError(
        "Partner Center answered 403 (20002): there is no reseller relationship with customer %s" % CUSTOMER_B,
        status=403, code="20002", request_id="req-1", correlation_id="corr-1")
    requests = batch_requests(params(customer_id=None, batch_id=None, batches=[
        dict(customer_id=CUSTOMER, batch_id="b1", devices=[dev("S1")]),
        dict(customer_id=CUSTOMER_B, batch_id="b2", devices=[dev("S2")]),
        dict(customer_id=CUSTOMER_C, batch_id="b3", devices=[dev("S3"), dev("S4")]),
    ]))
    results, _warnings = run_batches(service, journal, requests, RunOptions(), clock)

    assert [(r["customer_id"], r["batch_id"]) for r in results] == [
        (CUSTOMER, "b1"), (CUSTOMER_B, "b2"), (CUSTOMER_C, "b3")]
    assert service.writes == [("create", CUSTOMER, "b1", ["S1"]), ("create", CUSTOMER_C, "b3", ["S3", "S4"])]
    refused = results[1]
    assert refused["failed"] and refused["status"] == 403 and refused["code"] == "20002"
    assert "no reseller relationship" in refused["msg"] and refused["request_id"] == "req-1"
    for result, added in ((results[0], ["S1"]), (results[2], ["S3", "S4"])):
        assert not result.get("failed"), result
        assert result["job_status"] == "finished" and serials(result["added"]) == added
    # Both uploads went out before either job was waited for: the jobs ran side by side.
    assert service.write_times == [clock.start, clock.start] and clock.elapsed() < 2 * JOB
    assert journal.pending(CUSTOMER) == [] and journal.pending(CUSTOMER_C) == []


@pytest.mark.parametrize("fail_on_device_errors", [True, False])
def test_device_registered_to_another_tenant(clock, journal, fail_on_device_errors):
    service = FakeService(clock, job_seconds=JOB)
    service.foreign.add("S2")
    result, warnings = run(service, journal, clock, fail_on_device_errors=fail_on_device_errors,
                           devices=[dev("S1"), dev("S2")])

    assert service.writes == [("create", CUSTOMER, "b1", ["S1", "S2"])]
    assert result["job_status"] == "finished_with_errors" and serials(result["added"]) == ["S1"]
    message = result["msg"] if fail_on_device_errors else " ".join(warnings)
    assert "S2: registered to another tenant" in message and "code 808" in message
    assert bool(result.get("failed")) == fail_on_device_errors


# ----- 8. read_jobs ------------------------------------------------------------------------------------------
def test_read_jobs_404_names_the_job_and_returns_those_read_before(clock):
    service = FakeService(clock)
    first = service.start_job(CUSTOMER, "b1", [dict(serial_number="S1")], seconds=0.0)
    later = service.start_job(CUSTOMER, "b1", [dict(serial_number="S2")], seconds=0.0)
    targets = [(CUSTOMER, first, dict(customer_id=CUSTOMER, batch_id="b1")),
               (CUSTOMER, "no-such-job", dict(customer_id=CUSTOMER, batch_id="b1")),
               (CUSTOMER, later, dict(customer_id=CUSTOMER, batch_id="b1"))]
    done, err = read_jobs(service, targets, wait=False, wait_timeout=60, poll_interval=2.0, clock=clock)

    assert [(j["tracking_id"], j["status"], j["batch_id"]) for j in done] == [(first, "finished", "b1")]
    assert str(err).startswith("tracking id no-such-job was not found for customer %s" % CUSTOMER)
    assert err.status == 404 and err.code == "600040"
    assert ("job_status", CUSTOMER, later) not in service.calls


def test_read_jobs_waits_within_one_wait_timeout_for_all(clock):
    service = FakeService(clock)
    quick = service.start_job(CUSTOMER, "b1", [dict(serial_number="S1")], seconds=40.0)
    slow = service.start_job(CUSTOMER, "b1", [dict(serial_number="S2")], seconds=100.0)
    targets = [(CUSTOMER, quick, {}), (CUSTOMER, slow, {})]
    done, err = read_jobs(service, targets, wait=True, wait_timeout=60, poll_interval=2.0, clock=clock)

    assert isinstance(err, JobTimeoutError)
    assert [(j["tracking_id"], j["status"]) for j in done] == [(quick, "finished"), (slow, "processing")]
    assert clock.elapsed() == 60


# ----- service.py over a fake transport ------------------------------------------------------------------------
def accepted(tracking_id):
    return {"location": "/customers/%s/batchJobStatus/%s" % (CUSTOMER, tracking_id), "tracking_id": tracking_id}


def test_create_refused_with_409_adds_the_same_devices_to_the_batch(clock):
    transport = FakeTransport(clock)
    create = transport.path(CUSTOMER, "deviceBatches")
    add = transport.path(CUSTOMER, "deviceBatches", "batch 1", "devices")
    transport.answers[("POST", create)] = PartnerCenterError("conflict", status=409, code="600041")
    transport.answers[("POST", add)] = accepted("t-1")
    chunk = validate_devices([dev("S1"), dev("S2", with_hash=True)])
    job = PartnerCenterService(transport, clock=clock).send_chunk(CUSTOMER, "batch 1", chunk, create=True)

    assert [c[:2] for c in transport.calls] == [("POST", create), ("POST", add)]
    assert add.endswith("/deviceBatches/batch%201/devices")
    sent = transport.calls[0][2]
    assert sent["BatchId"] == "batch 1" and transport.calls[1][2] == sent["Devices"]
    assert [d.get("SerialNumber") for d in sent["Devices"]] == ["S1", "S2"]
    assert job["tracking_id"] == "t-1" and job["devices"] is chunk


def test_create_refused_otherwise_is_not_turned_into_an_add(clock):
    transport = FakeTransport(clock)
    create = transport.path(CUSTOMER, "deviceBatches")
    transport.answers[("POST", create)] = PartnerCenterError("invalid input", status=400, code="800002")
    with pytest.raises(PartnerCenterError) as caught:
        PartnerCenterService(transport, clock=clock).send_chunk(CUSTOMER, "b1", validate_devices([dev("S1")]),
                                                                create=True)
    assert caught.value.status == 400 and [c[:2] for c in transport.calls] == [("POST", create)]


def test_upload_creates_with_the_first_chunk_and_adds_the_rest(clock):
    transport = FakeTransport(clock)
    create, add = transport.path(CUSTOMER, "deviceBatches"), transport.path(CUSTOMER, "deviceBatches", "b1", "devices")
    transport.answers[("POST", create)] = accepted("t-1")
    transport.answers[("POST", add)] = accepted("t-2")
    service = PartnerCenterService(transport, clock=clock, chunk_size=2)
    jobs = list(service.upload(CUSTOMER, "b1", validate_devices([dev("S1"), dev("S2"), dev("S3")]), create=True))

    assert [c[:2] for c in transport.calls] == [("POST", create), ("POST", add)]
    assert [[d.serial_number for d in j["devices"]] for j in jobs] == [["S1", "S2"], ["S3"]]


@pytest.mark.parametrize("status, raises", [(404, False), (500, True)])
def test_delete_404_is_done_other_errors_are_not(clock, status, raises):
    transport = FakeTransport(clock)
    path = transport.path(CUSTOMER, "deviceBatches", "b1", "devices", "d-1")
    transport.answers[("DELETE", path)] = PartnerCenterError("answered %d" % status, status=status)
    service = PartnerCenterService(transport, clock=clock)
    if raises:
        with pytest.raises(PartnerCenterError):
            service.delete_device(CUSTOMER, "b1", "d-1")
    else:
        assert service.delete_device(CUSTOMER, "b1", "d-1") is None
    assert transport.calls == [("DELETE", path, None)]


def job_answer(transport, clock, tracking_id, done_at):
    """A job status endpoint whose job finishes at done_at (None: never); remembers when it was polled."""
    polls = []

    def answer():
        polls.append(clock.now() - clock.start)
        state = "finished" if done_at is not None and clock.now() - clock.start >= done_at else "processing"
        return {"batchTrackingId": tracking_id, "status": state, "devicesStatus": []}
    transport.answers[("GET", transport.path(CUSTOMER, "batchJobStatus", tracking_id))] = answer
    return polls


def test_wait_for_job_polls_at_poll_interval_then_a_quarter_of_the_time_waited(clock):
    transport = FakeTransport(clock)
    polls = job_answer(transport, clock, "t-1", done_at=100.0)
    seen = []
    body = PartnerCenterService(transport, clock=clock).wait_for_job(CUSTOMER, "t-1", 900, poll_interval=2.0,
                                                                     progress=seen.append)

    assert body["status"] == "finished" and len(seen) == len(polls)
    expected = [0.0]
    while expected[-1] < 100.0:
        expected.append(expected[-1] + min(30.0, max(2.0, expected[-1] / 4.0)))
    assert polls == pytest.approx(expected)
    assert polls[1:6] == pytest.approx([2.0, 4.0, 6.0, 8.0, 10.0])
    assert polls[-1] - 100.0 <= 100.0 / 4.0, "the job's end was seen more than a quarter late"


def test_wait_for_job_times_out_with_job_timeout_error_after_the_timeout(clock):
    transport = FakeTransport(clock)
    polls = job_answer(transport, clock, "t-1", done_at=None)
    with pytest.raises(JobTimeoutError) as caught:
        PartnerCenterService(transport, clock=clock).wait_for_job(CUSTOMER, "t-1", 300, poll_interval=2.0)

    assert caught.value.tracking_id == "t-1" and caught.value.last_status["status"] == "processing"
    assert "t-1" in str(caught.value)
    assert clock.elapsed() == pytest.approx(300.0) and polls[-1] == pytest.approx(300.0)
    assert max(b - a for a, b in zip(polls, polls[1:])) == pytest.approx(30.0), "poll_cap bounds the spacing"


def test_settled_batches_waits_while_the_listing_says_processing(clock):
    transport = FakeTransport(clock)

    def listing():
        busy = clock.elapsed() < 25.0
        return [{"id": "b1", "status": "processing" if busy else "finished"}, {"id": "other", "status": "queued"}]
    transport.answers[("GET", transport.path(CUSTOMER, "deviceBatches"))] = listing
    service = PartnerCenterService(transport, clock=clock)

    assert sorted(service.settled_batches(CUSTOMER, ["b1"], clock.now() + 60, 5.0)) == ["b1", "other"]
    assert clock.elapsed() == 25.0 and clock.sleeps == [5.0] * 5
    with pytest.raises(JobTimeoutError):
        service.settled_batches(CUSTOMER, None, clock.now() + 12, 5.0)
    assert clock.elapsed() == 37.0


# ----- 9. answers as the service really gave them (partnercenter-api.md, "Recorded answers") --------------------
def test_a_batch_declared_in_another_casing_is_that_batch_and_keeps_the_services_spelling(clock, journal):
    service = FakeService(clock, job_seconds=JOB)
    service.seed(CUSTOMER, "Testing1", ["S1"])
    result, warnings = run(service, journal, clock, batch_id="testing1", devices=[dev("S1"), dev("S2")])

    assert service.writes == [("add", CUSTOMER, "Testing1", ["S2"])], "a second batch was created"
    assert result["created"] is False and result["batch_id"] == "Testing1"
    assert any("exists as 'Testing1'" in w for w in warnings)
    again, _warnings = run(service, journal, clock, batch_id="TESTING1", devices=[dev("S1"), dev("S2")])
    assert again["changed"] is False and len(service.writes) == 1


@pytest.mark.parametrize("status", ["unknown", "Cancelled", None])
def test_wait_for_job_reports_a_status_that_says_nothing_about_the_end_instead_of_polling_on(clock, status):
    transport = FakeTransport(clock)
    polls = []

    def answer():
        polls.append(clock.elapsed())
        return {"batchTrackingId": "t-1", "status": status, "devicesStatus": []}
    transport.answers[("GET", transport.path(CUSTOMER, "batchJobStatus", "t-1"))] = answer
    with pytest.raises(JobStatusError) as caught:
        PartnerCenterService(transport, clock=clock).wait_for_job(CUSTOMER, "t-1", 900, poll_interval=2.0)

    assert polls == [0.0], "polled on a status that will not change"
    assert "t-1" in str(caught.value) and repr(status) in str(caught.value)


@pytest.mark.parametrize("status", ["Finished", "FinishedWithErrors", "FINISHED"])
def test_wait_for_job_reads_final_statuses_in_any_casing(clock, status):
    transport = FakeTransport(clock)
    transport.answers[("GET", transport.path(CUSTOMER, "batchJobStatus", "t-1"))] = {
        "batchTrackingId": "t-1", "status": status, "devicesStatus": []}
    body = PartnerCenterService(transport, clock=clock).wait_for_job(CUSTOMER, "t-1", 900, poll_interval=2.0)
    assert body["status"] == status and clock.elapsed() == 0.0


def test_settled_batches_reads_statuses_in_any_casing_and_batch_ids_ignoring_case(clock):
    transport = FakeTransport(clock)

    def listing():
        busy = clock.elapsed() < 10.0
        return [{"id": "Testing1", "status": "Processing" if busy else "Finished", "deviceCount": 3}]
    transport.answers[("GET", transport.path(CUSTOMER, "deviceBatches"))] = listing
    batches = PartnerCenterService(transport, clock=clock).settled_batches(CUSTOMER, ["testing1"], clock.now() + 60,
                                                                           5.0)
    assert clock.elapsed() == 10.0
    assert batches == {"Testing1": {"id": "Testing1", "status": "finished", "creation_date": None,
                                    "devices_count": 3}}


# ----- 10. one outcome per declared device ---------------------------------------------------------------------
def outcomes(result):
    return [(d["serial_number"], d["outcome"]) for d in result["devices"]]


def test_every_declared_device_has_one_outcome_whatever_became_of_it(clock, journal):
    service = FakeService(clock, job_seconds=JOB)
    service.seed(CUSTOMER, "b1", ["S0"])
    service.foreign.add("S2")
    result, _warnings = run(service, journal, clock, fail_on_device_errors=False,
                            devices=[dev("S0"), dev("S1"), dev("S2")])
    assert outcomes(result) == [("S0", "already_present"), ("S1", "registered"), ("S2", "failed")]
    assert result["devices"][2]["error_code"] == "808" and "another tenant" in result["devices"][2]["explanation"]
    assert all(d["explanation"] for d in result["devices"])
    assert serials(result["added"]) == ["S1"] and serials(result["already_present"]) == ["S0"]


def test_wait_false_reports_each_uploaded_device_as_submitted(clock, journal):
    service = FakeService(clock, job_seconds=JOB)
    service.seed(CUSTOMER, "b1", ["S0"])
    result, _warnings = run(service, journal, clock, wait=False, devices=[dev("S0"), dev("S1"), dev("S2")])
    assert outcomes(result) == [("S0", "already_present"), ("S1", "submitted"), ("S2", "submitted")]
    assert result["changed"] and serials(result["added"]) == ["S1", "S2"]


def test_a_job_outlasting_wait_timeout_leaves_its_devices_pending_and_the_task_changed(clock, journal):
    service = FakeService(clock, job_seconds=600.0)
    result, _warnings = run(service, journal, clock, wait_timeout=60, devices=[dev("S1"), dev("S2")])
    assert result["failed"] and result["changed"], "a write was sent: the task changed something"
    assert outcomes(result) == [("S1", "pending"), ("S2", "pending")]
    assert result["added"] == []


def test_a_lost_answer_found_registered_is_recovered_and_a_batch_failing_before_sending_refuses_nothing_sent(
        clock, journal):
    service = FakeService(clock, job_seconds=JOB)
    service.lose = {1: "after"}
    result, _warnings = run(service, journal, clock, devices=[dev("S1")])
    assert outcomes(result) == [("S1", "recovered")] and result["changed"]

    refused = FakeService(clock)
    refused.refuse[CUSTOMER] = PartnerCenterError("403 no relationship", status=403, code="20002")
    failed, _warnings = run(refused, journal, clock, batch_id="b2", devices=[dev("S1"), dev("S2")])
    assert failed["failed"] and not failed["changed"]
    assert [(d["outcome"], d["status"], d["explanation"]) for d in failed["devices"]] == [
        ("failed", "not sent", failed["msg"])] * 2
