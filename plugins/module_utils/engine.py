# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registration engine: run_batches over many batches, and one batch's flow - guard, read, plan, write,
finish - ending in one outcome per device. What each step needs is in its own room (guards, uploads, jobs,
assignments, pool); takes a service, a journal and a clock; knows nothing of AnsibleModule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.assignments import Assigner, key_of
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import plan, plan_removal, undeclared
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import failure_message
from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import AuthError, error_fields
from ansible_collections.partnercenter.autopilot.plugins.module_utils.guards import Guards
from ansible_collections.partnercenter.autopilot.plugins.module_utils.jobs import await_uploads, progress_line
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import JournalError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.outcomes import (
    NOT_SENT, batch_result, explanation)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.pool import by_customer, in_pool
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import same_batch
from ansible_collections.partnercenter.autopilot.plugins.module_utils.uploads import Uploads

# Which outcomes each derived list of a result holds; SENT: those of devices a write carried.
ADDED = ("registered", "recovered", "submitted", "would_add")
REMOVED = ("removed", "would_remove")
SENT = ("registered", "recovered", "submitted", "pending", "failed")


class BatchFailed(Exception):
    """One batch could not be brought to its declared state; its result says how far it got."""


class RunOptions(object):
    """How the whole run goes: Ansible's check mode, diff and verbosity, as plain values."""

    def __init__(self, check_mode=False, diff=False, verbose=False):
        self.check_mode, self.diff, self.verbose = check_mode, diff, verbose


class BatchRun(object):
    """One batch: read, plan, write only the difference (start), then wait and report (finish), then one outcome
    per device (close).

    start and finish are apart so that the uploads of many batches go out before any of their jobs is waited
    for: the service then processes the jobs side by side.
    """

    def __init__(self, service, journal, params, options, warnings, clock, profile_cache=None):
        self.service, self.journal, self.p, self.options = service, journal, params, options
        self.warnings, self.clock = warnings, clock
        self.customer, self.batch_id = self.p["customer_id"].strip(), self.p["batch_id"]
        self.deadline = clock.now() + self.p["wait_timeout"]
        self.result = batch_result(self.customer, self.batch_id, self.p.get("customer_name"))
        self.progress = []
        self.listed = []        # the registered devices the plan read (match_scope: the customer's, or the batch's)
        self.desired = []       # the declared devices, in input order
        self.outcomes = {}      # id(device) -> its entry in the result's devices (one outcome each)
        self.job_outcomes = []  # the upload jobs' devicesStatus, as devices.device_outcome reads them
        self.refused = False    # failed on its input (a profile that names none): nothing of it was sent
        self.refusals = {}      # id(device) -> why its input refused the batch (the profile it declared)
        self.device_failures = None  # the message of devices that could not be registered or get their profile
        self.guards = Guards(self)
        self.uploads = Uploads(self, self.guards)
        self.profiles = Assigner(self, {} if profile_cache is None else profile_cache)

    # ----- the flow ------------------------------------------------------------------------------------------
    def start(self, desired):
        self.desired = list(desired)
        self.profiles.resolve(desired)
        self.guards.await_earlier_uploads()
        batches = self.guards.settled()
        exists = self.adopt_spelling(batches)
        registered = self.listed = self.registered(batches)
        in_batch = [d for d in registered if d.batch_id == self.batch_id]
        to_add, present, to_remove = self.plan(desired, registered, in_batch)
        for device, found in present:
            self.mark(device, "already_present", device_id=found.device_id)
        self.result["created"] = bool(to_add) and not exists
        self.result["plan"]["would_assign"] = self.profiles.plan(present, to_add)
        if self.options.diff:
            self.diff(in_batch, to_add, to_remove, exists)
        if self.options.check_mode:
            for device in to_add:
                self.mark(device, "would_add")
            for device in to_remove:
                self.mark(device, "would_remove", device_id=device.device_id)
            self.profiles.would_assign()
            self.result["changed"] = bool(to_add or to_remove or self.result["plan"]["would_assign"])
            self.profiles.report(self.result)
            return
        for device in to_remove:
            self.service.delete_device(self.customer, device.batch_id, device.device_id)
            self.mark(device, "removed", device_id=device.device_id)
            self.result["changed"] = True
        if to_add:
            self.uploads.upload(to_add, exists)

    def finish(self):
        try:
            self.finish_upload()
            if self.profiles.assignments and not self.options.check_mode:
                message = self.profiles.assign(self.job_outcomes)
                if message and self.p["fail_on_device_errors"]:
                    self.device_failures = "; ".join(m for m in (self.device_failures, message) if m)
                elif message:
                    self.warnings.append(message)
        finally:
            self.profiles.report(self.result)
        if self.device_failures and self.p["fail_on_device_errors"]:
            self.fail(self.device_failures)
        self.note_verbose_progress()

    def close(self):
        """The result, with its devices: each declared device once, then the registered ones removed (or to be
        removed) that were not declared; a device the run never got to takes the batch's failure."""
        entries = []
        for device in self.desired:
            if id(device) not in self.outcomes and self.result.get("failed"):
                self.mark(device, "refused" if self.refused else "failed", status=NOT_SENT,
                          explanation=self.refusals.get(id(device), self.result.get("msg")))
            if id(device) in self.outcomes:
                entries.append(self.outcomes.pop(id(device)))
        entries.extend(self.outcomes.values())
        profiles = self.profiles.fields_by_key()
        no_profile = dict(profile=None, profile_id=None, profile_status=None)
        for entry in entries:
            entry.update(profiles.get(key_of(entry["serial_number"], entry["product_key"]), no_profile))
        self.result["devices"] = entries
        for key, outcomes in (("added", ADDED), ("already_present", ("already_present",)), ("removed", REMOVED)):
            self.result[key] = [dict(serial_number=e["serial_number"], product_key=e["product_key"])
                                for e in entries if e["outcome"] in outcomes]
        if self.uploads.sent:  # a write went out: unless all of it was already there, something changed
            self.result["changed"] = self.result["changed"] or any(
                e["outcome"] in SENT and e["outcome"] != "already_present" for e in entries)
        return self.result

    # ----- reading and planning ------------------------------------------------------------------------------
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
        """The devices registered in the batches the plan matches against (match_scope)."""
        return self.service.registered(self.customer, batches if self.p["match_scope"] == "customer" else dict(
            (k, v) for k, v in batches.items() if same_batch(k, self.batch_id)))

    def plan(self, desired, registered, in_batch):
        """(to add, [(desired, registered)] already present, to remove), also kept in the result's plan."""
        p = self.p
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
        return to_add, present, to_remove

    def diff(self, in_batch, to_add, to_remove, exists):
        before = sorted(d.label(bare=True) for d in in_batch)
        removed = set(id(d) for d in to_remove)
        after = sorted([d.label(bare=True) for d in in_batch if id(d) not in removed] +
                       [d.label(bare=True) for d in to_add])
        where = "customer %s%s, batch %s" % (self.p.get("customer_name") and self.p["customer_name"] + " / " or "",
                                             self.customer, self.batch_id)  # each hunk names where it is
        self.result["diff"] = dict(before=dict(batch_id=self.batch_id if exists else None, devices=before),
                                   after=dict(batch_id=self.batch_id if exists or to_add else None, devices=after),
                                   before_header="%s (registered)" % where, after_header="%s (declared)" % where)
        profiles_before, profiles_after = self.profiles.diff()
        if profiles_after:
            self.result["diff"]["before"]["profiles"] = profiles_before
            self.result["diff"]["after"]["profiles"] = profiles_after

    # ----- finishing ------------------------------------------------------------------------------------------
    def finish_upload(self):
        sent = self.uploads.sent
        if not self.p["wait"]:
            for job in sent:
                for device in job["devices"]:
                    self.mark(device, "submitted", status="queued")
            self.result["changed"] = self.result["changed"] or bool(sent)
            self.result["job_status"] = "queued" if sent else None
        elif sent:
            self.job_outcomes = await_uploads(self, sent)
            self.report(self.job_outcomes)
        for device in self.uploads.recovered:
            self.mark(device, "recovered", status="finished")
        for device in self.uploads.late_present:
            self.mark(device, "already_present")
        self.result["changed"] = self.result["changed"] or bool(self.uploads.recovered)

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

    def mark(self, device, outcome, **fields):
        """The device's one outcome (a later mark replaces an earlier one)."""
        entry = dict(device.identity(), device_id=None, status=None, error_code=None, error_description=None,
                     explanation=None, outcome=outcome)
        entry.update(fields)
        entry["explanation"] = entry["explanation"] or explanation(outcome)
        self.outcomes[id(device)] = entry

    def record_job(self, job, kind="upload", status=None):
        self.result["jobs"].append(dict(customer_id=self.customer, batch_id=self.batch_id, kind=kind,
                                        tracking_id=job["tracking_id"], location=job["location"], status=status,
                                        devices=len(job["devices"])))
        if kind == "upload" and not self.result["tracking_id"]:
            self.result["tracking_id"], self.result["location"] = job["tracking_id"], job["location"]

    def note_progress(self, body):
        self.progress.append(progress_line(body))

    def note_verbose_progress(self):
        if self.options.verbose and self.progress:
            self.result["progress"] = self.progress

    # ----- the error door of a batch -------------------------------------------------------------------------
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


def run_batches(service, journal, requests, options, clock, concurrency=1):
    """Start every batch, then finish each: all uploads go out before any job is waited for, so the jobs of
    every customer overlap whatever the concurrency.

    Each phase runs per customer in a pool of `concurrency` workers. One customer's batches stay in one
    worker, in order: each must see what the one before it registered (match_scope customer), and the
    journal's per-customer entries are then only ever used by one worker.
    requests: [(params, desired devices)]. Returns ([result per batch, in order], warnings, undeclared: the
    devices registered for the task's customers, as the plans read them, that no batch of the task declares).
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
    return [run.close() for run, _desired in runs], warnings, undeclared_of(groups)


def undeclared_of(groups):
    """Per customer: what its batches' plans read as registered that none of its batches declares (nothing more
    is read for it)."""
    found = []
    for runs in ([run for run, _desired in group] for group in groups):
        profiles = runs[0].profiles.profile_cache.get(runs[0].customer.lower(), [])
        found.extend(undeclared([d for run in runs for d in run.desired], [d for run in runs for d in run.listed],
                                runs[0].customer, runs[0].p.get("customer_name"),
                                dict((p["id"].lower(), p["name"]) for p in profiles if p["id"])))
    return found
