# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Autopilot profiles on registration: each declared profile resolved before any write, the devices whose
profile differs assigned once they are registered (in requests of at most 500), and an assignment whose answer
was lost read back before it is sent again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import OutcomeUnknownError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (
    Device, chunks, find_registered, index_registered)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import interpret_job
from ansible_collections.partnercenter.autopilot.plugins.module_utils.jobs import wait_for_own_job
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import (
    MAX_DEVICES_PER_ASSIGNMENT, ProfileError, carries, resolve)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import JobStatusError, JobTimeoutError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.waiting import (
    LISTING_GRACE, LOST_ANSWER_GRACE, MAX_RESOLUTIONS, resolve_lost, wait_until)

ASSIGNMENT_EXPLANATIONS = {
    "assigned": "profile assigned by this run",
    "already_assigned": "the device already carries this profile",
    "would_assign": "would be assigned (check mode)",
    "failed": "the service did not assign the profile: run again, or assign it in Partner Center",
    "pending": "the assignment job had not finished within wait_timeout",
    "not_registered": "the device is not registered, so it cannot get a profile",
}


def _where(device):
    return "devices[%s] (%s)" % (device.index, device.label())


def key_of(serial_number, product_key):
    """How a device's assignment is found again from an entry that names it by serial number or product key."""
    return (serial_number or "").strip().upper() or "pk:" + (product_key or "").strip().upper()


class Assignment(object):
    """One desired device with a declared profile: where it is registered, and what became of its profile."""

    def __init__(self, desired, profile, found=None):
        self.desired, self.profile = desired, profile
        self.device_id = found.device_id if found is not None else None
        self.batch_id = found.batch_id if found is not None else None
        self.current = found.policy_id if found is not None else None  # the profile it carries now
        self.status = self.error_code = self.error_description = None

    def key(self):
        return key_of(self.desired.serial_number, self.desired.product_key)

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


class Assigner(object):
    """The profile assignments of one batch run (engine.BatchRun); profile_cache holds each customer's profiles
    for the whole task (one worker per customer, so it is never shared between threads for one customer)."""

    def __init__(self, run, profile_cache):
        self.run, self.profile_cache = run, profile_cache
        self.declared = {}      # id(desired device) -> the profile (view) declared for it
        self.assignments = []   # one Assignment per desired device with a declared profile

    def resolve(self, desired):
        """Every declared profile name or id to a profile of the customer, before any write.

        A profile created moments ago (by the play's profile task) may not be listed yet: a name that names no
        profile is looked for again until LISTING_GRACE (at most wait_timeout) has passed.
        """
        run = self.run
        wanted = [(d, ref) for d, ref in ((d, d.profile or run.p.get("profile")) for d in desired) if ref]
        if not wanted:
            return
        key = run.customer.lower()
        if key not in self.profile_cache:
            self.profile_cache[key] = run.service.list_profiles(run.customer)

        def attempt():
            problems, declared_by, missing = [], {}, False
            for device, ref in wanted:
                try:
                    self.declared[id(device)] = resolve(self.profile_cache[key], run.customer, ref)
                except ProfileError as err:
                    missing = missing or err.missing
                    for problem in err.errors:
                        if problem not in declared_by:
                            problems.append(problem)
                        declared_by.setdefault(problem, []).append(device)
                        run.refusals[id(device)] = problem
            # Each problem names the devices that declared the profile (the first ten, then how many more).
            return ["%s - declared by %s%s" % (p, ", ".join(_where(d) for d in declared_by[p][:10]),
                                               " and %d more" % (len(declared_by[p]) - 10)
                                               if len(declared_by[p]) > 10 else "") for p in problems], missing

        def read_again():
            self.profile_cache[key] = run.service.list_profiles(run.customer)
            return attempt()
        problems, missing = attempt()
        if missing:
            waited_from = run.clock.now()
            problems, missing = wait_until(read_again, lambda found: not found[1], run.clock,
                                           waited_from + min(LISTING_GRACE, run.p["wait_timeout"]),
                                           run.p["poll_interval"])
            if problems:
                problems.append("looked for %.0f s, as a new profile is listed only after a while"
                                % (run.clock.now() - waited_from))
        if problems:
            run.refused = True
            run.fail("nothing was sent: " + "; ".join(problems))

    def plan(self, present, to_add):
        """Devices already registered whose profile differs, and devices to upload that declare one: the
        identities that would be assigned."""
        would = []
        for device, found in present:
            if id(device) in self.declared:
                item = Assignment(device, self.declared[id(device)], found)
                if carries(item.profile, found.policy_id):
                    item.status = "already_assigned"
                else:
                    would.append(device.identity())
                self.assignments.append(item)
        for device in to_add:
            if id(device) in self.declared:
                self.assignments.append(Assignment(device, self.declared[id(device)]))
                would.append(device.identity())
        return would

    def diff(self):
        """(before, after): which device goes from which profile to which (names where the customer has them)."""
        changing = [a for a in self.assignments if a.status is None]
        names = dict((p["id"].lower(), p["name"]) for p in self.profile_cache.get(self.run.customer.lower(), [])
                     if p["id"])
        return (dict((a.desired.label(bare=True), names.get((a.current or "").lower(), a.current)) for a in changing),
                dict((a.desired.label(bare=True), a.profile["name"]) for a in changing))

    def would_assign(self):
        for item in self.assignments:
            if item.status is None:
                item.status = "would_assign"

    def assign(self, job_outcomes):
        """Assign each device its declared profile where it differs, and wait for those jobs. A device that did
        not register is reported as such and left alone. Returns the message naming the devices that did not
        get their profile, or None."""
        self.find_new_devices([a for a in self.assignments if a.status is None and a.device_id is None],
                              job_outcomes)
        todo = [a for a in self.assignments if a.status is None]
        sent = []
        for chunk in chunks(todo, MAX_DEVICES_PER_ASSIGNMENT):
            sent.extend(self.send(chunk))
        for job, items in sent:
            self.wait(job, items)
        failed = [a for a in self.assignments if a.status == "failed"]
        if not failed:
            return None
        return "%d of %d devices did not get their profile: %s" % (len(failed), len(self.assignments), "; ".join(
            "%s: %s" % (a.desired.label(), a.error_description or "failed") for a in failed))

    def find_new_devices(self, items, job_outcomes):
        """The service ids of devices this run registered: from the jobs' outcomes, else by reading the batch -
        looked for until LISTING_GRACE (at most what is left of wait_timeout), as new devices are listed only
        after a while. A device whose upload failed is not looked for."""
        if not items:
            return
        run = self.run
        outcomes = dict((key_of(o["serial_number"], o["product_key"]), o) for o in job_outcomes)
        index = index_registered([Device(serial_number=o["serial_number"], product_key=o["product_key"],
                                         device_id=o["device_id"], batch_id=run.batch_id)
                                  for o in outcomes.values() if o["outcome"] == "registered" and o["device_id"]])
        missing = [a for a in items if not a.locate(index)]
        failed = [a for a in missing if outcomes.get(a.key(), {}).get("outcome") == "failed"]
        missing = [a for a in missing if a not in failed]

        def read():
            if run.batch_id.lower() not in set((i or "").lower() for i in run.service.batches(run.customer)):
                return missing
            listed = index_registered([Device.from_api(item, run.batch_id)
                                       for item in run.service.list_devices(run.customer, run.batch_id)])
            return [a for a in missing if not a.locate(listed)]
        if missing:
            now = run.clock.now()
            missing = wait_until(read, lambda left: not left, run.clock,
                                 now + min(LISTING_GRACE, max(0.0, run.deadline - now)), run.p["poll_interval"])
        for item in missing + failed:
            item.status = "not_registered"

    def send(self, items):
        """One DevicePolicyUpdates request; after a lost answer, only devices not yet carrying their profile
        are sent again, once a request still on its way can no longer land."""
        run = self.run
        for _attempt in range(MAX_RESOLUTIONS + 1):
            try:
                job = run.service.assign_profiles(run.customer, [(a.device_id, a.profile["id"]) for a in items])
            except OutcomeUnknownError as err:
                run.warnings.append("%s: resolving by reading the devices again" % err)
                items = self.read_back(items)
                if not items:
                    return []
                continue
            run.result["changed"] = True
            job["accepted_at"] = run.clock.now()
            return [(job, items)]
        run.fail("profile assignments in batch %s kept losing their answers; nothing more was sent" % run.batch_id)

    def read_back(self, items):
        """The items not (yet) carrying their profile once the grace has passed; those that do were assigned by
        this run."""
        run = self.run

        def carrying():
            current = {}
            for batch_id in sorted(set(a.batch_id for a in items)):
                for item in run.service.list_devices(run.customer, batch_id):
                    device = Device.from_api(item, batch_id)
                    current[(device.device_id or "").lower()] = device.policy_id
            return [a for a in items if carries(a.profile, current.get(a.device_id.lower()))]
        grace = max(0.0, min(run.p["timeout"], LOST_ANSWER_GRACE))
        landed = resolve_lost(carrying, lambda found: len(found) == len(items), run.clock, grace,
                              min(run.p["poll_interval"], grace))
        for item in landed:
            item.status = "assigned"
            run.result["changed"] = True
        return [a for a in items if a not in landed]

    def wait(self, job, items):
        run = self.run
        try:
            body = wait_for_own_job(run, job)
        except (JobTimeoutError, JobStatusError) as err:
            for item in items:
                item.status = "pending"
            run.fail(str(err))
        info = interpret_job(body)
        run.record_job(dict(job, devices=items), kind="profile", status=info["status"])
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

    def report(self, result):
        result["profile_assignments"] = [a.view() for a in self.assignments]
        result["profile_assigned"] = [a.desired.identity() for a in self.assignments if a.status == "assigned"]

    def fields_by_key(self):
        """The profile fields of each device's entry in the result's devices, by key_of its identity."""
        return dict((a.key(), dict(profile=a.profile["name"], profile_id=a.profile["id"], profile_status=a.status))
                    for a in self.assignments)
