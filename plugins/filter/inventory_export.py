# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: inventory_export
short_description: Turn what Partner Center lists for customers into an inventory register_devices.yml takes
version_added: 0.1.0
description:
  - Takes, per customer, what P(partnercenter.autopilot.partnercenter_customer_info#module),
    P(partnercenter.autopilot.partnercenter_device_batch_info#module) (with C(include_devices)) and
    P(partnercenter.autopilot.partnercenter_autopilot_profile_info#module) return, and returns the text of a YAML
    inventory that C(playbooks/register_devices.yml) takes as it is - registering nothing and assigning nothing,
    since every device it declares is registered in its batch with its profile. C(playbooks/export_inventory.yml)
    writes it.
  - One group per customer under C(autopilot_devices), named from the company name (lowercase letters, digits and
    C(_); the tenant id's first 8 characters are appended when two customers would get the same name), with
    C(partnercenter_customer_id) and C(partnercenter_customer_name).
  - One host per device, named C(<customer group>-<serial number>) (the product key, else the device id, when it
    has no serial number), lowercase, only C(a-z), C(0-9), C(_) and C(-); C(-2), C(-3) ... make names unique.
    Host variables - C(partnercenter_batch_id) (the batch the device is listed in), C(autopilot_profile) (the
    name of the profile the device carries, whether the listing gave its id or its name; left out when it carries
    none) and its identity.
  - The identity is what C(register_devices.yml) can upload and match without a hardware hash, which Partner
    Center never lists - C(autopilot_product_key) alone for a device listed with a product key, else
    C(autopilot_serial_number), C(autopilot_manufacturer) and C(autopilot_model).
  - A device listed with neither (uploaded by its hash, listed without make or model) cannot be declared without
    its hash - it is a host of group C(autopilot_needs_hardware_hash), outside C(autopilot_devices), with its
    customer, batch and profile as host variables. Add C(autopilot_hardware_hash) and move it under
    C(autopilot_devices) to manage it.
  - Each customer's profiles go to C(autopilot_profiles) in C(all) with their C(description) (when not empty) and
    C(settings).
  - Customers, hosts, profiles and keys are sorted, and the file holds no time stamp, so a re-export of the same
    state is the same text and a changed one diffs cleanly.
  - The header comment says what was exported, what the missing hashes mean for matching, and lists what could
    not be exported exactly (a profile a device carries that the customer's profiles do not list, profiles that
    share a name, batches without devices).
  - Text containing C({{), C({%) or C({#) is written with the C(!unsafe) tag, so Ansible never templates it.
options:
  _input:
    description:
      - One entry per customer.
    type: list
    elements: dict
    required: true
    suboptions:
      customer:
        description:
          - The customer as P(partnercenter.autopilot.partnercenter_customer_info#module) returns it - C(id) (or
            C(tenant_id)), C(company_name), C(domain).
        type: dict
        required: true
      batches:
        description:
          - The RV(partnercenter.autopilot.partnercenter_device_batch_info#module:batches), with C(devices).
        type: list
        elements: dict
      profiles:
        description:
          - The RV(partnercenter.autopilot.partnercenter_autopilot_profile_info#module:profiles).
        type: list
        elements: dict
'''

EXAMPLES = r'''
- name: Read a customer's batches with their devices
  partnercenter.autopilot.partnercenter_device_batch_info:
    customer_id: "{{ customer.id }}"
    include_devices: true
  register: listing

- name: Read the customer's profiles
  partnercenter.autopilot.partnercenter_autopilot_profile_info:
    customer_id: "{{ customer.id }}"
  register: profiles

- name: Write the inventory
  ansible.builtin.copy:
    content: >-
      {{ [{'customer': customer, 'batches': listing.batches, 'profiles': profiles.profiles}]
         | partnercenter.autopilot.inventory_export }}
    dest: exported-inventory.yml
    mode: "0644"
'''

RETURN = r'''
_value:
  description:
    - "The inventory: YAML text beginning with its header comment, for example C(all: {vars: {autopilot_profiles:
      [...]}, children: {autopilot_devices: {children: {contoso: {vars: {partnercenter_customer_id: ...,
      partnercenter_customer_name: Contoso}, hosts: {contoso-cnu1234abc: {autopilot_manufacturer: HP,
      autopilot_model: EliteBook 840, autopilot_profile: Standard, autopilot_serial_number: CNU1234ABC,
      partnercenter_batch_id: contoso-2026-11}}}}}}})."
  type: str
'''

import re
from collections.abc import Mapping

import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import oobe_policy_id

DEVICES_GROUP = "autopilot_devices"
HASH_GROUP = "autopilot_needs_hardware_hash"
RESERVED_GROUPS = frozenset(("all", "ungrouped", DEVICES_GROUP, HASH_GROUP))
GROUP_NAME_LENGTH = 40
TEMPLATE_MARKS = ("{{", "{%", "{#")

HEADER = """\
# Autopilot inventory exported from Partner Center by playbooks/export_inventory.yml.
# %(summary)s.
# Every registered device is a host of group autopilot_devices, in one group per customer, with its batch
# (partnercenter_batch_id) and the name of the profile it carries (autopilot_profile); each customer's profiles
# are in autopilot_profiles. Taken as it is, it registers and assigns nothing:
#   ansible-playbook -i exported-inventory.yml playbooks/register_devices.yml
#
# No hardware hashes: Partner Center never lists them. register_devices.yml matches a declared device with a
# registered one by product key, else by serial number with manufacturer and model, so each device is exported
# by what it can be matched (and uploaded) with without its hash: its product key alone when it has one, else
# its serial number, manufacturer and model. The devices here are found and left alone; to register one anew
# (in another tenant, after it was deregistered) you need its hash again (Get-WindowsAutopilotInfo).
# A device listed with neither (uploaded by its hash alone) cannot be declared without it: such devices are
# hosts of group autopilot_needs_hardware_hash, outside autopilot_devices, which register_devices.yml does not
# read. Add autopilot_hardware_hash to one and move it under autopilot_devices to manage it.
#
# Sorted by customer, host and key, without a time stamp: a re-export of the same state is the same file, and
# one of a changed state diffs cleanly. A re-export replaces this file.
"""


class _Unsafe(str):
    """Text Ansible must not template: written with the !unsafe tag."""


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    pass


_Dumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value)))


def _text(value):
    """A plain str (not Ansible's tagged or unsafe subclass, which the YAML dumper does not know), stripped;
    None for nothing."""
    if value is None:
        return None
    # str.__str__ gives an exact str for any str subclass (str() of ansible-core 2.17's AnsibleUnsafeText is
    # itself again).
    text = str.__str__(value.strip() if isinstance(value, str) else str(value).strip())
    if not text:
        return None
    return _Unsafe(text) if any(mark in text for mark in TEMPLATE_MARKS) else str(text)


def _lower(value):
    return (value or "").lower()


def _slug(text, keep):
    """Lowercase text with every run of characters outside keep (a regex character class) turned into _."""
    return re.sub(r"[^%s]+" % keep, "_", (text or "").lower()).strip("_-")


def _customer_fields(position, entry, problems):
    if not isinstance(entry, Mapping):
        problems.append("entry #%d: expected a dictionary with customer, batches and profiles, got %s"
                        % (position, type(entry).__name__))
        return None
    customer = entry.get("customer")
    if not isinstance(customer, Mapping):
        problems.append("entry #%d: customer must be a dictionary (an item of partnercenter_customer_info's "
                        "customers), got %s" % (position, type(customer).__name__))
        return None
    customer_id = _text(customer.get("id")) or _text(customer.get("tenant_id"))
    if not customer_id:
        problems.append("entry #%d: the customer has no id" % position)
        return None
    for key in ("batches", "profiles"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(x, Mapping) for x in value)):
            problems.append("entry #%d (customer %s): %s must be a list of dictionaries" % (position, customer_id, key))
            return None
    name = _text(customer.get("company_name")) or _text(customer.get("domain")) or customer_id
    return {"id": customer_id, "name": name, "domain": _text(customer.get("domain")),
            "batches": entry.get("batches") or [], "profiles": entry.get("profiles") or []}


def _group_names(customers):
    """A group name per customer: its company name's slug, with the tenant id's start when shared or reserved."""
    base = {}
    for customer in customers:
        slug = _slug(customer["name"], "a-z0-9")[:GROUP_NAME_LENGTH].strip("_")
        if not slug or slug[0].isdigit():
            slug = ("customer_" + slug).strip("_")
        base[customer["id"].lower()] = slug
    counts = {}
    for slug in base.values():
        counts[slug] = counts.get(slug, 0) + 1
    names, used = {}, set()
    for customer in sorted(customers, key=lambda c: c["id"].lower()):
        key = customer["id"].lower()
        name = base[key]
        if counts[name] > 1 or name in RESERVED_GROUPS:
            name = "%s_%s" % (name, _slug(key, "a-z0-9")[:8])
        if name in used:  # the first 8 characters shared too: the whole id
            name = "%s_%s" % (base[key], _slug(key, "a-z0-9"))
        used.add(name)
        names[key] = name
    return names


def _profiles(customer, group, notes):
    """(entries for autopilot_profiles, {lowered id or name: name})."""
    entries, by_ref, named = [], {}, {}
    for profile in customer["profiles"]:
        name = _text(profile.get("name"))
        if not name:
            continue
        settings = set(_text(s) for s in profile.get("settings") or [])
        entry = {"customer_id": customer["id"], "name": name, "settings": sorted(settings - set((None, "none")))}
        description = _text(profile.get("description"))
        if description:
            entry["description"] = description
        entries.append((name.lower(), name, _lower(_text(profile.get("id"))), entry))
        named.setdefault(name, []).append(_text(profile.get("id")) or "?")
        if _text(profile.get("id")):
            by_ref[_lower(_text(profile.get("id")))] = name
    for profile in customer["profiles"]:  # names after ids: an id always wins
        name = _text(profile.get("name"))
        if name:
            by_ref.setdefault(name.lower(), name)
    for name, ids in sorted(named.items()):
        if len(ids) > 1:
            notes.append("%s: %d profiles are named %r (ids %s); register_devices.yml cannot tell them apart - "
                         "rename all but one in Partner Center" % (group, len(ids), name, ", ".join(sorted(ids))))
    return [entry for _k, _n, _i, entry in sorted(entries, key=lambda x: x[:3])], by_ref


def _identity(device):
    """(host variables of the identity, whether register_devices.yml can upload and match them)."""
    serial, key = _text(device.get("serial_number")), _text(device.get("product_key"))
    make, model = _text(device.get("manufacturer")), _text(device.get("model"))
    if key:
        return {"autopilot_product_key": key}, True
    listed = (("autopilot_serial_number", serial), ("autopilot_manufacturer", make), ("autopilot_model", model))
    found = dict((var, value) for var, value in listed if value)
    return found, len(found) == 3


def _host_stem(group, device):
    serial, key = _text(device.get("serial_number")), _text(device.get("product_key"))
    if serial:
        ident = serial
    elif key:
        ident = "pk-" + key
    else:
        ident = "device-" + (_text(device.get("id")) or "unknown")
    return "%s-%s" % (group, _slug(ident, "a-z0-9_-") or "device")


def _devices(customer, group, profile_refs, notes):
    """[(host name stem, sort key, host variables, declarable)] for every listed device of the customer."""
    out = []
    for batch in customer["batches"]:
        batch_id = _text(batch.get("id"))
        devices = batch.get("devices") or []
        if not batch_id:
            continue
        if not devices:
            notes.append("%s: batch %r has no devices; an inventory cannot declare an empty batch"
                         % (group, batch_id))
            continue
        for device in devices:
            if not isinstance(device, Mapping):
                continue
            variables, declarable = _identity(device)
            variables["partnercenter_batch_id"] = batch_id
            stem = _host_stem(group, device)
            carried = _text(oobe_policy_id(device.get("policies")))
            if carried:
                name = profile_refs.get(carried.lower())
                if name:
                    variables["autopilot_profile"] = name
                else:
                    notes.append("%s: %s carries profile %r, which is not among the customer's profiles; exported "
                                 "without autopilot_profile" % (group, stem, str(carried)))
            if not declarable:
                variables.update(partnercenter_customer_id=customer["id"], partnercenter_customer_name=customer["name"])
            fields = ("serial_number", "product_key", "manufacturer", "model", "id")
            order = tuple(_lower(_text(device.get(k))) for k in fields) + (batch_id,)
            out.append((stem, order, variables, declarable))
    return out


def _unique_names(devices, taken):
    """{index in devices: host name}; stems shared by several devices get -2, -3 ... in sort order."""
    names = {}
    for index in sorted(range(len(devices)), key=lambda i: (devices[i][0], devices[i][1])):
        stem = devices[index][0]
        name, number = stem, 1
        while name in taken:
            number += 1
            name = "%s-%d" % (stem, number)
        taken.add(name)
        names[index] = name
    return names


def inventory_export(customers):
    if customers is None:
        customers = []
    if isinstance(customers, (str, bytes, Mapping)) or not isinstance(customers, list):
        raise AnsibleFilterError("inventory_export: expected a list of {customer, batches, profiles}, got %s"
                                 % type(customers).__name__)
    problems, read = [], []
    for position, entry in enumerate(customers):
        fields = _customer_fields(position, entry, problems)
        if fields is not None:
            read.append(fields)
    seen = {}
    for fields in read:
        if fields["id"].lower() in seen:
            problems.append("customer %s is given twice" % fields["id"])
        seen[fields["id"].lower()] = fields
    if problems:
        raise AnsibleFilterError("inventory_export: %s" % "; ".join(problems))

    groups = _group_names(read)
    children, profiles, hash_hosts, notes, taken = {}, [], {}, [], set()
    counts = {"devices": 0, "hash": 0}
    for customer in sorted(read, key=lambda c: groups[c["id"].lower()]):
        group = groups[customer["id"].lower()]
        entries, refs = _profiles(customer, group, notes)
        profiles.extend(entries)
        devices = _devices(customer, group, refs, notes)
        names = _unique_names(devices, taken)
        hosts = {}
        for index, (_stem, _order, variables, declarable) in enumerate(devices):
            (hosts if declarable else hash_hosts)[names[index]] = variables
            counts["devices" if declarable else "hash"] += 1
        children[group] = {"vars": {"partnercenter_customer_id": customer["id"],
                                    "partnercenter_customer_name": customer["name"]}}
        if hosts:
            children[group]["hosts"] = hosts
    inventory = {"all": {"children": {DEVICES_GROUP: {"children": children} if children else {}}}}
    if hash_hosts:
        inventory["all"]["children"][HASH_GROUP] = {"hosts": hash_hosts}
    if profiles:
        inventory["all"]["vars"] = {"autopilot_profiles": profiles}

    summary = "%s, %s, %s" % (_count(len(read), "customer"), _count(counts["devices"], "device"),
                              _count(len(profiles), "profile"))
    if counts["hash"]:
        summary += ", and %s that need their hardware hash" % _count(counts["hash"], "device")
    text = HEADER % {"summary": summary}
    if notes:
        text += "#\n# Not exported exactly:\n" + "".join("#   %s\n" % _comment(note) for note in sorted(notes))
    return text + yaml.dump(inventory, Dumper=_Dumper, default_flow_style=False, sort_keys=True,
                            allow_unicode=True, width=1000, explicit_start=True)


def _count(number, noun):
    return "{0:,} {1}{2}".format(number, noun, "" if number == 1 else "s")


def _comment(text):
    """One comment line: no line breaks in it."""
    return re.sub(r"[\r\n\x85\u2028\u2029]+", " ", text)


class FilterModule(object):
    def filters(self):
        return {"inventory_export": inventory_export}
