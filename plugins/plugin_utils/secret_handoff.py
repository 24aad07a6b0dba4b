# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one helper of the collection's action plugins, which keep secrets out of module arguments: they hand them
to the module in 0600 files (SecretHandoffAction), or do the module's work on the controller (ControllerAction).

Ansible prints every module's arguments when ANSIBLE_DEBUG is on, no_log or not (its documented behaviour).
The action plugins therefore move the secret options into a 0600 file in the task's private temporary
directory and hand the module only its path (option secrets_file); the directory is removed when the task ends.
The token and the first-time consent need no module at all: the browser, the flow file and the token cache are
on the controller, so their work runs there and no secret becomes a module argument.

Bulk options (the device list) travel the same way, as a file named by another option (FILE_OPTIONS): as a
module argument, 5,000 devices with 4 KB hashes are 20 MB that Ansible encodes into the module's source, which
the target's Python then compiles and decodes - twice the time and memory of reading them from a file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.action import ActionBase

from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import KINDS, failure
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import (
    INSECURE_WARNING, SECRET_OPTIONS, check_numbers, copy_spec)


class SecretHandoffAction(ActionBase):
    """Run the module of the same name with its secret options passed through a private file."""

    TRANSFERS_FILES = True
    FILE_OPTIONS = {}  # list option -> the option naming the file it is passed in

    def _hand_over(self, name, data):
        if not self._connection._shell.tmpdir:
            self._make_tmp_path()
        path = self._connection._shell.join_path(self._connection._shell.tmpdir, "partnercenter-" + name)
        try:
            # The arguments are rendered plain values by now; the C encoder takes them many times faster.
            text = json.dumps(data)
        except TypeError:
            text = json.dumps(data, cls=AnsibleJSONEncoder)
        self._transfer_data(path, text)
        self._fixup_perms2([path])
        return path

    def run(self, tmp=None, task_vars=None):
        result = super(SecretHandoffAction, self).run(tmp, task_vars)
        # A retry (until/retries) runs a new handler on the same task, whose arguments are trimmed by then
        # (below): the full ones stay with the task, in an attribute that is not one of its pickled fields.
        full = getattr(self._task, "_partnercenter_full_args", None) or dict(self._task.args)
        self._task._partnercenter_full_args = full
        args = dict(full)
        secrets = dict((k, args.pop(k)) for k in SECRET_OPTIONS if args.get(k) not in (None, ""))
        try:
            if secrets:
                args["secrets_file"] = self._hand_over("secrets", secrets)
            for option, file_option in self.FILE_OPTIONS.items():
                if isinstance(args.get(option), list) and not args.get(file_option):
                    args[file_option] = self._hand_over(option, args.pop(option))
            # After the task the worker pickles its fields, rendered arguments included, to the controller:
            # megabytes of devices for nothing (the controller keeps its own copy of the task), and the
            # secrets once more through the results queue. The module has them in files by now.
            self._task.args = dict((k, v) for k, v in full.items()
                                   if k not in SECRET_OPTIONS and k not in self.FILE_OPTIONS)
            result.update(self._execute_module(module_name=self._task.resolved_action or self._task.action,
                                               module_args=args, task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result


class ControllerAction(ActionBase):
    """Do the work of the module of the same name on the controller: work(params) with the options validated
    against SPEC (the module's), the numbers checked, the TLS warning given, and an error of the collection's
    kinds turned into a failed result the way the module's fail_from_error does it."""

    TRANSFERS_FILES = False
    _requires_connection = False
    SPEC = {}

    def work(self, params):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(ControllerAction, self).run(tmp, task_vars)
        dummy, params = self.validate_argument_spec(copy_spec(self.SPEC))
        if not params["validate_certs"]:
            result.setdefault("warnings", []).append(INSECURE_WARNING)
        try:
            check_numbers(params)
            result.update(self.work(params))
        except KINDS as err:
            result.update(failure(err))
        return result
