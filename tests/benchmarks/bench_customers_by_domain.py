"""Benchmark at real-world latency: C customers x D devices in one task, every batch naming its customer by domain.

    .venv/bin/python -m tests.benchmarks.bench_customers_by_domain [--customers 2000] [--devices 5]
        [--concurrency 8] [--seed 7] [--time-scale 1] [--customer-page-size 500] [--reference FILE]

Target 6's run (common.run_batches: one task of partnercenter_device_batch with `batches`, the refresh token,
the emulator's `lenient` profile, concurrency 8), with two differences: the partner has exactly C customers, each
registered in the emulator with a tenant id, a domain and a company name (emulator.add_customer), and each batch
gives `customer: <domain>` instead of `customer_id`, so the module first reads the partner's customer list (one
paged read of GET /v1/customers, at most --customer-page-size customers a page: the emulator's customer_page_size,
500 as the service) and resolves every domain in it before any upload.

Target 11, from the emulator's log and the module process:

- customer_list_reads: GET /v1/customers requests; at most ceil(C / page size), 4 for 2,000 customers;
- beyond_per_customer_ratio: the time beyond the job time (tests/benchmarks/timeline.py, as target 6 defines it)
  per customer, against target 6's figure per customer (its lenient run at the same concurrency); linear scaling
  is <= 1.1 x. Both in real-world seconds (a figure over its run's time_scale). Target 6's figure comes from
  --reference, bench_customers_latency's output, when that file holds it (`make bench` passes the one it has just
  written), else from what docs/performance.md records; the output says which;
- module_peak_mb: the module process's peak RSS (exact, rss_interpreter), < 400 MB.

time_scale shrinks every latency and job for the toy run of test_benchmarks_run.py; the module's own work does
not shrink, so those figures (and the ratio) mean nothing. Ends with a `target_met=` line per part of target 11;
exits 0 whether or not they are met.
"""
import argparse
import json
import math
import os
import tempfile

from tests.benchmarks import timeline
from tests.benchmarks.common import (SIZE_LINE, TreeMemory, customer_id, make_batches, print_targets,
                                     recorded_beyond, reference_beyond, report_batches, run_batches)
from tests.emulator import Emulator
from tests.playbooks import ROOT

DOCS = os.path.join(ROOT, "docs", "performance.md")
CUSTOMER_LIST = r"^/v1/customers$"  # the list (any query); /v1/customers/{id}/... are one customer's endpoints


def domain(number):
    return "tenant%04d.onmicrosoft.com" % number


def company_name(number):
    return "Customer %04d Ltd" % number


def make_customers(customers):
    """prepare() for run_batches: the partner's customers are exactly these (the emulator's defaults dropped, so
    the list holds C customers and ceil(C / page size) pages)."""
    def prepare(emu):
        with emu.lock:
            emu.customer_registry.clear()
        for c in range(customers):
            emu.add_customer(customer_id(c), domain(c), company_name(c))
    return prepare


def by_domain(batches):
    """The same batches, each naming its customer by domain (customer) instead of tenant id (customer_id)."""
    named = []
    for number, batch in enumerate(batches):
        entry = dict(batch, customer=domain(number))
        del entry["customer_id"]
        named.append(entry)
    return named


def reference(path, concurrency):
    """Target 6's figure: from bench_customers_latency's output at `path` (this make bench's run), else as
    docs/performance.md records it. Exits when neither has it."""
    why = "no --reference given"
    if path and os.path.isfile(path):
        with open(path) as handle:
            found = reference_beyond(handle.read(), concurrency,
                                     "%s (bench_customers_latency's output in this run)" % path)
        if found:
            return found
        why = "%s has no lenient run at concurrency %d" % (path, concurrency)
    elif path:
        why = "no %s: bench_customers_latency did not run in this run" % path
    with open(DOCS) as handle:
        found = recorded_beyond(handle.read(), concurrency, "docs/performance.md (the figure recorded there; %s)"
                                % why)
    if not found:
        raise SystemExit("no time beyond the job time of bench_customers_latency's lenient run at concurrency %d "
                         "in %s" % (concurrency, " or ".join(([path] if path else []) + [DOCS])))
    return found


def customer_list_figures(emu):
    """(list reads, reads of one customer by id, seconds from the first list read to the last page's answer,
    seconds from then to the next request to /v1/: the module resolving every reference) from the emulator's log."""
    pages = emu.requests("GET", CUSTOMER_LIST)
    by_id = emu.requests("GET", r"^/v1/customers/[^/]+$")
    if not pages:
        return 0, len(by_id), 0.0, 0.0
    listed = max(timeline.answered(e) for e in pages)
    after = [e["time"] for e in emu.requests() if e["path"].startswith("/v1/") and e["time"] >= listed
             and e["path"].lower() != "/v1/customers"]
    return len(pages), len(by_id), listed - min(e["time"] for e in pages), (min(after) - listed) if after else 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--devices", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--customer-page-size", type=int, default=500,
                        help="the most customers a page of GET /v1/customers holds (the emulator's customer_page_size)")
    parser.add_argument("--reference", help="bench_customers_latency's output from the same make bench run")
    args = parser.parse_args()
    ref = reference(args.reference, args.concurrency)
    batches = make_batches(args.customers, args.devices)
    tenant_ids = [b["customer_id"] for b in batches]
    with Emulator(profile="lenient", time_scale=args.time_scale, seed=args.seed,
                  customer_page_size=args.customer_page_size) as emu, tempfile.TemporaryDirectory() as tmp:
        vars_file = os.path.join(tmp, "batches.json")
        with open(vars_file, "w") as handle:
            json.dump({"bench_batches": by_domain(batches)}, handle)
        print(SIZE_LINE % (args.customers, args.devices, args.seed, args.time_scale)
              + "; customers named by domain, %d a page of the customer list" % emu.customer_page_size)
        memory = TreeMemory(interval=0.1)
        run = run_batches(emu, tmp, vars_file, batches, tenant_ids, "lenient", args.concurrency, args.time_scale,
                          args.seed, memory=memory, prepare=make_customers(args.customers))
        report_batches(run, args.customers * args.devices, args.time_scale)
        print("peak memory, whole tree:        %.0f MiB (ansible-playbook, worker and module, sum of PSS sampled "
              "every 100 ms)" % (memory.peak / 2.0 ** 20))
        reads, by_id, listing, resolving = customer_list_figures(emu)
        pages = int(math.ceil(args.customers / float(emu.customer_page_size)))
    print("--- target 11 ---")
    print("customer list reads:            %d GET /v1/customers (at most ceil(%d / %d) = %d), %d GET "
          "/v1/customers/{id}" % (reads, args.customers, emu.customer_page_size, pages, by_id))
    print("customer list:                  read in %.1f s; %.1f s from its last page to the next request "
          "(resolving %d domains)" % (listing, resolving, args.customers))
    mine = run["account"]["beyond"] / args.time_scale / args.customers
    theirs = ref.beyond / ref.time_scale / ref.customers
    print("time beyond the job time:       %.1f s = %.3f s per customer (real-world seconds)"
          % (run["account"]["beyond"] / args.time_scale, mine))
    print("target 6's figure:              %.1f s over %d customers = %.3f s per customer, from %s"
          % (ref.beyond / ref.time_scale, ref.customers, theirs, ref.source))
    print("per customer against target 6:  %.2f x (target <= 1.1)" % (mine / theirs))
    print_targets("bench_customers_by_domain", customer_list_reads=reads, beyond_per_customer_ratio=mine / theirs,
                  module_peak_mb=run["peak_rss"] / 1e6)


if __name__ == "__main__":
    main()
