# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: device_counts
short_description: How many batches and devices of report rows failed or are still open
version_added: 0.1.0
description:
  - Counts the rows of P(partnercenter.autopilot.device_report#filter) through the collection's one outcome
    classifier, the same that P(partnercenter.autopilot.device_summary#filter) and
    P(partnercenter.autopilot.device_report_html#filter) use, so a play's fail task counts what the reports show.
  - A batch that failed as a whole is its own row with C(status) C(error); it counts as a batch, not a device.
options:
  _input:
    description: Rows from P(partnercenter.autopilot.device_report#filter).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Fail when batches or devices could not be registered
  ansible.builtin.fail:
    msg: "{{ counts.failed_batches }} batches and {{ counts.failed_devices }} devices could not be registered"
  vars:
    counts: "{{ rows | partnercenter.autopilot.device_counts }}"
  when: counts.failed_batches > 0 or counts.failed_devices > 0
'''

RETURN = r'''
_value:
  description: The counts.
  type: dict
  contains:
    failed_batches:
      description: Batches that failed as a whole.
      type: int
    failed_devices:
      description: Devices whose outcome is a failure (C(failed), C(refused)).
      type: int
    open_devices:
      description: Devices sent whose end was not seen (C(submitted), C(pending)).
      type: int
'''

from ansible_collections.partnercenter.autopilot.plugins.module_utils.outcomes import kind


def device_counts(rows):
    batches = [r for r in rows or [] if r.get("status") == "error"]
    devices = [r for r in rows or [] if r.get("status") != "error"]
    return {"failed_batches": len(batches),
            "failed_devices": sum(1 for r in devices if kind(r.get("outcome")) == "failed"),
            "open_devices": sum(1 for r in devices if kind(r.get("outcome")) == "open")}


class FilterModule(object):
    def filters(self):
        return {"device_counts": device_counts}
