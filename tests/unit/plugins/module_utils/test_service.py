"""service.py over a fake transport: what the endpoints' answers mean, and its two waits (a job, a settled
listing) on the fake clock."""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import validate_devices
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import (
    JobStatusError, JobTimeoutError, PartnerCenterService)
from tests.unit.plugins.module_utils.fakes import CUSTOMER, FakeTransport, dev


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
