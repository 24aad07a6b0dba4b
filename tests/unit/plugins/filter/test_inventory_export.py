"""The inventory_export filter: what Partner Center lists, as an inventory register_devices.yml takes as it is."""
import random

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager

from ansible_collections.partnercenter.autopilot.plugins.filter.device_batches import device_batches
from ansible_collections.partnercenter.autopilot.plugins.filter.inventory_export import (
    HASH_GROUP, inventory_export)

C1 = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
C2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
C3 = "2b8a7d41-51e3-4c0e-9d8f-7a6b5c4d3e2f"
P1 = "5e1a0001-0000-4000-8000-000000000001"
P2 = "5e1a0001-0000-4000-8000-000000000002"


class Loader(yaml.SafeLoader):
    pass


Loader.add_constructor("!unsafe", lambda loader, node: ("unsafe", loader.construct_scalar(node)))


def load(text):
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader that also reads !unsafe


def customer(cid=C1, name="Contoso", domain="contoso.onmicrosoft.com"):
    return {"id": cid, "tenant_id": cid, "company_name": name, "domain": domain, "relationship": "reseller"}


def dev(serial=None, key=None, make=None, model=None, profile=None, device_id=None):
    return {"id": device_id or "dev-%s-%s" % (serial, key), "serial_number": serial, "product_key": key,
            "manufacturer": make, "model": model, "uploaded_date": "2026-11-01T00:00:00",
            "policies": [{"key": "o_o_b_e", "value": profile}]}


def batch(batch_id, *devices):
    return {"id": batch_id, "status": "finished", "devices_count": len(devices), "devices": list(devices)}


def profile(pid, name, settings=(), description=None):
    return {"id": pid, "name": name, "description": description, "settings": list(settings), "devices_assigned": 0}


def entry(cust, batches=(), profiles=()):
    return {"customer": cust, "batches": list(batches), "profiles": list(profiles)}


CONTOSO = entry(customer(), [
    batch("contoso-2026-11",
          dev("CNU1234ABC", make="HP", model="EliteBook 840", profile=P1),
          dev("0B7X92K", make="Dell Inc.", model="OptiPlex 7010", profile="standard")),  # listed by name
    batch("kiosks", dev(key="3312345678901"), dev("SN-PK", key="3312345678902", make="HP", model="x"))],
    [profile(P1, "Standard", ["skip_eula", "none", "oobe_user_not_local_admin"], "Employee laptops"),
     profile(P2, "Kiosk")])
FABRIKAM = entry(customer(C2, "Fabrikam", "fabrikam.onmicrosoft.com"),
                 [batch("fab", dev("FAB-1", make="Lenovo", model="T14"))])


def test_the_shape_register_devices_reads():
    inv = load(inventory_export([CONTOSO, FABRIKAM]))
    assert inv["all"]["vars"]["autopilot_profiles"] == [
        {"customer_id": C1, "name": "Kiosk", "settings": []},
        {"customer_id": C1, "name": "Standard", "description": "Employee laptops",
         "settings": ["oobe_user_not_local_admin", "skip_eula"]}]
    groups = inv["all"]["children"]["autopilot_devices"]["children"]
    assert list(groups) == ["contoso", "fabrikam"]
    assert groups["contoso"]["vars"] == {"partnercenter_customer_id": C1, "partnercenter_customer_name": "Contoso"}
    assert groups["contoso"]["hosts"] == {
        "contoso-0b7x92k": {"autopilot_serial_number": "0B7X92K", "autopilot_manufacturer": "Dell Inc.",
                            "autopilot_model": "OptiPlex 7010", "autopilot_profile": "Standard",
                            "partnercenter_batch_id": "contoso-2026-11"},
        "contoso-cnu1234abc": {"autopilot_serial_number": "CNU1234ABC", "autopilot_manufacturer": "HP",
                               "autopilot_model": "EliteBook 840", "autopilot_profile": "Standard",
                               "partnercenter_batch_id": "contoso-2026-11"},
        # A product key alone: serial, make and model beside it are no accepted upload without the hash.
        "contoso-pk-3312345678901": {"autopilot_product_key": "3312345678901", "partnercenter_batch_id": "kiosks"},
        "contoso-sn-pk": {"autopilot_product_key": "3312345678902", "partnercenter_batch_id": "kiosks"}}
    assert HASH_GROUP not in inv["all"]["children"]


def test_sorted_customers_hosts_and_keys_and_no_time_stamp():
    text = inventory_export([CONTOSO, FABRIKAM])
    inv = load(text)  # mappings keep the file's order

    def sorted_everywhere(node):
        if isinstance(node, dict):
            return list(node) == sorted(node) and all(sorted_everywhere(v) for v in node.values())
        if isinstance(node, list):
            return all(sorted_everywhere(v) for v in node)
        return True
    assert sorted_everywhere(inv)
    profiles = inv["all"]["vars"]["autopilot_profiles"]
    assert [(p["customer_id"], p["name"]) for p in profiles] == sorted((p["customer_id"], p["name"]) for p in profiles)
    assert text.index("contoso:") < text.index("fabrikam:")
    assert "2026" not in text.split("---")[0]  # nothing in the header changes between exports of one state


def test_the_same_state_in_any_order_is_the_same_text():
    first = inventory_export([CONTOSO, FABRIKAM])
    shuffled = []
    for item in (FABRIKAM, CONTOSO):
        batches = [dict(b, devices=list(reversed(b["devices"]))) for b in reversed(item["batches"])]
        shuffled.append(entry(item["customer"], batches, list(reversed(item["profiles"]))))
    assert inventory_export(shuffled) == first


def inventory_hosts(tmp_path, text):
    """The host variables ansible-playbook gives register_devices.yml for the inventory text."""
    path = tmp_path / "exported.yml"
    path.write_text(text)
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    variables = VariableManager(loader=loader, inventory=inventory)
    hosts = inventory.get_groups_dict().get("autopilot_devices", [])
    return inventory, [dict(variables.get_vars(host=inventory.get_host(h)), inventory_hostname=h) for h in hosts]


def test_ansible_reads_it_and_device_batches_gets_every_device_back(tmp_path):
    inventory, hosts = inventory_hosts(tmp_path, inventory_export([CONTOSO, FABRIKAM]))
    batches = dict(((b["customer_id"], b["batch_id"]), b["devices"]) for b in device_batches(hosts))
    assert sorted(batches) == [(C1, "contoso-2026-11"), (C1, "kiosks"), (C2, "fab")]
    assert {"serial_number": "CNU1234ABC", "manufacturer": "HP", "model": "EliteBook 840",
            "profile": "Standard"} in batches[(C1, "contoso-2026-11")]
    assert {"product_key": "3312345678901"} in batches[(C1, "kiosks")]
    assert batches[(C2, "fab")] == [{"serial_number": "FAB-1", "manufacturer": "Lenovo", "model": "T14"}]
    profiles = VariableManager(loader=DataLoader(), inventory=inventory).get_vars(
        host=inventory.get_host("localhost"))["autopilot_profiles"]
    assert [p["name"] for p in profiles] == ["Kiosk", "Standard"]


def test_host_and_group_names_are_safe_and_unique():
    odd = entry(customer(C1, "Contoso, Ltd. (EU)"), [
        batch("a", dev("AB/1 2", make="HP", model="x"), dev("ab.1.2", make="HP", model="x"),
              dev("AB/1 2", make="Dell", model="y")),
        batch("b", dev("AB/1 2", make="Lenovo", model="z"))])
    same_name = entry(customer(C2, "Contoso, Ltd. (EU)"), [batch("c", dev("AB/1 2", make="HP", model="x"))])
    digits = entry(customer(C3, "4th Coffee"), [batch("d", dev("Ö-9", make="HP", model="x"))])
    inv = load(inventory_export([odd, same_name, digits]))
    groups = inv["all"]["children"]["autopilot_devices"]["children"]
    assert sorted(groups) == ["contoso_ltd_eu_3f2504e0", "contoso_ltd_eu_7c9e6679", "customer_4th_coffee"]
    names = [h for g in groups.values() for h in g["hosts"]]
    assert len(names) == len(set(names)) == 6
    assert all(set(n) <= set("abcdefghijklmnopqrstuvwxyz0123456789_-") for n in names + list(groups))
    assert sorted(groups["contoso_ltd_eu_3f2504e0"]["hosts"]) == [
        "contoso_ltd_eu_3f2504e0-ab_1_2", "contoso_ltd_eu_3f2504e0-ab_1_2-2", "contoso_ltd_eu_3f2504e0-ab_1_2-3",
        "contoso_ltd_eu_3f2504e0-ab_1_2-4"]
    # Each host keeps its own serial, whatever its name.
    serials = sorted(h["autopilot_serial_number"] for h in groups["contoso_ltd_eu_3f2504e0"]["hosts"].values())
    assert serials == ["AB/1 2", "AB/1 2", "AB/1 2", "ab.1.2"]
    assert list(groups["customer_4th_coffee"]["hosts"]) == ["customer_4th_coffee-9"]


@pytest.mark.parametrize("name", ["All", "autopilot_devices", "", None])
def test_reserved_or_missing_company_names(name):
    cust = dict(customer(C1, name, None))
    inv = load(inventory_export([entry(cust, [batch("b", dev(key="PK1"))])]))
    (group,) = inv["all"]["children"]["autopilot_devices"]["children"]
    assert group not in ("all", "autopilot_devices") and group[0].isalpha()
    if not name:  # named after its id
        assert inv["all"]["children"]["autopilot_devices"]["children"][group]["vars"][
            "partnercenter_customer_name"] == C1


def test_devices_that_need_their_hash_are_kept_apart_with_their_customer():
    hashed = entry(customer(), [batch("b", dev("HASH-ONLY-SERIAL", profile=P1), dev(device_id="d-nothing"),
                                      dev("FULL", make="HP", model="x"))], [profile(P1, "Standard")])
    text = inventory_export([hashed])
    inv = load(text)
    assert list(inv["all"]["children"]["autopilot_devices"]["children"]["contoso"]["hosts"]) == ["contoso-full"]
    assert inv["all"]["children"][HASH_GROUP]["hosts"] == {
        "contoso-device-d-nothing": {"partnercenter_batch_id": "b", "partnercenter_customer_id": C1,
                                     "partnercenter_customer_name": "Contoso"},
        "contoso-hash-only-serial": {"autopilot_serial_number": "HASH-ONLY-SERIAL", "autopilot_profile": "Standard",
                                     "partnercenter_batch_id": "b", "partnercenter_customer_id": C1,
                                     "partnercenter_customer_name": "Contoso"}}
    assert "1 device, 1 profile, and 2 devices that need their hardware hash" in text.splitlines()[1]


def test_the_header_explains_hashes_and_lists_what_was_not_exported_exactly():
    odd = entry(customer(), [batch("empty"), batch("b", dev("S1", make="HP", model="x", profile="gone-profile-id"))],
                [profile(P1, "Twin"), profile(P2, "Twin")])
    text = inventory_export([odd])
    header = text.split("\n---\n")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    assert "never lists them" in header and "product key, else by serial number with manufacturer and model" in header
    assert "contoso: batch 'empty' has no devices" in header
    assert "contoso-s1 carries profile 'gone-profile-id'" in header
    assert "2 profiles are named 'Twin' (ids %s, %s)" % (P1, P2) in header
    host = load(text)["all"]["children"]["autopilot_devices"]["children"]["contoso"]["hosts"]["contoso-s1"]
    assert "autopilot_profile" not in host


def test_text_ansible_would_template_is_written_unsafe(tmp_path):
    sneaky = entry(customer(C1, "{{ lookup('pipe', 'id') }}"), [batch("b", dev(key="PK1"))],
                   [profile(P1, "P", description="{% raw %}")])
    text = inventory_export([sneaky])
    inv = load(text)
    assert inv["all"]["vars"]["autopilot_profiles"][0]["description"] == ("unsafe", "{% raw %}")
    group = inv["all"]["children"]["autopilot_devices"]["children"]["lookup_pipe_id"]
    assert group["vars"]["partnercenter_customer_name"] == ("unsafe", "{{ lookup('pipe', 'id') }}")
    _inventory, hosts = inventory_hosts(tmp_path, text)  # Ansible reads the tag
    assert hosts[0]["partnercenter_customer_name"] == "{{ lookup('pipe', 'id') }}"


def test_string_subclasses_from_ansible_are_written_as_plain_text():
    class Tagged(str):
        # As ansible-core 2.17's AnsibleUnsafeText: str() keeps the subclass.
        def __str__(self):  # pylint: disable=invalid-str-returned
            return self

        def strip(self, *args):
            return Tagged(str.strip(self, *args))
    tagged = entry({"id": Tagged(C1), "company_name": Tagged("Contoso")},
                   [{"id": Tagged("b"), "devices": [{"product_key": Tagged("PK1"), "policies": []}]}])
    inv = load(inventory_export([tagged]))
    assert inv["all"]["children"]["autopilot_devices"]["children"]["contoso"]["hosts"] == {
        "contoso-pk-pk1": {"autopilot_product_key": "PK1", "partnercenter_batch_id": "b"}}


def test_numbers_as_text_stay_text_and_unicode_stays_readable():
    cust = entry(customer(C1, "Société Générale"),
                 [batch("2026", dev(key="0012"), dev("123", make="1", model="2"))])
    text = inventory_export([cust])
    assert "Société Générale" in text
    hosts = load(text)["all"]["children"]["autopilot_devices"]["children"]["soci_t_g_n_rale"]["hosts"]
    assert hosts["soci_t_g_n_rale-pk-0012"] == {"autopilot_product_key": "0012", "partnercenter_batch_id": "2026"}
    assert hosts["soci_t_g_n_rale-123"]["autopilot_manufacturer"] == "1"


def test_nothing_to_export_is_still_an_inventory():
    inv = load(inventory_export([]))
    assert inv == {"all": {"children": {"autopilot_devices": {}}}}
    inv = load(inventory_export([entry(customer())]))
    assert inv["all"]["children"]["autopilot_devices"]["children"]["contoso"] == {
        "vars": {"partnercenter_customer_id": C1, "partnercenter_customer_name": "Contoso"}}


def test_many_devices_stay_quick():
    big = [entry(customer("%08x-0000-4000-8000-000000000000" % c, "Customer %d" % c),
                 [batch("b", *[dev("SN-%d-%d" % (c, d), make="HP", model="x") for d in range(200)])])
           for c in range(50)]
    random.shuffle(big)
    text = inventory_export(big)
    assert text.count("autopilot_serial_number") == 10000


@pytest.mark.parametrize("bad,needle", [
    ("text", "expected a list"),
    ({"customer": customer()}, "expected a list"),
    ([None], "entry #0: expected a dictionary"),
    ([{"customer": "Contoso"}], "entry #0: customer must be a dictionary"),
    ([{"customer": {"company_name": "x"}}], "entry #0: the customer has no id"),
    ([entry(customer()), {"customer": customer(C2), "batches": "b"}], "entry #1 (customer %s): batches" % C2),
    ([entry(customer()), entry(customer(C1.upper()))], "customer %s is given twice" % C1.upper()),
])
def test_bad_input_is_named(bad, needle):
    with pytest.raises(AnsibleFilterError) as info:
        inventory_export(bad)
    assert needle in str(info.value)
