# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The partner's customers as the collection names them, no I/O: the customer view of a Customer answer, the
list filter the API publishes, and resolving a customer reference (tenant id, domain or exact company name)
against the customer list."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import InputError

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# GET /v1/customers?filter=: the CustomerSearchField each view field is searched by; starts_with is the only
# operator (partnercenter-api.md, "Customers").
SEARCH_FIELDS = {"domain": "Domain", "company_name": "CompanyName"}
SEARCH_OPERATOR = "starts_with"
MAX_CANDIDATES = 10  # candidates named in one error; the rest are counted


class CustomerError(InputError):
    """Customer references that do not resolve, all of them at once (errors: one sentence each)."""


def is_tenant_id(value):
    return isinstance(value, str) and bool(GUID_RE.match(value.strip()))


def _fields(mapping):
    """A wire object's keys folded: any casing, with or without underscores (tenantId, TenantId, tenant_id)."""
    if not isinstance(mapping, dict):
        return {}
    return dict((k.lower().replace("_", ""), v) for k, v in mapping.items() if isinstance(k, str))


def _text(value):
    return value.strip() if isinstance(value, str) and value.strip() else None


def _relationship(value):
    """reseller, advisor, ... as the service writes them; PascalCase (the SDK's enum names) read the same."""
    text = _text(value)
    if text is None:
        return None
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()


def customer_view(item):
    """{id, tenant_id, domain, company_name, relationship} of a Customer answer (or of a view: idempotent).

    The tenant id is the Customer's id, else its companyProfile's tenantId; domain and company name come from
    the companyProfile, else from the object itself. Missing fields are None.
    """
    fields = _fields(item)
    profile = _fields(fields.get("companyprofile"))
    tenant_id = _text(profile.get("tenantid")) or _text(fields.get("tenantid")) or _text(fields.get("id"))
    customer_id = _text(fields.get("id")) or tenant_id
    return {
        "id": customer_id,
        "tenant_id": tenant_id,
        "domain": _text(profile.get("domain")) or _text(fields.get("domain")),
        "company_name": _text(profile.get("companyname")) or _text(fields.get("companyname")),
        "relationship": _relationship(fields.get("relationshiptopartner") or fields.get("relationship")),
    }


def search_filter(field, value):
    """The filter query value for a starts_with search on field (domain | company_name), as JSON text; the
    caller URL-encodes it. The keys in the published order: Field, Value, Operator."""
    if field not in SEARCH_FIELDS:
        raise ValueError("a customer search is by %s, not %r" % (" or ".join(sorted(SEARCH_FIELDS)), field))
    return json.dumps({"Field": SEARCH_FIELDS[field], "Value": value, "Operator": SEARCH_OPERATOR},
                      separators=(",", ":"))


def starts_with(view, field, prefix):
    """What the service's starts_with does: a prefix of the field, ignoring case."""
    value = view.get(field)
    return isinstance(value, str) and value.lower().startswith(prefix.lower())


def describe(view):
    """A customer as errors name it: company name (domain), else whichever is known."""
    name, domain = view.get("company_name"), view.get("domain")
    if name and domain:
        return "%s (%s)" % (name, domain)
    return name or domain or view.get("tenant_id") or view.get("id") or "?"


def _listed(views):
    shown = ", ".join(describe(v) for v in views[:MAX_CANDIDATES])
    more = len(views) - MAX_CANDIDATES
    return shown + (" and %d more" % more if more > 0 else "")


def _views(customers):
    return [customer_view(item) for item in customers or []]


class CustomerIndex(object):
    """The customer list read once, indexed by tenant id, domain and company name (lower-cased): each look-up is
    a dictionary's, so resolving 2,000 batches' customers stays linear; only a name that matches nothing exactly
    scans the list for candidates."""

    def __init__(self, customers):
        self.views = _views(customers)
        self.by = {}
        for view in self.views:
            for field in ("id", "tenant_id", "domain", "company_name"):
                if isinstance(view[field], str) and view[field].strip():
                    entries = self.by.setdefault((field, view[field].strip().lower()), [])
                    if view not in entries:
                        entries.append(view)

    def exact(self, field, text):
        return self.by.get((field, text.strip().lower()), [])

    def resolve(self, reference):
        """The view reference names, or CustomerError (see resolve_customer)."""
        view, problem = _resolve(reference, self)
        if problem:
            raise CustomerError([problem])
        return view


def _resolve(reference, index):
    """(view, None) or (None, the one problem with reference)."""
    views = index.views
    if not isinstance(reference, str) or not reference.strip():
        return None, "customer must not be empty: give a tenant id, a domain or an exact company name, got %r" % (
            reference,)
    text = reference.strip()
    if is_tenant_id(text):
        found = index.exact("tenant_id", text) or index.exact("id", text)
        if found:
            return found[0], None
        return None, ("customer '%s' is not a customer of this partner: no tenant id, domain or company name "
                      "matches" % text)
    for field, what in (("domain", "domain"), ("company_name", "company name")):
        found = index.exact(field, text)
        if len(found) == 1:
            return found[0], None
        if found:
            return None, ("customer '%s' is the %s of %d customers: %s; name one by its tenant id%s"
                          % (text, what, len(found), _listed(found),
                             " or its domain" if field == "company_name" else ""))
    candidates = [v for v in views if starts_with(v, "company_name", text) or starts_with(v, "domain", text)]
    if len(candidates) > 1:
        return None, ("customer '%s' is not the exact company name, domain or tenant id of any customer, but it "
                      "begins those of %d: %s; name one exactly" % (text, len(candidates), _listed(candidates)))
    message = "customer '%s' is not a customer of this partner: no tenant id, domain or company name matches" % text
    if candidates:
        message += " (did you mean %s?)" % describe(candidates[0])
    return None, message


def resolve_customer(reference, customers):
    """The customer view a reference names: a tenant id (GUID), a domain or an exact company name, all compared
    ignoring case, against customers (Customer answers or views). CustomerError when it names none, or several."""
    return CustomerIndex(customers).resolve(reference)


def resolve_all(references, customers):
    """{reference: view} for every reference (as given); one CustomerError listing every one that does not
    resolve. The customer list is read once by the caller and serves them all."""
    index = CustomerIndex(customers)
    resolved, problems = {}, []
    for reference in references:
        view, problem = _resolve(reference, index)
        if problem:
            if problem not in problems:
                problems.append(problem)
        else:
            resolved[reference] = view
    if problems:
        raise CustomerError(problems)
    return resolved
