"""The emulator's timing model: latency, slow and hanging calls, job durations, throttling, time_scale, seeds.

Time and throttling are judged from the request log (time, answered, latency, throttled, retry_after), never
from wall-clock windows around the calls; shares are judged on many draws of the sampling functions, not on
real sleeps.
"""
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.emulator.server import (BEFORE_SHARE, HANG_SECONDS, LONG_JOB_SECONDS, PROFILES, RETRY_AFTER_SECONDS,
                                   SLOW_SECONDS, THROTTLE_WINDOW, TIMING_DEFAULTS, WRITE_LATENCY_FACTOR, Emulator)
from tests.emulator.test_emulator import CUSTOMER, OTHER_CUSTOMER, Api, PerRequestVerify, user_token

THIRD_CUSTOMER = "5c1d2e3f-0000-4000-8000-000000000def"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def create(api, batch_id, customer=CUSTOMER, serial=None):
    return api("POST", "/deviceBatches", {"BatchId": batch_id, "Devices": [{"ProductKey": serial or batch_id}]},
               customer=customer)


def retry_after_range(time_scale):
    return tuple(max(1, math.ceil(round(s * time_scale, 9))) for s in RETRY_AFTER_SECONDS)


@pytest.fixture
def api(emulator):
    return Api(emulator, user_token(emulator))


def burst(emu, calls, workers=8):
    """Send calls (method, path, body) from `workers` clients in parallel; the status codes, in order."""
    token, local = user_token(emu), threading.local()

    def send(call):
        if not hasattr(local, "api"):
            local.api = Api(emu, token)
        return local.api(*call).status_code
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(send, calls))


def quiet(**knobs):
    """The realistic or lenient profile without latency, so a test can send hundreds of requests quickly."""
    return dict(knobs, latency=0, token_latency=0, slow_fraction=0, hang_fraction=0)


# ----- no profile: today's emulator ----------------------------------------------------------------------------
def test_default_emulator_adds_no_latency_and_never_throttles(emulator, api):
    for index in range(35):  # more than the realistic per-customer write limit
        assert create(api, "b%d" % index).status_code == 202
    assert api("GET", "/deviceBatches").status_code == 200
    log = emulator.requests()
    assert len(log) == 38 and emulator.throttled() == []  # openid-configuration, token, 40 writes, 1 read
    assert all(e["latency"] == 0 and "tail" not in e and e["answered"] - e["time"] < 0.05 for e in log), [
        (e["path"], e["answered"] - e["time"]) for e in log if e["answered"] - e["time"] >= 0.05]
    assert emulator.timing()["profile"] is None
    assert {k: emulator.timing()[k] for k in TIMING_DEFAULTS} == TIMING_DEFAULTS


# ----- latency ---------------------------------------------------------------------------------------------------
def test_reads_and_writes_take_about_their_base_latency(make_emulator):
    scale, jitter = 0.25, 0.2
    emu = make_emulator(latency=0.3, jitter=jitter, time_scale=scale, seed=11)
    api = Api(emu, user_token(emu))
    for index in range(8):
        assert create(api, "lat-%d" % index).status_code == 202
        assert api("GET", "/deviceBatches").status_code == 200
        assert api("GET", "/policies").status_code == 200
    tokens = emu.token_requests()
    assert tokens and all(e["latency"] == 0 for e in tokens)  # no token latency without a profile
    for method, base in (("GET", 0.3 * scale), ("POST", 0.3 * WRITE_LATENCY_FACTOR * scale)):
        entries = emu.requests(method, "^/v1/")
        assert len(entries) == (16 if method == "GET" else 8)
        for entry in entries:
            assert base * (1 - jitter) - 1e-6 <= entry["latency"] <= base * (1 + jitter) + 1e-6
            # the time from the request's arrival to its answer is the latency slept, plus a little work
            assert entry["latency"] - 0.002 <= entry["answered"] - entry["time"] <= entry["latency"] + 0.1
        assert abs(statistics.mean(e["answered"] - e["time"] for e in entries) - base) < base * 0.25


def test_token_endpoint_gets_a_small_latency_in_the_profiles_and_control_endpoints_none(tmp_path):
    emu = Emulator(workdir=str(tmp_path), profile="realistic", seed=3)
    draws = [emu.draw_latency("token") for _draw in range(2000)]
    assert all(tail is None for _before, _after, tail in draws)
    totals = [before + after for before, after, _tail in draws]
    assert 0.08 <= min(totals) and max(totals) <= 0.22 and 0.13 <= statistics.mean(totals) <= 0.17


def test_slow_and_hang_fractions_draw_the_share_asked_for(tmp_path):
    scale = 0.1
    emu = Emulator(workdir=str(tmp_path), latency=0.3, jitter=0.4, slow_fraction=0.05, hang_fraction=0.01,
                   time_scale=scale, seed=5)
    draws = [emu.draw_latency("write" if index % 2 else "read") for index in range(40000)]
    slow = [before + after for before, after, tail in draws if tail == "slow"]
    hang = [before + after for before, after, tail in draws if tail == "hang"]
    assert 0.045 <= len(slow) / len(draws) <= 0.055
    assert 0.008 <= len(hang) / len(draws) <= 0.012
    assert all(SLOW_SECONDS[0] * scale - 1e-9 <= s <= SLOW_SECONDS[1] * scale + 1e-9 for s in slow)
    assert all(HANG_SECONDS[0] * scale - 1e-9 <= s <= HANG_SECONDS[1] * scale + 1e-9 for s in hang)
    # only a share of the base latency comes before the request is carried out; the tail always after it
    write_base = 0.3 * WRITE_LATENCY_FACTOR * 1.4 * scale
    assert all(before <= write_base * BEFORE_SHARE + 1e-9 and after >= 0 for before, after, _tail in draws)
    normal = [before + after for before, after, tail in draws if tail is None]
    assert max(normal) <= write_base + 1e-9


def test_a_hanging_write_is_carried_out_before_its_answer_comes(make_emulator):
    emu = make_emulator(hang_fraction=1.0, time_scale=0.01)  # every call hangs 0.6-0.9 s
    token = user_token(emu)  # the token endpoint never hangs
    session = PerRequestVerify(emu.ca_path)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.post(emu.url + "/v1/customers/%s/deviceBatches" % CUSTOMER, timeout=0.3,
                     json={"BatchId": "lost-answer", "Devices": [{"ProductKey": "K1"}]},
                     headers={"Authorization": "Bearer " + token})
    assert emu.batch_ids(CUSTOMER) == ["lost-answer"]  # applied although the client gave up on the answer
    entry = emu.writes()[0]
    assert entry["tail"] == "hang" and entry["answered"] is None  # still hanging


def test_two_clients_in_parallel_are_served_in_parallel(make_emulator):
    emu = make_emulator(latency=0.5, jitter=0, seed=1)
    token = user_token(emu)
    apis = [Api(emu, token) for _client in range(2)]  # one connection each
    threads = [threading.Thread(target=a, args=("GET", "/deviceBatches")) for a in apis]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = emu.requests("GET", "^/v1/")
    assert first["latency"] == second["latency"] == 0.5
    assert max(first["answered"], second["answered"]) - min(first["time"], second["time"]) < 0.8  # not 1.0
    assert first["time"] < second["answered"] and second["time"] < first["answered"]  # they overlapped


# ----- jobs ------------------------------------------------------------------------------------------------------
def test_job_durations_are_heavy_tailed_and_scaled(tmp_path, make_emulator):
    scale = 0.5
    emu = Emulator(workdir=str(tmp_path), job_seconds=3.0, long_job_fraction=0.05, time_scale=scale, seed=9)
    draws = [emu.draw_job_seconds() for _draw in range(20000)]
    long_jobs = [d for d in draws if d >= LONG_JOB_SECONDS[0] * scale]
    assert 0.045 <= len(long_jobs) / len(draws) <= 0.055  # some take minutes
    assert max(draws) <= LONG_JOB_SECONDS[1] * scale
    short = [d for d in draws if d < LONG_JOB_SECONDS[0] * scale]
    assert abs(statistics.median(short) - 3.0 * scale) < 0.15 * 3.0 * scale  # most take a few seconds
    assert sum(d < 10 * scale for d in short) / len(short) > 0.98
    live = make_emulator(job_seconds=2.0, long_job_fraction=0, time_scale=0.05, seed=2)
    api = Api(live, user_token(live))
    job = api.wait(create(api, "timed").headers["Location"], timeout=3)
    assert job["status"] == "finished"
    with live.lock:
        stored = next(iter(live.jobs.values()))
    assert 0 < stored["queue_for"] < stored["process_for"] < 1.0  # 2 s * 0.05 drawn heavy-tailed, split 20/80


def test_without_job_seconds_jobs_keep_the_fixed_times(emulator):
    emulator.seed_batch(CUSTOMER, "seeded", [])
    with emulator.lock:
        job = emulator._new_job(CUSTOMER, "seeded", [{"ProductKey": "K9"}])
    assert job["queue_for"] is None and job["process_for"] is None


# ----- throttling ------------------------------------------------------------------------------------------------
def test_customer_write_limit_answers_429_with_retry_after_and_does_nothing(make_emulator):
    scale = 0.02  # window 1.2 s, Retry-After ceil(0.6..1.2) s
    emu = make_emulator(customer_write_limit_per_minute=3, time_scale=scale, seed=5)
    api = Api(emu, user_token(emu))
    assert [create(api, "ok-%d" % index).status_code for index in range(3)] == [202, 202, 202]
    refused = create(api, "refused", serial="NEVER-1")
    assert refused.status_code == 429
    low, high = retry_after_range(scale)
    assert low <= int(refused.headers["Retry-After"]) <= high
    assert refused.json() == {"statusCode": 429, "message": "Rate limit is exceeded. Try again in %s seconds."
                              % refused.headers["Retry-After"]}
    assert "refused" not in emu.batch_ids(CUSTOMER)
    assert {"ProductKey": "NEVER-1"} not in emu.uploaded_devices() and len(emu.uploaded_devices()) == 3
    (entry,) = emu.throttled()
    assert entry["status"] == 429 and entry["retry_after"] == int(refused.headers["Retry-After"])
    assert entry["throttle_scope"] == "customer" and entry["path"].endswith("/deviceBatches")
    assert api("GET", "/deviceBatches").status_code == 200  # reads are counted apart
    assert create(api, "other", customer=OTHER_CUSTOMER).status_code == 202  # another pair has its own limit
    first_admitted = emu.requests("POST", "/deviceBatches$")[0]["time"]
    time.sleep(max(0.0, first_admitted + THROTTLE_WINDOW * scale + 0.05 - time.time()))
    assert create(api, "after-the-window").status_code == 202
    assert len(emu.throttled()) == 1


def test_partner_write_limit_applies_across_customers(make_emulator):
    emu = make_emulator(write_limit_per_minute=4, time_scale=0.1)
    api = Api(emu, user_token(emu))
    for customer in (CUSTOMER, OTHER_CUSTOMER):
        assert [create(api, "p-%d" % i, customer=customer).status_code for i in range(2)] == [202, 202]
    refused = create(api, "p-0", customer=THIRD_CUSTOMER)
    assert refused.status_code == 429
    assert [e["throttle_scope"] for e in emu.throttled()] == ["partner"]
    assert emu.batch_ids(THIRD_CUSTOMER) == []
    assert api("GET", "/deviceBatches", customer=THIRD_CUSTOMER).status_code == 200


def test_realistic_throttles_reads_later_than_writes(make_emulator):
    realistic = PROFILES["realistic"]
    writes, reads = realistic["customer_write_limit_per_minute"], realistic["customer_read_limit_per_minute"]
    assert writes < reads and realistic["write_limit_per_minute"] < realistic["read_limit_per_minute"]
    assert writes < realistic["write_limit_per_minute"] and reads < realistic["read_limit_per_minute"]
    emu = make_emulator(**quiet(profile="realistic"))
    write_calls = [("POST", "/deviceBatches", {"BatchId": "w-%d" % i, "Devices": [{"ProductKey": "W%d" % i}]})
                   for i in range(writes + 5)]
    read_calls = [("GET", "/policies")] * (reads + 5)
    statuses = burst(emu, write_calls + read_calls)  # all within one minute, however they interleave
    assert sorted(statuses) == sorted([202] * writes + [200] * reads + [429] * 10)
    throttled = emu.throttled()
    assert sorted(e["method"] for e in throttled) == ["GET"] * 5 + ["POST"] * 5
    assert all(e["throttle_scope"] == "customer" and e["retry_after"] in range(30, 61) for e in throttled)
    assert len(emu.batch_ids(CUSTOMER)) == writes == len(emu.uploaded_devices())  # the refused did nothing
    assert all(e["latency"] == 0 for e in emu.token_requests())  # never throttled, latency as configured
    # Sent one after another, the first 429 for writes comes at the write limit, for reads much later.
    emu.reset()
    api = Api(emu, user_token(emu))
    first_write_429 = next(i for i in range(writes + 2) if create(api, "again-%d" % i).status_code == 429)
    assert first_write_429 == writes and api("GET", "/policies").status_code == 200


def test_lenient_never_throttles_and_never_hangs(make_emulator):
    lenient, realistic = PROFILES["lenient"], PROFILES["realistic"]
    assert lenient["hang_fraction"] == 0 and not any(v for k, v in lenient.items() if k.endswith("_per_minute"))
    shapes = [k for k in TIMING_DEFAULTS if k != "hang_fraction" and not k.endswith("_per_minute")]
    assert {k: lenient[k] for k in shapes} == {k: realistic[k] for k in shapes}
    emu = make_emulator(**quiet(profile="lenient"))
    writes, reads = realistic["customer_write_limit_per_minute"], realistic["customer_read_limit_per_minute"]
    statuses = burst(emu, [("POST", "/deviceBatches", {"BatchId": "l-%d" % i, "Devices": [{"ProductKey": "L%d" % i}]})
                           for i in range(writes + 5)] + [("GET", "/policies")] * (reads + 5))
    assert sorted(statuses) == sorted([202] * (writes + 5) + [200] * (reads + 5))
    assert emu.throttled() == []


def test_retry_after_is_scaled_rounded_up_and_at_least_one_second(tmp_path):
    emu = Emulator(workdir=str(tmp_path), seed=4)
    assert {emu.draw_retry_after() for _draw in range(2000)} <= set(range(30, 61))
    for scale in (0.1, 0.013, 0.0001):
        emu.time_scale = scale
        low, high = retry_after_range(scale)
        draws = {emu.draw_retry_after() for _draw in range(500)}
        assert draws <= set(range(low, high + 1)) and min(draws) >= 1
    assert retry_after_range(0.1) == (3, 6) and retry_after_range(0.0001) == (1, 1)


# ----- knobs, seeds, command line --------------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_draws(tmp_path):
    def draws(seed):
        emu = Emulator(workdir=str(tmp_path), profile="realistic", seed=seed, slow_fraction=0.2, hang_fraction=0.1)
        return ([emu.draw_latency(kind) for kind in ("read", "write", "token") * 30]
                + [emu.draw_job_seconds() for _draw in range(30)] + [emu.draw_retry_after() for _draw in range(30)])
    assert draws(42) == draws(42)
    assert draws(42) != draws(43)
    emu = Emulator(workdir=str(tmp_path), latency=0.3, jitter=0.5, seed=7)
    first = [emu.draw_latency("read") for _draw in range(5)]
    emu.seed = 7  # setting the seed starts the draws over
    assert [emu.draw_latency("read") for _draw in range(5)] == first


def test_knobs_can_be_set_while_running(emulator, api):
    emulator.profile = "lenient"
    assert emulator.latency == 0.3 and emulator.write_limit_per_minute is None and emulator.job_seconds == 3.0
    emulator.configure(latency=0.02, jitter=0, slow_fraction=0, job_seconds=None)
    assert api("GET", "/deviceBatches").status_code == 200
    assert emulator.requests("GET", "^/v1/")[-1]["latency"] == 0.02
    emulator.profile = None
    assert {k: getattr(emulator, k) for k in TIMING_DEFAULTS} == TIMING_DEFAULTS
    with pytest.raises(TypeError):
        emulator.configure(latncy=1)
    with pytest.raises(ValueError):
        emulator.profile = "slow"
    session = PerRequestVerify(emulator.ca_path)
    changed = session.post(emulator.url + "/_emulator/timing", json={"profile": "realistic", "time_scale": 0.5})
    assert changed.status_code == 200 and changed.json()["customer_write_limit_per_minute"] == 30
    assert session.get(emulator.url + "/_emulator/timing").json()["time_scale"] == 0.5
    assert not emulator.requests(path="_emulator")  # control requests are not logged, never delayed


def test_command_line_profile_and_time_scale(tmp_path):
    info = tmp_path / "info.json"
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulator", "--profile", "realistic", "--time-scale", "0.1",
                             "--info-file", str(info), "--workdir", str(tmp_path), "--customer-write-limit-per-minute",
                             "0", "--seed", "3"], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        for _attempt in range(100):
            if info.exists():
                break
            time.sleep(0.1)
        data = json.loads(info.read_text())
        timing = data["timing"]
        assert (timing["profile"], timing["time_scale"], timing["seed"]) == ("realistic", 0.1, 3)
        assert timing["latency"] == 0.3 and timing["effective_write_latency"] == 0.8
        assert timing["write_limit_per_minute"] == 100 and timing["customer_write_limit_per_minute"] is None
        session = PerRequestVerify(data["ca_path"])
        session.get(data["url"] + "/%s/v2.0/.well-known/openid-configuration" % data["tenant_id"])
        (entry,) = session.get(data["url"] + "/_emulator/log").json()
        assert 0 < entry["latency"] <= 0.15 * 1.4 * 0.1 + 1e-6 and entry["answered"] >= entry["time"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
