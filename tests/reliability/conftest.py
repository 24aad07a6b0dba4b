"""Helpers shared by the fault, kill, bad-input and secrets suites."""
import collections
import threading
import time


def upload_counts(emulator):
    """How often each device (by serial, product key or hash) was uploaded in an accepted request."""
    counts = collections.Counter()
    for dev in emulator.uploaded_devices():
        key = dev.get("SerialNumber") or dev.get("ProductKey") or dev.get("HardwareHash")
        counts[key] += 1
    return counts


def assert_converged(emulator, customer, batch_id, serials):
    """Every desired device is registered once; nothing was uploaded twice."""
    registered = [d["serialNumber"] for d in emulator.batch_devices(customer, batch_id)]
    assert sorted(registered) == sorted(serials), "lost or extra devices"
    counts = upload_counts(emulator)
    duplicates = dict((k, n) for k, n in counts.items() if n > 1)
    assert not duplicates, "uploaded more than once: %s" % duplicates


def hold_jobs_until_the_next_run(emulator, after, timeout=300):
    """Keep every unfinished job where it is until a Partner Center request arrives after `after`, then let
    the jobs run on as if the held time had not passed.

    A re-run must meet a job still processing, however long ansible-playbook takes to start on a loaded
    machine; returns the thread, which the test joins.
    """
    emulator.jobs_never_finish = True

    def release():
        deadline = time.time() + timeout
        while time.time() < deadline and not [e for e in emulator.requests()
                                              if e["time"] > after and e["path"].startswith("/v1/")]:
            time.sleep(0.01)
        with emulator.lock:
            held = time.time() - after
            for job in emulator.jobs.values():
                if job["status"] not in ("finished", "finished_with_errors"):
                    job["created"] += held
            emulator.jobs_never_finish = False
    thread = threading.Thread(target=release, name="hold-jobs", daemon=True)
    thread.start()
    return thread
