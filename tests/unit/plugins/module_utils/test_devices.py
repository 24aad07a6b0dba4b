"""devices.py: validation, the plan and job interpretation. Pure functions, table-driven."""
import base64
import gc
import time

import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (
    Device, DeviceValidationError, plan, plan_removal, validate_devices, validate_target)

HASH = base64.b64encode(bytes(range(256)) * 16).decode()  # 4 KB decoded
HASH2 = base64.b64encode(bytes(reversed(range(256))) * 16).decode()
SMALL = base64.b64encode(b"x" * 99).decode()
BIG = base64.b64encode(b"x" * (16 * 1024 + 3)).decode()
EXACT_MAX = base64.b64encode(b"y" * (16 * 1024)).decode()
CUSTOMER = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


@pytest.mark.parametrize("item", [
    {"hardware_hash": HASH},
    {"hardware_hash": HASH, "serial_number": "S1"},
    {"hardware_hash": HASH, "product_key": "PK1"},
    {"hardware_hash": HASH, "product_key": "PK1", "serial_number": "S1"},
    {"product_key": "PK1"},
    {"serial_number": "S1", "manufacturer": "HP", "model": "840"},
    {"serial_number": "S1", "oem_manufacturer_name": "HP", "model_name": "840"},
    {"hardware_hash": HASH, "serial_number": "S1", "manufacturer": "HP", "model": "840"},
    {"hardware_hash": "  " + HASH[:100] + "\n" + HASH[100:] + "  "},
    {"hardware_hash": EXACT_MAX},
    {"product_key": "PK1", "serial_number": "", "manufacturer": None},
    {"serial_number": "S1", "manufacturer": "Fujitsu Technology Solutions GmbH", "model": "LIFEBOOK U7411 ™"},
])
def test_accepted_identities(item):
    [dev] = validate_devices([item])
    assert dev.upload_fields() and dev.index == 0
    api = dev.to_api()
    assert api["Attributes"] == {"ObjectType": "Device"}
    if dev.hardware_hash:
        assert "OemManufacturerName" not in api and "ModelName" not in api
        assert "\n" not in api["HardwareHash"] and " " not in api["HardwareHash"]


@pytest.mark.parametrize("item,needle", [
    ({}, "no identity field is not an accepted identity"),
    ({"serial_number": "S1"}, "serial_number is not an accepted identity"),
    ({"serial_number": "S1", "manufacturer": "HP"}, "manufacturer, serial_number is not"),
    ({"serial_number": "S1", "model": "840"}, "model, serial_number is not"),
    ({"manufacturer": "HP", "model": "840"}, "manufacturer, model is not"),
    ({"product_key": "PK", "serial_number": "S1"}, "product_key, serial_number is not"),
    ({"product_key": "PK", "manufacturer": "HP", "model": "840"}, "is not an accepted identity"),
    ({"serial_number": "   ", "product_key": ""}, "no identity field"),
    ({"hardware_hash": "not base64!"}, "not base64"),
    ({"hardware_hash": HASH[:-1]}, "not base64"),
    ({"hardware_hash": "QUJD===="}, "not base64"),
    ({"hardware_hash": SMALL}, "decodes to 99 bytes"),
    ({"hardware_hash": BIG}, "at most 16384 bytes"),
    ({"hardware_hash": "A" * 100000}, "at most 16384 bytes"),
    ({"hardware_hash": ["a"]}, "hardware_hash must be a string, got list"),
    ({"serial_number": 12345, "manufacturer": "a", "model": "b"}, "serial_number must be a string, got int: quote"),
    ({"product_key": 1.5}, "product_key must be a string, got float"),
    ({"product_key": True}, "must be a string, got bool"),
    ({"product_key": {"a": 1}}, "must be a string, got dict"),
    ({"serial_number": "S\x00", "manufacturer": "a", "model": "b"}, "control characters"),
    ({"serial_number": "S\t1", "manufacturer": "a", "model": "b"}, "control characters"),
    ({"serial_number": "S1", "manufacturer": "a\u2028b", "model": "b"}, "control characters"),
    ({"serial_number": "Sé1", "manufacturer": "a", "model": "b"}, "serial_number must be ASCII"),
    ({"product_key": "ПК"}, "product_key must be ASCII"),
    ({"serial_number": "S" * 129, "manufacturer": "a", "model": "b"}, "129 characters long, at most 128"),
    ({"product_key": "P" * 65}, "at most 64"),
    ({"serial_number": "S1", "manufacturer": "M" * 257, "model": "b"}, "at most 256"),
    ({"serial": "S1"}, "unknown field 'serial'"),
    ({"product_key": "PK", "SerialNumber": "S1"}, "unknown field 'SerialNumber'"),
    ({"manufacturer": "HP", "oem_manufacturer_name": "HP", "serial_number": "S", "model": "m"}, "given twice"),
])
def test_rejected_inputs_name_the_device(item, needle):
    with pytest.raises(DeviceValidationError) as info:
        validate_devices([{"product_key": "OK-1"}, item])
    text = str(info.value)
    assert "devices[1]" in text and needle in text, text
    if isinstance(item.get("serial_number"), str) and item["serial_number"].strip() and "\x00" not in item[
            "serial_number"]:
        assert "(serial %s)" % item["serial_number"].strip()[:64] in text


@pytest.mark.parametrize("items,needle", [
    ([{"hardware_hash": HASH}, {"hardware_hash": HASH}], "devices[1]: duplicate of devices[0] (same hardware_hash)"),
    ([{"product_key": "pk-1"}, {"product_key": " PK-1 "}], "duplicate of devices[0] (same product_key)"),
    ([{"serial_number": "s1", "manufacturer": "HP", "model": "x"},
      {"serial_number": "S1 ", "manufacturer": "hp", "model": "X"}], "(same serial_number)"),
    ([{"hardware_hash": HASH, "serial_number": "A"}, {"hardware_hash": HASH2, "serial_number": "a"}],
     "duplicate of devices[0] (same serial_number)"),
])
def test_duplicates_inside_the_input(items, needle):
    with pytest.raises(DeviceValidationError) as info:
        validate_devices(items)
    assert needle in str(info.value)


def test_same_serial_different_make_is_not_a_duplicate():
    devs = validate_devices([{"serial_number": "S1", "manufacturer": "HP", "model": "x"},
                             {"serial_number": "S1", "manufacturer": "Dell", "model": "x"}])
    assert len(devs) == 2


def test_every_problem_reported_at_once_and_capped():
    items = [{"serial_number": "S%d" % i} for i in range(120)] + ["not a dict", None]
    with pytest.raises(DeviceValidationError) as info:
        validate_devices(items)
    assert len(info.value.errors) == 122
    assert "and 72 more problems" in str(info.value)
    assert "devices[120]: must be a dictionary, got str" in info.value.errors
    assert "devices[121]: must be a dictionary, got NoneType" in info.value.errors


@pytest.mark.parametrize("value", ["x", {"a": 1}, 5])
def test_devices_must_be_a_list(value):
    with pytest.raises(DeviceValidationError, match="devices must be a list"):
        validate_devices(value)


def test_empty_list_is_valid():
    assert validate_devices([]) == []


@pytest.mark.parametrize("customer,batch,needle", [
    ("not-a-guid", "b", "customer_id must be"),
    ("", "b", "customer_id must be"),
    (CUSTOMER + "0", "b", "customer_id must be"),
    (CUSTOMER, "", "batch_id must be"),
    (CUSTOMER, "x" * 65, "batch_id must be"),
    (CUSTOMER, "a/b", "batch_id must be"),
    (CUSTOMER, "naïve", "batch_id must be"),
    (CUSTOMER, "tab\there", "batch_id must be"),
    (CUSTOMER, 5, "batch_id must be"),
])
def test_target_validation(customer, batch, needle):
    with pytest.raises(DeviceValidationError, match=needle):
        validate_target(customer, batch)


@pytest.mark.parametrize("batch", ["Test batch", "a", "x" * 64, "contoso-2026.11_a"])
def test_target_accepted(batch):
    validate_target(CUSTOMER.upper(), batch)


def registered(*items):
    return [Device.from_api(item, batch_id=b) for b, item in items]


def test_plan_matches_by_serial_and_product_key_case_insensitively():
    desired = validate_devices([
        {"serial_number": "abc-1", "hardware_hash": HASH},
        {"product_key": "pk-2"},
        {"serial_number": "S3", "manufacturer": "HP", "model": "840"},
        {"serial_number": "S4", "manufacturer": "HP", "model": "840"},
        {"hardware_hash": HASH2},
    ])
    reg = registered(("b", {"serialNumber": "ABC-1 "}), ("other", {"productKey": "PK-2"}),
                     ("b", {"serialNumber": "s3", "oemManufacturerName": "hp", "modelName": "840"}),
                     ("b", {"serialNumber": "S4", "oemManufacturerName": "Dell", "modelName": "840"}),
                     ("b", {"serialNumber": "GONE", "id": "dev-gone"}))
    p = plan(desired, reg, batch_id="b", purge=True)
    assert [d.serial_number or d.product_key for d, _found in p.already_present] == ["abc-1", "pk-2", "S3"]
    assert [d.label() for d in p.to_add][0] == "serial S4"  # same serial, other manufacturer: another device
    assert p.unverifiable == [p.to_add[1]]
    assert sorted(d.serial_number for d in p.to_remove) == ["GONE", "S4"]
    assert p.changes


def test_plan_purge_only_removes_from_the_target_batch():
    desired = validate_devices([{"product_key": "A"}])
    reg = registered(("b", {"productKey": "A"}), ("b", {"productKey": "B"}), ("other", {"productKey": "C"}))
    assert [d.product_key for d in plan(desired, reg, "b", purge=True).to_remove] == ["B"]
    assert plan(desired, reg, "b", purge=False).to_remove == []
    assert not plan(desired, reg, "b").changes


def test_plan_removal():
    desired = validate_devices([{"product_key": "A"}, {"serial_number": "S", "manufacturer": "m", "model": "x"},
                                {"product_key": "Z"}])
    reg = registered(("b", {"productKey": "a", "id": "1"}), ("b", {"serialNumber": "s", "id": "2"}))
    assert [d.device_id for d in plan_removal(desired, reg)] == ["1", "2"]


def test_devices_to_remove_are_named_by_serial_or_product_key_alone():
    desired = validate_devices([{"serial_number": "S"}, {"product_key": "A"}], for_removal=True)
    reg = registered(("b", {"serialNumber": "s", "id": "1"}), ("b", {"productKey": "a", "id": "2"}))
    assert [d.device_id for d in plan_removal(desired, reg)] == ["1", "2"]
    with pytest.raises(DeviceValidationError) as info:
        validate_devices([{"serial_number": "S"}])  # to upload, a serial needs make and model
    assert "devices[0] (serial S): serial_number is not an accepted identity" in str(info.value)
    with pytest.raises(DeviceValidationError) as info:
        validate_devices([{"manufacturer": "HP", "model": "x"}], for_removal=True)
    assert "devices[0]: give the serial_number or product_key of the device to remove" in str(info.value)


def plan_inputs(count):
    desired = validate_devices([{"serial_number": "S%06d" % i, "manufacturer": "m", "model": "x"}
                                for i in range(count)])
    # Every other desired device is registered, and as many registered devices are not desired (purged).
    reg = registered(*[("b", {"serialNumber": "S%06d" % i}) for i in range(0, 2 * count, 2)])
    return desired, reg


def best_planning_times(*inputs, repeats=7):
    """The fastest plan of each input, runs interleaved: on a loaded machine the slower runs measure the
    neighbours rather than plan(), and interleaving gives every size the same chances of a quiet moment."""
    best, plans = [float("inf")] * len(inputs), [None] * len(inputs)
    for _repeat in range(repeats):
        for i, (desired, reg) in enumerate(inputs):
            gc.collect()
            gc.disable()  # a collection landing in one run only would skew the ratio
            try:
                started = time.perf_counter()
                plans[i] = plan(desired, reg, "b", purge=True)
                best[i] = min(best[i], time.perf_counter() - started)
            finally:
                gc.enable()
    return best, plans


def test_plan_of_ten_thousand_devices_is_linear():
    # A ratio, not an absolute bound, so the machine's speed cancels out: doubling the devices doubles a
    # linear plan's time and quadruples a quadratic one's (say, a scan of every registered device per device).
    (small, large), (p_small, p_large) = best_planning_times(plan_inputs(10000), plan_inputs(20000))
    assert (len(p_small.to_add), len(p_small.already_present), len(p_small.to_remove)) == (5000, 5000, 5000)
    assert (len(p_large.to_add), len(p_large.already_present), len(p_large.to_remove)) == (10000, 10000, 10000)
    assert large < 3 * small, "20,000 devices took %.3fs, 10,000 took %.3fs" % (large, small)


def test_from_api_reads_case_insensitively():
    dev = Device.from_api({"SerialNumber": " S1 ", "PRODUCTKEY": "PK", "oemmanufacturername": "HP", "Id": "x"})
    assert (dev.serial_number, dev.product_key, dev.manufacturer, dev.device_id) == ("S1", "PK", "HP", "x")
