# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PartnerCenterModule, the base of every module: the shared options, the secrets and bulk hand-over files,
checked numbers, the TLS warning, client and service construction, and the one place errors become results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.partnercenter.autopilot.plugins.module_utils.auth import (
    DEFAULT_AUTHORITY, import_msal, msal_import_error, provider_from_options)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.client import (
    DEFAULT_BASE_URL, HAS_REQUESTS, REQUESTS_IMPORT_ERROR, PartnerCenterClient, StaticTokenProvider)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.customers import resolve_customer
from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import validate_target
from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import KINDS, InputError, failure
from ansible_collections.partnercenter.autopilot.plugins.module_utils.journal import JournalError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.service import Clock, PartnerCenterService


def _env(name):
    return (env_fallback, ["PARTNERCENTER_" + name])


# TLS and timeouts: doc fragment partnercenter.autopilot.connection.
CONNECTION_SPEC = dict(
    ca_path=dict(type="path", fallback=_env("CA_PATH")),
    validate_certs=dict(type="bool", default=True, fallback=_env("VALIDATE_CERTS")),
    timeout=dict(type="int", default=60, fallback=_env("TIMEOUT")),
)
# Doc fragment partnercenter.autopilot.connection.base_url.
BASE_URL_SPEC = dict(base_url=dict(type="str", default=DEFAULT_BASE_URL, fallback=_env("BASE_URL")))
# Credentials for msal: doc fragment partnercenter.autopilot.auth.
AUTH_SPEC = dict(
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
)
# A token obtained before, and the hand-over file: doc fragment partnercenter.autopilot.auth.access_token.
ACCESS_TOKEN_SPEC = dict(
    access_token=dict(type="str", no_log=True, fallback=_env("ACCESS_TOKEN")),
    secrets_file=dict(type="path", no_log=False),
)
TOKEN_MODULE_SPEC = dict(CONNECTION_SPEC, **AUTH_SPEC)
SECRET_OPTIONS = ("access_token", "client_secret", "refresh_token")
INSECURE_WARNING = ("validate_certs is false: TLS certificates are not checked, so the token and devices can be "
                    "read by anyone between you and the server. Use ca_path to trust a private CA instead.")
# Numbers are input too: (least, most) for every numeric option any module has.
NUMERIC_RANGES = {
    "timeout": (1, 3600),
    "wait_timeout": (0, 7 * 24 * 3600),
    "poll_interval": (0.1, 3600),
    "concurrency": (1, 64),
    "flow_timeout": (1, 86400),
}
ERRORS = KINDS + (JournalError,)


def copy_spec(*specs):
    merged = {}
    for spec in specs:
        merged.update((k, dict(v)) for k, v in spec.items())
    return merged


def check_numbers(params):
    """Every numeric option within its range, or InputError naming each one that is not."""
    problems = []
    for name, (least, most) in sorted(NUMERIC_RANGES.items()):
        value = params.get(name)
        if value is not None and not least <= value <= most:
            problems.append("%s must be between %s and %s, got %s" % (name, least, most, value))
    if problems:
        raise InputError(problems)


class _MaskingProvider(object):
    """Marks every token the module obtains as no_log, so Ansible masks it anywhere in the output."""

    def __init__(self, module, inner):
        self.module, self.inner = module, inner
        self.renewable = getattr(inner, "renewable", False)

    def get_token(self, force_refresh=False):
        token = self.inner.get_token(force_refresh=force_refresh)
        self.module.no_log_values.add(token)
        return token


class PartnerCenterModule(AnsibleModule):
    """An AnsibleModule with the collection's shared options and behaviour.

    api: the module calls Partner Center (base_url, access_token, secrets_file); else it only obtains tokens.
    shared: the shared option groups it takes (default: the API's, or the token modules' when not api).
    bulk_options: {list option: option naming a JSON file that holds it} - lists the action plugin hands over
    in files, loaded here, and shown as counts in `invocation` and syslog (they can be megabytes).
    """

    def __init__(self, argument_spec=None, api=True, bulk_options=None, shared=None, **kwargs):
        specs = shared if shared is not None else (
            (CONNECTION_SPEC, BASE_URL_SPEC, AUTH_SPEC, ACCESS_TOKEN_SPEC) if api else (TOKEN_MODULE_SPEC,))
        self.bulk_options = bulk_options or {}
        super(PartnerCenterModule, self).__init__(argument_spec=copy_spec(*(specs + (argument_spec or {},))),
                                                  **kwargs)
        self.clock = Clock()
        for option, file_option in self.bulk_options.items():
            if self.params.get(file_option):
                self.params[option] = self._load_json(file_option)
                self.params[file_option] = None
        if api:
            self._load_secrets()
        with self.errors():
            check_numbers(self.params)
        if not self.params["validate_certs"]:
            self.warn(INSECURE_WARNING)

    # ----- input -----------------------------------------------------------------------------------------
    def _load_json(self, option):
        path = self.params[option]
        try:
            with open(path) as handle:
                return json.load(handle)
        except (IOError, OSError, ValueError) as err:
            self.fail_json(msg="cannot read %s %s: %s" % (option, path, err))

    def _load_secrets(self):
        """Merge the secret options the action plugin passed through secrets_file (see plugin_utils)."""
        if not self.params.get("secrets_file"):
            return
        secrets = self._load_json("secrets_file")
        if not isinstance(secrets, dict):
            self.fail_json(msg="secrets_file %s must hold a JSON object" % self.params["secrets_file"])
        for name in SECRET_OPTIONS:
            if secrets.get(name) and not self.params.get(name):
                self.no_log_values.add(secrets[name])
                self.params[name] = secrets[name]

    def summarised_params(self):
        """The parameters with the bulk lists as counts (devices, and batches with their devices)."""
        args = dict(self.params)
        for option in self.bulk_options:
            value = args.get(option)
            if isinstance(value, list):
                args[option] = "%d %s" % (len(value), option)
                if option == "batches":
                    args[option] += ", %d devices" % sum(len(b.get("devices") or []) for b in value
                                                         if isinstance(b, dict))
        return args

    def _log_invocation(self):
        params = self.params
        self.params = self.summarised_params()
        try:
            super(PartnerCenterModule, self)._log_invocation()
        finally:
            self.params = params

    def _return_formatted(self, kwargs):
        kwargs.setdefault("invocation", dict(module_args=self.summarised_params()))
        super(PartnerCenterModule, self)._return_formatted(kwargs)

    # ----- connections -----------------------------------------------------------------------------------
    def check_libraries(self, need_msal=False):
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        if need_msal and not import_msal():
            self.fail_json(msg=missing_required_lib("msal"), exception=msal_import_error())

    def token_provider(self):
        """The token handed in (access_token), else msal with the module's credentials."""
        if self.params.get("access_token"):
            return StaticTokenProvider(self.params["access_token"])
        self.check_libraries(need_msal=True)
        with self.errors():
            return provider_from_options(self.params)

    def client(self, **kwargs):
        self.check_libraries()
        p = self.params
        provider = self.token_provider()
        return PartnerCenterClient(p["base_url"], _MaskingProvider(self, provider), ca_path=p["ca_path"],
                                   validate_certs=p["validate_certs"], timeout=p["timeout"],
                                   secrets=list(getattr(provider, "secrets", [])), sleep=self.clock.sleep, **kwargs)

    def service(self, connections=10):
        return PartnerCenterService(self.client(connections=connections), clock=self.clock)

    def customer(self, service):
        """The customer a single-customer module works on: customer_id, or `customer` (a tenant id, domain or
        company name) resolved from one read of the partner's customer list. (tenant id, company name or None)"""
        if self.params.get("customer") is None:
            validate_target(self.params["customer_id"], None)
            return self.params["customer_id"].strip(), None
        view = resolve_customer(self.params["customer"], service.list_customers())
        self.params["customer_id"] = view["id"]
        return view["id"], view["company_name"]

    def warn_throttled(self, service, result):
        """Say how long Partner Center's 429s held the run back (workers waited together)."""
        waited = round(service.client.throttle.waited, 1)
        result["throttled_seconds"] = waited
        if waited:
            self.warn("Partner Center throttled this task (HTTP 429): requests were held back for %.1f s in total, "
                      "as its Retry-After asked; a lower concurrency may help" % waited)

    # ----- errors ----------------------------------------------------------------------------------------
    def fail_from_error(self, err, **result):
        """The one place an error of ERRORS (errors.KINDS, JournalError) becomes a failed result: its message,
        plus the fields that help act on it (errors.failure), beside result's keys."""
        self.fail_json(**dict(failure(err), **result))

    @contextlib.contextmanager
    def errors(self, **result):
        """Turn the collection's errors raised inside the block into a failed result (with result's keys)."""
        try:
            yield
        except ERRORS as err:
            self.fail_from_error(err, **result)
