# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One declared Autopilot profile brought to its state over the service (the profile module's work): 0 writes
when it already is, and a create or update whose answer was lost read back before it is sent again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    OutcomeUnknownError, PartnerCenterError)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.profiles import (
    ProfileError, create_body, declared, differences, find_profile, public, same_id, update_body)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.waiting import (
    LISTING_GRACE, MAX_RESOLUTIONS, resolve_lost)


def ensure_profile(service, p, check_mode, clock):
    """Bring one declared profile (module options p) to its state: 0 writes when it already is.

    Returns the module's result. A write whose answer was lost is resolved by reading the profiles again
    (within a grace period for a request still on its way) before it is sent once more.
    """
    customer = p["customer_id"].strip()
    before = find_profile(service.list_profiles(customer), customer, p["name"], p["profile_id"])
    if p["profile_id"] and before is None and p["state"] == "present":
        raise ProfileError(["customer %s has no profile with id %s" % (customer, p["profile_id"])])
    result = dict(changed=False, profile=public(before) if before else None)
    if p["state"] == "absent":
        if before is None:
            return result
        assigned = before["devices_assigned"]
        if not p["force"] and assigned != 0:
            raise ProfileError(["profile %r (%s) of customer %s is assigned to %s devices: they would lose it "
                                "(what the service does then is not published); set force: true to delete it "
                                "anyway" % (before["name"], before["id"], customer,
                                            "an unreported number of" if assigned is None else assigned)])
        result.update(changed=True, profile=None, diff=dict(before=public(before), after={}))
        if not check_mode:
            service.delete_profile(customer, before["id"])
        return result
    if before is not None and not differences(before, p["name"], p["description"], p["settings"]):
        return result
    after = declared(before, p["name"], p["description"], p["settings"])
    result.update(changed=True, profile=public(after), diff=dict(before=public(before) if before else {},
                                                                 after=public(after)))
    if check_mode:
        return result

    def landed(profiles):
        if before is None:
            new = [x for x in profiles if x["name"] == p["name"] and not differences(
                x, p["name"], p["description"], p["settings"] if p["settings"] is not None else [])]
            return new[0] if new else None
        now = next((x for x in profiles if same_id(x["id"], before["id"])), None)
        return now if now is not None and not differences(now, p["name"], p["description"], p["settings"]) else None

    for _attempt in range(MAX_RESOLUTIONS):
        try:
            if before is None:
                written = service.create_profile(customer, create_body(p["name"], p["description"], p["settings"]))
            else:
                written = service.update_profile(customer, before["id"], update_body(after))
            result["profile"] = public(written)
            return result
        except OutcomeUnknownError:
            # A profile written moments ago may be listed only after a while: sending it again before then
            # would make a namesake that fails every later run on the name clash.
            found = resolve_lost(lambda: landed(service.list_profiles(customer)), lambda x: x is not None, clock,
                                 LISTING_GRACE, 2.0)
            if found is not None:
                result["profile"] = public(found)
                return result
    raise PartnerCenterError("writing profile %r of customer %s kept losing its answer; run again"
                             % (p["name"], customer))
