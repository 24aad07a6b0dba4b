"""tasks.py: a task's batch requests judged before anything is sent - customers resolved from one customer list,
a bad batch refused alone."""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import DeviceValidationError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.tasks import (
    batch_requests, sort_requests, uses_customer)
from tests.unit.plugins.module_utils.fakes import CUSTOMER, CUSTOMER_B, dev, params

CUSTOMERS = [dict(id=CUSTOMER, tenant_id=CUSTOMER, domain="contoso.onmicrosoft.com", company_name="Contoso",
                  relationship="reseller"),
             dict(id=CUSTOMER_B, tenant_id=CUSTOMER_B, domain="fabrikam.onmicrosoft.com", company_name="Fabrikam",
                  relationship="reseller")]


def task(*entries):
    return params(customer_id=None, batch_id=None, batches=list(entries))


def test_a_bad_batch_is_refused_alone_with_every_problem_named():
    runnable, refused = sort_requests(task(
        dict(customer_id=CUSTOMER, batch_id="good", devices=[dev("S1")]),
        dict(customer_id=CUSTOMER_B, batch_id="bad", devices=[dev("S2"), {"serial_number": "LONELY"}]),
        dict(customer_id=CUSTOMER, batch_id="odd", devices=[dev("S3")], colour="red")))
    assert [(p["batch_id"], [d.serial_number for d in desired]) for p, desired in runnable] == [("good", ["S1"])]
    assert [(index, p["batch_id"]) for index, p, _problems in refused] == [(1, "bad"), (2, "odd")]
    assert refused[0][2][0].startswith("batches[1] (%s / bad): devices[1] (serial LONELY)" % CUSTOMER_B)
    assert "unknown field colour" in refused[1][2][0]
    with pytest.raises(DeviceValidationError) as caught:  # on_invalid fail_task: all or nothing
        batch_requests(task(dict(customer_id=CUSTOMER_B, batch_id="bad", devices=[{"serial_number": "LONELY"}]),
                            dict(customer_id=CUSTOMER, batch_id="good", devices=[dev("S1")])))
    assert len(caught.value.errors) == 1


def test_customers_resolve_by_domain_name_or_id_and_carry_their_company_name():
    entries = task(dict(customer="CONTOSO.onmicrosoft.com", batch_id="a", devices=[dev("S1")]),
                   dict(customer="fabrikam", batch_id="b", devices=[dev("S2")]),
                   dict(customer_id=CUSTOMER_B, batch_id="c", devices=[dev("S3")]),
                   dict(customer="Fab", batch_id="d", devices=[dev("S4")]),
                   dict(customer="", batch_id="e", devices=[dev("S5")]),
                   dict(customer="fabrikam", customer_id=CUSTOMER_B, batch_id="f", devices=[dev("S6")]))
    assert uses_customer(entries) and not uses_customer(task(dict(customer_id=CUSTOMER, batch_id="a")))
    runnable, refused = sort_requests(entries, CUSTOMERS)
    assert [(p["customer_id"], p["customer_name"]) for p, _desired in runnable] == [
        (CUSTOMER, "Contoso"), (CUSTOMER_B, "Fabrikam"), (CUSTOMER_B, "Fabrikam")]
    problems = dict((p["batch_id"], problems[0]) for _index, p, problems in refused)
    assert "'Fab' is not a customer of this partner" in problems["d"] and "did you mean Fabrikam" in problems["d"]
    assert "customer must not be empty" in problems["e"]
    assert "give customer or customer_id, not both" in problems["f"]


class Listing(list):
    """The customer list as read, counting how often it is gone through."""
    passes = 0

    def __iter__(self):
        Listing.passes += 1
        return super(Listing, self).__iter__()


def test_the_customer_list_is_gone_through_once_however_many_batches_name_customers():
    tenant = "%08d-0000-4000-8000-000000000000"
    customers = Listing(dict(id=tenant % i, tenant_id=tenant % i, domain="c%d.onmicrosoft.com" % i,
                             company_name="Customer %d" % i, relationship="reseller") for i in range(500))
    Listing.passes = 0
    entries = task(*[dict(customer="c%d.onmicrosoft.com" % i, batch_id="b", devices=[dev("S%d" % i)])
                     for i in range(0, 500, 5)])
    runnable, refused = sort_requests(entries, customers)
    assert len(runnable) == 100 and not refused
    assert Listing.passes == 1, "the customer list was scanned for every batch (quadratic)"
