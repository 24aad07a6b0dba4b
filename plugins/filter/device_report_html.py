# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: device_report_html
short_description: Report rows as an HTML page
version_added: 0.1.0
description:
  - Turns the rows of P(partnercenter.autopilot.device_report#filter) into a self-contained HTML page - counts
    per outcome, then one table row per device (failed devices first, then devices whose profile assignment
    failed, then pending ones), every value HTML-escaped.
  - The columns are customer, batch, serial number, product key, outcome, error, what to do, profile and
    profile status (with the reason when the assignment failed). When any device has a profile, the counts
    include how many profiles were assigned (or already were, or would be) and how many failed.
  - Written in Python because a Jinja loop over ten thousand rows takes seconds.
options:
  _input:
    description: Rows from P(partnercenter.autopilot.device_report#filter).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Write the report
  ansible.builtin.copy:
    content: "{{ rows | partnercenter.autopilot.device_report_html }}"
    dest: reports/autopilot-report.html
    mode: "0644"
'''

RETURN = r'''
_value:
  description: The HTML document.
  type: str
'''

from html import escape

HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Autopilot device registration report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; }
.counts span { display: inline-block; margin-right: 1.5rem; padding: .4rem .8rem; border-radius: .3rem; background: #eef; }
.counts .failed { background: #fdd; }
table { border-collapse: collapse; margin-top: 1rem; width: 100%; }
th, td { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; font-size: .9rem; }
tr.failed td { background: #fff0f0; }
tr.registered td { background: #f0fff0; }
td.profile-failed { background: #fdd; }
</style>
</head>
<body>
<h1>Autopilot device registration report</h1>
"""
TABLE_HEAD = ("<table>\n<thead><tr><th>customer</th><th>batch</th><th>serial number</th><th>product key</th>"
              "<th>outcome</th><th>error</th><th>what to do</th><th>profile</th><th>profile status</th></tr></thead>\n"
              "<tbody>\n")
TAIL = "</tbody>\n</table>\n</body>\n</html>\n"
COUNTS = (("devices", None, ""), ("registered", ("registered",), ""),
          ("already present", ("already_present",), ""), ("failed", ("failed",), ' class="failed"'),
          ("pending", ("pending", "would_add"), ""))
PROFILE_COUNTS = (("profiles assigned", ("assigned", "already_assigned", "would_assign"), ""),
                  ("profiles failed", ("failed",), ' class="failed"'))

ORDER = dict((outcome, rank) for rank, outcome in enumerate(
    ("failed", "profile_failed", "pending", "would_add", "registered", "already_present")))


def _rank(row):
    if row.get("profile_status") == "failed" and row.get("outcome") != "failed":
        return ORDER["profile_failed"]
    return ORDER.get(row.get("outcome"), len(ORDER))


def _text(row, key):
    value = row.get(key)
    return escape("" if value is None else str(value))


def device_report_html(rows):
    rows = list(rows or [])
    outcomes = [row.get("outcome") for row in rows]
    parts = [HEAD, '<p class="counts">\n']
    for label, wanted, attrs in COUNTS:
        count = len(outcomes) if wanted is None else sum(1 for o in outcomes if o in wanted)
        parts.append("<span%s>%s: %d</span>\n" % (attrs, label, count))
    profile_statuses = [row.get("profile_status") for row in rows if row.get("profile_status")]
    if profile_statuses:
        for label, wanted, attrs in PROFILE_COUNTS:
            parts.append("<span%s>%s: %d</span>\n" % (attrs, label, sum(1 for s in profile_statuses if s in wanted)))
    parts.append("</p>\n")
    parts.append(TABLE_HEAD)
    for row in sorted(rows, key=_rank):  # stable within a rank
        error = _text(row, "error_description") + (" (%s)" % _text(row, "error_code") if row.get("error_code") else "")
        profile_status, profile_attrs = _text(row, "profile_status"), ""
        if row.get("profile_status") == "failed":
            profile_attrs = ' class="profile-failed"'
            if row.get("profile_error"):
                profile_status += " - " + _text(row, "profile_error")
        parts.append('<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                     '<td>%s</td><td%s>%s</td></tr>\n'
                     % (_text(row, "outcome"), _text(row, "customer_id"), _text(row, "batch_id"),
                        _text(row, "serial_number"), _text(row, "product_key"), _text(row, "outcome"),
                        error, _text(row, "explanation"), _text(row, "profile"), profile_attrs, profile_status))
    parts.append(TAIL)
    return "".join(parts)


class FilterModule(object):
    def filters(self):
        return {"device_report_html": device_report_html}
