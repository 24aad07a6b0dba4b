# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sending a batch's missing devices exactly once: each chunk recorded in the journal before it is sent, and an
upload whose answer was lost resolved by reading the batch before anything is sent again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    OutcomeUnknownError, PartnerCenterError)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import chunks, plan
from ansible_collections.partnercenter.autopilot.plugins.module_utils.jobs import wait_for_own_job
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import same_batch
from ansible_collections.partnercenter.autopilot.plugins.module_utils.waiting import MAX_RESOLUTIONS


class Uploads(object):
    """The uploads of one batch run (engine.BatchRun), guarded by its guards.Guards."""

    def __init__(self, run, guards):
        self.run, self.guards = run, guards
        self.sent = []          # the accepted chunks: {location, tracking_id, devices, accepted_at}
        self.recovered = []     # sent in a request whose answer was lost, found registered on re-reading
        self.late_present = []  # registered by someone else while this run was uploading
        self.entries = {}       # tracking id -> journal entry id of the uploads of this run

    def upload(self, to_add, exists):
        """Send to_add; when an answer is lost, wait for it to land, re-read and send only what is still missing.

        Each chunk is written to the journal before it is sent, so a run killed while the request is on its
        way leaves a trace the next run waits on. Devices of the lost request that turn out to be registered
        were registered by this run (recovered).
        """
        run = self.run
        entry_id, sent_at = None, run.clock.now()
        for _attempt in range(MAX_RESOLUTIONS + 1):
            done = 0
            try:
                for chunk in chunks(to_add, run.service.chunk_size):
                    entry_id = run.journal.begin(run.customer, run.batch_id, chunk)
                    attempts = []
                    try:
                        job = run.service.send_chunk(run.customer, run.batch_id, chunk, create=not exists,
                                                     on_attempt=functools.partial(self.sent_now, entry_id, attempts))
                    except OutcomeUnknownError:
                        sent_at = attempts[-1] if attempts else run.clock.now()
                        raise
                    except PartnerCenterError as err:
                        if err.status is not None and 400 <= err.status < 500:
                            run.journal.done([entry_id])  # refused: nothing of it is processing
                        raise
                    job["accepted_at"] = run.clock.now()
                    run.journal.accepted(entry_id, job["tracking_id"])
                    self.entries[job["tracking_id"]] = entry_id
                    exists = True
                    done += len(chunk)
                    self.sent.append(job)
                    run.record_job(job)
                return
            except OutcomeUnknownError as err:
                lost_chunk = to_add[done:done + run.service.chunk_size]
                lost = set(id(d) for d in lost_chunk)
                run.warnings.append("%s: resolving by reading the batch again" % err)
                given_up_at = run.clock.now()
                # This run's own earlier chunks end first: their devices appearing would otherwise look like
                # the lost upload landing (the device count moving, then holding still).
                for job in self.sent:
                    wait_for_own_job(run, job)
                self.guards.await_unknown(run.batch_id, lost_chunk, sent_at, given_up_at)
                batches = self.guards.settled()
                exists = any(same_batch(i, run.batch_id) for i in batches)
                current = plan(to_add[done:], run.registered(batches), run.batch_id)
                run.journal.done([entry_id])
                missing = set(id(d) for d in current.to_add)
                for device in to_add[done:]:
                    if id(device) not in missing:
                        (self.recovered if id(device) in lost else self.late_present).append(device)
                to_add = current.to_add
                if not to_add:
                    return
        run.fail("uploads to batch %s kept losing their answers; nothing more was sent" % run.batch_id)

    def sent_now(self, entry_id, attempts):
        """Called before each attempt of an upload request: a resend (after Retry-After) leaves only now."""
        attempts.append(self.run.clock.now())
        if len(attempts) > 1:
            self.run.journal.touch(entry_id)

    def done(self, job):
        """The job was seen finished: its journal entry is no longer needed."""
        if job["tracking_id"] in self.entries:
            self.run.journal.done([self.entries[job["tracking_id"]]])
