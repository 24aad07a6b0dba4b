#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: partnercenter_autopilot_profile
short_description: Declare a customer's Windows Autopilot profile in Partner Center
version_added: 0.1.0
description:
  - An Autopilot profile is a customer's Partner Center I(configuration policy) of category C(o_o_b_e). This
    module creates, updates or deletes one, and sends no write when it is already as declared.
  - The customer's profiles are listed and the one named O(name) is used (the service offers no lookup by
    name). Several profiles with that name and no O(profile_id) is an error that lists their ids.
  - An update sends the whole profile (C(PUT)) - settings and description that are not declared are sent as
    they are, so nothing is cleared by leaving it out.
  - Assign profiles to devices with O(partnercenter.autopilot.partnercenter_device_batch#module:profile).
  - A create or update whose answer was lost is resolved by listing the profiles again before anything is
    sent again, so a profile is never created twice by one run.
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
    description: Returns the profile as it would be and sends no write.
  diff_mode:
    support: full
    description: The profile before and after.
options:
  customer_id:
    description: The customer's tenant id (GUID). Or O(customer).
    type: str
  customer:
    description:
      - The customer by tenant id, domain or exact company name (ignoring case), instead of O(customer_id);
        resolved from one read of the partner's customer list. The result then carries its C(customer_name).
    type: str
  name:
    description:
      - The profile's name, its identity within the customer.
      - With O(profile_id), the name the profile gets (a rename).
    type: str
    required: true
  profile_id:
    description:
      - The profile's id. Picks one when several profiles share O(name), and allows renaming.
      - With O(state=present) the profile must exist.
    type: str
  description:
    description:
      - The profile's description. Omitted, an existing profile's description is left as it is.
    type: str
  settings:
    description:
      - The out-of-box experience settings the profile turns on. Order does not matter.
      - Omitted, an existing profile's settings are left as they are, and a new profile gets none.
      - V([]) turns every setting off.
    type: list
    elements: str
    choices: [remove_oem_preinstalls, oobe_user_not_local_admin, skip_express_settings, skip_oem_registration,
              skip_eula]
  state:
    description: Whether the profile exists.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), delete a profile that devices still carry. Without it that fails, because what
        the service does with those devices is not published and they must not silently lose their profile.
    type: bool
    default: false
notes:
  - Policy names need not be unique in Partner Center; this module treats the name as the identity and
    refuses to guess between namesakes.
seealso:
  - module: partnercenter.autopilot.partnercenter_autopilot_profile_info
  - module: partnercenter.autopilot.partnercenter_device_batch
'''

EXAMPLES = r'''
- name: A kiosk profile for Contoso
  partnercenter.autopilot.partnercenter_autopilot_profile:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    name: Contoso kiosk
    description: Shared devices, no local admin
    settings:
      - oobe_user_not_local_admin
      - skip_express_settings
      - skip_eula
  register: kiosk

- name: Remove a profile no device carries any more
  partnercenter.autopilot.partnercenter_autopilot_profile:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    name: Old pilot
    state: absent
'''

RETURN = r'''
customer_name:
  description: The customer's company name, when O(customer) named it.
  returned: when O(customer) is given
  type: str
profile:
  description: The profile after the run (as it would be in check mode); V(null) when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The profile's id (V(null) for a profile check mode would create).
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
      description: How many devices carry it (the service's C(devicesAssignedCount) or C(devicesAssigned)).
      type: int
    created_date:
      description: When it was created.
      type: str
    last_modified_date:
      description: When it was last changed.
      type: str
'''

from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import PartnerCenterModule
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profile_state import ensure_profile
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import SETTINGS


def main():
    module = PartnerCenterModule(
        argument_spec=dict(
            customer_id=dict(type="str"),
            customer=dict(type="str"),
            name=dict(type="str", required=True),
            profile_id=dict(type="str"),
            description=dict(type="str"),
            settings=dict(type="list", elements="str", choices=list(SETTINGS)),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            force=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("customer_id", "customer")],
        required_one_of=[("customer_id", "customer")],
        supports_check_mode=True,
    )
    with module.errors():
        service = module.service()
        _customer_id, customer_name = module.customer(service)
        result = ensure_profile(service, module.params, module.check_mode, module.clock)
        if customer_name:
            result["customer_name"] = customer_name
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
