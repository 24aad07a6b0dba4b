"""partnercenter_customer_info against the emulator: every page read, the filter sent as published, one read by
id, bad input refused before any request, nothing ever written, and its place in the module_defaults group."""
import json
import math
import os
import uuid
from urllib.parse import parse_qs

import pytest

from tests.helpers import CUSTOMER, CUSTOMER_B
from tests.integration.test_examples import example_dir, run  # noqa: F401  pylint: disable=unused-import
from tests.playbooks import run_playbook

MODULE = "partnercenter.autopilot.partnercenter_customer_info"
LIST = r"^/v1/customers$"
VIEW_FIELDS = {"id", "tenant_id", "domain", "company_name", "relationship"}


def add_customers(emulator, count, prefix="Tailspin"):
    for i in range(count):
        emulator.add_customer(str(uuid.uuid5(uuid.NAMESPACE_DNS, "%s-%d.test" % (prefix, i))),
                              "%s%02d.onmicrosoft.com" % (prefix.lower(), i), "%s %02d" % (prefix, i))


def views(emulator, keep=lambda c: True):
    """What the module should return: the emulator's list, as customer views."""
    return [{"id": c["id"], "tenant_id": c["companyProfile"]["tenantId"], "domain": c["companyProfile"]["domain"],
             "company_name": c["companyProfile"]["companyName"], "relationship": c["relationshipToPartner"]}
            for c in emulator.customer_list() if keep(c)]


def list_requests(emulator):
    return emulator.requests("GET", LIST)


def filters_sent(emulator):
    """The filter of each list request, decoded as the service decodes it (None when there was none)."""
    out = []
    for entry in list_requests(emulator):
        values = parse_qs(entry["query"]).get("filter")
        out.append(json.loads(values[0]) if values else None)
    return out


def assert_read_only(emulator):
    assert emulator.writes() == []
    assert all(e["method"] in ("GET", "POST") for e in emulator.requests())
    assert all(e["method"] == "GET" for e in emulator.requests() if e["path"].startswith("/v1/"))


@pytest.mark.parametrize("mode,style", [("published", "both"), ("published", "token"), ("published", "link"),
                                        ("recorded", "both")])
def test_every_page_is_read(emulator, run_module, mode, style):
    emulator.answer_mode, emulator.paging_style = mode, style
    emulator.customer_page_size = 4
    add_customers(emulator, 8)
    expected = views(emulator)
    assert len(expected) == 11
    result = run_module(MODULE, {}).result
    assert result["changed"] is False and not result["failed"]
    assert result["customers"] == expected
    assert all(set(c) == VIEW_FIELDS for c in result["customers"])
    logged = list_requests(emulator)
    assert len(logged) == math.ceil(11 / 4.0) == 3
    assert [parse_qs(e["query"])["size"] for e in logged] == [["500"]] * 3  # the largest page the service gives
    assert [e["headers"].get("MS-ContinuationToken") is None for e in logged] == [True, False, False]
    assert filters_sent(emulator) == [None] * 3
    assert_read_only(emulator)


def test_domain_prefix_sends_the_published_filter_on_every_page(emulator, run_module):
    emulator.customer_page_size = 2
    add_customers(emulator, 5, prefix="Contoso")
    result = run_module(MODULE, {"domain": "CONTOSO"}).result
    # contoso.onmicrosoft.com (the default) and contoso00..04.onmicrosoft.com, every page of them.
    assert result["customers"] == views(emulator, lambda c: c["companyProfile"]["domain"].startswith("contoso"))
    assert len(result["customers"]) == 6
    assert filters_sent(emulator) == [{"Field": "Domain", "Value": "CONTOSO", "Operator": "starts_with"}] * 3
    # URL-encoded as the published example spells it: compact JSON, every reserved character escaped.
    assert list_requests(emulator)[0]["query"] == (
        "size=500&filter=%7B%22Field%22%3A%22Domain%22%2C%22Value%22%3A%22CONTOSO%22%2C%22Operator%22%3A%22"
        "starts_with%22%7D")
    assert_read_only(emulator)


def test_name_prefix_with_spaces_and_quotes_is_encoded(emulator, run_module):
    emulator.add_customer("0b8e2f4c-0000-4000-8000-000000000001", "odd.onmicrosoft.com", 'Northwind "Odd" & Co')
    result = run_module(MODULE, {"name": "northwind"}).result
    assert [c["company_name"] for c in result["customers"]] == ["Northwind Traders", 'Northwind "Odd" & Co']
    result = run_module(MODULE, {"name": 'Northwind "Odd" &'}).result
    assert [c["domain"] for c in result["customers"]] == ["odd.onmicrosoft.com"]
    assert filters_sent(emulator) == [
        {"Field": "CompanyName", "Value": "northwind", "Operator": "starts_with"},
        {"Field": "CompanyName", "Value": 'Northwind "Odd" &', "Operator": "starts_with"}]
    assert_read_only(emulator)


def test_domain_and_name_together_send_one_filter_and_check_the_other(emulator, run_module):
    emulator.add_customer("0b8e2f4c-0000-4000-8000-000000000001", "contosopharma.onmicrosoft.com", "Pharma")
    result = run_module(MODULE, {"domain": "contoso", "name": "cont"}).result
    assert [c["domain"] for c in result["customers"]] == ["contoso.onmicrosoft.com"]
    assert filters_sent(emulator) == [{"Field": "Domain", "Value": "contoso", "Operator": "starts_with"}]


def test_no_match_is_an_empty_list(emulator, run_module):
    result = run_module(MODULE, {"name": "Wingtip"}).result
    assert result["customers"] == [] and not result["failed"]


def test_one_customer_by_id_in_check_mode(emulator, run_module):
    emulator.unrelated_customers.add(CUSTOMER_B)
    stranger = "0b8e2f4c-0000-4000-8000-000000000002"
    run = run_module(MODULE, {"customer_id": CUSTOMER.upper()}, check=True)
    assert run.result["customers"] == [{"id": CUSTOMER, "tenant_id": CUSTOMER, "domain": "contoso.onmicrosoft.com",
                                        "company_name": "Contoso", "relationship": "reseller"}]
    # Not a customer of this partner: unknown (404 60003) or without a relationship (403 20002).
    for tenant in (stranger, CUSTOMER_B):
        result = run_module(MODULE, {"customer_id": tenant}).result
        assert result["customers"] == [] and not result["failed"]
    assert [e["path"] for e in emulator.requests("GET", "^/v1/")] == [
        "/v1/customers/" + CUSTOMER.upper(), "/v1/customers/" + stranger, "/v1/customers/" + CUSTOMER_B]
    assert list_requests(emulator) == []
    assert_read_only(emulator)


@pytest.mark.parametrize("args,words", [
    ({"domain": " "}, "domain must not be empty"),
    ({"name": ""}, "name must not be empty"),
    ({"customer_id": "contoso.onmicrosoft.com"}, "customer_id must be the customer's tenant id (a GUID)"),
    ({"customer_id": CUSTOMER, "domain": "contoso"}, "mutually exclusive"),
    ({"customer_id": CUSTOMER, "name": "Contoso"}, "mutually exclusive"),
])
def test_bad_input_fails_before_any_request(emulator, run_module, args, words):
    result = run_module(MODULE, args).result
    assert result["failed"] and words in result["msg"], result["msg"]
    assert emulator.requests(path="^/v1/") == []


def test_service_errors_fail_with_the_request_ids(emulator, run_module):
    emulator.add_fault("status", method="GET", path=LIST, status=400, code=800002, description="bad query",
                       times=None)
    result = run_module(MODULE, {"domain": "x"}).result
    assert result["failed"] and "HTTP 400" in result["msg"] and "bad query" in result["msg"]
    assert result["status"] == 400 and result["request_id"]


MODULE_DEFAULTS_PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/partnercenter.autopilot.partnercenter:
      access_token: "{{ token }}"
  tasks:
    - name: Customers by domain, authenticated by the group's defaults alone
      partnercenter.autopilot.partnercenter_customer_info:
        domain: fabrikam
      register: found
    - name: Hand the result to the test
      ansible.builtin.copy:
        content: "{{ found | to_json }}"
        dest: "{{ result_path }}"
        mode: "0600"
"""


def test_in_the_module_defaults_group(emulator, pc_env, tmp_path):
    token = "emu-at-customer-info-group"
    emulator.access_tokens[token] = {"expires": 4102444800, "kind": "user"}
    env = dict((k, v) for k, v in pc_env.items()
               if k not in ("PARTNERCENTER_CLIENT_SECRET", "PARTNERCENTER_REFRESH_TOKEN", "PARTNERCENTER_CLIENT_ID"))
    play, result_path, extra = tmp_path / "play.yml", tmp_path / "result.json", tmp_path / "vars.json"
    play.write_text(MODULE_DEFAULTS_PLAY)
    extra.write_text(json.dumps({"token": token, "result_path": str(result_path)}))
    proc = run_playbook(str(play), env, str(extra))
    assert proc.returncode == 0, proc.stdout[-3000:]
    found = json.loads(result_path.read_text())
    assert [c["tenant_id"] for c in found["customers"]] == [CUSTOMER_B]
    assert emulator.token_requests() == []
    assert [e["headers"]["Authorization"] for e in list_requests(emulator)] == ["Bearer " + token]


def test_examples(emulator, pc_env, example_dir):  # noqa: F811
    _proc, got = run(example_dir, "partnercenter_customer_info", pc_env, {}, report=True)
    assert got["all_customers"]["customers"] == views(emulator)
    assert [c["domain"] for c in got["contoso"]["customers"]] == ["contoso.onmicrosoft.com"]
    assert [c["company_name"] for c in got["north"]["customers"]] == ["Northwind Traders"]
    assert [c["tenant_id"] for c in got["one"]["customers"]] == [CUSTOMER]
    assert emulator.writes() == []
    assert os.path.basename(example_dir[1]["partnercenter_customer_info"]) == "partnercenter_customer_info.yml"
