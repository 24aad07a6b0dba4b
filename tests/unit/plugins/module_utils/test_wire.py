"""wire.py: Partner Center's answers read tolerantly - per-device results by code first, statuses in any casing."""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import (
    device_outcome, failure_message, interpret_job)


# Codes: 806 and 808 as Microsoft publishes them; the others are not published (the emulator's choice).
@pytest.mark.parametrize("status,code,description,outcome,explanation", [
    ("finished", None, None, "registered", None),
    ("finished_with_errors", "806", "ZtdDeviceAlreadyAssigned", "already_present", "already registered"),
    ("finished_with_errors", "808", "ZtdDeviceAssignedToOtherTenant", "failed", "another tenant"),
    ("finished_with_errors", "808", "ZtdDeviceAssignedToAnotherTenant", "failed", "another tenant"),
    ("finished_with_errors", "805", "ZtdDeviceDuplicated", "failed", "twice"),
    ("finished_with_errors", "804", "InvalidZtdHardwareHash", "failed", "capture it again"),
    ("finished_with_errors", "802", "ZtdDeviceNotFound", "failed", "check it with the OEM"),
    ("finished_with_errors", "899", "SomethingNew", "failed", "the service reported SomethingNew"),
    ("finished_with_errors", None, "ZtdDeviceAlreadyAssigned", "already_present", "already registered"),
    # A code without its description (recorded answers): the code decides.
    ("finished_with_errors", "806", None, "already_present", "already registered"),
    ("finished_with_errors", 806, "", "already_present", "already registered"),
    ("finished_with_errors", "808", None, "failed", "another tenant"),
    ("finished", "808", None, "failed", "another tenant"),
    ("finished_with_errors", "777", None, "failed", "error code 777"),
    # Statuses in any casing (the .NET SDK reads PascalCase).
    ("Finished", None, None, "registered", None),
    ("FinishedWithErrors", "806", None, "already_present", "already registered"),
    ("FINISHED_WITH_ERRORS", None, None, "failed", None),
    ("processing", None, None, "pending", None),
    ("In-Progress", None, None, "pending", None),
    ("queued", None, None, "pending", None),
])
def test_device_outcomes(status, code, description, outcome, explanation):
    item = device_outcome({"serialNumber": "S1", "status": status, "errorCode": code,
                           "errorDescription": description})
    assert item["outcome"] == outcome
    assert (item["explanation"] is None) if explanation is None else (explanation in item["explanation"])
    assert item["error_code"] == (None if code is None else str(code))


def test_job_status_is_normalised_and_an_unknown_one_kept_as_sent():
    assert interpret_job({"status": "FinishedWithErrors"})["status"] == "finished_with_errors"
    assert interpret_job({"status": "Processing"})["status"] == "processing"
    assert interpret_job({})["status"] == "unknown"
    assert interpret_job({"status": "Cancelled"})["status"] == "Cancelled"


def test_interpret_job_and_failure_message():
    job = interpret_job({"batchTrackingId": "t1", "status": "finished_with_errors", "devicesStatus": [
        {"serialNumber": "A", "status": "finished"},
        {"serialNumber": "B", "status": "finished_with_errors", "errorCode": "808",
         "errorDescription": "ZtdDeviceAssignedToOtherTenant"},
        {"productKey": "PK", "status": "finished_with_errors", "errorDescription": "ZtdDeviceAlreadyAssigned"}]})
    assert (job["tracking_id"], job["succeeded"], job["failed"], job["already_present"]) == ("t1", 1, 1, 1)
    msg = failure_message(job["devices"])
    assert msg.startswith("B: registered to another tenant") and "code 808" in msg and "PK" not in msg
