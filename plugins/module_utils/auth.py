# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tokens for Partner Center through msal: the flows, the token cache, readable Entra ID errors. The only
importer of msal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile
import traceback

from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import TLS_HINT, make_session, redact

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
USER_SCOPE = "https://api.partnercenter.microsoft.com/user_impersonation"
APP_SCOPE = "https://api.partnercenter.microsoft.com/.default"
MICROSOFT_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn",
                   "login.chinacloudapi.cn", "login.microsoftonline.de", "login.windows.net", "login.microsoft.com",
                   "sts.windows.net")
PEM_KEY_RE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S)
PEM_CERT_RE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)

# Entra ID error codes → what the person running the play has to do.
AADSTS_HINTS = (
    ("AADSTS700082", "the refresh token expired (unused for 90 days): an admin agent must consent again with MFA "
                     "(secure application model) and store the new refresh token"),
    ("AADSTS50076", "multi-factor authentication is required: an admin agent must consent again with MFA and "
                    "store the new refresh token"),
    ("AADSTS50078", "the multi-factor authentication of this refresh token expired: an admin agent must consent "
                    "again with MFA and store the new refresh token"),
    ("AADSTS50079", "multi-factor authentication registration is required for the admin agent"),
    ("AADSTS7000215", "the client secret was rejected: renew client_secret for the app registration"),
    ("AADSTS7000222", "the client secret expired: create a new one for the app registration"),
    ("AADSTS700027", "the certificate was rejected: check client_certificate_path/_thumbprint against the app "
                     "registration"),
    ("AADSTS700016", "the application (client_id) is not known in this tenant: check client_id and tenant_id"),
    ("AADSTS90002", "the tenant was not found: check tenant_id"),
    ("AADSTS70000", "the refresh token is invalid or revoked: an admin agent must consent again"),
    ("AADSTS9002313", "the refresh token is malformed or not for this app: check refresh_token"),
)


class AuthError(Exception):
    """A token could not be obtained; the message says which credential to fix. Never contains secrets."""


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


def _hint(result):
    description = result.get("error_description") or ""
    for code, hint in AADSTS_HINTS:
        if code in description:
            return "%s (%s)" % (hint, code)
    return None


class MsalTokenProvider(object):
    """Access tokens for Partner Center: App+User from a refresh token, or app-only client credentials."""

    renewable = True

    def __init__(self, tenant_id, client_id, client_secret=None, client_certificate_path=None,
                 client_certificate_thumbprint=None, refresh_token=None, flow="refresh_token",
                 authority=DEFAULT_AUTHORITY, token_cache_path=None, ca_path=None, validate_certs=True, timeout=60):
        msal = import_msal()
        if not msal:
            raise AuthError("the Python library msal is required")
        missing = [name for name, value in (("tenant_id", tenant_id), ("client_id", client_id)) if not value]
        if not client_secret and not client_certificate_path:
            missing.append("client_secret or client_certificate_path")
        if flow == "refresh_token" and not refresh_token:
            missing.append("refresh_token (or auth_flow client_credentials)")
        if missing:
            raise AuthError("cannot authenticate to Partner Center: missing %s" % ", ".join(missing))
        self.flow = flow
        self.refresh_token = refresh_token
        self.scopes = [USER_SCOPE] if flow == "refresh_token" else [APP_SCOPE]
        self.token_cache_path = token_cache_path
        self.token = None
        self.secrets = [s for s in (client_secret, refresh_token) if s]
        credential = client_secret
        if client_certificate_path:
            credential = read_certificate(client_certificate_path, client_certificate_thumbprint)
            self.secrets.append(credential["private_key"])
        self.cache = msal.SerializableTokenCache()
        if token_cache_path and os.path.exists(token_cache_path):
            try:
                with open(token_cache_path, "r") as handle:
                    self.cache.deserialize(handle.read())
            except (IOError, OSError, ValueError) as err:
                raise AuthError("cannot read token_cache_path %s: %s" % (token_cache_path, err))
        authority_url = "%s/%s" % ((authority or DEFAULT_AUTHORITY).rstrip("/"), tenant_id)
        session = make_session(ca_path, validate_certs, timeout, retry_transient=True)
        try:
            self.app = msal.ConfidentialClientApplication(
                client_id, client_credential=credential, authority=authority_url, http_client=session,
                token_cache=self.cache,
                # msal asks Microsoft's instance discovery about unknown hosts; a sovereign or test authority
                # has to skip it.
                instance_discovery=None if is_microsoft_host(authority_url) else False)
        # "from None": the redacted message is all that is kept; msal's own exception, which may quote a secret,
        # would otherwise ride along as the new error's context and show in a traceback.
        except ValueError as err:
            raise AuthError(self._redact("cannot use authority %s: %s" % (authority_url, err))) from None
        except Exception as err:  # pylint: disable=broad-except  # msal raises requests errors as they come
            raise AuthError(self._redact("cannot reach the authority %s: %s"
                                         % (authority_url, _describe(err)))) from None

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
            raise AuthError(self._redact("cannot obtain a Partner Center token: %s" % _describe(err))) from None
        if "access_token" not in result:
            hint = _hint(result)
            text = "Entra ID refused the token request: %s" % (result.get("error") or "unknown error")
            if hint:
                text += ": " + hint
            elif result.get("error_description"):
                text += ": " + result["error_description"].splitlines()[0]
            raise AuthError(self._redact(text))
        self.token = result["access_token"]
        self._save_cache()
        return self.token

    def _acquire(self, force_refresh):
        if self.flow == "client_credentials":
            if force_refresh:
                for item in self.cache.search(import_msal().TokenCache.CredentialType.ACCESS_TOKEN):
                    self.cache.remove_at(item)
            return self.app.acquire_token_for_client(scopes=self.scopes)
        for account in self.app.get_accounts():
            # A cached (possibly rotated) refresh token comes first: the configured one may be older.
            result = self.app.acquire_token_silent_with_error(self.scopes, account=account, force_refresh=force_refresh)
            if result and "access_token" in result:
                return result
        return self.app.acquire_token_by_refresh_token(self.refresh_token, scopes=self.scopes)

    def _save_cache(self):
        if not self.token_cache_path or not self.cache.has_state_changed:
            return
        directory = os.path.dirname(os.path.abspath(self.token_cache_path))
        try:
            # A first run names a cache in a directory nobody made yet (~/.cache/partnercenter/...).
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            fd, tmp = tempfile.mkstemp(prefix=".partnercenter-cache-", dir=directory)
        except OSError as err:
            raise AuthError("cannot write token_cache_path %s: %s" % (self.token_cache_path, err))
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(self.cache.serialize())
            os.rename(tmp, self.token_cache_path)  # atomic: a concurrent reader never sees half a cache
        except Exception:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self.cache.has_state_changed = False


def _describe(err):
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
    if not import_msal():
        raise AuthError("the Python library msal is required on the controller")
    return provider_from_options(p).get_token()
