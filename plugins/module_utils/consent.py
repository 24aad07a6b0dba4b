# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The first-time consent of the secure application model: an admin agent's sign-in through the authorization code
flow with PKCE, kept between its two steps in a 0600 flow file, and the token cache it leaves for later runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hmac
import json
import os
import time
import warnings

from urllib.parse import parse_qs, urlsplit

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import (
    AADSTS_HINTS, USER_SCOPE, authority_url, confidential_client, describe, missing_app, refusal, require_msal,
    write_private_file)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import AuthError, redact

# What the same and other codes mean while a sign-in's authorization code is exchanged (state=complete).
START_AGAIN = "run state=start again (playbooks/consent.yml) and sign in once more"
CONSENT_HINTS = (
    ("AADSTS54005", "the authorization code was already used, and a code works once: " + START_AGAIN),
    ("AADSTS70008", "the authorization code expired (a code lives about 10 minutes): %s, then complete soon after"
                    % START_AGAIN),
    ("AADSTS70000", "the authorization code is not valid (cut short or mistyped?): paste the whole address the "
                    "browser landed on, or " + START_AGAIN),
    ("AADSTS501481", "the code was not issued to this sign-in (its PKCE verifier does not match): the address "
                     "comes from another start; paste the address of the latest sign-in, or " + START_AGAIN),
    ("AADSTS50011", "the redirect URI is not registered for the app: add redirect_uri (http://localhost by "
                    "default) to the app registration's Web redirect URIs"),
    ("AADSTS500112", "the code was issued for another redirect URI: use the same redirect_uri as state=start"),
    ("AADSTS500113", "no redirect URI is registered for the app: add http://localhost as a Web redirect URI"),
    ("AADSTS65001", "the app has no consent for the delegated Partner Center permission user_impersonation: grant "
                    "it in the app registration's API permissions, or sign in as an admin who can consent"),
    ("AADSTS65004", "the admin agent declined the consent: sign in again and accept"),
    ("AADSTS90094", "an administrator must grant consent to the app for the tenant first"),
    ("AADSTS50105", "the signed-in user is not assigned to the app: assign the admin agent, or turn off "
                    "assignment required"),
    ("AADSTS9002313", "the request was malformed: " + START_AGAIN),
)
REDIRECT_URI = "http://localhost"
FLOW_TIMEOUT = 900
FLOW_VERSION = 1
# state=start keeps msal's flow (PKCE verifier, nonce, state) in a 0600 file; state=complete exchanges the code
# from the address the browser landed on, writes the token cache and removes the file. Neither result holds a
# token, the code or the verifier. msal itself stays behind auth.py's door: this room only calls the client
# auth.confidential_client builds.


def consent(p):
    """The step p["state"] asks for: a result without any token, code or verifier (AuthError when it fails)."""
    return consent_start(p) if p["state"] == "start" else consent_complete(p)


def default_flow_path(token_cache_path):
    """Where state=start keeps the sign-in when flow_path is not given: beside the token cache."""
    return os.path.abspath(os.path.expanduser(token_cache_path)) + ".consent-flow.json"


def _iso(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _ConsentClient(object):
    """The app's msal client for one step of the consent, and everything its messages must not show."""

    def __init__(self, p):
        require_msal()
        missing = missing_app(p.get("tenant_id"), p.get("client_id"), p.get("client_secret"),
                              p.get("client_certificate_path"))
        if not p.get("token_cache_path"):
            missing.append("token_cache_path (the file the tokens are written to, which later runs read)")
        if missing:
            raise AuthError("cannot run the consent: missing %s" % ", ".join(missing))
        self.secrets = [p["client_secret"]] if p.get("client_secret") else []
        self.client_id = p["client_id"]
        self.tenant_id = p["tenant_id"]
        self.authority_url = authority_url(p.get("authority"), p["tenant_id"])
        self.token_cache_path = os.path.abspath(os.path.expanduser(p["token_cache_path"]))
        self.flow_path = os.path.abspath(os.path.expanduser(p.get("flow_path") or
                                                            default_flow_path(self.token_cache_path)))
        # A new, empty token cache: complete writes only this sign-in's tokens. No retries: an authorization code
        # works once, so a code exchange whose answer was lost must not be sent again behind the caller's back
        # (the retry would only be told the code was used).
        self.app = confidential_client(p, self.secrets)

    def redact(self, text):
        return redact(text, self.secrets)


def consent_start(p, now=time.time):
    """Begin the sign-in: the flow kept in flow_path (0600), the address to open returned."""
    flow_timeout = p.get("flow_timeout") or FLOW_TIMEOUT  # its range: module.NUMERIC_RANGES
    client = _ConsentClient(p)
    redirect_uri = p.get("redirect_uri") or REDIRECT_URI
    try:
        with warnings.catch_warnings():
            # msal recommends response_mode=form_post, where the browser POSTs the code to redirect_uri. Nothing
            # listens there: the code has to reach us in the address the browser lands on (response_mode=query).
            # Without the PKCE verifier, which never leaves flow_path, that code is of no use to anyone.
            warnings.filterwarnings("ignore", message=".*form_post.*")
            flow = client.app.initiate_auth_code_flow(list(p.get("scopes") or [USER_SCOPE]),
                                                      redirect_uri=redirect_uri)
    except ValueError as err:  # a reserved scope (openid, profile, offline_access), which msal adds itself
        raise AuthError(client.redact("cannot start the sign-in: %s" % err)) from None
    started = now()
    record = {"version": FLOW_VERSION, "tenant_id": client.tenant_id, "client_id": client.client_id,
              "authority": client.authority_url, "started": started, "expires": started + flow_timeout,
              "flow": flow}
    write_private_file(client.flow_path, json.dumps(record), "flow_path", prefix=".partnercenter-flow-")
    return dict(changed=True, authorization_url=flow["auth_uri"], redirect_uri=redirect_uri,
                flow_path=client.flow_path, flow_expires_on=_iso(started + flow_timeout))


def _read_flow(path):
    try:
        with open(path, "r") as handle:
            record = json.load(handle)
    except (IOError, OSError) as err:
        if not os.path.exists(path):
            raise AuthError("no sign-in is in progress: flow_path %s does not exist (a completed or expired sign-in "
                            "removes it); %s" % (path, START_AGAIN)) from None
        raise AuthError("cannot read flow_path %s: %s" % (path, err.strerror)) from None
    except ValueError:
        record = None
    flow = record.get("flow") if isinstance(record, dict) else None
    if (not isinstance(flow, dict) or record.get("version") != FLOW_VERSION
            or not all(isinstance(flow.get(k), str) for k in ("state", "code_verifier", "nonce"))):
        raise AuthError("flow_path %s does not hold a sign-in started by partnercenter_consent state=start; %s"
                        % (path, START_AGAIN))
    return record


def auth_response(redirect_url):
    """The parameters of the address the browser landed on (query, or fragment when the query has none)."""
    parts = urlsplit((redirect_url or "").strip())
    for text in (parts.query, parts.fragment):
        answer = dict((k, v[-1]) for k, v in parse_qs(text).items())
        if "code" in answer or "error" in answer or "state" in answer:
            return answer
    return {}


def _discard(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def consent_complete(p, now=time.time):
    """Exchange the code of the address the browser landed on; the tokens go to token_cache_path (0600).

    Nothing is written to the cache unless Entra ID issued the tokens. The flow file stays after a failure
    (the sign-in may still be completed with the right address) until it expires; success or expiry removes it.
    """
    client = _ConsentClient(p)
    if not p.get("redirect_url"):
        raise AuthError("redirect_url is required with state=complete: the whole address the browser landed on "
                        "after signing in")
    record = _read_flow(client.flow_path)
    flow = record["flow"]
    secrets = [flow["code_verifier"], flow["nonce"], p.get("redirect_url")]
    if now() > record.get("expires", 0):
        _discard(client.flow_path)
        raise AuthError("the sign-in started at %s expired at %s (flow_timeout): %s, and complete it within "
                        "flow_timeout" % (_iso(record.get("started", 0)), _iso(record.get("expires", 0)), START_AGAIN))
    differ = [name for name, ours in (("tenant_id", client.tenant_id), ("client_id", client.client_id),
                                      ("authority", client.authority_url)) if record.get(name) != ours]
    if differ:
        raise AuthError("the sign-in in flow_path %s was started with another %s: complete it with the options "
                        "given to state=start" % (client.flow_path, " and ".join(differ)))
    answer = auth_response(p.get("redirect_url"))
    secrets.append(answer.get("code"))
    if "state" not in answer:
        raise AuthError("redirect_url holds no state: give the whole address the browser landed on after signing "
                        "in (it starts with %s and holds code= and state=)" % flow.get("redirect_uri"))
    if not hmac.compare_digest(answer["state"].encode("utf-8"), flow["state"].encode("utf-8")):
        raise AuthError("state mismatch: the address comes from another sign-in (an earlier start, another "
                        "browser tab) or was altered, not from the one started at %s; paste the address of that "
                        "sign-in, or %s" % (_iso(record.get("started", 0)), START_AGAIN))
    if "error" in answer:
        raise AuthError(redact(refusal(answer, "the sign-in", hints=AADSTS_HINTS + CONSENT_HINTS),
                               secrets + client.secrets))
    if not answer.get("code"):
        raise AuthError("redirect_url holds no code: give the whole address the browser landed on after signing in")
    try:
        result = client.app.acquire_token_by_auth_code_flow(dict(flow), answer)
    except (ValueError, RuntimeError) as err:  # msal's own checks (the nonce of the ID token, ...)
        raise AuthError(redact("Entra ID's answer to the code exchange was refused: %s" % err,
                               secrets + client.secrets)) from None
    except Exception as err:  # pylint: disable=broad-except  # network and TLS errors from inside msal
        raise AuthError(redact("cannot exchange the code at %s: %s. The answer may be lost after the code was "
                               "used: complete again with the same address; if Entra ID says the code was used, %s"
                               % (client.authority_url, describe(err), START_AGAIN),
                               secrets + client.secrets)) from None
    secrets += [result.get(k) for k in ("access_token", "refresh_token", "id_token")]
    if "access_token" not in result:
        raise AuthError(redact(refusal(result, "the code exchange", hints=AADSTS_HINTS + CONSENT_HINTS),
                               secrets + client.secrets))
    try:
        write_private_file(client.token_cache_path, client.app.token_cache.serialize(), "token_cache_path",
                           prefix=".partnercenter-cache-")
    except AuthError as err:
        raise AuthError("%s; the code is used by now: fix token_cache_path, then %s" % (err, START_AGAIN)) from None
    _discard(client.flow_path)
    claims = result.get("id_token_claims") or {}
    expires_in = int(result.get("expires_in") or 0)
    return dict(changed=True, username=claims.get("preferred_username") or claims.get("upn") or claims.get("email"),
                tenant_id=claims.get("tid"), expires_in=expires_in, expires_on=_iso(now() + expires_in),
                token_cache_path=client.token_cache_path)
