"""200 customers (50 in `make test`) in one task against the emulator's `realistic` profile (heavy-tailed
latency, slow and hanging calls, jobs of seconds to minutes, 429 throttling per partner and per customer), at a
tenth of real time: the run converges with every device registered once, says how long throttling held it back,
and a re-run writes nothing. Time and throttling are judged from the emulator's log."""
import json
import os

from tests.emulator.server import PROFILES
from tests.playbooks import MODULE_PLAY, run_playbook
from tests.reliability.conftest import upload_counts

# AUTOPILOT_TEST_SIZE: "full" (make test-slow) runs 200 customers against the realistic profile as it is;
# "reduced" (make test, and the default) runs 50 with the partner-wide limits (reads and writes a minute) cut
# to a quarter, as the customers are: the run puts the same load on each limit - about twice as many creates,
# sent within seconds, as the partner may write in a window - so it is throttled as the full run is. The limits
# per customer stay as they are: each customer's work is the same at both sizes.
SIZES = {"full": 200, "reduced": 50}
SIZE = os.environ.get("AUTOPILOT_TEST_SIZE") or "reduced"
if SIZE not in SIZES:
    raise ValueError("AUTOPILOT_TEST_SIZE must be one of %s, not %r" % (", ".join(sorted(SIZES)), SIZE))
CUSTOMERS = ["00000000-0000-4000-8000-%012d" % (index + 1) for index in range(SIZES[SIZE])]
SHARE = float(len(CUSTOMERS)) / SIZES["full"]
PARTNER_LIMITS = dict((knob, int(PROFILES["realistic"][knob] * SHARE))
                      for knob in ("read_limit_per_minute", "write_limit_per_minute"))


def batches():
    return [{"customer_id": customer, "batch_id": "batch-%03d" % index,
             "devices": [{"serial_number": "RL-%03d-%d" % (index, d), "manufacturer": "Contoso", "model": "Laptop 7"}
                         for d in range(2)]}
            for index, customer in enumerate(CUSTOMERS)]


def run(tmp_path, env, name):
    play = tmp_path / ("%s.yml" % name)
    play.write_text(MODULE_PLAY.format(module="partnercenter.autopilot.partnercenter_device_batch",
                                       args=json.dumps({"batches": batches(), "poll_interval": 0.5,
                                                        "concurrency": 8})))
    result_path = tmp_path / ("%s.json" % name)
    extra = tmp_path / ("%s-vars.json" % name)
    extra.write_text(json.dumps({"result_path": str(result_path)}))
    proc = run_playbook(str(play), env, str(extra), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads(result_path.read_text()), proc.stdout


def test_two_hundred_customers_converge_under_realistic_latency_and_throttling(make_emulator, pc_env, tmp_path):
    emu = make_emulator(profile="realistic", time_scale=0.1, seed=7, **PARTNER_LIMITS)
    env = dict(pc_env, PARTNERCENTER_BASE_URL=emu.url, PARTNERCENTER_AUTHORITY=emu.authority,
               PARTNERCENTER_CA_PATH=emu.ca_path)
    first, stdout = run(tmp_path, env, "first")
    assert not first.get("failed"), first.get("msg")
    assert all(r["changed"] and r["job_status"] == "finished" for r in first["batches"])
    for index, customer in enumerate(CUSTOMERS):
        expected = ["RL-%03d-0" % index, "RL-%03d-1" % index]
        assert sorted(d["serialNumber"] for d in emu.batch_devices(customer)) == expected
    duplicates = dict((k, n) for k, n in upload_counts(emu).items() if n > 1)
    assert not duplicates, duplicates
    creates = [e for e in emu.writes() if e["method"] == "POST" and e["path"].endswith("/deviceBatches")
               and e["status"] == 202]
    assert len(creates) == len(CUSTOMERS) and len(emu.token_requests()) == 1
    # The service throttled the run, and the run said how long that held it back.
    throttled = emu.throttled()
    assert throttled, "the realistic profile should throttle %d customers' writes at concurrency 8" % len(CUSTOMERS)
    assert first["throttled_seconds"] > 0 and "throttled this task" in stdout
    # Every throttled request was sent again only after its Retry-After (from the log's times).
    for entry in throttled:
        resent = [e for e in emu.requests(entry["method"], "^%s$" % entry["path"].replace("$", r"\$"))
                  if e["time"] > entry["time"] and e["headers"].get("MS-RequestId") == entry["headers"].get(
                      "MS-RequestId")]
        assert resent and resent[0]["time"] >= entry["answered"] + entry["retry_after"] - 0.05, entry["path"]

    emu.clear_log()
    second, _stdout = run(tmp_path, env, "second")
    assert second["changed"] is False and not second.get("failed")
    assert emu.writes() == []
