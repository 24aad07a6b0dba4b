#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: partnercenter_token
short_description: Obtain a Partner Center access token (secure application model)
version_added: 0.1.0
description:
  - Exchanges the partner's app credentials and an admin agent's refresh token (App+User) for a Partner Center
    access token through msal, or obtains an app-only token with O(auth_flow=client_credentials).
  - The P(partnercenter.autopilot.partnercenter_auth#role) role runs it once per play and keeps the token in a
    C(no_log) fact. Run it yourself only with C(no_log=true) on the task, since its result holds the token.
  - Never changes anything; also obtains the token in check mode, so check-mode plans can read Partner Center.
author:
  - partnercenter.autopilot maintainers (@partnercenter-autopilot)
extends_documentation_fragment:
  - partnercenter.autopilot.connection
  - partnercenter.autopilot.auth
attributes:
  check_mode:
    support: full
    description: Runs normally; obtaining a token changes nothing.
  diff_mode:
    support: none
    description: Nothing to compare.
options: {}
notes:
  - This module is deliberately not in the C(partnercenter) action group, whose defaults usually pass the
    token this module produces.
'''

EXAMPLES = r'''
- name: Obtain a token for the play
  partnercenter.autopilot.partnercenter_token:
    tenant_id: "{{ vault_partner_tenant_id }}"
    client_id: "{{ vault_app_id }}"
    client_secret: "{{ vault_app_secret }}"
    refresh_token: "{{ vault_refresh_token }}"
    token_cache_path: ~/.cache/partnercenter/token-cache.json
  register: pc_token
  no_log: true
'''

RETURN = r'''
access_token:
  description: The access token. Keep the task C(no_log).
  returned: success
  type: str
token_type:
  description: Always C(Bearer).
  returned: success
  type: str
auth_flow:
  description: The flow that produced the token.
  returned: success
  type: str
  sample: refresh_token
'''

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import acquire_token
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import PartnerCenterModule


def token(params):
    """The result: a token for the auth options in params (AuthError when none can be had). The action plugin of
    the same name returns it too."""
    return dict(changed=False, access_token=acquire_token(params), token_type="Bearer",
                auth_flow=params["auth_flow"])


def main():
    # The collection's action plugin of the same name obtains the token on the controller instead of running
    # this code; it stays so the module also works where action plugins are bypassed.
    module = PartnerCenterModule(api=False, supports_check_mode=True)
    module.check_libraries(need_msal=True)
    with module.errors():
        result = token(module.params)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
