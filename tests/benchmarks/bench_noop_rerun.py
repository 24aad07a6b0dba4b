"""Benchmark: a no-op re-run over already registered devices, against the floor of reading the batch once.

    .venv/bin/python -m tests.benchmarks.bench_noop_rerun [--devices 5000] [--repeat 3]

The floor is plain `requests` reading the batch list and every page of the batch's devices once. The
module's cost is its playbook minus the same playbook with a no-op task (same inventory of devices), so
Ansible's own start-up and variable loading are not charged to the module. Also measures pure planning of
10,000 devices. Prints figures, then a `target_met=` line per target part it measures (targets 1 and 5's
planning, see common.TARGETS); exits 0 whether or not they are met.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import requests

from tests.benchmarks.common import NOOP_TASK, grant_token, median_time, playbook_env, print_targets, run_play
from tests.emulator import Emulator
from tests.helpers import CUSTOMER, api_device, hw_hash
from tests.playbooks import ROOT

MODULE_TASK = """partnercenter.autopilot.partnercenter_device_batch:
        customer_id: {customer}
        batch_id: bench
        devices: "{{{{ bench_devices }}}}"
        poll_interval: 0.2
      register: result
      failed_when: result.changed or result.failed"""


def floor_read(emu, token):
    session = requests.Session()
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
    base = emu.url + "/v1/customers/%s" % CUSTOMER
    session.get(base + "/deviceBatches", headers=headers, verify=emu.ca_path).raise_for_status()
    continuation = None
    while True:
        extra = {"MS-ContinuationToken": continuation} if continuation else {}
        body = session.get(base + "/deviceBatches/bench/devices", headers=dict(headers, **extra),
                           verify=emu.ca_path).json()
        continuation = body.get("continuationToken")
        if not continuation:
            return


def planning_ms(count):
    sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))
    from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import (  # noqa: E402
        Device, plan, validate_devices)
    raw = [{"serial_number": "S%06d" % i, "hardware_hash": hw_hash("p%d" % i, 300)} for i in range(count)]
    registered = [Device.from_api({"serialNumber": "S%06d" % i}, "b") for i in range(0, count, 2)]
    started = time.perf_counter()
    desired = validate_devices(raw)
    validated = time.perf_counter()
    plan(desired, registered, "b")
    planned = time.perf_counter()
    return (validated - started) * 1000, (planned - validated) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    devices = [{"serial_number": "SN-%06d" % i, "hardware_hash": hw_hash("bench-%d" % i)} for i in range(args.devices)]
    with Emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        emu.seed_batch(CUSTOMER, "bench", [api_device(d) for d in devices])
        token = grant_token(emu)
        vars_file = os.path.join(tmp, "devices.json")
        with open(vars_file, "w") as handle:
            json.dump({"bench_devices": devices}, handle)
        env = playbook_env(emu)
        floor = median_time(lambda: floor_read(emu, token), args.repeat)
        emu.clear_log()
        with_module = median_time(lambda: run_play(MODULE_TASK.format(customer=CUSTOMER), vars_file, env),
                                  args.repeat)
        writes = len(emu.writes())
        noop = median_time(lambda: run_play(NOOP_TASK, vars_file, env), args.repeat)
    module_cost = with_module - noop
    validate_ms, plan_ms = planning_ms(10000)
    print("devices registered:             %d (4 KB hashes in the input)" % args.devices)
    print("floor (requests, all pages):    %.3f s" % floor)
    print("playbook with the module:       %.3f s" % with_module)
    print("same playbook, no-op task:      %.3f s" % noop)
    print("module cost:                    %.3f s = %.2f x floor (target <= 2)" % (module_cost, module_cost / floor))
    print("writes during the re-runs:      %d (target 0)" % writes)
    print("validate 10,000 devices:        %.1f ms" % validate_ms)
    print("plan 10,000 devices:            %.1f ms (target < 100)" % plan_ms)
    print_targets("bench_noop_rerun", cost_ratio=module_cost / floor, writes=writes, planning_ms=plan_ms)


if __name__ == "__main__":
    main()
