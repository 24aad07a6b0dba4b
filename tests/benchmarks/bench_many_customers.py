"""Benchmark: one play registering C customers x D devices with playbooks/register_devices.yml.

    .venv/bin/python -m tests.benchmarks.bench_many_customers [--customers 100] [--devices 100] [--job-seconds 60]

The inventory is the kind users keep: one host per device (serial number, manufacturer, model) in one group
per customer. The play authenticates through the partnercenter_auth role (refresh token against the
emulator's token endpoint). Every emulator job takes --job-seconds (10% queued, 90% processing). Prints the
wall time against the job time, and counts from the emulator's log: token requests, batch-creating POSTs,
status polls, devices uploaded twice. Ends with a `target_met=` line per part of target 3; exits 0 whether
or not they are met.
"""
import argparse
import os
import tempfile
import time
import uuid

from tests.benchmarks.common import print_targets
from tests.emulator import Emulator
from tests.playbooks import ROOT, run_playbook


def inventory(customers, devices):
    lines = ["all:", "  children:", "    autopilot_devices:", "      children:"]
    for c in range(customers):
        lines += ["        customer_%03d:" % c, "          vars:",
                  "            partnercenter_customer_id: %s" % uuid.UUID(int=c + 1),
                  "            partnercenter_batch_id: batch-%03d" % c, "          hosts:"]
        lines += ["            c%03d-d%04d: {autopilot_serial_number: SN-%03d-%04d, autopilot_manufacturer: Contoso,"
                  " autopilot_model: Laptop 7}" % (c, d, c, d) for d in range(devices)]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--job-seconds", type=float, default=60.0)
    args = parser.parse_args()
    with Emulator(queue_seconds=args.job_seconds * 0.1, process_seconds=args.job_seconds * 0.9) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        hosts = os.path.join(tmp, "hosts.yml")
        with open(hosts, "w") as handle:
            handle.write(inventory(args.customers, args.devices))
        env = dict(os.environ, PARTNERCENTER_BASE_URL=emu.url, PARTNERCENTER_AUTHORITY=emu.authority,
                   PARTNERCENTER_CA_PATH=emu.ca_path, PARTNERCENTER_TENANT_ID=emu.tenant_id,
                   PARTNERCENTER_CLIENT_ID=emu.client_id, PARTNERCENTER_CLIENT_SECRET=emu.client_secret,
                   PARTNERCENTER_REFRESH_TOKEN=emu._initial_refresh_token)
        started = time.perf_counter()
        proc = run_playbook(os.path.join(ROOT, "playbooks", "register_devices.yml"), env, inventory=hosts,
                            args=["-e", "report_dir=%s" % os.path.join(tmp, "reports")], timeout=7200)
        wall = time.perf_counter() - started
        if proc.returncode:
            raise SystemExit(proc.stdout[-3000:])
        creates = [e for e in emu.writes() if e["method"] == "POST" and e["path"].endswith("/deviceBatches")]
        adds = [e for e in emu.writes() if e["method"] == "POST" and e["path"].endswith("/devices")]
        polls = emu.requests("GET", "/batchJobStatus/")
        uploaded = [d.get("SerialNumber") for d in emu.uploaded_devices()]
        with emu.lock:
            jobs = sorted(emu.jobs.values(), key=lambda j: j["created"])
        submitting = jobs[-1]["created"] - jobs[0]["created"]
        last_end = max(j["created"] + args.job_seconds for j in jobs)
        seen_late = max(p["time"] for p in polls) - last_end
    print("customers x devices:            %d x %d, every job takes %.0f s" % (args.customers, args.devices,
                                                                               args.job_seconds))
    print("wall time of the play:          %.1f s = job time + %.1f s" % (wall, wall - args.job_seconds))
    print("job time share of the wall time: %.0f %%" % (100.0 * args.job_seconds / wall))
    print("first to last job created:      %.1f s (the uploads, while the first jobs run)" % submitting)
    print("waiting one job after another:  would take at least %.0f s" % (args.customers * args.job_seconds))
    print("token requests:                 %d (target 1)" % len(emu.token_requests()))
    print("batch-creating POSTs:           %d (target %d), other uploads %d"
          % (len(creates), args.customers, len(adds)))
    print("job status polls:               %d; the last job's end seen %.1f s after it ended"
          % (len(polls), seen_late))
    print("devices uploaded / twice:       %d / %d" % (len(uploaded), len(uploaded) - len(set(uploaded))))
    print_targets("bench_many_customers", creating_posts_per_customer=float(len(creates)) / args.customers,
                  token_requests=len(emu.token_requests()), job_time_pct=100.0 * args.job_seconds / wall)


if __name__ == "__main__":
    main()
