"""tests/benchmarks/timeline.py on made-up logs: the accounting of the time beyond the job time."""
import pytest

from tests.benchmarks import timeline


def entry(start, end, method="GET", path="/v1/customers/c/deviceBatches"):
    return {"time": start, "answered": end, "method": method, "path": path}


def test_beyond_is_uploads_plus_tail_when_a_job_outlasts_the_uploads():
    log = [entry(0.0, 1.0), entry(1.0, 3.0, "POST"), entry(20.0, 20.5)]
    account = timeline.beyond_job_time(log, [3.0], [18.0])
    assert account == pytest.approx(dict(wall=20.5, uploads=3.0, waiting=15.0, tail=2.5, beyond=5.5))


def test_jobs_ended_before_the_last_upload_leave_nothing_to_subtract():
    log = [entry(0.0, 1.0, "POST"), entry(1.0, 10.0, "POST"), entry(10.0, 12.0)]
    account = timeline.beyond_job_time(log, [1.0, 10.0], [5.0, 9.0])
    assert account["waiting"] == 0.0 and account["beyond"] == pytest.approx(12.0) == account["wall"]
    assert account["uploads"] + account["tail"] == pytest.approx(account["beyond"])


def test_in_flight_and_idle():
    log = [entry(0.0, 2.0), entry(1.0, 3.0), entry(5.0, 6.0)]
    assert timeline.in_flight(log, 0.0, 6.0) == pytest.approx(5.0 / 6.0)
    assert timeline.idle(log, 0.0, 6.0) == pytest.approx(2.0)  # 3 to 5
    assert timeline.idle(log, 0.0, 2.0) == pytest.approx(0.0)


def test_seen_late_counts_from_the_jobs_end_to_the_first_read_after_it():
    path = "/v1/customers/c/batchJobStatus/"
    log = [entry(4.0, 4.3, path=path + "j1"), entry(6.0, 6.4, path=path + "j1"), entry(9.0, 9.2, path=path + "j1"),
           entry(1.0, 1.2, path=path + "j2")]
    late = timeline.seen_late(log, [("j1", 0.0, 5.0, 5.0), ("j2", 0.0, 3.0, 3.0)])
    assert late == {"j1": pytest.approx(1.4)}  # j2 was never read after its end


def test_seen_late_since_counts_from_the_later_of_the_end_and_since():
    path = "/v1/customers/c/batchJobStatus/"
    log = [entry(10.0, 10.5, path=path + "j1"), entry(30.0, 30.5, path=path + "j2")]
    late = timeline.seen_late(log, [("j1", 0.0, 2.0, 2.0), ("j2", 0.0, 12.0, 12.0)], since=10.0)
    assert late == {"j1": pytest.approx(0.5), "j2": pytest.approx(18.5)}
