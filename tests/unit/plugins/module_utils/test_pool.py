"""The engine's worker pool (concurrency) over the fake service, and the client's shared throttle and token
under several threads: results in input order, one customer's batches in order in one worker, all uploads
before any wait, a 429 holding back every worker, one token refresh under contention."""
import json
import threading

import pytest
import requests
from requests.adapters import BaseAdapter

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    DEFAULT_BASE_URL, PartnerCenterClient)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.tasks import batch_requests
from ansible_collections.partnercenter.autopilot.plugins.module_utils.engine import RunOptions, run_batches
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import UploadJournal
from tests.unit.plugins.module_utils.fakes import CUSTOMER, CUSTOMER_B, CUSTOMER_C, URL, FakeClock, FakeService, dev

CUSTOMERS = [CUSTOMER, CUSTOMER_B, CUSTOMER_C, "0b9d2f6e-8a41-4c5e-9f3a-2d7c61e4b8a0"]


class ThreadedService(FakeService):
    """The fake service with every call serialised (its state is not thread-safe) and the calling thread
    recorded, so the pool's scheduling can be read back."""

    def __init__(self, clock, **kwargs):
        super(ThreadedService, self).__init__(clock, **kwargs)
        self.lock = threading.RLock()
        self.threads = []  # (call name, customer, batch or None, thread ident)

    def __getattribute__(self, name):
        attr = super(ThreadedService, self).__getattribute__(name)
        if name.startswith("_") or not callable(attr) or name in ("start_job", "seed", "listed_serials"):
            return attr
        service = self

        def serialised(*args, **kwargs):
            with object.__getattribute__(service, "lock"):
                object.__getattribute__(service, "threads").append(
                    (name, args[0] if args else None, args[1] if len(args) > 1 else None, threading.get_ident()))
                return attr(*args, **kwargs)
        return serialised


def options(**overrides):
    p = dict(customer_id=None, batch_id=None, devices=None, devices_file=None, batches_file=None, state="present",
             purge=False, force=False, match_scope="customer", wait=True, wait_timeout=900, poll_interval=2.0,
             fail_on_device_errors=True, journal_path=None, timeout=60, profile=None)
    p.update(overrides)
    return p


def entries():
    """Two batches for each of four customers, interleaved the way an inventory lists them."""
    out = []
    for number in (1, 2):
        for index, customer in enumerate(CUSTOMERS):
            out.append(dict(customer_id=customer, batch_id="c%d-b%d" % (index, number),
                            devices=[dev("S-%d-%d" % (index, number))]))
    return out


@pytest.fixture
def clock():
    return FakeClock()


def test_pool_keeps_input_order_one_customers_batches_in_order_and_uploads_before_waits(clock, tmp_path):
    service = ThreadedService(clock, job_seconds=30.0)
    journal = UploadJournal(str(tmp_path / "journal.json"), URL, clock=clock.now)
    requests_ = batch_requests(options(batches=entries()))
    results, warnings, _undeclared = run_batches(service, journal, requests_, RunOptions(), clock, concurrency=2)

    assert warnings == [] and all(r["changed"] and not r.get("failed") for r in results)
    assert [(r["customer_id"], r["batch_id"]) for r in results] == [
        (e["customer_id"], e["batch_id"]) for e in entries()]
    # Exactly once: one upload per batch, each device registered once.
    assert sorted(w[2] for w in service.writes) == sorted(e["batch_id"] for e in entries())
    for index, customer in enumerate(CUSTOMERS):
        assert service.listed_serials(customer, "c%d-b1" % index) == ["S-%d-1" % index]
    # Several workers took part, and each customer's calls all came from one worker per phase, in batch order.
    threads = service.threads
    assert len(set(t for _n, _c, _b, t in threads)) > 1
    for index, customer in enumerate(CUSTOMERS):
        sends = [b for n, c, b, _t in threads if n == "send_chunk" and c == customer]
        assert sends == ["c%d-b1" % index, "c%d-b2" % index]
    # No job was waited for before the last upload of its phase went out: the wait phase starts after
    # every customer's start phase (the second batch of a customer waits for the first's job as a guard).
    last_send = max(i for i, (n, _c, _b, _t) in enumerate(threads) if n == "send_chunk")
    first_final_wait = min(i for i, (n, c, b, _t) in enumerate(threads) if n == "wait_for_job"
                           and b is not None and b.startswith("job-") and
                           service.jobs[b]["batch_id"].endswith("b2"))
    assert first_final_wait > last_send


def test_pool_one_customer_failing_does_not_stop_the_others(clock, tmp_path):
    from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import PartnerCenterError
    service = ThreadedService(clock, job_seconds=10.0)
    service.refuse[CUSTOMER_B] = PartnerCenterError("no relationship", status=403, code="20002")
    journal = UploadJournal(str(tmp_path / "journal.json"), URL, clock=clock.now)
    results, _warnings, _undeclared = run_batches(service, journal, batch_requests(options(batches=entries())),
                                                  RunOptions(), clock, concurrency=8)
    failed = [(r["customer_id"], r["batch_id"]) for r in results if r.get("failed")]
    assert failed == [(CUSTOMER_B, "c1-b1"), (CUSTOMER_B, "c1-b2")]
    assert len(service.writes) == 6


# ----- the client's shared throttle and token ------------------------------------------------------------------
class Wire(BaseAdapter):
    """Answers every request with answer(prepared request) -> (status, headers, body); records the tokens sent."""

    def __init__(self, answer):
        super(Wire, self).__init__()
        self.answer, self.tokens, self.lock = answer, [], threading.Lock()

    def send(self, request, **kwargs):
        with self.lock:
            self.tokens.append(request.headers["Authorization"][len("Bearer "):])
        status, headers, body = self.answer(request)
        response = requests.Response()
        response.status_code, response.request, response.url = status, request, request.url
        response.headers.update(headers)
        response._content = json.dumps(body).encode("utf-8")
        return response

    def close(self):
        pass


class ThreadClock(object):
    """A clock whose sleeps are recorded per thread and move the time on (for every thread)."""

    def __init__(self):
        self.time, self.lock, self.sleeps = 1000.0, threading.Lock(), {}

    def now(self):
        return self.time

    def sleep(self, seconds):
        with self.lock:
            self.sleeps.setdefault(threading.current_thread().name, []).append(seconds)
            self.time += seconds


class CountingProvider(object):
    renewable = True

    def __init__(self):
        self.token, self.refreshes, self.lock = "token-1", 0, threading.Lock()

    def get_token(self, force_refresh=False):
        if force_refresh:
            self.refreshes += 1
            self.token = "token-%d" % (self.refreshes + 1)
        return self.token


def client_with(wire, clock, provider):
    client = PartnerCenterClient(None, provider, sleep=clock.sleep, clock=clock.now)
    client.policy.clock = clock.now
    client.session.mount(DEFAULT_BASE_URL + "/", wire)
    return client


def in_threads(count, work):
    threads = [threading.Thread(target=work, name="worker-%d" % i) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads)


def test_a_429_seen_by_one_worker_holds_back_every_worker():
    clock = ThreadClock()
    answers = {"first": True}

    def answer(request):
        if answers.pop("first", False):
            return 429, {"Retry-After": "45"}, {"statusCode": 429, "message": "Rate limit is exceeded."}
        return 200, {}, {"totalCount": 0, "items": []}
    client = client_with(Wire(answer), clock, CountingProvider())
    path = client.path(CUSTOMER, "deviceBatches")
    # The first worker is throttled (and waits 45 s before resending); the others, starting afterwards in
    # their own threads, wait out the same Retry-After before their first request instead of adding to it.
    in_threads(1, lambda: client.get_all(path, CUSTOMER))
    in_threads(3, lambda: client.get_all(path, CUSTOMER))
    assert clock.sleeps["worker-0"] == [45.0]
    assert client.throttle.waited == 45.0
    # Time moved on by the first worker's sleep; the others found the hold over and did not sleep again.
    assert set(clock.sleeps) == {"worker-0"}

    # A hold still running when other workers start: they sleep until it ends.
    clock.sleeps.clear()
    client.throttle.hold(30.0)
    in_threads(3, lambda: client.get_all(path, CUSTOMER))
    assert sorted(sum(clock.sleeps.values(), [])) == [30.0]  # one sleep moves the shared clock past the hold
    assert client.throttle.waited == 75.0


def test_a_token_refused_under_eight_workers_is_refreshed_once():
    clock = ThreadClock()
    barrier = threading.Barrier(8, timeout=10)
    provider = CountingProvider()

    def answer(request):
        token = request.headers["Authorization"][len("Bearer "):]
        if token == "token-1":
            barrier.wait()  # every worker has sent the old token before any is answered
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, {"code": 800001}
        return 200, {}, {"totalCount": 0, "items": []}
    wire = Wire(answer)
    client = client_with(wire, clock, provider)
    path = client.path(CUSTOMER, "deviceBatches")
    in_threads(8, lambda: client.get_all(path, CUSTOMER))
    assert provider.refreshes == 1
    assert sorted(wire.tokens) == ["token-1"] * 8 + ["token-2"] * 8
