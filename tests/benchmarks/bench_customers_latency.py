"""Benchmark at real-world latency: C customers x D devices registered in one task, concurrency 8 against 1.

    .venv/bin/python -m tests.benchmarks.bench_customers_latency [--customers 500] [--devices 20] [--seed 7]
        [--time-scale 1] [--concurrency 8] [--no-realistic]

One task of partnercenter_device_batch with `batches` (one batch per customer, as playbooks/register_devices.yml
sends them; every device has a serial number and a 4 KB hash), authenticating itself with the refresh token
(so its workers must share one token), against the emulator's `lenient` profile (reads ~0.3 s, writes ~0.8 s,
3 % of calls 5-10 s, jobs ~3 s with 3 % taking 1-10 minutes; no throttling). Runs, each on a fresh emulator
state and the same seed:

1. lenient, --concurrency (default 8, the module's default): target 6's counts and target 9's memory;
2. lenient, concurrency 1: the same work one customer after another;
3. realistic (throttling, hanging calls), --concurrency: reported, not a target.

Target 6's ratio is run 2's time beyond the job time over run 1's (tests/benchmarks/timeline.py: from the
emulator's log, the run's span minus the time only a job still running explains). Target 9 is the module
process's peak RSS in run 1, exact (the kernel's high-water mark, read when it exits). time_scale shrinks every
latency and job for the toy runs of test_benchmarks_run.py; the reported figures use 1. Ends with a
`target_met=` line per part of targets 6 and 9; exits 0 whether or not they are met.
"""
import argparse
import json
import os
import tempfile

from tests.benchmarks.common import (SIZE_LINE, TreeMemory, make_batches, print_targets, report_batches,
                                     run_batches)
from tests.emulator import Emulator


def run_once(emu, args, tmp, vars_file, batches, profile, concurrency, memory=None):
    """One fresh run of the play (common.run_batches); returns the figures of the run (dict)."""
    return run_batches(emu, tmp, vars_file, batches, [b["customer_id"] for b in batches], profile, concurrency,
                       args.time_scale, args.seed, memory=memory)


def report(run, args):
    report_batches(run, args.customers * args.devices, args.time_scale)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--no-realistic", action="store_true", help="skip the run with the realistic profile")
    args = parser.parse_args()
    with Emulator(profile="lenient", time_scale=args.time_scale, seed=args.seed) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        vars_file = os.path.join(tmp, "batches.json")
        batches = make_batches(args.customers, args.devices)
        with open(vars_file, "w") as handle:
            json.dump({"bench_batches": batches}, handle)
        print(SIZE_LINE % (args.customers, args.devices, args.seed, args.time_scale))
        memory = TreeMemory(interval=0.1)
        runs = [run_once(emu, args, tmp, vars_file, batches, "lenient", args.concurrency, memory=memory)]
        report(runs[0], args)
        print("peak memory, whole tree:        %.0f MiB (ansible-playbook, worker and module, sum of PSS sampled "
              "every 100 ms)" % (memory.peak / 2.0 ** 20))
        runs.append(run_once(emu, args, tmp, vars_file, batches, "lenient", 1))
        report(runs[1], args)
        if not args.no_realistic:
            runs.append(run_once(emu, args, tmp, vars_file, batches, "realistic", args.concurrency))
            report(runs[2], args)
    main_run, serial = runs[0], runs[1]
    ratio = serial["account"]["beyond"] / main_run["account"]["beyond"]
    print("--- target 6 ---")
    print("time beyond the job time:       %.1f s at concurrency 1, %.1f s at %d: %.1f x less (target >= 6)"
          % (serial["account"]["beyond"], main_run["account"]["beyond"], args.concurrency, ratio))
    print_targets("bench_customers_latency", beyond_job_ratio=ratio, creating_posts=main_run["creates"],
                  token_requests=main_run["tokens"], uploaded_twice=main_run["uploaded_twice"],
                  module_peak_mb=main_run["peak_rss"] / 1e6)


if __name__ == "__main__":
    main()
