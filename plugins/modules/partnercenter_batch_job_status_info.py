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
  - Optionally waits until the job is C(finished) or C(finished_with_errors).
  - Never changes anything.
author:
  - partnercenter.autopilot maintainers (@partnercenter-autopilot)
extends_documentation_fragment:
  - partnercenter.autopilot.partnercenter
  - partnercenter.autopilot.partnercenter.auth
  - partnercenter.autopilot.attributes.info_module
options:
  customer_id:
    description: The customer's tenant id (GUID).
    type: str
    required: true
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
    description: Seconds to wait when O(wait=true).
    type: int
    default: 900
  poll_interval:
    description: First delay between polls in seconds; later polls come every quarter of the time waited so far, at most 30.
    type: float
    default: 2
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
'''

RETURN = r'''
job:
  description: The job.
  returned: success
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.partnercenter.autopilot.plugins.module_utils.common import (
    argument_spec, client_from_module, error_fields)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    JobTimeoutError, PartnerCenterError, parse_location)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (
    DeviceValidationError, interpret_job, validate_target)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            customer_id=dict(type="str", required=True),
            tracking_id=dict(type="str"),
            location=dict(type="str"),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=900),
            poll_interval=dict(type="float", default=2.0),
        ),
        required_one_of=[("tracking_id", "location")],
        mutually_exclusive=[("tracking_id", "location")],
        supports_check_mode=True,
    )
    p = module.params
    customer = p["customer_id"].strip() if p["customer_id"] else p["customer_id"]
    try:
        validate_target(customer, None)
    except DeviceValidationError as err:
        module.fail_json(msg=str(err))
    tracking_id = p["tracking_id"]
    if p["location"]:
        located_customer, tracking_id = parse_location(p["location"])
        if not tracking_id:
            module.fail_json(msg="location %r does not look like .../customers/{customer-id}/batchJobStatus/"
                                 "{tracking-id}" % p["location"])
        if located_customer.lower() != customer.lower():
            module.fail_json(msg="location names customer %s but customer_id is %s" % (located_customer, customer))
    client = client_from_module(module)
    try:
        if p["wait"]:
            body = client.wait_for_job(customer, tracking_id, p["wait_timeout"], poll_interval=p["poll_interval"])
        else:
            body = client.job_status(customer, tracking_id)
    except JobTimeoutError as err:
        module.fail_json(msg=str(err), job=interpret_job(err.last_status))
    except PartnerCenterError as err:
        if err.status == 404:
            module.fail_json(msg="tracking id %s was not found for customer %s (%s)" % (tracking_id, customer, err),
                             status=err.status, code=err.code)
        module.fail_json(msg=str(err), **error_fields(err))
    module.exit_json(changed=False, job=interpret_job(body))


if __name__ == "__main__":
    main()
