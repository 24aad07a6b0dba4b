"""uploads.py on a fake service and clock: each device sent once, a lost answer resolved by reading."""
import pytest

from tests.unit.plugins.module_utils.fakes import CUSTOMER, FakeService, JOB, dev, run, serials


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
