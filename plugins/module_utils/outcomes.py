# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The closed set of a device's outcome in a batch result, and the one classifier that says which outcomes are
failures, which are still open and which changed something: the engine, the report filters and the playbook's
summary all read it. Also the shape of a batch's result, and that of a batch refused for its input."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# outcome: (what it says, its class). Classes: failed (needs someone), open (sent, its end not seen yet),
# changed, unchanged, planned (check mode).
OUTCOMES = {
    "failed": ("could not be registered", "failed"),
    "refused": ("bad input: nothing was sent for its batch", "failed"),
    "pending": ("uploaded; its job had not finished within wait_timeout: read it with batch_status.yml", "open"),
    "submitted": ("uploaded; its job was not waited for (wait: false): read it with batch_status.yml", "open"),
    "registered": ("registered by this run", "changed"),
    "recovered": ("found registered after an upload whose answer was lost", "changed"),
    "removed": ("removed by this run", "changed"),
    "already_present": ("already registered to this customer", "unchanged"),
    "would_add": ("would be added (check mode)", "planned"),
    "would_remove": ("would be removed (check mode)", "planned"),
}
# The status of a declared device that its batch's failure kept from being sent: the batch's own error says why.
NOT_SENT = "not sent"
# The order reports list them in: what needs someone first.
ORDER = ("refused", "failed", "pending", "submitted", "would_add", "would_remove", "registered", "recovered",
         "removed", "already_present")


def explanation(outcome):
    return OUTCOMES.get(outcome, (None, None))[0]


def kind(outcome):
    """failed, open, changed, unchanged or planned; an outcome outside the set (a result of an older version) is
    taken as failed, so that it is looked at rather than hidden."""
    return OUTCOMES.get(outcome, (None, "failed"))[1]


def is_failure(outcome):
    return kind(outcome) == "failed"


def is_open(outcome):
    return kind(outcome) == "open"


def batch_result(customer_id, batch_id, customer_name=None):
    """A batch's result before anything happened to it."""
    return dict(changed=False, customer_id=customer_id, customer_name=customer_name, batch_id=batch_id,
                created=False, tracking_id=None, location=None, jobs=[], job_status=None, added=[],
                already_present=[], removed=[], devices=[], profile_assigned=[], profile_assignments=[],
                plan=dict(would_add=[], would_remove=[], already_present=[], unverifiable=[], would_assign=[]))


def refused_result(params, problems):
    """The result of a batch refused for its input: nothing of it was sent, each of its devices is refused
    with the problems that name it (devices[i]), else with all of the batch's."""
    customer = params.get("customer_id") or params.get("customer")
    result = dict(batch_result(customer, params.get("batch_id"), params.get("customer_name")), failed=True,
                  errors=list(problems), msg="refused, nothing was sent: " + "; ".join(problems))
    raw = params.get("devices") if isinstance(params.get("devices"), list) else []
    for index, device in enumerate(raw):
        device = device if isinstance(device, dict) else {}
        named = [p for p in problems if "devices[%d]" % index in p]
        result["devices"].append(dict(
            ((k, device.get(k) if isinstance(device.get(k), str) else None) for k in ("serial_number", "product_key")),
            device_id=None, status=NOT_SENT, error_code=None, error_description=None, outcome="refused",
            explanation="; ".join(named) or "its batch was refused for other problems, nothing of it was sent: " +
            "; ".join(problems), profile=None, profile_id=None, profile_status=None))
    return result
