# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tokens for Partner Center through msal: the refresh-token and client-credentials flows, the app's msal client
(which consent.py's sign-in uses too), the token cache and readable Entra ID errors. The only importer of msal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile
import traceback

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import TLS_HINT, make_session
from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import AuthError, redact

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
USER_SCOPE = "https://api.partnercenter.microsoft.com/user_impersonation"
APP_SCOPE = "https://api.partnercenter.microsoft.com/.default"
MICROSOFT_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn",
                   "login.chinacloudapi.cn", "login.microsoftonline.de", "login.windows.net", "login.microsoft.com",
                   "sts.windows.net")
PEM_KEY_RE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S)
PEM_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)

CONSENT = "playbooks/consent.yml or partnercenter_consent"
# Entra ID error codes → what happened (and, for the app's credentials, what to do). What to do about a refused
# refresh token depends on where it came from (the token cache, an option, an environment variable): see
# MsalTokenProvider._refused.
AADSTS_HINTS = (
    ("AADSTS700082", "the refresh token expired (unused for 90 days)"),
    ("AADSTS50076", "multi-factor authentication is required"),
    ("AADSTS50078", "the multi-factor authentication of this refresh token expired"),
    ("AADSTS50079", "multi-factor authentication registration is required for the admin agent"),
    ("AADSTS7000215", "the client secret was rejected: renew client_secret for the app registration"),
    ("AADSTS7000222", "the client secret expired: create a new one for the app registration"),
    ("AADSTS700027", "the certificate was rejected: check client_certificate_path/_thumbprint against the app "
                     "registration"),
    ("AADSTS700016", "the application (client_id) is not known in this tenant: check client_id and tenant_id"),
    ("AADSTS90002", "the tenant was not found: check tenant_id"),
    ("AADSTS70000", "the refresh token is invalid or revoked"),
    ("AADSTS9002313", "the refresh token is malformed or not for this app"),
)
# The codes that refuse the refresh token presented, and those that refuse one option of the app.
REFRESH_TOKEN_CODES = frozenset(("AADSTS700082", "AADSTS50076", "AADSTS50078", "AADSTS70000", "AADSTS9002313"))
CODE_OPTIONS = (
    ("AADSTS7000215", "client_secret", "the client secret"),
    ("AADSTS7000222", "client_secret", "the client secret"),
    ("AADSTS700027", "client_certificate_path", "the certificate"),
    ("AADSTS700016", "client_id", "the application (client) id"),
    ("AADSTS90002", "tenant_id", "the tenant id"),
)
# The options whose source a refusal names: each falls back to the environment variable PARTNERCENTER_<OPTION>.
SOURCED_OPTIONS = ("tenant_id", "client_id", "client_secret", "client_certificate_path", "refresh_token")
PATH_OPTIONS = ("client_certificate_path",)
AADSTS_RE = re.compile(r"\bAADSTS(\d+)")

_MSAL = {}


def import_msal():
    """msal, or None when it is missing (msal_import_error() has why).

    Imported on first use: a module handed an access token (the partnercenter_auth role's way) never needs
    it, and importing it was a fifth of such a module's run.
    """
    if "module" not in _MSAL:
        try:
            import msal
            _MSAL.update(module=msal, error=None)
        except ImportError:
            _MSAL.update(module=None, error=traceback.format_exc())
    return _MSAL["module"]


def msal_import_error():
    import_msal()
    return _MSAL["error"]


def require_msal():
    """AuthError unless msal can be imported (for the flows that run on the controller)."""
    if not import_msal():
        raise AuthError("the Python library msal is required on the controller")


def is_microsoft_host(authority):
    host = re.sub(r"^https?://", "", authority or "").split("/")[0].split(":")[0].lower()
    return host in MICROSOFT_HOSTS or host.endswith(".microsoftonline.com")


def read_certificate(path, thumbprint=None):
    """msal's client_credential for a PEM holding the private key (and usually the certificate)."""
    try:
        with open(path, "r") as handle:
            text = handle.read()
    except (IOError, OSError) as err:
        raise AuthError("cannot read client_certificate_path %s: %s" % (path, err.strerror))
    key = PEM_KEY_RE.search(text)
    if not key:
        raise AuthError("client_certificate_path %s holds no PEM private key" % path)
    credential = {"private_key": key.group(0)}
    cert = PEM_CERT_RE.search(text)
    if thumbprint:
        credential["thumbprint"] = thumbprint.replace(":", "").replace(" ", "")
    elif cert:
        credential["public_certificate"] = cert.group(0)
    else:
        raise AuthError("client_certificate_thumbprint is required when %s holds no certificate" % path)
    return credential


def _codes(result):
    """The AADSTS codes of an error answer, in order (whole codes: AADSTS70008 is not AADSTS700082)."""
    codes = ["AADSTS%s" % c for c in AADSTS_RE.findall(result.get("error_description") or "")]
    return codes + ["AADSTS%s" % c for c in result.get("error_codes") or () if isinstance(c, int)]


def _code(result, hints=AADSTS_HINTS):
    """The first code of an error answer that hints has a hint for, or None."""
    table = dict(hints)
    return next((code for code in _codes(result) if code in table), None)


def _hint(result, hints=AADSTS_HINTS):
    """The hint for the first known AADSTS code of an error answer, with the code."""
    code = _code(result, hints)
    return "%s (%s)" % (dict(hints)[code], code) if code else None


def refusal(result, what="the token request", hints=AADSTS_HINTS, remedy=None):
    """The one-line message for an Entra ID error answer: what was refused, its error, then the hint or its first
    line, then the remedy when there is one."""
    text = "Entra ID refused %s: %s" % (what, result.get("error") or "unknown error")
    hint = _hint(result, hints)
    if hint:
        text += ": " + hint
    elif result.get("error_description"):
        text += ": " + result["error_description"].splitlines()[0]
    code = _code(result, hints)
    if remedy is None and code in REFRESH_TOKEN_CODES and dict(hints)[code] == dict(AADSTS_HINTS)[code]:
        remedy = "an admin agent must consent again with MFA (%s)" % CONSENT
    return text + (": " + remedy if remedy else "")


def env_name(option):
    """The environment variable an option falls back to."""
    return "PARTNERCENTER_" + option.upper()


def option_source(option, value, environ=None):
    """Where an option's value came from, as messages name it: "PARTNERCENTER_<OPTION> (environment variable)"
    when that variable holds the value (the option falls back to it), else "<option> (option)".

    The options and their environment fallback are resolved before this code runs, so a value that equals the
    variable's is taken to come from it. The partnercenter_auth role, which knows which of its variables it
    passed, renames both forms to its role variables.
    """
    environ = os.environ if environ is None else environ
    given = environ.get(env_name(option))
    if value and given:
        candidates = [given]
        if option in PATH_OPTIONS:
            candidates.append(os.path.abspath(os.path.expanduser(os.path.expandvars(given))))
        if value in candidates:
            return "%s (environment variable)" % env_name(option)
    return "%s (option)" % option


def missing_app(tenant_id, client_id, client_secret, client_certificate_path):
    """The names of the app's missing credentials (every flow needs them)."""
    missing = [name for name, value in (("tenant_id", tenant_id), ("client_id", client_id)) if not value]
    if not client_secret and not client_certificate_path:
        missing.append("client_secret or client_certificate_path")
    return missing


def _credential(client_secret, client_certificate_path, client_certificate_thumbprint, secrets):
    """msal's client_credential; the private key, when there is one, joins secrets (redacted from messages)."""
    if client_certificate_path:
        credential = read_certificate(client_certificate_path, client_certificate_thumbprint)
        secrets.append(credential["private_key"])
        return credential
    return client_secret


def authority_url(authority, tenant_id):
    return "%s/%s" % ((authority or DEFAULT_AUTHORITY).rstrip("/"), tenant_id)


def confidential_client(p, secrets, cache=None, retry_transient=False):
    """msal's ConfidentialClientApplication for the app of the options p (tenant_id, client_id, client_secret or
    client_certificate_path/_thumbprint, authority, ca_path, validate_certs, timeout), its tokens kept in cache (a
    new one when None: app.token_cache). The private key, when there is one, joins secrets, which every message is
    redacted of; fetching the authority's metadata fails as an AuthError."""
    credential = _credential(p.get("client_secret"), p.get("client_certificate_path"),
                             p.get("client_certificate_thumbprint"), secrets)
    session = make_session(p.get("ca_path"), p.get("validate_certs", True), p.get("timeout") or 60,
                           retry_transient=retry_transient)
    url = authority_url(p.get("authority"), p["tenant_id"])
    try:
        return import_msal().ConfidentialClientApplication(
            p["client_id"], client_credential=credential, authority=url, http_client=session,
            token_cache=cache if cache is not None else import_msal().SerializableTokenCache(),
            # msal asks Microsoft's instance discovery about unknown hosts; a sovereign or test authority
            # has to skip it.
            instance_discovery=None if is_microsoft_host(url) else False)
    # "from None": the redacted message is all that is kept; msal's own exception, which may quote a secret,
    # would otherwise ride along as the new error's context and show in a traceback.
    except ValueError as err:
        raise AuthError(redact("cannot use authority %s: %s" % (url, err), secrets)) from None
    except Exception as err:  # pylint: disable=broad-except  # msal raises requests errors as they come
        raise AuthError(redact("cannot reach the authority %s: %s" % (url, describe(err)), secrets)) from None


def write_private_file(path, text, option, prefix=".partnercenter-"):
    """text into path atomically with mode 0600, making its directory (0700) on first use; AuthError naming
    option when that fails. A concurrent reader never sees half a file."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        # A first run names a file in a directory nobody made yet (~/.cache/partnercenter/...).
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)
    except OSError as err:
        raise AuthError("cannot write %s %s: %s" % (option, path, err))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.rename(tmp, path)
    except OSError as err:
        raise AuthError("cannot write %s %s: %s" % (option, path, err))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class MsalTokenProvider(object):
    """Access tokens for Partner Center: App+User from a refresh token, or app-only client credentials."""

    renewable = True

    def __init__(self, tenant_id, client_id, client_secret=None, client_certificate_path=None,
                 client_certificate_thumbprint=None, refresh_token=None, flow="refresh_token",
                 authority=DEFAULT_AUTHORITY, token_cache_path=None, ca_path=None, validate_certs=True, timeout=60):
        msal = import_msal()
        if not msal:
            raise AuthError("the Python library msal is required")
        missing = missing_app(tenant_id, client_id, client_secret, client_certificate_path)
        self.cache = msal.SerializableTokenCache()
        if token_cache_path and os.path.exists(token_cache_path):
            try:
                with open(token_cache_path, "r") as handle:
                    self.cache.deserialize(handle.read())
            except (IOError, OSError, ValueError) as err:
                raise AuthError("cannot read token_cache_path %s: %s" % (token_cache_path, err))
        # A token cache filled by the first-time consent (partnercenter_consent) stands in for refresh_token.
        self.cached_sign_in = bool(client_id) and any(self.cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN,
                                                                        query={"client_id": client_id}))
        if flow == "refresh_token" and not refresh_token and not self.cached_sign_in:
            missing.append("refresh_token (or a token_cache_path filled by %s, or auth_flow client_credentials)"
                           % CONSENT)
        if missing:
            raise AuthError("cannot authenticate to Partner Center: missing %s" % ", ".join(missing))
        self.flow = flow
        self.refresh_token = refresh_token
        values = dict(tenant_id=tenant_id, client_id=client_id, client_secret=client_secret,
                      client_certificate_path=client_certificate_path, refresh_token=refresh_token)
        self.sources = dict((option, option_source(option, values[option])) for option in SOURCED_OPTIONS)
        # The refresh token Entra ID's last answer is about: "cache" (token_cache_path's) or "refresh_token", and
        # whether the cache's was refused before refresh_token was tried.
        self.presented, self.cache_refused = None, False
        self.scopes = [USER_SCOPE] if flow == "refresh_token" else [APP_SCOPE]
        self.token_cache_path = token_cache_path
        self.token = None
        self.secrets = [s for s in (client_secret, refresh_token) if s]
        self.app = confidential_client(dict(values, client_certificate_thumbprint=client_certificate_thumbprint,
                                            authority=authority, ca_path=ca_path, validate_certs=validate_certs,
                                            timeout=timeout), self.secrets, self.cache, retry_transient=True)

    def _redact(self, text):
        return redact(text, self.secrets + [self.token])

    def get_token(self, force_refresh=False):
        if self.token and not force_refresh:
            return self.token
        try:
            result = self._acquire(force_refresh)
        except AuthError:
            raise
        except Exception as err:  # pylint: disable=broad-except  # network and TLS errors from inside msal
            raise AuthError(self._redact("cannot obtain a Partner Center token: %s" % describe(err))) from None
        if "access_token" not in result:
            raise AuthError(self._redact(self._refused(result)))
        self.token = result["access_token"]
        self._save_cache()
        return self.token

    def _acquire(self, force_refresh):
        self.presented, self.cache_refused = None, False
        if self.flow == "client_credentials":
            if force_refresh:
                for item in self.cache.search(import_msal().TokenCache.CredentialType.ACCESS_TOKEN):
                    self.cache.remove_at(item)
            return self.app.acquire_token_for_client(scopes=self.scopes)
        refused = None
        for account in self.app.get_accounts():
            # A cached (possibly rotated) refresh token comes first: the configured one may be older.
            result = self.app.acquire_token_silent_with_error(self.scopes, account=account, force_refresh=force_refresh)
            if result and "access_token" in result:
                return result
            refused = result or refused
        if self.refresh_token:
            self.presented, self.cache_refused = "refresh_token", refused is not None
            return self.app.acquire_token_by_refresh_token(self.refresh_token, scopes=self.scopes)
        if refused:  # the cache's refresh token was refused (expired, revoked): its error names the cause
            self.presented = "cache"
            return refused
        raise AuthError("token_cache_path %s holds no sign-in of client_id %s for Partner Center: an admin agent "
                        "must consent again (%s), or give refresh_token" % (self.token_cache_path,
                                                                            self.app.client_id, CONSENT))

    def _refused(self, result):
        """The message for Entra ID's refusal: the credential refused named by where it came from - the token
        cache file, an option or its environment variable - and what to do. Never the credential itself."""
        code = _code(result)
        for known, option, credential in CODE_OPTIONS:
            if code == known:
                return refusal(result, "%s of %s" % (credential, self.sources[option]))
        refresh_token_refused = code in REFRESH_TOKEN_CODES or (code is None and result.get("error") == "invalid_grant")
        if not self.presented or not refresh_token_refused:
            return refusal(result)
        if self.presented == "cache":
            return refusal(result, "the refresh token kept in the token cache file %s" % self.token_cache_path,
                           remedy="run playbooks/consent.yml again with this token cache (or partnercenter_consent) "
                                  "so that an admin agent signs in anew with MFA and the cache gets a new refresh "
                                  "token")
        source = self.sources["refresh_token"]
        text = refusal(result, "the refresh token of %s" % source,
                       remedy="an admin agent must consent again with MFA: run playbooks/consent.yml (or "
                              "partnercenter_consent) and use the token cache it fills (token_cache_path), or put "
                              "a new refresh token in %s" % source.split(" ", 1)[0])
        if self.cache_refused:
            text += "; the refresh token kept in the token cache file %s was refused too" % self.token_cache_path
        return text

    def _save_cache(self):
        if not self.token_cache_path or not self.cache.has_state_changed:
            return
        write_private_file(self.token_cache_path, self.cache.serialize(), "token_cache_path",
                           prefix=".partnercenter-cache-")
        self.cache.has_state_changed = False


def describe(err):
    text = str(err)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSLError" in type(err).__name__:
        return "TLS verification failed (%s): %s" % (type(err).__name__, TLS_HINT)
    return "%s: %s" % (type(err).__name__, text.splitlines()[0] if text else "")


def provider_from_options(p):
    """The msal provider for a dict of the auth options (module params or action plugin args)."""
    return MsalTokenProvider(
        tenant_id=p["tenant_id"], client_id=p["client_id"], client_secret=p["client_secret"],
        client_certificate_path=p["client_certificate_path"],
        client_certificate_thumbprint=p["client_certificate_thumbprint"], refresh_token=p["refresh_token"],
        flow=p["auth_flow"], authority=p["authority"], token_cache_path=p["token_cache_path"],
        ca_path=p["ca_path"], validate_certs=p["validate_certs"], timeout=p["timeout"])


def acquire_token(p):
    """An access token for the auth options in p; raises AuthError with a message safe to show."""
    require_msal()
    return provider_from_options(p).get_token()
