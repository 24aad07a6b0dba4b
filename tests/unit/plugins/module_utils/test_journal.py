"""journal.py: the upload journal on real files (mode, scoping, ageing, damage, several writers at once)."""
import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import Device
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import (
    MAX_AGE, JournalError, UploadJournal, default_path, device_count, devices_of)

URL = "https://api.partnercenter.microsoft.com"
CUSTOMER = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
OTHER = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
HASH = "QUJD" * 40


def test_entry_lifecycle_in_a_private_file(tmp_path):
    path = str(tmp_path / "sub" / "journal.json")
    journal = UploadJournal(path, URL)
    entry_id = journal.begin(CUSTOMER.upper(), "b1", [Device(serial_number="S1", manufacturer="M", model="X"),
                                                      Device(hardware_hash=HASH)])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    [entry] = journal.pending(CUSTOMER)
    assert entry["tracking_id"] is None and entry["batch_id"] == "b1"
    assert HASH not in open(path).read(), "hashes are kept as fingerprints only"
    assert [d.serial_number for d in devices_of(entry)] == ["S1"]  # hash-only devices cannot be listed
    journal.accepted(entry_id, "t-1")
    [entry] = journal.pending(CUSTOMER, "b1")
    assert entry["tracking_id"] == "t-1" and device_count(entry) == 2
    assert "S1" not in open(path).read(), "an accepted upload keeps only its number of devices"
    assert journal.pending(CUSTOMER, "b2") == []
    journal.done([entry_id])
    assert journal.pending(CUSTOMER) == []


def test_entries_are_scoped_to_the_service_and_customer(tmp_path):
    path = str(tmp_path / "journal.json")
    UploadJournal(path, "https://127.0.0.1:4443").begin(CUSTOMER, "b", [Device(product_key="PK")])
    UploadJournal(path, URL).begin(OTHER, "b", [Device(product_key="PK")])
    assert UploadJournal(path, URL).pending(CUSTOMER) == []
    assert len(UploadJournal(path, URL + "/").pending(OTHER)) == 1


def test_old_entries_are_dropped(tmp_path):
    path = str(tmp_path / "journal.json")
    now = [1000000.0]
    journal = UploadJournal(path, URL, clock=lambda: now[0])
    journal.begin(CUSTOMER, "b", [Device(product_key="PK")])
    now[0] += MAX_AGE + 1
    assert journal.pending(CUSTOMER) == []


def test_a_damaged_journal_does_not_stop_runs(tmp_path):
    path = tmp_path / "journal.json"
    path.write_text('{"version": 1, "entries": [')
    journal = UploadJournal(str(path), URL)
    assert journal.pending(CUSTOMER) == []
    journal.begin(CUSTOMER, "b", [Device(product_key="PK")])
    assert len(json.loads(path.read_text())["entries"]) == 1


def test_an_unusable_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(JournalError, match="journal_path"):
        UploadJournal(str(blocker / "journal.json"), URL).pending(CUSTOMER)


def test_default_path_is_beside_the_token_cache(tmp_path):
    assert default_path(str(tmp_path / "cache.json")) == str(tmp_path / "partnercenter-upload-journal.json")
    assert default_path(None).startswith(os.path.expanduser("~"))


def _writer(path, worker):
    journal = UploadJournal(path, URL)
    for i in range(25):
        entry_id = journal.begin(CUSTOMER, "b", [Device(serial_number="S%d-%d" % (worker, i))])
        journal.accepted(entry_id, "t-%d-%d" % (worker, i))


def test_several_processes_writing_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "journal.json")
    procs = [multiprocessing.Process(target=_writer, args=(path, w)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    entries = UploadJournal(path, URL).pending(CUSTOMER)
    assert sorted(e["tracking_id"] for e in entries) == sorted("t-%d-%d" % (w, i) for w in range(4) for i in range(25))


def test_workers_making_the_journal_directory_at_once_all_succeed(tmp_path):
    # A fresh AWX container: the default directory does not exist yet and the task's workers all want it.
    import threading
    for trial in range(20):
        path = str(tmp_path / ("fresh-%d" % trial) / "journal.json")
        errors, barrier = [], threading.Barrier(4)

        def work():
            barrier.wait()
            try:
                UploadJournal(path, "https://example.test").pending("c")
            except Exception as err:  # pylint: disable=broad-except
                errors.append(err)
        threads = [threading.Thread(target=work) for _i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert errors == []
