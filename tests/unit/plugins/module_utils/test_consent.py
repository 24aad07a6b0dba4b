"""consent.py against the emulator's Entra ID side: the first-time consent (authorization code with PKCE), the
token cache it leaves for auth.py's provider, its error messages; and the emulator's authorization-code side."""
import base64
import hashlib
import json
import os
import re
import stat
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from ansible_collections.partnercenter.autopilot.plugins.module_utils import auth
from ansible_collections.partnercenter.autopilot.plugins.module_utils.consent import (
    CONSENT_HINTS, consent_complete, consent_start)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import AuthError, InputError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import check_numbers
from tests.emulator import make_client_certificate
from tests.unit.plugins.module_utils.test_auth import holders, key_lines, make


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
    started = consent_start(options)
    landed = sign_in(emu, started["authorization_url"])
    return options, started, landed, consent_complete(dict(options, redirect_url=landed))


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


def test_refusals_without_a_known_source_still_say_to_consent_again():
    consent_hints = auth.AADSTS_HINTS + CONSENT_HINTS
    mfa = {"error": "interaction_required", "error_description": "AADSTS50076: Due to a configuration change"}
    assert auth.refusal(mfa, "the sign-in", hints=consent_hints) == (
        "Entra ID refused the sign-in: interaction_required: multi-factor authentication is required (AADSTS50076): "
        "an admin agent must consent again with MFA (playbooks/consent.yml or partnercenter_consent)")
    # The consent's own hint for a code wins, with its own remedy.
    bad_code = {"error": "invalid_grant", "error_description": "AADSTS70000: The provided value for 'code'"}
    assert "consent again" not in auth.refusal(bad_code, "the code exchange", hints=consent_hints)


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
    started = consent_start(options)
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
    started = consent_start(options)
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
        consent_complete(complete, now=(lambda: complete_at) if case == "expired" else time.time)
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
    started = consent_start(options)
    landed = sign_in(emulator, started["authorization_url"])
    emulator.add_fault("drop_after_apply", method="POST", path=r"/oauth2/v2\.0/token$")
    with pytest.raises(AuthError) as info:
        consent_complete(dict(options, redirect_url=landed))
    assert "cannot exchange the code" in str(info.value) and "complete again with the same address" in str(info.value)
    assert len(emulator.token_requests()) == 1 and not os.path.exists(options["token_cache_path"])


def test_consent_start_problems(emulator, tmp_path):
    with pytest.raises(AuthError, match="missing tenant_id, client_id, client_secret or client_certificate_path, "
                                        "token_cache_path"):
        consent_start({"flow_timeout": 900})
    with pytest.raises(InputError, match="flow_timeout must be between 1 and 86400, got 86401"):
        check_numbers(consent_options(emulator, tmp_path, flow_timeout=86401))  # before consent_start, in both doors
    with pytest.raises(AuthError, match="cannot start the sign-in"):  # msal adds the reserved scopes itself
        consent_start(consent_options(emulator, tmp_path, scopes=["openid"]))
    with pytest.raises(AuthError, match="cannot write flow_path"):
        blocker = tmp_path / "file"
        blocker.write_text("")
        consent_start(consent_options(emulator, tmp_path, flow_path=str(blocker / "flow.json")))


def test_hints_match_whole_codes():
    expired_refresh = {"error": "invalid_grant", "error_description": "AADSTS700082: The refresh token has expired"}
    expired_code = {"error": "invalid_grant", "error_description": "AADSTS70008: The provided authorization code"}
    consent_hints = auth.AADSTS_HINTS + CONSENT_HINTS
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
