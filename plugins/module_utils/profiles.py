# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Autopilot profiles (Partner Center configuration policies of category o_o_b_e): their wire shape, how a
declared profile is found among a customer's, what differs, and the request bodies. Pure: no I/O, no Ansible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import DeviceValidationError, GUID_RE
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import lower_keys

CATEGORY = "o_o_b_e"
SETTINGS = ("remove_oem_preinstalls", "oobe_user_not_local_admin", "skip_express_settings",
            "skip_oem_registration", "skip_eula")
# Each upload and each assignment request carries at most this many devices (not published; our own cap).
MAX_DEVICES_PER_ASSIGNMENT = 500


class ProfileError(DeviceValidationError):
    """A profile reference that names no profile (missing: it may just not be listed yet), or several."""

    def __init__(self, errors, missing=False):
        super(ProfileError, self).__init__(errors)
        self.missing = missing


def profile_view(item):
    """A ConfigurationPolicy as the collection returns it. The count has two published names
    (devicesAssigned in every example, devicesAssignedCount in the tables and SDKs): either is read."""
    lowered = lower_keys(item)
    count = lowered.get("devicesassignedcount")
    if count is None:
        count = lowered.get("devicesassigned")
    return dict(id=lowered.get("id"), name=lowered.get("name"), description=lowered.get("description"),
                category=lowered.get("category"), settings=list(lowered.get("policysettings") or []),
                devices_assigned=count, created_date=lowered.get("createddate"),
                last_modified_date=lowered.get("lastmodifieddate"))


def setting_set(settings):
    """Settings compared as a set; the undocumented "none" entry sets nothing."""
    return frozenset(s for s in settings or [] if s != "none")


def autopilot_profiles(items):
    """The customer's policies as profiles. All of them: o_o_b_e is the only real category, and the .NET SDK
    and the PowerShell module create policies with category "none" - hidden, a namesake would be created."""
    return [profile_view(item) for item in items]


def same_id(one, other):
    return bool(one) and bool(other) and one.strip().lower() == other.strip().lower()


def carries(profile, value):
    """Does a listed device whose o_o_b_e policy value is `value` carry `profile`? The assignment sends the
    profile's id and the published listing would show it, but the service answered with the profile's name in
    recorded sessions (partnercenter-api.md, "Recorded answers"): either counts, case-insensitively."""
    return same_id(value, profile["id"]) or same_id(value, profile["name"])


def find_profile(profiles, customer_id, name=None, profile_id=None):
    """The profile a declaration means: by profile_id when given, else the one with that name; None when
    there is none. Several with the name and no id is an error listing their ids."""
    if profile_id:
        return next((p for p in profiles if same_id(p["id"], profile_id)), None)
    named = [p for p in profiles if p["name"] == name]
    if len(named) > 1:
        raise ProfileError(["customer %s has %d profiles named %r (ids %s): set profile_id to choose one"
                            % (customer_id, len(named), name, ", ".join(p["id"] for p in named))])
    return named[0] if named else None


def resolve(profiles, customer_id, reference):
    """The profile a device's `profile` (a name, or an id) names, or ProfileError."""
    if GUID_RE.match(reference.strip()):
        by_id = next((p for p in profiles if same_id(p["id"], reference)), None)
        if by_id is not None:
            return by_id
    found = find_profile(profiles, customer_id, name=reference)
    if found is None:
        known = ", ".join(sorted(repr(p["name"]) for p in profiles)) or "none"
        raise ProfileError(["profile %r is not a profile of customer %s (its profiles: %s)"
                            % (reference, customer_id, known)], missing=True)
    return found


def differences(existing, name, description, settings):
    """The declared fields that differ from the existing profile; None (not declared) leaves a field alone."""
    changed = []
    if name != existing["name"]:
        changed.append("name")
    if description is not None and description != (existing["description"] or ""):
        changed.append("description")
    if settings is not None and setting_set(settings) != setting_set(existing["settings"]):
        changed.append("settings")
    return changed


def declared(existing, name, description, settings):
    """The profile after the declaration is applied to existing (None: a new profile)."""
    base = existing or dict(id=None, description=None, settings=[], devices_assigned=0, created_date=None,
                            last_modified_date=None)
    out = dict(base, name=name, category=CATEGORY)
    if description is not None:
        out["description"] = description
    if settings is not None:
        out["settings"] = sorted(setting_set(settings))
    return out


def create_body(name, description, settings):
    body = {"name": name, "category": CATEGORY, "policySettings": sorted(setting_set(settings))}
    if description is not None:
        body["description"] = description
    return body


def update_body(profile):
    """PUT replaces the whole object: every field is sent, the ones not declared as they are now."""
    return {"id": profile["id"], "name": profile["name"], "category": CATEGORY,
            "description": profile["description"], "policySettings": list(profile["settings"])}


def assignment_body(pairs):
    """DevicePolicyUpdates for [(device id, profile id)]: camelCase (the service binds any casing)."""
    return {"devices": [{"id": device_id, "policies": [{"key": CATEGORY, "value": profile_id}]}
                        for device_id, profile_id in pairs]}


def public(profile):
    """The returned form of a profile."""
    return dict((k, profile.get(k)) for k in ("id", "name", "description", "settings", "devices_assigned",
                                              "created_date", "last_modified_date"))
