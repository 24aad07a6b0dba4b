"""Fixtures of the engine rooms' unit tests: the fake clock and an upload journal on it."""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import UploadJournal
from tests.unit.plugins.module_utils.fakes import URL, FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def journal(tmp_path, clock):
    return UploadJournal(str(tmp_path / "journal.json"), URL, clock=clock.now)
