"""A real PartnerCenterClient (static token, no sleeping) whose session answers from a CannedAdapter."""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    DEFAULT_BASE_URL, PartnerCenterClient, StaticTokenProvider)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import PartnerCenterService
from tests.contract.transport import CannedAdapter

TOKEN = "contract-test-access-token"


@pytest.fixture
def wire():
    return CannedAdapter()


@pytest.fixture
def client(wire):
    pc = PartnerCenterClient(None, StaticTokenProvider(TOKEN), sleep=lambda seconds: None)
    assert pc.base_url == DEFAULT_BASE_URL
    pc.session.mount(DEFAULT_BASE_URL + "/", wire)
    return pc


@pytest.fixture
def service(client):
    return PartnerCenterService(client)
