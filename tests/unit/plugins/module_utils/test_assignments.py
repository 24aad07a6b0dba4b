"""assignments.py on the fake clock and a small fake of the service's device listing: which devices get their
profile, and an assignment whose answer was lost read back before anything is sent again."""
import types

import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.assignments import Assigner, Assignment, key_of
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import OutcomeUnknownError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import Device
from tests.unit.plugins.module_utils.fakes import CUSTOMER, params

KIOSK = {"id": "15a04610-9229-4e80-94e0-0e826a09c9e2", "name": "Kiosk"}


class Listing(object):
    """The service's device listing as the assigner reads it, with the profile named as the recordings show
    (by name), and a DevicePolicyUpdates that loses its answer after applying it."""

    def __init__(self, clock, shows_after=0.0):
        self.clock, self.shows_after = clock, shows_after
        self.devices, self.patches, self.applied_at = {}, [], None

    def list_devices(self, customer_id, batch_id):
        shown = self.applied_at is not None and self.clock.now() - self.applied_at >= self.shows_after
        return [{"id": device_id, "serialNumber": serial,
                 "policies": [{"key": "o_o_b_e", "value": KIOSK["name"] if shown else None}]}
                for device_id, serial in sorted(self.devices.items())]

    def assign_profiles(self, customer_id, pairs, on_attempt=None):
        self.patches.append(pairs)
        self.applied_at = self.clock.now()
        raise OutcomeUnknownError("PATCH DevicePolicyUpdates: read timed out")


def a_run(clock, service):
    return types.SimpleNamespace(service=service, clock=clock, customer=CUSTOMER, batch_id="b1", warnings=[],
                                 p=params(poll_interval=1.0, timeout=60), result=dict(changed=False), fail=None)


def registered(serial, policy=None):
    return Device(serial_number=serial, device_id="id-" + serial, batch_id="b1", policy_id=policy)


def test_plan_assigns_only_devices_whose_profile_differs_whether_named_by_id_or_name(clock):
    assigner = Assigner(a_run(clock, None), {})
    desired = [Device(serial_number=s) for s in ("S1", "S2", "S3", "S4")]
    assigner.declared = dict((id(d), KIOSK) for d in desired)
    present = [(desired[0], registered("S1", KIOSK["id"])), (desired[1], registered("S2", "kiosk")),
               (desired[2], registered("S3", "Frontline"))]
    would = assigner.plan(present, [desired[3]])
    assert [w["serial_number"] for w in would] == ["S3", "S4"]
    assert [a.status for a in assigner.assignments] == ["already_assigned", "already_assigned", None, None]
    assert assigner.diff() == ({"S3": "Frontline", "S4": None}, {"S3": "Kiosk", "S4": "Kiosk"})
    fields = assigner.fields_by_key()
    assert fields[key_of("S3", None)] == {"profile": "Kiosk", "profile_id": KIOSK["id"], "profile_status": None}
    assert key_of(None, " pk-1 ") == "pk:PK-1" and key_of(" s1", "PK") == "S1"


def test_a_lost_assignment_is_read_back_until_it_shows_and_not_sent_again(clock):
    listing = Listing(clock, shows_after=3.0)
    listing.devices = {"id-S1": "S1", "id-S2": "S2"}
    run = a_run(clock, listing)
    assigner = Assigner(run, {})
    items = [Assignment(Device(serial_number=s), KIOSK, registered(s)) for s in ("S1", "S2")]
    assert assigner.send(items) == []
    assert len(listing.patches) == 1, "an assignment whose answer was lost was sent again"
    assert [a.status for a in items] == ["assigned", "assigned"] and run.result["changed"]
    assert 3.0 <= clock.elapsed() <= 4.0


def test_a_lost_assignment_that_never_shows_is_sent_again_after_the_grace(clock):
    listing = Listing(clock, shows_after=1e9)
    listing.devices = {"id-S1": "S1"}
    run = a_run(clock, listing)

    def fail(msg):
        raise AssertionError(msg)
    run.fail = fail
    items = [Assignment(Device(serial_number="S1"), KIOSK, registered("S1"))]
    with pytest.raises(AssertionError, match="kept losing their answers"):
        Assigner(run, {}).send(items)
    assert len(listing.patches) == 4 and items[0].status is None
    assert clock.elapsed() >= 3 * 10.0  # each resend only after the grace (LOST_ANSWER_GRACE)
