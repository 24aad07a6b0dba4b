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
  - With O(customers), lists those of many customers in one task, O(concurrency) customers at a time, in
    RV(customers).
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
  customer:
    description:
      - The customer by tenant id, domain or exact company name (ignoring case), instead of O(customer_id);
        resolved from one read of the partner's customer list.
    type: str
  customer_id:
    description:
      - The customer's tenant id (GUID); its batches are returned in RV(batches).
      - One of O(customer_id) and O(customers) is required.
    type: str
  customers:
    description:
      - The tenant ids (GUIDs) of several customers, read in one task; their batches are returned in
        RV(customers), one entry per item of this list, in its order (a customer listed twice is read once).
      - Every item is checked before the first request.
      - A customer that cannot be read (for example one that is not a customer of the partner) does not stop
        the others, but the task fails, its message naming such customers (up to ten); RV(customers) then holds
        what was read, and the error of each customer that could not be.
      - A token that cannot be had fails the task as with O(customer_id), once, not per customer.
      - An empty list reads nothing and returns RV(customers=[]).
      - Mutually exclusive with O(customer_id).
    type: list
    elements: str
  batch_id:
    description:
      - Only this batch (of each customer, with O(customers)).
    type: str
  include_devices:
    description:
      - Also list each batch's devices. Defaults to V(true) when O(batch_id) is given, else V(false).
    type: bool
  concurrency:
    description:
      - How many of O(customers) are read at once (1 to 64; 1 is one customer after another). A customer's
        batches are read in turn.
      - Workers share one token and one throttle - a 429's C(Retry-After) holds back every worker.
      - Falls back to E(PARTNERCENTER_CONCURRENCY).
    type: int
    default: 8
notes:
  - To read many customers, give them all in O(customers) rather than looping over this module (or adding a
    host per customer), so that one module process reads them side by side, as C(playbooks/export_inventory.yml)
    does.
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
  description: The batches of O(customer_id).
  returned: success, with O(customer_id)
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
customers:
  description:
    - With O(customers), one entry per item of O(customers), in their order.
    - Returned when the task fails because some customers could not be read too, with their errors.
  returned: success, with O(customers)
  type: list
  elements: dict
  contains:
    customer_id:
      description: The tenant id, as given in O(customers).
      type: str
      sample: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    batches:
      description: The customer's batches, as RV(batches) lists them.
      returned: when the customer was read
      type: list
      elements: dict
    failed:
      description: V(true) when the customer could not be read.
      returned: when the customer could not be read
      type: bool
    msg:
      description: Why the customer could not be read.
      returned: when the customer could not be read
      type: str
    status:
      description: The HTTP status of the call that failed (C(code), C(request_id) and C(correlation_id) are
        Partner Center's error code and the call's ids).
      returned: when the customer could not be read
      type: int
throttled_seconds:
  description: How long Partner Center's 429 answers held the reads back, in seconds.
  returned: success, with O(customers)
  type: float
  sample: 0.0
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import validate_target
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import ERRORS, PartnerCenterModule
from ansible_collections.partnercenter.autopilot.plugins.module_utils.reads import (
    check_customers, failed_message, read_customers)


def main():
    module = PartnerCenterModule(
        argument_spec=dict(
            customer_id=dict(type="str"),
            customer=dict(type="str"),
            customers=dict(type="list", elements="str"),
            batch_id=dict(type="str"),
            include_devices=dict(type="bool"),
            concurrency=dict(type="int", default=8, fallback=(env_fallback, ["PARTNERCENTER_CONCURRENCY"])),
        ),
        mutually_exclusive=[("customer_id", "customer", "customers")],
        required_one_of=[("customer_id", "customer", "customers")],
        supports_check_mode=True,
    )
    p = module.params
    include = p["include_devices"] if p["include_devices"] is not None else p["batch_id"] is not None
    if p["customers"] is None:
        with module.errors():
            service = module.service(connections=p["concurrency"])
            customer, _name = module.customer(service)
            validate_target(customer, p["batch_id"])
            batches = service.describe_batches(customer, p["batch_id"], include)
        module.exit_json(changed=False, batches=batches)
    with module.errors():
        customers = check_customers(p["customers"])
        for customer in customers[:1]:  # the batch id, as the single form checks it
            validate_target(customer, p["batch_id"])
        service = module.service(connections=p["concurrency"])
        entries = read_customers(customers, lambda c: service.describe_batches(c, p["batch_id"], include),
                                 "batches", p["concurrency"], ERRORS)
    result = dict(changed=False, customers=entries)
    module.warn_throttled(service, result)
    message = failed_message(entries)
    if message:
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
