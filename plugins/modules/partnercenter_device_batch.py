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
  - partnercenter.autopilot.connection
  - partnercenter.autopilot.connection.base_url
  - partnercenter.autopilot.auth
  - partnercenter.autopilot.auth.access_token
  - partnercenter.autopilot.attributes.action_group
attributes:
  check_mode:
    support: full
    description: Returns the plan (RV(plan)) and sends no write.
  diff_mode:
    support: full
    description:
      - Before and after lists of device identities (serial numbers or product keys; never hashes).
      - With O(profile), also each device whose profile changes, with its profile before and after.
      - With O(batches), one diff per batch.
options:
  customer_id:
    description:
      - The customer's tenant id (GUID).
      - Required unless O(customer) or O(batches) is given.
    type: str
  customer:
    description:
      - The customer as people name it - its tenant id, a domain (C(contoso.onmicrosoft.com)) or its exact company
        name, compared ignoring case - instead of O(customer_id).
      - Resolved once per task from the partner's customer list (one paged read of C(/v1/customers), shared by
        every batch), before anything is sent. A name that names no customer, or that is nobody's exact name but
        begins several, refuses its batch with an error naming it (and the candidates, with their domains).
      - Whenever the list is read, results carry each customer's company name in C(customer_name).
    type: str
  on_invalid:
    description:
      - What a batch with bad input (a malformed device, an unknown customer or profile) does to the task.
      - V(refuse_batch) - that batch alone is refused (nothing of it is sent, each of its devices is reported
        C(refused) with the reason), the other batches proceed, and the task fails at the end naming the
        refused batches.
      - V(fail_task) - the task fails before anything is sent when any batch is bad.
      - With a single batch (no O(batches)) the two are the same.
    type: str
    choices: [refuse_batch, fail_task]
    default: refuse_batch
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
        description: The customer's tenant id (GUID); or O(batches[].customer).
        type: str
      customer:
        description: The customer by tenant id, domain or exact company name, as O(customer).
        type: str
      batch_id:
        description: Name of the device batch.
        type: str
        required: true
      devices:
        description: The batch's devices, as in O(devices).
        type: list
        elements: dict
      profile:
        description: The Autopilot profile of this batch's devices, as in O(profile); overrides O(profile).
        type: str
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
      profile:
        description: This device's Autopilot profile (a name or id), overriding O(profile) and O(batches[].profile).
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
      - Seconds to wait for each upload job, counted from its upload; from 0 to 604800 (a week).
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
      - In AWX or Automation Platform, where each job starts in a new container, put it on persistent storage
        (set E(PARTNERCENTER_JOURNAL_PATH) in the credential, or this option), or only the batch listing's
        status guards a re-run. The P(partnercenter.autopilot.partnercenter_auth#role) role's token cache
        setting does not reach this module.
      - In check mode it is only read.
      - Falls back to E(PARTNERCENTER_JOURNAL_PATH).
    type: path
  poll_interval:
    description:
      - First delay between job status polls in seconds, from 0.1 to 3600.
      - Later polls come every quarter of the time waited so far, at most every 30 seconds.
    type: float
    default: 2
  fail_on_device_errors:
    description:
      - Fail the task when a device could not be registered (for example C(ZtdDeviceAssignedToOtherTenant)),
        or did not get its O(profile).
      - The result still lists every device's outcome either way.
    type: bool
    default: true
  concurrency:
    description:
      - How many customers are read, planned and uploaded to at once (1 to 64; 1 is one customer after
        another). One customer's batches always stay in order in one worker.
      - Waiting does not hold up uploads - every upload goes out before any job is waited for, so the jobs of
        all customers are processed side by side whatever this is.
      - Workers share one token and one throttle - a 429's C(Retry-After) holds back every worker.
      - Falls back to E(PARTNERCENTER_CONCURRENCY).
    type: int
    default: 8
  profile:
    description:
      - The Autopilot profile (the name or id of one of the customer's profiles, see
        M(partnercenter.autopilot.partnercenter_autopilot_profile)) that every device of the batch gets;
        O(batches[].profile) and O(devices[].profile) override it.
      - Names are resolved while reading, before any write; a profile the customer does not have fails the
        batch with nothing sent.
      - Once the upload job has registered the devices, every device whose profile differs is assigned it
        (one C(DevicePolicyUpdates) request per 500 devices), and that job is waited for. Devices that already
        carry it cause no request. Devices without a declared profile are never touched - un-assigning a
        profile is not published by Partner Center, so this module never tries it.
      - Requires O(wait=true) and O(state=present).
    type: str
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

- name: Register kiosks with their Autopilot profile, one of them with another profile
  partnercenter.autopilot.partnercenter_device_batch:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    batch_id: contoso-kiosks
    profile: Contoso kiosk
    devices:
      - product_key: "3312345678901"
      - product_key: "3312345678902"
        profile: Contoso frontline

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
    - Every upload job (one per chunk of at most 500 devices), and every profile assignment job, of every
      batch with O(batches).
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
    kind:
      description: C(upload), or C(profile) for a profile assignment.
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
  description:
    - The devices of RV(devices) whose outcome is C(registered), C(recovered), C(submitted) or C(would_add).
  returned: unless O(batches) is given
  type: list
  elements: dict
  sample: [{serial_number: 1R9-ZNP67, product_key: null}]
already_present:
  description: The devices of RV(devices) whose outcome is C(already_present).
  returned: unless O(batches) is given
  type: list
  elements: dict
removed:
  description: The devices of RV(devices) whose outcome is C(removed) or C(would_remove).
  returned: unless O(batches) is given
  type: list
  elements: dict
devices:
  description:
    - Exactly one entry per declared device, in input order, then one per registered device removed (or to be
      removed in check mode) that was not declared.
    - With O(state=absent), only the devices to remove have an entry (C(removed), or C(would_remove) in check
      mode); a declared device that is not registered has nothing to report.
    - Each has one C(outcome) from a closed set, which the report filters read as it is.
  returned: unless O(batches) is given
  type: list
  elements: dict
  contains:
    serial_number:
      description: Serial number.
      type: str
    product_key:
      description: Product key.
      type: str
    device_id:
      description: The device's service id, when known.
      type: str
    status:
      description: The device's status in its upload job (C(finished), C(finished_with_errors), C(queued),
        C(processing)) when the job was read, else V(null).
      type: str
    error_code:
      description: Partner Center's error code, as a string.
      type: str
    error_description:
      description: Partner Center's error name, for example C(ZtdDeviceAssignedToOtherTenant); V(null) when the
        service gave only a code.
      type: str
    explanation:
      description: What the outcome means, or what the error means and what to do.
      type: str
    outcome:
      description:
        - C(registered) (by this run's upload job), C(already_present) (listed before the upload, or answered
          C(806) by its job), C(recovered) (found registered after an upload whose answer was lost),
          C(submitted) (uploaded, job not waited for - O(wait=false)), C(pending) (uploaded, job not finished
          within O(wait_timeout)), C(failed) (the job refused it, or the batch failed before it was sent),
          C(refused) (bad input, nothing of its batch was sent), C(would_add) and C(would_remove) (check mode),
          C(removed).
      type: str
      choices: [registered, already_present, recovered, submitted, pending, failed, refused, would_add,
                would_remove, removed]
    profile:
      description: The name of the device's declared profile, or V(null).
      type: str
    profile_id:
      description: The id of the device's declared profile, or V(null).
      type: str
    profile_status:
      description: What became of the profile, as in RV(profile_assignments[].status); V(null) without one.
      type: str
undeclared:
  description:
    - Devices registered for a customer the task touches that no entry of the task declares - in any of that
      customer's batches with O(match_scope=customer), in the task's batches with O(match_scope=batch).
    - Taken from the listings the plan reads, so it costs no request, and is there in check mode too (an audit).
      Nothing is done with them; only O(purge) removes devices.
  returned: always
  type: list
  elements: dict
  contains:
    customer_id:
      description: The customer.
      type: str
    customer_name:
      description: The customer's company name, when the task knows it; else V(null).
      type: str
    batch_id:
      description: The batch the device is registered in.
      type: str
    device_id:
      description: The device's service id.
      type: str
    serial_number:
      description: Serial number.
      type: str
    product_key:
      description: Product key.
      type: str
    model:
      description: Model name.
      type: str
    manufacturer:
      description: Manufacturer name.
      type: str
    profile:
      description: The Autopilot profile it carries (its name where the task read the customer's profiles), or
        V(null).
      type: str
throttled_seconds:
  description: Seconds during which Partner Center's C(429) answers held the task's requests back.
  returned: always
  type: float
  sample: 0.0
profile_assigned:
  description: Devices that were assigned their declared profile by this run.
  returned: unless O(batches) is given
  type: list
  elements: dict
  sample: [{serial_number: 1R9-ZNP67, product_key: null}]
profile_assignments:
  description: Every device with a declared profile, and what became of it.
  returned: unless O(batches) is given
  type: list
  elements: dict
  contains:
    serial_number:
      description: Serial number.
      type: str
    product_key:
      description: Product key.
      type: str
    device_id:
      description: The device's service id, when it is registered.
      type: str
    profile:
      description: The profile's name.
      type: str
    profile_id:
      description: The profile's id.
      type: str
    status:
      description:
        - C(assigned) (by this run), C(already_assigned), C(would_assign) (check mode), C(failed),
          C(pending) (the job had not finished within O(wait_timeout)) or C(not_registered) (the device
          itself did not register).
      type: str
    error_code:
      description: The assignment job's error code for the device.
      type: str
    error_description:
      description: The assignment job's error for the device.
      type: str
    explanation:
      description: What the status means.
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
    would_assign:
      description: Devices that get their declared profile (registered ones whose profile differs, and new ones).
      type: list
progress:
  description: Job status polls (status and devices done), with C(-v) or more.
  returned: when verbosity is 1 or more and the module waited
  type: list
  elements: str
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.partnercenter.autopilot.plugins.module_utils.tasks import sort_requests, uses_customer
from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import InputError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.outcomes import refused_result
from ansible_collections.partnercenter.autopilot.plugins.module_utils.engine import RunOptions, run_batches
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import UploadJournal, default_path
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import PartnerCenterModule


def main():
    module = PartnerCenterModule(
        argument_spec=dict(
            customer_id=dict(type="str"),
            customer=dict(type="str"),
            on_invalid=dict(type="str", default="refuse_batch", choices=["refuse_batch", "fail_task"]),
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
            profile=dict(type="str"),
            concurrency=dict(type="int", default=8, fallback=(env_fallback, ["PARTNERCENTER_CONCURRENCY"])),
        ),
        bulk_options={"devices": "devices_file", "batches": "batches_file"},
        mutually_exclusive=[("devices", "devices_file", "batches", "batches_file"),
                            ("customer_id", "customer", "batches", "batches_file"),
                            ("batch_id", "batches", "batches_file")],
        required_one_of=[("customer_id", "customer", "batches", "batches_file")],
        required_by={"customer_id": "batch_id", "customer": "batch_id"},
        supports_check_mode=True,
    )
    p = module.params
    with module.errors():
        # Customers named by name or domain: one paged read of the customer list serves every batch. Without
        # them the input is judged before any request at all.
        service = module.service(connections=p["concurrency"]) if uses_customer(p) else None
        requests, refused = sort_requests(p, service.list_customers() if service else None)
        if refused and (p["on_invalid"] == "fail_task" or p["batches"] is None):
            raise InputError([problem for _index, _params, problems in refused for problem in problems])
        service = service or module.service(connections=p["concurrency"])
        journal = UploadJournal(p["journal_path"] or default_path(p["token_cache_path"]), service.base_url,
                                clock=module.clock.now, read_only=module.check_mode)
    options = RunOptions(check_mode=module.check_mode, diff=module._diff, verbose=module._verbosity >= 1)
    results, warnings, undeclared = run_batches(service, journal, requests, options, module.clock, p["concurrency"])
    for index, params, problems in refused:  # in input order among the others
        results.insert(index, refused_result(params, problems))
    for warning in warnings:
        module.warn(warning)
    if p["batches"] is None:
        result = dict(results[0], undeclared=undeclared)
        module.warn_throttled(service, result)
        if result.get("failed"):
            module.fail_json(**result)
        module.exit_json(**result)
    diffs = [r.pop("diff") for r in results if "diff" in r]
    out = dict(changed=any(r["changed"] for r in results), batches=results,
               jobs=[job for r in results for job in r["jobs"]], undeclared=undeclared)
    module.warn_throttled(service, out)
    if diffs:
        out["diff"] = diffs
    failed = [r for r in results if r.get("failed")]
    if failed:
        module.fail_json(msg="%d of %d batches failed: %s" % (len(failed), len(results), "; ".join(
            "%s / %s: %s" % (r["customer_id"], r["batch_id"], r["msg"]) for r in failed)), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
