#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: partnercenter_device_batch
short_description: Register Windows Autopilot devices in a customer's Partner Center device batch
version_added: 0.1.0
description:
  - Makes sure the listed devices are registered for a customer, in the named device batch, exactly once.
  - Reads what is registered first (every page), then creates the batch with all devices when it does not
    exist, or uploads only the missing devices to it. Nothing missing means no write and RV(ignore:changed=false).
  - Every device is validated before the first request; one error lists every bad device by index and serial.
  - Waits for the upload job and returns each device's outcome. A device the service already has for this
    customer (C(ZtdDeviceAlreadyAssigned)) counts as present, not as a failure.
  - An upload whose answer was lost is never sent again blindly. The run waits until the upload has visibly
    landed (or cannot still be running), reads the batch again and sends only what is still missing.
  - A device whose earlier upload is still being processed is not uploaded again. Two guards see to it - the
    batch listing's C(status) (when the service sends it) and the upload journal (O(journal_path)), which
    records this controller's own uploads until their jobs are seen finished. See the notes for what neither
    can see.
author:
  - partnercenter.autopilot maintainers (@partnercenter-autopilot)
extends_documentation_fragment:
  - partnercenter.autopilot.partnercenter
  - partnercenter.autopilot.partnercenter.auth
attributes:
  check_mode:
    support: full
    description: Returns the plan (RV(plan)) and sends no write.
  diff_mode:
    support: full
    description:
      - Before and after lists of device identities (serial numbers or product keys; never hashes).
      - With O(batches), one diff per batch.
options:
  customer_id:
    description:
      - The customer's tenant id (GUID).
      - Required unless O(batches) is given.
    type: str
  batch_id:
    description:
      - Name of the device batch, 1 to 64 characters of letters, digits, space, C(.), C(_) and C(-).
      - Required with O(customer_id).
    type: str
  batches:
    description:
      - Many batches in one task, instead of O(customer_id), O(batch_id) and O(devices) - for example the
        output of the P(partnercenter.autopilot.device_batches#filter) filter.
      - Every batch is validated before the first request. The uploads of all batches are sent first, then
        their jobs are waited for, so the service processes them side by side; the task takes about one
        job's time instead of one per batch, and Ansible starts one module instead of one per batch.
      - The other options apply to every batch. A batch that fails (for example a customer without a
        reseller relationship) does not stop the others; the task fails at the end and RV(batches) says which
        batch failed and why.
      - Batches of the same customer are done one after another when O(match_scope=customer), since each must
        see the devices the previous one registered.
    type: list
    elements: dict
    suboptions:
      customer_id:
        description: The customer's tenant id (GUID).
        type: str
        required: true
      batch_id:
        description: Name of the device batch.
        type: str
        required: true
      devices:
        description: The batch's devices, as in O(devices).
        type: list
        elements: dict
  batches_file:
    description:
      - Path of a JSON file holding O(batches), used instead of it. The collection's action plugin passes
        O(batches) this way, like O(devices_file); there is no need to set it yourself.
    type: path
  devices:
    description:
      - The devices. Each needs one accepted identity - O(devices[].hardware_hash) (optionally with
        O(devices[].serial_number) and/or O(devices[].product_key)), O(devices[].product_key) alone, or
        O(devices[].serial_number) with O(devices[].manufacturer) and O(devices[].model).
      - With O(state=absent), a O(devices[].serial_number) or O(devices[].product_key) alone names a device to
        remove.
      - Required with O(state=present). With O(state=absent), omitting it removes every device of the batch
        and requires O(force=true).
    type: list
    elements: dict
    suboptions:
      serial_number:
        description: Device serial number. Quote it in YAML so leading zeros survive.
        type: str
      product_key:
        description: Windows product key id (the C(Windows Product ID) column of an Autopilot CSV).
        type: str
      hardware_hash:
        description: The base64 4K hardware hash from Get-WindowsAutopilotInfo.
        type: str
      manufacturer:
        description:
          - OEM manufacturer name. Alias C(oem_manufacturer_name).
          - Beside a hash it is only used to match registered devices, not uploaded.
        type: str
      model:
        description: Model name. Alias C(model_name).
        type: str
  devices_file:
    description:
      - Path of a JSON file holding the device list, used instead of O(devices).
      - The collection's action plugin passes O(devices) this way (in the task's private temporary directory,
        removed afterwards), which for thousands of devices costs much less time and memory than a module
        argument. There is no need to set it yourself.
    type: path
  state:
    description:
      - V(present) registers the devices; V(absent) removes the listed devices from the batch.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove devices of this batch that are not listed.
      - Every listed device then needs a serial number or product key, since hashes cannot be read back.
    type: bool
    default: false
  force:
    description: Confirms O(state=absent) without O(devices), which removes every device of the batch.
    type: bool
    default: false
  match_scope:
    description:
      - V(customer) treats a device registered in any batch of the customer as present.
      - V(batch) only looks at this batch.
    type: str
    choices: [customer, batch]
    default: customer
  wait:
    description: Wait for the upload job to finish and report each device's outcome.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for each upload job, counted from its upload.
      - Also, from the start of the run, how long to wait for a batch that is still processing an earlier
        upload and for earlier uploads of this controller still in the upload journal; and, from when it was
        sent, how long an upload whose answer was lost is waited for before its missing devices are sent
        again.
    type: int
    default: 900
  journal_path:
    description:
      - The upload journal, a small JSON file (mode 0600, no secrets, no hardware hashes) where the module
        records each upload before sending it and removes it once its job is seen finished. The next run
        first waits for the jobs of the uploads left there (by O(wait=false), a failed wait, a lost answer or
        a killed run), so none of their devices is uploaded twice even when the batch listing has no status.
      - Defaults to C(partnercenter-upload-journal.json) beside O(token_cache_path) when that is set, else
        C(~/.ansible/partnercenter.autopilot/partnercenter-upload-journal.json) on the host the module runs on.
      - In AWX or Automation Platform, where each job starts in a new container, put it (with the token
        cache) on persistent storage, or only the batch listing's status guards a re-run.
      - Falls back to E(PARTNERCENTER_JOURNAL_PATH).
    type: path
  poll_interval:
    description:
      - First delay between job status polls in seconds.
      - Later polls come every quarter of the time waited so far, at most every 30 seconds.
    type: float
    default: 2
  fail_on_device_errors:
    description:
      - Fail the task when a device could not be registered (for example C(ZtdDeviceAssignedToOtherTenant)).
      - The result still lists every device's outcome either way.
    type: bool
    default: true
notes:
  - Partner Center lists devices without their hash, so a device given only by O(devices[].hardware_hash)
    cannot be matched by reading. It is uploaded on every run; the service answers C(ZtdDeviceAlreadyAssigned),
    which is reported as already present and does not count as a change.
  - At most 500 devices are sent per request; larger uploads are sent in chunks to the same batch.
  - What remains unguarded - another controller's upload (not in this journal) still processing while the
    batch listing has no C(status). Its devices are then sent again; the service answers
    C(ZtdDeviceAlreadyAssigned) (806) for each, which is reported as already present, not as a failure.
  - An upload whose request never reached the service cannot be told from one still processing when the
    listing has no C(status); the run then waits O(wait_timeout) before sending those devices again.
seealso:
  - module: partnercenter.autopilot.partnercenter_batch_job_status_info
  - module: partnercenter.autopilot.partnercenter_device_batch_info
'''

EXAMPLES = r'''
- name: Register two devices for Contoso (token from the partnercenter_auth role)
  partnercenter.autopilot.partnercenter_device_batch:
    access_token: "{{ partnercenter_access_token }}"
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    batch_id: contoso-2026-11
    devices:
      - serial_number: "1R9-ZNP67"
        hardware_hash: "{{ lookup('ansible.builtin.file', 'hashes/1R9-ZNP67.txt') }}"
      - serial_number: "5CG1234XYZ"
        manufacturer: HP
        model: HP EliteBook 840 G8

- name: Register devices from an Autopilot CSV without failing on devices owned elsewhere
  partnercenter.autopilot.partnercenter_device_batch:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    batch_id: contoso-csv
    devices: "{{ lookup('ansible.builtin.file', 'autopilot.csv') | partnercenter.autopilot.autopilot_csv }}"
    fail_on_device_errors: false
  register: upload

- name: Register the devices of every customer in the inventory in one task
  partnercenter.autopilot.partnercenter_device_batch:
    batches: >-
      {{ groups['autopilot_devices'] | map('extract', hostvars) | partnercenter.autopilot.device_batches }}
    fail_on_device_errors: false
  register: uploads

- name: Remove a device from the batch
  partnercenter.autopilot.partnercenter_device_batch:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    batch_id: contoso-2026-11
    state: absent
    devices:
      - serial_number: "1R9-ZNP67"
'''

RETURN = r'''
customer_id:
  description: The customer.
  returned: unless O(batches) is given
  type: str
batch_id:
  description: The batch name.
  returned: unless O(batches) is given
  type: str
batches:
  description:
    - With O(batches), one result per batch, in the order given. Each has RV(customer_id), RV(batch_id),
      C(changed), RV(created), RV(tracking_id), RV(location), RV(jobs), RV(job_status), RV(added),
      RV(already_present), RV(removed), RV(devices) and RV(plan) as described here for one batch.
    - A batch that failed also has C(failed=true) and C(msg).
  returned: when O(batches) is given
  type: list
  elements: dict
created:
  description: Whether the batch was created by this run (or would be, in check mode).
  returned: unless O(batches) is given
  type: bool
tracking_id:
  description: Tracking id of the (first) upload job; use it with the job status module.
  returned: unless O(batches) is given
  type: str
  sample: 0127ed8e-1a4a-4c31-bc5e-b1c5c7cbc2ec
location:
  description: The C(Location) header of the (first) upload.
  returned: unless O(batches) is given
  type: str
jobs:
  description:
    - Every upload job (one per chunk of at most 500 devices), of every batch with O(batches).
    - With O(wait=false), pass these lists to
      P(partnercenter.autopilot.partnercenter_batch_job_status_info#module) (its O(partnercenter.autopilot.partnercenter_batch_job_status_info#module:jobs)
      option) to wait for the jobs of many batches in one task.
  returned: always
  type: list
  elements: dict
  contains:
    customer_id:
      description: The customer.
      type: str
    batch_id:
      description: The batch.
      type: str
    tracking_id:
      description: The job's tracking id.
      type: str
    location:
      description: The C(Location) header of the upload.
      type: str
    status:
      description: The job's final status, or V(null) when not waited for.
      type: str
    devices:
      description: Number of devices in the upload.
      type: int
job_status:
  description: Final status of the upload job(s) - C(finished), C(finished_with_errors), or the last seen one.
  returned: unless O(batches) is given
  type: str
added:
  description: Devices registered by this run (without O(wait), those submitted; in check mode, those that would be).
  returned: unless O(batches) is given
  type: list
  elements: dict
  sample: [{serial_number: 1R9-ZNP67, product_key: null}]
already_present:
  description: Listed devices that were already registered for the customer.
  returned: unless O(batches) is given
  type: list
  elements: dict
removed:
  description: Devices removed (or that would be, in check mode).
  returned: unless O(batches) is given
  type: list
  elements: dict
devices:
  description: Per-device outcome of the upload job(s).
  returned: unless O(batches) is given
  type: list
  elements: dict
  contains:
    serial_number:
      description: Serial number as reported by the job.
      type: str
    product_key:
      description: Product key as reported by the job.
      type: str
    status:
      description: C(finished), C(finished_with_errors), C(queued), C(processing) or C(unknown).
      type: str
    error_code:
      description: Partner Center's error code, as a string.
      type: str
    error_description:
      description: Partner Center's error name, for example C(ZtdDeviceAssignedToOtherTenant).
      type: str
    explanation:
      description: What the error means and what to do.
      type: str
    outcome:
      description: C(registered), C(already_present), C(failed) or C(pending).
      type: str
plan:
  description: What the run decided before writing.
  returned: unless O(batches) is given
  type: dict
  contains:
    would_add:
      description: Devices to upload.
      type: list
    would_remove:
      description: Devices to remove.
      type: list
    already_present:
      description: Devices already registered.
      type: list
    unverifiable:
      description: Hash-only devices, which are uploaded because they cannot be matched by reading.
      type: list
progress:
  description: Job status polls (status and devices done), with C(-v) or more.
  returned: when verbosity is 1 or more and the module waited
  type: list
  elements: str
'''

import hashlib
import json
import time

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.partnercenter.autopilot.plugins.module_utils.common import (
    argument_spec, client_from_module, error_fields)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    FINAL_JOB_STATUSES, JobTimeoutError, OutcomeUnknownError, PartnerCenterError, poll_delay)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (
    Device, DeviceValidationError, chunks, failure_message, interpret_job, plan, plan_removal, validate_devices,
    validate_target)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import (
    JournalError, UploadJournal, default_path, devices_of)

MAX_RESOLUTIONS = 3
LOST_ANSWER_GRACE = 10.0
BUSY_STATUSES = ("queued", "processing")


def label(device):
    if device.serial_number or device.product_key:
        return device.serial_number or device.product_key
    if device.hardware_hash:
        return "hash sha256:%s" % hashlib.sha256(device.hardware_hash.encode("ascii")).hexdigest()[:12]
    return "device %s" % device.device_id


def summarised(params):
    """The module's parameters with the device lists as counts.

    For thousands of devices with 4 KB hashes the lists are megabytes: echoed in `invocation` (shown at -vvv)
    they are sent back and parsed for nothing, and logged to syslog they fill the log. Secrets are masked by
    Ansible as usual.
    """
    args = dict(params)
    if isinstance(args.get("devices"), list):
        args["devices"] = "%d devices" % len(args["devices"])
    if isinstance(args.get("batches"), list):
        args["batches"] = "%d batches, %d devices" % (len(args["batches"]), sum(
            len(b.get("devices") or []) for b in args["batches"] if isinstance(b, dict)))
    return args


def invocation(module):
    """The module's arguments as Ansible echoes them, with the device list summarised."""
    return dict(module_args=summarised(module.params))


def load_list_file(module, option):
    path = module.params[option]
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError) as err:
        module.fail_json(msg="cannot read %s %s: %s" % (option, path, err))


def checked(p):
    """The validated devices of one batch request, or DeviceValidationError naming every problem."""
    validate_target(p["customer_id"], p["batch_id"])
    desired = validate_devices(p["devices"], for_removal=p["state"] == "absent") if p["devices"] is not None else []
    problems = []
    if p["state"] == "present" and p["devices"] is None:
        problems.append("devices is required with state=present")
    if p["state"] == "absent" and p["devices"] is None and not p["force"]:
        problems.append("state=absent without devices removes every device of batch %s: set force: true to "
                        "confirm" % p["batch_id"])
    if p["state"] == "present" and p["devices"] is not None and not desired and not p["purge"]:
        problems.append("devices is empty: there is nothing to register in batch %s (an inventory filter that "
                        "matched no host?)" % p["batch_id"])
    if p["state"] == "present" and p["purge"] and not desired and not p["force"]:
        problems.append("purge with an empty device list removes every device of batch %s: set force: true to "
                        "confirm" % p["batch_id"])
    hash_only = ["devices[%d]" % d.index for d in desired if d.hash_only]
    if hash_only and (p["purge"] or p["state"] == "absent"):
        problems.append("%s: a device given only by hardware_hash cannot be found among registered devices "
                        "(Partner Center does not list hashes); add its serial_number or product_key to use %s"
                        % (", ".join(hash_only), "purge" if p["purge"] else "state=absent"))
    if problems:
        raise DeviceValidationError(problems)
    return desired


BATCH_KEYS = ("customer_id", "batch_id", "devices")


def batch_requests(p):
    """[(params, desired)] for every entry of batches, or DeviceValidationError naming every problem of all."""
    if not isinstance(p["batches"], list) or not p["batches"]:
        raise DeviceValidationError(["batches must be a non-empty list of {customer_id, batch_id, devices}"])
    requests, errors = [], []
    for index, entry in enumerate(p["batches"]):
        if not isinstance(entry, dict):
            errors.append("batches[%d]: must be a dictionary, got %s" % (index, type(entry).__name__))
            continue
        where = "batches[%d] (%s / %s)" % (index, entry.get("customer_id"), entry.get("batch_id"))
        unknown = sorted(set(entry) - set(BATCH_KEYS))
        if unknown:
            errors.append("%s: unknown field %s (expected %s)" % (where, ", ".join(unknown), ", ".join(BATCH_KEYS)))
            continue
        params = dict(p, batches=None, **dict((k, entry.get(k)) for k in BATCH_KEYS))
        try:
            requests.append((params, checked(params)))
        except DeviceValidationError as err:
            errors.extend("%s: %s" % (where, problem) for problem in err.errors)
    if errors:
        raise DeviceValidationError(errors)
    return requests


class BatchFailed(Exception):
    """One batch could not be brought to its declared state; its result says how far it got."""


class DeviceBatchModule(AnsibleModule):
    """Logs its invocation to the target's syslog with the device list as a count (see summarised)."""

    def _log_invocation(self):
        params = self.params
        self.params = summarised(params)
        try:
            super(DeviceBatchModule, self)._log_invocation()
        finally:
            self.params = params


class BatchRun(object):
    """One batch: read, plan, write only the difference (start), then wait and report (finish).

    The two halves are apart so that the uploads of many batches go out before any of their jobs is waited
    for: the service then processes the jobs side by side.
    """

    def __init__(self, module, client, journal, params):
        self.module, self.client, self.journal, self.p = module, client, journal, params
        self.customer, self.batch_id = self.p["customer_id"].strip(), self.p["batch_id"]
        self.deadline = time.time() + self.p["wait_timeout"]
        self.sent, self.uploaded = [], False
        self.result = dict(changed=False, customer_id=self.customer, batch_id=self.batch_id, created=False,
                           tracking_id=None, location=None,
                           jobs=[], job_status=None, added=[], already_present=[], removed=[], devices=[],
                           plan=dict(would_add=[], would_remove=[], already_present=[], unverifiable=[]))
        self.progress = []
        self.recovered = []     # sent in a request whose answer was lost, found registered on re-reading
        self.late_present = []  # registered by someone else while this run was uploading
        self.entries = {}       # tracking id -> journal entry id of the uploads of this run

    # ----- reading ---------------------------------------------------------------------------------------
    def settled_batches(self):
        """The customer's batches once none we depend on is still processing an upload.

        Planning against a batch that is still processing would miss its pending devices and upload them twice.
        """
        while True:
            batches = dict((b.get("id"), b) for b in self.client.list_batches(self.customer))
            relevant = batches.values() if self.p["match_scope"] == "customer" else \
                [b for b in batches.values() if b.get("id") == self.batch_id]
            busy = [b.get("id") for b in relevant if b.get("status") in BUSY_STATUSES]
            if not busy:
                return batches
            if time.time() >= self.deadline:
                self.fail("batches %s are still processing an earlier upload after wait_timeout" % ", ".join(busy))
            time.sleep(min(self.p["poll_interval"], max(0.0, self.deadline - time.time())))

    def await_earlier_uploads(self):
        """Wait for the jobs of this controller's own earlier uploads (a run with wait: false, a killed run).

        The second guard beside settled_batches: it does not need the listing's optional status.
        """
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
                             % (len(entry["devices"]), entry["batch_id"], tracking_id))
        try:
            self.client.wait_for_job(self.customer, tracking_id, max(0, self.deadline - time.time()),
                                     poll_interval=self.p["poll_interval"], progress=self.note_progress)
        except JobTimeoutError as err:
            self.fail("an earlier upload of %d devices to batch %s (job %s) is still %s after wait_timeout; "
                      "nothing was sent, so that none of its devices is uploaded twice: run again once it has "
                      "finished" % (len(entry["devices"]), entry["batch_id"], tracking_id,
                                    (err.last_status or {}).get("status")))
        except PartnerCenterError as err:
            if err.status != 404:
                raise
            # The service does not know the job (any more): the listing alone decides what is registered.

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
            now = time.time()
            batch = dict((b.get("id"), b) for b in self.client.list_batches(self.customer)).get(batch_id)
            count = batch.get("devicesCount") if batch is not None else None
            if first or count != last_count:
                moved_at = None if first else now
                if batch is not None and devices and not plan(devices, [
                        Device.from_api(item, batch_id) for item in self.client.list_devices(self.customer, batch_id)
                ]).to_add:
                    return
            first, last_count = False, count
            if now >= grace_end:
                if batch is None or batch.get("status") not in (None,) + BUSY_STATUSES:
                    return
                if moved_at is not None and now - moved_at >= grace:
                    return
            if now >= deadline:
                self.module.warn("an upload to batch %s sent at %s UTC has not visibly landed after wait_timeout; "
                                 "its missing devices are sent again (any it registered after all are reported "
                                 "as already present)" % (batch_id, time.strftime("%H:%M:%S", time.gmtime(sent_at))))
                return
            self.sleep_until(min(deadline, now + poll_delay(now - sent_at, self.p["poll_interval"])))

    @staticmethod
    def sleep_until(moment):
        time.sleep(max(0.0, moment - time.time()))

    def registered(self, batches):
        wanted = batches if self.p["match_scope"] == "customer" else \
            dict((k, v) for k, v in batches.items() if k == self.batch_id)
        devices = []
        for batch_id, batch in wanted.items():
            if batch.get("devicesCount") == 0:
                continue
            devices.extend(Device.from_api(item, batch_id) for item in self.client.list_devices(self.customer, batch_id))
        return devices

    # ----- writing ---------------------------------------------------------------------------------------
    def upload(self, to_add, exists):
        """Send to_add; when an answer is lost, wait for it to land, re-read and send only what is still missing.

        Each chunk is written to the journal before it is sent, so a run killed while the request is on its
        way leaves a trace the next run waits on. Devices of the lost request that turn out to be registered
        were registered by this run (recovered).
        """
        sent = []
        entry_id, sent_at = None, time.time()
        for _attempt in range(MAX_RESOLUTIONS + 1):
            done = 0
            try:
                for chunk in chunks(to_add, self.client.chunk_size):
                    entry_id, sent_at = self.journal.begin(self.customer, self.batch_id, chunk), time.time()
                    try:
                        job = self.client.send_chunk(self.customer, self.batch_id, chunk, create=not exists)
                    except OutcomeUnknownError:
                        raise
                    except PartnerCenterError:
                        self.journal.done([entry_id])  # refused: nothing of it is processing
                        raise
                    job["accepted_at"] = time.time()
                    self.journal.accepted(entry_id, job["tracking_id"])
                    self.entries[job["tracking_id"]] = entry_id
                    exists = True
                    done += len(chunk)
                    sent.append(job)
                    self.record_job(job)
                return sent
            except OutcomeUnknownError as err:
                lost = set(id(d) for d in to_add[done:done + self.client.chunk_size])
                self.module.warn("%s: resolving by reading the batch again" % err)
                self.await_unknown(self.batch_id, to_add[done:done + self.client.chunk_size], sent_at, time.time())
                batches = self.settled_batches()
                exists = self.batch_id in batches
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

    def record_job(self, job):
        self.result["jobs"].append(dict(customer_id=self.customer, batch_id=self.batch_id,
                                        tracking_id=job["tracking_id"], location=job["location"], status=None,
                                        devices=len(job["devices"])))
        if not self.result["tracking_id"]:
            self.result["tracking_id"], self.result["location"] = job["tracking_id"], job["location"]

    def wait_for(self, jobs):
        outcomes, statuses = [], []
        for job in jobs:
            try:
                # Each job has wait_timeout from its upload: time spent waiting for an earlier or a lost upload
                # before it was sent does not count against it.
                body = self.client.wait_for_job(self.customer, job["tracking_id"],
                                                max(0, job["accepted_at"] + self.p["wait_timeout"] - time.time()),
                                                poll_interval=self.p["poll_interval"], progress=self.note_progress)
            except JobTimeoutError as err:
                self.result["job_status"] = (err.last_status or {}).get("status")
                self.fail(str(err))
            if job["tracking_id"] in self.entries:
                self.journal.done([self.entries[job["tracking_id"]]])
            info = interpret_job(body)
            statuses.append(info["status"])
            for entry in self.result["jobs"]:
                if entry["tracking_id"] == job["tracking_id"]:
                    entry["status"] = info["status"]
            outcomes.extend(info["devices"])
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
            except JournalError as err:
                self.fail(str(err))
        except BatchFailed:
            self.note_verbose_progress()
            return False
        return True

    def note_verbose_progress(self):
        if self.module._verbosity >= 1 and self.progress:
            self.result["progress"] = self.progress

    # ----- the run ---------------------------------------------------------------------------------------
    def start(self, desired):
        p = self.p
        self.await_earlier_uploads()
        batches = self.settled_batches()
        exists = self.batch_id in batches
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
        self.result["already_present"] = [d.identity() for d, _found in present]
        self.result["created"] = bool(to_add) and not exists
        if self.module._diff:
            before = sorted(label(d) for d in in_batch)
            removed = set(id(d) for d in to_remove)
            after = sorted([label(d) for d in in_batch if id(d) not in removed] + [label(d) for d in to_add])
            self.result["diff"] = dict(before=dict(batch_id=self.batch_id if exists else None, devices=before),
                                       after=dict(batch_id=self.batch_id if exists or to_add else None,
                                                  devices=after))
        if self.module.check_mode:
            self.result["added"] = [d.identity() for d in to_add]
            self.result["removed"] = [d.identity() for d in to_remove]
            self.result["changed"] = bool(to_add or to_remove)
            return
        for device in to_remove:
            self.client.delete_device(self.customer, device.batch_id, device.device_id)
            self.result["removed"].append(device.identity())
            self.result["changed"] = True
        if to_add:
            self.sent, self.uploaded = self.upload(to_add, exists), True

    def finish(self):
        if self.uploaded:
            if not self.p["wait"]:
                self.result["added"] = [d.identity() for job in self.sent for d in job["devices"]]
                self.result["changed"] = self.result["changed"] or bool(self.sent)
                self.result["job_status"] = "queued" if self.sent else None
            elif self.sent:
                self.report(self.wait_for(self.sent))
            self.result["added"].extend(d.identity() for d in self.recovered)
            self.result["already_present"].extend(d.identity() for d in self.late_present)
            self.result["changed"] = self.result["changed"] or bool(self.recovered)
        self.note_verbose_progress()

    def report(self, outcomes):
        self.result["devices"] = outcomes
        for item in outcomes:
            ident = dict(serial_number=item["serial_number"], product_key=item["product_key"])
            if item["outcome"] == "registered":
                self.result["added"].append(ident)
                self.result["changed"] = True
            elif item["outcome"] == "already_present":
                self.result["already_present"].append(ident)
        failed = [o for o in outcomes if o["outcome"] == "failed"]
        if failed and self.p["fail_on_device_errors"]:
            self.fail("%d of %d devices could not be registered in batch %s: %s"
                      % (len(failed), len(outcomes), self.batch_id, failure_message(outcomes)))
        if failed:
            self.module.warn("%d devices could not be registered: %s" % (len(failed), failure_message(outcomes)))


def run_batches(module, requests):
    """Start every batch (their uploads go out one after another), then finish each: the jobs overlap."""
    client = client_from_module(module)
    p = module.params
    journal = UploadJournal(p["journal_path"] or default_path(p["token_cache_path"]), client.base_url)
    runs = [BatchRun(module, client, journal, params) for params, _desired in requests]
    started = [run for run, (_params, desired) in zip(runs, requests) if run.attempt(run.start, desired)]
    for run in started:
        run.attempt(run.finish)
    return [run.result for run in runs]


def main():
    module = DeviceBatchModule(
        argument_spec=argument_spec(
            customer_id=dict(type="str"),
            batch_id=dict(type="str"),
            devices=dict(type="list", elements="dict"),
            devices_file=dict(type="path"),
            batches=dict(type="list", elements="dict"),
            batches_file=dict(type="path"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            purge=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            match_scope=dict(type="str", default="customer", choices=["customer", "batch"]),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=900),
            poll_interval=dict(type="float", default=2.0),
            fail_on_device_errors=dict(type="bool", default=True),
            journal_path=dict(type="path", fallback=(env_fallback, ["PARTNERCENTER_JOURNAL_PATH"])),
        ),
        mutually_exclusive=[("devices", "devices_file", "batches", "batches_file"),
                            ("customer_id", "batches", "batches_file"), ("batch_id", "batches", "batches_file")],
        required_one_of=[("customer_id", "batches", "batches_file")],
        required_together=[("customer_id", "batch_id")],
        supports_check_mode=True,
    )
    p = module.params
    for option, file_option in (("devices", "devices_file"), ("batches", "batches_file")):
        if p[file_option]:
            p[option] = load_list_file(module, file_option)
            p[file_option] = None
    try:
        requests = batch_requests(p) if p["batches"] is not None else [(p, checked(p))]
    except DeviceValidationError as err:
        module.fail_json(msg=str(err), errors=err.errors)
    results = run_batches(module, requests)
    if p["batches"] is None:
        result = results[0]
        if result.get("failed"):
            module.fail_json(invocation=invocation(module), **result)
        module.exit_json(invocation=invocation(module), **result)
    diffs = [r.pop("diff") for r in results if "diff" in r]
    out = dict(changed=any(r["changed"] for r in results), batches=results,
               jobs=[job for r in results for job in r["jobs"]], invocation=invocation(module))
    if diffs:
        out["diff"] = diffs
    failed = [r for r in results if r.get("failed")]
    if failed:
        module.fail_json(msg="%d of %d batches failed: %s" % (len(failed), len(results), "; ".join(
            "%s / %s: %s" % (r["customer_id"], r["batch_id"], r["msg"]) for r in failed)), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
