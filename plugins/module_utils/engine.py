# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registration engine: one batch's guard → read → plan → write → wait, and the run over many batches.
Takes a service, a journal and a clock; returns results and warnings; knows nothing of AnsibleModule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import AuthError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    OutcomeUnknownError, PartnerCenterError)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (
    BUSY_STATUSES, FINAL_JOB_STATUSES, Device, chunks, failure_message, find_registered, index_registered,
    interpret_job, plan, plan_removal)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import (
    JournalError, device_count, devices_of)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.outcomes import NOT_SENT, explanation
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import (
    MAX_DEVICES_PER_ASSIGNMENT, ProfileError, carries, create_body, declared, differences, find_profile, public,
    resolve, same_id, update_body)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import (
    JobStatusError, JobTimeoutError, poll_delay, same_batch)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.waiting import LISTING_GRACE, wait_until

MAX_RESOLUTIONS = 3
LOST_ANSWER_GRACE = 10.0


class BatchFailed(Exception):
    """One batch could not be brought to its declared state; its result says how far it got."""


def error_fields(err):
    """What a failed result holds about a Partner Center error, beside its message."""
    return dict(status=err.status, code=err.code, request_id=err.request_id, correlation_id=err.correlation_id)


class Assignment(object):
    """One desired device with a declared profile: where it is registered, and what became of its profile."""

    def __init__(self, desired, profile, found=None):
        self.desired, self.profile = desired, profile
        self.device_id = found.device_id if found is not None else None
        self.batch_id = found.batch_id if found is not None else None
        self.current = found.policy_id if found is not None else None  # the profile it carries now
        self.status = self.error_code = self.error_description = None

    @staticmethod
    def key_of(serial_number, product_key):
        return (serial_number or "").strip().upper() or "pk:" + (product_key or "").strip().upper()

    def key(self):
        return self.key_of(self.desired.serial_number, self.desired.product_key)

    def locate(self, index):
        """Take the service id from the registered device that this one is (index: index_registered of the
        registered devices); False when none is."""
        found = find_registered(self.desired, index)
        if found is not None:
            self.device_id, self.batch_id = found.device_id, found.batch_id
        return found is not None

    def view(self):
        return dict(self.desired.identity(), device_id=self.device_id, profile=self.profile["name"],
                    profile_id=self.profile["id"], status=self.status, error_code=self.error_code,
                    error_description=self.error_description,
                    explanation=ASSIGNMENT_EXPLANATIONS.get(self.status))


ASSIGNMENT_EXPLANATIONS = {
    "assigned": "profile assigned by this run",
    "already_assigned": "the device already carries this profile",
    "would_assign": "would be assigned (check mode)",
    "failed": "the service did not assign the profile: run again, or assign it in Partner Center",
    "pending": "the assignment job had not finished within wait_timeout",
    "not_registered": "the device is not registered, so it cannot get a profile",
}


class RunOptions(object):
    """How the whole run goes: Ansible's check mode, diff and verbosity, as plain values."""

    def __init__(self, check_mode=False, diff=False, verbose=False):
        self.check_mode, self.diff, self.verbose = check_mode, diff, verbose


class BatchRun(object):
    """One batch: read, plan, write only the difference (start), then wait and report (finish).

    The two halves are apart so that the uploads of many batches go out before any of their jobs is waited
    for: the service then processes the jobs side by side.
    """

    def __init__(self, service, journal, params, options, warnings, clock, profile_cache=None):
        self.service, self.journal, self.p, self.options = service, journal, params, options
        self.warnings, self.clock = warnings, clock
        self.customer, self.batch_id = self.p["customer_id"].strip(), self.p["batch_id"]
        self.deadline = clock.now() + self.p["wait_timeout"]
        self.sent, self.uploaded = [], False
        self.result = dict(changed=False, customer_id=self.customer, batch_id=self.batch_id, created=False,
                           tracking_id=None, location=None,
                           jobs=[], job_status=None, added=[], already_present=[], removed=[], devices=[],
                           profile_assigned=[], profile_assignments=[],
                           plan=dict(would_add=[], would_remove=[], already_present=[], unverifiable=[],
                                     would_assign=[]))
        self.progress = []
        self.recovered = []     # sent in a request whose answer was lost, found registered on re-reading
        self.late_present = []  # registered by someone else while this run was uploading
        self.entries = {}       # tracking id -> journal entry id of the uploads of this run
        self.profile_cache = {} if profile_cache is None else profile_cache  # customer -> profiles, per task
        self.declared = {}      # id(desired device) -> the profile (view) declared for it
        self.assignments = []   # one Assignment per desired device with a declared profile
        self.device_failures = None  # the message of devices that could not be registered
        self.desired = []       # the declared devices, in input order
        self.refused = False    # failed on its input (a profile that names none): nothing of it was sent
        self.outcomes = {}      # id(device) -> its entry in the result's devices (one outcome each)
        self.job_outcomes = []  # the upload jobs' devicesStatus, as devices.device_outcome reads them

    # ----- the guards: nothing is planned against a batch whose upload is still being processed ----------
    def settled_batches(self):
        """First guard: the listing's status (optional in the service's answer)."""
        scope = None if self.p["match_scope"] == "customer" else [self.batch_id]
        return self.service.settled_batches(self.customer, scope, self.deadline, self.p["poll_interval"])

    def await_earlier_uploads(self):
        """Second guard: wait for the jobs of this controller's own earlier uploads (wait: false, a kill)."""
        scope = None if self.p["match_scope"] == "customer" else self.batch_id
        for entry in self.journal.pending(self.customer, scope):
            if entry["tracking_id"]:
                self.await_job(entry)
            else:
                # Its request may have reached the service as late as the client's timeout after it was sent.
                self.await_unknown(entry["batch_id"], devices_of(entry), entry["sent_at"],
                                   entry["sent_at"] + self.p["timeout"])
            self.journal.done([entry["id"]])

    def await_job(self, entry):
        tracking_id = entry["tracking_id"]
        self.progress.append("waiting for an earlier upload of %d devices to batch %s (job %s)"
                             % (device_count(entry), entry["batch_id"], tracking_id))
        try:
            self.service.wait_for_job(self.customer, tracking_id, max(0, self.deadline - self.clock.now()),
                                      poll_interval=self.p["poll_interval"], progress=self.note_progress)
        except JobTimeoutError as err:
            self.fail("an earlier upload of %d devices to batch %s (job %s) is still %s after wait_timeout; "
                      "nothing was sent, so that none of its devices is uploaded twice: run again once it has "
                      "finished" % (device_count(entry), entry["batch_id"], tracking_id,
                                    (err.last_status or {}).get("status")))
        except PartnerCenterError as err:
            # A job the service does not know (any more), or whose status says nothing about its end: as for a
            # lost answer, the listing decides what is registered.
            if err.status != 404 and not isinstance(err, JobStatusError):
                raise
            if self.clock.now() - entry["sent_at"] < self.p["timeout"] + LOST_ANSWER_GRACE:
                # A job accepted moments ago may not be readable yet: wait on the listing instead.
                self.await_unknown(entry["batch_id"], devices_of(entry), entry["sent_at"], self.clock.now())
            # Else the service does not know the job (any more): the listing alone decides what is registered.

    def await_unknown(self, batch_id, devices, sent_at, given_up_at):
        """Wait until an upload whose answer never came has visibly landed, or can no longer be running.

        The job of such an upload has no known tracking id. It has landed when all its devices are listed.
        Once a grace period after the answer was given up has passed (a slow request may still be on its way
        through the service until then), it cannot be running when the batch does not exist or its status (if
        the listing has one) is final, and it has finished with failures when the batch's device count moved
        and then held still for the grace period. Otherwise it is waited for up to wait_timeout after it was
        sent; then its missing devices are sent again, and any it registered after all come back as already
        present.
        """
        grace = max(0.0, min(self.p["timeout"], LOST_ANSWER_GRACE))
        grace_end = given_up_at + grace
        deadline = sent_at + self.p["wait_timeout"]
        first, last_count, moved_at = True, None, None
        while True:
            now = self.clock.now()
            batch = next((b for i, b in self.service.batches(self.customer).items() if same_batch(i, batch_id)),
                         None)
            count = batch["devices_count"] if batch is not None else None
            if first or count != last_count:
                moved_at = None if first else now
                if batch is not None and devices and not plan(devices, [
                        Device.from_api(item, batch_id) for item in self.service.list_devices(self.customer, batch_id)
                ]).to_add:
                    return
            first, last_count = False, count
            if now >= grace_end:
                if batch is None or batch.get("status") not in (None,) + BUSY_STATUSES:
                    return
                if moved_at is not None and now - moved_at >= grace:
                    return
            if now >= deadline:
                self.warnings.append(
                    "an upload to batch %s sent at %s UTC has not visibly landed after wait_timeout; its missing "
                    "devices are sent again (any it registered after all are reported as already present)"
                    % (batch_id, time.strftime("%H:%M:%S", time.gmtime(sent_at))))
                return
            self.clock.sleep_until(min(deadline, now + poll_delay(now - sent_at, self.p["poll_interval"])))

    # ----- reading ---------------------------------------------------------------------------------------
    def adopt_spelling(self, batches):
        """Does the batch exist? Batch ids are case-insensitive in the service's paths: a batch declared as
        testing1 when Testing1 exists is that batch, and the result keeps the service's spelling."""
        if self.batch_id in batches:
            return True
        held = next((i for i in batches if same_batch(i, self.batch_id)), None)
        if held is None:
            return False
        self.warnings.append("batch %r of customer %s exists as %r (batch ids ignore case): its devices go there and "
                             "the result names it %r" % (self.batch_id, self.customer, held, held))
        self.batch_id = self.result["batch_id"] = held
        return True

    def registered(self, batches):
        wanted = batches if self.p["match_scope"] == "customer" else \
            dict((k, v) for k, v in batches.items() if same_batch(k, self.batch_id))
        devices = []
        for batch_id, batch in wanted.items():
            if batch["devices_count"] == 0:
                continue
            devices.extend(Device.from_api(item, batch_id)
                           for item in self.service.list_devices(self.customer, batch_id))
        return devices

    # ----- writing ---------------------------------------------------------------------------------------
    def upload(self, to_add, exists):
        """Send to_add; when an answer is lost, wait for it to land, re-read and send only what is still missing.

        Each chunk is written to the journal before it is sent, so a run killed while the request is on its
        way leaves a trace the next run waits on. Devices of the lost request that turn out to be registered
        were registered by this run (recovered).
        """
        sent = []
        entry_id, sent_at = None, self.clock.now()
        for _attempt in range(MAX_RESOLUTIONS + 1):
            done = 0
            try:
                for chunk in chunks(to_add, self.service.chunk_size):
                    entry_id = self.journal.begin(self.customer, self.batch_id, chunk)
                    attempts = []
                    try:
                        job = self.service.send_chunk(self.customer, self.batch_id, chunk, create=not exists,
                                                      on_attempt=functools.partial(self.sent_now, entry_id, attempts))
                    except OutcomeUnknownError:
                        sent_at = attempts[-1] if attempts else self.clock.now()
                        raise
                    except PartnerCenterError as err:
                        if err.status is not None and 400 <= err.status < 500:
                            self.journal.done([entry_id])  # refused: nothing of it is processing
                        raise
                    job["accepted_at"] = self.clock.now()
                    self.journal.accepted(entry_id, job["tracking_id"])
                    self.entries[job["tracking_id"]] = entry_id
                    exists = True
                    done += len(chunk)
                    sent.append(job)
                    self.record_job(job)
                return sent
            except OutcomeUnknownError as err:
                lost_chunk = to_add[done:done + self.service.chunk_size]
                lost = set(id(d) for d in lost_chunk)
                self.warnings.append("%s: resolving by reading the batch again" % err)
                given_up_at = self.clock.now()
                # This run's own earlier chunks end first: their devices appearing would otherwise look like
                # the lost upload landing (the device count moving, then holding still).
                for job in sent:
                    self.wait_for_own_job(job)
                self.await_unknown(self.batch_id, lost_chunk, sent_at, given_up_at)
                batches = self.settled_batches()
                exists = any(same_batch(i, self.batch_id) for i in batches)
                current = plan(to_add[done:], self.registered(batches), self.batch_id)
                self.journal.done([entry_id])
                missing = set(id(d) for d in current.to_add)
                for device in to_add[done:]:
                    if id(device) not in missing:
                        (self.recovered if id(device) in lost else self.late_present).append(device)
                to_add = current.to_add
                if not to_add:
                    return sent
        self.fail("uploads to batch %s kept losing their answers; nothing more was sent" % self.batch_id)

    def sent_now(self, entry_id, attempts):
        """Called before each attempt of an upload request: a resend (after Retry-After) leaves only now."""
        attempts.append(self.clock.now())
        if len(attempts) > 1:
            self.journal.touch(entry_id)

    def record_job(self, job, kind="upload", status=None):
        self.result["jobs"].append(dict(customer_id=self.customer, batch_id=self.batch_id, kind=kind,
                                        tracking_id=job["tracking_id"], location=job["location"], status=status,
                                        devices=len(job["devices"])))
        if kind == "upload" and not self.result["tracking_id"]:
            self.result["tracking_id"], self.result["location"] = job["tracking_id"], job["location"]

    def wait_for_own_job(self, job):
        """Each job of this run has wait_timeout from its upload: time spent waiting for an earlier or a lost
        upload before it was sent does not count against it."""
        return self.service.wait_for_job(self.customer, job["tracking_id"],
                                         max(0, job["accepted_at"] + self.p["wait_timeout"] - self.clock.now()),
                                         poll_interval=self.p["poll_interval"], progress=self.note_progress)

    def wait_for(self, jobs):
        outcomes, statuses = [], []
        for index, job in enumerate(jobs):
            try:
                body = self.wait_for_own_job(job)
            except (JobTimeoutError, JobStatusError) as err:
                self.result["job_status"] = (err.last_status or {}).get("status")
                for later in jobs[index:]:
                    for device in later["devices"]:
                        self.mark(device, "pending", status=self.result["job_status"])
                self.result["changed"] = True  # the upload was accepted: its devices may be registering now
                self.fail(str(err))
            if job["tracking_id"] in self.entries:
                self.journal.done([self.entries[job["tracking_id"]]])
            info = interpret_job(body)
            statuses.append(info["status"])
            for entry in self.result["jobs"]:
                if entry["tracking_id"] == job["tracking_id"]:
                    entry["status"] = info["status"]
            outcomes.extend(info["devices"])
            for device, outcome in pair_outcomes(job["devices"], info["devices"]):
                if outcome is None:  # the job names it nowhere: its status stands for it
                    self.mark(device, "registered" if info["status"] == "finished" else "failed", status=info["status"])
                else:
                    self.mark(device, outcome["outcome"], **dict(
                        (k, outcome[k]) for k in ("device_id", "status", "error_code", "error_description",
                                                  "explanation")))
        self.job_outcomes = outcomes
        self.result["job_status"] = "finished_with_errors" if "finished_with_errors" in statuses else "finished"
        return outcomes

    def note_progress(self, body):
        info = interpret_job(body)
        done = sum(1 for d in info["devices"] if d["status"] in FINAL_JOB_STATUSES)
        total = len(info["devices"])
        self.progress.append("job %s: %s, %d/%d devices done" % (info["tracking_id"], info["status"], done, total))

    def fail(self, msg, **extra):
        self.result.update(extra, failed=True, msg=msg)
        raise BatchFailed(msg)

    def attempt(self, step, *args):
        """Run start or finish; False when the batch failed (its result then holds msg and how far it got)."""
        try:
            try:
                step(*args)
            except PartnerCenterError as err:
                self.fail(str(err), **error_fields(err))
            except (AuthError, JournalError) as err:  # a token refused mid-run, an unusable journal
                self.fail(str(err))
        except BatchFailed:
            self.note_verbose_progress()
            return False
        return True

    def note_verbose_progress(self):
        if self.options.verbose and self.progress:
            self.result["progress"] = self.progress

    # ----- Autopilot profiles: resolved while reading, assigned once the devices are registered -----------
    def resolve_profiles(self, desired):
        """Every declared profile name or id to a profile of the customer, before any write.

        A profile created moments ago (by the play's profile task) may not be listed yet: a name that names no
        profile is looked for again until LISTING_GRACE (at most wait_timeout) has passed.
        """
        wanted = [(d, d.profile or self.p.get("profile")) for d in desired]
        wanted = [(d, ref) for d, ref in wanted if ref]
        if not wanted:
            return
        key = self.customer.lower()
        if key not in self.profile_cache:
            self.profile_cache[key] = self.service.list_profiles(self.customer)

        def attempt():
            problems, missing = [], False
            for device, ref in wanted:
                try:
                    self.declared[id(device)] = resolve(self.profile_cache[key], self.customer, ref)
                except ProfileError as err:
                    missing = missing or err.missing
                    problems.extend(e for e in err.errors if e not in problems)
            return problems, missing

        def read_again():
            self.profile_cache[key] = self.service.list_profiles(self.customer)
            return attempt()
        problems, missing = attempt()
        if missing:
            waited_from = self.clock.now()
            problems, missing = wait_until(read_again, lambda found: not found[1], self.clock,
                                           waited_from + min(LISTING_GRACE, self.p["wait_timeout"]),
                                           self.p["poll_interval"])
            if problems:
                problems.append("looked for %.0f s, as a new profile is listed only after a while"
                                % (self.clock.now() - waited_from))
        if problems:
            self.refused = True
            self.fail("nothing was sent: " + "; ".join(problems))

    def plan_assignments(self, present, to_add):
        """Devices already registered whose profile differs, and devices to upload that declare one."""
        for device, found in present:
            if id(device) in self.declared:
                item = Assignment(device, self.declared[id(device)], found)
                if carries(item.profile, found.policy_id):
                    item.status = "already_assigned"
                else:
                    self.result["plan"]["would_assign"].append(device.identity())
                self.assignments.append(item)
        for device in to_add:
            if id(device) in self.declared:
                self.assignments.append(Assignment(device, self.declared[id(device)]))
                self.result["plan"]["would_assign"].append(device.identity())

    def assign(self):
        """Assign each device its declared profile where it differs, in requests of at most 500 devices, and
        wait for those jobs. A device that did not register is reported as such and left alone."""
        self.find_new_devices([a for a in self.assignments if a.status is None and a.device_id is None])
        todo = [a for a in self.assignments if a.status is None]
        sent = []
        for chunk in chunks(todo, MAX_DEVICES_PER_ASSIGNMENT):
            sent.extend(self.send_assignment(chunk))
        for job, items in sent:
            self.wait_for_assignment(job, items)
        failed = [a for a in self.assignments if a.status == "failed"]
        if failed:
            message = "%d of %d devices did not get their profile: %s" % (
                len(failed), len(self.assignments), "; ".join(
                    "%s: %s" % (a.desired.label(), a.error_description or "failed") for a in failed))
            if self.p["fail_on_device_errors"]:
                self.device_failures = "; ".join(m for m in (self.device_failures, message) if m)
            else:
                self.warnings.append(message)

    def find_new_devices(self, items):
        """The service ids of devices this run registered: from the jobs' outcomes, else by reading the batch -
        looked for until LISTING_GRACE (at most what is left of wait_timeout), as new devices are listed only
        after a while. A device whose upload failed is not looked for."""
        if not items:
            return
        outcomes = dict((Assignment.key_of(o["serial_number"], o["product_key"]), o) for o in self.job_outcomes)
        registered = [Device(serial_number=o["serial_number"], product_key=o["product_key"], device_id=o["device_id"],
                             batch_id=self.batch_id)
                      for o in outcomes.values() if o["outcome"] == "registered" and o["device_id"]]
        index = index_registered(registered)
        missing = [a for a in items if not a.locate(index)]
        failed = [a for a in missing if outcomes.get(a.key(), {}).get("outcome") == "failed"]
        missing = [a for a in missing if a not in failed]

        def read():
            if self.batch_id.lower() not in self.service_batches():
                return missing
            listed = index_registered([Device.from_api(item, self.batch_id)
                                       for item in self.service.list_devices(self.customer, self.batch_id)])
            return [a for a in missing if not a.locate(listed)]
        if missing:
            now = self.clock.now()
            missing = wait_until(read, lambda left: not left, self.clock,
                                 now + min(LISTING_GRACE, max(0.0, self.deadline - now)), self.p["poll_interval"])
        for item in missing + failed:
            item.status = "not_registered"

    def service_batches(self):
        return set((i or "").lower() for i in self.service.batches(self.customer))

    def send_assignment(self, items):
        """One DevicePolicyUpdates request; after a lost answer, only devices not yet carrying their profile
        are sent again, once a request still on its way can no longer land."""
        for _attempt in range(MAX_RESOLUTIONS + 1):
            try:
                job = self.service.assign_profiles(self.customer, [(a.device_id, a.profile["id"]) for a in items])
            except OutcomeUnknownError as err:
                self.warnings.append("%s: resolving by reading the devices again" % err)
                items = self.await_lost_assignment(items)
                if not items:
                    return []
                continue
            self.result["changed"] = True
            job["accepted_at"] = self.clock.now()
            return [(job, items)]
        self.fail("profile assignments in batch %s kept losing their answers; nothing more was sent" % self.batch_id)

    def await_lost_assignment(self, items):
        """The items not (yet) carrying their profile once a grace period has passed; those that do were
        assigned by this run."""
        given_up = self.clock.now()
        grace = max(0.0, min(self.p["timeout"], LOST_ANSWER_GRACE))
        while True:
            current = {}
            for batch_id in sorted(set(a.batch_id for a in items)):
                for item in self.service.list_devices(self.customer, batch_id):
                    device = Device.from_api(item, batch_id)
                    current[(device.device_id or "").lower()] = device.policy_id
            left = []
            for item in items:
                if carries(item.profile, current.get(item.device_id.lower())):
                    item.status = "assigned"
                    self.result["changed"] = True
                else:
                    left.append(item)
            if not left or self.clock.now() - given_up >= grace:
                return left
            items = left
            self.clock.sleep(min(self.p["poll_interval"], grace))

    def wait_for_assignment(self, job, items):
        try:
            body = self.wait_for_own_job(job)
        except (JobTimeoutError, JobStatusError) as err:
            for item in items:
                item.status = "pending"
            self.fail(str(err))
        info = interpret_job(body)
        self.record_job(dict(job, devices=items), kind="profile", status=info["status"])
        by_id = dict(((o["device_id"] or "").lower(), o) for o in info["devices"])
        for item in items:
            outcome = by_id.get(item.device_id.lower())
            # Whether an assignment job lists its devices is not published: without an entry, the job's status.
            status = outcome["status"] if outcome else info["status"]
            if status == "finished" and not (outcome and outcome["error_description"]):
                item.status = "assigned"
            else:
                item.status = "failed"
                item.error_code = outcome and outcome["error_code"]
                item.error_description = (outcome and outcome["error_description"]) or \
                    "the assignment job ended %s" % info["status"]

    def report_assignments(self):
        self.result["profile_assignments"] = [a.view() for a in self.assignments]
        self.result["profile_assigned"] = [a.desired.identity() for a in self.assignments if a.status == "assigned"]

    # ----- the run ---------------------------------------------------------------------------------------
    def start(self, desired):
        p = self.p
        self.desired = list(desired)
        self.resolve_profiles(desired)
        self.await_earlier_uploads()
        batches = self.settled_batches()
        exists = self.adopt_spelling(batches)
        registered = self.registered(batches)
        in_batch = [d for d in registered if d.batch_id == self.batch_id]
        if p["state"] == "absent":
            to_add, present = [], []
            to_remove = in_batch if p["devices"] is None else plan_removal(desired, in_batch)
        else:
            the_plan = plan(desired, registered, self.batch_id, purge=p["purge"])
            to_add, present, to_remove = the_plan.to_add, the_plan.already_present, the_plan.to_remove
            self.result["plan"]["unverifiable"] = [d.identity() for d in the_plan.unverifiable]
        self.result["plan"].update(would_add=[d.identity() for d in to_add],
                                   would_remove=[d.identity() for d in to_remove],
                                   already_present=[d.identity() for d, _found in present])
        for device, found in present:
            self.mark(device, "already_present", device_id=found.device_id)
        self.result["created"] = bool(to_add) and not exists
        self.plan_assignments(present, to_add)
        if self.options.diff:
            before = sorted(d.label(bare=True) for d in in_batch)
            removed = set(id(d) for d in to_remove)
            after = sorted([d.label(bare=True) for d in in_batch if id(d) not in removed] +
                           [d.label(bare=True) for d in to_add])
            self.result["diff"] = dict(before=dict(batch_id=self.batch_id if exists else None, devices=before),
                                       after=dict(batch_id=self.batch_id if exists or to_add else None,
                                                  devices=after))
            changing = [a for a in self.assignments if a.status is None]
            if changing:  # which device goes from which profile to which (names where the customer has them)
                names = dict((p["id"].lower(), p["name"]) for p in self.profile_cache.get(self.customer.lower(), [])
                             if p["id"])
                self.result["diff"]["before"]["profiles"] = dict(
                    (a.desired.label(bare=True), names.get((a.current or "").lower(), a.current)) for a in changing)
                self.result["diff"]["after"]["profiles"] = dict(
                    (a.desired.label(bare=True), a.profile["name"]) for a in changing)
        if self.options.check_mode:
            for device in to_add:
                self.mark(device, "would_add")
            for device in to_remove:
                self.mark(device, "would_remove", device_id=device.device_id)
            for item in self.assignments:
                if item.status is None:
                    item.status = "would_assign"
            self.result["changed"] = bool(to_add or to_remove or self.result["plan"]["would_assign"])
            self.report_assignments()
            return
        for device in to_remove:
            self.service.delete_device(self.customer, device.batch_id, device.device_id)
            self.mark(device, "removed", device_id=device.device_id)
            self.result["changed"] = True
        if to_add:
            self.sent, self.uploaded = self.upload(to_add, exists), True

    def finish(self):
        try:
            self.finish_upload()
            if self.assignments and not self.options.check_mode:
                self.assign()
        finally:
            self.report_assignments()
        if self.device_failures and self.p["fail_on_device_errors"]:
            self.fail(self.device_failures)
        self.note_verbose_progress()

    def finish_upload(self):
        if self.uploaded:
            if not self.p["wait"]:
                for job in self.sent:
                    for device in job["devices"]:
                        self.mark(device, "submitted", status="queued")
                self.result["changed"] = self.result["changed"] or bool(self.sent)
                self.result["job_status"] = "queued" if self.sent else None
            elif self.sent:
                self.report(self.wait_for(self.sent))
            for device in self.recovered:
                self.mark(device, "recovered", status="finished")
            for device in self.late_present:
                self.mark(device, "already_present")
            self.result["changed"] = self.result["changed"] or bool(self.recovered)

    def report(self, outcomes):
        # A write whose devices all turned out present (806) changed nothing; any other answer to it did.
        if any(item["outcome"] != "already_present" for item in outcomes):
            self.result["changed"] = True
        failed = [o for o in outcomes if o["outcome"] == "failed"]
        # Devices that did register still get their profile before the batch fails (see finish).
        if failed and self.p["fail_on_device_errors"]:
            self.device_failures = ("%d of %d devices could not be registered in batch %s: %s"
                                    % (len(failed), len(outcomes), self.batch_id, failure_message(outcomes)))
        elif failed:
            self.warnings.append("%d devices could not be registered: %s" % (len(failed), failure_message(outcomes)))

    # ----- the result: one outcome per device --------------------------------------------------------------
    def mark(self, device, outcome, **fields):
        entry = dict(device.identity(), device_id=None, status=None, error_code=None, error_description=None,
                     explanation=explanation(outcome), outcome=outcome)
        entry.update(fields)
        entry["explanation"] = entry["explanation"] or explanation(outcome)
        self.outcomes[id(device)] = entry

    def close(self):
        """Shape the result's devices (each declared device once, then the registered ones removed or to be
        removed) and the lists derived from them; a device the run never got to takes the batch's failure."""
        entries = []
        for device in self.desired:
            if id(device) not in self.outcomes and self.result.get("failed"):
                self.mark(device, "refused" if self.refused else "failed", status=NOT_SENT,
                          explanation=self.result.get("msg"))
            if id(device) in self.outcomes:
                entries.append(self.outcomes.pop(id(device)))
        entries.extend(self.outcomes.values())  # removals: registered devices, not declared ones
        by_identity = dict((a.key(), a) for a in self.assignments)
        for entry in entries:
            item = by_identity.get(Assignment.key_of(entry["serial_number"], entry["product_key"]))
            entry.update(profile=item.profile["name"] if item else None, profile_id=item.profile["id"] if item else None,
                         profile_status=item.status if item else None)
        self.result["devices"] = entries
        for key, outcomes in (("added", ADDED), ("already_present", ("already_present",)), ("removed", REMOVED)):
            self.result[key] = [dict(serial_number=e["serial_number"], product_key=e["product_key"])
                                for e in entries if e["outcome"] in outcomes]
        if self.sent:  # a write went out: whatever became of it, something may have changed
            self.result["changed"] = self.result["changed"] or any(
                e["outcome"] not in ("already_present",) for e in entries if e["outcome"] in SENT)
        return self.result


ADDED = ("registered", "recovered", "submitted", "would_add")
REMOVED = ("removed", "would_remove")
SENT = ("registered", "recovered", "submitted", "pending", "failed")


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


def in_pool(concurrency, work, items):
    """work(item) for every item, at most concurrency at a time; returns [result per item], in order."""
    if concurrency <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return [future.result() for future in [pool.submit(work, item) for item in items]]


def by_customer(pairs):
    """[(customer id, x)] grouped per customer (case-insensitively), customers and items in input order."""
    groups, order = {}, []
    for customer, item in pairs:
        key = customer.strip().lower()
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(item)
    return [groups[key] for key in order]


def run_batches(service, journal, requests, options, clock, concurrency=1):
    """Start every batch, then finish each: all uploads go out before any job is waited for, so the jobs of
    every customer overlap whatever the concurrency.

    Each phase runs per customer in a pool of `concurrency` workers. One customer's batches stay in one
    worker, in order: each must see what the one before it registered (match_scope customer), and the
    journal's per-customer entries are then only ever used by one worker.
    requests: [(params, desired devices)]. Returns ([result per batch, in order], warnings).
    """
    warnings, profile_cache = [], {}
    runs = [(BatchRun(service, journal, params, options, warnings, clock, profile_cache), desired)
            for params, desired in requests]
    groups = by_customer((run.customer, (run, desired)) for run, desired in runs)
    started = set()

    def start(group):
        for run, desired in group:
            if run.attempt(run.start, desired):
                started.add(id(run))

    def finish(group):
        for run, _desired in group:
            if id(run) in started:
                run.attempt(run.finish)
    in_pool(concurrency, start, groups)
    in_pool(concurrency, finish, groups)
    return [run.close() for run, _desired in runs], warnings


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


# ----- Autopilot profiles ------------------------------------------------------------------------------------
def ensure_profile(service, p, check_mode, clock):
    """Bring one declared profile (module options p) to its state: 0 writes when it already is.

    Returns the module's result. A write whose answer was lost is resolved by reading the profiles again
    (within a grace period for a request still on its way) before it is sent once more.
    """
    customer = p["customer_id"].strip()
    before = find_profile(service.list_profiles(customer), customer, p["name"], p["profile_id"])
    if p["profile_id"] and before is None and p["state"] == "present":
        raise ProfileError(["customer %s has no profile with id %s" % (customer, p["profile_id"])])
    result = dict(changed=False, profile=public(before) if before else None)
    if p["state"] == "absent":
        if before is None:
            return result
        assigned = before["devices_assigned"]
        if not p["force"] and assigned != 0:
            raise ProfileError(["profile %r (%s) of customer %s is assigned to %s devices: they would lose it "
                                "(what the service does then is not published); set force: true to delete it "
                                "anyway" % (before["name"], before["id"], customer,
                                            "an unreported number of" if assigned is None else assigned)])
        result.update(changed=True, profile=None, diff=dict(before=public(before), after={}))
        if not check_mode:
            service.delete_profile(customer, before["id"])
        return result
    if before is not None and not differences(before, p["name"], p["description"], p["settings"]):
        return result
    after = declared(before, p["name"], p["description"], p["settings"])
    result.update(changed=True, profile=public(after), diff=dict(before=public(before) if before else {},
                                                                 after=public(after)))
    if check_mode:
        return result

    def landed(profiles):
        if before is None:
            new = [x for x in profiles if x["name"] == p["name"] and not differences(
                x, p["name"], p["description"], p["settings"] if p["settings"] is not None else [])]
            return new[0] if new else None
        now = next((x for x in profiles if same_id(x["id"], before["id"])), None)
        return now if now is not None and not differences(now, p["name"], p["description"], p["settings"]) else None

    for _attempt in range(MAX_RESOLUTIONS):
        try:
            if before is None:
                written = service.create_profile(customer, create_body(p["name"], p["description"], p["settings"]))
            else:
                written = service.update_profile(customer, before["id"], update_body(after))
            result["profile"] = public(written)
            return result
        except OutcomeUnknownError:
            # A profile written moments ago may be listed only after a while: sending it again before then
            # would make a namesake that fails every later run on the name clash.
            found = wait_until(lambda: landed(service.list_profiles(customer)), lambda x: x is not None, clock,
                               clock.now() + LISTING_GRACE, 2.0)
            if found is not None:
                result["profile"] = public(found)
                return result
    raise PartnerCenterError("writing profile %r of customer %s kept losing its answer; run again"
                             % (p["name"], customer))
