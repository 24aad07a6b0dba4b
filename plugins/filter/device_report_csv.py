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
  - Turns the rows of P(partnercenter.autopilot.device_report#filter) into CSV with a header line and one line
    per row, every field quoted (commas, quotes and line breaks in error texts stay inside their field).
  - The columns, always all of them and in this order - C(customer_name), C(customer_id), C(batch_id),
    C(serial_number), C(product_key), C(outcome), C(status), C(error_code), C(error_description),
    C(explanation), C(profile), C(profile_status), C(profile_error). A column a row lacks (rows from an older
    P(partnercenter.autopilot.device_report#filter), devices without a profile) is empty.
  - Rows are sorted by customer id, batch, serial number and product key, so two runs over the same devices
    list them in the same order whatever order the jobs answered in.
  - The text starts with a UTF-8 byte order mark (unless O(bom=false)), so spreadsheet programs such as Excel
    open the file as UTF-8 without an import dialog and show non-ASCII customer names as written. Programs
    reading it should use the C(utf-8-sig) encoding (Python) or another that skips the mark.
options:
  _input:
    description: Rows from P(partnercenter.autopilot.device_report#filter).
    type: list
    elements: dict
    required: true
  bom:
    description: Whether to start the text with a UTF-8 byte order mark.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Write the report
  ansible.builtin.copy:
    content: "{{ rows | partnercenter.autopilot.device_report_csv }}"
    dest: reports/autopilot-report.csv
    mode: "0644"

- name: The same CSV without a byte order mark, for a program that does not expect one
  ansible.builtin.copy:
    content: "{{ rows | partnercenter.autopilot.device_report_csv(bom=false) }}"
    dest: reports/autopilot-report-plain.csv
    mode: "0644"
'''

RETURN = r'''
_value:
  description: CSV text (a byte order mark, a header line, then one line per row, sorted by customer id, batch,
    serial number and product key).
  type: str
'''

import csv
import io

# New columns go at the end (profile_error), except customer_name, which comes first: the byte order mark
# attaches to the first header name for a reader that does not skip it, and no earlier reader used this one.
COLUMNS = ("customer_name", "customer_id", "batch_id", "serial_number", "product_key", "outcome", "status",
           "error_code", "error_description", "explanation", "profile", "profile_status", "profile_error")
BOM = u"\ufeff"


def _text(value):
    return "" if value is None else str(value)


def _order(row):
    keys = ("customer_id", "batch_id", "serial_number", "product_key")
    return tuple(_text(row.get(key)).strip().lower() for key in keys)


def device_report_csv(rows, bom=True):
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in sorted(rows or [], key=_order):
        writer.writerow([_text(row.get(c)) for c in COLUMNS])
    return (BOM if bom else "") + out.getvalue()


class FilterModule(object):
    def filters(self):
        return {"device_report_csv": device_report_csv}
