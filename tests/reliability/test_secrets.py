"""No secret in output, logs, results or errors: every playbook at -vvvv with ANSIBLE_DEBUG=1 and a log file."""
import json
import os
import re
import stat

import pytest

from tests.emulator import make_client_certificate
from tests.helpers import CUSTOMER, device
from tests.playbooks import ROOT, run_playbook

INVENTORY = os.path.join(ROOT, "playbooks", "inventory", "hosts.yml")

MODULE_WITH_CREDENTIALS = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Module authenticating by itself
      partnercenter.autopilot.partnercenter_device_batch:
        customer_id: {customer}
        batch_id: secrets
        devices: {devices}
        poll_interval: 0.1
        client_secret: "{{{{ lookup('ansible.builtin.env', 'PC_SECRET') }}}}"
        refresh_token: "{{{{ lookup('ansible.builtin.env', 'PC_REFRESH') }}}}"
      register: result
    - name: Show the result
      ansible.builtin.debug:
        var: result
"""


def secrets_of(emulator, extra=()):
    """Everything that must never be printed: credentials and every token the emulator issued."""
    values = [emulator.client_secret, emulator._initial_refresh_token]
    values += list(emulator.access_tokens) + list(emulator.refresh_tokens) + list(extra)
    return [v for v in values if v]


def scan(texts, secrets):
    leaks = []
    for label, text in texts.items():
        for secret in secrets:
            if secret in text:
                leaks.append("%s contains %s..." % (label, secret[:12]))
    return leaks


def run_logged(playbook, env, tmp_path, name, extra_args=(), inventory=INVENTORY):
    log = tmp_path / ("%s.log" % name)
    env = dict(env, ANSIBLE_DEBUG="1", ANSIBLE_LOG_PATH=str(log), ANSIBLE_KEEP_REMOTE_FILES="0")
    proc = run_playbook(playbook, env, inventory=inventory, args=["-vvvv"] + list(extra_args), timeout=600)
    texts = {name + " output": proc.stdout, name + " log": log.read_text() if log.exists() else ""}
    return proc, texts


def env_for(pc_env, tmp_path, **overrides):
    env = dict(pc_env, PARTNERCENTER_TOKEN_CACHE_PATH=str(tmp_path / "cache" / "tokens.json"))
    os.makedirs(tmp_path / "cache", exist_ok=True)
    env.update(overrides)
    return env


def test_register_and_status_playbooks_leak_nothing(emulator, pc_env, tmp_path):
    env = env_for(pc_env, tmp_path)
    texts = {}
    for name, book, args in (("register", "playbooks/register_devices.yml", ["-e", "report_dir=%s" % tmp_path]),
                             ("register again", "playbooks/register_devices.yml", ["-e", "report_dir=%s" % tmp_path]),
                             ("status", "playbooks/batch_status.yml", [])):
        proc, out = run_logged(os.path.join(ROOT, book), env, tmp_path, name.replace(" ", "-"), args)
        assert proc.returncode == 0, proc.stdout[-3000:]
        texts.update(out)
    for report in ("autopilot-report.csv", "autopilot-report.html"):
        texts[report] = (tmp_path / report).read_text()
    assert len(texts["register log"]) > 10000, "ANSIBLE_DEBUG and the log file must really have been on"
    assert scan(texts, secrets_of(emulator)) == []
    assert stat.S_IMODE(os.stat(env["PARTNERCENTER_TOKEN_CACHE_PATH"]).st_mode) == 0o600


def test_module_given_credentials_directly_leaks_nothing(emulator, pc_env, tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(MODULE_WITH_CREDENTIALS.format(customer=CUSTOMER, devices=json.dumps([device(0)])))
    env = env_for(pc_env, tmp_path, PC_SECRET=pc_env["PARTNERCENTER_CLIENT_SECRET"],
                  PC_REFRESH=pc_env["PARTNERCENTER_REFRESH_TOKEN"], PARTNERCENTER_CLIENT_SECRET="",
                  PARTNERCENTER_REFRESH_TOKEN="")
    proc, texts = run_logged(str(play), env, tmp_path, "direct", ["--diff"], inventory=None)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert '"client_secret": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in proc.stdout
    assert scan(texts, secrets_of(emulator)) == []


@pytest.mark.parametrize("failure", ["bad refresh token", "expired refresh token", "device of another tenant",
                                     "token refused mid-run", "untrusted server", "job never finishes"])
def test_failure_paths_leak_nothing(emulator, pc_env, tmp_path, failure):
    env = env_for(pc_env, tmp_path)
    if failure == "bad refresh token":
        env["PARTNERCENTER_REFRESH_TOKEN"] = "bad-refresh-token-value-0123456789"
    elif failure == "expired refresh token":
        emulator.expire_refresh_token(env["PARTNERCENTER_REFRESH_TOKEN"])
    elif failure == "device of another tenant":
        emulator.foreign_keys.add(("serial", "CNU1234ABC"))
    elif failure == "token refused mid-run":
        emulator.add_fault("expire_tokens", method="GET", path="/deviceBatches$", times=None)
    elif failure == "untrusted server":
        env["PARTNERCENTER_CA_PATH"] = ""
    elif failure == "job never finishes":
        emulator.jobs_never_finish = True
    proc, texts = run_logged(os.path.join(ROOT, "playbooks/register_devices.yml"), env, tmp_path, "fail",
                             ["-e", "report_dir=%s" % tmp_path, "-e", "register_poll_interval=0.2",
                              "-e", "register_wait_timeout=3"])
    assert proc.returncode != 0
    secrets = secrets_of(emulator, [env["PARTNERCENTER_REFRESH_TOKEN"]])
    assert scan(texts, secrets) == []
    expected = {"bad refresh token": "refresh token is malformed", "expired refresh token": "AADSTS700082",
                "device of another tenant": "devices could not be registered", "token refused mid-run": "HTTP 401",
                "untrusted server": "TLS verification failed", "job never finishes": "partnercenter_batch_job_status_info"}[
                    failure]
    if expected:
        assert expected in proc.stdout


def test_certificate_key_never_printed(emulator, pc_env, tmp_path):
    cert = make_client_certificate(str(tmp_path))
    emulator.client_certificate = cert
    with open(cert["path"]) as handle:
        pem = handle.read()
    key_lines = [line for line in pem.split("-----BEGIN CERTIFICATE-----")[0].splitlines() if "-----" not in line]
    env = env_for(pc_env, tmp_path, PARTNERCENTER_CLIENT_SECRET="", PARTNERCENTER_CLIENT_CERTIFICATE_PATH=cert["path"],
                  PARTNERCENTER_CLIENT_CERTIFICATE_THUMBPRINT=cert["thumbprint"])
    proc, texts = run_logged(os.path.join(ROOT, "playbooks/register_devices.yml"), env, tmp_path, "cert",
                             ["-e", "report_dir=%s" % tmp_path])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert scan(texts, secrets_of(emulator) + key_lines) == []


def test_validate_certs_false_warns(emulator, run_module, pc_env):
    env = dict(pc_env, PARTNERCENTER_CA_PATH="", PARTNERCENTER_VALIDATE_CERTS="false")
    r = run_module("partnercenter.autopilot.partnercenter_device_batch_info", {"customer_id": CUSTOMER}, env=env).result
    assert not r.get("failed") and any("validate_certs is false" in w for w in r["warnings"])


COMPLETE_AGAIN = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Complete the sign-in with the address already used
      partnercenter.autopilot.partnercenter_consent:
        state: complete
        client_secret: "{{ lookup('ansible.builtin.env', 'PC_SECRET') }}"
        redirect_url: "{{ lookup('ansible.builtin.env', 'PC_LANDED') }}"
"""


def test_consent_leaks_no_code_verifier_or_token(emulator, pc_env, tmp_path):
    """playbooks/consent.yml at -vvvv with ANSIBLE_DEBUG=1, the secret given as a variable and the address typed
    into the prompt; then its failures: a lost answer, the used code tried again, a stale address typed."""
    from tests.integration.test_consent import run_consent_in_terminal  # pylint: disable=import-outside-toplevel
    env = env_for(pc_env, tmp_path, PARTNERCENTER_REFRESH_TOKEN="", PARTNERCENTER_CLIENT_SECRET="",
                  ANSIBLE_DEBUG="1", ANSIBLE_KEEP_REMOTE_FILES="0")
    secret_vars = tmp_path / "secret-vars.json"
    secret_vars.write_text(json.dumps({"partnercenter_client_secret": emulator.client_secret}))
    texts = {}

    def consent(name, landed=None):
        log = tmp_path / ("%s.log" % name)
        rc, shown, typed = run_consent_in_terminal(emulator, dict(env, ANSIBLE_LOG_PATH=str(log)), landed=landed,
                                                   args=["-vvvv", "-e", "@%s" % secret_vars])
        texts.update({name + " output": shown, name + " log": log.read_text() if log.exists() else ""})
        return rc, shown, typed

    rc, shown, landed = consent("consent")
    assert rc == 0 and "Signed in as" in shown, shown[-3000:]
    # ANSIBLE_DEBUG's lines ("<pid> <time>: ...") in the terminal, and the log file written.
    assert len(re.findall(r"\d+ \d+\.\d+: ", texts["consent output"])) > 100 and "Signed in as" in texts["consent log"]
    cache = env["PARTNERCENTER_TOKEN_CACHE_PATH"]
    with open(cache) as handle:
        id_tokens = [e["secret"] for e in json.load(handle)["IdToken"].values()]

    # The answer to the next exchange is lost after the code was used; the same address then meets a used code.
    emulator.add_fault("drop_after_apply", method="POST", path=r"/oauth2/v2\.0/token$")
    rc, shown, lost = consent("lost")
    assert rc != 0 and "cannot exchange the code" in shown
    play = tmp_path / "again.yml"
    play.write_text(COMPLETE_AGAIN)
    proc, out = run_logged(str(play), dict(env, PC_SECRET=emulator.client_secret, PC_LANDED=lost), tmp_path,
                           "used", inventory=None)
    assert proc.returncode != 0 and "AADSTS54005" in proc.stdout
    texts.update(out)
    rc, shown, _typed = consent("stale", landed=landed)  # a new start, the first sign-in's address typed
    assert rc != 0 and "state mismatch" in shown

    exchanges = [e["body"] for e in emulator.token_requests() if e["body"]["grant_type"] == "authorization_code"]
    assert len(exchanges) == 3
    secrets = secrets_of(emulator, [b["code"] for b in exchanges] + [b["code_verifier"] for b in exchanges]
                         + list(emulator.auth_codes) + id_tokens)
    assert scan(texts, secrets) == []
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
