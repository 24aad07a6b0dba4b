"""auth.py against the emulator's Entra ID side: flows, certificates, cache, and error messages."""
import base64
import functools
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time
import types
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from ansible_collections.partnercenter.autopilot.plugins.module_utils import auth
from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import (
    AuthError, MsalTokenProvider, is_microsoft_host)
from tests.emulator import make_client_certificate


def make(emu, **kwargs):
    base = dict(tenant_id=emu.tenant_id, client_id=emu.client_id, client_secret=emu.client_secret,
                refresh_token=emu._initial_refresh_token, authority=emu.authority, ca_path=emu.ca_path)
    base.update(kwargs)
    return MsalTokenProvider(**base)


def test_refresh_token_flow_gives_a_user_token(emulator):
    token = make(emulator).get_token()
    assert emulator.access_tokens[token]["kind"] == "user"
    form = emulator.token_requests()[0]["body"]
    assert form["grant_type"] == "refresh_token"
    assert "https://api.partnercenter.microsoft.com/user_impersonation" in form["scope"]


def test_client_credentials_flow(emulator):
    token = make(emulator, refresh_token=None, flow="client_credentials").get_token()
    assert emulator.access_tokens[token]["kind"] == "app"


def test_token_reused_until_refresh_forced(emulator):
    prov = make(emulator)
    first = prov.get_token()
    assert prov.get_token() == first and len(emulator.token_requests()) == 1
    assert prov.get_token(force_refresh=True) != first and len(emulator.token_requests()) == 2


def key_lines(pem_path):
    """The base64 lines of the private key in pem_path: any one of them found somewhere is a leak of the key,
    whether the PEM was copied whole, re-wrapped or stripped of its armour."""
    with open(pem_path) as handle:
        key = handle.read().split("-----BEGIN CERTIFICATE")[0]
    lines = [line for line in key.splitlines() if line and not line.startswith("-----")]
    assert len(lines) > 10 and "PRIVATE KEY" in key
    return lines


def holders(root, needles, name, skip=()):
    """Paths of the strings and bytes reachable from root that contain one of needles.

    Walks attributes (__dict__ and __slots__), containers and their keys, closures, bound methods, partials
    and exceptions' arguments and causes: wherever an object may keep a copy. Objects in skip are not entered.
    """
    found, seen, todo = [], set(id(o) for o in skip), [(name, root)]
    while todo:
        path, obj = todo.pop()
        if isinstance(obj, (str, bytes, bytearray)):
            text = obj if isinstance(obj, str) else bytes(obj).decode("latin-1")
            if any(needle in text for needle in needles):
                found.append(path)
            continue
        if id(obj) in seen or obj is None or isinstance(obj, (int, float, type, types.ModuleType)):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            todo.extend(("%s[%r]" % (path, k), v) for k, v in obj.items())
            todo.extend(("%s<key %r>" % (path, k), k) for k in obj)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo.extend(("%s[%d]" % (path, i), v) for i, v in enumerate(obj))
        elif isinstance(obj, types.MethodType):
            todo.extend([(path + ".__self__", obj.__self__), (path + ".__func__", obj.__func__)])
        elif isinstance(obj, types.FunctionType):
            todo.extend(("%s<cell %s>" % (path, n), c.cell_contents)
                        for n, c in zip(obj.__code__.co_freevars, obj.__closure__ or ()) if c.cell_contents is not c)
            todo.append((path + ".__defaults__", obj.__defaults__))
        elif isinstance(obj, functools.partial):
            todo.extend([(path + ".func", obj.func), (path + ".args", obj.args), (path + ".keywords", obj.keywords)])
        if isinstance(obj, BaseException):
            todo.extend([(path + ".args", obj.args), (path + ".__cause__", obj.__cause__),
                         (path + ".__context__", obj.__context__)])
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict):
            todo.extend(("%s.%s" % (path, k), v) for k, v in attributes.items())
        for klass in type(obj).__mro__:
            for slot in getattr(klass, "__slots__", ()) or ():
                if isinstance(slot, str) and hasattr(obj, slot):
                    todo.append(("%s.%s" % (path, slot), getattr(obj, slot)))
    return found


def assert_key_kept_in(prov, lines):
    """The key is where it must be (msal signs each assertion with it; the provider redacts it from messages)
    and nowhere else: not in another attribute, the token cache, the HTTP session or the token."""
    assert prov.secrets and holders(prov.secrets, lines, "secrets"), "the key must be redacted from messages"
    assert holders(prov, lines, "provider", skip=(prov.app, prov.secrets)) == []
    assert holders(prov.app.http_client, lines, "session") == []
    assert holders(prov.cache, lines, "cache") == [] and holders(prov.cache.serialize(), lines, "cache file") == []
    assert holders([repr(prov), str(prov)], lines, "text") == []


@pytest.mark.parametrize("with_thumbprint", [True, False])
def test_certificate_credential(emulator, tmp_path, with_thumbprint):
    cert = make_client_certificate(str(tmp_path))
    emulator.client_certificate = cert
    cache = tmp_path / "cache.json"
    prov = make(emulator, client_secret=None, client_certificate_path=cert["path"], token_cache_path=str(cache),
                client_certificate_thumbprint=cert["thumbprint"] if with_thumbprint else None)
    assert prov.get_token()
    form = emulator.token_requests()[0]["body"]
    assert "client_secret" not in form and form["client_assertion"].count(".") == 2
    lines = key_lines(cert["path"])
    assert_key_kept_in(prov, lines)
    assert holders(cache.read_text(), lines, "cache file") == []
    assert holders(emulator.requests(), lines, "sent") == []  # only the signed assertion left the process


@pytest.mark.parametrize("problem", ["rejected", "unusable_key"])
def test_certificate_errors_never_show_the_key(emulator, tmp_path, caplog, problem):
    cert = make_client_certificate(str(tmp_path))
    lines = key_lines(cert["path"])
    if problem == "rejected":  # the app registration knows another certificate
        emulator.client_certificate = make_client_certificate(str(tmp_path), name="registered")
        path, needle = cert["path"], "AADSTS700027"
    else:  # a key line damaged in the file: the key cannot sign
        with open(cert["path"]) as handle:
            text = handle.read()
        path, needle = str(tmp_path / "damaged.pem"), "cannot obtain a Partner Center token"
        (tmp_path / "damaged.pem").write_text(text.replace(lines[5], lines[5][::-1]))
        lines = key_lines(path)
    prov = make(emulator, client_secret=None, client_certificate_path=path,
                client_certificate_thumbprint=cert["thumbprint"])
    with pytest.raises(AuthError) as info:
        prov.get_token()
    assert needle in str(info.value)
    assert holders([str(info.value), repr(info.value)], lines, "message") == []
    assert holders(info.value, lines, "error") == []
    assert holders(caplog.text, lines, "log") == []  # msal logs the signing failure with its traceback
    assert_key_kept_in(prov, lines)
    assert holders(emulator.requests(), lines, "sent") == []


def test_certificate_file_problems(emulator, tmp_path):
    with pytest.raises(AuthError, match="cannot read client_certificate_path"):
        make(emulator, client_secret=None, client_certificate_path=str(tmp_path / "missing.pem"))
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here")
    with pytest.raises(AuthError, match="holds no PEM private key"):
        make(emulator, client_secret=None, client_certificate_path=str(empty))


@pytest.mark.parametrize("setup,needle", [
    ("expired", "AADSTS700082"),
    ("mfa", "multi-factor authentication is required"),
    ("unknown", "refresh token is malformed"),
    ("secret", "client secret was rejected"),
    ("client", "client_id) is not known"),
])
def test_errors_say_which_credential_to_renew(emulator, setup, needle):
    kwargs = {}
    if setup == "expired":
        emulator.expire_refresh_token(emulator._initial_refresh_token)
    elif setup == "mfa":
        emulator.mfa_required_refresh_tokens.add(emulator._initial_refresh_token)
    elif setup == "unknown":
        kwargs["refresh_token"] = "not-a-token-we-know"
    elif setup == "secret":
        kwargs["client_secret"] = "wrong-secret-value"
    elif setup == "client":
        kwargs["client_id"] = "00000000-1111-2222-3333-444444444444"
    prov = make(emulator, **kwargs)
    with pytest.raises(AuthError) as info:
        prov.get_token()
    text = str(info.value)
    assert needle in text
    for secret in (emulator.client_secret, emulator._initial_refresh_token, "wrong-secret-value",
                   "not-a-token-we-know"):
        assert secret not in text


def test_missing_credentials_named(emulator):
    with pytest.raises(AuthError) as info:
        MsalTokenProvider(None, None)
    assert "tenant_id" in str(info.value) and "client_id" in str(info.value) and "refresh_token" in str(info.value)


def test_token_cache_keeps_rotated_refresh_token_with_mode_0600(emulator, tmp_path):
    cache = tmp_path / "cache.json"
    make(emulator, token_cache_path=str(cache)).get_token()
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    # The stored refresh token is revoked; only the rotated one in the cache still works.
    emulator.expire_refresh_token(emulator._initial_refresh_token)
    emulator.expire_access_tokens()
    prov = make(emulator, token_cache_path=str(cache))
    token = prov.get_token(force_refresh=True)
    assert token and len(emulator.token_requests()) == 2
    assert emulator.token_requests()[1]["body"]["refresh_token"] != emulator._initial_refresh_token


def test_token_cache_directory_made_private_on_first_use(emulator, tmp_path):
    cache = tmp_path / "new" / "partnercenter" / "cache.json"
    make(emulator, token_cache_path=str(cache)).get_token()
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cache.parent).st_mode) == 0o700


def test_unwritable_token_cache_is_a_clear_error(emulator, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AuthError) as info:
        make(emulator, token_cache_path=str(blocker / "cache.json")).get_token()
    assert "cannot write token_cache_path" in str(info.value)
    assert emulator.client_secret not in str(info.value) and emulator._initial_refresh_token not in str(info.value)


def test_cached_access_token_reused_across_runs(emulator, tmp_path):
    cache = tmp_path / "cache.json"
    first = make(emulator, token_cache_path=str(cache)).get_token()
    second = make(emulator, token_cache_path=str(cache)).get_token()
    assert first == second and len(emulator.token_requests()) == 1


def test_untrusted_authority_refused(emulator):
    with pytest.raises(AuthError) as info:
        make(emulator, ca_path=None).get_token()
    assert "TLS verification failed" in str(info.value) and "ca_path" in str(info.value)


def test_microsoft_hosts():
    assert is_microsoft_host("https://login.microsoftonline.com/tenant")
    assert is_microsoft_host("https://login.microsoftonline.us")
    assert not is_microsoft_host("https://127.0.0.1:8443/tenant")


@pytest.mark.parametrize("status,retry_after", [(429, 1), (503, None), (500, None)])
def test_token_endpoint_throttling_and_faults_are_retried(emulator, status, retry_after):
    emulator.add_fault("status", method="POST", path="/oauth2/v2.0/token$", status=status, retry_after=retry_after,
                       times=2)
    assert make(emulator).get_token()
    attempts = emulator.token_requests()
    assert [e["status"] for e in attempts] == [status, status, 200]
    if retry_after:
        assert all(b["time"] - a["time"] >= 0.95 for a, b in zip(attempts, attempts[1:]))


def test_token_endpoint_throttled_for_too_long_gives_a_clear_error(emulator):
    emulator.add_fault("status", method="POST", path="/oauth2/v2.0/token$", status=429, retry_after=0, times=None)
    with pytest.raises(AuthError, match="Entra ID refused the token request"):
        make(emulator).get_token()
    assert len(emulator.token_requests()) == 6  # the first try and five retries


def run_python(code):
    """Run code in a fresh interpreter with this one's import path (msal's import state is per process)."""
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_msal_is_imported_only_when_a_token_must_be_obtained():
    # A module handed an access token never builds a provider: importing msal was a fifth of its run.
    run_python("import sys\n"
               "from ansible_collections.partnercenter.autopilot.plugins.module_utils import module\n"
               "assert 'msal' not in sys.modules, 'msal imported with the module utils'\n"
               "from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import import_msal\n"
               "assert import_msal() is sys.modules['msal']\n")


def test_without_msal_obtaining_a_token_names_the_missing_library():
    run_python("import sys\n"
               "sys.modules['msal'] = None  # import msal now raises ImportError\n"
               "from ansible_collections.partnercenter.autopilot.plugins.module_utils import auth\n"
               "try:\n"
               "    auth.acquire_token({})\n"
               "except auth.AuthError as err:\n"
               "    assert 'msal is required' in str(err), err\n"
               "else:\n"
               "    raise AssertionError('no AuthError')\n"
               "assert 'import of msal halted' in auth.msal_import_error()\n")


# ----- the first-time consent: authorization code with PKCE, and the token cache it leaves ---------------------

def consent_options(emu, tmp_path, **kwargs):
    options = dict(tenant_id=emu.tenant_id, client_id=emu.client_id, client_secret=emu.client_secret,
                   authority=emu.authority, ca_path=emu.ca_path, validate_certs=True, timeout=30,
                   token_cache_path=str(tmp_path / "cache.json"), flow_path=None, redirect_uri=None, scopes=None,
                   flow_timeout=900)
    options.update(kwargs)
    return options


def sign_in(emu, url, expect=302):
    """The browser: open the authorization address; the emulator's test user signs in at once."""
    answer = requests.get(url, verify=emu.ca_path, allow_redirects=False, timeout=30)
    assert answer.status_code == expect, answer.text
    return answer.headers.get("Location") if expect == 302 else answer.json()


def consent(emu, tmp_path, **kwargs):
    options = consent_options(emu, tmp_path, **kwargs)
    started = auth.consent_start(options)
    landed = sign_in(emu, started["authorization_url"])
    return options, started, landed, auth.consent_complete(dict(options, redirect_url=landed))


def test_consent_fills_a_cache_that_stands_in_for_the_refresh_token(emulator, tmp_path):
    options, started, landed, done = consent(emulator, tmp_path)
    assert done["username"] == "admin@partner.example" and done["tenant_id"] == emulator.tenant_id
    cache = tmp_path / "cache.json"
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600 and not os.path.exists(started["flow_path"])
    [exchange] = emulator.token_requests()
    assert exchange["body"]["grant_type"] == "authorization_code"
    for secret in (exchange["body"]["code"], exchange["body"]["code_verifier"]):
        assert secret in landed + cache.read_text() + str(exchange) and secret not in str(done) + str(started)
    # Later runs: no refresh_token at all. The cache's access token first, then its refresh token.
    prov = make(emulator, refresh_token=None, token_cache_path=str(cache))
    token = prov.get_token()
    assert len(emulator.token_requests()) == 1 and token in cache.read_text()
    refresh = json.loads(cache.read_text())["RefreshToken"]
    [consented] = [entry["secret"] for entry in refresh.values()]
    assert prov.get_token(force_refresh=True) != token
    renewal = emulator.token_requests()[-1]["body"]
    assert renewal["grant_type"] == "refresh_token" and renewal["refresh_token"] == consented
    assert consented not in cache.read_text()  # the rotated one replaced it


def test_cache_only_errors_name_the_consent(emulator, tmp_path):
    options, _started, _landed, _done = consent(emulator, tmp_path)
    cache = options["token_cache_path"]
    [consented] = [e["secret"] for e in json.loads(open(cache).read())["RefreshToken"].values()]
    emulator.expire_refresh_token(consented)
    with pytest.raises(AuthError) as info:
        make(emulator, refresh_token=None, token_cache_path=cache).get_token(force_refresh=True)
    assert "AADSTS700082" in str(info.value) and "playbooks/consent.yml" in str(info.value)
    assert consented not in str(info.value)
    # A cache of another app is no sign-in for this one.
    with pytest.raises(AuthError) as info:
        make(emulator, refresh_token=None, token_cache_path=cache, client_id="00000000-1111-2222-3333-444444444444")
    assert "missing refresh_token (or a token_cache_path filled by playbooks/consent.yml" in str(info.value)


def test_a_refused_cache_names_its_file_and_the_consent_not_refresh_token(emulator, tmp_path, monkeypatch):
    monkeypatch.delenv("PARTNERCENTER_REFRESH_TOKEN", raising=False)
    options, _started, _landed, _done = consent(emulator, tmp_path)
    cache = options["token_cache_path"]
    with open(cache) as handle:
        text = handle.read()
    [consented] = [e["secret"] for e in json.loads(text)["RefreshToken"].values()]
    with open(cache, "w") as handle:  # a refresh token Entra ID does not know (rotated elsewhere, revoked)
        handle.write(text.replace(consented, "stale-refresh-token-value"))
    with pytest.raises(AuthError) as info:
        make(emulator, refresh_token=None, token_cache_path=cache).get_token(force_refresh=True)
    assert str(info.value) == (
        "Entra ID refused the refresh token kept in the token cache file %s: invalid_grant: the refresh token is "
        "malformed or not for this app (AADSTS9002313): run playbooks/consent.yml again with this token cache (or "
        "partnercenter_consent) so that an admin agent signs in anew with MFA and the cache gets a new refresh "
        "token" % cache)


@pytest.mark.parametrize("environment,named", [
    ({}, "refresh_token (option)"),
    ({"PARTNERCENTER_REFRESH_TOKEN": "another-value"}, "refresh_token (option)"),
    ({"PARTNERCENTER_REFRESH_TOKEN": "<token>"}, "PARTNERCENTER_REFRESH_TOKEN (environment variable)"),
])
def test_a_refused_refresh_token_names_the_option_or_its_environment_variable(emulator, monkeypatch, environment,
                                                                              named):
    monkeypatch.delenv("PARTNERCENTER_REFRESH_TOKEN", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value.replace("<token>", emulator._initial_refresh_token))
    emulator.expire_refresh_token(emulator._initial_refresh_token)
    with pytest.raises(AuthError) as info:
        make(emulator).get_token()
    text = str(info.value)
    assert text.startswith("Entra ID refused the refresh token of %s: invalid_grant: the refresh token expired "
                           "(unused for 90 days) (AADSTS700082): an admin agent must consent again" % named), text
    assert text.endswith("or put a new refresh token in %s" % named.split(" ", 1)[0]), text
    assert emulator._initial_refresh_token not in text


def test_refresh_token_named_after_the_cache_refused_too(emulator, tmp_path, monkeypatch):
    monkeypatch.delenv("PARTNERCENTER_REFRESH_TOKEN", raising=False)
    cache = str(tmp_path / "cache.json")
    make(emulator, token_cache_path=cache).get_token()
    [rotated] = [e["secret"] for e in json.loads(open(cache).read())["RefreshToken"].values()]
    emulator.expire_refresh_token(rotated)
    emulator.expire_refresh_token(emulator._initial_refresh_token)
    with pytest.raises(AuthError) as info:
        make(emulator, token_cache_path=cache).get_token(force_refresh=True)
    text = str(info.value)
    assert text.startswith("Entra ID refused the refresh token of refresh_token (option): invalid_grant"), text
    assert text.endswith("; the refresh token kept in the token cache file %s was refused too" % cache), text


@pytest.mark.parametrize("setup,needle", [
    ("secret", "Entra ID refused the client secret of PARTNERCENTER_CLIENT_SECRET (environment variable): "
               "invalid_client: the client secret was rejected"),
    ("client", "Entra ID refused the application (client) id of client_id (option): unauthorized_client: the "
               "application (client_id) is not known in this tenant"),
])
def test_a_refused_app_credential_names_where_it_came_from(emulator, monkeypatch, setup, needle):
    kwargs = {}
    if setup == "secret":
        monkeypatch.setenv("PARTNERCENTER_CLIENT_SECRET", "wrong-secret-value")
        kwargs["client_secret"] = "wrong-secret-value"
    else:
        monkeypatch.setenv("PARTNERCENTER_CLIENT_ID", emulator.client_id)
        kwargs["client_id"] = "00000000-1111-2222-3333-444444444444"
    with pytest.raises(AuthError) as info:
        make(emulator, **kwargs).get_token()
    assert str(info.value).startswith(needle), str(info.value)
    assert "wrong-secret-value" not in str(info.value)


def test_refusals_without_a_known_source_still_say_to_consent_again():
    consent_hints = auth.AADSTS_HINTS + auth.CONSENT_HINTS
    mfa = {"error": "interaction_required", "error_description": "AADSTS50076: Due to a configuration change"}
    assert auth._refusal(mfa, "the sign-in", hints=consent_hints) == (
        "Entra ID refused the sign-in: interaction_required: multi-factor authentication is required (AADSTS50076): "
        "an admin agent must consent again with MFA (playbooks/consent.yml or partnercenter_consent)")
    # The consent's own hint for a code wins, with its own remedy.
    bad_code = {"error": "invalid_grant", "error_description": "AADSTS70000: The provided value for 'code'"}
    assert "consent again" not in auth._refusal(bad_code, "the code exchange", hints=consent_hints)


def test_option_source():
    environ = {"PARTNERCENTER_REFRESH_TOKEN": "rt", "PARTNERCENTER_CLIENT_CERTIFICATE_PATH": "~/app.pem"}
    assert auth.option_source("refresh_token", "rt", environ) == "PARTNERCENTER_REFRESH_TOKEN (environment variable)"
    assert auth.option_source("refresh_token", "other", environ) == "refresh_token (option)"
    assert auth.option_source("client_secret", "s", environ) == "client_secret (option)"
    assert auth.option_source("refresh_token", None, environ) == "refresh_token (option)"
    # A path option is expanded before it arrives: ~/app.pem in the environment is the same file.
    assert auth.option_source("client_certificate_path", os.path.expanduser("~/app.pem"), environ) == \
        "PARTNERCENTER_CLIENT_CERTIFICATE_PATH (environment variable)"


def test_consent_with_a_certificate(emulator, tmp_path):
    cert = make_client_certificate(str(tmp_path))
    emulator.client_certificate = cert
    _options, _started, _landed, done = consent(
        emulator, tmp_path, client_secret=None, client_certificate_path=cert["path"],
        client_certificate_thumbprint=cert["thumbprint"])
    assert done["username"] == "admin@partner.example"
    form = emulator.token_requests()[0]["body"]
    assert "client_secret" not in form and form["client_assertion"].count(".") == 2
    assert holders((tmp_path / "cache.json").read_text(), key_lines(cert["path"]), "cache") == []


def test_flow_file_holds_the_verifier_and_nothing_is_returned_of_it(emulator, tmp_path):
    options = consent_options(emulator, tmp_path, flow_path=str(tmp_path / "flows" / "flow.json"))
    started = auth.consent_start(options)
    flow_file = tmp_path / "flows" / "flow.json"
    assert started["flow_path"] == str(flow_file)
    assert stat.S_IMODE(os.stat(flow_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(flow_file.parent).st_mode) == 0o700
    record = json.loads(flow_file.read_text())
    assert set(record["flow"]) >= {"code_verifier", "nonce", "state", "redirect_uri"}
    for value in (record["flow"]["code_verifier"], record["flow"]["nonce"]):
        assert value not in json.dumps(started)
    assert "code_challenge_method=S256" in started["authorization_url"]
    assert not os.path.exists(options["token_cache_path"])  # start writes no cache


@pytest.mark.parametrize("case,needle", [
    ("missing flow", "no sign-in is in progress"),
    ("not a flow", "does not hold a sign-in started by partnercenter_consent"),
    ("other app", "was started with another client_id"),
    ("no state", "redirect_url holds no state"),
    ("state", "state mismatch"),
    ("no code", "redirect_url holds no code"),
    ("expired", "expired at"),
    ("verifier", "AADSTS501481"),
    ("used", "AADSTS54005"),
    ("code expired", "AADSTS70008"),
    ("redirect uri", "AADSTS500112"),
])
def test_consent_errors_name_the_cause_and_write_nothing(emulator, tmp_path, case, needle):
    options = consent_options(emulator, tmp_path)
    started = auth.consent_start(options)
    flow_path = started["flow_path"]
    landed = sign_in(emulator, started["authorization_url"])
    record = json.loads(open(flow_path).read())
    complete, complete_at = dict(options, redirect_url=landed), None
    if case == "missing flow":
        os.unlink(flow_path)
    elif case == "not a flow":
        open(flow_path, "w").write('{"some": "thing"}')
    elif case == "other app":
        complete["client_id"] = "00000000-1111-2222-3333-444444444444"
    elif case == "no state":
        complete["redirect_url"] = re.sub(r"&state=[^&]+", "", landed)
    elif case == "state":
        complete["redirect_url"] = re.sub(r"state=[^&]+", "state=" + record["flow"]["state"][::-1], landed)
    elif case == "no code":
        complete["redirect_url"] = re.sub(r"code=[^&]+&", "", landed)
    elif case == "expired":
        complete_at = record["expires"] + 1
    elif case == "verifier":
        record["flow"]["code_verifier"] = "x" * 43
    elif case == "used":
        emulator.auth_codes[re.search(r"code=([^&]+)", landed).group(1)]["used"] = True
    elif case == "code expired":
        emulator.auth_codes[re.search(r"code=([^&]+)", landed).group(1)]["expires"] = 0
    elif case == "redirect uri":
        record["flow"]["redirect_uri"] = "http://localhost:8400"
    if case in ("verifier", "redirect uri"):
        open(flow_path, "w").write(json.dumps(record))
    with pytest.raises(AuthError) as info:
        auth.consent_complete(complete, now=(lambda: complete_at) if case == "expired" else time.time)
    text = str(info.value)
    assert needle in text, text
    for secret in (re.search(r"code=([^&]+)", landed).group(1), record["flow"]["code_verifier"],
                   emulator.client_secret):
        assert secret not in text
    assert not os.path.exists(options["token_cache_path"])
    # The flow stays for another try unless it expired (or was never there).
    assert os.path.exists(flow_path) == (case not in ("missing flow", "expired"))


def test_lost_answer_to_the_code_exchange_is_not_resent(emulator, tmp_path):
    # A code works once: a resend after a lost answer would only be told the code was used, so the client does
    # not resend; the message says what happened and what to do.
    options = consent_options(emulator, tmp_path)
    started = auth.consent_start(options)
    landed = sign_in(emulator, started["authorization_url"])
    emulator.add_fault("drop_after_apply", method="POST", path=r"/oauth2/v2\.0/token$")
    with pytest.raises(AuthError) as info:
        auth.consent_complete(dict(options, redirect_url=landed))
    assert "cannot exchange the code" in str(info.value) and "complete again with the same address" in str(info.value)
    assert len(emulator.token_requests()) == 1 and not os.path.exists(options["token_cache_path"])


def test_consent_start_problems(emulator, tmp_path):
    with pytest.raises(AuthError, match="missing tenant_id, client_id, client_secret or client_certificate_path, "
                                        "token_cache_path"):
        auth.consent_start({"flow_timeout": 900})
    with pytest.raises(AuthError, match="flow_timeout must be between 1 and 86400"):
        auth.consent_start(consent_options(emulator, tmp_path, flow_timeout=86401))
    with pytest.raises(AuthError, match="cannot start the sign-in"):  # msal adds the reserved scopes itself
        auth.consent_start(consent_options(emulator, tmp_path, scopes=["openid"]))
    with pytest.raises(AuthError, match="cannot write flow_path"):
        blocker = tmp_path / "file"
        blocker.write_text("")
        auth.consent_start(consent_options(emulator, tmp_path, flow_path=str(blocker / "flow.json")))


def test_hints_match_whole_codes():
    expired_refresh = {"error": "invalid_grant", "error_description": "AADSTS700082: The refresh token has expired"}
    expired_code = {"error": "invalid_grant", "error_description": "AADSTS70008: The provided authorization code"}
    consent_hints = auth.AADSTS_HINTS + auth.CONSENT_HINTS
    assert "refresh token expired" in auth._hint(expired_refresh, consent_hints)
    assert "authorization code expired" in auth._hint(expired_code, consent_hints)
    assert auth._hint(expired_code) is None  # not mistaken for AADSTS700082 outside the consent either
    other_tenant = {"error_description": "AADSTS700005: Provided Authorization Code is intended to use against "
                                         "other tenant, thus rejected."}
    assert auth._hint(other_tenant) is None  # AADSTS70000's hint (a revoked refresh token) would mislead
    assert "code was already used" in auth._hint({"error_codes": [54005]}, consent_hints)


# ----- the emulator's authorization-code side, which the consent tests rely on ---------------------------------

def authorize_url(emu, **params):
    query = dict(client_id=emu.client_id, response_type="code", redirect_uri="http://localhost", state="s1",
                 scope="%s offline_access openid profile" % auth.USER_SCOPE, nonce="n1",
                 code_challenge=pkce_challenge("v" * 43), code_challenge_method="S256")
    query.update(params)
    return "%s/%s/oauth2/v2.0/authorize?%s" % (emu.url, emu.tenant_id,
                                               urlencode([(k, v) for k, v in query.items() if v is not None]))


def pkce_challenge(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def redeem(emu, landed, verifier="v" * 43, redirect_uri="http://localhost"):
    code = parse_qs(urlsplit(landed).query)["code"][0]
    return requests.post("%s/%s/oauth2/v2.0/token" % (emu.url, emu.tenant_id), verify=emu.ca_path, timeout=30, data=dict(
        grant_type="authorization_code", client_id=emu.client_id, client_secret=emu.client_secret, code=code,
        code_verifier=verifier, redirect_uri=redirect_uri, scope=auth.USER_SCOPE))


def test_emulator_authorize_redirects_with_code_and_state(emulator):
    landed = sign_in(emulator, authorize_url(emulator, redirect_uri="http://localhost:8400"))
    query = parse_qs(urlsplit(landed).query)
    assert landed.startswith("http://localhost:8400?") and query["state"] == ["s1"]  # any port of localhost
    answer = redeem(emulator, landed, redirect_uri="http://localhost:8400")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    claims = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[1] + "=="))
    assert (claims["nonce"], claims["preferred_username"]) == ("n1", "admin@partner.example")
    assert emulator.access_tokens[body["access_token"]]["kind"] == "user"
    again = redeem(emulator, landed, redirect_uri="http://localhost:8400")
    assert again.status_code == 400 and "AADSTS54005" in again.json()["error_description"]  # once only
    # The refresh token it issued works in the refresh-token flow.
    token = make(emulator, refresh_token=body["refresh_token"]).get_token()
    assert emulator.access_tokens[token]["kind"] == "user"


@pytest.mark.parametrize("params,error", [
    (dict(code_challenge=None), "AADSTS9002325"),
    (dict(code_challenge_method="plain"), "AADSTS9002325"),
    (dict(scope="openid profile"), "AADSTS70011"),
    (dict(response_type="token"), "AADSTS700054"),
])
def test_emulator_authorize_refuses_by_redirect(emulator, params, error):
    query = parse_qs(urlsplit(sign_in(emulator, authorize_url(emulator, **params))).query)
    assert "code" not in query and error in query["error_description"][0] and query["state"] == ["s1"]


@pytest.mark.parametrize("params,error", [
    (dict(redirect_uri="https://attacker.example/cb"), "AADSTS50011"),
    (dict(client_id="00000000-1111-2222-3333-444444444444"), "AADSTS700016"),
])
def test_emulator_authorize_refuses_what_cannot_be_redirected(emulator, params, error):
    assert error in sign_in(emulator, authorize_url(emulator, **params), expect=400)["error_description"]


def test_emulator_checks_the_pkce_verifier(emulator):
    landed = sign_in(emulator, authorize_url(emulator))
    wrong = redeem(emulator, landed, verifier="w" * 43)
    assert wrong.status_code == 400 and "AADSTS501481" in wrong.json()["error_description"]
    assert redeem(emulator, landed).status_code == 200  # the right verifier still redeems the unused code
