# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that speaks HTTP to Partner Center."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import random
import re
import time
import traceback
import uuid

try:
    from urllib.parse import quote, urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported by ansible-core 2.17+
    from urllib import quote  # type: ignore
    from urlparse import urlsplit  # type: ignore

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.adapters import HTTPAdapter
    from requests.exceptions import ConnectTimeout, SSLError
    from urllib3.exceptions import NewConnectionError, SSLError as Urllib3SSLError
    from urllib3.util.retry import Retry
    HAS_REQUESTS = True
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.partnercenter.autopilot.plugins.module_utils.devices import chunks, lower_keys

VERSION = "0.1.0"
DEFAULT_BASE_URL = "https://api.partnercenter.microsoft.com"
USER_AGENT = "partnercenter.autopilot/%s" % VERSION
MAX_DEVICES_PER_REQUEST = 500
RETRY_STATUSES = (429, 500, 502, 503, 504)
# The service refused these before doing anything, so even a POST may be sent again.
REFUSED_STATUSES = (429, 503)
FINAL_JOB_STATUSES = ("finished", "finished_with_errors")
LOCATION_RE = re.compile(r"customers/([^/?#]+)/batchJobStatus/([^/?#]+)", re.IGNORECASE)

HINTS = {
    (403, "20002"): "there is no reseller relationship with customer {customer}: check customer_id, or ask the "
                    "customer to accept the reseller relationship",
    (404, "60003"): "customer tenant {customer} was not found: check customer_id",
}


class PartnerCenterError(Exception):
    """Any failed call: status, Partner Center code/description, request and correlation ids."""

    def __init__(self, message, status=None, code=None, description=None, request_id=None,
                 correlation_id=None, method=None, path=None):
        super(PartnerCenterError, self).__init__(message)
        self.status, self.code, self.description = status, code, description
        self.request_id, self.correlation_id = request_id, correlation_id
        self.method, self.path = method, path


class OutcomeUnknownError(PartnerCenterError):
    """A write was sent but its answer was lost: re-read the state before sending anything again."""


class JobTimeoutError(PartnerCenterError):
    """A job did not finish within wait_timeout; last_status holds the last answer."""

    def __init__(self, message, tracking_id=None, last_status=None):
        super(JobTimeoutError, self).__init__(message)
        self.tracking_id, self.last_status = tracking_id, last_status


class StaticTokenProvider(object):
    """An access token handed in by the caller (e.g. the partnercenter_auth role's fact)."""

    renewable = False

    def __init__(self, token):
        self.token = token

    def get_token(self, force_refresh=False):
        return self.token


class VerifyingSession(requests.Session if HAS_REQUESTS else object):
    """A requests.Session whose TLS setting cannot be overridden by the environment.

    requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE replace Session.verify; passing verify on every call keeps
    a given ca_path (or validate_certs=false) in force. msal gets the same session.
    """

    def __init__(self, verify=True, timeout=60):
        super(VerifyingSession, self).__init__()
        self.forced_verify = verify
        self.default_timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method, url, **kwargs):  # pylint: disable=arguments-differ
        kwargs["verify"] = self.forced_verify
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super(VerifyingSession, self).request(method, url, **kwargs)


class _TransientRetry(Retry if HAS_REQUESTS else object):
    """urllib3 retries, except for TLS failures: an untrusted certificate does not get better by waiting."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if isinstance(error, Urllib3SSLError):
            raise error
        return super(_TransientRetry, self).increment(method, url, response, error, _pool, _stacktrace)


def make_session(ca_path=None, validate_certs=True, timeout=60, retry_transient=False):
    """A session that keeps the TLS setting; retry_transient is for the token endpoint (see below)."""
    if not validate_certs:
        verify = False
    else:
        verify = ca_path or True
    session = VerifyingSession(verify, timeout)
    if retry_transient:
        # msal leaves retries to the http client it is given. Token requests may be repeated (redeeming a
        # refresh token twice is harmless), so throttling and transient faults are retried here, honouring
        # Retry-After; the last answer is handed to msal, which turns it into a readable error.
        retry = _TransientRetry(total=5, connect=3, read=2, status=5, backoff_factor=0.5,
                                status_forcelist=RETRY_STATUSES, allowed_methods=None,
                                respect_retry_after_header=True, raise_on_status=False)
        session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def parse_location(location):
    """(customer_id, tracking_id) from a Location header, absolute or relative; tracking id alone is accepted."""
    if not location:
        return None, None
    match = LOCATION_RE.search(urlsplit(location).path or location)
    if match:
        return match.group(1), match.group(2)
    return None, None


def _retry_after(response):
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed:
            return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return None


class PartnerCenterClient(object):
    """Partner Center device endpoints over one session, with retries, paging and readable errors."""

    def __init__(self, base_url, token_provider, ca_path=None, validate_certs=True, timeout=60,
                 correlation_id=None, user_agent=USER_AGENT, max_attempts=10, retry_budget=300.0,
                 backoff_base=1.0, backoff_cap=60.0, chunk_size=MAX_DEVICES_PER_REQUEST, sleep=time.sleep,
                 secrets=None):
        if not HAS_REQUESTS:
            raise ImportError("the Python library requests is required")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.token_provider = token_provider
        self.session = make_session(ca_path, validate_certs, timeout)
        self.session.headers["User-Agent"] = user_agent
        self.timeout = timeout
        self.correlation_id = correlation_id or str(uuid.uuid4())
        self.user_agent = user_agent
        self.max_attempts, self.retry_budget = max_attempts, retry_budget
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.chunk_size = chunk_size
        self.sleep = sleep
        self.secrets = secrets if secrets is not None else []
        self.retries = []  # (method, path, reason, delay) for reporting and tests

    # ----- plumbing --------------------------------------------------------------------------------------
    def _path(self, customer_id, *parts):
        segments = ["v1", "customers", customer_id] + list(parts)
        return "/" + "/".join(quote(str(s), safe="") for s in segments)

    def _redact(self, text):
        for secret in self.secrets:  # _headers adds every token it sends
            if secret and isinstance(secret, str) and len(secret) > 3:
                text = text.replace(secret, "********")
        return text

    def _headers(self, request_id, extra):
        token = self.token_provider.get_token()
        if token and token not in self.secrets:
            self.secrets.append(token)
        headers = {
            "Authorization": "Bearer %s" % token,
            "Accept": "application/json",
            "MS-RequestId": request_id,
            "MS-CorrelationId": self.correlation_id,
            "MS-PartnerCenter-Application": self.user_agent,
            "X-Locale": "en-US",
        }
        headers.update(extra or {})
        return headers

    def _backoff(self, attempt):
        delay = min(self.backoff_cap, self.backoff_base * (2 ** attempt))
        return delay * (0.5 + random.random() / 2)  # nosec - jitter, not cryptography

    def request(self, method, path, json_body=None, headers=None, customer_id=None):
        """One logical call: retried on throttling and transient faults with the same MS-RequestId."""
        request_id = str(uuid.uuid4())
        safe_to_resend = method in ("GET", "HEAD", "DELETE")
        started = time.time()
        refreshed = False
        attempt = 0
        while True:
            send_headers = self._headers(request_id, headers)
            if json_body is not None:
                send_headers["Content-Type"] = "application/json"
            try:
                response = self.session.request(method, self.base_url + path, json=json_body, headers=send_headers,
                                                timeout=self.timeout)
            except SSLError as err:
                raise PartnerCenterError(self._redact(
                    "TLS verification failed for %s: %s. Set ca_path to the CA that signed the server's certificate "
                    "(validate_certs: false only for testing)" % (self.base_url, err)), method=method, path=path,
                    request_id=request_id, correlation_id=self.correlation_id)
            except requests.exceptions.RequestException as err:
                never_sent = isinstance(err, ConnectTimeout) or _refused(err)
                if not (safe_to_resend or never_sent):
                    raise OutcomeUnknownError(
                        "%s %s was sent but no answer arrived (%s); re-read the state before sending again"
                        % (method, path, type(err).__name__), method=method, path=path, request_id=request_id,
                        correlation_id=self.correlation_id)
                delay = self._backoff(attempt)
                if attempt + 1 >= self.max_attempts or time.time() - started + delay > self.retry_budget:
                    raise PartnerCenterError(
                        "%s %s%s failed after %d attempts: %s" % (method, self.base_url, path, attempt + 1,
                                                                  self._redact(str(err))),
                        method=method, path=path, request_id=request_id, correlation_id=self.correlation_id)
                self.retries.append((method, path, type(err).__name__, delay))
                self.sleep(delay)
                attempt += 1
                continue
            if response.status_code == 401 and not refreshed and getattr(self.token_provider, "renewable", False):
                refreshed = True
                self.token_provider.get_token(force_refresh=True)
                continue
            if response.status_code in RETRY_STATUSES:
                if not safe_to_resend and response.status_code not in REFUSED_STATUSES:
                    raise OutcomeUnknownError(self._message(response, method, path, customer_id, request_id) +
                                              "; the write may have been applied: re-read before sending again",
                                              **self._error_fields(response, method, path, request_id))
                delay = _retry_after(response)
                if delay is None:
                    delay = self._backoff(attempt)
                if attempt + 1 < self.max_attempts and time.time() - started + delay <= self.retry_budget:
                    self.retries.append((method, path, response.status_code, delay))
                    self.sleep(delay)
                    attempt += 1
                    continue
            if response.status_code >= 400:
                raise PartnerCenterError(self._message(response, method, path, customer_id, request_id),
                                         **self._error_fields(response, method, path, request_id))
            return response

    def _error_fields(self, response, method, path, request_id):
        body = self._body(response)
        code = body.get("code")
        return {"status": response.status_code, "code": None if code is None else str(code),
                "description": body.get("description"), "method": method, "path": path,
                "request_id": response.headers.get("MS-RequestId") or request_id,
                "correlation_id": response.headers.get("MS-CorrelationId") or self.correlation_id}

    @staticmethod
    def _body(response):
        try:
            return lower_keys(response.json())
        except ValueError:
            return {}

    def _message(self, response, method, path, customer_id, request_id):
        fields = self._error_fields(response, method, path, request_id)
        status, code = fields["status"], fields["code"]
        text = "Partner Center %s %s failed: HTTP %d" % (method, path, status)
        if code or fields["description"]:
            text += ", code %s: %s" % (code, fields["description"])
        hint = HINTS.get((status, code))
        if hint:
            text += "; " + hint.format(customer=customer_id)
        elif status == 401:
            if getattr(self.token_provider, "renewable", False):
                text += ("; the token was refused even after a refresh: check that the app has Partner Center "
                         "API access and that the refresh token belongs to an admin agent of the partner tenant")
            else:
                text += ("; the access token was refused (expired, or not a Partner Center token): get a new one "
                         "with the partnercenter_auth role, or give client_id, client_secret and refresh_token")
        elif status == 429:
            text += "; still throttled after %d attempts, try again later" % self.max_attempts
        text += " (MS-RequestId %s, MS-CorrelationId %s)" % (fields["request_id"], fields["correlation_id"])
        return self._redact(text)

    # ----- endpoints -------------------------------------------------------------------------------------
    def _get_all(self, path, customer_id):
        """Every item of a collection, following continuation tokens to the end."""
        items, token, seen = [], None, set()
        while True:
            headers = {"MS-ContinuationToken": token} if token else None
            body = lower_keys(self.request("GET", path, headers=headers, customer_id=customer_id).json())
            items.extend(body.get("items") or [])
            token = body.get("continuationtoken")
            if not token:
                nxt = lower_keys(lower_keys(body.get("links")).get("next"))
                for header in nxt.get("headers") or []:
                    header = lower_keys(header)
                    if str(header.get("key", "")).lower() == "ms-continuationtoken":
                        token = header.get("value")
            if not token:
                return items
            if token in seen:
                raise PartnerCenterError("Partner Center returned the same continuation token twice for %s" % path)
            seen.add(token)

    def list_batches(self, customer_id):
        return self._get_all(self._path(customer_id, "deviceBatches"), customer_id)

    def list_devices(self, customer_id, batch_id):
        return self._get_all(self._path(customer_id, "deviceBatches", batch_id, "devices"), customer_id)

    def _accepted(self, response, method, path):
        location = response.headers.get("Location")
        customer, tracking_id = parse_location(location)
        if not tracking_id:
            raise PartnerCenterError("Partner Center accepted %s %s but sent no usable Location header (%r)"
                                     % (method, path, location), method=method, path=path)
        return {"location": location, "tracking_id": tracking_id}

    def create_batch(self, customer_id, batch_id, devices):
        """POST a new batch with devices (API form). Returns {location, tracking_id}."""
        path = self._path(customer_id, "deviceBatches")
        body = {"BatchId": batch_id, "Devices": devices, "Attributes": {"ObjectType": "DeviceBatchCreationRequest"}}
        return self._accepted(self.request("POST", path, json_body=body, customer_id=customer_id), "POST", path)

    def add_devices(self, customer_id, batch_id, devices):
        path = self._path(customer_id, "deviceBatches", batch_id, "devices")
        return self._accepted(self.request("POST", path, json_body=devices, customer_id=customer_id), "POST", path)

    def send_chunk(self, customer_id, batch_id, chunk, create):
        """POST one chunk of devices: creating the batch when asked, else adding to it.

        Returns {location, tracking_id, devices}.
        """
        api = [d.to_api() for d in chunk]
        if create:
            try:
                job = self.create_batch(customer_id, batch_id, api)
            except PartnerCenterError as err:
                if err.status != 409:
                    raise
                # Another run (a job slice, a second playbook) created the batch since it was read; a refused
                # create registered nothing, so the same devices go to that batch instead.
                job = self.add_devices(customer_id, batch_id, api)
        else:
            job = self.add_devices(customer_id, batch_id, api)
        job["devices"] = chunk
        return job

    def upload(self, customer_id, batch_id, devices, create):
        """Send devices in chunks of at most chunk_size: the first creates the batch when asked.

        Yields one {location, tracking_id, devices} per chunk as each is accepted, so a caller that hits an
        error part way still knows which chunks were sent.
        """
        for chunk in chunks(devices, self.chunk_size):
            yield self.send_chunk(customer_id, batch_id, chunk, create)
            create = False

    def delete_device(self, customer_id, batch_id, device_id):
        path = self._path(customer_id, "deviceBatches", batch_id, "devices", device_id)
        try:
            self.request("DELETE", path, customer_id=customer_id)
        except PartnerCenterError as err:
            if err.status != 404:  # already gone (e.g. a retried DELETE that had been applied)
                raise

    def job_status(self, customer_id, tracking_id):
        path = self._path(customer_id, "batchJobStatus", tracking_id)
        return self.request("GET", path, customer_id=customer_id).json()

    def wait_for_job(self, customer_id, tracking_id, timeout, poll_interval=2.0, poll_cap=30.0, progress=None):
        """Poll until finished/finished_with_errors; raise JobTimeoutError after timeout seconds.

        Polls come every poll_interval seconds at first, then every quarter of the time waited so far (at most
        poll_cap): a long job is not polled needlessly often, and its end is seen at most a quarter late. A
        backoff that multiplies each delay can see a job's end up to half of the waited time late.
        """
        started = time.time()
        deadline = started + timeout
        while True:
            status = self.job_status(customer_id, tracking_id)
            state = lower_keys(status).get("status")
            if progress:
                progress(status)
            if state in FINAL_JOB_STATUSES:
                return status
            now = time.time()
            remaining = deadline - now
            if remaining <= 0:
                raise JobTimeoutError("job %s of customer %s is still %s after %ss; check it later with "
                                      "partnercenter.autopilot.partnercenter_batch_job_status_info "
                                      "(tracking_id: %s)" % (tracking_id, customer_id, state, timeout, tracking_id),
                                      tracking_id=tracking_id, last_status=status)
            self.sleep(min(poll_delay(now - started, poll_interval, poll_cap), remaining))

    def list_policies(self, customer_id):
        return self._get_all(self._path(customer_id, "policies"), customer_id)

    def update_policies(self, customer_id, updates):
        path = self._path(customer_id, "DevicePolicyUpdates")
        body = {"Devices": updates, "Attributes": {"ObjectType": "DevicePolicyUpdateRequest"}}
        return self._accepted(self.request("PATCH", path, json_body=body, customer_id=customer_id), "PATCH", path)


def poll_delay(waited, poll_interval, poll_cap=30.0):
    """Seconds until the next status poll after waiting `waited` seconds (see wait_for_job)."""
    return min(poll_cap, max(poll_interval, waited / 4.0))


def _refused(err):
    """True when the connection was never established, so nothing reached the server."""
    reason = err
    for _depth in range(5):  # urllib3 wraps the cause a few levels deep
        if isinstance(reason, NewConnectionError):
            return True
        nxt = getattr(reason, "reason", None) or (reason.args[0] if getattr(reason, "args", None) else None)
        if nxt is None or nxt is reason or isinstance(nxt, str):
            return False
        reason = nxt
    return False
