"""Benchmark at real-world latency: first registration of N devices against the floor of its own requests.

    .venv/bin/python -m tests.benchmarks.bench_first_registration_latency [--devices 5000] [--repeat 3]
        [--seed 7] [--time-scale 1]

Target 2 (bench_first_registration) restated at the latency users meet: the emulator's `lenient` profile
(reads ~0.3 s, writes ~0.8 s, 3 % of calls 5-10 s), except that jobs end at once (queue and processing time
0), so job time is not counted, as in target 2.

The floor is plain `requests` making the module's minimal requests one after another: reading the customer's
batch list, sending the devices in 500-device POSTs (the first creating the batch) and reading each job's
status once. The emulator's seed is set again before every round, so the floor's and the module's requests,
being the same requests in the same order (checked, and printed), are given the same latencies, slow calls
included. The module's cost is its playbook minus the same playbook with a no-op task; the no-op module
(library/bench_sink.py) is what Ansible spends to hand the same devices to any module, its playbook minus the
same no-op task. Target 7: module cost <= 1.5 x (floor + no-op module). Medians of --repeat rounds. Ends with
a `target_met=` line for target 7; exits 0 whether or not it is met.
"""
import argparse
import json
import os
import re
import tempfile

import requests

from tests.benchmarks.bench_first_registration import MODULE_TASK
from tests.benchmarks.common import (NOOP_TASK, SINK_TASK, grant_token, median_time, playbook_env, print_targets,
                                     run_play)
from tests.benchmarks.timeline import answered
from tests.emulator import Emulator
from tests.helpers import CUSTOMER, api_device, hw_hash

CHUNK = 500


def floor_register(emu, token, devices):
    """The module's minimal requests, one after another: batch list, POSTs, one status read per job."""
    session = requests.Session()
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
    base = emu.url + "/v1/customers/%s/deviceBatches" % CUSTOMER
    session.get(base, headers=headers, verify=emu.ca_path).raise_for_status()
    locations = []
    for start in range(0, len(devices), CHUNK):
        chunk = [api_device(d) for d in devices[start:start + CHUNK]]
        if start == 0:
            body, url = {"BatchId": "bench", "Devices": chunk,
                         "Attributes": {"ObjectType": "DeviceBatchCreationRequest"}}, base
        else:
            body, url = chunk, base + "/bench/devices"
        response = session.post(url, json=body, headers=headers, verify=emu.ca_path)
        response.raise_for_status()
        locations.append(response.headers["Location"])
    for location in locations:
        status = session.get(emu.url + "/v1/" + location.lstrip("/").split("v1/", 1)[-1], headers=headers,
                             verify=emu.ca_path).json()
        assert status["status"] == "finished", status


def shape(entries):
    """The requests as (method, path with ids replaced), to compare the floor's with the module's."""
    return [(e["method"], re.sub(r"/batchJobStatus/[^/]+$", "/batchJobStatus/ID", e["path"])) for e in entries]


def service_seconds(entries):
    return sum(answered(e) - e["time"] for e in entries)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args()
    devices = [{"serial_number": "SN-%06d" % i, "hardware_hash": hw_hash("first-%d" % i)} for i in range(args.devices)]
    task = MODULE_TASK.format(customer=CUSTOMER)
    with Emulator(profile="lenient", time_scale=args.time_scale, seed=args.seed, job_seconds=None,
                  queue_seconds=0, process_seconds=0) as emu, tempfile.TemporaryDirectory() as tmp:
        def fresh():
            emu.reset()
            grant_token(emu)
            emu.seed = args.seed  # the same latency draws, in the same order, for every round of both

        vars_file = os.path.join(tmp, "devices.json")
        with open(vars_file, "w") as handle:
            json.dump({"bench_devices": devices}, handle)
        env = playbook_env(emu, PARTNERCENTER_JOURNAL_PATH=os.path.join(tmp, "journal.json"))
        floor = median_time(lambda: floor_register(emu, grant_token(emu), devices), args.repeat, before=fresh)
        floor_log = emu.requests()
        with_module = median_time(lambda: run_play(task, vars_file, env), args.repeat, before=fresh)
        module_log = emu.requests()
        writes, uploaded = len(emu.writes()), len(emu.uploaded_devices())
        noop = median_time(lambda: run_play(NOOP_TASK, vars_file, env), args.repeat)
        sink = median_time(lambda: run_play(SINK_TASK, vars_file, env), args.repeat)
        timing = emu.timing()
    cost, shipping = with_module - noop, sink - noop
    same = shape(floor_log) == shape(module_log)
    slow = [i for i, e in enumerate(module_log) if e.get("tail")]
    print("devices registered:             %d (4 KB hashes), profile %s without job time, seed %d, time_scale %g"
          % (args.devices, timing["profile"], args.seed, args.time_scale))
    print("floor (requests):               %.3f s, %d requests, %.3f s of them inside the emulator"
          % (floor, len(floor_log), service_seconds(floor_log)))
    print("playbook with the module:       %.3f s, %d requests (%d writes, %d devices uploaded), %.3f s inside the "
          "emulator" % (with_module, len(module_log), writes, uploaded, service_seconds(module_log)))
    print("same requests in the same order: %s%s"
          % ("yes" if same else "no", "" if same else " (module: %s)" % shape(module_log)))
    print("slow calls (5-10 s) among them: %d%s" % (len(slow), " (requests %s)" % ", ".join(
        "%d %s" % (i + 1, module_log[i]["method"]) for i in slow) if slow else ""))
    print("same playbook, no-op task:      %.3f s" % noop)
    print("no-op module (bench_sink):      %.3f s beyond the no-op task" % shipping)
    print("module cost:                    %.3f s = %.2f x (floor + no-op module = %.3f s) (target <= 1.5)"
          % (cost, cost / (floor + shipping), floor + shipping))
    print("module cost beyond the floor:   %.3f s (%.2f x floor alone)" % (cost - floor, cost / floor))
    print_targets("bench_first_registration_latency", cost_ratio=cost / (floor + shipping))


if __name__ == "__main__":
    main()
