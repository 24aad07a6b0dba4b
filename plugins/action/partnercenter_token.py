# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Obtains the token on the controller.

Running the module would put the credentials among module arguments and the token in the module's output,
both of which Ansible prints when ANSIBLE_DEBUG is on. The controller is where the token is used anyway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import AuthError, acquire_token
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import DeviceValidationError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import (
    INSECURE_WARNING, TOKEN_MODULE_SPEC, check_numbers, copy_spec)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, params = self.validate_argument_spec(copy_spec(TOKEN_MODULE_SPEC))
        if not params["validate_certs"]:
            result.setdefault("warnings", []).append(INSECURE_WARNING)
        try:
            check_numbers(params)
            token = acquire_token(params)
        except (AuthError, DeviceValidationError) as err:
            result.update(failed=True, msg=str(err))
            return result
        result.update(changed=False, access_token=token, token_type="Bearer", auth_flow=params["auth_flow"])
        return result
