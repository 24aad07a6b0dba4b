# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.outcomes import NOT_SENT, is_open, kind

DOCUMENTATION = r'''
name: device_report
short_description: One report row per device from upload results and the jobs waited for
version_added: 0.1.0
description:
  - Takes the RV(partnercenter.autopilot.partnercenter_device_batch#module:batches) of a
    P(partnercenter.autopilot.partnercenter_device_batch#module) task run with
    O(partnercenter.autopilot.partnercenter_device_batch#module:batches), or the C(results) of a looped one,
    and returns one row per device with the outcome the module gave it (the C(outcome) of each entry of the
    result's C(devices); nothing is guessed here).
  - For uploads run with O(partnercenter.autopilot.partnercenter_device_batch#module:wait=false) (devices
    C(submitted)) or whose jobs outlasted C(wait_timeout) (C(pending)), pass the
    RV(partnercenter.autopilot.partnercenter_batch_job_status_info#module:jobs) read later as O(jobs) - those
    devices then take their job's outcome (C(registered), C(already_present) or C(failed)).
  - A failed batch gives a row of its own with the error (status C(error)), before the rows of its devices that
    were sent; the devices its failure kept from being sent (status C(not sent)) have no rows of their own - they
    are listed in that row's C(not_sent) (which the CSV leaves out and the HTML report shows under the batch), so
    the batch is still counted once and no device twice.
  - Devices with a declared Autopilot profile get its name and assignment status, from the batch result's
    C(profile_assignments) (joined by serial number, else product key) or else from the C(profile) and
    C(profile_status) of the device's entry in C(devices). A device whose profile assignment failed keeps its
    registration outcome; its C(line) names the profile failure. Results without these keys (no profile, or
    from an older version of the module) give empty profile columns.
  - With O(customer_names), each row carries its customer's display name, which its C(line) shows in place of
    the customer id.
  - Building the rows in Python keeps a report of ten thousand devices to a fraction of a second.
options:
  _input:
    description:
      - The RV(partnercenter.autopilot.partnercenter_device_batch#module:batches) of a
        P(partnercenter.autopilot.partnercenter_device_batch#module) task, or the C(results) of a looped one.
    type: list
    elements: dict
    required: true
  jobs:
    description: The RV(partnercenter.autopilot.partnercenter_batch_job_status_info#module:jobs) waited for.
    type: list
    elements: dict
    default: []
  check_mode:
    description: Ignored, kept for playbooks that pass it (each device's outcome says C(would_add) itself).
    type: bool
    default: false
  customer_names:
    description:
      - Display names by customer id, for example from the inventory's C(partnercenter_customer_name) host
        variables. Customer ids are matched case-insensitively.
    type: dict
    default: {}
'''

EXAMPLES = r'''
- name: One row per device of a task run with batches
  ansible.builtin.set_fact:
    rows: "{{ uploads.batches | partnercenter.autopilot.device_report(check_mode=ansible_check_mode) }}"

- name: One row per device of looped uploads (wait=false) and the status task that waited for their jobs
  ansible.builtin.set_fact:
    rows: "{{ uploads.results | partnercenter.autopilot.device_report(waited.jobs | default([]), ansible_check_mode) }}"

- name: Rows that name each customer
  ansible.builtin.set_fact:
    rows: >-
      {{ uploads.batches | partnercenter.autopilot.device_report(
           customer_names={'3f2504e0-4f89-11d3-9a0c-0305e82c3301': 'Contoso Ltd'}) }}
'''

RETURN = r'''
_value:
  description: One row per device.
  type: list
  elements: dict
  contains:
    customer_id:
      description: The customer.
      type: str
    customer_name:
      description: The customer's display name from O(customer_names), or an empty string.
      type: str
    batch_id:
      description: The batch.
      type: str
    serial_number:
      description: Serial number, or an empty string.
      type: str
    product_key:
      description: Product key, or an empty string.
      type: str
    outcome:
      description:
        - The device's outcome, from the module's closed set - C(registered), C(already_present), C(recovered),
          C(submitted), C(pending), C(failed), C(refused), C(would_add), C(would_remove), C(removed) - or C(failed)
          for the row of a failed batch.
      type: str
    status:
      description: The job status of the device, C(error) for a failed task, C(not sent) in check mode.
      type: str
    error_code:
      description: Partner Center's error code, or an empty string.
      type: str
    error_description:
      description: Partner Center's error name, or an empty string.
      type: str
    explanation:
      description: What happened and what to do.
      type: str
    profile:
      description: The name of the device's declared Autopilot profile (its id when the name is unknown), or an
        empty string.
      type: str
    profile_status:
      description:
        - The profile assignment - C(assigned) (by this run), C(already_assigned), C(would_assign) (check mode),
          C(failed), C(pending), C(not_registered) (the device itself did not register), or an empty string
          when no profile is declared.
      type: str
    profile_error:
      description: Why the profile assignment failed (Partner Center's error name and what to do), or an empty
        string.
      type: str
    line:
      description: The row as one line of text (the customer's name, else its id, then the batch and the device);
        a failed profile assignment is appended.
      type: str
    not_sent:
      description:
        - Only in the row of a failed batch - the devices its failure kept from being sent, each with its
          C(serial_number), C(product_key), C(outcome) (C(failed), or C(refused) when the batch was refused for its
          input), C(error_code), C(error_description), C(explanation) (the reason) and C(profile); an empty list when
          none was declared or reached.
      type: list
      elements: dict
'''


def _profile_error(assignment):
    description, explanation = assignment.get("error_description"), assignment.get("explanation")
    if description and explanation:
        return "%s (%s)" % (description, explanation)
    return description or explanation or assignment.get("error_code") or ""


def _row(res, dev, outcome, status, explanation, error_code=None, error_description=None, assignment=None,
         names=None):
    item = res.get("item") or res  # a loop result holds its batch in item
    customer, batch = item.get("customer_id", ""), item.get("batch_id", "")
    customer_name = (names or {}).get(str(customer).strip().lower()) or res.get("customer_name") or ""
    serial, key = (dev.get("serial_number") or "", dev.get("product_key") or "") if dev else ("", "")
    name = serial or key or ("hash-only device" if dev else "")
    if error_description:
        detail = " - %s (%s)" % (error_description, explanation)
    elif explanation and outcome not in ("already_present", "registered"):
        detail = " - %s" % explanation
    else:
        detail = ""
    assignment = assignment or {}
    profile = assignment.get("profile") or assignment.get("profile_id") or ""
    profile_status = assignment.get("status") or ""
    profile_error = _profile_error(assignment) if profile_status == "failed" else ""
    if profile_status == "failed":
        detail += "; profile %s: failed%s" % (profile, " - " + profile_error if profile_error else "")
    return {"customer_id": customer, "customer_name": customer_name, "batch_id": batch, "serial_number": serial,
            "product_key": key,
            "outcome": outcome, "status": status or ("not sent" if kind(outcome) == "planned" else ""),
            "error_code": error_code or "",
            "error_description": error_description or "", "explanation": explanation or "",
            "profile": str(profile), "profile_status": str(profile_status), "profile_error": profile_error,
            "line": "%s / %s%s: %s%s" % (customer_name or customer, batch, " " + name if name else "",
                                         outcome.replace("_", " "), detail)}


def _not_sent(dev):
    """A device of a failed batch that was never sent, as its batch's row lists it (with the reason)."""
    return dict((key, "" if dev.get(key) is None else str(dev.get(key))) for key in (
        "serial_number", "product_key", "outcome", "error_code", "error_description", "explanation", "profile"))


def _identity(dev):
    return dev.get("serial_number") or dev.get("product_key")


def _join_keys(dev):
    """A device is joined to its job's entry by serial number, else product key."""
    return [key for key in (("serial", dev.get("serial_number")), ("key", dev.get("product_key"))) if key[1]]


def _assignments(res):
    """The batch's profile assignments by device identity (devices without a serial number or product key
    cannot be joined)."""
    by_identity = {}
    for assignment in res.get("profile_assignments") or []:
        identity = _identity(assignment)
        if identity and identity not in by_identity:
            by_identity[identity] = assignment
    return by_identity


def _assignment(assignments, dev):
    """The device's profile assignment: from profile_assignments, else from the device entry's own keys."""
    found = assignments.get(_identity(dev))
    if found is not None:
        return found
    if dev.get("profile") or dev.get("profile_status"):
        return {"profile": dev.get("profile"), "status": dev.get("profile_status")}
    return None


def _names(customer_names):
    """Display names by lower-cased customer id; empty names are left out."""
    return dict((str(customer).strip().lower(), str(name).strip()) for customer, name in (customer_names or {}).items()
                if name is not None and str(name).strip())


def device_report(results, jobs=None, check_mode=False, customer_names=None):
    """check_mode is kept for playbooks that pass it: each device's outcome already says would_add."""
    del check_mode
    names = _names(customer_names)
    by_batch = {}
    for job in jobs or []:
        by_batch.setdefault((job.get("customer_id"), job.get("batch_id")), []).append(job)
    rows = []
    for res in results or []:
        item = res.get("item") or res
        assignments = _assignments(res)
        devices = res.get("devices") or []
        if res.get("failed"):  # the batch's own row: what failed it, counted as a batch, not as a device
            row = _row(res, None, "failed", "error", res.get("msg") or "failed", names=names)
            row["not_sent"] = [_not_sent(dev) for dev in devices if dev.get("status") == NOT_SENT]
            rows.append(row)
        # A device submitted (wait: false) or pending takes the outcome of its job read in another task.
        later = {}
        for job in by_batch.get((item.get("customer_id"), item.get("batch_id")), []):
            for dev in job.get("devices") or []:
                for key in _join_keys(dev):  # an entry naming neither (a hash-only device) joins no device
                    later.setdefault(key, dev)
        for dev in devices:
            if res.get("failed") and dev.get("status") == NOT_SENT:
                continue  # the batch's row says why none of them was sent
            found = next((later[key] for key in _join_keys(dev) if key in later), None)
            if is_open(dev.get("outcome")) and found is not None:
                dev = dict(found, profile=dev.get("profile"), profile_status=dev.get("profile_status"))
            rows.append(_row(res, dev, dev.get("outcome"), dev.get("status"), dev.get("explanation"),
                             dev.get("error_code"), dev.get("error_description"), _assignment(assignments, dev),
                             names=names))
    return rows


class FilterModule(object):
    def filters(self):
        return {"device_report": device_report}
