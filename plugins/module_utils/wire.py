# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one map of Partner Center's wire shapes into the collection's: tolerant views of every answer (field
spellings, any casing, the recorded shapes), statuses and per-device results read codes before descriptions,
and the one Location parser. Pure: no I/O, no Ansible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

FINAL_JOB_STATUSES = ("finished", "finished_with_errors")
BUSY_STATUSES = ("queued", "processing")
# Every status the service publishes (jobs and devices); anything else is reported as it came, never waited on.
KNOWN_STATUSES = ("unknown",) + BUSY_STATUSES + FINAL_JOB_STATUSES + ("in-progress",)
ALREADY_PRESENT = ("ZtdDeviceAlreadyAssigned",)
# The codes Microsoft publishes with their names (support article "Error 806 or 808 when you import Windows
# Autopilot device CSV files"): a result may carry the code without any description, so the code decides first.
CODE_NAMES = {"806": "ZtdDeviceAlreadyAssigned", "808": "ZtdDeviceAssignedToOtherTenant"}
EXPLANATIONS = {
    "ZtdDeviceAlreadyAssigned": "already registered to this customer; counted as present",
    "ZtdDeviceAssignedToOtherTenant": "registered to another tenant: that tenant or the OEM must deregister it "
                                      "before it can be registered here",
    "ZtdDeviceAssignedToAnotherTenant": "registered to another tenant: that tenant or the OEM must deregister it "
                                        "before it can be registered here",
    "ZtdDeviceDuplicated": "the same device was sent twice in one upload",
    "InvalidZtdHardwareHash": "the service could not read the hardware hash: capture it again with "
                              "Get-WindowsAutopilotInfo",
    "ZtdDeviceNotFound": "the service does not know this product key or serial/manufacturer/model: check it "
                         "with the OEM or use the hardware hash",
}


def lower_keys(mapping):
    """A response object with lower-cased keys: Partner Center answers camelCase, the SDK sends PascalCase."""
    if not isinstance(mapping, dict):
        return {}
    return dict((k.lower(), v) for k, v in mapping.items() if isinstance(k, str))


def status_of(value):
    """A status as the collection compares it: the service writes finished_with_errors, the .NET SDK reads
    FinishedWithErrors too; None when there is none."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", value.strip())
    return text.replace(" ", "_").lower()


def oobe_policy_id(policies):
    """The Autopilot profile (o_o_b_e policy) in a listed device's `policies` key/value pairs, or None: the
    profile's id as published, or its name as the service answered in recorded sessions (profiles.carries)."""
    for pair in policies if isinstance(policies, list) else []:
        pair = lower_keys(pair)
        # o_o_b_e as published; OOBE as the .NET enum is named
        if str(pair.get("key") or "").replace("_", "").lower() == "oobe":
            value = pair.get("value")
            return value.strip() if isinstance(value, str) and value.strip() else None
    return None


def error_name(code, description):
    """The published name of a device error: from its code when the code is published, else its description."""
    return CODE_NAMES.get(code) or description or None


def explain(description, code=None):
    name = error_name(code, description)
    if not name:
        return "the service reported error code %s" % code if code else None
    return EXPLANATIONS.get(name, "the service reported %s" % name)


def device_outcome(status_item):
    """One entry of a job's devicesStatus, in the collection's snake_case form: classified by errorCode first,
    then errorDescription (either may be missing or null), then the device's status."""
    lowered = lower_keys(status_item)
    description = lowered.get("errordescription") or None
    code = lowered.get("errorcode")
    code = None if code is None or str(code).strip() in ("", "0") else str(code).strip()
    status = status_of(lowered.get("status")) or "unknown"
    name = error_name(code, description)
    if name in ALREADY_PRESENT:
        outcome = "already_present"
    elif name or code or status == "finished_with_errors":
        outcome = "failed"
    elif status == "finished":
        outcome = "registered"
    else:
        outcome = "pending"
    return {
        "serial_number": lowered.get("serialnumber"),
        "product_key": lowered.get("productkey"),
        "device_id": lowered.get("deviceid"),
        "status": status,
        "error_code": code,
        "error_description": description,
        "explanation": explain(description, code),
        "outcome": outcome,
    }


def interpret_job(job):
    """A batchJobStatus body → tracking id, status, times, per-device outcomes and counts."""
    lowered = lower_keys(job)
    devices = [device_outcome(d) for d in lowered.get("devicesstatus") or []]
    return {
        "tracking_id": lowered.get("batchtrackingid"),
        "status": job_status_of(lowered.get("status")),
        "started_time": lowered.get("startedtime"),
        "completed_time": lowered.get("completedtime"),
        "devices": devices,
        "succeeded": sum(1 for d in devices if d["outcome"] == "registered"),
        "already_present": sum(1 for d in devices if d["outcome"] == "already_present"),
        "failed": sum(1 for d in devices if d["outcome"] == "failed"),
    }


def job_status_of(value):
    """A job's status: one of KNOWN_STATUSES, or the raw value when the service sent one the collection does not
    know (reported as it came, so a user can look it up)."""
    status = status_of(value)
    if status is None:
        return "unknown"
    return status if status in KNOWN_STATUSES else value


def failure_message(outcomes):
    """One line per failed device, naming it and what to do."""
    lines = []
    for item in outcomes:
        if item["outcome"] != "failed":
            continue
        who = item["serial_number"] or item["product_key"] or item.get("device_id") or "a hash-only device"
        lines.append("%s: %s (%s%s)" % (who, item["explanation"] or "failed",
                                        error_name(item["error_code"], item["error_description"]) or item["status"],
                                        ", code %s" % item["error_code"] if item["error_code"] else ""))
    return "; ".join(lines)


LOCATION_RE = re.compile(r"customers/([^/?#]+)/batchJobStatus/([^/?#]+)", re.IGNORECASE)


def parse_location(location):
    """(customer_id, tracking_id) from a Location header, absolute or relative."""
    if not location:
        return None, None
    match = LOCATION_RE.search(location.split("?")[0].split("#")[0])
    if match:
        return match.group(1), match.group(2)
    return None, None


def batch_view(item):
    """A DeviceBatch of the listing (published or SDK shape)."""
    lowered = lower_keys(item)
    count = lowered.get("devicescount")
    if count is None:  # the resources table spells it deviceCount
        count = lowered.get("devicecount")
    return dict(id=lowered.get("id"), status=status_of(lowered.get("status")),
                creation_date=lowered.get("creationdate"), devices_count=count)


def device_view(item):
    """A Device of a batch's listing (which never carries the hash)."""
    lowered = lower_keys(item)
    return dict(id=lowered.get("id"), serial_number=lowered.get("serialnumber"),
                product_key=lowered.get("productkey"), model=lowered.get("modelname"),
                manufacturer=lowered.get("oemmanufacturername"), uploaded_date=lowered.get("uploadeddate"),
                policies=lowered.get("policies") or [])
