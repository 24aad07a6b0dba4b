# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The customer domain: reading Customer answers in any casing, the published filter, and resolving a customer
reference (tenant id, domain, exact company name) against the customer list."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.customers import (
    CustomerError, customer_view, is_tenant_id, resolve_all, resolve_customer, search_filter)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import InputError

CONTOSO = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
CONTOSO_CORP = "7b26b357-9ca3-48b8-a58e-4febe2662a5d"
CONTOSO_DEMO = "bfbd6ef0-311f-47ec-bbd7-0fcb7846661b"
FABRIKAM = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
NORTHWIND = "2b8a7d41-51e3-4c0e-9d8f-7a6b5c4d3e2f"
STRANGER = "0b8e2f4c-0000-4000-8000-000000000001"


def customer(tenant_id, domain, name, relationship="reseller"):
    """A Customer as partnercenter-api.md publishes it."""
    return {"id": tenant_id, "commerceId": "99e6a635-48e7-424d-9059-c9db944e3c54",
            "companyProfile": {"tenantId": tenant_id, "domain": domain, "companyName": name,
                               "attributes": {"objectType": "CustomerCompanyProfile"}},
            "relationshipToPartner": relationship, "allowDelegatedAccess": True,
            "attributes": {"objectType": "Customer"}}


CUSTOMERS = [
    customer(CONTOSO, "contoso.onmicrosoft.com", "Contoso Pharma"),
    customer(FABRIKAM, "fabrikam.onmicrosoft.com", "Fabrikam"),
    customer(NORTHWIND, "northwindtraders.onmicrosoft.com", "Northwind Traders"),
    customer(CONTOSO_CORP, "ContosoCorpCo.onmicrosoft.com", "Contoso Corp"),
]


# ----- customer_view ----------------------------------------------------------------------------------------
def test_view_of_the_published_customer():
    assert customer_view(CUSTOMERS[0]) == {"id": CONTOSO, "tenant_id": CONTOSO, "domain": "contoso.onmicrosoft.com",
                                           "company_name": "Contoso Pharma", "relationship": "reseller"}


def test_view_reads_any_casing_and_is_idempotent():
    pascal = {"Id": CONTOSO, "CompanyProfile": {"TenantId": CONTOSO, "Domain": "contoso.onmicrosoft.com",
                                                "CompanyName": "Contoso"}, "RelationshipToPartner": "Reseller"}
    lower = json.loads(json.dumps(pascal).lower().replace(CONTOSO.lower(), CONTOSO))
    view = customer_view(pascal)
    assert view == {"id": CONTOSO, "tenant_id": CONTOSO, "domain": "contoso.onmicrosoft.com",
                    "company_name": "Contoso", "relationship": "reseller"}
    assert customer_view(lower)["tenant_id"] == CONTOSO and customer_view(lower)["domain"] == view["domain"]
    assert customer_view(view) == view


def test_view_tolerates_missing_parts():
    assert customer_view({"companyProfile": {"tenantId": CONTOSO}}) == {
        "id": CONTOSO, "tenant_id": CONTOSO, "domain": None, "company_name": None, "relationship": None}
    assert customer_view({"id": CONTOSO, "companyProfile": None}) == {
        "id": CONTOSO, "tenant_id": CONTOSO, "domain": None, "company_name": None, "relationship": None}
    assert customer_view(None) == {"id": None, "tenant_id": None, "domain": None, "company_name": None,
                                   "relationship": None}
    # Flat spellings (no companyProfile) and the SDK's enum names.
    assert customer_view({"tenantId": CONTOSO, "domain": " d.example ", "companyName": "C",
                          "relationshipToPartner": "IndirectReseller"}) == {
        "id": CONTOSO, "tenant_id": CONTOSO, "domain": "d.example", "company_name": "C",
        "relationship": "indirect_reseller"}


# ----- the filter -------------------------------------------------------------------------------------------
def test_search_filter_is_the_published_json():
    assert search_filter("company_name", "Cont") == '{"Field":"CompanyName","Value":"Cont","Operator":"starts_with"}'
    assert json.loads(search_filter("domain", 'a "b"')) == {"Field": "Domain", "Value": 'a "b"',
                                                            "Operator": "starts_with"}
    with pytest.raises(ValueError):
        search_filter("tenant_id", "x")


def test_is_tenant_id():
    assert is_tenant_id(CONTOSO) and is_tenant_id(" %s " % CONTOSO.upper())
    assert not is_tenant_id("contoso.onmicrosoft.com") and not is_tenant_id(None) and not is_tenant_id(CONTOSO[:-1])


# ----- resolve_customer -------------------------------------------------------------------------------------
@pytest.mark.parametrize("reference", [
    CONTOSO, CONTOSO.upper(), " %s " % CONTOSO,
    "contoso.onmicrosoft.com", "CONTOSO.onmicrosoft.COM",
    "Contoso Pharma", "contoso pharma", "  CONTOSO PHARMA ",
])
def test_resolves_tenant_id_domain_and_exact_company_name_ignoring_case(reference):
    assert resolve_customer(reference, CUSTOMERS) == customer_view(CUSTOMERS[0])


def test_resolves_against_views_too():
    views = [customer_view(c) for c in CUSTOMERS]
    assert resolve_customer("fabrikam", views)["tenant_id"] == FABRIKAM
    assert resolve_customer("contosocorpco.onmicrosoft.com", views)["company_name"] == "Contoso Corp"


@pytest.mark.parametrize("reference", [STRANGER, "wingtip.onmicrosoft.com", "Wingtip Toys"])
def test_unknown_is_not_a_customer_of_this_partner(reference):
    with pytest.raises(CustomerError) as caught:
        resolve_customer(reference, CUSTOMERS)
    assert caught.value.errors == ["customer '%s' is not a customer of this partner: no tenant id, domain or "
                                   "company name matches" % reference]
    assert str(caught.value) == "Invalid input: " + caught.value.errors[0] and isinstance(caught.value, InputError)


def test_a_prefix_of_one_is_not_enough_but_is_suggested():
    with pytest.raises(CustomerError) as caught:
        resolve_customer("North", CUSTOMERS)
    assert caught.value.errors == ["customer 'North' is not a customer of this partner: no tenant id, domain or "
                                   "company name matches (did you mean Northwind Traders "
                                   "(northwindtraders.onmicrosoft.com)?)"]


def test_a_prefix_of_several_lists_the_candidates_with_name_and_domain():
    with pytest.raises(CustomerError) as caught:
        resolve_customer("contoso", CUSTOMERS)
    [message] = caught.value.errors
    assert message == ("customer 'contoso' is not the exact company name, domain or tenant id of any customer, but "
                       "it begins those of 2: Contoso Pharma (contoso.onmicrosoft.com), Contoso Corp "
                       "(ContosoCorpCo.onmicrosoft.com); name one exactly")


def test_many_candidates_are_counted_after_ten():
    many = [customer("00000000-0000-4000-8000-%012d" % i, "t%02d.example" % i, "Tailspin %02d" % i)
            for i in range(14)]
    with pytest.raises(CustomerError) as caught:
        resolve_customer("tail", many)
    assert "begins those of 14: Tailspin 00 (t00.example)" in str(caught.value)
    assert "Tailspin 09 (t09.example) and 4 more; name one exactly" in str(caught.value)
    assert "Tailspin 10" not in str(caught.value)


def test_an_exact_name_shared_by_several_names_them():
    # The published filter example lists two customers named Contoso.
    twins = CUSTOMERS + [customer(CONTOSO_DEMO, "contosocorpdemo.onmicrosoft.com", "Contoso Corp")]
    with pytest.raises(CustomerError) as caught:
        resolve_customer("contoso corp", twins)
    assert caught.value.errors == [
        "customer 'contoso corp' is the company name of 2 customers: Contoso Corp (ContosoCorpCo.onmicrosoft.com), "
        "Contoso Corp (contosocorpdemo.onmicrosoft.com); name one by its tenant id or its domain"]
    assert resolve_customer("contosocorpdemo.onmicrosoft.com", twins)["tenant_id"] == CONTOSO_DEMO


def test_an_exact_match_wins_over_prefixes():
    # "Contoso" begins "Contoso Pharma" and "Contoso Corp", but it is one customer's exact name.
    plain = CUSTOMERS + [customer(CONTOSO_DEMO, "contosoltd.onmicrosoft.com", "Contoso")]
    assert resolve_customer("CONTOSO", plain)["tenant_id"] == CONTOSO_DEMO
    # A domain is matched before a company name.
    odd = CUSTOMERS + [customer(CONTOSO_DEMO, "fabrikam", "Fabrikam Two")]
    assert resolve_customer("Fabrikam", odd)["tenant_id"] == CONTOSO_DEMO


@pytest.mark.parametrize("reference", ["", "   ", None, 5])
def test_an_empty_reference_is_an_error(reference):
    with pytest.raises(CustomerError) as caught:
        resolve_customer(reference, CUSTOMERS)
    assert caught.value.errors[0].startswith("customer must not be empty: give a tenant id, a domain or an exact "
                                             "company name")


def test_an_empty_list_knows_nobody():
    for customers in ([], None):
        with pytest.raises(CustomerError):
            resolve_customer(CONTOSO, customers)


# ----- resolve_all ------------------------------------------------------------------------------------------
def test_resolve_all_maps_every_reference_as_given():
    refs = [CONTOSO.upper(), "fabrikam.onmicrosoft.com", "northwind traders", "fabrikam.onmicrosoft.com"]
    resolved = resolve_all(refs, CUSTOMERS)
    assert sorted(resolved) == sorted(set(refs))
    assert [resolved[r]["tenant_id"] for r in refs] == [CONTOSO, FABRIKAM, NORTHWIND, FABRIKAM]
    assert resolve_all([], CUSTOMERS) == {}


def test_resolve_all_raises_one_error_listing_every_problem():
    with pytest.raises(CustomerError) as caught:
        resolve_all(["Fabrikam", STRANGER, "contoso", "", STRANGER, "wingtip"], CUSTOMERS)
    errors = caught.value.errors
    assert len(errors) == 4  # the unknown tenant is named once
    assert errors[0].startswith("customer '%s' is not a customer of this partner" % STRANGER)
    assert errors[1].startswith("customer 'contoso' is not the exact company name")
    assert errors[2].startswith("customer must not be empty")
    assert errors[3].startswith("customer 'wingtip' is not a customer of this partner")
    assert str(caught.value) == "Invalid input: " + "; ".join(errors)
