"""Benchmark: first registration of N devices against the floor of the minimal requests, and peak memory.

    .venv/bin/python -m tests.benchmarks.bench_first_registration [--devices 5000] [--repeat 3]

For scale, it also times a module that does nothing but take the same devices as an argument (Ansible's own
cost of handing them over; the collection's action plugin passes them in a file instead).
The emulator processes jobs instantly here (queue and processing time 0), so its simulated delay is not
counted. The floor is plain `requests` sending the devices in 500-device POSTs (the first creating the
batch) and reading each job's status once. The module's cost is its playbook minus the same playbook with a
no-op task. Peak memory is the resident memory of ansible-playbook and everything it starts (its workers and
the module), summed at each 10 ms sample, in a separate untimed run. Ends with a `target_met=` line per
target part it measures (target 2, target 5's memory); exits 0 whether or not they are met.
"""
import argparse
import json
import os
import tempfile

import requests

from tests.benchmarks.common import (NOOP_TASK, SINK_TASK, TreeMemory, grant_token, median_time, playbook_env,
                                     print_targets, run_play)
from tests.emulator import Emulator
from tests.helpers import CUSTOMER, api_device, hw_hash

MODULE_TASK = """partnercenter.autopilot.partnercenter_device_batch:
        customer_id: {customer}
        batch_id: bench
        devices: "{{{{ bench_devices }}}}"
      register: result
      failed_when: result.failed or result.added | length != bench_devices | length"""
CHUNK = 500


def floor_register(emu, token, devices):
    session = requests.Session()
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
    base = emu.url + "/v1/customers/%s/deviceBatches" % CUSTOMER
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--job-seconds", type=float, default=10.0,
                        help="emulator job time for the run that measures waiting (queue 10%%, processing 90%%)")
    args = parser.parse_args()
    devices = [{"serial_number": "SN-%06d" % i, "hardware_hash": hw_hash("first-%d" % i)} for i in range(args.devices)]
    task = MODULE_TASK.format(customer=CUSTOMER)
    with Emulator(queue_seconds=0, process_seconds=0) as emu, tempfile.TemporaryDirectory() as tmp:
        def fresh():
            emu.reset()
            grant_token(emu)

        vars_file = os.path.join(tmp, "devices.json")
        with open(vars_file, "w") as handle:
            json.dump({"bench_devices": devices}, handle)
        env = playbook_env(emu)
        floor = median_time(lambda: floor_register(emu, grant_token(emu), devices), args.repeat, before=fresh)
        floor_requests = len(emu.requests())
        with_module = median_time(lambda: run_play(task, vars_file, env), args.repeat, before=fresh)
        module_requests = len(emu.requests())
        writes, uploaded = len(emu.writes()), len(emu.uploaded_devices())
        noop = median_time(lambda: run_play(NOOP_TASK, vars_file, env), args.repeat)
        sink = median_time(lambda: run_play(SINK_TASK, vars_file, env), args.repeat)
        fresh()
        memory = TreeMemory()
        run_play(task, vars_file, env, sampler=memory)
        fresh()
        emu.queue_seconds, emu.process_seconds = args.job_seconds * 0.1, args.job_seconds * 0.9
        waiting = median_time(lambda: run_play(task, vars_file, env), 1, before=fresh)
        polls = len(emu.requests(method="GET", path="batchJobStatus"))
    cost, shipping = with_module - noop, sink - noop
    print("devices registered:             %d (4 KB hashes), emulator job time 0" % args.devices)
    print("floor (requests: POSTs + polls): %.3f s, %d requests" % (floor, floor_requests))
    print("playbook with the module:       %.3f s, %d requests (%d writes, %d devices uploaded)"
          % (with_module, module_requests, writes, uploaded))
    print("same playbook, no-op task:      %.3f s" % noop)
    print("module cost:                    %.3f s = %.2f x floor (target <= 1.5)" % (cost, cost / floor))
    print("for scale, a module that only takes the devices as an argument: %.3f s beyond the no-op task" % shipping)
    print("with a %.0f s job time:           module cost %.3f s, %.3f s beyond the job time, %d status polls"
          % (args.job_seconds, waiting - noop, waiting - noop - args.job_seconds, polls))
    print("peak memory, controller + module: %.0f MiB (sum of PSS; largest process RSS %.0f MiB; target < 400 MB)"
          % (memory.peak / 2.0 ** 20, memory.peak_single / 2.0 ** 20))
    print_targets("bench_first_registration", cost_ratio=cost / floor, peak_memory_mb=memory.peak / 1e6)


if __name__ == "__main__":
    main()
