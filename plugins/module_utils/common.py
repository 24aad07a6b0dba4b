# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared options and the bridge from module parameters to a client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import (
    DEFAULT_AUTHORITY, AuthError, MsalTokenProvider, import_msal, msal_import_error)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    DEFAULT_BASE_URL, HAS_REQUESTS, REQUESTS_IMPORT_ERROR, PartnerCenterClient, StaticTokenProvider)


def _env(name):
    return (env_fallback, ["PARTNERCENTER_" + name])


AUTH_ARGUMENT_SPEC = dict(
    tenant_id=dict(type="str", fallback=_env("TENANT_ID")),
    client_id=dict(type="str", fallback=_env("CLIENT_ID")),
    client_secret=dict(type="str", no_log=True, fallback=_env("CLIENT_SECRET")),
    client_certificate_path=dict(type="path", fallback=_env("CLIENT_CERTIFICATE_PATH")),
    client_certificate_thumbprint=dict(type="str", fallback=_env("CLIENT_CERTIFICATE_THUMBPRINT")),
    refresh_token=dict(type="str", no_log=True, fallback=_env("REFRESH_TOKEN")),
    auth_flow=dict(type="str", default="refresh_token", choices=["refresh_token", "client_credentials"],
                   fallback=_env("AUTH_FLOW")),
    authority=dict(type="str", default=DEFAULT_AUTHORITY, fallback=_env("AUTHORITY")),
    token_cache_path=dict(type="path", no_log=False, fallback=_env("TOKEN_CACHE_PATH")),
    ca_path=dict(type="path", fallback=_env("CA_PATH")),
    validate_certs=dict(type="bool", default=True, fallback=_env("VALIDATE_CERTS")),
    timeout=dict(type="int", default=60, fallback=_env("TIMEOUT")),
)

ARGUMENT_SPEC = dict(
    base_url=dict(type="str", default=DEFAULT_BASE_URL, fallback=_env("BASE_URL")),
    access_token=dict(type="str", no_log=True, fallback=_env("ACCESS_TOKEN")),
    secrets_file=dict(type="path", no_log=False),
    **AUTH_ARGUMENT_SPEC
)
SECRET_OPTIONS = ("access_token", "client_secret", "refresh_token")
INSECURE_WARNING = ("validate_certs is false: TLS certificates are not checked, so the token and devices can be "
                    "read by anyone between you and the server. Use ca_path to trust a private CA instead.")


def argument_spec(**extra):
    spec = dict((k, dict(v)) for k, v in ARGUMENT_SPEC.items())
    spec.update(extra)
    return spec


def check_libraries(module, need_msal=False):
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    if need_msal and not import_msal():
        module.fail_json(msg=missing_required_lib("msal"), exception=msal_import_error())


def warn_insecure(module):
    if not module.params["validate_certs"]:
        module.warn(INSECURE_WARNING)


def load_secrets(module):
    """Merge the secret options the action plugin passed through secrets_file (see plugin_utils)."""
    path = module.params.get("secrets_file")
    if not path:
        return
    try:
        with open(path) as handle:
            secrets = json.load(handle)
    except (IOError, OSError, ValueError) as err:
        module.fail_json(msg="cannot read secrets_file %s: %s" % (path, err))
    if not isinstance(secrets, dict):
        module.fail_json(msg="secrets_file %s must hold a JSON object" % path)
    for name in SECRET_OPTIONS:
        if secrets.get(name) and not module.params.get(name):
            module.no_log_values.add(secrets[name])
            module.params[name] = secrets[name]


def provider_from_params(p):
    """The msal provider for a dict of auth options (module params or action plugin args)."""
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
    return provider_from_params(p).get_token()


def token_provider(module):
    """The msal provider built from the module's auth options."""
    check_libraries(module, need_msal=True)
    try:
        return provider_from_params(module.params)
    except AuthError as err:
        module.fail_json(msg=str(err))


class _MaskingProvider(object):
    """Marks every token the module obtains as no_log, so Ansible masks it anywhere in the output."""

    def __init__(self, module, inner):
        self.module, self.inner = module, inner
        self.renewable = getattr(inner, "renewable", False)

    def get_token(self, force_refresh=False):
        token = self.inner.get_token(force_refresh=force_refresh)
        self.module.no_log_values.add(token)
        return token


def client_from_module(module, **kwargs):
    """A PartnerCenterClient for the module's connection and auth options."""
    p = module.params
    check_libraries(module)
    warn_insecure(module)
    load_secrets(module)
    if p["access_token"]:
        provider = StaticTokenProvider(p["access_token"])
    else:
        provider = token_provider(module)
    return PartnerCenterClient(p["base_url"], _MaskingProvider(module, provider), ca_path=p["ca_path"],
                               validate_certs=p["validate_certs"], timeout=p["timeout"],
                               secrets=list(getattr(provider, "secrets", [])), **kwargs)


def error_fields(err):
    """What a failed task returns about a Partner Center error, beside its message."""
    return dict(status=err.status, code=err.code, request_id=err.request_id, correlation_id=err.correlation_id)
