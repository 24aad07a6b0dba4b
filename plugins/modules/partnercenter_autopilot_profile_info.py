#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: partnercenter_autopilot_profile_info
short_description: List a customer's Windows Autopilot profiles in Partner Center
version_added: 0.1.0
description:
  - Lists the customer's Autopilot profiles (configuration policies of category C(o_o_b_e)), or those with a
    name, or the one with an id. None matching gives RV(profiles=[]), not a failure.
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
      - The customer's tenant id (GUID); its profiles are returned in RV(profiles).
      - One of O(customer_id) and O(customers) is required.
    type: str
  customers:
    description:
      - The tenant ids (GUIDs) of several customers, read in one task; their profiles are returned in
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
  name:
    description: Only the profiles with this name (of each customer, with O(customers)).
    type: str
  profile_id:
    description: Only the profile with this id.
    type: str
  concurrency:
    description:
      - How many of O(customers) are read at once (1 to 64; 1 is one customer after another).
      - Workers share one token and one throttle - a 429's C(Retry-After) holds back every worker.
      - Falls back to E(PARTNERCENTER_CONCURRENCY).
    type: int
    default: 8
notes:
  - To read many customers, give them all in O(customers) rather than looping over this module (or adding a
    host per customer), so that one module process reads them side by side, as C(playbooks/export_inventory.yml)
    does.
seealso:
  - module: partnercenter.autopilot.partnercenter_autopilot_profile
'''

EXAMPLES = r'''
- name: Every Autopilot profile of a customer
  partnercenter.autopilot.partnercenter_autopilot_profile_info:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
  register: contoso_profiles

- name: The Autopilot profiles of several customers, read side by side
  partnercenter.autopilot.partnercenter_autopilot_profile_info:
    customers:
      - 3f2504e0-4f89-11d3-9a0c-0305e82c3301
      - 7c9e6679-7425-40de-944b-e07fc1f90ae7
    concurrency: 4
  register: profiles_by_customer

- name: The profiles by tenant id
  ansible.builtin.debug:
    msg: "{{ profiles_by_customer.customers | items2dict(key_name='customer_id', value_name='profiles') }}"
'''

RETURN = r'''
profiles:
  description: The profiles of O(customer_id).
  returned: success, with O(customer_id)
  type: list
  elements: dict
  contains:
    id:
      description: The profile's id.
      type: str
    name:
      description: Its name.
      type: str
    description:
      description: Its description.
      type: str
    settings:
      description: The settings it turns on.
      type: list
      elements: str
    devices_assigned:
      description: How many devices carry it.
      type: int
    created_date:
      description: When it was created.
      type: str
    last_modified_date:
      description: When it was last changed.
      type: str
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
    profiles:
      description: The customer's profiles, as RV(profiles) lists them.
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

from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import ERRORS, PartnerCenterModule
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import public, same_id
from ansible_collections.partnercenter.autopilot.plugins.module_utils.reads import (
    check_customers, failed_message, read_customers)


def main():
    module = PartnerCenterModule(
        argument_spec=dict(
            customer_id=dict(type="str"),
            customer=dict(type="str"),
            customers=dict(type="list", elements="str"),
            name=dict(type="str"),
            profile_id=dict(type="str"),
            concurrency=dict(type="int", default=8, fallback=(env_fallback, ["PARTNERCENTER_CONCURRENCY"])),
        ),
        mutually_exclusive=[("name", "profile_id"), ("customer_id", "customer", "customers")],
        required_one_of=[("customer_id", "customer", "customers")],
        supports_check_mode=True,
    )
    p = module.params

    def profiles(service, customer):
        return [public(x) for x in service.list_profiles(customer)
                if (p["name"] is None or x["name"] == p["name"])
                and (p["profile_id"] is None or same_id(x["id"], p["profile_id"]))]

    if p["customers"] is None:
        with module.errors():
            service = module.service(connections=p["concurrency"])
            customer, _name = module.customer(service)
            found = profiles(service, customer)
        module.exit_json(changed=False, profiles=found)
    with module.errors():
        customers = check_customers(p["customers"])
        service = module.service(connections=p["concurrency"])
        entries = read_customers(customers, lambda c: profiles(service, c), "profiles", p["concurrency"], ERRORS)
    result = dict(changed=False, customers=entries)
    module.warn_throttled(service, result)
    message = failed_message(entries)
    if message:
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
