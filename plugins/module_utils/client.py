# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP transport to Partner Center and only that: the session (TLS kept per request), headers, paging, error
bodies and hints, and the retry policy. The only importer of requests; endpoint meaning lives in service.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import random
import threading
import time
import traceback
import uuid

from urllib.parse import quote, urlsplit

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

from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import (  # noqa: F401 (re-exported)
    OutcomeUnknownError, ServiceError, redact)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import lower_keys, parse_location

DEFAULT_BASE_URL = "https://api.partnercenter.microsoft.com"
# The collection's name and version (galaxy.yml's; a unit test keeps them equal) for MS-PartnerCenter-Application.
USER_AGENT = "partnercenter.autopilot/0.1.0"
RETRY_STATUSES = (429, 500, 502, 503, 504)
# The service refused these before doing anything, so even a POST may be sent again.
REFUSED_STATUSES = (429, 503)
TLS_HINT = "set ca_path to the CA that signed the server's certificate (validate_certs: false only for testing)"

HINTS = {
    (403, "20002"): "there is no reseller relationship with customer {customer}: check customer_id, or ask the "
                    "customer to accept the reseller relationship",
    (404, "60003"): "customer tenant {customer} was not found: check customer_id",
}


PartnerCenterError = ServiceError  # any failed call, as errors.py's service error kind


class StaticTokenProvider(object):
    """An access token handed in by the caller (e.g. the partnercenter_auth role's fact)."""

    renewable = False

    def __init__(self, token):
        self.token = token

    def get_token(self, force_refresh=False):
        return self.token


class Throttle(object):
    """One Retry-After for every worker of a task: Partner Center throttles the partner (and the partner and
    customer pair), not a thread, so a 429 seen by one worker holds back the others' next requests too.

    waited: seconds of wall time during which requests were held back (overlapping holds counted once).
    """

    def __init__(self, clock=time.time, sleep=time.sleep):
        self.clock, self.sleep = clock, sleep
        self.lock = threading.Lock()
        self.until = 0.0
        self.waited = 0.0

    def hold(self, seconds):
        with self.lock:
            now = self.clock()
            until = now + seconds
            if until > self.until:
                self.waited += until - max(self.until, now)
                self.until = until

    def wait(self):
        """Sleep until the latest Retry-After any worker was given has passed."""
        while True:
            with self.lock:
                delay = self.until - self.clock()
            if delay <= 0:
                return
            self.sleep(delay)


class _SerialTokens(object):
    """A token provider shared by workers: one of them at a time gets or refreshes the token, so a token that
    expires under eight workers is refreshed once (the refresh token rotates and is persisted once)."""

    def __init__(self, inner):
        self.inner = inner
        self.renewable = getattr(inner, "renewable", False)
        self.secrets = getattr(inner, "secrets", [])
        self.lock = threading.Lock()
        self.current = None

    def get_token(self, force_refresh=False):
        with self.lock:
            self.current = self.inner.get_token(force_refresh=force_refresh)
            return self.current

    def refresh(self, refused):
        """A new token unless another worker already replaced the refused one."""
        with self.lock:
            if self.current == refused:
                self.current = self.inner.get_token(force_refresh=True)
            return self.current


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


def make_session(ca_path=None, validate_certs=True, timeout=60, retry_transient=False, connections=10):
    """A session that keeps the TLS setting; retry_transient is for the token endpoint (see below).

    connections: how many connections to keep open at once (one per worker of the engine's pool).
    """
    if not validate_certs:
        verify = False
    else:
        verify = ca_path or True
    session = VerifyingSession(verify, timeout)
    if connections > 10:
        session.mount("https://", HTTPAdapter(pool_maxsize=connections))
    if retry_transient:
        # msal leaves retries to the http client it is given. Token requests may be repeated (redeeming a
        # refresh token twice is harmless), so throttling and transient faults are retried here, honouring
        # Retry-After; the last answer is handed to msal, which turns it into a readable error.
        retry = _TransientRetry(total=5, connect=3, read=2, status=5, backoff_factor=0.5,
                                status_forcelist=RETRY_STATUSES, allowed_methods=None,
                                respect_retry_after_header=True, raise_on_status=False)
        session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


class RetryPolicy(object):
    """When one logical call is sent again, written once.

    - Reads and DELETE are idempotent: they are resent after a connection error, a timeout, or 429/500/502/503/504.
    - Writes (POST, PATCH, PUT) are resent only when the service certainly did nothing with them: 429 and 503
      (refused before processing) and a connection that was never made (refused, or timed out while
      connecting). Any other failure after a write was sent - a read timeout, a dropped connection, 500, 502,
      504 - is an unknown outcome: OutcomeUnknownError, and the caller re-reads before sending anything again.
    - A resend reuses the call's MS-RequestId. It waits Retry-After when the answer has one, else an
      exponential backoff (base * 2^attempt, at most cap) with jitter (half to all of it).
    - Budget per logical call: at most max_attempts attempts and budget seconds from its first attempt,
      counting the next wait; past either, the last answer is raised as an error.
    - A 401 is retried once, after a forced token refresh, when the token provider can renew its token.
    """

    def __init__(self, max_attempts=10, budget=300.0, base=1.0, cap=60.0, clock=time.time):
        self.max_attempts, self.budget, self.base, self.cap, self.clock = max_attempts, budget, base, cap, clock

    @staticmethod
    def resendable(method):
        return method in ("GET", "HEAD", "DELETE")

    @staticmethod
    def refused(status):
        return status in REFUSED_STATUSES

    def backoff(self, attempt):
        delay = min(self.cap, self.base * (2 ** attempt))
        return delay * (0.5 + random.random() / 2)  # nosec - jitter, not cryptography

    def allows(self, attempt, started, delay):
        """May attempt number attempt + 1 follow after delay seconds?"""
        return attempt + 1 < self.max_attempts and self.clock() - started + delay <= self.budget


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
    """One session to Partner Center: requests with headers, retries (RetryPolicy), paging and readable errors."""

    def __init__(self, base_url, token_provider, ca_path=None, validate_certs=True, timeout=60,
                 correlation_id=None, user_agent=USER_AGENT, max_attempts=10, retry_budget=300.0,
                 backoff_base=1.0, backoff_cap=60.0, sleep=time.sleep, secrets=None, connections=10,
                 clock=time.time):
        if not HAS_REQUESTS:
            raise ImportError("the Python library requests is required")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.token_provider = _SerialTokens(token_provider)
        self.session = make_session(ca_path, validate_certs, timeout, connections=connections)
        self.session.headers["User-Agent"] = user_agent
        self.timeout = timeout
        self.correlation_id = correlation_id or str(uuid.uuid4())
        self.user_agent = user_agent
        self.policy = RetryPolicy(max_attempts, retry_budget, backoff_base, backoff_cap, clock=clock)
        self.sleep = sleep
        self.throttle = Throttle(clock, sleep)
        self.secrets = secrets if secrets is not None else []
        self.retries = []  # (method, path, reason, delay) for reporting and tests

    # ----- plumbing --------------------------------------------------------------------------------------
    @staticmethod
    def path(customer_id, *parts):
        """/v1/customers/{customer}/... with every segment URL-encoded (batch names may hold spaces)."""
        segments = ["v1", "customers", customer_id] + list(parts)
        return "/" + "/".join(quote(str(s), safe="") for s in segments)

    def _redact(self, text):
        return redact(text, self.secrets)  # _headers adds every token it sends

    def _headers(self, request_id, extra, token=None):
        token = token or self.token_provider.get_token()
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

    def _wait(self, method, path, reason, delay):
        self.retries.append((method, path, reason, delay))
        self.sleep(delay)

    def request(self, method, path, json_body=None, headers=None, customer_id=None, on_attempt=None):
        """One logical call, resent as RetryPolicy says with the same MS-RequestId.

        on_attempt() runs just before each attempt is sent: a caller that records a write before sending it
        learns when it really left (after a Retry-After wait, minutes later).
        """
        request_id = str(uuid.uuid4())
        policy = self.policy
        started = policy.clock()
        refreshed = False
        attempt = 0
        token = None
        while True:
            self.throttle.wait()
            if on_attempt is not None:
                on_attempt()
            send_headers = self._headers(request_id, headers, token)
            token = None
            if json_body is not None:
                send_headers["Content-Type"] = "application/json"
            try:
                response = self.session.request(method, self.base_url + path, json=json_body, headers=send_headers,
                                                timeout=self.timeout)
            except SSLError as err:
                raise PartnerCenterError(self._redact("TLS verification failed for %s: %s. %s" % (
                    self.base_url, err, TLS_HINT[0].upper() + TLS_HINT[1:])), method=method, path=path,
                    request_id=request_id, correlation_id=self.correlation_id)
            except requests.exceptions.RequestException as err:
                never_sent = isinstance(err, ConnectTimeout) or _refused(err)
                if not (policy.resendable(method) or never_sent):
                    raise OutcomeUnknownError(
                        "%s %s was sent but no answer arrived (%s); re-read the state before sending again"
                        % (method, path, type(err).__name__), method=method, path=path, request_id=request_id,
                        correlation_id=self.correlation_id)
                delay = policy.backoff(attempt)
                if not policy.allows(attempt, started, delay):
                    raise PartnerCenterError(
                        "%s %s%s failed after %d attempts: %s" % (method, self.base_url, path, attempt + 1,
                                                                  self._redact(str(err))),
                        method=method, path=path, request_id=request_id, correlation_id=self.correlation_id)
                self._wait(method, path, type(err).__name__, delay)
                attempt += 1
                continue
            if response.status_code == 401 and not refreshed and self.token_provider.renewable:
                refreshed = True
                token = self.token_provider.refresh(send_headers["Authorization"][len("Bearer "):])
                continue
            if response.status_code in RETRY_STATUSES:
                if not policy.resendable(method) and not policy.refused(response.status_code):
                    raise OutcomeUnknownError(self._message(response, method, path, customer_id, request_id) +
                                              "; the write may have been applied: re-read before sending again",
                                              **self._error_fields(response, method, path, request_id))
                delay = _retry_after(response)
                if delay is None:
                    delay = policy.backoff(attempt)
                if policy.allows(attempt, started, delay):
                    if response.status_code == 429:
                        # Every worker waits (Throttle); this one at the top of the loop.
                        self.retries.append((method, path, 429, delay))
                        self.throttle.hold(delay)
                    else:
                        self._wait(method, path, response.status_code, delay)
                    attempt += 1
                    continue
            if response.status_code >= 400:
                raise PartnerCenterError(self._message(response, method, path, customer_id, request_id),
                                         **self._error_fields(response, method, path, request_id))
            return response

    def _error_fields(self, response, method, path, request_id):
        body = self._body(response)
        # The published body is {code, description}; throttling answers {statusCode, message}.
        code = body.get("code")
        if code is None:
            code = body.get("statuscode")
        return {"status": response.status_code, "code": None if code is None else str(code),
                "description": body.get("description") or body.get("message"), "method": method, "path": path,
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
            text += "; still throttled after %d attempts, try again later" % self.policy.max_attempts
        text += " (MS-RequestId %s, MS-CorrelationId %s)" % (fields["request_id"], fields["correlation_id"])
        return self._redact(text)

    # ----- generic calls ---------------------------------------------------------------------------------
    def get_json(self, path, customer_id=None):
        return self.request("GET", path, customer_id=customer_id).json()

    def get_all(self, path, customer_id=None):
        """Every item of a collection, following the service's paging to the end.

        A page links the next one by a top-level continuationToken (sent back in MS-ContinuationToken) and/or
        links.next; the link is followed as given - its URI with its own query (the service answered with
        ?seekOperation=Next) and its headers - and a link without a token is followed too.
        """
        items, headers, seen = [], None, set()
        while True:
            body = self.request("GET", path, headers=headers, customer_id=customer_id).json()
            if isinstance(body, list):
                # The REST reference types some collections as a bare array (the examples and SDKs wrap them):
                # read as empty, it would make an idempotent module create what exists.
                return items + body
            body = lower_keys(body)
            items.extend(body.get("items") or [])
            nxt = lower_keys(lower_keys(body.get("links")).get("next"))
            headers = {}
            for header in nxt.get("headers") or []:
                header = lower_keys(header)
                if header.get("key") and header.get("value") is not None:
                    headers[str(header["key"])] = str(header["value"])
            token = body.get("continuationtoken")
            if token and not any(k.lower() == "ms-continuationtoken" for k in headers):
                headers["MS-ContinuationToken"] = str(token)
            if not nxt.get("uri") and not headers:
                return items
            if nxt.get("uri"):
                path = self.link_path(nxt["uri"])
            step = (path, tuple(sorted(headers.items())))
            if step in seen:
                raise PartnerCenterError("Partner Center returned the same continuation token twice for %s" % path)
            seen.add(step)

    def link_path(self, uri):
        """The path (with its query) a link of the service names: absolute, or relative with or without /v1."""
        parts = urlsplit(uri)
        if parts.netloc and parts.netloc.lower() != urlsplit(self.base_url).netloc.lower():
            # The token goes wherever the link points: only to the service it came from.
            raise PartnerCenterError("Partner Center linked the next page to another host (%s); not followed"
                                     % parts.netloc)
        path = parts.path if parts.path.startswith("/") else "/" + parts.path
        if not path.lower().startswith("/v1/"):
            path = "/v1" + path
        return path + ("?" + parts.query if parts.query else "")

    def send_accepted(self, method, path, json_body, customer_id=None, on_attempt=None):
        """A write the service answers 202 + Location: {location, tracking_id}."""
        response = self.request(method, path, json_body=json_body, customer_id=customer_id, on_attempt=on_attempt)
        location = response.headers.get("Location")
        _customer, tracking_id = parse_location(location)
        if not tracking_id:
            raise PartnerCenterError("Partner Center accepted %s %s but sent no usable Location header (%r)"
                                     % (method, path, location), method=method, path=path)
        return {"location": location, "tracking_id": tracking_id}


def _refused(reason):
    """True when the connection was never established, so nothing reached the server."""
    for _depth in range(5):  # urllib3 wraps the cause a few levels deep
        if isinstance(reason, NewConnectionError):
            return True
        nxt = getattr(reason, "reason", None) or (reason.args[0] if getattr(reason, "args", None) else None)
        if nxt is None or nxt is reason or isinstance(nxt, str):
            return False
        reason = nxt
    return False
