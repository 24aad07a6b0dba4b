# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs partnercenter_customer_info with its secret options passed through a private file (see plugin_utils/secret_handoff.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.plugin_utils.secret_handoff import SecretHandoffAction


class ActionModule(SecretHandoffAction):
    pass
