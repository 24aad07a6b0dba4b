"""jobs.py on a fake service and clock: reading many jobs for the status module."""

from ansible_collections.partnercenter.autopilot.plugins.module_utils.jobs import read_jobs
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import JobTimeoutError
from tests.unit.plugins.module_utils.fakes import CUSTOMER, FakeService


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
