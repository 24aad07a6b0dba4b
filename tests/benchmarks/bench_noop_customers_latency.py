"""Benchmark at real-world latency: a no-op re-run over many customers against plain `requests` with as many threads.

    .venv/bin/python -m tests.benchmarks.bench_noop_customers_latency [--customers 100] [--devices 100]
        [--concurrency 8] [--repeat 3] [--seed 7] [--time-scale 1]

Every customer already has its devices (serial number and 4 KB hash in the input) registered in one batch. The
module gets every customer's batch in one task (`batches`) with concurrency --concurrency (8, its default)
against the emulator's `lenient` profile (reads ~0.3 s, 3 % of calls 5-10 s). The floor is a small script doing
the same reads with plain `requests` in a ThreadPoolExecutor of --concurrency threads (one session per thread):
per customer, its batch list, then every page of each batch's devices. The emulator's seed is set again before
every round, so both draw the same latencies (in the order their requests arrive). The module's cost is its
playbook minus the same playbook with a no-op task. Target 8: module cost <= 2 x the floor. Medians of
--repeat rounds. Ends with a `target_met=` line for target 8; exits 0 whether or not it is met.
"""
import argparse
import json
import os
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.benchmarks.common import grant_token, median_time, playbook_env, print_targets, run_play
from tests.benchmarks.timeline import answered, idle, in_flight, span
from tests.emulator import Emulator
from tests.helpers import api_device, hw_hash

MODULE_TASK = """partnercenter.autopilot.partnercenter_device_batch:
        batches: "{{{{ bench_batches }}}}"
        concurrency: {concurrency}
      register: result
      failed_when: result.changed or result.failed"""
NOOP_TASK = """ansible.builtin.debug:
        msg: "{{ bench_batches | length }} batches"
"""


def customer_id(number):
    return str(uuid.UUID(int=number + 1))


def floor_read(emu, token, customers, threads):
    """Every customer's batch list and every page of its batches' devices, by `threads` threads."""
    local = threading.local()
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}

    def get(url, extra=None):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.get(url, headers=dict(headers, **(extra or {})), verify=emu.ca_path)
        response.raise_for_status()
        return response.json()

    def read(customer):
        base = emu.url + "/v1/customers/%s/deviceBatches" % customer
        for batch in get(base)["items"]:
            if batch.get("devicesCount") == 0:
                continue
            continuation = None
            while True:
                body = get(base + "/%s/devices" % batch["id"],
                           {"MS-ContinuationToken": continuation} if continuation else None)
                continuation = body.get("continuationToken")
                if not continuation:
                    break

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(read, customers))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args()
    customers = [customer_id(c) for c in range(args.customers)]
    batches = [{"customer_id": customer, "batch_id": "bench",
                "devices": [{"serial_number": "SN-%03d-%04d" % (c, d), "hardware_hash": hw_hash("noop-%d-%d" % (c, d))}
                            for d in range(args.devices)]} for c, customer in enumerate(customers)]
    task = MODULE_TASK.format(concurrency=args.concurrency)
    with Emulator(profile="lenient", time_scale=args.time_scale, seed=args.seed) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        for batch in batches:
            emu.seed_batch(batch["customer_id"], "bench", [api_device(d) for d in batch["devices"]])
        token = grant_token(emu)

        def fresh():
            emu.clear_log()
            emu.seed = args.seed

        vars_file = os.path.join(tmp, "batches.json")
        with open(vars_file, "w") as handle:
            json.dump({"bench_batches": batches}, handle)
        env = playbook_env(emu, PARTNERCENTER_JOURNAL_PATH=os.path.join(tmp, "journal.json"))
        floor = median_time(lambda: floor_read(emu, token, customers, args.concurrency), args.repeat, before=fresh)
        floor_log = emu.requests()
        with_module = median_time(lambda: run_play(task, vars_file, env), args.repeat, before=fresh)
        module_log = emu.requests()
        writes = len(emu.writes())
        noop = median_time(lambda: run_play(NOOP_TASK, vars_file, env), args.repeat)
    cost = with_module - noop
    print("customers x devices:            %d x %d registered (4 KB hashes in the input), concurrency %d, "
          "profile lenient, seed %d, time_scale %g"
          % (args.customers, args.devices, args.concurrency, args.seed, args.time_scale))
    for name, log in (("floor (requests, threads)", floor_log), ("module", module_log)):
        first, last = span(log)
        print("%-31s %d requests (last round) in %.3f s of log, %.2f in flight on average, none for %.3f s; "
              "%d slow" % (name + ":", len(log), last - first, in_flight(log, first, last), idle(log, first, last),
                           len([e for e in log if e.get("tail")])))
    print("floor:                          %.3f s" % floor)
    print("playbook with the module:       %.3f s" % with_module)
    print("same playbook, no-op task:      %.3f s" % noop)
    print("module cost:                    %.3f s = %.2f x floor (target <= 2)" % (cost, cost / floor))
    print("writes during the re-runs:      %d (target 0)" % writes)
    print("requests inside the emulator:   floor %.1f s, module %.1f s (summed over requests)"
          % (sum(answered(e) - e["time"] for e in floor_log), sum(answered(e) - e["time"] for e in module_log)))
    print_targets("bench_noop_customers_latency", cost_ratio=cost / floor)


if __name__ == "__main__":
    main()
