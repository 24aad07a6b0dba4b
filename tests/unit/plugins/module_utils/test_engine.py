"""engine.py over a fake service and a fake clock (no emulator, no HTTP): one batch's flow and the run over many.

Every engine test asserts the exact writes: "exactly once" is about what is sent, not only what is reported.
"""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import AuthError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.tasks import batch_requests
from ansible_collections.partnercenter.autopilot.plugins.module_utils.engine import RunOptions, run_batches
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import UploadJournal
from tests.unit.plugins.module_utils.fakes import (
    CUSTOMER, CUSTOMER_B, CUSTOMER_C, FakeService, JOB, URL, dev, hw_hash, params, run, serials)


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
                                  after=dict(batch_id="b1", devices=["S1", "S3"]),
                                  before_header="customer %s, batch b1 (registered)" % CUSTOMER,
                                  after_header="customer %s, batch b1 (declared)" % CUSTOMER)
    assert service.writes == [("delete", CUSTOMER, "b1", [ids["S2"]]), ("add", CUSTOMER, "b1", ["S3"])]
    assert serials(result["removed"]) == ["S2"] and serials(result["added"]) == ["S3"]
    text = repr(result)
    assert hw_hash("S1") not in text and hw_hash("S3") not in text


def test_diff_of_a_new_batch_in_check_mode(clock, journal):
    service = FakeService(clock)
    result, _warnings = run(service, journal, clock, RunOptions(check_mode=True, diff=True),
                            devices=[dev("S2", with_hash=True), dev("S1")])

    assert (result["diff"]["before"], result["diff"]["after"]) == (
        dict(batch_id=None, devices=[]), dict(batch_id="b1", devices=["S1", "S2"]))
    # Each hunk names the customer (its name where the task knows it) and the batch.
    named, _warnings = run(FakeService(clock), journal, clock, RunOptions(check_mode=True, diff=True),
                           customer_name="Contoso", devices=[dev("S1")])
    assert named["diff"]["after_header"] == "customer Contoso / %s, batch b1 (declared)" % CUSTOMER
    assert service.writes == [] and hw_hash("S2") not in repr(result)


def test_a_token_refused_mid_run_fails_that_batch_and_the_others_still_finish(clock, journal):
    """AuthError (a refresh that Entra ID refuses) is a failed result, not a module traceback."""
    service = FakeService(clock, job_seconds=JOB)
    service.refuse[CUSTOMER_B] = AuthError("Entra ID refused the token request: invalid_grant")
    requests = batch_requests(params(customer_id=None, batch_id=None, batches=[
        dict(customer_id=CUSTOMER_B, batch_id="b2", devices=[dev("S2")]),
        dict(customer_id=CUSTOMER, batch_id="b1", devices=[dev("S1")])]))
    results, _warnings, _undeclared = run_batches(service, journal, requests, RunOptions(), clock)
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
    results, _warnings, _undeclared = run_batches(service, journal, requests, RunOptions(), clock)

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


# ----- 11. what is registered and declared nowhere ----------------------------------------------------------------
def test_undeclared_devices_come_from_the_listings_the_plans_read(clock, journal):
    service = FakeService(clock, job_seconds=JOB)
    service.seed(CUSTOMER, "b1", ["S1", "GONE-1"])
    service.seed(CUSTOMER, "other", ["S3", "GONE-2"])
    requests = batch_requests(params(batches=[
        dict(customer_id=CUSTOMER, batch_id="b1", devices=[dev("S1"), dev("S2")]),
        dict(customer_id=CUSTOMER, batch_id="b2", devices=[dev("S3")])]))
    _results, _warnings, undeclared = run_batches(service, journal, requests, RunOptions(check_mode=True), clock)
    assert sorted((d["batch_id"], d["serial_number"]) for d in undeclared) == [("b1", "GONE-1"), ("other", "GONE-2")]
    assert set(undeclared[0]) == {"customer_id", "customer_name", "batch_id", "device_id", "serial_number",
                                  "product_key", "model", "manufacturer", "profile"}
    reads = len(service.calls)

    # match_scope batch: only the task's batches were read, so only their undeclared devices are known.
    scoped = batch_requests(params(match_scope="batch", batches=[
        dict(customer_id=CUSTOMER, batch_id="b1", devices=[dev("S1")])]))
    _results, _warnings, undeclared = run_batches(service, journal, scoped, RunOptions(check_mode=True), clock)
    assert [d["serial_number"] for d in undeclared] == ["GONE-1"]
    assert not [c for c in service.calls[reads:] if c[0] == "list_devices" and c[2] == "other"]
    assert service.writes == []
