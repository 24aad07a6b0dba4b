# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark baseline: a module that takes the device list and does nothing with it.

What Ansible spends to hand N devices to any module (templating, AnsiballZ, starting Python, parsing the
arguments) is measured with this module, so the benchmarks can tell Ansible's share from the collection's.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(devices=dict(type="list", elements="dict", required=True)),
                           supports_check_mode=True)
    module.exit_json(changed=False, count=len(module.params["devices"]),
                     invocation=dict(module_args=dict(devices="%d devices" % len(module.params["devices"]))))


if __name__ == "__main__":
    main()
