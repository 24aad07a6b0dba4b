# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Obtains the token on the controller (see plugin_utils/secret_handoff.py).

Running the module would put the credentials among module arguments and the token in the module's output,
both of which Ansible prints when ANSIBLE_DEBUG is on. The controller is where the token is used anyway.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import TOKEN_MODULE_SPEC
from ansible_collections.partnercenter.autopilot.plugins.modules.partnercenter_token import token
from ansible_collections.partnercenter.autopilot.plugins.plugin_utils.secret_handoff import ControllerAction


class ActionModule(ControllerAction):
    SPEC = TOKEN_MODULE_SPEC

    def work(self, params):
        return token(params)
