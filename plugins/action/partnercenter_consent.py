# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the first-time consent on the controller.

As a module, the client secret and the address holding the authorization code would be module arguments,
which Ansible prints when ANSIBLE_DEBUG is on; and the browser, the flow file and the token cache the later
runs read are all on the controller anyway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import AuthError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import DeviceValidationError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import (
    INSECURE_WARNING, check_numbers, copy_spec)
from ansible_collections.partnercenter.autopilot.plugins.modules.partnercenter_consent import CONSENT_SPEC, consent


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = False  # a sign-in cannot be rehearsed: skipped in check mode

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, params = self.validate_argument_spec(copy_spec(CONSENT_SPEC))
        if not params["validate_certs"]:
            result.setdefault("warnings", []).append(INSECURE_WARNING)
        try:
            check_numbers(params)
            result.update(consent(params))
        except (AuthError, DeviceValidationError) as err:
            result.update(failed=True, msg=str(err))
        return result
