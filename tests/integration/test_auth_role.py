"""The partnercenter_auth role and partnercenter_token module through ansible-playbook."""
import os

import pytest

from tests.emulator import make_client_certificate
from tests.playbooks import ROOT, run_playbook

PLAY = """
- name: Many hosts, one token
  hosts: devices
  connection: local
  gather_facts: false
  roles:
    - partnercenter.autopilot.partnercenter_auth
  tasks:
    - name: Every host has the same token
      ansible.builtin.assert:
        that:
          - partnercenter_access_token is defined
          - partnercenter_access_token == hostvars[ansible_play_hosts[0]].partnercenter_access_token
        quiet: true
      no_log: true
    - name: The token works for a check-mode plan
      partnercenter.autopilot.partnercenter_device_batch:
        access_token: "{{ partnercenter_access_token }}"
        customer_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
        batch_id: role-test
        devices: [{product_key: "PK-1"}]
      run_once: true
      delegate_to: localhost
"""


@pytest.fixture
def role_play(tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[devices]\n" + "\n".join("device-%02d ansible_python_interpreter=%s" % (
        i, os.path.join(ROOT, ".venv", "bin", "python")) for i in range(12)) + "\n")
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    return str(play), str(inventory)


def test_one_token_request_for_a_play_of_many_hosts(emulator, pc_env, role_play):
    proc = run_playbook(role_play[0], pc_env, inventory=role_play[1], args=["--check"])
    assert proc.returncode == 0, proc.stdout
    assert len(emulator.token_requests()) == 1
    assert emulator.writes() == []  # --check: the token is obtained, nothing is written
    assert "changed: [device-00 -> localhost]" in proc.stdout  # the check-mode plan reports the change


def test_certificate_credential(emulator, pc_env, role_play, tmp_path):
    cert = make_client_certificate(str(tmp_path))
    emulator.client_certificate = cert
    env = dict(pc_env, PARTNERCENTER_CLIENT_SECRET="", PARTNERCENTER_CLIENT_CERTIFICATE_PATH=cert["path"],
               PARTNERCENTER_CLIENT_CERTIFICATE_THUMBPRINT=cert["thumbprint"])
    proc = run_playbook(role_play[0], env, inventory=role_play[1])
    assert proc.returncode == 0, proc.stdout
    assert "client_assertion" in emulator.token_requests()[0]["body"]


@pytest.mark.parametrize("setup,needle", [
    ("expired", "AADSTS700082"),
    ("mfa", "multi-factor authentication is required"),
    ("bad", "refresh token is malformed"),
    ("secret", "client secret was rejected"),
])
def test_bad_credentials_fail_clearly_before_any_partner_center_call(emulator, pc_env, role_play, setup, needle):
    env = dict(pc_env)
    if setup == "expired":
        emulator.expire_refresh_token(env["PARTNERCENTER_REFRESH_TOKEN"])
    elif setup == "mfa":
        emulator.mfa_required_refresh_tokens.add(env["PARTNERCENTER_REFRESH_TOKEN"])
    elif setup == "bad":
        env["PARTNERCENTER_REFRESH_TOKEN"] = "bad-refresh-token-value-123"
    elif setup == "secret":
        env["PARTNERCENTER_CLIENT_SECRET"] = "wrong-client-secret-value-123"
    proc = run_playbook(role_play[0], env, inventory=role_play[1], args=["-vvv"])
    assert proc.returncode != 0
    assert needle in proc.stdout
    assert [e for e in emulator.requests() if e["path"].startswith("/v1/")] == []
    for secret in (env["PARTNERCENTER_CLIENT_SECRET"], env["PARTNERCENTER_REFRESH_TOKEN"]):
        assert secret not in proc.stdout


def test_missing_credentials_named_without_any_request(emulator, pc_env, role_play):
    env = dict(pc_env, PARTNERCENTER_CLIENT_SECRET="", PARTNERCENTER_REFRESH_TOKEN="")
    proc = run_playbook(role_play[0], env, inventory=role_play[1])
    assert proc.returncode != 0
    assert "partnercenter_client_secret or partnercenter_client_certificate_path" in proc.stdout
    assert "partnercenter_refresh_token" in proc.stdout
    assert emulator.requests() == []


def test_token_module_in_client_credentials_flow(emulator, run_module, pc_env):
    env = dict(pc_env, PARTNERCENTER_REFRESH_TOKEN="")
    r = run_module("partnercenter.autopilot.partnercenter_token", {"auth_flow": "client_credentials"}, env=env).result
    assert r["changed"] is False and r["auth_flow"] == "client_credentials"
    assert emulator.access_tokens[r["access_token"]]["kind"] == "app"
