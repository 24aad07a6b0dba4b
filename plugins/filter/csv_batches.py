# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: csv_batches
short_description: Split an Autopilot CSV into one Partner Center device batch per group tag
version_added: 0.1.0
description:
  - Reads the CSV that Get-WindowsAutopilotInfo writes, as P(partnercenter.autopilot.autopilot_csv#filter) does
    (same columns, byte order mark, quoting, CRLF line ends and blank lines), and returns one entry per distinct
    C(Group Tag), in the order the tags first appear, ready for the
    O(partnercenter.autopilot.partnercenter_device_batch#module:batches) option of
    P(partnercenter.autopilot.partnercenter_device_batch#module).
  - The group tag is the batch name. Rows with an empty C(Group Tag), and every row of a CSV without that
    column, go to the batch O(batch_id); a tag equal to O(batch_id) shares that entry.
  - A group tag must be a valid batch name - 1 to 64 characters of letters, digits, space, C(.), C(_) and C(-).
  - Rows that cannot become a device, group tags that are not batch names, and untagged rows when O(batch_id)
    is empty are named by line number in one error.
  - Entries without devices (a CSV with only its header) are not returned.
options:
  _input:
    description: The CSV text.
    type: str
    required: true
  customer_id:
    description:
      - The customer's tenant id, put on every entry as C(customer_id).
      - Or, instead, O(customer).
    type: str
  customer:
    description:
      - The customer by tenant id, domain or exact company name, put on every entry as C(customer)
        (P(partnercenter.autopilot.partnercenter_device_batch#module) resolves it), instead of O(customer_id).
    type: str
  batch_id:
    description:
      - The batch of the rows without a group tag.
      - May be empty when every row has a group tag.
    type: str
    required: true
  profile:
    description:
      - An Autopilot profile (its name or id) of the customer, put on every entry as C(profile).
      - Omitted from the entries when not given or empty.
    type: str
'''

EXAMPLES = r'''
- name: Register the devices of an Autopilot CSV, one batch per group tag, assigning the Kiosk profile
  partnercenter.autopilot.partnercenter_device_batch:
    batches: >-
      {{ lookup('ansible.builtin.file', 'fabrikam-autopilot.csv')
         | partnercenter.autopilot.csv_batches('3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'fabrikam-2026-11',
                                               profile='Kiosk') }}

- name: Without a profile; untagged rows go to fabrikam-untagged
  ansible.builtin.set_fact:
    csv_batches: >-
      {{ lookup('ansible.builtin.file', 'fabrikam-autopilot.csv')
         | partnercenter.autopilot.csv_batches(customer_id, 'fabrikam-untagged') }}
'''

RETURN = r'''
_value:
  description: One entry per batch, in the order each batch's first row appears in the CSV.
  type: list
  elements: dict
  contains:
    customer_id:
      description: The customer's tenant id (O(customer_id)).
      type: str
      returned: when O(customer_id) is given
    customer:
      description: The customer as O(customer) names it.
      type: str
      returned: when O(customer) is given
    batch_id:
      description: The group tag, or O(batch_id) for untagged rows.
      type: str
    devices:
      description: Device dictionaries with C(serial_number), C(product_key), C(hardware_hash), C(manufacturer),
        C(model), as P(partnercenter.autopilot.autopilot_csv#filter) returns them.
      type: list
      elements: dict
    profile:
      description: The O(profile), when given.
      type: str
      returned: when O(profile) is given
'''

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.partnercenter.autopilot.plugins.filter.autopilot_csv import read_rows

# The batch names Partner Center takes (as the module checks batch_id).
BATCH_NAME_RE = re.compile(r"[A-Za-z0-9 ._-]{1,64}\Z")


def csv_batches(text, customer_id, batch_id, profile=None, customer=None):
    given = [(key, str(value).strip()) for key, value in (("customer_id", customer_id), ("customer", customer))
             if value is not None and str(value).strip()]
    if len(given) != 1:
        raise AnsibleFilterError("csv_batches: give customer_id or customer (a tenant id, domain or company name)%s"
                                 % (", not both" if given else ""))
    key, customer = given[0]
    default = "" if batch_id is None else str(batch_id)
    rows, problems = read_rows(text, "csv_batches")
    batches, order = {}, []
    for line, device, tag in rows:
        if tag is None:
            if not default:
                problems.append((line, "line %d: no Group Tag and no batch_id given" % line))
                continue
            batch = default
        elif not BATCH_NAME_RE.match(tag):
            problems.append((line, "line %d: Group Tag %r is not a batch name (1-64 characters of letters, digits, "
                                   "space, '.', '_' or '-')" % (line, tag)))
            continue
        else:
            batch = tag
        if batch not in batches:
            batches[batch] = {key: customer, "batch_id": batch, "devices": []}
            if profile not in (None, ""):
                batches[batch]["profile"] = profile
            order.append(batch)
        batches[batch]["devices"].append(device)
    if problems:
        problems.sort(key=lambda problem: problem[0])
        raise AnsibleFilterError("csv_batches: %d bad rows: %s"
                                 % (len(problems), "; ".join(message for _line, message in problems)))
    return [batches[batch] for batch in order]


class FilterModule(object):
    def filters(self):
        return {"csv_batches": csv_batches}
