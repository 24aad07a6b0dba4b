# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upload journal: this controller's own uploads whose jobs may still be running, in a small 0600 file.

Why it exists: Partner Center lists a device only once the job that uploads it has finished, and the batch
listing's `status` (which would say a job is still running) is optional - the SDK's DeviceBatch has none.
Without a record of our own, a re-run, a retry after a lost answer or a run after a killed one would plan
against a listing that does not show the devices still being processed, and upload them a second time.

An entry is written before its upload request is sent (an intent, without tracking id), gets the tracking id
as soon as the service accepts the request, and is removed once the job is seen finished. The next run waits
for the jobs of the entries left behind before reading. No secrets and no hardware hashes are kept: devices
are recorded by serial number, product key, make and model, or a fingerprint of the hash.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import os
import tempfile
import time
import uuid

try:
    import fcntl
    HAS_FCNTL = True
except ImportError:  # pragma: no cover - Windows is not a supported controller
    HAS_FCNTL = False

from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import Device

VERSION = 1
# An entry this old describes a job that ended long ago (jobs take minutes): it is dropped when read.
MAX_AGE = 7 * 24 * 3600.0
FILE_NAME = "partnercenter-upload-journal.json"


def default_path(token_cache_path=None):
    """Beside the token cache when there is one (persistent storage in AWX), else under ~/.ansible."""
    if token_cache_path:
        return os.path.join(os.path.dirname(os.path.abspath(os.path.expanduser(token_cache_path))), FILE_NAME)
    return os.path.join(os.path.expanduser("~"), ".ansible", "partnercenter.autopilot", FILE_NAME)


def device_record(device):
    """What the journal keeps of a device: enough to find it in a listing, never the hash itself."""
    record = dict((k, getattr(device, k)) for k in ("serial_number", "product_key", "manufacturer", "model")
                  if getattr(device, k))
    if device.hardware_hash:
        record["hash_sha256"] = hashlib.sha256(device.hardware_hash.encode("ascii")).hexdigest()[:16]
    return record


def devices_of(entry):
    """The entry's devices as Device objects (hash-only ones cannot be matched by reading, and are skipped)."""
    return [Device(serial_number=d.get("serial_number"), product_key=d.get("product_key"),
                   manufacturer=d.get("manufacturer"), model=d.get("model"))
            for d in entry.get("devices") or [] if d.get("serial_number") or d.get("product_key")]


def device_count(entry):
    """How many devices the entry's upload holds (the list is dropped once the upload is accepted)."""
    return entry.get("device_count") or len(entry.get("devices") or [])


class JournalError(Exception):
    """The journal file cannot be read or written; the message names the path and what to do."""


class UploadJournal(object):
    """Entries of one service (base_url); every change is read-modify-write under an exclusive file lock."""

    def __init__(self, path, base_url, clock=time.time, read_only=False):
        """read_only (check mode): entries are read, and nothing is created or written."""
        self.path, self.base_url, self.clock = path, base_url.rstrip("/").lower(), clock
        self.read_only = read_only

    # ----- file handling ---------------------------------------------------------------------------------
    def _locked(self, change=None):
        """Run change(entries) -> result under the lock; entries are written back when change returns."""
        if self.read_only:
            return change(self._read() if os.path.exists(self.path) else []) if change else None
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            if not os.path.isdir(directory):
                try:
                    os.makedirs(directory, 0o700)
                except OSError as err:
                    if err.errno != errno.EEXIST:  # the task's other workers make it at the same moment
                        raise
            lock = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except (IOError, OSError) as err:
            raise JournalError("cannot use the upload journal %s: %s; set journal_path to a writable file"
                               % (self.path, err))
        try:
            if HAS_FCNTL:
                fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self._read()
            before = list(entries)
            result = change(entries) if change else None
            if entries != before:
                self._write(entries)
            return result
        finally:
            os.close(lock)  # closing releases the lock

    def _read(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
        except (IOError, OSError) as err:
            if err.errno == errno.ENOENT:
                return []
            raise JournalError("cannot read the upload journal %s: %s" % (self.path, err))
        except ValueError:
            # A journal cut short (disk full) must not stop every later run; it only ever holds hints.
            return []
        entries = data.get("entries") if isinstance(data, dict) else None
        now = self.clock()
        return [e for e in entries or [] if isinstance(e, dict) and now - e.get("sent_at", 0) < MAX_AGE]

    def _write(self, entries):
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            handle, tmp = tempfile.mkstemp(prefix=".upload-journal-", dir=directory)
            with os.fdopen(handle, "w") as out:
                json.dump({"version": VERSION, "entries": entries}, out)
            os.chmod(tmp, 0o600)
            os.rename(tmp, self.path)  # atomic: a reader never sees half a journal
        except (IOError, OSError) as err:
            raise JournalError("cannot write the upload journal %s: %s; set journal_path to a writable file"
                               % (self.path, err))

    def _mine(self, entry, customer_id, batch_id=None):
        return (entry.get("base_url") == self.base_url and entry.get("customer_id") == customer_id.lower()
                and (batch_id is None or (entry.get("batch_id") or "").lower() == batch_id.lower()))

    # ----- the journal's operations ----------------------------------------------------------------------
    def pending(self, customer_id, batch_id=None):
        """Entries of this customer (and batch, when given), oldest first."""
        return self._locked(lambda entries: [dict(e) for e in entries if self._mine(e, customer_id, batch_id)])

    def begin(self, customer_id, batch_id, devices):
        """Record an upload about to be sent; returns the entry's id."""
        entry = {"id": str(uuid.uuid4()), "base_url": self.base_url, "customer_id": customer_id.lower(),
                 "batch_id": batch_id, "tracking_id": None, "sent_at": self.clock(),
                 "devices": [device_record(d) for d in devices]}
        self._locked(lambda entries: entries.append(entry))
        return entry["id"]

    def accepted(self, entry_id, tracking_id):
        """The service accepted the upload: its job can now be waited for by tracking id.

        Its devices are no longer needed, only their number: the journal stays small (it is read and rewritten
        under the lock for every batch and chunk of a run over hundreds of customers).
        """
        def change(entries):
            for index, entry in enumerate(entries):
                if entry.get("id") == entry_id:
                    entries[index] = dict(entry, tracking_id=tracking_id, devices=[],
                                          device_count=device_count(entry))
        self._locked(change)

    def touch(self, entry_id):
        """The upload is being sent (again) now: its request can reach the service from this moment."""
        now = self.clock()

        def change(entries):
            for index, entry in enumerate(entries):
                if entry.get("id") == entry_id:
                    entries[index] = dict(entry, sent_at=now)
        self._locked(change)

    def done(self, entry_ids):
        """The jobs of these entries are finished (or their outcome has been settled by reading)."""
        ids = set(entry_ids)

        def change(entries):
            entries[:] = [e for e in entries if e.get("id") not in ids]
        if ids:
            self._locked(change)
