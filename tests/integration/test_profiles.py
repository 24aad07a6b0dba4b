"""Autopilot profiles against the emulator: the profile modules, and profiles assigned on registration.
Every claim about writes is read from the emulator's request log. Registration runs against the published
answers and the recorded ones (a device's listing names its profile by name: docs/emulator.md)."""
import pytest

from tests.helpers import CUSTOMER, device

PROFILE = "partnercenter.autopilot.partnercenter_autopilot_profile"
INFO = "partnercenter.autopilot.partnercenter_autopilot_profile_info"
BATCH = "partnercenter.autopilot.partnercenter_device_batch"
KIOSK = {"customer_id": CUSTOMER, "name": "Kiosk", "description": "Shared devices",
         "settings": ["skip_eula", "oobe_user_not_local_admin"]}


def writes(emulator, method=None):
    return [(e["method"], e["path"]) for e in emulator.writes() if method is None or e["method"] == method]


def batch_args(devices, **extra):
    return dict({"customer_id": CUSTOMER, "batch_id": "kiosks", "devices": devices, "poll_interval": 0.1}, **extra)


def test_profile_create_rerun_update_delete(emulator, run_module):
    created = run_module(PROFILE, KIOSK, diff=True).result
    assert created["changed"] and created["profile"]["name"] == "Kiosk"
    [(method, path)] = writes(emulator)
    assert (method, path) == ("POST", "/v1/customers/%s/policies" % CUSTOMER)
    post = emulator.writes()[0]["body"]
    assert post == {"name": "Kiosk", "category": "o_o_b_e", "description": "Shared devices",
                    "policySettings": ["oobe_user_not_local_admin", "skip_eula"]}
    [stored] = emulator.policy_list(CUSTOMER)
    assert created["profile"]["id"] == stored["id"] and created["profile"]["devices_assigned"] == 0
    assert created["diff"]["before"] == {} and created["diff"]["after"]["settings"] == [
        "oobe_user_not_local_admin", "skip_eula"]

    # Same declaration, settings in another order: 0 writes.
    emulator.clear_log()
    again = run_module(PROFILE, dict(KIOSK, settings=["oobe_user_not_local_admin", "skip_eula"])).result
    assert again["changed"] is False and writes(emulator) == [] and again["profile"]["id"] == stored["id"]

    # One setting more: exactly one PUT of the whole object; the description, not declared, is kept.
    emulator.clear_log()
    updated = run_module(PROFILE, {"customer_id": CUSTOMER, "name": "Kiosk", "settings": [
        "skip_eula", "oobe_user_not_local_admin", "skip_express_settings"]}).result
    assert updated["changed"] and writes(emulator) == [("PUT", "/v1/customers/%s/policies/%s" % (CUSTOMER,
                                                                                                 stored["id"]))]
    put = emulator.writes()[0]["body"]
    assert put["id"] == stored["id"] and put["category"] == "o_o_b_e" and put["description"] == "Shared devices"
    assert sorted(put["policySettings"]) == ["oobe_user_not_local_admin", "skip_eula", "skip_express_settings"]
    assert sorted(emulator.policy_list(CUSTOMER)[0]["policySettings"]) == sorted(put["policySettings"])

    # Check mode deletes nothing; absent deletes with one DELETE, then 0 writes.
    emulator.clear_log()
    checked = run_module(PROFILE, dict(KIOSK, state="absent"), check=True).result
    assert checked["changed"] and writes(emulator) == [] and len(emulator.policy_list(CUSTOMER)) == 1
    gone = run_module(PROFILE, dict(KIOSK, state="absent")).result
    path = "/v1/customers/%s/policies/%s" % (CUSTOMER, stored["id"])
    assert gone["changed"] and writes(emulator) == [("DELETE", path)]
    assert emulator.policy_list(CUSTOMER) == []
    emulator.clear_log()
    assert run_module(PROFILE, dict(KIOSK, state="absent")).result["changed"] is False
    assert writes(emulator) == []


def test_namesakes_fail_listing_ids_and_profile_id_picks_one(emulator, run_module):
    first = emulator.seed_policy(CUSTOMER, "Kiosk", ["skip_eula"])
    second = emulator.seed_policy(CUSTOMER, "Kiosk", ["skip_eula"])
    failed = run_module(PROFILE, KIOSK).result
    assert failed.get("failed") and first in failed["msg"] and second in failed["msg"]
    assert "profile_id" in failed["msg"] and writes(emulator) == []
    # profile_id chooses one and renames it: one PUT, to that id.
    renamed = run_module(PROFILE, {"customer_id": CUSTOMER, "name": "Kiosk (old)", "profile_id": second}).result
    assert renamed["changed"], renamed
    assert writes(emulator) == [("PUT", "/v1/customers/%s/policies/%s" % (CUSTOMER, second))]
    info = run_module(INFO, {"customer_id": CUSTOMER, "name": "Kiosk"}).result
    assert [p["id"] for p in info["profiles"]] == [first]
    assert writes(emulator, "POST") == [] and len(writes(emulator)) == 1  # the info module wrote nothing


def test_absent_refuses_a_profile_devices_carry_unless_forced(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "kiosks", [{"ProductKey": "PK-1"}])
    policy = emulator.seed_policy(CUSTOMER, "Kiosk", ["skip_eula"])
    emulator.assign_seeded(CUSTOMER, [emulator.batch_devices(CUSTOMER, "kiosks")[0]["id"]], policy)
    refused = run_module(PROFILE, dict(KIOSK, state="absent")).result
    assert refused.get("failed") and "assigned to 1 devices" in refused["msg"] and writes(emulator) == []
    forced = run_module(PROFILE, dict(KIOSK, state="absent", force=True)).result
    assert forced["changed"] and writes(emulator, "DELETE") == [
        ("DELETE", "/v1/customers/%s/policies/%s" % (CUSTOMER, policy))]


@pytest.mark.parametrize("mode", ["published", "recorded"])
def test_registration_assigns_the_batch_profile_once(emulator, run_module, mode):
    emulator.answer_mode = mode
    policy = emulator.seed_policy(CUSTOMER, "Kiosk", ["skip_eula"])
    devices = [device(i) for i in range(3)]
    first = run_module(BATCH, batch_args(devices, profile="Kiosk")).result
    assert first["changed"] and not first.get("failed"), first.get("msg")
    registered = emulator.batch_devices(CUSTOMER, "kiosks")
    # One upload, then one assignment naming every device with the profile's id.
    assert [m for m, _p in writes(emulator)] == ["POST", "PATCH"]
    [patch] = [e for e in emulator.writes() if e["method"] == "PATCH"]
    assert patch["path"] == "/v1/customers/%s/DevicePolicyUpdates" % CUSTOMER
    assert sorted((d["id"], d["policies"]) for d in patch["body"]["devices"]) == sorted(
        (d["id"], [{"key": "o_o_b_e", "value": policy}]) for d in registered)
    assert all(emulator.device_policy(CUSTOMER, d["id"]) == policy for d in registered)
    assert sorted(d["serial_number"] for d in first["profile_assigned"]) == ["SN-00000", "SN-00001", "SN-00002"]
    assert [(d["profile"], d["profile_status"]) for d in first["devices"]] == [("Kiosk", "assigned")] * 3
    assert [j["kind"] for j in first["jobs"]] == ["upload", "profile"]
    assert all(j["status"] == "finished" for j in first["jobs"])

    emulator.clear_log()
    second = run_module(BATCH, batch_args(devices, profile="Kiosk")).result
    assert second["changed"] is False and writes(emulator) == [], "a re-run assigned the profile again"
    assert [a["status"] for a in second["profile_assignments"]] == ["already_assigned"] * 3

    # A device-level override: one assignment, for that device only.
    emulator.clear_log()
    other = emulator.seed_policy(CUSTOMER, "Frontline", [])
    devices[1]["profile"] = "Frontline"
    third = run_module(BATCH, batch_args(devices, profile="Kiosk"), check=True, diff=True).result
    assert third["changed"]
    assert (third["diff"]["before"]["profiles"], third["diff"]["after"]["profiles"]) == (
        {"SN-00001": "Kiosk"}, {"SN-00001": "Frontline"})
    assert third["plan"]["would_assign"] == [{"serial_number": "SN-00001", "product_key": None}]
    assert writes(emulator) == []
    third = run_module(BATCH, batch_args(devices, profile="Kiosk")).result
    assert third["changed"] and [m for m, _p in writes(emulator)] == ["PATCH"]
    [patch] = emulator.writes()
    [target] = [d for d in registered if d["serialNumber"] == "SN-00001"]
    assert patch["body"]["devices"] == [{"id": target["id"], "policies": [{"key": "o_o_b_e", "value": other}]}]
    assert emulator.device_policy(CUSTOMER, target["id"]) == other


def test_unknown_profile_fails_before_any_write(emulator, run_module):
    emulator.seed_policy(CUSTOMER, "Kiosk", [])
    # A name not listed is looked for again for a while (a new profile is listed late): wait_timeout bounds it.
    failed = run_module(BATCH, batch_args([device(0)], profile="Kiosks", wait_timeout=2)).result
    assert failed.get("failed") and "'Kiosks'" in failed["msg"] and CUSTOMER in failed["msg"]
    assert "looked for 2 s" in failed["msg"]
    assert "declared by devices[0] (serial SN-00000)" in failed["msg"], "the message names who declared it"
    assert [(d["outcome"], "'Kiosks'" in d["explanation"]) for d in failed["devices"]] == [("refused", True)]
    assert writes(emulator) == [] and emulator.batch_ids(CUSTOMER) == []
    lists = [e for e in emulator.requests("GET") if e["path"].endswith("/policies")]
    assert len(lists) >= 2 and lists[-1]["time"] - lists[0]["time"] >= 2 - 0.1 * 2


def test_a_profile_created_earlier_in_the_play_is_found_though_not_listed_yet(emulator, run_module):
    """The profile task answers with the new profile at once; its listing comes only after the lag."""
    emulator.listing_lag = 3.0
    created = run_module(PROFILE, dict(KIOSK)).result
    assert created["changed"] and created["profile"]["id"]
    result = run_module(BATCH, batch_args([device(i) for i in range(2)], profile="Kiosk")).result
    assert not result.get("failed"), result.get("msg")
    assert [m for m, _p in writes(emulator)] == ["POST", "POST", "PATCH"], "one profile, one upload, one assignment"
    assert all(emulator.device_policy(CUSTOMER, d["id"]) == created["profile"]["id"]
               for d in emulator.batch_devices(CUSTOMER, "kiosks"))
    assert [d["profile_status"] for d in result["devices"]] == ["assigned"] * 2


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_lost_profile_write_not_listed_yet_is_read_back_not_sent_again(emulator, run_module, method):
    """The read-back outlasts the listing lag: resending at once would create a namesake."""
    if method == "PUT":
        emulator.seed_policy(CUSTOMER, "Kiosk", [])
    emulator.listing_lag = 4.0
    emulator.add_fault("status_after_apply", method=method, path="policies", status=504)
    result = run_module(PROFILE, dict(KIOSK)).result
    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert len(writes(emulator, method)) == 1
    assert [p["name"] for p in emulator.policy_list(CUSTOMER)] == ["Kiosk"]
    emulator.clear_log()
    again = run_module(PROFILE, dict(KIOSK)).result
    assert again["changed"] is False and writes(emulator) == []


def test_registration_waits_for_new_devices_to_be_listed_before_assigning(emulator, run_module):
    """Job answers without device ids (the recorded answers give none for a failure, and nothing promises them
    for a success): the new devices are found in the listing, which shows them only after the lag."""
    emulator.listing_lag = 3.0
    emulator.job_device_ids = False
    policy = emulator.seed_policy(CUSTOMER, "Kiosk", [])
    result = run_module(BATCH, batch_args([device(i) for i in range(2)], profile="Kiosk")).result
    assert not result.get("failed"), result.get("msg")
    assert [d["profile_status"] for d in result["devices"]] == ["assigned"] * 2
    assert all(emulator.device_policy(CUSTOMER, d["id"]) == policy for d in emulator.batch_devices(CUSTOMER))


def test_lost_assignment_answer_is_read_back_not_sent_again(emulator, run_module):
    policy = emulator.seed_policy(CUSTOMER, "Kiosk", [])
    emulator.seed_batch(CUSTOMER, "kiosks", [{"ProductKey": "PK-%d" % i} for i in range(3)])
    emulator.add_fault("status_after_apply", method="PATCH", path="DevicePolicyUpdates", status=504)
    result = run_module(BATCH, batch_args([{"product_key": "PK-%d" % i} for i in range(3)], profile="Kiosk")).result
    assert result["changed"] and not result.get("failed"), result.get("msg")
    assert len(writes(emulator, "PATCH")) == 1 and len(emulator.assigned_devices()) == 3
    assert sorted(d["product_key"] for d in result["profile_assigned"]) == ["PK-0", "PK-1", "PK-2"]
    assert all(emulator.device_policy(CUSTOMER, d["id"]) == policy for d in emulator.batch_devices(CUSTOMER))
    assert any("resolving by reading the devices again" in w for w in result.get("warnings", []))


def test_failed_assignment_is_reported_per_device(emulator, run_module):
    emulator.seed_policy(CUSTOMER, "Kiosk", [])
    emulator.seed_batch(CUSTOMER, "kiosks", [{"ProductKey": "PK-0"}, {"ProductKey": "PK-1"}])
    bad = emulator.batch_devices(CUSTOMER, "kiosks")[1]["id"]
    emulator.policy_failures.add(bad)
    devices = [{"product_key": "PK-0"}, {"product_key": "PK-1"}]
    tolerant = run_module(BATCH, batch_args(devices, profile="Kiosk", fail_on_device_errors=False)).result
    assert not tolerant.get("failed") and tolerant["changed"]
    assert [(a["product_key"], a["status"]) for a in tolerant["profile_assignments"]] == [
        ("PK-0", "assigned"), ("PK-1", "failed")]
    assert tolerant["profile_assignments"][1]["error_description"]
    assert any("did not get their profile" in w for w in tolerant.get("warnings", []))
    # The failed device is tried again on the next run (and only it); fail_on_device_errors fails the task.
    emulator.clear_log()
    strict = run_module(BATCH, batch_args(devices, profile="Kiosk")).result
    assert strict.get("failed") and "PK-1" in strict["msg"]
    [patch] = emulator.writes()
    assert [d["id"] for d in patch["body"]["devices"]] == [bad]


def test_a_profile_declared_for_a_customer_named_by_domain(emulator, run_module):
    by_name = dict((k, v) for k, v in KIOSK.items() if k != "customer_id")
    created = run_module(PROFILE, dict(by_name, customer="Contoso.onmicrosoft.com")).result
    assert created["changed"] and created["customer_name"] == "Contoso"
    assert [p["name"] for p in emulator.policy_list(CUSTOMER)] == ["Kiosk"]
    unknown = run_module(PROFILE, dict(by_name, customer="nowhere.example")).result
    assert unknown["failed"] and "'nowhere.example' is not a customer of this partner" in unknown["msg"]
    assert len([e for e in emulator.writes() if e["method"] == "POST"]) == 1
