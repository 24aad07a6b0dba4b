"""The benchmarks at toy sizes, so `make bench` keeps working: each runs and its invariants hold.

The figures at these sizes mean nothing; docs/performance.md has the real ones from `make bench`.
"""
import re
import subprocess
import sys

import pytest

from tests.playbooks import ROOT


def bench(name, *args):
    proc = subprocess.run([sys.executable, "-m", "tests.benchmarks." + name] + list(args), cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc.stdout


def figure(text, label):
    return re.search(re.escape(label) + r"\s*(\S+)", text).group(1)


@pytest.mark.parametrize("name,args,checks", [
    ("bench_noop_rerun", ["--devices", "120", "--repeat", "1"], {"writes during the re-runs:": "0"}),
    ("bench_first_registration", ["--devices", "620", "--repeat", "1", "--job-seconds", "1"], {}),
    ("bench_many_customers", ["--customers", "3", "--devices", "5", "--job-seconds", "2"],
     {"token requests:": "1", "batch-creating POSTs:": "3"}),
    ("bench_uri_baseline", ["--devices", "8"], {}),
])
def test_benchmark_runs(name, args, checks):
    out = bench(name, *args)
    for label, expected in checks.items():
        assert figure(out, label) == expected, out
    if name == "bench_first_registration":
        assert "(2 writes, 620 devices uploaded)" in out, out  # two chunks, each device once
    if name == "bench_many_customers":
        assert figure(out, "devices uploaded / twice:") == "15", out
        assert out.rstrip().endswith("/ 0"), out
    if name == "bench_uri_baseline":
        assert re.search(r"collection, re-run: .*\(0 writes\)", out) and "(8 devices registered)" in out, out
