# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.outcomes import ORDER, is_failure, kind

DOCUMENTATION = r'''
name: device_summary
short_description: A few lines that summarise report rows, naming every device that failed or needs attention
version_added: 0.1.0
description:
  - Takes the rows of P(partnercenter.autopilot.device_report#filter) and returns lines of text for a play's
    output - short at any number of devices.
  - First the number of devices per outcome (and of profile assignments per status, when any device has a
    profile), then one line per customer - its name (the rows' C(customer_name)) and id, and its devices per
    outcome - customers with failed, pending or profile-failed devices first, then the others up to O(limit)
    (the rest in one line); in each part named customers first, by name, then the others by id.
  - A batch that failed as a whole (a row with C(status) C(error)) is counted as a failed batch, not as a device.
  - Then every device (and batch) that failed or needs attention (failed, pending, or whose profile assignment
    failed or is pending), one line each (the row's C(line)), failed batches first, then failed devices, failed
    profile assignments and pending ones; and where the report is (O(report)).
options:
  _input:
    description: Rows from P(partnercenter.autopilot.device_report#filter).
    type: list
    elements: dict
    required: true
  report:
    description: Where the report was written, named in the last line; left out when empty.
    type: str
    default: ''
  limit:
    description:
      - At most this many customers without a failed, pending or profile-failed device get a line of their own;
        C(0) lists every customer. Customers with such a device are always listed.
    type: int
    default: 20
  check_mode:
    description: Whether the run was in check mode (the first line then says that nothing was sent).
    type: bool
    default: false
  undeclared:
    description:
      - The RV(partnercenter.autopilot.partnercenter_device_batch#module:undeclared) devices of the upload task
        (registered, declared nowhere). One line counts them per customer (named as the rows name it), before
        the report's path.
    type: list
    elements: dict
    default: []
'''

EXAMPLES = r'''
- name: Summarise the run (every customer at -v)
  ansible.builtin.debug:
    msg: >-
      {{ rows | partnercenter.autopilot.device_summary(report='reports/autopilot-report.html',
                                                       limit=0 if ansible_verbosity > 0 else 20) }}
'''

RETURN = r'''
_value:
  description: "Lines of text, the first for example C(10,000 devices of 20 customers: 2 failed, 9,998 registered)."
  type: list
  elements: str
'''

# In outcomes.ORDER: what needs someone first.
LABELS = {"would_add": "would be added", "would_remove": "would be removed", "already_present": "already present"}
OUTCOMES = tuple((key, LABELS.get(key, key)) for key in ORDER)
PROFILE_STATUSES = (("failed", "failed"), ("pending", "pending"), ("would_assign", "would be assigned"),
                    ("assigned", "assigned"), ("already_assigned", "already assigned"),
                    ("not_registered", "not assigned (device not registered)"))


def _number(count):
    return "{0:,}".format(count)


def _attention(row):
    return kind(row.get("outcome")) in ("failed", "open") or row.get("profile_status") in ("failed", "pending")


def _urgency(row):
    """Failed batches first, then failed devices, failed profile assignments, pending devices and assignments."""
    if _batch_failure(row):
        return 0
    if is_failure(row.get("outcome")):
        return 1
    return 2 if row.get("profile_status") == "failed" else 3


def _counts(values, labels, always=()):
    found = []
    for key, label in labels:
        count = sum(1 for value in values if value == key)
        if count or key in always:
            found.append("%s %s" % (_number(count), label))
    others = sum(1 for value in values if value not in dict(labels))
    if others:
        found.append("%s other" % _number(others))
    return ", ".join(found)


def _plural(count, word):
    return "%s %s" % (_number(count), word if count == 1 else word + ("es" if word.endswith("ch") else "s"))


def _batch_failure(row):
    """A batch that failed as a whole is one row with status error and no device."""
    return row.get("status") == "error"


def _outcomes(rows, always=()):
    devices = [r for r in rows if not _batch_failure(r)]
    parts = [_counts([r.get("outcome") for r in devices], OUTCOMES, always)]
    failed_batches = len(rows) - len(devices)
    if failed_batches:
        parts.append("%s failed" % _plural(failed_batches, "batch"))
    return devices, "; ".join(part for part in parts if part)


def device_summary(rows, report="", limit=20, check_mode=False, undeclared=None):
    rows = list(rows or [])
    customers, order = {}, []
    for row in rows:
        key = str(row.get("customer_id") or "").strip().lower()
        if key not in customers:
            customers[key] = {"id": str(row.get("customer_id") or "").strip(), "name": "", "rows": []}
            order.append(key)
        customers[key]["name"] = customers[key]["name"] or str(row.get("customer_name") or "").strip()
        customers[key]["rows"].append(row)
    devices, text = _outcomes(rows, always=("failed",))
    lines = ["%s of %s: %s%s" % (_plural(len(devices), "device"), _plural(len(customers), "customer"), text,
                                 " (check mode: nothing was sent)" if check_mode else "")]
    statuses = [r.get("profile_status") for r in rows if r.get("profile_status")]
    if statuses:
        lines.append("profiles of %s: %s" % (_plural(len(statuses), "device"), _counts(statuses, PROFILE_STATUSES)))

    def label(customer):
        return "%s (%s)" % (customer["name"], customer["id"]) if customer["name"] else customer["id"]

    listed = [customers[key] for key in order]
    listed.sort(key=lambda c: (not any(_attention(r) for r in c["rows"]), not c["name"],
                               (c["name"] or c["id"]).lower()))
    troubled = [c for c in listed if any(_attention(r) for r in c["rows"])]
    calm = listed[len(troubled):]
    shown = calm if not limit or len(calm) <= limit else calm[:limit]
    if listed:
        lines.append("per customer:")
    for customer in troubled + shown:
        customer_devices, customer_text = _outcomes(customer["rows"])
        if customer_devices:
            customer_text = "%s - %s" % (_plural(len(customer_devices), "device"), customer_text)
        lines.append("  %s: %s" % (label(customer), customer_text))
    if len(shown) < len(calm):
        more = len(calm) - len(shown)
        lines.append("  ... and %s more customer%s without a failed or pending device (every customer at -v and in "
                     "the report)" % (_number(more), "" if more == 1 else "s"))
    attention = sorted((r for r in rows if _attention(r)), key=_urgency)
    if attention:
        lines.append("failed or needing attention (%s):" % _number(len(attention)))
        lines.extend("  " + str(r.get("line") or "") for r in attention)
    if undeclared:
        per_customer = {}
        for device in undeclared:
            named = customers.get(str(device.get("customer_id") or "").strip().lower(), {}).get("name")
            name = device.get("customer_name") or named or device.get("customer_id") or ""
            per_customer[name] = per_customer.get(name, 0) + 1
        lines.append("registered, declared nowhere: %s (%s)" % (_plural(len(undeclared), "device"), ", ".join(
            "%s %s" % (name, _number(count)) for name, count in sorted(per_customer.items()))))
    if report:
        lines.append("report: %s" % report)
    return lines


class FilterModule(object):
    def filters(self):
        return {"device_summary": device_summary}
