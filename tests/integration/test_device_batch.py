"""partnercenter_device_batch through ansible-playbook against the emulator; claims checked on its request log."""
import pytest

from tests.helpers import CUSTOMER, CUSTOMER_B, api_device, device, hw_hash
from tests.playbooks import run_playbook

MODULE = "partnercenter.autopilot.partnercenter_device_batch"
CUSTOMER_C = "0b9d2f6e-8a41-4c5e-9f3a-2d7c61e4b8a0"


def args(devices, batch_id="contoso-2026-11", **extra):
    base = {"customer_id": CUSTOMER, "batch_id": batch_id, "devices": devices, "poll_interval": 0.1}
    base.update(extra)
    return base


def upload_posts(emulator):
    return [e for e in emulator.writes() if e["method"] == "POST"]


def test_create_then_rerun_writes_nothing(emulator, run_module):
    devices = [device(i) for i in range(3)]
    first = run_module(MODULE, args(devices))
    r = first.result
    assert r["changed"] and r["created"] and r["job_status"] == "finished" and not r.get("failed")
    assert [d["serial_number"] for d in r["added"]] == ["SN-00000", "SN-00001", "SN-00002"]
    assert r["tracking_id"] and r["location"].endswith(r["tracking_id"])
    posts = upload_posts(emulator)
    assert len(posts) == 1 and posts[0]["path"].endswith("/deviceBatches")
    assert posts[0]["body"]["BatchId"] == "contoso-2026-11" and len(posts[0]["body"]["Devices"]) == 3
    assert_object_types(posts[0]["body"])
    assert posts[0]["headers"]["MS-PartnerCenter-Application"].startswith("partnercenter.autopilot/")
    assert {"MS-RequestId", "MS-CorrelationId", "X-Locale", "Authorization"} <= set(posts[0]["headers"])
    assert len(emulator.batch_devices(CUSTOMER, "contoso-2026-11")) == 3

    emulator.clear_log()
    second = run_module(MODULE, args(devices))
    assert second.result["changed"] is False and not second.result["created"]
    assert emulator.writes() == []
    assert len(second.result["already_present"]) == 3
    recap = second.stdout.split("PLAY RECAP")[1]
    assert "changed=1 " in recap  # only the task that hands the result to the test


def assert_object_types(body):
    """The service reads the typed bodies of its SDK: a create request, or a plain list of devices."""
    if isinstance(body, dict):
        assert body["Attributes"]["ObjectType"] == "DeviceBatchCreationRequest", body["Attributes"]
        devices = body["Devices"]
    else:
        devices = body
    assert devices and [d["Attributes"]["ObjectType"] for d in devices] == ["Device"] * len(devices)


def test_templated_devices_reach_the_service_rendered(emulator, run_module):
    # The action plugin hands the device list to the module in a file: what it writes must be the rendered
    # values, whether they come from a variable, a filter or templates inside the list.
    devices = [{"serial_number": "{{ 'SN-T' ~ 1 }}", "manufacturer": "{{ 'Contoso' | upper }}", "model": "M"},
               {"serial_number": "SN-T2", "hardware_hash": "{{ '%s' }}" % hw_hash("t2", 300)}]
    r = run_module(MODULE, args(devices)).result
    assert r["changed"] and [d["serial_number"] for d in r["added"]] == ["SN-T1", "SN-T2"]
    sent = upload_posts(emulator)[0]["body"]["Devices"]
    assert [d["SerialNumber"] for d in sent] == ["SN-T1", "SN-T2"]
    assert sent[0]["OemManufacturerName"] == "CONTOSO" and sent[1]["HardwareHash"] == hw_hash("t2", 300)


def test_add_one_device_sends_exactly_that_device(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "contoso-2026-11", [api_device(device(i)) for i in range(5)])
    devices = [device(i) for i in range(6)]
    r = run_module(MODULE, args(devices)).result
    assert r["changed"] and not r["created"]
    posts = upload_posts(emulator)
    assert len(posts) == 1 and posts[0]["path"].endswith("/deviceBatches/contoso-2026-11/devices")
    assert [d["SerialNumber"] for d in posts[0]["body"]] == ["SN-00005"]
    assert_object_types(posts[0]["body"])
    assert [d["serial_number"] for d in r["added"]] == ["SN-00005"]
    assert len(r["already_present"]) == 5


def test_check_mode_plans_without_writing(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "contoso-2026-11", [api_device(device(0))])
    r = run_module(MODULE, args([device(0), device(1)]), check=True).result
    assert r["changed"] is True
    assert [d["serial_number"] for d in r["plan"]["would_add"]] == ["SN-00001"]
    assert [d["serial_number"] for d in r["plan"]["already_present"]] == ["SN-00000"]
    assert emulator.writes() == []
    assert len(emulator.batch_devices(CUSTOMER)) == 1


def test_diff_shows_identities_never_hashes(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "contoso-2026-11", [api_device(device(0))])
    devices = [device(0), device(1), {"hardware_hash": hw_hash("hash-only", 300)}]
    run = run_module(MODULE, args(devices), check=True, diff=True)
    diff = run.result["diff"]
    assert diff["before"]["devices"] == ["SN-00000"]
    assert "SN-00001" in diff["after"]["devices"] and len(diff["after"]["devices"]) == 3
    for dev in devices:
        assert dev["hardware_hash"][:40] not in run.stdout
    assert '+        "SN-00001"' in run.stdout  # the diff callback shows the added identity


def test_absent_removes_listed_devices(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "b", [api_device(device(i, with_hash=False)) for i in range(3)])
    r = run_module(MODULE, args([device(1, with_hash=False)], batch_id="b", state="absent")).result
    assert r["changed"] and [d["serial_number"] for d in r["removed"]] == ["SN-00001"]
    assert [(d["serial_number"], d["outcome"]) for d in r["devices"]] == [("SN-00001", "removed")]
    deletes = [e for e in emulator.writes() if e["method"] == "DELETE"]
    assert len(deletes) == 1
    assert sorted(d["serialNumber"] for d in emulator.batch_devices(CUSTOMER, "b")) == ["SN-00000", "SN-00002"]
    again = run_module(MODULE, args([device(1, with_hash=False)], batch_id="b", state="absent")).result
    assert again["changed"] is False and len(emulator.writes()) == 1
    assert again["devices"] == []  # declared, not registered: nothing to report (RETURN says so)


def test_absent_without_devices_needs_force(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "b", [api_device(device(i, with_hash=False)) for i in range(2)])
    refused = run_module(MODULE, {"customer_id": CUSTOMER, "batch_id": "b", "state": "absent"}).result
    assert refused["failed"] and "force" in refused["msg"] and emulator.requests() == []
    r = run_module(MODULE, {"customer_id": CUSTOMER, "batch_id": "b", "state": "absent", "force": True}).result
    assert r["changed"] and len(r["removed"]) == 2 and emulator.batch_devices(CUSTOMER, "b") == []


def test_purge_removes_unlisted_devices_of_this_batch_only(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "b", [api_device(device(i, with_hash=False)) for i in range(3)])
    emulator.seed_batch(CUSTOMER, "other", [api_device(device(9, with_hash=False))])
    keep = [device(0, with_hash=False), device(4, with_hash=False)]
    r = run_module(MODULE, args(keep, batch_id="b", purge=True)).result
    assert sorted(d["serial_number"] for d in r["removed"]) == ["SN-00001", "SN-00002"]
    assert [d["serial_number"] for d in r["added"]] == ["SN-00004"]
    assert sorted(d["serialNumber"] for d in emulator.batch_devices(CUSTOMER, "b")) == ["SN-00000", "SN-00004"]
    assert [d["serialNumber"] for d in emulator.batch_devices(CUSTOMER, "other")] == ["SN-00009"]
    refused = run_module(MODULE, args([{"hardware_hash": hw_hash("x", 300)}], batch_id="b", purge=True)).result
    assert refused["failed"] and "hardware_hash" in refused["msg"]


def test_hash_only_devices_rerun_without_failure(emulator, run_module):
    devices = [{"hardware_hash": hw_hash("only-%d" % i, 300)} for i in range(2)]
    first = run_module(MODULE, args(devices)).result
    assert first["changed"] and len(first["plan"]["unverifiable"]) == 2
    second = run_module(MODULE, args(devices)).result
    assert not second.get("failed"), second.get("msg")
    assert second["changed"] is False
    assert [d["outcome"] for d in second["devices"]] == ["already_present", "already_present"]
    assert len(second["already_present"]) == 2 and second["added"] == []


def test_device_of_another_tenant_fails_with_explanation(emulator, run_module):
    emulator.foreign_keys.add(("serial", "SN-00001"))
    devices = [device(0), device(1)]
    r = run_module(MODULE, args(devices)).result
    assert r["failed"] and "SN-00001" in r["msg"] and "another tenant" in r["msg"] and "808" in r["msg"]
    assert r["tracking_id"] and len(r["devices"]) == 2
    bad = [d for d in r["devices"] if d["outcome"] == "failed"]
    assert bad[0]["error_code"] == "808" and bad[0]["error_description"] == "ZtdDeviceAssignedToOtherTenant"
    lenient = run_module(MODULE, args([device(1), device(2)], fail_on_device_errors=False)).result
    assert not lenient.get("failed") and lenient["changed"]
    assert [d["outcome"] for d in lenient["devices"]] == ["failed", "registered"]
    assert any("could not be registered" in w for w in lenient.get("warnings", []))


def test_recorded_answers_806_and_808_without_descriptions_paging_and_batch_id_casing(emulator, run_module):
    """answer_mode recorded: job results carry codes without descriptions, batches are listed without status,
    pages are linked with their own query; a batch declared in another casing is the one that exists."""
    emulator.answer_mode = "recorded"
    emulator.page_size = 2
    emulator.seed_batch(CUSTOMER, "Contoso-2026-11", [api_device(device(i, with_hash=False)) for i in range(3)])
    # SN-00000..2 are listed (paged), SN-00003 is registered in this tenant as a hash only (so not matched by
    # reading: the job answers 806), SN-00004 belongs to another tenant (808).
    emulator.seed_batch(CUSTOMER, "hashes", [{"HardwareHash": device(3)["hardware_hash"]}])
    emulator.foreign_keys.add(("serial", "SN-00004"))
    devices = [device(i, with_hash=False) for i in range(3)] + [
        {"hardware_hash": device(3)["hardware_hash"]}, device(4), device(5)]
    r = run_module(MODULE, args(devices, batch_id="contoso-2026-11", fail_on_device_errors=False)).result
    assert not r.get("failed"), r.get("msg")
    assert r["batch_id"] == "Contoso-2026-11" and r["created"] is False
    assert any("exists as 'Contoso-2026-11'" in w for w in r.get("warnings", []))
    [post] = upload_posts(emulator)
    assert post["path"].endswith("/deviceBatches/Contoso-2026-11/devices") and len(post["body"]) == 3
    outcomes = dict(((d["serial_number"] or "hash"), d) for d in r["devices"])
    assert outcomes["SN-00004"]["outcome"] == "failed" and outcomes["SN-00004"]["error_description"] is None
    assert "another tenant" in outcomes["SN-00004"]["explanation"]
    assert outcomes["SN-00005"]["outcome"] == "registered"
    hashed = [d for d in r["devices"] if not d["serial_number"]]
    assert [d["outcome"] for d in hashed] == ["already_present"] and hashed[0]["error_code"] == "806"
    assert sorted(d["serial_number"] for d in r["already_present"] if d["serial_number"]) == [
        "SN-00000", "SN-00001", "SN-00002"]
    assert any("another tenant" in w and "808" in w for w in r.get("warnings", []))


def test_bad_input_sends_no_request(emulator, run_module):
    devices = [device(0), {"serial_number": "LONELY"}, {"serial_number": 12345, "manufacturer": "x", "model": "y"},
               {"hardware_hash": "not base64!"}, device(0)]
    r = run_module(MODULE, args(devices)).result
    assert r["failed"]
    for needle in ("devices[1] (serial LONELY)", "devices[2]", "must be a string", "devices[3]",
                   "not base64", "devices[4] (serial SN-00000): duplicate of devices[0]"):
        assert needle in r["msg"], needle
    assert len(r["errors"]) == 4
    assert emulator.requests() == []  # not even a token request


def test_paging_over_many_devices(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "big", [api_device(device(i)) for i in range(260)])
    r = run_module(MODULE, args([device(i) for i in range(260)], batch_id="big")).result
    assert r["changed"] is False and len(r["already_present"]) == 260
    pages = emulator.requests("GET", "/deviceBatches/big/devices$")
    assert len(pages) == 3 and "MS-ContinuationToken" in pages[2]["headers"]
    assert emulator.writes() == []


def test_throttling_survived_without_duplicates(emulator, run_module):
    emulator.add_fault("status", method="POST", path="/deviceBatches$", status=429, retry_after=1, times=2)
    emulator.add_fault("status", method="GET", path="/deviceBatches$", status=503, times=1)
    r = run_module(MODULE, args([device(i) for i in range(4)])).result
    assert not r.get("failed"), r.get("msg")
    posts = upload_posts(emulator)
    assert [p["status"] for p in posts] == [429, 429, 202]
    assert len({p["headers"]["MS-RequestId"] for p in posts}) == 1  # one logical call, retried
    assert gaps_at_least(posts, 0.9)
    assert len(emulator.uploaded_devices()) == 4  # two sends refused by the service, one accepted
    assert len(emulator.batch_devices(CUSTOMER)) == 4


def gaps_at_least(entries, seconds):
    return all(b["time"] - a["time"] >= seconds for a, b in zip(entries, entries[1:]))


def test_lost_answer_resolved_by_rereading(emulator, run_module):
    emulator.add_fault("drop_after_apply", method="POST", path="/deviceBatches$", times=1)
    devices = [device(i) for i in range(3)]
    r = run_module(MODULE, args(devices, timeout=3)).result
    assert not r.get("failed"), r.get("msg")
    assert r["changed"] is True and len(r["added"]) == 3, "the lost POST registered them: this run did"
    assert len(upload_posts(emulator)) == 1, "the lost POST must not be sent again"
    assert len(emulator.batch_devices(CUSTOMER)) == 3
    assert any("re-read" in w or "reading the batch again" in w for w in r["warnings"])


def test_chunks_of_500(emulator, run_module):
    devices = [device(i, with_hash=False) for i in range(1001)]
    r = run_module(MODULE, args(devices, batch_id="large")).result
    assert not r.get("failed"), r.get("msg")
    posts = upload_posts(emulator)
    sizes = [len(p["body"]["Devices"]) if isinstance(p["body"], dict) else len(p["body"]) for p in posts]
    assert sizes == [500, 500, 1]
    assert posts[0]["path"].endswith("/deviceBatches") and posts[1]["path"].endswith("/large/devices")
    assert len(r["jobs"]) == 3 and len(r["added"]) == 1001


def serials(devices):
    return [d["serial_number"] for d in devices]


def test_batch_scope_ignores_other_batches(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "other", [api_device(device(0))])
    wanted = [device(0), device(1)]

    # Default (customer) scope: SN-00000 is registered in "other", so only SN-00001 goes to the new batch.
    customer_scope = run_module(MODULE, args(wanted, batch_id="new")).result
    assert customer_scope["changed"] and customer_scope["created"]
    assert serials(customer_scope["added"]) == ["SN-00001"]
    assert serials(customer_scope["already_present"]) == ["SN-00000"]
    assert [d["SerialNumber"] for d in emulator.uploaded_devices()] == ["SN-00001"]
    assert_object_types(upload_posts(emulator)[0]["body"])

    # Batch scope only reads "new": SN-00000 is uploaded into it, for real, and the service's answer (806,
    # already this customer's) is reported as present, not as a failure or a change.
    emulator.clear_log()
    r = run_module(MODULE, args(wanted, batch_id="new", match_scope="batch")).result
    assert not r.get("failed"), r.get("msg")
    assert serials(r["plan"]["would_add"]) == ["SN-00000"]
    assert serials(r["plan"]["already_present"]) == ["SN-00001"]
    posts = upload_posts(emulator)
    assert len(posts) == 1 and posts[0]["path"].endswith("/deviceBatches/new/devices") and posts[0]["status"] == 202
    assert [(d["SerialNumber"], d["HardwareHash"]) for d in emulator.uploaded_devices()] == [
        ("SN-00000", device(0)["hardware_hash"])]
    assert_object_types(posts[0]["body"])
    assert emulator.requests("GET", "/deviceBatches/other/devices$") == []  # the other batch was not even read
    # One outcome per declared device: SN-00000 from the job's 806, SN-00001 from the listing.
    assert [(d["serial_number"], d["outcome"], d["error_description"]) for d in r["devices"]] == [
        ("SN-00000", "already_present", "ZtdDeviceAlreadyAssigned"), ("SN-00001", "already_present", None)]
    assert r["changed"] is False and r["added"] == [] and not r["created"]
    assert sorted(serials(r["already_present"])) == ["SN-00000", "SN-00001"]


@pytest.mark.parametrize("batch_id", ["Test batch", "a.b_c-d"])
def test_batch_names_with_spaces_and_punctuation(emulator, run_module, batch_id):
    r = run_module(MODULE, args([device(0)], batch_id=batch_id)).result
    assert r["changed"]
    again = run_module(MODULE, args([device(0), device(1)], batch_id=batch_id)).result
    assert [d["serial_number"] for d in again["added"]] == ["SN-00001"]
    post = upload_posts(emulator)[-1]
    assert post["raw_path"].endswith("/deviceBatches/%s/devices" % batch_id.replace(" ", "%20"))


# ----- many batches in one task (batches) ------------------------------------------------------------------
def batches_args(batches, **extra):
    base = {"batches": batches, "poll_interval": 0.1}
    base.update(extra)
    return base


def test_batches_upload_everything_before_waiting_then_rerun_writes_nothing(emulator, run_module):
    emulator.queue_seconds, emulator.process_seconds = 0.5, 1.0
    batches = [{"customer_id": CUSTOMER, "batch_id": "b-a", "devices": [device(0), device(1)]},
               {"customer_id": CUSTOMER_B, "batch_id": "b-b", "devices": [device(2)]},
               {"customer_id": CUSTOMER_C, "batch_id": "b-c", "devices": [device(3), device(4)]}]
    r = run_module(MODULE, batches_args(batches)).result
    assert r["changed"] and not r.get("failed")
    assert [(b["customer_id"], b["batch_id"], b["created"], b["job_status"]) for b in r["batches"]] == [
        (CUSTOMER, "b-a", True, "finished"), (CUSTOMER_B, "b-b", True, "finished"),
        (CUSTOMER_C, "b-c", True, "finished")]
    assert [[d["outcome"] for d in b["devices"]] for b in r["batches"]] == [["registered"] * 2, ["registered"],
                                                                            ["registered"] * 2]
    assert [(j["customer_id"], j["batch_id"], j["status"]) for j in r["jobs"]] == [
        (CUSTOMER, "b-a", "finished"), (CUSTOMER_B, "b-b", "finished"), (CUSTOMER_C, "b-c", "finished")]
    posts, polls = upload_posts(emulator), emulator.requests("GET", "/batchJobStatus/")
    assert len(posts) == 3 and all(p["path"].endswith("/deviceBatches") for p in posts)
    # All three jobs were running together: the last upload went out before the first status poll.
    assert max(p["time"] for p in posts) < min(p["time"] for p in polls)
    assert len(emulator.token_requests()) == 1

    emulator.clear_log()
    again = run_module(MODULE, batches_args(batches)).result
    assert again["changed"] is False and emulator.writes() == []
    assert [len(b["already_present"]) for b in again["batches"]] == [2, 1, 2]


def test_batches_invalid_input_names_batch_and_device_before_any_request(emulator, run_module):
    batches = [{"customer_id": CUSTOMER, "batch_id": "ok", "devices": [device(0)]},
               {"customer_id": CUSTOMER_B, "batch_id": "bad", "devices": [device(1), {"serial_number": "SN-X"}]},
               {"customer_id": "not-a-guid", "batch_id": "b", "devices": [device(2)]},
               {"customer_id": CUSTOMER, "batch_id": "b2", "devices": [device(3)], "colour": "red"}]
    r = run_module(MODULE, batches_args(batches, on_invalid="fail_task")).result
    assert r["failed"] and emulator.requests() == [] and emulator.token_requests() == []
    assert "batches[1] (%s / bad): devices[1] (serial SN-X)" % CUSTOMER_B in r["msg"]
    assert "batches[2] (not-a-guid / b): customer_id must be" in r["msg"]
    assert "batches[3] (%s / b2): unknown field colour" % CUSTOMER in r["msg"]
    assert len(r["errors"]) == 3


def test_a_batch_with_bad_input_is_refused_alone_and_the_others_register(emulator, run_module):
    """on_invalid refuse_batch (the default): of two batches, one with a malformed hash, the good one registers
    and the task fails naming the bad batch and its device; nothing of the bad batch is sent."""
    bad_hash = dict(device(2), hardware_hash="not base64!")
    batches = [{"customer_id": CUSTOMER, "batch_id": "good", "devices": [device(0), device(1)]},
               {"customer_id": CUSTOMER_B, "batch_id": "bad", "devices": [device(3), bad_hash]}]
    r = run_module(MODULE, batches_args(batches)).result
    assert r["failed"] and r["changed"]
    assert "1 of 2 batches failed" in r["msg"] and "%s / bad" % CUSTOMER_B in r["msg"]
    assert "devices[1] (serial SN-00002): hardware_hash is not base64" in r["msg"]
    good, bad = r["batches"]
    assert not good.get("failed") and [d["outcome"] for d in good["devices"]] == ["registered", "registered"]
    assert bad["failed"] and [(d["serial_number"], d["outcome"], d["status"]) for d in bad["devices"]] == [
        ("SN-00003", "refused", "not sent"), ("SN-00002", "refused", "not sent")]
    assert "not base64" in bad["devices"][1]["explanation"]
    assert bad["devices"][0]["explanation"].startswith("its batch was refused for other problems")
    assert [e["path"] for e in emulator.writes()] == ["/v1/customers/%s/deviceBatches" % CUSTOMER]
    assert emulator.batch_ids(CUSTOMER_B) == []


def test_batches_one_failing_customer_does_not_stop_the_others(emulator, run_module):
    emulator.unrelated_customers.add(CUSTOMER_B)
    batches = [{"customer_id": CUSTOMER_B, "batch_id": "refused", "devices": [device(0)]},
               {"customer_id": CUSTOMER, "batch_id": "fine", "devices": [device(1)]}]
    r = run_module(MODULE, batches_args(batches)).result
    assert r["failed"] and r["changed"]
    assert "1 of 2 batches failed" in r["msg"] and CUSTOMER_B in r["msg"] and "relationship" in r["msg"]
    refused, fine = r["batches"]
    assert refused["failed"] and "relationship" in refused["msg"] and refused["jobs"] == []
    assert not fine.get("failed") and [d["outcome"] for d in fine["devices"]] == ["registered"]
    assert [d["serialNumber"] for d in emulator.batch_devices(CUSTOMER, "fine")] == ["SN-00001"]


def test_batches_check_mode_and_diff(emulator, run_module):
    emulator.seed_batch(CUSTOMER, "b-a", [api_device(device(0))])
    batches = [{"customer_id": CUSTOMER, "batch_id": "b-a", "devices": [device(0), device(1)]},
               {"customer_id": CUSTOMER_B, "batch_id": "b-b", "devices": [device(2)]}]
    run = run_module(MODULE, batches_args(batches), check=True, diff=True)
    r = run.result
    assert r["changed"] and emulator.writes() == []
    assert [[d["serial_number"] for d in b["plan"]["would_add"]] for b in r["batches"]] == [["SN-00001"],
                                                                                            ["SN-00002"]]
    assert [d["after"]["devices"] for d in r["diff"]] == [["SN-00000", "SN-00001"], ["SN-00002"]]
    assert '+        "SN-00001"' in run.stdout and '+        "SN-00002"' in run.stdout  # one diff per batch


def test_a_retried_task_hands_the_devices_over_again(emulator, pc_env, tmp_path):
    # The action plugin trims the device list and secrets from the task's arguments once it has handed them
    # over; until/retries runs the same handler again, which must still have them.
    play = tmp_path / "retry.yml"
    play.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Register, and run again until the device is reported present
      %s:
        customer_id: %s
        batch_id: retried
        devices: [{serial_number: SN-R1, manufacturer: HP, model: M}]
        poll_interval: 0.1
      register: result
      until: result.already_present | length == 1
      retries: 1
      delay: 0
""" % (MODULE, CUSTOMER))
    proc = run_playbook(str(play), pc_env, args=["-v"])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "FAILED - RETRYING" in proc.stdout  # the first attempt registered it, the second found it present
    assert len(upload_posts(emulator)) == 1 and len(emulator.batch_devices(CUSTOMER, "retried")) == 1


def test_customers_named_by_domain_and_name_resolve_once_and_bad_names_refuse_only_their_batch(emulator, run_module):
    emulator.add_customer("9d1f0c2e-4b6a-4c8d-8e0f-1a2b3c4d5e6f", "contosolabs.onmicrosoft.com", "Contoso Labs")
    batches = [{"customer": "Contoso.onmicrosoft.com", "batch_id": "by-domain", "devices": [device(0)]},
               {"customer": "fabrikam", "batch_id": "by-name", "devices": [device(1)]},
               {"customer": "conto", "batch_id": "ambiguous", "devices": [device(2)]},
               {"customer": "nowhere.onmicrosoft.com", "batch_id": "unknown", "devices": [device(3)]}]
    r = run_module(MODULE, batches_args(batches)).result
    by_domain, by_name, ambiguous, unknown = r["batches"]
    assert (by_domain["customer_id"], by_domain["customer_name"]) == (CUSTOMER, "Contoso")
    assert (by_name["customer_id"], by_name["customer_name"]) == (CUSTOMER_B, "Fabrikam")
    assert emulator.batch_ids(CUSTOMER) == ["by-domain"] and emulator.batch_ids(CUSTOMER_B) == ["by-name"]
    assert [d["outcome"] for d in by_domain["devices"] + by_name["devices"]] == ["registered", "registered"]
    assert "Contoso (contoso.onmicrosoft.com)" in ambiguous["msg"] and "Contoso Labs" in ambiguous["msg"]
    assert "'nowhere.onmicrosoft.com' is not a customer of this partner" in unknown["msg"]
    assert [d["outcome"] for d in ambiguous["devices"] + unknown["devices"]] == ["refused", "refused"]
    assert r["failed"] and "2 of 4 batches failed" in r["msg"]
    listings = [e for e in emulator.requests("GET") if e["path"] == "/v1/customers"]
    assert len(listings) == 1, "the customer list is read once per task, whatever the number of batches"
    assert len(emulator.writes()) == 2
