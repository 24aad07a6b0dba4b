# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: device_report_csv
short_description: Report rows as CSV text
version_added: 0.1.0
description:
  - Turns the rows of P(partnercenter.autopilot.device_report#filter) into CSV with a header line, every field
    quoted (commas, quotes and line breaks in error texts stay inside their field).
options:
  _input:
    description: Rows from P(partnercenter.autopilot.device_report#filter).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Write the report
  ansible.builtin.copy:
    content: "{{ rows | partnercenter.autopilot.device_report_csv }}"
    dest: reports/autopilot-report.csv
    mode: "0644"
'''

RETURN = r'''
_value:
  description: CSV text with the columns customer_id, batch_id, serial_number, product_key, outcome, status,
    error_code, error_description, explanation, profile, profile_status (the last two empty for devices
    without a declared Autopilot profile, and for rows from older results).
  type: str
'''

import csv
import io

COLUMNS = ("customer_id", "batch_id", "serial_number", "product_key", "outcome", "status", "error_code",
           "error_description", "explanation", "profile", "profile_status")


def device_report_csv(rows):
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows or []:
        writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in COLUMNS])
    return out.getvalue()


class FilterModule(object):
    def filters(self):
        return {"device_report_csv": device_report_csv}
