# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: device_batches
short_description: Group inventory hosts (devices) into Partner Center device batches
version_added: 0.1.0
description:
  - Takes the host variables of device hosts, for example
    C(groups['autopilot_devices'] | map('extract', hostvars)), and returns one entry per customer and batch,
    ready to loop over with P(partnercenter.autopilot.partnercenter_device_batch#module).
  - "Host variables read: C(partnercenter_customer_id) or C(partnercenter_customer) (a tenant id, domain or company
    name, which P(partnercenter.autopilot.partnercenter_device_batch#module) resolves), C(partnercenter_batch_id),
    C(autopilot_group_tag),
    C(autopilot_serial_number), C(autopilot_hardware_hash), C(autopilot_product_key), C(autopilot_manufacturer),
    C(autopilot_model), C(autopilot_profile)."
  - The batch is C(partnercenter_batch_id), or, when that is not set, C(autopilot_group_tag) (the Intune group tag
    of an Autopilot CSV, used as the batch name). A host that sets both to different values is an error; the
    same value in both is fine.
  - C(autopilot_profile), an Autopilot profile of the customer (its name or id), becomes the device's
    C(profile), which P(partnercenter.autopilot.partnercenter_device_batch#module) assigns to the device.
    Hosts without it (or with it empty) get no C(profile) key.
  - Hosts missing the customer, the batch, or every identity variable, and hosts whose two batch variables
    differ, are named in one error.
options:
  _input:
    description: List of host variable dictionaries.
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Register every customer's devices from inventory
  partnercenter.autopilot.partnercenter_device_batch:
    customer_id: "{{ item.customer_id }}"
    batch_id: "{{ item.batch_id }}"
    devices: "{{ item.devices }}"
  loop: "{{ groups['autopilot_devices'] | map('extract', hostvars) | partnercenter.autopilot.device_batches }}"
'''

RETURN = r'''
_value:
  description: One entry per customer and batch, in inventory order.
  type: list
  elements: dict
  contains:
    customer_id:
      description: The customer's tenant id (C(partnercenter_customer_id)).
      type: str
      returned: for hosts with C(partnercenter_customer_id)
    customer:
      description: The customer as C(partnercenter_customer) names it.
      type: str
      returned: for hosts with C(partnercenter_customer)
    batch_id:
      description: The batch name.
      type: str
    devices:
      description:
        - Device dictionaries with C(serial_number), C(product_key), C(hardware_hash), C(manufacturer), C(model)
          (those set), and C(profile) for hosts with C(autopilot_profile).
      type: list
      elements: dict
'''

from collections.abc import Iterable, Mapping

from ansible.errors import AnsibleFilterError

HOST_VARS = (
    ("autopilot_serial_number", "serial_number"),
    ("autopilot_product_key", "product_key"),
    ("autopilot_hardware_hash", "hardware_hash"),
    ("autopilot_manufacturer", "manufacturer"),
    ("autopilot_model", "model"),
    ("autopilot_profile", "profile"),
)
IDENTITY_VARS = tuple(var for var, _field in HOST_VARS[:3])


def device_batches(hosts):
    if hosts is None:
        hosts = []
    if isinstance(hosts, (str, bytes, Mapping)) or not isinstance(hosts, Iterable):
        raise AnsibleFilterError("device_batches: expected a list of host variables, for example "
                                 "groups['autopilot_devices'] | map('extract', hostvars), got %s"
                                 % type(hosts).__name__)
    batches, order, problems = {}, [], []
    for position, host in enumerate(hosts):
        if not isinstance(host, Mapping):
            problems.append("host #%d: expected its host variables (a dictionary), got %s"
                            % (position, type(host).__name__))
            continue
        name = host.get("inventory_hostname") or "host #%d" % position
        batch = host.get("partnercenter_batch_id")
        named = [(key, host.get(var))
                 for key, var in (("customer_id", "partnercenter_customer_id"), ("customer", "partnercenter_customer"))
                 if host.get(var) not in (None, "")]
        customer_key, customer = named[0] if len(named) == 1 else ("customer_id", None)
        tag, clash = host.get("autopilot_group_tag"), None
        if batch in (None, ""):
            batch = tag
        elif tag not in (None, "") and str(tag) != str(batch):
            clash = ("partnercenter_batch_id %r and autopilot_group_tag %r differ (set one, or both to the same "
                     "batch)" % (str(batch), str(tag)))
        device = dict((field, host.get(var)) for var, field in HOST_VARS if host.get(var) not in (None, ""))
        if len(named) > 1:
            clash = "set partnercenter_customer_id or partnercenter_customer, not both"
        missing = [var for var, value in (("partnercenter_customer_id (or partnercenter_customer)", named),
                                          ("partnercenter_batch_id (or autopilot_group_tag)", batch)) if not value]
        if not any(field in device for field in ("serial_number", "product_key", "hardware_hash")):
            missing.append("one of " + ", ".join(IDENTITY_VARS))
        if missing or clash:
            problems.append("%s: %s" % (name, ", ".join(
                ([clash] if clash else []) + (["missing " + ", ".join(missing)] if missing else []))))
            continue
        key = (str(customer).strip().lower(), str(batch))
        if key not in batches:
            batches[key] = {customer_key: str(customer).strip(), "batch_id": str(batch), "devices": []}
            order.append(key)
        batches[key]["devices"].append(device)
    if problems:
        raise AnsibleFilterError("device_batches: %d hosts cannot be placed in a batch: %s"
                                 % (len(problems), "; ".join(problems)))
    return [batches[key] for key in order]


class FilterModule(object):
    def filters(self):
        return {"device_batches": device_batches}
