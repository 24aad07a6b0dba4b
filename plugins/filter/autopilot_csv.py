# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: autopilot_csv
short_description: Read the CSV that Get-WindowsAutopilotInfo writes into device dictionaries
version_added: 0.1.0
description:
  - "Columns: C(Device Serial Number), C(Windows Product ID), C(Hardware Hash), and optionally
    C(Manufacturer name), C(Device model) and C(Group Tag). Header names are matched case-insensitively."
  - Accepts a UTF-8 byte order mark, quoted or unquoted fields, and CRLF line ends. Blank lines are skipped.
  - C(Group Tag) is an Intune setting that Partner Center does not take; it is read and dropped.
  - Rows that cannot become a device are named by line number in one error.
options:
  _input:
    description: The CSV text.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Register the devices of an Autopilot CSV
  partnercenter.autopilot.partnercenter_device_batch:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    batch_id: fabrikam-2026-11
    devices: "{{ lookup('ansible.builtin.file', 'fabrikam-autopilot.csv') | partnercenter.autopilot.autopilot_csv }}"
'''

RETURN = r'''
_value:
  description: Device dictionaries with C(serial_number), C(product_key), C(hardware_hash), C(manufacturer), C(model).
  type: list
  elements: dict
'''

import csv
import io

from ansible.errors import AnsibleFilterError

COLUMNS = {
    "device serial number": "serial_number",
    "windows product id": "product_key",
    "hardware hash": "hardware_hash",
    "manufacturer name": "manufacturer",
    "device model": "model",
    "group tag": None,
}


def autopilot_csv(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    if not isinstance(text, str):
        raise AnsibleFilterError("autopilot_csv: expected the CSV text, got %s" % type(text).__name__)
    text = text.lstrip(u"\ufeff")
    reader = csv.reader(io.StringIO(text))
    header = None
    devices, problems = [], []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            unknown = [h for h in header if h not in COLUMNS]
            if unknown:
                raise AnsibleFilterError("autopilot_csv: line %d: unknown columns %s (expected %s)"
                                         % (line, ", ".join(repr(u) for u in unknown), ", ".join(COLUMNS)))
            if not {"device serial number", "hardware hash"} & set(header) and "windows product id" not in header:
                raise AnsibleFilterError("autopilot_csv: line %d: no identity column (Device Serial Number, "
                                         "Windows Product ID or Hardware Hash)" % line)
            continue
        if len(row) != len(header):
            problems.append("line %d: %d fields, the header has %d" % (line, len(row), len(header)))
            continue
        device = {}
        for name, cell in zip(header, row):
            field = COLUMNS[name]
            if field and cell.strip():
                device[field] = cell.strip()
        if not any(k in device for k in ("serial_number", "product_key", "hardware_hash")):
            problems.append("line %d: no serial number, product id or hardware hash" % line)
            continue
        devices.append(device)
    if header is None:
        raise AnsibleFilterError("autopilot_csv: the CSV is empty")
    if problems:
        raise AnsibleFilterError("autopilot_csv: %d bad rows: %s" % (len(problems), "; ".join(problems)))
    return devices


class FilterModule(object):
    def filters(self):
        return {"autopilot_csv": autopilot_csv}
