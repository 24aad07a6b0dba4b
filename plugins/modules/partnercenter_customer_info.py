#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: partnercenter_customer_info
short_description: List the partner's customers in Partner Center, by domain or company name
version_added: 0.1.0
description:
  - Lists the partner's customers with their tenant id, domain, company name and relationship, every page of
    the list read.
  - O(domain) and O(name) are prefixes, matched ignoring case, as the API's C(starts_with) filter matches them;
    O(customer_id) reads one customer.
  - None matching gives RV(customers=[]), not a failure; so does a O(customer_id) that is not a customer of
    this partner.
  - Never changes anything.
author:
  - partnercenter.autopilot maintainers (@partnercenter-autopilot)
extends_documentation_fragment:
  - partnercenter.autopilot.connection
  - partnercenter.autopilot.connection.base_url
  - partnercenter.autopilot.auth
  - partnercenter.autopilot.auth.access_token
  - partnercenter.autopilot.attributes.info_module
  - partnercenter.autopilot.attributes.action_group
options:
  domain:
    description:
      - Only the customers whose domain begins with this, ignoring case (for example V(contoso) or the whole
        V(contoso.onmicrosoft.com)).
      - Partner Center does the filtering; with O(name) too, the company name is checked as well.
    type: str
  name:
    description:
      - Only the customers whose company name begins with this, ignoring case.
    type: str
  customer_id:
    description:
      - Only the customer with this tenant id (GUID), read by id.
      - Mutually exclusive with O(domain) and O(name).
    type: str
notes:
  - One paged read of the customer list serves any number of lookups; to resolve many customers, read the
    list once and pick from RV(customers) rather than running this module once per customer.
seealso:
  - module: partnercenter.autopilot.partnercenter_device_batch
'''

EXAMPLES = r'''
- name: Every customer of the partner
  partnercenter.autopilot.partnercenter_customer_info:
  register: all_customers

- name: The customers whose domain begins with contoso
  partnercenter.autopilot.partnercenter_customer_info:
    domain: contoso
  register: contoso

- name: The customers whose company name begins with North
  partnercenter.autopilot.partnercenter_customer_info:
    name: North
  register: north

- name: One customer by tenant id
  partnercenter.autopilot.partnercenter_customer_info:
    customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
  register: one

- name: Tenant ids by domain, for partnercenter_customer_id
  ansible.builtin.set_fact:
    tenant_by_domain: "{{ all_customers.customers | items2dict(key_name='domain', value_name='tenant_id') }}"
'''

RETURN = r'''
customers:
  description: The customers, in the order Partner Center lists them.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The customer's id in Partner Center (its tenant id).
      type: str
      sample: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    tenant_id:
      description: The customer's Entra ID tenant id, as O(customer_id) and C(partnercenter_customer_id) take it.
      type: str
      sample: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
    domain:
      description: The customer's domain.
      type: str
      sample: contoso.onmicrosoft.com
    company_name:
      description: The customer's company name.
      type: str
      sample: Contoso
    relationship:
      description: The partner's relationship to the customer, as Partner Center names it.
      type: str
      sample: reseller
'''

from ansible_collections.partnercenter.autopilot.plugins.module_utils.customers import is_tenant_id
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import PartnerCenterModule


def main():
    module = PartnerCenterModule(
        argument_spec=dict(
            domain=dict(type="str"),
            name=dict(type="str"),
            customer_id=dict(type="str"),
        ),
        mutually_exclusive=[("customer_id", "domain"), ("customer_id", "name")],
        supports_check_mode=True,
    )
    p = module.params
    problems = ["%s must not be empty: leave it out to list every customer" % option
                for option in ("domain", "name") if p[option] is not None and not p[option].strip()]
    if p["customer_id"] is not None and not is_tenant_id(p["customer_id"]):
        problems.append("customer_id must be the customer's tenant id (a GUID), got %r" % (p["customer_id"],))
    if problems:
        module.fail_json(msg="Invalid input: " + "; ".join(problems), errors=problems)
    with module.errors():
        service = module.service()
        if p["customer_id"] is not None:
            customer = service.get_customer(p["customer_id"].strip())
            customers = [customer] if customer else []
        else:
            customers = service.list_customers(domain=p["domain"], name=p["name"])
    module.exit_json(changed=False, customers=customers)


if __name__ == "__main__":
    main()
