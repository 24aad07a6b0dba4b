"""Benchmark: the collection against a plain ansible.builtin.uri playbook registering the same devices.

    .venv/bin/python -m tests.benchmarks.bench_uri_baseline [--devices 1000]

The baseline (URI_PLAY) is written the way a user without the collection would: create the batch with the
first device (a 409 on later runs means it exists), then one uri task per device adding it. Both register
the same devices with 4 KB hashes against the emulator (job time 0), then run again; the re-runs are timed
and their HTTP requests counted from the emulator's log. Ends with a `target_met=` line per part of target 4;
exits 0 whether or not they are met.
"""
import argparse
import json
import os
import tempfile
import time

from tests.benchmarks.common import TOKEN, grant_token, playbook_env, print_targets, run_play
from tests.emulator import Emulator
from tests.helpers import CUSTOMER, hw_hash

URI_PLAY = """
- name: Register devices with plain uri calls
  hosts: localhost
  gather_facts: false
  vars:
    api: "{{ lookup('ansible.builtin.env', 'PARTNERCENTER_BASE_URL') }}/v1/customers/%(customer)s"
    headers:
      Authorization: "Bearer {{ lookup('ansible.builtin.env', 'PARTNERCENTER_ACCESS_TOKEN') }}"
      Accept: application/json
  module_defaults:
    ansible.builtin.uri:
      ca_path: "{{ lookup('ansible.builtin.env', 'PARTNERCENTER_CA_PATH') }}"
      headers: "{{ headers }}"
      body_format: json
      method: POST
  tasks:
    - name: Create the batch with the first device (409 when it exists)
      ansible.builtin.uri:
        url: "{{ api }}/deviceBatches"
        body:
          BatchId: bench
          Devices:
            - SerialNumber: "{{ bench_devices[0].serial_number }}"
              HardwareHash: "{{ bench_devices[0].hardware_hash }}"
          Attributes: {ObjectType: DeviceBatchCreationRequest}
        status_code: [202, 409]
    - name: Add each device
      ansible.builtin.uri:
        url: "{{ api }}/deviceBatches/bench/devices"
        body:
          - SerialNumber: "{{ item.serial_number }}"
            HardwareHash: "{{ item.hardware_hash }}"
        status_code: 202
      loop: "{{ bench_devices[1:] }}"
      loop_control:
        label: "{{ item.serial_number }}"
""" % {"customer": CUSTOMER}
MODULE_TASK = """partnercenter.autopilot.partnercenter_device_batch:
        customer_id: %s
        batch_id: bench
        devices: "{{ bench_devices }}"
        poll_interval: 0.2""" % CUSTOMER


def timed(emu, func):
    emu.clear_log()
    started = time.perf_counter()
    func()
    return time.perf_counter() - started, len(emu.requests())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    args = parser.parse_args()
    devices = [{"serial_number": "SN-%06d" % i, "hardware_hash": hw_hash("uri-%d" % i)} for i in range(args.devices)]
    with Emulator(queue_seconds=0, process_seconds=0) as emu, tempfile.TemporaryDirectory() as tmp:
        grant_token(emu)
        vars_file = os.path.join(tmp, "devices.json")
        with open(vars_file, "w") as handle:
            json.dump({"bench_devices": devices}, handle)
        env = playbook_env(emu)
        assert env["PARTNERCENTER_ACCESS_TOKEN"] == TOKEN
        uri_first = timed(emu, lambda: run_play(None, vars_file, env, text=URI_PLAY))
        uri_again = timed(emu, lambda: run_play(None, vars_file, env, text=URI_PLAY))
        uri_registered = len(emu.batch_devices(CUSTOMER, "bench"))
        emu.reset()
        grant_token(emu)
        first = timed(emu, lambda: run_play(MODULE_TASK, vars_file, env))
        again = timed(emu, lambda: run_play(MODULE_TASK, vars_file, env))
        writes_again = len(emu.writes())
        registered = len(emu.batch_devices(CUSTOMER, "bench"))
    print("devices:                        %d (4 KB hashes), emulator job time 0" % args.devices)
    print("uri playbook, first run:        %.1f s, %d requests (%d devices registered)"
          % (uri_first + (uri_registered,)))
    print("uri playbook, re-run:           %.1f s, %d requests" % uri_again)
    print("collection, first run:          %.1f s, %d requests (%d devices registered)" % (first + (registered,)))
    print("collection, re-run:             %.1f s, %d requests (%d writes)" % (again + (writes_again,)))
    print("re-run: %.0f x fewer requests (target >= 20), %.1f x less wall time (target >= 5)"
          % (float(uri_again[1]) / again[1], uri_again[0] / again[0]))
    print_targets("bench_uri_baseline", fewer_requests=float(uri_again[1]) / again[1],
                  less_time=uri_again[0] / again[0])


if __name__ == "__main__":
    main()
