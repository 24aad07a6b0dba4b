# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the first-time consent on the controller (see plugin_utils/secret_handoff.py).

As a module, the client secret and the address holding the authorization code would be module arguments,
which Ansible prints when ANSIBLE_DEBUG is on; and the browser, the flow file and the token cache the later
runs read are all on the controller anyway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.consent import consent
from ansible_collections.partnercenter.autopilot.plugins.modules.partnercenter_consent import CONSENT_SPEC
from ansible_collections.partnercenter.autopilot.plugins.plugin_utils.secret_handoff import ControllerAction


class ActionModule(ControllerAction):
    _supports_check_mode = False  # a sign-in cannot be rehearsed: skipped in check mode
    SPEC = CONSENT_SPEC

    def work(self, params):
        return consent(params)
