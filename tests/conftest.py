"""Shared fixtures: a running emulator per test (TLS material made once per session)."""
import json
import os
import shutil
import tempfile

import pytest

from tests.emulator import Emulator, make_server_tls
from tests.playbooks import MODULE_PLAY, Run, run_playbook


@pytest.fixture(scope="session")
def emulator_tls():
    directory = tempfile.mkdtemp(prefix="pc-emulator-tls-")
    make_server_tls(directory)
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
def make_emulator(emulator_tls):
    """make_emulator(**knobs) -> another started emulator (same TLS material), stopped at teardown.

    Knobs are Emulator(...) keywords, e.g. profile="realistic", time_scale=0.1, seed=7, latency=0.3.
    """
    started = []

    def _make(**knobs):
        emu = Emulator(workdir=emulator_tls, reuse_tls=True, **knobs)
        started.append(emu)
        return emu.start()
    yield _make
    for emu in started:
        emu.stop()


@pytest.fixture
def pc_env(emulator, tmp_path):
    """Environment variables that point the collection at the emulator, as a user would set them.

    Each test has an upload journal of its own: entries another test left behind (its emulator gone, its
    port perhaps reused) must not make this one wait.
    """
    env = dict(os.environ)
    env.update({
        "PARTNERCENTER_BASE_URL": emulator.url,
        "PARTNERCENTER_AUTHORITY": emulator.authority,
        "PARTNERCENTER_CA_PATH": emulator.ca_path,
        "PARTNERCENTER_TENANT_ID": emulator.tenant_id,
        "PARTNERCENTER_CLIENT_ID": emulator.client_id,
        "PARTNERCENTER_CLIENT_SECRET": emulator.client_secret,
        "PARTNERCENTER_REFRESH_TOKEN": emulator._initial_refresh_token,
        "PARTNERCENTER_JOURNAL_PATH": str(tmp_path / "upload-journal.json"),
    })
    return env


@pytest.fixture
def run_module(tmp_path, pc_env):
    """run_module(name, args, check=False, diff=False, env=None, verbosity=0) -> Run with .result."""
    counter = {"n": 0}

    def _run(module, module_args, check=False, diff=False, env=None, verbosity=0):
        counter["n"] += 1
        n = counter["n"]
        play = tmp_path / ("play%d.yml" % n)
        # Arguments are written into the play as JSON (valid YAML), the way a user writes them, not templated.
        play.write_text(MODULE_PLAY.format(module=module, args=json.dumps(module_args)))
        result_path = tmp_path / ("result%d.json" % n)
        extra = tmp_path / ("vars%d.json" % n)
        extra.write_text(json.dumps({"result_path": str(result_path)}))
        args = (["--check"] if check else []) + (["--diff"] if diff else []) + (["-" + "v" * verbosity] if verbosity else [])
        proc = run_playbook(str(play), env or pc_env, str(extra), args)
        result = json.loads(result_path.read_text()) if result_path.exists() else None
        run = Run(proc, result)
        assert proc.returncode == 0, run
        return run
    return _run
