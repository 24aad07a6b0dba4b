# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep secrets out of module arguments.

Ansible prints every module's arguments when ANSIBLE_DEBUG is on, no_log or not (its documented behaviour).
The collection's action plugins therefore move the secret options into a 0600 file in the task's private
temporary directory and hand the module only its path (option secrets_file); the directory is removed when
the task ends.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.plugins.action import ActionBase

from ansible_collections.partnercenter.autopilot.plugins.module_utils.common import SECRET_OPTIONS


class SecretHandoffAction(ActionBase):
    """Run the module of the same name with its secret options passed through a private file."""

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super(SecretHandoffAction, self).run(tmp, task_vars)
        args = dict(self._task.args)
        secrets = dict((k, args.pop(k)) for k in SECRET_OPTIONS if args.get(k) not in (None, ""))
        try:
            if secrets:
                if not self._connection._shell.tmpdir:
                    self._make_tmp_path()
                path = self._connection._shell.join_path(self._connection._shell.tmpdir, "partnercenter-secrets")
                self._transfer_data(path, json.dumps(secrets))
                self._fixup_perms2([path])
                args["secrets_file"] = path
            result.update(self._execute_module(module_name=self._task.resolved_action or self._task.action,
                                               module_args=args, task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
