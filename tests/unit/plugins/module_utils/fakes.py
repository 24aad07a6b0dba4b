"""Fakes for the engine's unit tests: a clock that only moves when slept on, and a Partner Center service and a
transport that keep their state in memory and let it change with the fake clock's time."""
import base64

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    OutcomeUnknownError, PartnerCenterClient, PartnerCenterError)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import FIELDS
from ansible_collections.partnercenter.autopilot.plugins.module_utils.tasks import batch_requests
from ansible_collections.partnercenter.autopilot.plugins.module_utils.engine import RunOptions, run_batches
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import PartnerCenterService

URL = "https://api.partnercenter.microsoft.com"
CUSTOMER = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
CUSTOMER_B = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CUSTOMER_C = "9b2e6a41-1c3d-4e5f-8a7b-0c1d2e3f4a5b"


def hw_hash(serial):
    """A valid-looking hardware hash (base64, 100+ bytes) that differs per serial number."""
    return base64.b64encode(("hash of %s;" % serial).encode("ascii") * 12).decode("ascii")


def dev(serial, with_hash=False):
    """A device as a user declares it: serial + make + model, or serial + hash."""
    if with_hash:
        return dict(serial_number=serial, hardware_hash=hw_hash(serial))
    return dict(serial_number=serial, manufacturer="Contoso", model="Laptop 7")


class FakeClock(object):
    """service.Clock's interface; sleeping moves the time on at once and is recorded."""

    def __init__(self, start=1800000000.0):
        self.start = self.time = start
        self.sleeps = []

    def now(self):
        return self.time

    def sleep(self, seconds):
        assert seconds >= 0, "negative sleep %r" % seconds
        self.sleeps.append(seconds)
        self.time += seconds

    def sleep_until(self, moment):
        self.sleep(max(0.0, moment - self.time))

    def elapsed(self):
        return self.time - self.start


def _keys(device_fields):
    """Identity keys of a device given as {serial_number, product_key, hardware_hash} (the service's view)."""
    keys = set()
    for name in ("serial_number", "product_key", "hardware_hash"):
        value = device_fields.get(name)
        if value:
            keys.add((name, value.strip().upper()))
    return keys


class FakeService(object):
    """PartnerCenterService's interface over in-memory customers, batches and jobs, driven by the fake clock.

    Like the real service, a batch is listed as soon as its create request is accepted, while a device is
    listed only once the job that uploads it has finished. Every request the engine sends that changes
    something is recorded in `writes` as (kind, customer, batch, [serials or ids]) with its time in
    `write_times`; `calls` records every call, reads included.

    Knobs: job_seconds (how long each upload's job runs; job_times overrides it for the k-th upload, 1-based),
    with_status (False: the listing has no `status`, as in the SDK's DeviceBatch), lose ({k: "after"|"before"}:
    the k-th upload raises OutcomeUnknownError after or without being applied), refuse ({customer: error}:
    every call for that customer raises it), foreign (serials registered to another tenant).
    """

    base_url = URL

    def __init__(self, clock, job_seconds=30.0, with_status=True, chunk_size=500):
        self.clock, self.job_seconds, self.with_status, self.chunk_size = clock, job_seconds, with_status, chunk_size
        self.job_times, self.lose, self.refuse, self.foreign = {}, {}, {}, set()
        self.store = {}     # customer -> {batch id: {"id", "devices": [record], "jobs": [tracking id]}}
        self.jobs = {}      # tracking id -> job
        self.writes, self.write_times, self.calls = [], [], []
        self.uploads = 0
        self._ids = 0

    # ----- the simulated service -------------------------------------------------------------------------
    def _next_id(self, prefix):
        self._ids += 1
        return "%s-%d" % (prefix, self._ids)

    def _customer(self, customer_id):
        error = self.refuse.get(customer_id)
        if error is not None:
            raise error
        return self.store.setdefault(customer_id.lower(), {})

    def _registered_keys(self, customer_id):
        keys = set()
        for batch in self._customer(customer_id).values():
            for record in batch["devices"]:
                keys |= _keys(record)
        return keys

    def _advance(self):
        """Finish every job whose time has come: its devices are registered (and listed) only now."""
        for job in sorted(self.jobs.values(), key=lambda j: j["done_at"]):
            if job["results"] is None and self.clock.now() >= job["done_at"]:
                self._finish(job)

    def _finish(self, job):
        batch = self._customer(job["customer"])[job["batch_id"]]
        job["results"] = []
        for fields in job["devices"]:
            keys = _keys(fields)
            result = {"deviceId": None, "serialNumber": fields.get("serial_number"),
                      "productKey": fields.get("product_key"), "status": "finished_with_errors",
                      "errorCode": None, "errorDescription": None}
            if fields.get("serial_number") in self.foreign:
                result.update(errorCode="808", errorDescription="ZtdDeviceAssignedToOtherTenant")
            elif keys & self._registered_keys(job["customer"]):
                result.update(errorCode="806", errorDescription="ZtdDeviceAlreadyAssigned")
            else:
                record = dict(fields, id=self._next_id("device"))
                batch["devices"].append(record)
                result.update(deviceId=record["id"], status="finished")
            job["results"].append(result)

    def _job_state(self, job):
        if job["results"] is not None:
            failed = any(r["status"] != "finished" for r in job["results"])
            return "finished_with_errors" if failed else "finished"
        # A job is queued for its first few seconds, then processing: the listing shows both.
        return "queued" if self.clock.now() < job["created"] + min(5.0, job["seconds"] / 2.0) else "processing"

    def start_job(self, customer_id, batch_id, devices, seconds=None, create=True):
        """Apply an upload: the batch exists from now on, its devices are registered when the job finishes.

        Called by send_chunk, and directly by tests for an upload made by someone else (not in `writes`).
        devices: Device objects or dicts of their fields.
        """
        batches = self._customer(customer_id)
        if batch_id not in batches:
            assert create, "devices added to batch %s, which does not exist" % batch_id
            batches[batch_id] = {"id": batch_id, "devices": [], "jobs": []}
        tracking_id = self._next_id("job")
        fields = [d if isinstance(d, dict) else dict((name, getattr(d, name)) for name in FIELDS) for d in devices]
        seconds = self.job_seconds if seconds is None else seconds
        self.jobs[tracking_id] = {"id": tracking_id, "customer": customer_id.lower(), "batch_id": batch_id,
                                  "devices": fields, "created": self.clock.now(), "seconds": seconds,
                                  "done_at": self.clock.now() + seconds, "results": None}
        batches[batch_id]["jobs"].append(tracking_id)
        return tracking_id

    def seed(self, customer_id, batch_id, serials):
        """A batch registered long ago; returns the service ids of its devices, by serial."""
        batch = self._customer(customer_id).setdefault(batch_id, {"id": batch_id, "devices": [], "jobs": []})
        ids = {}
        for serial in serials:
            record = dict(serial_number=serial, manufacturer="Contoso", model="Laptop 7", id=self._next_id("device"))
            batch["devices"].append(record)
            ids[serial] = record["id"]
        return ids

    def listed_serials(self, customer_id, batch_id):
        self._advance()
        return sorted(r.get("serial_number") for r in self._customer(customer_id)[batch_id]["devices"])

    def _write(self, kind, customer_id, batch_id, what):
        self.writes.append((kind, customer_id, batch_id, what))
        self.write_times.append(self.clock.now())

    # ----- PartnerCenterService's interface ----------------------------------------------------------------
    def list_batches(self, customer_id):
        self.calls.append(("list_batches", customer_id))
        self._advance()
        items = []
        for batch in self._customer(customer_id).values():
            item = {"id": batch["id"], "devicesCount": len(batch["devices"]), "createdBy": "admin@partner.example",
                    "creationDate": "2026-11-01T10:00:00", "attributes": {"objectType": "DeviceBatch"}}
            if self.with_status:
                last = self.jobs[batch["jobs"][-1]] if batch["jobs"] else None
                item["status"] = self._job_state(last) if last else "finished"
            items.append(item)
        return items

    def list_devices(self, customer_id, batch_id):
        self.calls.append(("list_devices", customer_id, batch_id))
        self._advance()
        batch = self._customer(customer_id).get(batch_id)
        if batch is None:
            raise PartnerCenterError("batch %s not found" % batch_id, status=404, code="600039")
        # The listing never carries the hardware hash.
        return [{"id": r["id"], "serialNumber": r.get("serial_number"), "productKey": r.get("product_key"),
                 "oemManufacturerName": r.get("manufacturer"), "modelName": r.get("model"),
                 "attributes": {"objectType": "Device"}} for r in batch["devices"]]

    def send_chunk(self, customer_id, batch_id, chunk, create, on_attempt=None):
        if on_attempt is not None:  # as the transport does before sending
            on_attempt()
        self.calls.append(("send_chunk", customer_id, batch_id))
        self._customer(customer_id)
        self.uploads += 1
        self._write("create" if create else "add", customer_id, batch_id, [d.label(bare=True) for d in chunk])
        lost = self.lose.get(self.uploads)
        if lost == "before":
            raise OutcomeUnknownError("POST deviceBatches: no answer (the request never reached the service)")
        # create on an existing batch: the real service's 409 -> add, so the devices land all the same.
        tracking_id = self.start_job(customer_id, batch_id, chunk, self.job_times.get(self.uploads), create=create)
        if lost == "after":
            raise OutcomeUnknownError("POST deviceBatches: read timed out (the upload may have been applied)")
        location = "/customers/%s/batchJobStatus/%s" % (customer_id, tracking_id)
        return {"location": location, "tracking_id": tracking_id, "devices": chunk}

    def delete_device(self, customer_id, batch_id, device_id):
        self.calls.append(("delete_device", customer_id, batch_id, device_id))
        batch = self._customer(customer_id).get(batch_id)
        self._write("delete", customer_id, batch_id, [device_id])
        if batch is not None:  # a device already gone is done (the real service's 404)
            batch["devices"] = [r for r in batch["devices"] if r["id"] != device_id]

    def job_status(self, customer_id, tracking_id):
        self.calls.append(("job_status", customer_id, tracking_id))
        self._customer(customer_id)
        self._advance()
        job = self.jobs.get(tracking_id)
        if job is None or job["customer"] != customer_id.lower():
            raise PartnerCenterError("Partner Center answered 404 for GET batchJobStatus/%s" % tracking_id,
                                     status=404, code="600040")
        devices = job["results"] if job["results"] is not None else [
            {"deviceId": None, "serialNumber": d.get("serial_number"), "productKey": d.get("product_key"),
             "status": "queued", "errorCode": None, "errorDescription": None} for d in job["devices"]]
        return {"batchTrackingId": tracking_id, "status": self._job_state(job), "devicesStatus": devices,
                "attributes": {"objectType": "BatchUploadDetails"}}

    # Read and waited for as the real service does, over the fake's listings and jobs on the fake clock.
    batches = PartnerCenterService.batches
    registered = PartnerCenterService.registered

    def wait_for_job(self, customer_id, tracking_id, timeout, poll_interval=2.0, poll_cap=30.0, progress=None):
        self.calls.append(("wait_for_job", customer_id, tracking_id))
        return PartnerCenterService.wait_for_job(self, customer_id, tracking_id, timeout, poll_interval, poll_cap,
                                                 progress)

    def settled_batches(self, customer_id, batch_ids, deadline, poll_interval):
        self.calls.append(("settled_batches", customer_id, batch_ids))
        return PartnerCenterService.settled_batches(self, customer_id, batch_ids, deadline, poll_interval)


class FakeTransport(object):
    """PartnerCenterClient's interface for PartnerCenterService: answers come from `answers`, keyed by
    (method, path); a value is an exception to raise, or a callable (returning the answer, or raising), or an
    answer. `calls` records (method, path, body)."""

    base_url = URL
    path = staticmethod(PartnerCenterClient.path)

    def __init__(self, clock):
        self.clock, self.sleep = clock, clock.sleep
        self.answers, self.calls = {}, []

    def _answer(self, method, path, body=None):
        self.calls.append((method, path, body))
        try:
            answer = self.answers[(method, path)]
        except KeyError:
            raise AssertionError("unexpected call %s %s" % (method, path))
        if isinstance(answer, Exception):
            raise answer
        return answer() if callable(answer) else answer

    def get_all(self, path, customer_id=None):
        del customer_id
        return self._answer("GET", path)

    def get_json(self, path, customer_id=None):
        del customer_id
        return self._answer("GET", path)

    def send_accepted(self, method, path, json_body, customer_id=None, on_attempt=None):
        del customer_id
        return self._answer(method, path, json_body)

    def request(self, method, path, json_body=None, headers=None, customer_id=None):
        del headers, customer_id
        return self._answer(method, path, json_body)


# ----- running the engine as the module does --------------------------------------------------------------------
JOB = 30.0  # how long the fake service's jobs run unless a test says otherwise


def params(**overrides):
    """The module's options with their defaults (partnercenter_device_batch), as the engine gets them."""
    p = dict(customer_id=CUSTOMER, batch_id="b1", devices=None, devices_file=None, batches=None, batches_file=None,
             state="present", purge=False, force=False, match_scope="customer", wait=True, wait_timeout=900,
             poll_interval=2.0, fail_on_device_errors=True, journal_path=None, timeout=60)
    p.update(overrides)
    return p


def run(service, journal, clock, options=None, **overrides):
    """One batch through run_batches, as the module runs it: (its result, warnings)."""
    results, warnings, _undeclared = run_batches(service, journal, batch_requests(params(**overrides)),
                                                 options or RunOptions(), clock)
    assert len(results) == 1
    return results[0], warnings


def serials(identities):
    return sorted(i["serial_number"] for i in identities)


def calls_named(service, name):
    return [c for c in service.calls if c[0] == name]
