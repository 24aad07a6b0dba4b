# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guards that keep a batch from being planned against while an upload to it may still be processing: the
listing's status (settle), this controller's in-flight uploads in the journal, and an upload whose answer was
lost, waited for until it has visibly landed or can no longer be running."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import Device, plan
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import BUSY_STATUSES
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import device_count, devices_of
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import (
    JobStatusError, JobTimeoutError, same_batch)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.waiting import (
    LOST_ANSWER_GRACE, backoff, wait_until)


class Guards(object):
    """The guards of one batch run (engine.BatchRun): its service, journal, clock, options and failure door."""

    def __init__(self, run):
        self.run = run

    def settled(self):
        """First guard: the listing's status (optional in the service's answer). {batch id: view}"""
        run = self.run
        scope = None if run.p["match_scope"] == "customer" else [run.batch_id]
        return run.service.settled_batches(run.customer, scope, run.deadline, run.p["poll_interval"])

    def await_earlier_uploads(self):
        """Second guard: wait for the jobs of this controller's own earlier uploads (wait: false, a kill)."""
        run = self.run
        scope = None if run.p["match_scope"] == "customer" else run.batch_id
        for entry in run.journal.pending(run.customer, scope):
            if entry["tracking_id"]:
                self.await_job(entry)
            else:
                # Its request may have reached the service as late as the client's timeout after it was sent.
                self.await_unknown(entry["batch_id"], devices_of(entry), entry["sent_at"],
                                   entry["sent_at"] + run.p["timeout"])
            run.journal.done([entry["id"]])

    def await_job(self, entry):
        run, tracking_id = self.run, entry["tracking_id"]
        run.progress.append("waiting for an earlier upload of %d devices to batch %s (job %s)"
                            % (device_count(entry), entry["batch_id"], tracking_id))
        try:
            run.service.wait_for_job(run.customer, tracking_id, max(0, run.deadline - run.clock.now()),
                                     poll_interval=run.p["poll_interval"], progress=run.note_progress)
        except JobTimeoutError as err:
            run.fail("an earlier upload of %d devices to batch %s (job %s) is still %s after wait_timeout; "
                     "nothing was sent, so that none of its devices is uploaded twice: run again once it has "
                     "finished" % (device_count(entry), entry["batch_id"], tracking_id,
                                   (err.last_status or {}).get("status")))
        except PartnerCenterError as err:
            # A job the service does not know (any more), or whose status says nothing about its end: as for a
            # lost answer, the listing decides what is registered.
            if err.status != 404 and not isinstance(err, JobStatusError):
                raise
            if run.clock.now() - entry["sent_at"] < run.p["timeout"] + LOST_ANSWER_GRACE:
                # A job accepted moments ago may not be readable yet: wait on the listing instead.
                self.await_unknown(entry["batch_id"], devices_of(entry), entry["sent_at"], run.clock.now())

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
        run = self.run
        grace = max(0.0, min(run.p["timeout"], LOST_ANSWER_GRACE))
        watch = _LostUpload(run, batch_id, devices, given_up_at + grace, grace)
        deadline = sent_at + run.p["wait_timeout"]
        if not watch.settled(wait_until(watch.read, watch.settled, run.clock, deadline,
                                        backoff(run.p["poll_interval"]))):
            run.warnings.append(
                "an upload to batch %s sent at %s UTC has not visibly landed after wait_timeout; its missing "
                "devices are sent again (any it registered after all are reported as already present)"
                % (batch_id, time.strftime("%H:%M:%S", time.gmtime(sent_at))))


class _LostUpload(object):
    """What await_unknown reads of one batch on each poll: whether the upload's devices are all listed, and when
    the batch's device count last moved (None: not since the first read)."""

    def __init__(self, run, batch_id, devices, grace_end, grace):
        self.run, self.batch_id, self.devices = run, batch_id, devices
        self.grace_end, self.grace = grace_end, grace
        self.count = self.moved_at = None
        self.reads = 0

    def read(self):
        run = self.run
        now = run.clock.now()
        batch = next((b for i, b in run.service.batches(run.customer).items() if same_batch(i, self.batch_id)), None)
        count = batch["devices_count"] if batch is not None else None
        landed = False
        if not self.reads or count != self.count:
            self.moved_at = now if self.reads else None
            landed = batch is not None and bool(self.devices) and not plan(self.devices, [
                Device.from_api(item, self.batch_id) for item in run.service.list_devices(run.customer, self.batch_id)
            ]).to_add
        self.count, self.reads = count, self.reads + 1
        return now, batch, landed

    def settled(self, state):
        now, batch, landed = state
        if landed or now < self.grace_end:
            return landed
        if batch is None or batch["status"] not in (None,) + BUSY_STATUSES:
            return True
        return self.moved_at is not None and now - self.moved_at >= self.grace
