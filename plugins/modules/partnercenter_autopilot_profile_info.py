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
  name:
    description: Only the profiles with this name.
    type: str
  profile_id:
    description: Only the profile with this id.
    type: str
seealso:
  - module: partnercenter.autopilot.partnercenter_autopilot_profile
'''

EXAMPLES = r'''
- name: Every Autopilot profile of a customer
  partnercenter.autopilot.partnercenter_autopilot_profile_info:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
  register: contoso_profiles
'''

RETURN = r'''
profiles:
  description: The profiles.
  returned: success
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
'''

from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import validate_target
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import PartnerCenterModule
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import public, same_id


def main():
    module = PartnerCenterModule(
        argument_spec=dict(
            customer_id=dict(type="str", required=True),
            name=dict(type="str"),
            profile_id=dict(type="str"),
        ),
        mutually_exclusive=[("name", "profile_id")],
        supports_check_mode=True,
    )
    p = module.params
    customer = p["customer_id"].strip()
    with module.errors():
        validate_target(customer, None)
        profiles = module.service().list_profiles(customer)
    profiles = [x for x in profiles if (p["name"] is None or x["name"] == p["name"])
                and (p["profile_id"] is None or same_id(x["id"], p["profile_id"]))]
    module.exit_json(changed=False, profiles=[public(x) for x in profiles])


if __name__ == "__main__":
    main()
