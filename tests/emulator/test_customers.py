"""The emulator's customer endpoints (partnercenter-api.md, "Customers"; docs/emulator.md, "Customers"):
the list, paged like a device listing in every answer mode, its starts_with filter, a customer by id, and the
registry behind them (defaults, add_customer, customers known from other requests)."""
import json
import uuid
from urllib.parse import quote

import pytest

from tests.emulator.server import DEFAULT_CUSTOMERS, generated_customer
from tests.emulator.test_emulator import CUSTOMER, PerRequestVerify, generic_error, user_token
from tests.helpers import CUSTOMER as HELPERS_CUSTOMER, CUSTOMER_B

CUSTOMER_FIELDS = {"id", "commerceId", "companyProfile", "relationshipToPartner", "allowDelegatedAccess",
                   "attributes"}
NEW = "0b8e2f4c-0000-4000-8000-000000000001"


class Pc:
    """GET /v1/... with a user token; path is below /v1 and may carry a query."""

    def __init__(self, emu):
        self.emu, self.token = emu, user_token(emu)
        self.session = PerRequestVerify(emu.ca_path)

    def get(self, path, headers=None):
        hdrs = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        hdrs.update(headers or {})
        return self.session.get(self.emu.url + "/v1" + path, headers=hdrs)

    def follow(self, link):
        """A links.next as given: its relative URI (no /v1) with its query, and its headers."""
        return self.get(link["uri"], {h["key"]: h["value"] for h in link["headers"]})

    def pages(self, path, how="link"):
        """Every page of a listing: following links.next (how="link") or sending the top-level token back."""
        pages = [self.get(path)]
        while True:
            assert pages[-1].status_code == 200, pages[-1].text
            body = pages[-1].json()
            if how == "link":
                link = body.get("links", {}).get("next")
                if not link:
                    return pages
                pages.append(self.follow(link))
            else:
                token = body.get("continuationToken")
                if not token:
                    return pages
                pages.append(self.get(path, {"MS-ContinuationToken": token}))


@pytest.fixture
def pc(emulator):
    return Pc(emulator)


def names(pages):
    return [c["companyProfile"]["companyName"] for p in pages for c in p.json()["items"]]


def search(field, value, operator="starts_with"):
    """The filter as the published example sends it: compact JSON, URL-encoded."""
    spec = json.dumps({"Field": field, "Value": value, "Operator": operator}, separators=(",", ":"))
    return quote(spec, safe="")


def add_many(emulator, count, prefix="Tailspin"):
    ids = []
    for i in range(count):
        tenant = str(uuid.uuid5(uuid.NAMESPACE_DNS, "%s-%d.example" % (prefix, i)))
        emulator.add_customer(tenant, "%s%03d.onmicrosoft.com" % (prefix.lower(), i), "%s %03d" % (prefix, i))
        ids.append(tenant)
    return ids


# ----- the registry ---------------------------------------------------------------------------------------
def test_defaults_are_the_example_inventorys_tenants_and_the_tests_customers(emulator, pc):
    assert CUSTOMER == HELPERS_CUSTOMER
    body = pc.get("/customers?size=50").json()
    assert [(c["id"], c["companyProfile"]["domain"], c["companyProfile"]["companyName"]) for c in body["items"]] == [
        tuple(d) for d in DEFAULT_CUSTOMERS]
    assert {c["id"] for c in body["items"]} >= {CUSTOMER, CUSTOMER_B}
    assert emulator.customer_list() == body["items"]
    assert emulator.writes() == []


def test_answers_the_published_customer_shape(emulator, pc):
    answer = pc.get("/customers/" + CUSTOMER).json()
    assert set(answer) == CUSTOMER_FIELDS
    assert answer == {
        "id": CUSTOMER, "commerceId": answer["commerceId"],
        "companyProfile": {"tenantId": CUSTOMER, "domain": "contoso.onmicrosoft.com", "companyName": "Contoso",
                           "attributes": {"objectType": "CustomerCompanyProfile"}},
        "relationshipToPartner": "reseller", "allowDelegatedAccess": True, "attributes": {"objectType": "Customer"}}
    uuid.UUID(answer["commerceId"])
    assert answer["commerceId"] != CUSTOMER
    # The same shape in the list.
    assert pc.get("/customers").json()["items"][0] == answer
    # Tenant ids in the path are case-insensitive; the answer keeps the service's spelling.
    assert pc.get("/customers/" + CUSTOMER.upper()).json() == answer


def test_add_customer_lists_it_and_replaces_in_place(emulator, pc):
    added = emulator.add_customer(NEW.upper(), "wingtip.onmicrosoft.com", "Wingtip Toys", relationship="advisor")
    assert added == pc.get("/customers/" + NEW).json()
    assert (added["id"], added["relationshipToPartner"]) == (NEW, "advisor")
    emulator.add_customer(CUSTOMER, "contosoltd.onmicrosoft.com", "Contoso Ltd")
    assert names([pc.get("/customers")]) == ["Contoso Ltd", "Fabrikam", "Northwind Traders", "Wingtip Toys"]
    for bad in (dict(tenant_id="nope"), dict(domain=""), dict(company_name=None), dict(relationship=" ")):
        args = dict(dict(tenant_id=NEW, domain="d.example", company_name="C"), **bad)
        with pytest.raises(ValueError):
            emulator.add_customer(**args)


def test_tenants_named_by_other_requests_and_seeds_become_customers_with_generated_names(emulator, pc):
    seeded, requested = "5e1a0001-0c2d-4e6f-8a9b-1c2d3e4f0001", "5e1a0002-0c2d-4e6f-8a9b-1c2d3e4f0002"
    assert pc.get("/customers/" + requested).status_code == 404  # a read makes nobody a customer
    emulator.seed_batch(seeded, "b1", [{"ProductKey": "K-1"}])
    emulator.seed_policy(seeded, "Kiosk", [])
    emulator.seed_policy("5e1a0003-0c2d-4e6f-8a9b-1c2d3e4f0003", "Kiosk", [])
    assert pc.get("/customers/%s/deviceBatches" % requested).status_code == 200  # as the device endpoints always did
    listed = pc.get("/customers").json()["items"]
    assert [(c["id"], c["companyProfile"]["domain"], c["companyProfile"]["companyName"]) for c in listed[3:]] == [
        (seeded, "customer-5e1a0001-0001.onmicrosoft.com", "Customer 5e1a0001-0001"),
        ("5e1a0003-0c2d-4e6f-8a9b-1c2d3e4f0003", "customer-5e1a0003-0003.onmicrosoft.com", "Customer 5e1a0003-0003"),
        (requested, "customer-5e1a0002-0002.onmicrosoft.com", "Customer 5e1a0002-0002")]
    assert generated_customer(seeded.upper()) == ("customer-5e1a0001-0001.onmicrosoft.com", "Customer 5e1a0001-0001")
    assert pc.get("/customers/" + requested).json()["companyProfile"]["companyName"] == "Customer 5e1a0002-0002"
    emulator.reset()
    assert len(emulator.customer_list()) == len(DEFAULT_CUSTOMERS)


def test_unrelated_customers_are_not_listed_and_refused_by_id(emulator, pc):
    emulator.unrelated_customers.add(CUSTOMER_B)
    assert CUSTOMER_B not in [c["id"] for c in pc.get("/customers").json()["items"]]
    assert generic_error(pc.get("/customers/" + CUSTOMER_B), 403)["code"] == 20002


def test_strict_customers_refuses_tenants_that_are_not_customers(make_emulator):
    emu = make_emulator(strict_customers=True)
    pc = Pc(emu)
    assert generic_error(pc.get("/customers/%s/deviceBatches" % NEW), 404)["code"] == 60003
    assert pc.get("/customers/%s/deviceBatches" % CUSTOMER).status_code == 200
    emu.add_customer(NEW, "wingtip.onmicrosoft.com", "Wingtip Toys")
    assert pc.get("/customers/%s/deviceBatches" % NEW).status_code == 200


def test_control_endpoint_adds_customers(emulator):
    session = PerRequestVerify(emulator.ca_path)
    resp = session.post(emulator.url + "/_emulator/customers", json=[
        {"tenant_id": NEW, "domain": "wingtip.onmicrosoft.com", "company_name": "Wingtip Toys"}])
    assert resp.status_code == 200 and resp.json()[-1]["companyProfile"]["companyName"] == "Wingtip Toys"
    assert session.post(emulator.url + "/_emulator/customers", json=[{"tenant_id": "x"}]).status_code == 400


# ----- by id ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tenant", [NEW, "not-a-guid"])
def test_unknown_customer_is_60003(emulator, pc, tenant):
    body = generic_error(pc.get("/customers/" + tenant), 404)
    assert body["code"] == 60003 and tenant in body["description"]


def test_customers_need_a_token(emulator):
    session = PerRequestVerify(emulator.ca_path)
    for path in ("/v1/customers", "/v1/customers/" + CUSTOMER):
        assert generic_error(session.get(emulator.url + path), 401)["code"] == 800001


# ----- the list: paging -------------------------------------------------------------------------------------
@pytest.mark.parametrize("style", ["both", "token", "link"])
def test_list_pages_like_a_device_listing(emulator, pc, style):
    emulator.paging_style = style
    add_many(emulator, 7)
    how = "token" if style == "token" else "link"
    pages = pc.pages("/customers?size=4", how)
    assert [len(p.json()["items"]) for p in pages] == [4, 4, 2]
    assert names(pages) == ["Contoso", "Fabrikam", "Northwind Traders"] + ["Tailspin %03d" % i for i in range(7)]
    first = pages[0].json()
    assert first["totalCount"] == 4 and first["attributes"] == {"objectType": "Collection"}
    assert first["links"]["self"] == {"uri": "/customers?size=4", "method": "GET", "headers": []}
    assert ("continuationToken" in first) == (style in ("both", "token"))
    assert ("next" in first["links"]) == (style in ("both", "link"))
    if style != "token":
        assert first["links"]["next"]["uri"] == "/customers?size=4"
        assert first["links"]["next"]["headers"][0]["key"] == "MS-ContinuationToken"
    last = pages[-1].json()
    assert "continuationToken" not in last and "next" not in last["links"]
    # Every page was logged as a read, like any other endpoint; nothing was written.
    logged = emulator.requests("GET", r"^/v1/customers$")
    assert len(logged) == 3 and all(e["query"].startswith("size=4") and e["status"] == 200 for e in logged)
    assert emulator.writes() == []


def test_size_is_capped_and_zero_or_missing_means_the_largest_page(make_emulator, emulator):
    assert emulator.customer_page_size == 500
    emu = make_emulator(customer_page_size=5)
    add_many(emu, 7)
    pc = Pc(emu)
    for path in ("/customers", "/customers?size=0", "/customers?size=500", "/customers?SIZE=5"):
        assert [len(p.json()["items"]) for p in pc.pages(path)] == [5, 5], path
    assert [len(p.json()["items"]) for p in pc.pages("/customers?size=2")] == [2, 2, 2, 2, 2]
    for bad in ("-1", "ten", "1.5"):
        assert generic_error(pc.get("/customers?size=" + bad), 400)["code"] == 800002


def test_recorded_mode_pages_as_a_recorded_device_listing(emulator, pc):
    emulator.answer_mode = "recorded"
    add_many(emulator, 7)
    path = "/customers?size=4&filter=" + search("CompanyName", "tail")
    pages = pc.pages(path)
    assert names(pages) == ["Tailspin %03d" % i for i in range(7)]
    first, last = pages[0].json(), pages[-1].json()
    assert "continuationToken" not in first and last["links"] == {}
    assert first["links"]["next"]["uri"] == path + "&seekOperation=Next"
    # Half a link (the header without the query, or the reverse) has not followed it as given.
    token = first["links"]["next"]["headers"][0]["value"]
    assert generic_error(pc.get(path, {"MS-ContinuationToken": token}), 400)["code"] == 800002
    assert generic_error(pc.get(path + "&seekOperation=Next"), 400)["code"] == 800002


def test_bad_or_foreign_continuation_tokens_are_refused(emulator, pc):
    add_many(emulator, 7)
    token = pc.get("/customers?size=4&filter=" + search("Domain", "tail")).json()["continuationToken"]
    # Without the filter the token pages through another query.
    assert generic_error(pc.get("/customers?size=4", {"MS-ContinuationToken": token}), 400)["code"] == 800002
    assert generic_error(pc.get("/customers?size=4", {"MS-ContinuationToken": "!!bad"}), 400)["code"] == 800002
    # A device listing's token is not a customer list's.
    emulator.page_size = 1
    assert len(pc.get("/customers").json()["items"]) == 10  # page_size is the device listings' alone
    emulator.seed_batch(CUSTOMER, "b", [{"ProductKey": "K-1"}, {"ProductKey": "K-2"}])
    device_token = pc.get("/customers/%s/deviceBatches/b/devices" % CUSTOMER).json()["continuationToken"]
    assert generic_error(pc.get("/customers", {"MS-ContinuationToken": device_token}), 400)["code"] == 800002


# ----- the list: the filter ---------------------------------------------------------------------------------
def test_filter_starts_with_on_domain_or_company_name_ignoring_case(emulator, pc):
    emulator.add_customer(NEW, "contosopharma.onmicrosoft.com", "Pharma of Contoso")
    assert names([pc.get("/customers?size=10&filter=" + search("CompanyName", "cont"))]) == ["Contoso"]
    assert names([pc.get("/customers?size=10&filter=" + search("Domain", "CONTOSO"))]) == [
        "Contoso", "Pharma of Contoso"]
    assert names([pc.get("/customers?size=10&filter=" + search("domain", "northwindtraders.onmicrosoft.com",
                                                               "STARTS_WITH"))]) == ["Northwind Traders"]
    assert names([pc.get("/customers?size=10&filter=" + search("CompanyName", "Northwind T"))]) == [
        "Northwind Traders"]
    assert pc.get("/customers?size=10&filter=" + search("CompanyName", "zzz")).json()["items"] == []
    # The published example's spelling, character for character.
    published = ("/customers?size=0&filter=%7B%22Field%22%3A%22CompanyName%22%2C%22Value%22%3A%22Cont%22%2C%22"
                 "Operator%22%3A%22starts_with%22%7D")
    body = pc.get(published).json()
    assert names([pc.get(published)]) == ["Contoso"] and body["links"]["self"]["uri"] == published


def test_filtered_pages_keep_the_filter_in_the_next_link(emulator, pc):
    add_many(emulator, 5)
    add_many(emulator, 3, prefix="Other")
    path = "/customers?size=2&filter=" + search("CompanyName", "Tailspin")
    pages = pc.pages(path)
    assert names(pages) == ["Tailspin %03d" % i for i in range(5)]
    assert pages[0].json()["links"]["next"]["uri"] == path
    assert names(pc.pages(path, "token")) == ["Tailspin %03d" % i for i in range(5)]


@pytest.mark.parametrize("raw", [
    search("IndirectReseller", "x"),
    search("CompanyName", "x", "equals"),
    search("CompanyName", "x", "contains"),
    quote(json.dumps({"Field": "Domain", "Value": 5, "Operator": "starts_with"})),
    quote(json.dumps({"Field": "Domain", "Operator": "starts_with"})),
    quote(json.dumps(["Domain", "x"])),
    "not-json",
])
def test_other_fields_operators_and_malformed_filters_are_400(emulator, pc, raw):
    body = generic_error(pc.get("/customers?size=10&filter=" + raw), 400)
    assert body["code"] == 800002


def test_two_filters_are_400(emulator, pc):
    f = search("Domain", "c")
    assert generic_error(pc.get("/customers?filter=%s&filter=%s" % (f, f)), 400)["code"] == 800002


def test_only_get_is_served(emulator, pc):
    resp = pc.session.post(emulator.url + "/v1/customers", json={},
                           headers={"Authorization": "Bearer " + pc.token})
    assert generic_error(resp, 404)["code"] == "404"


def test_customer_reads_are_throttled_per_partner(make_emulator):
    emu = make_emulator(read_limit_per_minute=2)
    pc = Pc(emu)
    assert [pc.get("/customers").status_code for _attempt in range(3)] == [200, 200, 429]
