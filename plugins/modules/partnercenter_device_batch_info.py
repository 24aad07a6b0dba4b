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
  - partnercenter.autopilot.partnercenter
  - partnercenter.autopilot.partnercenter.auth
  - partnercenter.autopilot.attributes.info_module
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.partnercenter.autopilot.plugins.module_utils.common import (
    argument_spec, client_from_module, error_fields)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (
    DeviceValidationError, validate_target)


def _get(item, name):
    lowered = dict((k.lower(), v) for k, v in (item or {}).items())
    return lowered.get(name.lower())


def batch_view(item):
    return dict(id=_get(item, "id"), status=_get(item, "status"), creation_date=_get(item, "creationDate"),
                devices_count=_get(item, "devicesCount"))


def device_view(item):
    return dict(id=_get(item, "id"), serial_number=_get(item, "serialNumber"), product_key=_get(item, "productKey"),
                model=_get(item, "modelName"), manufacturer=_get(item, "oemManufacturerName"),
                uploaded_date=_get(item, "uploadedDate"), policies=_get(item, "policies") or [])


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            customer_id=dict(type="str", required=True),
            batch_id=dict(type="str"),
            include_devices=dict(type="bool"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    customer = p["customer_id"].strip() if p["customer_id"] else p["customer_id"]
    try:
        validate_target(customer, p["batch_id"])
    except DeviceValidationError as err:
        module.fail_json(msg=str(err))
    include = p["include_devices"] if p["include_devices"] is not None else p["batch_id"] is not None
    client = client_from_module(module)
    try:
        items = client.list_batches(customer)
        if p["batch_id"] is not None:
            items = [b for b in items if _get(b, "id") == p["batch_id"]]
        batches = []
        for item in items:
            view = batch_view(item)
            if include:
                view["devices"] = [device_view(d) for d in client.list_devices(customer, view["id"])]
                if view["devices_count"] is None:
                    view["devices_count"] = len(view["devices"])
            batches.append(view)
    except PartnerCenterError as err:
        module.fail_json(msg=str(err), **error_fields(err))
    module.exit_json(changed=False, batches=batches)


if __name__ == "__main__":
    main()
