# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading many customers in one task, for the info modules' `customers` option: the tenant ids checked
before any request, each customer read once in the worker pool (one client and token for every worker), and
one entry per customer given, in their order - what was read, or why it could not be."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.customers import is_tenant_id
from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import (
    SERVICE_FIELDS, AuthError, InputError, failure)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.pool import in_pool

MAX_NAMED = 10  # customers named in a failed task's message; all of them are in its `customers`


def check_customers(customers):
    """The tenant ids, stripped; InputError naming every entry that is not one, before any request."""
    problems = ["customers[%d] must be a customer's tenant id (a GUID), got %r" % (index, customer)
                for index, customer in enumerate(customers) if not is_tenant_id(customer)]
    if problems:
        raise InputError(problems)
    return [customer.strip() for customer in customers]


def customer_failure(err):
    """What an entry holds about the error its customer's read raised: failed, msg and the error's fields."""
    fields = failure(err)
    fields.update((name, getattr(err, name)) for name in SERVICE_FIELDS if hasattr(err, name))
    if isinstance(getattr(err, "errors", None), list):
        fields.setdefault("errors", err.errors)
    return fields


def read_customers(customers, read, key, concurrency, errors):
    """[{customer_id, key: read(customer id)}], one per entry of customers, in their order.

    Each customer (ignoring case) is read once, at most concurrency at a time. A read that raises one of
    errors gives its entry failed, msg and the error's fields instead of key, and the other customers are still
    read. An AuthError is no customer's: the first one ends the task (no worker starts a read after it).
    """
    distinct = {}  # lowercased: as first spelled
    for customer in customers:
        distinct.setdefault(customer.lower(), customer)
    refused = []

    def work(customer):
        if refused:
            raise refused[0]
        try:
            return {key: read(customer)}
        except AuthError as err:
            refused.append(err)
            raise
        except errors as err:
            return customer_failure(err)

    outcome = dict(zip(distinct, in_pool(concurrency, work, list(distinct.values()))))
    return [dict([("customer_id", customer)] + sorted(outcome[customer.lower()].items())) for customer in customers]


def failed_message(entries):
    """The message of a task some of whose customers could not be read, naming them; None when all were."""
    failed = [e for e in entries if e.get("failed")]
    if not failed:
        return None
    named = "; ".join("%s: %s" % (e["customer_id"], e["msg"]) for e in failed[:MAX_NAMED])
    more = len(failed) - MAX_NAMED
    return "%d of %d customers could not be read: %s%s" % (
        len(failed), len(entries), named, " (and %d more: see customers)" % more if more > 0 else "")
