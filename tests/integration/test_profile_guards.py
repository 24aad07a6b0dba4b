"""The profile module's guards that `make mutants` removes (tools/mutants.py): a write whose answer is lost is
read back, never sent again at once; check mode writes nothing, for a create and an update too.

Every claim about writes is read from the emulator's request log. The assertion messages are the kill marks
tools/mutants.py looks for: keep them in step.
"""
import pytest

from tests.helpers import CUSTOMER

PROFILE = "partnercenter.autopilot.partnercenter_autopilot_profile"
KIOSK = {"customer_id": CUSTOMER, "name": "Kiosk", "description": "Shared devices",
         "settings": ["skip_eula", "oobe_user_not_local_admin"]}
# How an answer gets lost: the connection dropped, or a gateway timeout, each after the write was carried out.
LOST = [pytest.param(dict(action="drop_after_apply"), id="dropped"),
        pytest.param(dict(action="status_after_apply", status=504), id="504")]
RESENT = "profile write sent again after a lost answer"
CHECK_WROTE = "check mode wrote"


def writes(emulator, method=None):
    return [(e["method"], e["path"]) for e in emulator.writes() if method is None or e["method"] == method]


def namesakes(emulator, name):
    return [p for p in emulator.policy_list(CUSTOMER) if p["name"] == name]


def assert_answer_was_lost(emulator, method):
    [entry] = [e for e in emulator.writes() if e["method"] == method]
    assert entry["fault"] and entry.get("applied"), "the fault must have hit the write after applying it: %r" % entry


@pytest.mark.parametrize("fault", LOST)
def test_lost_answer_on_profile_post_is_read_back_one_profile(emulator, run_module, fault):
    emulator.add_fault(method="POST", path="/policies$", **fault)
    result = run_module(PROFILE, KIOSK).result
    posts = writes(emulator, "POST")
    assert len(posts) == 1, "%s: %d POSTs %r" % (RESENT, len(posts), posts)
    assert writes(emulator) == [("POST", "/v1/customers/%s/policies" % CUSTOMER)]
    assert_answer_was_lost(emulator, "POST")
    [stored] = namesakes(emulator, "Kiosk")
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and result["profile"]["id"] == stored["id"]
    assert result["profile"]["settings"] == ["oobe_user_not_local_admin", "skip_eula"]
    # The read-back happened: a listing after the lost POST.
    after = [e for e in emulator.requests() if e["time"] > emulator.writes()[0]["time"]]
    assert [e["method"] for e in after if e["path"].startswith("/v1/")] == ["GET"]

    emulator.clear_log()
    again = run_module(PROFILE, KIOSK).result
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False and writes(emulator) == [], "a re-run wrote %r" % writes(emulator)
    assert again["profile"]["id"] == stored["id"] and len(namesakes(emulator, "Kiosk")) == 1


@pytest.mark.parametrize("fault", LOST)
def test_lost_answer_on_profile_put_is_read_back_one_update(emulator, run_module, fault):
    policy = emulator.seed_policy(CUSTOMER, "Kiosk", ["skip_eula"], description="Shared devices")
    emulator.add_fault(method="PUT", path="/policies/", **fault)
    declared = dict(KIOSK, settings=["skip_eula", "oobe_user_not_local_admin", "skip_express_settings"])
    result = run_module(PROFILE, declared).result
    puts = writes(emulator, "PUT")
    assert len(puts) == 1, "%s: %d PUTs %r" % (RESENT, len(puts), puts)
    assert writes(emulator) == [("PUT", "/v1/customers/%s/policies/%s" % (CUSTOMER, policy))]
    assert_answer_was_lost(emulator, "PUT")
    [stored] = namesakes(emulator, "Kiosk")
    assert stored["id"] == policy
    assert sorted(stored["policySettings"]) == ["oobe_user_not_local_admin", "skip_eula", "skip_express_settings"]
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and result["profile"]["id"] == policy
    assert result["profile"]["settings"] == ["oobe_user_not_local_admin", "skip_eula", "skip_express_settings"]

    emulator.clear_log()
    again = run_module(PROFILE, declared).result
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False and writes(emulator) == [], "a re-run wrote %r" % writes(emulator)
    assert len(emulator.policy_list(CUSTOMER)) == 1


def test_check_mode_create_writes_nothing_and_shows_the_profile_it_would_create(emulator, run_module):
    result = run_module(PROFILE, KIOSK, check=True, diff=True).result
    assert writes(emulator) == [], "%s: %r" % (CHECK_WROTE, writes(emulator))
    assert emulator.policy_list(CUSTOMER) == [], "%s: %r" % (CHECK_WROTE, emulator.policy_list(CUSTOMER))
    assert [e["method"] for e in emulator.requests() if e["path"].startswith("/v1/")] == ["GET"]
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    # As documented: the profile as it would be, its id null (it does not exist yet).
    would = result["profile"]
    assert would["id"] is None and would["name"] == "Kiosk" and would["description"] == "Shared devices"
    assert would["settings"] == ["oobe_user_not_local_admin", "skip_eula"]
    assert result["diff"]["before"] == {} and result["diff"]["after"] == would


def test_check_mode_update_writes_nothing_and_shows_before_and_after(emulator, run_module):
    policy = emulator.seed_policy(CUSTOMER, "Kiosk", ["skip_eula"], description="Shared devices")
    declared = {"customer_id": CUSTOMER, "name": "Kiosk",
                "settings": ["skip_eula", "oobe_user_not_local_admin", "skip_express_settings"]}
    result = run_module(PROFILE, declared, check=True, diff=True).result
    assert writes(emulator) == [], "%s: %r" % (CHECK_WROTE, writes(emulator))
    [stored] = emulator.policy_list(CUSTOMER)
    assert stored["policySettings"] == ["skip_eula"], "%s: %r" % (CHECK_WROTE, stored)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    would = result["profile"]
    assert would["id"] == policy and would["description"] == "Shared devices"  # not declared: kept
    assert would["settings"] == ["oobe_user_not_local_admin", "skip_eula", "skip_express_settings"]
    assert result["diff"]["before"]["id"] == policy and result["diff"]["before"]["settings"] == ["skip_eula"]
    assert result["diff"]["after"] == would

    # Without --diff the diff is not returned; still no write.
    plain = run_module(PROFILE, declared, check=True).result
    assert plain["changed"] is True and "diff" not in plain
    assert writes(emulator) == [], "%s: %r" % (CHECK_WROTE, writes(emulator))
