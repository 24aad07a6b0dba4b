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
import time
import uuid

from tests.benchmarks import timeline
from tests.benchmarks.common import TreeMemory, print_targets, read_peak_rss, rss_interpreter, run_play
from tests.emulator import Emulator
from tests.helpers import hw_hash
from tests.playbooks import ansible_env

PLAYBOOK = """
- name: Register every customer's devices in one task
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Upload each customer's devices and wait for the jobs
      partnercenter.autopilot.partnercenter_device_batch:
        batches: "{{ bench_batches }}"
        concurrency: "{{ bench_concurrency | int }}"
        poll_interval: "{{ bench_poll_interval | float }}"
        fail_on_device_errors: false
      vars:
        ansible_python_interpreter: "{{ bench_interpreter }}"
      register: result
      failed_when: false  # a failure is reported by the benchmark, with the figures
    - name: Hand the module's figures to the benchmark
      ansible.builtin.copy:
        dest: "{{ bench_result_path }}"
        mode: "0600"
        content: >-
          {{ {'failed': result.failed | default(false) or result.msg is defined, 'msg': result.msg | default(''),
              'throttled_seconds': result.throttled_seconds | default(none),
              'batches': result.batches | default([]) | length,
              'batches_failed': result.batches | default([]) | selectattr('failed', 'defined')
                                | selectattr('failed') | list | length,
              'added': result.batches | default([]) | map(attribute='added') | map('length') | sum,
              'warnings': result.warnings | default([])} | to_json }}
"""


def customer_id(number):
    return str(uuid.UUID(int=number + 1))


def make_batches(customers, devices):
    return [{"customer_id": customer_id(c), "batch_id": "batch-%03d" % c,
             "devices": [{"serial_number": "SN-%03d-%04d" % (c, d), "hardware_hash": hw_hash("lat-%d-%d" % (c, d))}
                         for d in range(devices)]} for c in range(customers)]


def run_once(emu, args, tmp, vars_file, profile, concurrency, memory=None):
    """One fresh run of the play; returns the figures of the run (dict)."""
    emu.reset()
    emu.configure(profile=profile, time_scale=args.time_scale, seed=args.seed)
    journal = os.path.join(tmp, "journal-%s-%d.json" % (profile, concurrency))
    result_path = os.path.join(tmp, "result.json")
    interpreter, rss_file = rss_interpreter(tmp)
    env = ansible_env(dict(os.environ, PARTNERCENTER_BASE_URL=emu.url, PARTNERCENTER_AUTHORITY=emu.authority,
                           PARTNERCENTER_CA_PATH=emu.ca_path, PARTNERCENTER_TENANT_ID=emu.tenant_id,
                           PARTNERCENTER_CLIENT_ID=emu.client_id, PARTNERCENTER_CLIENT_SECRET=emu.client_secret,
                           PARTNERCENTER_REFRESH_TOKEN=emu._initial_refresh_token,
                           PARTNERCENTER_JOURNAL_PATH=journal))
    started = time.perf_counter()
    run_play(None, vars_file, env, sampler=memory, text=PLAYBOOK,
             args=["-e", "bench_concurrency=%d" % concurrency, "-e", "bench_interpreter=%s" % interpreter,
                   "-e", "bench_result_path=%s" % result_path,
                   # The module's default (and register_devices.yml's) first poll delay, scaled like the emulator.
                   "-e", "bench_poll_interval=%g" % max(0.1, 2.0 * args.time_scale)])
    playbook_wall = time.perf_counter() - started
    with open(result_path) as handle:
        module = json.load(handle)
    peak_rss, processes = read_peak_rss(rss_file)
    entries = emu.requests()
    uploads = [e for e in emu.writes() if e["method"] == "POST" and e["path"].endswith(("/deviceBatches", "/devices"))]
    accepted = [e for e in uploads if e["status"] == 202 or e.get("applied")]
    creates = [e for e in accepted if e["path"].endswith("/deviceBatches")]
    jobs = timeline.jobs_of(emu)
    account = timeline.beyond_job_time(entries, [timeline.answered(e) for e in accepted], [j[2] for j in jobs])
    first, last = timeline.span(entries)
    last_upload = first + account["uploads"]
    uploaded = [d.get("SerialNumber") for d in emu.uploaded_devices()]
    expected = sorted("SN-%03d-%04d" % (c, d) for c in range(args.customers) for d in range(args.devices))
    registered = sorted(d["serialNumber"] for c in range(args.customers) for d in emu.batch_devices(customer_id(c)))
    late = timeline.seen_late(entries, jobs)
    # Jobs are waited for once every upload is in (by design): lateness counted from then shows workers held up.
    held = timeline.seen_late(entries, jobs, since=last_upload)
    long_jobs = [j for j in jobs if j[3] >= 60 * args.time_scale]
    api = [e for e in entries if e["path"].startswith("/v1/")]
    return dict(
        profile=profile, concurrency=concurrency, playbook_wall=playbook_wall, module=module, account=account,
        requests=len(entries), api_requests=len(api), uploads=len(uploads), creates=len(creates),
        creates_sent=len([e for e in uploads if e["path"].endswith("/deviceBatches")]),
        adds=len(accepted) - len(creates), tokens=len(emu.token_requests()),
        polls=len(emu.requests("GET", "/batchJobStatus/")), throttled=len(emu.throttled()),
        throttled_writes=len([e for e in emu.throttled() if e["method"] != "GET"]),
        slow=len([e for e in entries if e.get("tail") == "slow"]), hung=len([e for e in entries if e.get("tail") == "hang"]),
        uploaded=len(uploaded), uploaded_twice=len(uploaded) - len(set(uploaded)),
        registered_once=registered == expected, registered=len(registered),
        jobs=len(jobs), longest_job=max(j[3] for j in jobs) if jobs else 0.0, long_jobs=len(long_jobs),
        last_job_seen_late=late.get(max(jobs, key=lambda j: j[2])[0]) if jobs else None,
        seen_late_max=max(late.values()) if late else 0.0,
        held_minute=len([v for v in held.values() if v > 60 * args.time_scale]),
        held_max=max(held.values()) if held else 0.0,
        in_flight_uploading=timeline.in_flight(entries, first, last_upload),
        idle_uploading=timeline.idle(entries, first, last_upload), idle_total=timeline.idle(entries, first, last),
        service_seconds=sum(timeline.answered(e) - e["time"] for e in entries),
        peak_rss=peak_rss, module_processes=processes)


def report(run, args):
    a, m = run["account"], run["module"]
    name = "%s, concurrency %d" % (run["profile"], run["concurrency"])
    print("--- %s ---" % name)
    print("playbook wall time:             %.1f s (outside the log: Ansible start-up, loading %d devices, result)"
          % (run["playbook_wall"], args.customers * args.devices))
    print("module span in the log:         %.1f s = uploads %.1f s + waiting on a job only %.1f s + tail %.1f s"
          % (a["wall"], a["uploads"], a["waiting"], a["tail"]))
    print("time beyond the job time:       %.1f s" % a["beyond"])
    print("requests:                       %d (%d to /v1/); %d slow (5-10 s), %d hanging (60-90 s)"
          % (run["requests"], run["api_requests"], run["slow"], run["hung"]))
    print("requests in flight, uploading:  %.2f on average (concurrency %d)"
          % (run["in_flight_uploading"], run["concurrency"]))
    print("no request in flight:           %.1f s while uploading, %.1f s in all (the module's own work, "
          "connecting, sending)" % (run["idle_uploading"], run["idle_total"]))
    print("token requests:                 %d" % run["tokens"])
    print("batch-creating POSTs:           %d accepted (%d sent), other uploads accepted %d"
          % (run["creates"], run["creates_sent"], run["adds"]))
    print("job status polls:               %d; a job's end seen at most %.1f s late, the last job's %s"
          % (run["polls"], run["seen_late_max"], "%.1f s late" % run["last_job_seen_late"]
             if run["last_job_seen_late"] is not None else "never"))
    print("once every upload was in:       %d jobs already ended were read finished more than %g s later, one "
          "%.1f s later (a worker waits for its customer's jobs in turn)"
          % (run["held_minute"], 60 * args.time_scale, run["held_max"]))
    print("jobs:                           %d, longest %.0f s, %d of 60 s or more"
          % (run["jobs"], run["longest_job"], run["long_jobs"]))
    print("throttled (429):                %d requests (%d writes); module throttled_seconds %s"
          % (run["throttled"], run["throttled_writes"], m["throttled_seconds"]))
    print("devices uploaded / twice:       %d / %d" % (run["uploaded"], run["uploaded_twice"]))
    print("every device registered once:   %s (%d registered)"
          % ("yes" if run["registered_once"] else "no", run["registered"]))
    print("module result:                  %s, %d batches, %d failed, %d devices added%s"
          % ("failed: " + m["msg"][:300] if m["failed"] else "ok", m["batches"], m["batches_failed"], m["added"],
             "; warnings: " + " | ".join(w[:200] for w in m["warnings"]) if m["warnings"] else ""))
    print("module process peak RSS:        %.0f MiB (%d module process)"
          % (run["peak_rss"] / 2.0 ** 20, run["module_processes"]))


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
        with open(vars_file, "w") as handle:
            json.dump({"bench_batches": make_batches(args.customers, args.devices)}, handle)
        print("customers x devices:            %d x %d (4 KB hashes), seed %d, time_scale %g"
              % (args.customers, args.devices, args.seed, args.time_scale))
        memory = TreeMemory(interval=0.1)
        runs = [run_once(emu, args, tmp, vars_file, "lenient", args.concurrency, memory=memory)]
        report(runs[0], args)
        print("peak memory, whole tree:        %.0f MiB (ansible-playbook, worker and module, sum of PSS sampled "
              "every 100 ms)" % (memory.peak / 2.0 ** 20))
        runs.append(run_once(emu, args, tmp, vars_file, "lenient", 1))
        report(runs[1], args)
        if not args.no_realistic:
            runs.append(run_once(emu, args, tmp, vars_file, "realistic", args.concurrency))
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
