# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A task's batch requests judged before anything is sent: each batch's customer resolved (tenant id, domain or
company name), its devices and options checked, and which batches run and which are refused for their input.
Pure: no I/O."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.customers import CustomerIndex
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (
    DeviceValidationError, validate_devices, validate_target)

BATCH_KEYS = ("customer_id", "customer", "batch_id", "devices", "profile")


def name_customer(p, customers):
    """p with its customer resolved (customer_id and customer_name), against the partner's customer list when it
    was read (customers: a CustomerIndex; None when no batch of the task names a customer by `customer`)."""
    if p.get("customer") is not None and p.get("customer_id") is not None:
        raise DeviceValidationError(["give customer or customer_id, not both"])
    if p.get("customer") is None:
        known = customers.exact("id", p.get("customer_id") or "") if customers is not None else []
        return dict(p, customer_name=known[0]["company_name"] if known else p.get("customer_name"))
    view = (customers or CustomerIndex([])).resolve(p["customer"])
    return dict(p, customer_id=view["id"], customer_name=view["company_name"])


def check_request(p):
    """The validated devices of one batch request (module options), or DeviceValidationError naming every problem."""
    validate_target(p["customer_id"], p["batch_id"])
    desired = validate_devices(p["devices"], for_removal=p["state"] == "absent") if p["devices"] is not None else []
    problems = []
    if p["state"] == "present" and p["devices"] is None:
        problems.append("devices is required with state=present")
    if p["state"] == "absent" and p["devices"] is None and not p["force"]:
        problems.append("state=absent without devices removes every device of batch %s: set force: true to "
                        "confirm" % p["batch_id"])
    if p["state"] == "present" and p["devices"] is not None and not desired and not p["purge"]:
        problems.append("devices is empty: there is nothing to register in batch %s (an inventory filter that "
                        "matched no host?)" % p["batch_id"])
    if p["state"] == "present" and p["purge"] and not desired and not p["force"]:
        problems.append("purge with an empty device list removes every device of batch %s: set force: true to "
                        "confirm" % p["batch_id"])
    hash_only = ["devices[%d]" % d.index for d in desired if d.hash_only]
    if hash_only and (p["purge"] or p["state"] == "absent"):
        problems.append("%s: a device given only by hardware_hash cannot be found among registered devices "
                        "(Partner Center does not list hashes); add its serial_number or product_key to use %s"
                        % (", ".join(hash_only), "purge" if p["purge"] else "state=absent"))
    profiled = p.get("profile") or any(d.profile for d in desired)
    if profiled and p["state"] == "absent":
        problems.append("profile is for registering devices; it cannot be combined with state=absent")
    elif profiled and not p["wait"]:
        problems.append("profile needs wait: true - a profile is assigned to devices once their upload job has "
                        "registered them")
    if p.get("profile") is not None and (not isinstance(p["profile"], str) or not p["profile"].strip()):
        problems.append("profile must be a profile's name or id, got %r" % (p["profile"],))
    if problems:
        raise DeviceValidationError(problems)
    return desired


def uses_customer(p):
    """Does the task name a customer by `customer` (so the partner's customer list must be read first)?"""
    entries = p["batches"] if isinstance(p.get("batches"), list) else []
    return p.get("customer") is not None or any(isinstance(e, dict) and e.get("customer") is not None
                                                for e in entries)


def sort_requests(p, customers=None):
    """The task's batch requests checked, none sent: ([(params, desired)] to run, [(index, params, problems)]
    refused). Each batch's customer is resolved against customers (the customer list, when read)."""
    if p.get("batches") is None:
        entries, single = [dict((k, p.get(k)) for k in BATCH_KEYS)], True
    elif not isinstance(p["batches"], list) or not p["batches"]:
        raise DeviceValidationError(["batches must be a non-empty list of {customer_id or customer, batch_id, "
                                     "devices[, profile]}"])
    else:
        entries, single = p["batches"], False
    runnable, refused = [], []
    customers = None if customers is None else CustomerIndex(customers)  # built once: look-ups stay linear
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            refused.append((index, dict(p, batches=None), ["must be a dictionary, got %s" % type(entry).__name__]))
            continue
        # An entry's own profile wins over the task's.
        params = dict(p, batches=None, **dict((k, entry.get(k, p.get(k) if k == "profile" else None))
                                              for k in BATCH_KEYS))
        unknown = sorted(set(entry) - set(BATCH_KEYS))
        try:
            if unknown:
                raise DeviceValidationError(["unknown field %s (expected %s)"
                                             % (", ".join(unknown), ", ".join(BATCH_KEYS))])
            params = name_customer(params, customers)
            runnable.append((params, check_request(params)))
        except DeviceValidationError as err:
            refused.append((index, params, err.errors if single else [
                "batches[%d] (%s / %s): %s" % (index, entry.get("customer") or entry.get("customer_id"),
                                               entry.get("batch_id"), problem) for problem in err.errors]))
    return runnable, refused


def batch_requests(p, customers=None):
    """[(params, desired)] for the task: its batches entries, or its one batch; every problem of all at once
    (on_invalid fail_task: nothing is sent when any batch is bad)."""
    runnable, refused = sort_requests(p, customers)
    if refused:
        raise DeviceValidationError([problem for _index, _params, problems in refused for problem in problems])
    return runnable
