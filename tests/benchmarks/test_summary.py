"""tests/benchmarks/summary.py on made-up benchmark outputs: the generated block, the verdict, unusable input."""
import os

import pytest

from tests.benchmarks import summary
from tests.benchmarks.common import TARGETS, target_line
from tests.playbooks import ROOT

DOC = "# Performance\n\nbefore\n\n%s\nold table\n%s\n\nafter\n" % (summary.BEGIN, summary.END)


def value(target, met):
    """A value that meets the target or misses it (made up: these tests check the plumbing, not the collection)."""
    if met:
        return {"lt": target.limit - 1, "gt": target.limit + 1}.get(target.cmp, target.limit)
    return target.limit - 1000 if target.cmp in ("ge", "gt") else target.limit + 1000


def outputs(tmp_path, skip=(), miss=()):
    """One saved output per benchmark, as `make bench` leaves them, every part met unless in miss."""
    paths = []
    for bench in sorted(set(t.bench for t in TARGETS)):
        lines = ["some human-readable figure: 1.0 s"]
        lines += [target_line(t, value(t, (t.number, t.part) not in miss)) for t in TARGETS
                  if t.bench == bench and (t.number, t.part) not in skip]
        path = tmp_path / (bench + ".out")
        path.write_text("\n".join(lines) + "\n")
        paths.append(str(path))
    return paths


def run(tmp_path, paths, *extra):
    docs = tmp_path / "performance.md"
    docs.write_text(DOC)
    return summary.main(["--docs", str(docs), "--date", "2026-01-02"] + list(extra) + paths), docs.read_text()


def test_all_met_exits_0_and_replaces_only_the_block(tmp_path):
    code, doc = run(tmp_path, outputs(tmp_path))
    assert code == 0
    assert doc.startswith("# Performance\n\nbefore\n\n" + summary.BEGIN) and doc.endswith(summary.END + "\n\nafter\n")
    assert "old table" not in doc and "Measured 2026-01-02" in doc and "Every target met." in doc
    rows = [line for line in doc.splitlines() if line.startswith("| ") and not line.startswith("| #")]
    assert len(rows) == len(TARGETS) and all(row.endswith("| yes |") for row in rows)


def test_a_miss_exits_1_with_every_figure_written(tmp_path):
    code, doc = run(tmp_path, outputs(tmp_path, miss=[(2, "cost_ratio"), (4, "less_time")]))
    assert code == 1
    assert "Missed targets: 2, 4. Met: 1, 3, 5, 6, 7, 8, 9, 10, 11." in doc
    assert sum(line.endswith("| **no** |") for line in doc.splitlines()) == 2
    assert sum(line.endswith("| yes |") for line in doc.splitlines()) == len(TARGETS) - 2


def test_a_part_no_benchmark_reported_is_a_miss(tmp_path):
    code, doc = run(tmp_path, outputs(tmp_path, skip=[(5, "peak_memory_mb")]))
    assert code == 1
    assert "not measured (bench_first_registration printed no line)" in doc and "Missed targets: 5." in doc


def test_summary_is_written_again_over_its_own_block(tmp_path):
    paths = outputs(tmp_path)
    docs = tmp_path / "performance.md"
    docs.write_text(DOC)
    assert summary.main(["--docs", str(docs)] + paths) == 0
    first = docs.read_text()
    assert summary.main(["--docs", str(docs)] + paths) == 0
    assert docs.read_text() == first


@pytest.mark.parametrize("bad", [
    "target_met=1 part=cost_ratio value=1.5 cmp=le limit=2",  # no met
    "target_met=1 part=cost_ratio value=1.5 cmp=le limit=3 met=yes",  # a limit the table no longer has
    "target_met=99 part=cost_ratio value=1.5 cmp=le limit=2 met=yes",
    "target_met=9 part=cost_ratio value=1.5 cmp=le limit=2 met=yes",  # target 9 has no such part
    "target_met=06 part=beyond_job_ratio value=6.5 cmp=ge limit=6 met=yes",
    "target_met=1 part=speed value=1.5 cmp=le limit=2 met=yes",
])
def test_unusable_lines_exit_2_and_leave_the_docs_alone(tmp_path, bad):
    paths = outputs(tmp_path)
    extra = tmp_path / "extra.out"
    extra.write_text(bad + "\n")
    code, doc = run(tmp_path, paths + [str(extra)])
    assert code == 2 and doc == DOC


def test_a_line_reported_twice_is_unusable(tmp_path):
    paths = outputs(tmp_path)
    code, doc = run(tmp_path, paths + [paths[0]])
    assert code == 2 and doc == DOC


def test_docs_without_the_block_are_unusable(tmp_path):
    docs = tmp_path / "performance.md"
    docs.write_text("# Performance\n")
    assert summary.main(["--docs", str(docs)] + outputs(tmp_path)) == 2
    assert docs.read_text() == "# Performance\n"


def test_the_docs_hold_the_generated_block():
    with open(os.path.join(ROOT, "docs", "performance.md")) as handle:
        doc = handle.read()
    assert doc.count(summary.BEGIN) == 1 and doc.count(summary.END) == 1
