"""The benchmarks at toy sizes, so `make bench` keeps working: each runs, its invariants hold, and it prints the
target lines tests/benchmarks/summary.py reads.

The figures at these sizes mean nothing (targets may well be missed; the benchmark still exits 0);
docs/performance.md has the real ones from `make bench`.
"""
import re
import subprocess
import sys

import pytest

from tests.benchmarks.common import COMPARE, TARGETS, parse_target_lines, reference_beyond
from tests.playbooks import ROOT


def bench(name, *args):
    proc = subprocess.run([sys.executable, "-m", "tests.benchmarks." + name] + list(args), cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc.stdout


def figure(text, label):
    return re.search(re.escape(label) + r"\s*(\S+)", text).group(1)


def assert_target_lines(name, out):
    """One well-formed line per target part the benchmark measures, judged against the table's limit."""
    lines = parse_target_lines(out)  # raises on a line that starts like one but is malformed
    expected = dict(((t.number, t.part), t) for t in TARGETS if t.bench == name)
    assert expected, name
    assert sorted((int(f["number"]), f["part"]) for f in lines) == sorted(expected), out
    for fields in lines:
        target = expected[(int(fields["number"]), fields["part"])]
        assert (fields["cmp"], float(fields["limit"])) == (target.cmp, target.limit), fields
        met = COMPARE[target.cmp](float(fields["value"]), target.limit)
        assert fields["met"] == ("yes" if met else "no"), fields


@pytest.mark.parametrize("name,args,checks", [
    ("bench_noop_rerun", ["--devices", "120", "--repeat", "1"], {"writes during the re-runs:": "0"}),
    ("bench_first_registration", ["--devices", "620", "--repeat", "1", "--job-seconds", "1"], {}),
    ("bench_many_customers", ["--customers", "3", "--devices", "5", "--job-seconds", "2"],
     {"token requests:": "1", "batch-creating POSTs:": "3"}),
    ("bench_uri_baseline", ["--devices", "8"], {}),
    # The benchmarks at real-world latency, with every latency and job shrunk 100-fold (time_scale 0.01).
    ("bench_customers_latency", ["--customers", "3", "--devices", "4", "--time-scale", "0.01"], {}),
    ("bench_first_registration_latency", ["--devices", "620", "--repeat", "1", "--time-scale", "0.01"],
     {"same requests in the same order:": "yes"}),
    ("bench_noop_customers_latency", ["--customers", "3", "--devices", "5", "--repeat", "1", "--time-scale", "0.01"],
     {"writes during the re-runs:": "0"}),
    ("bench_export", ["--customers", "3", "--devices", "5", "--time-scale", "0.05"],
     {"token requests / writes:": "1"}),
    # 12 customers named by domain, listed 5 a page: the list read in ceil(12 / 5) = 3 pages before any upload.
    ("bench_customers_by_domain", ["--customers", "12", "--devices", "2", "--customer-page-size", "5",
                                   "--time-scale", "0.01"], {"token requests:": "1", "customer list reads:": "3"}),
])
def test_benchmark_runs(name, args, checks):
    out = bench(name, *args)
    assert_target_lines(name, out)
    for label, expected in checks.items():
        assert figure(out, label) == expected, out
    if name == "bench_first_registration":
        assert "(2 writes, 620 devices uploaded)" in out, out  # two chunks, each device once
    if name == "bench_many_customers":
        assert re.search(r"^devices uploaded / twice: +15 / 0$", out, re.M), out
    if name == "bench_customers_latency":
        # Three runs (lenient at concurrency 8 and 1, realistic): each creates every batch once with one token,
        # uploads no device twice and registers each once.
        assert len(re.findall(r"^batch-creating POSTs: +3 accepted", out, re.M)) == 3, out
        assert len(re.findall(r"^token requests: +1$", out, re.M)) == 3, out
        assert len(re.findall(r"^devices uploaded / twice: +12 / 0$", out, re.M)) == 3, out
        assert len(re.findall(r"^every device registered once: +yes \(12 registered\)$", out, re.M)) == 3, out
        assert len(re.findall(r"^module result: +ok, 3 batches, 0 failed, 12 devices added", out, re.M)) == 3, out
        # bench_customers_by_domain reads target 6's figure back from this output when make bench ran both.
        found = reference_beyond(out, 8, "the output")
        assert found and (found.customers, found.time_scale) == (3, 0.01), out
        assert found.beyond == float(re.search(r"^time beyond the job time: +(\S+) s$", out, re.M).group(1)), out
    if name == "bench_first_registration_latency":
        assert "(2 writes, 620 devices uploaded)" in out, out
    if name == "bench_export":
        # Every device in the file, read by the playbook's two read tasks: the floor's requests and no more.
        assert re.search(r"^token requests / writes: +1 / 0$", out, re.M), out
        assert re.search(r"^exported file: +3 customers, 15 hosts,", out, re.M), out
        floor, playbook = (int(re.search(r"^%s: +(\d+) requests" % re.escape(label), out, re.M).group(1))
                           for label in ("floor (requests, threads)", "export playbook"))
        assert floor == playbook == 1 + 3 * 3, out  # the customer list; per customer batches, devices, profiles
    if name == "bench_customers_by_domain":
        assert re.search(r"^customer list reads: +3 GET /v1/customers \(at most ceil\(12 / 5\) = 3\), 0 GET ", out,
                         re.M), out
        assert re.search(r"^batch-creating POSTs: +12 accepted \(12 sent\)", out, re.M), out
        assert re.search(r"^every device registered once: +yes \(24 registered\)$", out, re.M), out
        assert re.search(r"^module result: +ok, 12 batches, 0 failed, 24 devices added", out, re.M), out
        # No bench_customers_latency output handed over: target 6's figure as docs/performance.md records it.
        assert re.search(r"^target 6's figure: .* from docs/performance\.md \(the figure recorded there", out,
                         re.M), out
    if name == "bench_uri_baseline":
        assert re.search(r"collection, re-run: .*\(0 writes\)", out) and "(8 devices registered)" in out, out
