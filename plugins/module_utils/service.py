# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Partner Center's device endpoints mean, over the transport (client.py): create-or-add (409 becomes an
add), delete (404 means done), chunking, waiting for a job, and waiting for a batch to settle. No HTTP here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from urllib.parse import quote

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.customers import (
    customer_view, search_filter, starts_with)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import Device, chunks
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import (
    BUSY_STATUSES, FINAL_JOB_STATUSES, batch_view, device_view, job_status_of, lower_keys, parse_location)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import (
    assignment_body, autopilot_profiles, profile_view)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.waiting import backoff, wait_until

# Not published by Microsoft (partnercenter-api.md): our own cap per upload request.
MAX_DEVICES_PER_REQUEST = 500


class JobTimeoutError(PartnerCenterError):
    """A job did not finish within wait_timeout; last_status holds the last answer."""

    def __init__(self, message, tracking_id=None, last_status=None):
        super(JobTimeoutError, self).__init__(message)
        self.tracking_id, self.last_status = tracking_id, last_status


class JobStatusError(PartnerCenterError):
    """A job reports a status that says nothing about its end (unknown, or one the collection does not know):
    the .NET SDK maps it to Unknown and the PowerShell module stops polling, so it is reported, not waited on
    until wait_timeout. last_status holds the answer."""

    def __init__(self, message, tracking_id=None, last_status=None):
        super(JobStatusError, self).__init__(message)
        self.tracking_id, self.last_status = tracking_id, last_status


class Clock(object):
    """Time and sleep, injected so the engine and the service run on a fake clock in unit tests."""

    def __init__(self, now=time.time, sleep=time.sleep):
        self.now, self.sleep = now, sleep

    def sleep_until(self, moment):
        self.sleep(max(0.0, moment - self.now()))


def same_batch(one, other):
    """Batch ids are case-insensitive in the service's paths (the PowerShell cmdlet finds a batch ignoring case)."""
    return (one or "").lower() == (other or "").lower()


class PartnerCenterService(object):
    """The device endpoints of one partner, with the meaning the collection gives their answers."""

    def __init__(self, client, clock=None, chunk_size=MAX_DEVICES_PER_REQUEST):
        self.client = client
        self.clock = clock or Clock(sleep=client.sleep)
        self.chunk_size = chunk_size

    @property
    def base_url(self):
        return self.client.base_url

    # ----- reading ---------------------------------------------------------------------------------------
    def list_batches(self, customer_id):
        return self.client.get_all(self.client.path(customer_id, "deviceBatches"), customer_id)

    def batches(self, customer_id):
        """The customer's batches as views, {id as the service spells it: view}."""
        return dict((view["id"], view) for view in (batch_view(b) for b in self.list_batches(customer_id)))

    def registered(self, customer_id, batches):
        """The devices of batches ({id: view}) as Devices; a batch listed with no devices is not read."""
        return [Device.from_api(item, batch_id) for batch_id, batch in batches.items() if batch["devices_count"] != 0
                for item in self.list_devices(customer_id, batch_id)]

    def list_devices(self, customer_id, batch_id):
        return self.client.get_all(self.client.path(customer_id, "deviceBatches", batch_id, "devices"), customer_id)

    def describe_batches(self, customer_id, batch_id=None, include_devices=False):
        """The customer's batches (or the one named) as batch views, with their devices' views when asked."""
        batches = [batch_view(item) for item in self.list_batches(customer_id)]
        if batch_id is not None:  # batch ids are case-insensitive in the service's paths
            batches = [b for b in batches if same_batch(b["id"], batch_id)]
        for view in batches if include_devices else []:
            view["devices"] = [device_view(d) for d in self.list_devices(customer_id, view["id"])]
            if view["devices_count"] is None:
                view["devices_count"] = len(view["devices"])
        return batches

    def job_status(self, customer_id, tracking_id):
        return self.client.get_json(self.client.path(customer_id, "batchJobStatus", tracking_id), customer_id)

    # ----- writing ---------------------------------------------------------------------------------------
    def create_batch(self, customer_id, batch_id, devices, on_attempt=None):
        """POST a new batch with devices (API form). Returns {location, tracking_id}."""
        body = {"BatchId": batch_id, "Devices": devices, "Attributes": {"ObjectType": "DeviceBatchCreationRequest"}}
        return self.client.send_accepted("POST", self.client.path(customer_id, "deviceBatches"), body, customer_id,
                                         on_attempt=on_attempt)

    def add_devices(self, customer_id, batch_id, devices, on_attempt=None):
        path = self.client.path(customer_id, "deviceBatches", batch_id, "devices")
        return self.client.send_accepted("POST", path, devices, customer_id, on_attempt=on_attempt)

    def send_chunk(self, customer_id, batch_id, chunk, create, on_attempt=None):
        """POST one chunk of Device objects: creating the batch when asked, else adding to it.

        Returns {location, tracking_id, devices}. on_attempt() runs before each request attempt is sent.
        """
        api = [d.to_api() for d in chunk]
        if create:
            try:
                job = self.create_batch(customer_id, batch_id, api, on_attempt=on_attempt)
            except PartnerCenterError as err:
                if err.status != 409:
                    raise
                # Another run (a job slice, a second playbook) created the batch since it was read; a refused
                # create registered nothing, so the same devices go to that batch instead.
                job = self.add_devices(customer_id, batch_id, api, on_attempt=on_attempt)
        else:
            job = self.add_devices(customer_id, batch_id, api, on_attempt=on_attempt)
        job["devices"] = chunk
        return job

    def upload(self, customer_id, batch_id, devices, create):
        """Send devices in chunks of at most chunk_size: the first creates the batch when asked.

        Yields one {location, tracking_id, devices} per chunk as each is accepted, so a caller that hits an
        error part way still knows which chunks were sent.
        """
        for chunk in chunks(devices, self.chunk_size):
            yield self.send_chunk(customer_id, batch_id, chunk, create)
            create = False

    def delete_device(self, customer_id, batch_id, device_id):
        try:
            self.client.request("DELETE", self.client.path(customer_id, "deviceBatches", batch_id, "devices",
                                                           device_id), customer_id=customer_id)
        except PartnerCenterError as err:
            if err.status != 404:  # already gone (e.g. a retried DELETE that had been applied)
                raise

    # ----- Autopilot profiles (configuration policies) -----------------------------------------------------
    def list_profiles(self, customer_id):
        """The customer's Autopilot profiles as profile views (no filter by name is published)."""
        return autopilot_profiles(self.client.get_all(self.client.path(customer_id, "policies"), customer_id))

    def create_profile(self, customer_id, body):
        """POST: the service answers 200 (not 201) with the new policy."""
        response = self.client.request("POST", self.client.path(customer_id, "policies"), json_body=body,
                                       customer_id=customer_id)
        return profile_view(response.json())

    def update_profile(self, customer_id, profile_id, body):
        """PUT, a full replacement (the .NET SDK's Patch sends a PUT too; PATCH is not published)."""
        response = self.client.request("PUT", self.client.path(customer_id, "policies", profile_id),
                                       json_body=body, customer_id=customer_id)
        return profile_view(response.json())

    def delete_profile(self, customer_id, profile_id):
        try:
            self.client.request("DELETE", self.client.path(customer_id, "policies", profile_id),
                                customer_id=customer_id)
        except PartnerCenterError as err:
            if err.status != 404:  # already gone (a retried DELETE that had been applied)
                raise

    def assign_profiles(self, customer_id, pairs, on_attempt=None):
        """PATCH DevicePolicyUpdates for [(device id, profile id)]: {location, tracking_id}.

        The published example answers 202 with a relative Location (no /v1); the REST reference also lists
        200 with the status link in the body, so a body is read when the header is missing.
        """
        path = self.client.path(customer_id, "DevicePolicyUpdates")
        response = self.client.request("PATCH", path, json_body=assignment_body(pairs), customer_id=customer_id,
                                       on_attempt=on_attempt)
        location = response.headers.get("Location")
        if not location:
            try:
                body = response.json()
            except ValueError:
                body = None
            # The body's shape is not published: a string, or an object with the link (a link object's uri).
            fields = lower_keys(body)
            location = body if isinstance(body, str) else (
                fields.get("location") or fields.get("uri") or lower_keys(fields.get("link")).get("uri"))
        _customer, tracking_id = parse_location(location)
        if not tracking_id:
            raise PartnerCenterError("Partner Center accepted PATCH %s but named no job to follow (Location %r)"
                                     % (path, location), method="PATCH", path=path)
        return {"location": location, "tracking_id": tracking_id}

    # ----- customers -------------------------------------------------------------------------------------
    def list_customers(self, domain=None, name=None, page_size=500):
        """The partner's customers as customer views, every page read: all of them, or those whose domain and/or
        company name begins with domain / name (ignoring case).

        One filter goes to the service (the API takes one: domain when given, else name); with both, the company
        name is checked here. page_size: 500 is the most the service answers in one page (Microsoft's
        Partner-Center-PowerShell says so); it pages anything longer.
        """
        path = "/v1/customers?size=%d" % page_size
        field, value = ("domain", domain) if domain is not None else ("company_name", name)
        if value is not None:
            path += "&filter=" + quote(search_filter(field, value), safe="")
        views = [customer_view(item) for item in self.client.get_all(path)]
        if domain is not None and name is not None:
            views = [view for view in views if starts_with(view, "company_name", name)]
        return views

    def get_customer(self, tenant_id):
        """The customer view of one tenant id, or None when it is not a customer of this partner (404 60003, or
        403 20002: no relationship)."""
        try:
            return customer_view(self.client.get_json(self.client.path(tenant_id), tenant_id))
        except PartnerCenterError as err:
            if (err.status, err.code) in ((404, "60003"), (403, "20002")):
                return None
            raise

    # ----- waiting ---------------------------------------------------------------------------------------
    def wait_for_job(self, customer_id, tracking_id, timeout, poll_interval=2.0, poll_cap=30.0, progress=None):
        """Poll (waiting.poll_delay's backoff) until finished/finished_with_errors; raise JobTimeoutError after
        timeout seconds, and JobStatusError at once on a status that says nothing about the job's end."""
        def read():
            status = self.job_status(customer_id, tracking_id)
            if progress:
                progress(status)
            return status

        def done(status):
            state = job_status_of(lower_keys(status).get("status"))
            if state in FINAL_JOB_STATUSES:
                return True
            if state not in BUSY_STATUSES:
                raise JobStatusError("job %s of customer %s reports status %r, which says nothing about its end; "
                                     "it was not waited for: check it later with "
                                     "partnercenter.autopilot.partnercenter_batch_job_status_info (tracking_id: %s)"
                                     % (tracking_id, customer_id, lower_keys(status).get("status"), tracking_id),
                                     tracking_id=tracking_id, last_status=status)
            return False
        status = wait_until(read, done, self.clock, self.clock.now() + timeout, backoff(poll_interval, poll_cap))
        if not done(status):
            raise JobTimeoutError("job %s of customer %s is still %s after %ss; check it later with "
                                  "partnercenter.autopilot.partnercenter_batch_job_status_info (tracking_id: %s)"
                                  % (tracking_id, customer_id, job_status_of(lower_keys(status).get("status")),
                                     timeout, tracking_id), tracking_id=tracking_id, last_status=status)
        return status

    def settled_batches(self, customer_id, batch_ids, deadline, poll_interval):
        """The customer's batches {id: view} once none of batch_ids (None: any) is still processing an upload.

        Planning against a batch whose job still runs would miss its pending devices and upload them twice.
        Relies on the listing's status, which the service may leave out (see guards.py's journal guard).
        """
        wanted = None if batch_ids is None else set(b.lower() for b in batch_ids)

        def busy(batches):
            return [i for i, b in batches.items() if (wanted is None or (i or "").lower() in wanted)
                    and b["status"] in BUSY_STATUSES]
        batches = wait_until(lambda: self.batches(customer_id), lambda found: not busy(found), self.clock, deadline,
                             poll_interval)
        if busy(batches):
            raise JobTimeoutError("batches %s are still processing an earlier upload after wait_timeout"
                                  % ", ".join(busy(batches)))
        return batches
