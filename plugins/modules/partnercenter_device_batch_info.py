#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: partnercenter_device_batch_info
short_description: List a customer's Partner Center device batches and their devices
version_added: 0.1.0
description:
  - Lists the device batches of a customer, or one batch, optionally with its devices (every page).
  - A batch that does not exist gives RV(batches=[]), not a failure.
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
    description: The customer's tenant id (GUID).
    type: str
    required: true
  batch_id:
    description: Only this batch.
    type: str
  include_devices:
    description:
      - Also list each batch's devices. Defaults to V(true) when O(batch_id) is given, else V(false).
    type: bool
seealso:
  - module: partnercenter.autopilot.partnercenter_device_batch
'''

EXAMPLES = r'''
- name: All batches of a customer
  partnercenter.autopilot.partnercenter_device_batch_info:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
  register: batches

- name: One batch with its devices
  partnercenter.autopilot.partnercenter_device_batch_info:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    batch_id: contoso-2026-11
  register: contoso
'''

RETURN = r'''
batches:
  description: The batches.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Batch name.
      type: str
    status:
      description: Status of the batch's latest upload, when the service reports it.
      type: str
    creation_date:
      description: When the batch was created.
      type: str
    devices_count:
      description: Number of devices.
      type: int
    devices:
      description: The batch's devices (hashes are never listed by the service).
      returned: when O(include_devices) is true
      type: list
      elements: dict
      contains:
        id:
          description: Service id of the device.
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
          description: OEM manufacturer name.
          type: str
        uploaded_date:
          description: When the device was uploaded.
          type: str
        policies:
          description: Assigned profiles, as C(key)/C(value) pairs.
          type: list
'''

from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import validate_target
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import PartnerCenterModule


def main():
    module = PartnerCenterModule(
        argument_spec=dict(
            customer_id=dict(type="str", required=True),
            batch_id=dict(type="str"),
            include_devices=dict(type="bool"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    customer = p["customer_id"].strip()
    include = p["include_devices"] if p["include_devices"] is not None else p["batch_id"] is not None
    with module.errors():
        validate_target(customer, p["batch_id"])
        batches = module.service().describe_batches(customer, p["batch_id"], include)
    module.exit_json(changed=False, batches=batches)


if __name__ == "__main__":
    main()
