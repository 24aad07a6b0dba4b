"""auth.py against the emulator's Entra ID side: flows, certificates, cache, and error messages (the first-time
consent's are in test_consent.py)."""
import functools
import json
import os
import stat
import subprocess
import sys
import types

import pytest

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


def test_option_source():
    environ = {"PARTNERCENTER_REFRESH_TOKEN": "rt", "PARTNERCENTER_CLIENT_CERTIFICATE_PATH": "~/app.pem"}
    assert auth.option_source("refresh_token", "rt", environ) == "PARTNERCENTER_REFRESH_TOKEN (environment variable)"
    assert auth.option_source("refresh_token", "other", environ) == "refresh_token (option)"
    assert auth.option_source("client_secret", "s", environ) == "client_secret (option)"
    assert auth.option_source("refresh_token", None, environ) == "refresh_token (option)"
    # A path option is expanded before it arrives: ~/app.pem in the environment is the same file.
    assert auth.option_source("client_certificate_path", os.path.expanduser("~/app.pem"), environ) == \
        "PARTNERCENTER_CLIENT_CERTIFICATE_PATH (environment variable)"
