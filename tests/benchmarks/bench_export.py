"""Benchmark at real-world latency: exporting an inventory of many customers with playbooks/export_inventory.yml,
against plain `requests` reading the same with as many threads.

    .venv/bin/python -m tests.benchmarks.bench_export [--customers 50] [--devices 200] [--concurrency 8]
        [--repeat 1] [--seed 7] [--time-scale 1]

The partner has --customers customers (the emulator's three default ones and generated ones), each with one
batch of --devices devices registered earlier with serial number, manufacturer, model and a hash, all carrying
the customer's one Autopilot profile. The export runs the whole playbook - the role's token (client credentials
against the emulator's token endpoint), the customer list, one task reading every customer's batches with their
devices and one reading their profiles, each --concurrency customers at a time (export_concurrency), the
inventory_export filter and the file - against the emulator's `lenient` profile (reads ~0.3 s, 3 % of calls
5-10 s). The floor is a small script reading the same with plain `requests` in a ThreadPoolExecutor of
--concurrency threads (one session per thread): the customer list (every page), then per customer its batch
list, every page of each batch's devices, and its profiles; it writes nothing and builds no file. The emulator's
seed is set again before every round, so both draw the same latencies (in the order their requests arrive).
Figures are medians of --repeat rounds; the playbook's cost is its whole wall time (Ansible's start-up included:
that is what exporting costs). Checks that the file has every device and that nothing was written. Prints the
target line of target 10; exits 0 whether or not it is met. --forks is the old name of --concurrency.
"""
import argparse
import os
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
import yaml

from tests.benchmarks.common import grant_token, median_time, print_targets
from tests.benchmarks.timeline import answered, idle, in_flight, span
from tests.emulator import Emulator
from tests.emulator.server import DEFAULT_CUSTOMERS
from tests.helpers import hw_hash
from tests.playbooks import ROOT, run_playbook

BENCH = "bench_export"


def customers(count):
    """[(tenant id, domain, company name)]: the emulator's default customers first, then generated ones."""
    out = list(DEFAULT_CUSTOMERS[:count])
    for number in range(len(out), count):
        tenant = str(uuid.UUID(int=0xbe7c << 96 | number))
        out.append((tenant, "bench%03d.onmicrosoft.com" % number, "Bench Customer %03d" % number))
    return out


def seed(emu, partner, devices):
    for number, (tenant, domain, name) in enumerate(partner):
        emu.add_customer(tenant, domain, name)
        policy = emu.seed_policy(tenant, "Standard", ["skip_eula", "oobe_user_not_local_admin"], "Laptops")
        emu.seed_batch(tenant, "batch-%03d" % number, [
            {"SerialNumber": "SN-%03d-%04d" % (number, d), "OemManufacturerName": "Contoso", "ModelName": "Laptop 7",
             "HardwareHash": hw_hash("export-%d-%d" % (number, d), 300)} for d in range(devices)])
        emu.assign_seeded(tenant, [d["id"] for d in emu.batch_devices(tenant)], policy)


def floor_read(emu, token, threads):
    """The customer list, then per customer (by `threads` threads) its batches, their devices and its profiles."""
    local = threading.local()
    headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}

    def get(url, continuation=None):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        extra = {"MS-ContinuationToken": continuation} if continuation else {}
        response = local.session.get(url, headers=dict(headers, **extra), verify=emu.ca_path)
        response.raise_for_status()
        return response.json()

    def every_page(url):
        items, continuation = [], None
        while True:
            body = get(url, continuation)
            items.extend(body.get("items") or [])
            continuation = body.get("continuationToken")
            if not continuation:
                return items

    def read(customer):
        base = emu.url + "/v1/customers/%s" % customer["id"]
        batches = every_page(base + "/deviceBatches")
        devices = [every_page(base + "/deviceBatches/%s/devices" % b["id"]) for b in batches]
        return customer["id"], batches, devices, every_page(base + "/policies")

    listed = every_page(emu.url + "/v1/customers?size=500")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(read, listed))


def log_line(name, log):
    first, last = span(log)
    return ("%-31s %d requests in %.3f s of log, %.2f in flight on average, none for %.3f s; %d slow"
            % (name + ":", len(log), last - first, in_flight(log, first, last), idle(log, first, last),
               len([e for e in log if e.get("tail")])))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--concurrency", "--forks", dest="concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args()
    partner = customers(args.customers)
    with Emulator(profile="lenient", time_scale=args.time_scale, seed=args.seed) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        seed(emu, partner, args.devices)
        token = grant_token(emu)
        env = dict(os.environ, PARTNERCENTER_BASE_URL=emu.url, PARTNERCENTER_AUTHORITY=emu.authority,
                   PARTNERCENTER_CA_PATH=emu.ca_path, PARTNERCENTER_TENANT_ID=emu.tenant_id,
                   PARTNERCENTER_CLIENT_ID=emu.client_id, PARTNERCENTER_CLIENT_SECRET=emu.client_secret)
        exported = os.path.join(tmp, "exported.yml")

        def fresh():
            emu.clear_log()
            emu.seed = args.seed
            if os.path.exists(exported):
                os.unlink(exported)

        def export():
            proc = run_playbook(os.path.join(ROOT, "playbooks", "export_inventory.yml"), env, timeout=7200,
                                args=["-e", "export_path=%s" % exported,
                                      "-e", "export_concurrency=%d" % args.concurrency])
            if proc.returncode:
                raise SystemExit(proc.stdout[-3000:])

        read = []
        floor = median_time(lambda: read.append(floor_read(emu, token, args.concurrency)), args.repeat, before=fresh)
        floor_log = emu.requests()
        playbook = median_time(export, args.repeat, before=fresh)
        playbook_log = [e for e in emu.requests() if e["path"].lower().startswith("/v1/")]
        tokens, writes = len(emu.token_requests()), len(emu.writes())
        with open(exported) as handle:
            text = handle.read()
        inventory = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe
    groups = inventory["all"]["children"]["autopilot_devices"]["children"]
    hosts = sum(len(g.get("hosts") or {}) for g in groups.values())
    floor_devices = sum(len(page) for _c, _b, devices, _p in read[-1] for page in devices)
    if (len(groups), hosts, floor_devices) != (args.customers, args.customers * args.devices,
                                               args.customers * args.devices) or writes:
        raise SystemExit("export incomplete: %d customers, %d hosts (floor read %d devices), %d writes"
                         % (len(groups), hosts, floor_devices, writes))
    ratio = playbook / floor
    first, last = span(playbook_log)
    print("customers x devices:            %d x %d, one batch and one profile each, concurrency/threads %d, "
          "profile lenient, seed %d, time_scale %g"
          % (args.customers, args.devices, args.concurrency, args.seed, args.time_scale))
    print(log_line("floor (requests, threads)", floor_log))
    print(log_line("export playbook", playbook_log))
    print("floor:                          %.3f s" % floor)
    print("export playbook:                %.3f s, of which %.3f s outside its requests' span (Ansible start-up, "
          "token, filter, file)" % (playbook, playbook - (last - first)))
    print("export against the floor:       %.2f x" % ratio)
    print("requests inside the emulator:   floor %.1f s, playbook %.1f s (summed over requests)"
          % (sum(answered(e) - e["time"] for e in floor_log), sum(answered(e) - e["time"] for e in playbook_log)))
    print("token requests / writes:        %d / %d" % (tokens, writes))
    print("exported file:                  %d customers, %d hosts, %.1f MB" % (len(groups), hosts, len(text) / 1e6))
    print_targets(BENCH, cost_ratio=ratio)


if __name__ == "__main__":
    main()
