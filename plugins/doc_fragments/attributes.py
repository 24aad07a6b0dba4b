# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Attributes shared by modules of the same kind."""

    DOCUMENTATION = r'''
options: {}
'''

    # The read-only *_info modules.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Read-only.
'''

    # Modules of the partnercenter action group (meta/runtime.yml).
    ACTION_GROUP = r'''
options: {}
attributes:
  action_group:
    description:
      - Use C(group/partnercenter.autopilot.partnercenter) in C(module_defaults) to set the connection and
        authentication options (for example O(access_token) from the
        P(partnercenter.autopilot.partnercenter_auth#role) role) once for every Partner Center module.
    support: full
    membership:
      - partnercenter.autopilot.partnercenter
'''
