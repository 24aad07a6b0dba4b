#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: partnercenter_batch_job_status_info
short_description: Status and per-device results of a Partner Center device upload job
version_added: 0.1.0
description:
  - Reads a device batch upload job by its tracking id or by the C(Location) header an upload returned.
  - Or reads many jobs, of any customers, in one task (O(jobs)) - for example every job a loop of
    P(partnercenter.autopilot.partnercenter_device_batch#module) tasks started with O(partnercenter.autopilot.partnercenter_device_batch#module:wait=false).
  - Optionally waits until the jobs are C(finished) or C(finished_with_errors).
  - Never changes anything.
author:
  - partnercenter.autopilot maintainers (@partnercenter-autopilot)
extends_documentation_fragment:
  - partnercenter.autopilot.connection
  - partnercenter.autopilot.connection.base_url
  - partnercenter.autopilot.auth
  - partnercenter.autopilot.auth.access_token
  - partnercenter.autopilot.attributes.info_module
  - partnercenter.autopilot.attributes.action_group
options:
  customer_id:
    description: The customer's tenant id (GUID). Required with O(tracking_id) or O(location).
    type: str
  jobs:
    description:
      - Jobs to read (and wait for) in one task, instead of O(customer_id) with O(tracking_id) or O(location).
      - Each is a dictionary with C(customer_id) and C(tracking_id) or C(location); other keys are ignored, so the
        RV(partnercenter.autopilot.partnercenter_device_batch#module:jobs) lists of upload results can be passed as
        they are.
      - Jobs are waited for one after another; jobs started together finish together, so waiting for all of them
        takes about as long as waiting for the slowest.
    type: list
    elements: dict
  tracking_id:
    description: The job's tracking id (RV(partnercenter.autopilot.partnercenter_device_batch#module:tracking_id)).
    type: str
  location:
    description:
      - The C(Location) header of an upload, absolute or relative, for example
        C(/customers/{customer-id}/batchJobStatus/{tracking-id}).
    type: str
  wait:
    description: Wait until the job has finished.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait when O(wait=true) (for all of O(jobs) together), from 0 to 604800 (a week).
    type: int
    default: 900
  poll_interval:
    description:
      - First delay between polls in seconds, from 0.1 to 3600.
      - Later polls come every quarter of the time waited so far, at most every 30 seconds.
    type: float
    default: 2
  concurrency:
    description:
      - With O(jobs), how many jobs are read (and waited for) at once, from 1 to 64. Results keep the order of
        O(jobs).
      - Falls back to E(PARTNERCENTER_CONCURRENCY).
    type: int
    default: 8
seealso:
  - module: partnercenter.autopilot.partnercenter_device_batch
'''

EXAMPLES = r'''
- name: Upload without waiting
  partnercenter.autopilot.partnercenter_device_batch:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    batch_id: contoso-2026-11
    devices: "{{ contoso_devices }}"
    wait: false
  register: upload

- name: Wait for the job later and show each device's outcome
  partnercenter.autopilot.partnercenter_batch_job_status_info:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    tracking_id: "{{ upload.tracking_id }}"
    wait: true
  register: job

- name: Upload every customer's batch without waiting
  partnercenter.autopilot.partnercenter_device_batch:
    customer_id: "{{ item.customer_id }}"
    batch_id: "{{ item.batch_id }}"
    devices: "{{ item.devices }}"
    wait: false
  loop: "{{ batches }}"
  register: uploads

- name: Wait for all their jobs in one task
  partnercenter.autopilot.partnercenter_batch_job_status_info:
    jobs: "{{ uploads.results | map(attribute='jobs') | flatten }}"
    wait: true
  register: outcomes
'''

RETURN = r'''
jobs:
  description: With O(jobs), each job in the order given, with the keys of RV(job) and these.
  returned: when O(jobs) is given
  type: list
  elements: dict
  contains:
    customer_id:
      description: The customer the job belongs to.
      type: str
    batch_id:
      description: The C(batch_id) given with the job, if any.
      type: str
job:
  description: The job.
  returned: when O(tracking_id) or O(location) is given
  type: dict
  contains:
    tracking_id:
      description: Tracking id.
      type: str
    status:
      description: C(unknown), C(queued), C(processing), C(finished) or C(finished_with_errors).
      type: str
    started_time:
      description: When processing started (as the service reports it).
      type: str
    completed_time:
      description: When processing completed.
      type: str
    succeeded:
      description: Devices registered.
      type: int
    already_present:
      description: Devices the service already had for this customer (C(ZtdDeviceAlreadyAssigned)).
      type: int
    failed:
      description: Devices that could not be registered.
      type: int
    devices:
      description: Per-device results.
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
          description: Service id of the registered device.
          type: str
        status:
          description: Device status.
          type: str
        error_code:
          description: Partner Center error code.
          type: str
        error_description:
          description: Partner Center error name.
          type: str
        explanation:
          description: What the error means and what to do.
          type: str
        outcome:
          description: C(registered), C(already_present), C(failed) or C(pending).
          type: str
'''


from ansible.module_utils.basic import env_fallback

from ansible_collections.partnercenter.autopilot.plugins.module_utils.jobs import job_requests
from ansible_collections.partnercenter.autopilot.plugins.module_utils.jobs import read_jobs
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import PartnerCenterModule


def output(p, jobs):
    """`jobs` with the jobs option, else `job` (without the customer and batch keys)."""
    if p["jobs"] is not None:
        return dict(jobs=jobs)
    if not jobs:
        return {}
    job = dict(jobs[0])
    job.pop("customer_id")
    job.pop("batch_id")
    return dict(job=job)


def main():
    module = PartnerCenterModule(
        argument_spec=dict(
            customer_id=dict(type="str"),
            tracking_id=dict(type="str"),
            location=dict(type="str"),
            jobs=dict(type="list", elements="dict"),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=900),
            poll_interval=dict(type="float", default=2.0),
            concurrency=dict(type="int", default=8, fallback=(env_fallback, ["PARTNERCENTER_CONCURRENCY"])),
        ),
        required_one_of=[("tracking_id", "location", "jobs")],
        mutually_exclusive=[("tracking_id", "location", "jobs"), ("customer_id", "jobs")],
        required_by=dict(tracking_id="customer_id", location="customer_id"),
        supports_check_mode=True,
    )
    p = module.params
    with module.errors():
        targets = job_requests(p)  # every job checked before the first request
        service = module.service(connections=p["concurrency"])
    jobs, error = read_jobs(service, targets, p["wait"], p["wait_timeout"], p["poll_interval"], module.clock,
                            p["concurrency"])
    if error is not None:
        module.fail_from_error(error, **output(p, jobs))
    module.exit_json(changed=False, **output(p, jobs))


if __name__ == "__main__":
    main()
