"""Helpers shared by the fault, kill, bad-input and secrets suites."""
import collections


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
