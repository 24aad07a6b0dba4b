# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading jobs: a run's own upload jobs (each with wait_timeout from its upload) and what they say of each device
sent, and the status module's jobs (which to read, from its options) read many at a time."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import AuthError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (
    DeviceValidationError, validate_target)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.pool import in_pool
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import JobStatusError, JobTimeoutError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import (
    FINAL_JOB_STATUSES, interpret_job, parse_location)


def wait_for_own_job(run, job):
    """Each job of a run (engine.BatchRun) has wait_timeout from its upload: time spent waiting for an earlier or
    a lost upload before it was sent does not count against it."""
    return run.service.wait_for_job(run.customer, job["tracking_id"],
                                    max(0, job["accepted_at"] + run.p["wait_timeout"] - run.clock.now()),
                                    poll_interval=run.p["poll_interval"], progress=run.note_progress)


def progress_line(body):
    """What a job's answer says of its progress, for the verbose result."""
    info = interpret_job(body)
    done = sum(1 for d in info["devices"] if d["status"] in FINAL_JOB_STATUSES)
    return "job %s: %s, %d/%d devices done" % (info["tracking_id"], info["status"], done, len(info["devices"]))


def await_uploads(run, jobs):
    """Wait for a run's upload jobs in turn and mark each device sent with its outcome; a job that does not end
    within wait_timeout (or reports a status that says nothing of its end) leaves its devices and those of the
    jobs after it pending, and fails the batch. Returns the jobs' devicesStatus as device_outcome reads them."""
    outcomes, statuses = [], []
    for index, job in enumerate(jobs):
        try:
            body = wait_for_own_job(run, job)
        except (JobTimeoutError, JobStatusError) as err:
            run.result["job_status"] = (err.last_status or {}).get("status")
            for later in jobs[index:]:
                for device in later["devices"]:
                    run.mark(device, "pending", status=run.result["job_status"])
            run.result["changed"] = True  # the upload was accepted: its devices may be registering now
            run.fail(str(err))
        run.uploads.done(job)
        info = interpret_job(body)
        statuses.append(info["status"])
        for entry in run.result["jobs"]:
            if entry["tracking_id"] == job["tracking_id"]:
                entry["status"] = info["status"]
        outcomes.extend(info["devices"])
        for device, outcome in pair_outcomes(job["devices"], info["devices"]):
            if outcome is None:  # the job names it nowhere: its status stands for it
                run.mark(device, "registered" if info["status"] == "finished" else "failed", status=info["status"])
            else:
                run.mark(device, outcome["outcome"], **dict(
                    (k, outcome[k]) for k in ("device_id", "status", "error_code", "error_description", "explanation")))
    run.result["job_status"] = "finished_with_errors" if "finished_with_errors" in statuses else "finished"
    return outcomes


def pair_outcomes(devices, outcomes):
    """[(device, its outcome in a job's devicesStatus or None)]: by serial number or product key, and the
    entries naming neither (a hash-only device) to the devices left, in upload order."""
    by_key, used = {}, set()
    for outcome in outcomes:
        for key in _keys(outcome["serial_number"], outcome["product_key"]):
            by_key.setdefault(key, []).append(outcome)
    pairs, left = [], []
    for device in devices:
        found = next((o for key in _keys(device.serial_number, device.product_key) for o in by_key.get(key, ())
                      if id(o) not in used), None)
        if found is None:
            left.append(device)
        else:
            used.add(id(found))
            pairs.append((device, found))
    unnamed = [o for o in outcomes if id(o) not in used and not (o["serial_number"] or o["product_key"])]
    for device in left:
        pairs.append((device, unnamed.pop(0) if unnamed else None))
    return pairs


def _keys(serial_number, product_key):
    return [k for k in (("sn", (serial_number or "").strip().upper()), ("pk", (product_key or "").strip().upper()))
            if k[1]]


def read_jobs(service, targets, wait, wait_timeout, poll_interval, clock, concurrency=1):
    """Each job's status and device outcomes, in order; with wait, all of them within one wait_timeout.

    targets: [(customer id, tracking id, extra keys for the result)], read by `concurrency` workers. Returns
    (jobs read, error or None): after an error, the jobs before it (and for a timeout, that job's last
    status), so the failure still reports them.
    """
    deadline = clock.now() + wait_timeout
    failed = threading.Event()  # after a failure, jobs not yet started are not waited for

    def read(target):
        customer, tracking_id, extra = target
        if failed.is_set():
            return None, None
        try:
            return read_one(customer, tracking_id, extra)
        except Exception:
            failed.set()
            raise

    def read_one(customer, tracking_id, extra):
        try:
            if wait:
                body = service.wait_for_job(customer, tracking_id, max(0, deadline - clock.now()),
                                            poll_interval=poll_interval)
            else:
                body = service.job_status(customer, tracking_id)
        except (JobTimeoutError, JobStatusError) as err:
            failed.set()
            return dict(extra, **interpret_job(err.last_status)), err
        except AuthError as err:
            failed.set()
            return None, err
        except PartnerCenterError as err:
            failed.set()
            if err.status == 404:
                err = PartnerCenterError("tracking id %s was not found for customer %s (%s)"
                                         % (tracking_id, customer, err), status=err.status, code=err.code,
                                         request_id=err.request_id, correlation_id=err.correlation_id)
            return None, err
        return dict(extra, **interpret_job(body)), None
    done = []
    for job, err in in_pool(concurrency, read, targets):
        if job is not None:
            done.append(job)
        if err is not None:
            return done, err
    return done, None


def job_requests(p):
    """[(customer id, tracking id, {customer_id, batch_id})] from the job status options (one job, or jobs),
    or DeviceValidationError naming every problem."""
    given = p["jobs"] if p["jobs"] is not None else [dict(customer_id=p["customer_id"], tracking_id=p["tracking_id"],
                                                          location=p["location"])]
    targets, errors = [], []
    for index, job in enumerate(given):
        where = "jobs[%d]: " % index if p["jobs"] is not None else ""
        customer = job.get("customer_id")
        customer = customer.strip() if isinstance(customer, str) else customer
        tracking_id, location = job.get("tracking_id"), job.get("location")
        try:
            validate_target(customer, None)
        except DeviceValidationError as err:
            errors.extend(where + e for e in err.errors)
            continue
        if not tracking_id and location:
            located_customer, tracking_id = parse_location(location)
            if not tracking_id:
                errors.append("%slocation %r does not look like .../customers/{customer-id}/batchJobStatus/"
                              "{tracking-id}" % (where, location))
                continue
            if located_customer.lower() != customer.lower():
                errors.append("%slocation names customer %s but customer_id is %s"
                              % (where, located_customer, customer))
                continue
        if not tracking_id:
            errors.append("%sneeds tracking_id or location" % where)
            continue
        targets.append((customer, tracking_id, dict(customer_id=customer, batch_id=job.get("batch_id"))))
    if errors:
        raise DeviceValidationError(errors)
    return targets
