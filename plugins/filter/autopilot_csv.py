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
  - C(Group Tag) is not a device field; this filter reads and drops it. To make one device batch per group tag,
    use P(partnercenter.autopilot.csv_batches#filter) instead.
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
GROUP_TAG = "group tag"


def read_rows(text, name="autopilot_csv"):
    """Parse Autopilot CSV text. Returns (rows, problems): rows are (line number, device, group tag or None)
    tuples, problems are (line number, message) tuples of rows that cannot become a device. A CSV that cannot
    be read at all (not text, not UTF-8, empty, unknown or no identity columns, an unbalanced quote) raises
    AnsibleFilterError prefixed with name. Shared by the autopilot_csv and csv_batches filters."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise AnsibleFilterError("%s: the CSV is not UTF-8 text (byte %d); save it as UTF-8 or ASCII"
                                     % (name, err.start))
    if not isinstance(text, str):
        raise AnsibleFilterError("%s: expected the CSV text, got %s" % (name, type(text).__name__))
    text = text.lstrip(u"\ufeff")
    reader = csv.reader(io.StringIO(text))
    header = None
    rows, problems = [], []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:  # an unbalanced quote makes one huge field: the rest cannot be read
            raise AnsibleFilterError("%s: line %d: the CSV cannot be read from this line on: %s (an unbalanced "
                                     "quote?)" % (name, start, err))
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            unknown = [h for h in header if h not in COLUMNS]
            if unknown:
                raise AnsibleFilterError("%s: line %d: unknown columns %s (expected %s)"
                                         % (name, line, ", ".join(repr(u) for u in unknown), ", ".join(COLUMNS)))
            if not {"device serial number", "hardware hash"} & set(header) and "windows product id" not in header:
                raise AnsibleFilterError("%s: line %d: no identity column (Device Serial Number, "
                                         "Windows Product ID or Hardware Hash)" % (name, line))
            continue
        if len(row) != len(header):
            problems.append((line, "line %d: %d fields, the header has %d" % (line, len(row), len(header))))
            continue
        device, group_tag = {}, None
        for column, cell in zip(header, row):
            field = COLUMNS[column]
            if field and cell.strip():
                device[field] = cell.strip()
            elif column == GROUP_TAG and cell.strip():
                group_tag = cell.strip()
        if not any(k in device for k in ("serial_number", "product_key", "hardware_hash")):
            problems.append((line, "line %d: no serial number, product id or hardware hash" % line))
            continue
        rows.append((line, device, group_tag))
    if header is None:
        raise AnsibleFilterError("%s: the CSV is empty" % name)
    return rows, problems


def autopilot_csv(text):
    rows, problems = read_rows(text)
    if problems:
        raise AnsibleFilterError("autopilot_csv: %d bad rows: %s"
                                 % (len(problems), "; ".join(message for _line, message in problems)))
    return [device for _line, device, _tag in rows]


class FilterModule(object):
    def filters(self):
        return {"autopilot_csv": autopilot_csv}
