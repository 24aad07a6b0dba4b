"""Shared fixtures: a running emulator per test (TLS material made once per session)."""
import os
import shutil
import tempfile

import pytest

from tests.emulator import Emulator, make_server_tls


@pytest.fixture(scope="session")
def emulator_tls():
    directory = tempfile.mkdtemp(prefix="pc-emulator-tls-")
    paths = make_server_tls(directory)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def emulator(emulator_tls):
    """A fresh emulator with short job times; its CA is at emulator.ca_path."""
    emu = Emulator(workdir=emulator_tls, reuse_tls=True)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def pc_env(emulator):
    """Environment variables that point the collection at the emulator, as a user would set them."""
    env = dict(os.environ)
    env.update({
        "PARTNERCENTER_BASE_URL": emulator.url,
        "PARTNERCENTER_AUTHORITY": emulator.authority,
        "PARTNERCENTER_CA_PATH": emulator.ca_path,
        "PARTNERCENTER_TENANT_ID": emulator.tenant_id,
        "PARTNERCENTER_CLIENT_ID": emulator.client_id,
        "PARTNERCENTER_CLIENT_SECRET": emulator.client_secret,
        "PARTNERCENTER_REFRESH_TOKEN": emulator._initial_refresh_token,
    })
    return env
