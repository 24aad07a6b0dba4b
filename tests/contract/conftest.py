"""A real PartnerCenterClient (static token, fake time) whose session answers from a CannedAdapter."""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    DEFAULT_BASE_URL, PartnerCenterClient, StaticTokenProvider)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import Clock, PartnerCenterService
from tests.contract.transport import CannedAdapter

TOKEN = "contract-test-access-token"


class FakeTime(object):
    """A clock that stands still until slept on: sleep(s) moves it s seconds on at once.

    The client's throttle waits until its clock passes a Retry-After, and the retry policy counts its budget on
    a clock, so a sleep that does nothing needs a clock that it moves: with the real clock the throttle would
    spin for the whole Retry-After (57 s of CPU per throttled call).
    """

    def __init__(self, start=1700000000.0):
        self.now = start
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += max(0.0, seconds)


@pytest.fixture
def wire():
    return CannedAdapter()


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def client(wire, fake_time):
    pc = PartnerCenterClient(None, StaticTokenProvider(TOKEN), sleep=fake_time.sleep, clock=fake_time)
    assert pc.base_url == DEFAULT_BASE_URL
    pc.session.mount(DEFAULT_BASE_URL + "/", wire)
    return pc


@pytest.fixture
def service(client, fake_time):
    return PartnerCenterService(client, clock=Clock(now=fake_time, sleep=fake_time.sleep))
