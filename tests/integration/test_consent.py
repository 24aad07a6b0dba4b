"""The first-time consent (partnercenter_consent, playbooks/consent.yml) end to end against the emulator, and
register_devices.yml afterwards with nothing but the token cache it wrote.

The browser step is the test's: it opens authorization_url (the emulator signs its test user in at once and
answers with the redirect a browser sign-in ends with) and hands over the address it lands on - typed into the
playbook's hidden prompt through a terminal, or given as consent_redirect_url.
"""
import base64
import fcntl
import hashlib
import json
import os
import pty
import re
import select
import stat
import subprocess
import termios
import time

import pytest
import requests

from tests.helpers import CUSTOMER
from tests.playbooks import BIN, ROOT, ansible_env, run_playbook

CONSENT = os.path.join(ROOT, "playbooks", "consent.yml")
REGISTER = os.path.join(ROOT, "playbooks", "register_devices.yml")
MODULE = "partnercenter.autopilot.partnercenter_consent"
PROMPT = b"Paste the whole address the browser landed on"
INVENTORY = """
autopilot_devices:
  vars: {partnercenter_customer_id: %s, partnercenter_batch_id: consent-batch}
  hosts:
    d1: {autopilot_product_key: PK-CONSENT-1}
    d2: {autopilot_product_key: PK-CONSENT-2}
""" % CUSTOMER


def browse(url, ca_path):
    """What a browser does with authorization_url: sign in, and land on the redirect's address."""
    answer = requests.get(url, verify=ca_path, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def code_of(landed):
    return re.search(r"[?&]code=([^&]+)", landed).group(1)


@pytest.fixture
def consent_env(emulator, tmp_path):
    """The PARTNERCENTER_* variables of a first run: app credentials and a token cache, no refresh token."""
    env = dict(os.environ)
    for name in [n for n in env if n.startswith("PARTNERCENTER_")]:
        del env[name]
    env.update({
        "PARTNERCENTER_BASE_URL": emulator.url,
        "PARTNERCENTER_AUTHORITY": emulator.authority,
        "PARTNERCENTER_CA_PATH": emulator.ca_path,
        "PARTNERCENTER_TENANT_ID": emulator.tenant_id,
        "PARTNERCENTER_CLIENT_ID": emulator.client_id,
        "PARTNERCENTER_CLIENT_SECRET": emulator.client_secret,
        "PARTNERCENTER_TOKEN_CACHE_PATH": str(tmp_path / "cache" / "tokens.json"),
        "PARTNERCENTER_JOURNAL_PATH": str(tmp_path / "upload-journal.json"),
    })
    return env


def _controlling_terminal():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_consent_in_terminal(emulator, env, args=(), landed=None, timeout=180):
    """ansible-playbook playbooks/consent.yml in a terminal, as a person runs it: when the prompt comes, the
    address printed is opened (browse) and the address landed on - or `landed`, when given - is typed in.
    Returns (returncode, everything the terminal showed, the address typed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), CONSENT] + list(args), cwd=ROOT,
                            env=ansible_env(env), stdin=slave, stdout=slave, stderr=slave,
                            preexec_fn=_controlling_terminal)  # pylint: disable=subprocess-popen-preexec-fn
    os.close(slave)
    shown, typed, deadline = b"", None, time.time() + timeout
    try:
        while time.time() < deadline:
            ready = select.select([master], [], [], 0.2)[0]
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the playbook ended and closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
            # Typed once the prompt is shown and the terminal no longer echoes (as a person would be too slow to
            # do otherwise; typed earlier, the terminal itself would show it).
            if typed is None and PROMPT in shown and not termios.tcgetattr(master)[3] & termios.ECHO:
                url = re.findall(rb"(https://\S+/oauth2/v2\.0/authorize\?[^\s\"]+)", shown)[-1].decode()
                typed = landed or browse(url, emulator.ca_path)
                os.write(master, typed.encode() + b"\r")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    return proc.returncode, shown.decode("utf-8", "replace"), typed


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def cache_secrets(path, kind):
    """The secrets of one credential type (AccessToken, RefreshToken, IdToken) in an msal token cache file."""
    with open(str(path)) as handle:
        return [entry["secret"] for entry in json.load(handle).get(kind, {}).values()]


def test_consent_playbook_then_register_with_only_the_token_cache(emulator, consent_env, tmp_path):
    cache = tmp_path / "cache" / "tokens.json"
    rc, shown, landed = run_consent_in_terminal(emulator, consent_env)
    assert rc == 0 and landed, shown[-3000:]
    assert code_of(landed) not in shown  # the prompt hid what was typed
    assert "Signed in as admin@partner.example" in shown and str(cache) in shown
    # One token request: the code for tokens, with the PKCE verifier whose S256 was the sign-in's challenge.
    [authorize] = emulator.requests("GET", r"/oauth2/v2\.0/authorize$")
    [exchange] = emulator.token_requests()
    form, query = exchange["body"], dict(p.split("=", 1) for p in authorize["query"].split("&"))
    assert form["grant_type"] == "authorization_code" and form["code"] == code_of(landed)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
    assert (query["code_challenge"], query["code_challenge_method"]) == (challenge.decode(), "S256")
    # The tokens are in the cache, 0600 in a directory made 0700; the flow file is gone.
    assert mode(cache) == 0o600 and mode(cache.parent) == 0o700
    assert not os.path.exists(str(cache) + ".consent-flow.json")
    [access] = cache_secrets(cache, "AccessToken")
    [refresh] = cache_secrets(cache, "RefreshToken")
    assert emulator.access_tokens[access]["kind"] == "user" and refresh in emulator.refresh_tokens

    # register_devices.yml with the cache alone (no PARTNERCENTER_REFRESH_TOKEN): its access token, no token request.
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    emulator.clear_log()
    proc = run_playbook(REGISTER, consent_env, inventory=str(inventory),
                        args=["-e", "report_dir=%s" % (tmp_path / "reports"), "-e", "register_poll_interval=0.2"])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(d["productKey"] for d in emulator.batch_devices(CUSTOMER)) == ["PK-CONSENT-1", "PK-CONSENT-2"]
    assert emulator.token_requests() == []
    calls = emulator.requests(path="^/v1/")
    assert calls and {e["headers"]["Authorization"] for e in calls} == {"Bearer " + access}

    # Once the cached access token has expired, its refresh token (from the consent) is used, and rotated.
    with open(str(cache)) as handle:
        data = json.load(handle)
    for entry in data["AccessToken"].values():
        entry["expires_on"] = entry["extended_expires_on"] = str(int(time.time()) - 60)
    with open(str(cache), "w") as handle:
        json.dump(data, handle)
    emulator.expire_access_tokens()
    emulator.clear_log()
    proc = run_playbook(REGISTER, consent_env, inventory=str(inventory),
                        args=["-e", "report_dir=%s" % (tmp_path / "reports"), "-e", "register_poll_interval=0.2"])
    assert proc.returncode == 0 and emulator.writes() == [], proc.stdout[-3000:]
    [renewal] = emulator.token_requests()
    assert renewal["body"]["grant_type"] == "refresh_token" and renewal["body"]["refresh_token"] == refresh
    assert cache_secrets(cache, "RefreshToken") != [refresh] and mode(cache) == 0o600


def test_consent_redirect_url_skips_the_prompt(emulator, consent_env, tmp_path):
    # Automation that does the browser step itself gives the address as consent_redirect_url; here a lookup
    # opens the address the start task returned, when the complete task asks for the variable.
    script = tmp_path / "browser.py"
    script.write_text("import sys, requests\n"
                      "print(requests.get(sys.argv[1], verify=sys.argv[2], allow_redirects=False).headers['Location'])\n")
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({
        "test_browser": "%s %s" % (os.path.join(BIN, "python"), script), "test_ca": emulator.ca_path,
        "consent_redirect_url": "{{ lookup('ansible.builtin.pipe', test_browser ~ ' ' ~ "
                                "(consent_start.authorization_url | quote) ~ ' ' ~ test_ca) }}"}))
    proc = run_playbook(CONSENT, consent_env, extra_vars=str(extra))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "skipping: [localhost]" in proc.stdout and "Signed in as admin@partner.example" in proc.stdout
    assert mode(tmp_path / "cache" / "tokens.json") == 0o600


def test_check_mode_is_refused(emulator, consent_env):
    proc = run_playbook(CONSENT, consent_env, args=["--check"])
    assert proc.returncode != 0 and "run it without --check" in proc.stdout
    assert emulator.requests() == []


# ----- the module: negative paths, each leaving the token cache as it was ----------------------------------------

def start(run_module, emulator, cache, **args):
    result = run_module(MODULE, dict(state="start", token_cache_path=str(cache), **args)).result
    assert result.get("changed") and not result.get("failed"), result
    flow = cache.parent / (cache.name + ".consent-flow.json")
    assert result["flow_path"] == str(flow) and mode(flow) == 0o600
    assert set(result) >= {"authorization_url", "flow_expires_on", "redirect_uri"}
    with open(str(flow)) as handle:
        verifier = json.load(handle)["flow"]["code_verifier"]
    assert verifier not in json.dumps(result)  # the verifier stays in the file
    return result


def complete(run_module, cache, landed, **args):
    return run_module(MODULE, dict(state="complete", token_cache_path=str(cache), redirect_url=landed,
                                   **args)).result


@pytest.fixture
def cache(tmp_path):
    """A token cache that holds an earlier sign-in: a failed consent must leave it exactly as it is."""
    path = tmp_path / "cache" / "tokens.json"
    path.parent.mkdir(mode=0o700)
    path.write_text('{"AccessToken": {}, "RefreshToken": {}, "earlier": "sign-in"}')
    path.chmod(0o600)
    return path


def unchanged(path):
    return path.read_text() == '{"AccessToken": {}, "RefreshToken": {}, "earlier": "sign-in"}'


def code_exchanges(emulator):
    return [e for e in emulator.token_requests() if e["body"].get("grant_type") == "authorization_code"]


def test_completed_sign_in_returns_no_token_and_its_address_is_refused_again(emulator, run_module, cache):
    # One sign-in for both claims (each module run is an ansible-playbook process): what the completed sign-in
    # returns, then the same address given again.
    started = start(run_module, emulator, cache)
    landed = browse(started["authorization_url"], emulator.ca_path)
    done = complete(run_module, cache, landed)
    assert done["changed"] and not done.get("failed"), done
    assert (done["username"], done["tenant_id"]) == ("admin@partner.example", emulator.tenant_id)
    assert done["expires_in"] == 3600 and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", done["expires_on"])
    text = json.dumps(done)
    for secret in cache_secrets(cache, "AccessToken") + cache_secrets(cache, "RefreshToken") + [code_of(landed)]:
        assert secret not in text
    assert not os.path.exists(started["flow_path"]) and mode(cache) == 0o600

    # The same address given again after that success: refused, and the cache stays as the success left it.
    written = cache.read_text()
    again = complete(run_module, cache, landed)
    assert again["failed"] and "no sign-in is in progress" in again["msg"] and "state=start again" in again["msg"]
    assert cache.read_text() == written and len(code_exchanges(emulator)) == 1


def test_reused_code_is_refused_by_entra_id_and_named(emulator, run_module, cache):
    # The first exchange is applied but its answer lost: the code is used, the tokens never arrived. The flow
    # stays, the same address is tried again, and Entra ID refuses the used code (AADSTS54005).
    started = start(run_module, emulator, cache)
    landed = browse(started["authorization_url"], emulator.ca_path)
    emulator.add_fault("drop_after_apply", method="POST", path=r"/oauth2/v2\.0/token$")
    lost = complete(run_module, cache, landed)
    assert lost["failed"] and "cannot exchange the code" in lost["msg"] and "same address" in lost["msg"], lost
    assert unchanged(cache) and os.path.exists(started["flow_path"])
    reused = complete(run_module, cache, landed)
    assert reused["failed"] and "AADSTS54005" in reused["msg"] and "already used" in reused["msg"], reused
    assert unchanged(cache) and len(code_exchanges(emulator)) == 2
    assert code_of(landed) not in lost["msg"] + reused["msg"]


def test_wrong_state_is_refused_before_the_code_is_sent(emulator, run_module, cache):
    first = start(run_module, emulator, cache)
    landed_first = browse(first["authorization_url"], emulator.ca_path)
    start(run_module, emulator, cache)  # a second start replaces the flow: the first sign-in's address is stale
    result = complete(run_module, cache, landed_first)
    assert result["failed"] and "state mismatch" in result["msg"], result
    tampered = complete(run_module, cache, re.sub(r"state=[^&]+", "state=forged", landed_first))
    assert tampered["failed"] and "state mismatch" in tampered["msg"]
    assert unchanged(cache) and code_exchanges(emulator) == []
    assert os.path.exists(first["flow_path"])  # the right address can still complete the sign-in


def test_expired_flow_is_refused_and_removed(emulator, run_module, cache):
    started = start(run_module, emulator, cache, flow_timeout=1)
    landed = browse(started["authorization_url"], emulator.ca_path)
    time.sleep(1.5)
    result = complete(run_module, cache, landed)
    assert result["failed"] and "expired" in result["msg"] and "state=start again" in result["msg"], result
    assert unchanged(cache) and code_exchanges(emulator) == []
    assert not os.path.exists(started["flow_path"])


def test_missing_flow_file_is_named(emulator, run_module, cache):
    result = complete(run_module, cache, "http://localhost/?code=abc&state=xyz")
    assert result["failed"] and "no sign-in is in progress" in result["msg"], result
    assert str(cache) + ".consent-flow.json" in result["msg"]
    assert unchanged(cache) and emulator.token_requests() == []


def test_sign_in_errors_are_named(emulator, run_module, cache):
    emulator.signin_error = ("access_denied", "AADSTS65004: User declined to consent to access the app.")
    started = start(run_module, emulator, cache)
    declined = complete(run_module, cache, browse(started["authorization_url"], emulator.ca_path))
    assert declined["failed"] and "declined the consent" in declined["msg"] and "AADSTS65004" in declined["msg"]
    assert unchanged(cache) and emulator.token_requests() == []
    # A code that was not issued to this sign-in's PKCE verifier (an address from another start, say).
    emulator.signin_error = None
    started = start(run_module, emulator, cache)
    with open(started["flow_path"]) as handle:
        record = json.load(handle)
    record["flow"]["code_verifier"] = "another-sign-in-verifier-" + "x" * 30
    with open(started["flow_path"], "w") as handle:
        json.dump(record, handle)
    foreign = complete(run_module, cache, browse(started["authorization_url"], emulator.ca_path))
    assert foreign["failed"] and "AADSTS501481" in foreign["msg"] and "another start" in foreign["msg"]
    assert unchanged(cache)
    not_pasted = complete(run_module, cache, "")
    assert not_pasted["failed"] and "redirect_url is required" in not_pasted["msg"]


def test_start_needs_the_app_and_a_token_cache(emulator, run_module, pc_env):
    env = dict(pc_env, PARTNERCENTER_CLIENT_SECRET="", PARTNERCENTER_TOKEN_CACHE_PATH="")
    result = run_module(MODULE, {"state": "start"}, env=env).result
    assert result["failed"] and "client_secret or client_certificate_path" in result["msg"]
    assert "token_cache_path" in result["msg"] and emulator.requests() == []
