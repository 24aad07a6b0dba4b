"""Every run of playbooks/register_devices.yml keeps its report in report_dir/<UTC timestamp>/, copies the latest
to the stable paths (report_dir/autopilot-report.html and .csv, autopilot-results.json) and lists the runs in
report_dir/index.html; batch_status.yml rewrites the latest run's report in its own directory and at the stable
paths. Run against the emulator, as a user runs them."""
import csv
import json
import os
import re
import stat
from html.parser import HTMLParser

from tests.helpers import CUSTOMER, CUSTOMER_B
from tests.playbooks import ROOT, run_playbook

PLAYBOOK = os.path.join(ROOT, "playbooks", "register_devices.yml")
STATUS = os.path.join(ROOT, "playbooks", "batch_status.yml")
RUN = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
STABLE = ("autopilot-report.html", "autopilot-report.csv", "autopilot-results.json")
INVENTORY = """
all:
  children:
    autopilot_devices:
      children:
        contoso:
          vars:
            partnercenter_customer_id: {a}
            partnercenter_customer_name: Contoso <Ltd>
            partnercenter_batch_id: contoso-batch
          hosts:
            c1: {{autopilot_product_key: "PK-C1"}}
            c2: {{autopilot_product_key: "PK-C2"}}
        fabrikam:
          vars:
            partnercenter_customer_id: {b}
            partnercenter_batch_id: fabrikam-batch
          hosts:
            f1: {{autopilot_product_key: "PK-F1"}}
        fabrikam_typo:
          vars:
            partnercenter_customer_id: {b}
            partnercenter_batch_id: fabrikam-typo
          hosts:
            t1: {{autopilot_serial_number: "SN-T1", autopilot_hardware_hash: "not*base64!"}}
""".format(a=CUSTOMER, b=CUSTOMER_B)


class Links(HTMLParser):
    """The index's rows: (data-run, hrefs of the row, text of the row)."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.rows, self._row = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-run" in attrs:
            self._row = [attrs["data-run"], [], ""]
        elif tag == "a" and self._row is not None:
            self._row[1].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(tuple(self._row))
            self._row = None

    def handle_data(self, data):
        if self._row is not None:
            self._row[2] += data


def runs(report_dir):
    return sorted(name for name in os.listdir(str(report_dir)) if RUN.match(name))


def read(path):
    with open(str(path), "rb") as handle:
        return handle.read()


def csv_rows(path):
    with open(str(path), encoding="utf-8-sig", newline="") as handle:
        return dict((r["product_key"], r) for r in csv.DictReader(handle))


def index(report_dir):
    parser = Links()
    parser.feed((report_dir / "index.html").read_text(encoding="utf-8"))
    return parser.rows


def test_each_run_in_its_own_directory_the_latest_at_the_stable_paths_and_an_index(emulator, pc_env, tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    report_dir = tmp_path / "reports"

    def register(*args):
        return run_playbook(PLAYBOOK, pc_env, inventory=str(inventory),
                            args=["-e", "report_dir=%s" % report_dir, "-e", "register_poll_interval=0.2"] + list(args))

    # The first run: Contoso's batch fails as a whole (no reseller relationship), Fabrikam's registers and its
    # batch with a typo in a hardware hash is refused (nothing of it sent).
    emulator.unrelated_customers.add(CUSTOMER)
    first = register()
    assert first.returncode != 0 and "2 batches and 0 devices could not be registered" in first.stdout, \
        first.stdout[-3000:]
    assert len(runs(report_dir)) == 1
    # The second, with Contoso's relationship back, the typo gone, and without waiting for the jobs (submitted).
    emulator.unrelated_customers.discard(CUSTOMER)
    inventory.write_text(INVENTORY.split("        fabrikam_typo:", 1)[0])
    second = register("-e", "register_wait=false")
    assert second.returncode == 0, second.stdout[-3000:]

    older, newer = runs(report_dir)
    assert older < newer  # names in UTC that sort by time (a second run of the same second gets a suffix)
    # The stable paths are copies (not links) of the newest run's files; report_dir stays a directory anyone can
    # read, the reports files anyone can read.
    assert stat.S_IMODE(os.stat(str(report_dir)).st_mode) & 0o755 == 0o755
    for name in STABLE:
        assert not os.path.islink(str(report_dir / name))
        assert stat.S_IMODE(os.stat(str(report_dir / name)).st_mode) == 0o644
        assert read(report_dir / name) == read(report_dir / newer / name), name
    assert read(report_dir / older / "autopilot-report.csv") != read(report_dir / "autopilot-report.csv")
    # Each directory keeps its own run's report.
    with open(str(report_dir / older / "autopilot-report.csv"), encoding="utf-8-sig", newline="") as handle:
        assert [(r["batch_id"], r["serial_number"], r["status"]) for r in csv.DictReader(handle)] == [
            ("contoso-batch", "", "error"), ("fabrikam-batch", "", "finished"), ("fabrikam-typo", "", "error")]
    outcomes = {"PK-C1": "submitted", "PK-C2": "submitted", "PK-F1": "already_present"}
    assert dict((k, r["outcome"]) for k, r in csv_rows(report_dir / newer / "autopilot-report.csv").items()) == outcomes
    assert json.loads(read(report_dir / newer / "autopilot-results.json"))["run"] == newer
    # The first run's HTML lists the failed and the refused batch's devices (never sent) under their rows, the
    # refused one's with what is wrong with it.
    page = (report_dir / older / "autopilot-report.html").read_text(encoding="utf-8")
    refused, failed = [line for line in page.splitlines() if 'data-k="batch_failed attention"' in line]  # by customer
    assert "<td>batch failed</td>" in failed and "relationship" in failed
    assert '<details class="not-sent"><summary>2 devices not sent</summary>' in failed
    assert '<span class="id">PK-C1</span>' in failed and '<span class="id">PK-C2</span>' in failed
    assert "<td>batch refused</td>" in refused
    assert '<summary>1 device not sent</summary><ol><li><span class="id">SN-T1</span> - ' in refused
    assert "hardware_hash is not base64" in refused.split("<ol>")[1]

    # The index: both runs, newest first, each linking to its report, with its counts.
    listed = index(report_dir)
    assert [row[0] for row in listed] == [newer, older]
    for run, hrefs, _text in listed:
        assert hrefs == ["%s/autopilot-report.html" % run, "%s/autopilot-report.html" % run,
                         "%s/autopilot-report.csv" % run]
    summary = json.loads(read(report_dir / (older + ".json")))
    assert (summary["run"], summary["devices"], summary["failed_batches"], summary["customers"]) == (older, 1, 2, 2)
    assert summary["outcomes"] == {"registered": 1}
    assert json.loads(read(report_dir / (newer + ".json")))["outcomes"] == {
        "submitted": 2, "already_present": 1}
    text = re.sub(r"\s+", " ", listed[1][2])
    assert "latest" in listed[0][2] and "latest" not in text
    heads = re.findall(r"<th>([^<]*)</th>", (report_dir / "index.html").read_text(encoding="utf-8"))
    assert heads == ["run", "customers", "devices", "batches failed", "submitted", "registered", "already present",
                     "reports"]
    cells = re.findall(r'<td class="n[^"]*">([^<]*)</td>',
                       (report_dir / "index.html").read_text(encoding="utf-8").split('data-run="%s"' % older)[1])
    assert cells == ["2", "1", "2", "0", "1", "0"]

    # batch_status.yml reads the jobs of the latest run and rewrites its report, in its directory and at the
    # stable paths; no run directory is added, the index counts the outcomes read.
    status = run_playbook(STATUS, pc_env, inventory=str(inventory),
                          args=["-e", "report_dir=%s" % report_dir, "-e", "status_wait=true"])
    assert status.returncode == 0, status.stdout[-3000:]
    assert runs(report_dir) == [older, newer]
    outcomes.update({"PK-C1": "registered", "PK-C2": "registered"})
    assert dict((k, r["outcome"]) for k, r in csv_rows(report_dir / newer / "autopilot-report.csv").items()) == outcomes
    for name in STABLE:
        assert read(report_dir / name) == read(report_dir / newer / name), name
    summary = json.loads(read(report_dir / (newer + ".json")))
    assert summary["outcomes"] == {"registered": 2, "already_present": 1} and summary["updated_at"].endswith(" UTC")
    page = (report_dir / "autopilot-report.html").read_text(encoding="utf-8")
    assert "outcomes of its jobs read <time>%s</time>" % summary["updated_at"] in page
    assert "Run <time>%s</time>" % summary["run_at"] in page
    listed = index(report_dir)
    assert [row[0] for row in listed] == [newer, older] and "jobs read" in listed[0][2]
