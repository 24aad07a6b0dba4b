"""A local Partner Center + Entra ID look-alike, served over real HTTPS on 127.0.0.1.

It follows shared/partnercenter-api.md, not the collection's code: when the two disagree the client is wrong.
State lives in memory; jobs advance with wall-clock time; faults are injected per test; every request is
logged so tests can count writes and read the headers that were sent.

Timing (partnercenter-api.md "Real-world behaviour"): by default the emulator answers at once and never
throttles. `profile="realistic"` adds heavy-tailed latency, heavy-tailed job durations and throttling per
partner and per partner + customer pair; `profile="lenient"` keeps the latency and job shapes but neither
throttles nor hangs. Every knob (see TIMING_DEFAULTS) can be given to Emulator(...), set as an attribute while
it runs, or passed to configure(); `time_scale` multiplies every duration so tests keep the shapes, faster.

Answers (docs/emulator.md): `answer_mode` "published" answers as the published examples, "sdk" lists batches
in the SDK's model, "recorded" as the real service answered in Partner-Center-PowerShell's recorded sessions.
`listing_lag` delays when new batches, devices and profiles are listed (the eventual consistency partners
report). Both are Emulator(...) keywords, attributes and configure() knobs, like the timing knobs.

Customers (docs/emulator.md, "Customers"): a registry of the partner's customers, listed by GET /v1/customers
(paged, with the published starts_with filter) and read by GET /v1/customers/{id}. It starts with
DEFAULT_CUSTOMERS; add_customer() adds or renames one; any other tenant id a request or a seed names becomes a
customer with a generated domain and company name, as the device endpoints have always accepted any tenant id.
"""
import base64
import binascii
import copy
import datetime
import hashlib
import json
import math
import os
import random
import re
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .tls import make_server_tls

DEMO_TENANT_ID = "4b1c7c4e-6b8e-4f57-9a55-0c0ffee00001"
DEMO_CLIENT_ID = "8f3e2a91-2d5c-4c1e-b0a7-0c0ffee00002"
DEMO_CLIENT_SECRET = "emulator-client-secret-Zq8~not-a-real-secret"
DEMO_REFRESH_TOKEN = "emulator-refresh-token-0.AXkA-not-a-real-token"
PC_SCOPE_USER = "https://api.partnercenter.microsoft.com/user_impersonation"
PC_SCOPE_APP = "https://api.partnercenter.microsoft.com/.default"
# Who "signs in" at the authorize endpoint (the first-time consent): an admin agent of the partner tenant, with MFA.
SIGNIN_USER = {"username": "admin@partner.example", "oid": "11111111-2222-3333-4444-555555555555"}
CODE_LIFETIME = 600  # seconds an authorization code can be redeemed (Entra ID: about 10 minutes)
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
IDENTITY_FIELDS = ("HardwareHash", "ProductKey", "SerialNumber", "OemManufacturerName", "ModelName")
ALLOWED_COMBINATIONS = [
    frozenset(c) for c in (
        ("HardwareHash", "ProductKey"), ("HardwareHash", "SerialNumber"),
        ("HardwareHash", "ProductKey", "SerialNumber"), ("HardwareHash",), ("ProductKey",),
        ("SerialNumber", "OemManufacturerName", "ModelName"))]
# The service's per-device outcomes. 806 and 808 are the codes Partner Center reports; the others are
# not published, so the emulator picks stable numbers. The collection matches on the description.
OUTCOMES = {
    "already": ("806", "ZtdDeviceAlreadyAssigned"),
    "other_tenant": ("808", "ZtdDeviceAssignedToOtherTenant"),
    "invalid_hash": ("804", "InvalidZtdHardwareHash"),
    "duplicated": ("805", "ZtdDeviceDuplicated"),
    "not_found": ("802", "ZtdDeviceNotFound"),
    # Policy assignment: no per-device error of a DevicePolicyUpdates job is published (partnercenter-policies.md
    # §4.7), so both codes and descriptions are the emulator's choice.
    "policy_failed": ("899", "ZtdPolicyAssignmentFailed"),
    "policy_not_found": ("898", "ZtdPolicyNotFound"),
}
# PolicySettingsType wire values, exactly the six of partnercenter-policies.md §2.2.
POLICY_SETTINGS = ("none", "remove_oem_preinstalls", "oobe_user_not_local_admin", "skip_express_settings",
                   "skip_oem_registration", "skip_eula")
OOBE = "o_o_b_e"  # the only real PolicyCategory, and the only policy key a device carries
POLICY_COUNT_FIELDS = ("devicesAssignedCount", "devicesAssigned", "both")
ANSWER_MODES = ("published", "sdk", "recorded")
ANSWER_KNOBS = ("answer_mode", "batch_shape", "listing_lag")  # configure() takes these beside the timing knobs
# answer_mode="recorded" reproduces the answers recorded from the real service in Partner-Center-PowerShell
# (test/PowerShell.Tests/SessionRecords/*.json at this commit); docs/emulator.md names the file of each shape.
RECORDINGS_COMMIT = "35df4df4fd4ded893daa2cdbf01a9d35daf879da"
RECORDED_CREATION_DATE = "0001-01-01T00:00:00"  # GetCustomerDeviceBatch.json: the service leaves it unset
# Every date the recordings carry has seven fractional digits and this offset (GetCustomerDevice.json,
# GetCustomerConfigurationPolicyById.json), not the UTC the reference pages promise.
RECORDED_TZ = datetime.timezone(datetime.timedelta(hours=-7))
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
# The customers listed from the start: the example inventory's tenants (playbooks/inventory/hosts.yml), the first
# two of which the tests call CUSTOMER and CUSTOMER_B (tests/helpers.py). (tenant id, domain, company name)
DEFAULT_CUSTOMERS = (
    ("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "contoso.onmicrosoft.com", "Contoso"),
    ("7c9e6679-7425-40de-944b-e07fc1f90ae7", "fabrikam.onmicrosoft.com", "Fabrikam"),
    ("2b8a7d41-51e3-4c0e-9d8f-7a6b5c4d3e2f", "northwindtraders.onmicrosoft.com", "Northwind Traders"),
)
# The customer list's filter (partnercenter-api.md, "Customers"): CustomerSearchField values the emulator serves
# (compared case-insensitively, as the service binds enums) -> the profile field they search; one operator.
CUSTOMER_SEARCH_FIELDS = {"domain": "domain", "companyname": "company_name"}
CUSTOMER_OPERATOR = "starts_with"
COMMERCE_NAMESPACE = uuid.UUID("6f1d7a52-9c3b-4e0a-8d21-0c0ffee00c0c")  # commerceId = uuid5(this, tenant id)

# ----- timing -------------------------------------------------------------------------------------------------
# Microsoft publishes no latency or throttle figures for these endpoints; the values below follow what partners
# report (partnercenter-api.md, "Real-world behaviour"). Every duration here is in real-world seconds and is
# multiplied by the emulator's time_scale when used.
WRITE_LATENCY_FACTOR = 8.0 / 3.0    # writes' base latency when write_latency is unset: 0.3 s reads -> 0.8 s
SLOW_SECONDS = (5.0, 10.0)          # a slow call (share: slow_fraction)
HANG_SECONDS = (60.0, 90.0)         # a hanging call (share: hang_fraction)
BEFORE_SHARE = 0.25                 # share of the base latency slept before the request is carried out
LONG_JOB_SECONDS = (60.0, 600.0)    # a long job (share: long_job_fraction); the published example spans 10 min
JOB_SIGMA = 0.5                     # other jobs: job_seconds * lognormal(0, JOB_SIGMA), median job_seconds
QUEUE_SHARE = 0.2                   # share of a drawn job duration spent queued, the rest processing
THROTTLE_WINDOW = 60.0              # limits count the requests admitted in the last minute (sliding window)
RETRY_AFTER_SECONDS = (30.0, 60.0)  # a 429's Retry-After, drawn uniformly, rounded up to whole seconds (>= 1)
TIMING_DEFAULTS = {                 # no profile: today's emulator, no added latency, no throttling
    "latency": 0.0,                 # base latency of reads (GET on /v1/), seconds
    "write_latency": None,          # base latency of writes; None: latency * WRITE_LATENCY_FACTOR
    "token_latency": 0.0,           # base latency of the Entra ID side (token, openid-configuration)
    "jitter": 0.0,                  # relative spread: a base latency L is drawn uniformly in L * (1 +- jitter)
    "slow_fraction": 0.0,           # share of reads and writes taking SLOW_SECONDS
    "hang_fraction": 0.0,           # share of reads and writes taking HANG_SECONDS
    "job_seconds": None,            # typical job duration; None: each job takes queue_seconds + process_seconds
    "long_job_fraction": 0.0,       # share of jobs taking LONG_JOB_SECONDS (only with job_seconds)
    "read_limit_per_minute": None,            # per partner; None or 0: no limit
    "write_limit_per_minute": None,           # per partner
    "customer_read_limit_per_minute": None,   # per partner + customer pair
    "customer_write_limit_per_minute": None,  # per partner + customer pair
}
# realistic: reads ~0.3 s, writes ~0.8 s, 3 % of calls 5-10 s, 1 in 1000 hanging 60-90 s, jobs ~3 s with 3 %
# taking 1-10 minutes. Limits: a single customer's work (a few chunk uploads, a policy or two, an assignment, job
# polls every few seconds, device listings) stays well below 30 writes and 150 reads a minute; a partner
# working through hundreds of customers with 8 workers (a customer every ~10 s per worker, 1-3 writes and ~10
# reads each, so roughly 50-150 writes and 300-500 reads a minute) reaches 100 writes a minute now and then,
# and 500 reads rarely: writes are throttled sooner than reads, as reported.
PROFILES = {
    None: dict(TIMING_DEFAULTS),
    "realistic": dict(TIMING_DEFAULTS, latency=0.3, token_latency=0.15, jitter=0.4, slow_fraction=0.03,
                      hang_fraction=0.001, job_seconds=3.0, long_job_fraction=0.03, read_limit_per_minute=500,
                      write_limit_per_minute=100, customer_read_limit_per_minute=150,
                      customer_write_limit_per_minute=30),
}
# lenient (benchmarks): the same latency and job shapes, no throttling and no hangs.
PROFILES["lenient"] = dict(PROFILES["realistic"], hang_fraction=0.0, read_limit_per_minute=None,
                           write_limit_per_minute=None, customer_read_limit_per_minute=None,
                           customer_write_limit_per_minute=None)
_UNSET = object()


class ApiError(Exception):
    def __init__(self, status, code, description, headers=None):
        super().__init__(description)
        self.status, self.code, self.description, self.headers = status, code, description, headers or {}


class TokenError(Exception):
    def __init__(self, status, error, description, codes, suberror=None):
        super().__init__(description)
        self.status, self.error, self.description, self.codes, self.suberror = (
            status, error, description, codes, suberror)


class Fault:
    """One injected misbehaviour.

    action: status | status_after_apply | delay | drop | drop_after_apply | hold | expire_tokens.
    - status answers with `status` without doing anything; status_after_apply does the request, then answers
      with `status` instead of its real answer (the outcome is unknown to the client).
    - drop closes the connection without doing anything; drop_after_apply does the request, then closes it.
    - hold keeps the request until release() is called: then it is done as usual (apply=True), as a server
      does with a request it has received, or thrown away unanswered (apply=False), as if it never arrived.
    - expire_tokens expires every access token issued so far, then handles the request (which therefore gets
      a 401): a token that runs out mid-run, at a chosen request.
    The first `after` matching requests pass untouched: a fault can hit the k-th upload.
    """

    def __init__(self, action, method=None, path=None, times=1, status=503, retry_after=None, seconds=0.0,
                 code=None, description=None, after=0):
        self.action, self.method, self.times = action, (method or "").upper() or None, times
        self.path = re.compile(path, re.IGNORECASE) if path else None
        self.status, self.retry_after, self.seconds = status, retry_after, seconds
        self.code, self.description = code, description
        self.after, self.passed = after, 0
        self.hits = 0
        self._released = threading.Event()
        self._apply = True

    def matches(self, method, path):
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method != method:
            return False
        if self.path and not self.path.search(path):
            return False
        if self.passed < self.after:
            self.passed += 1
            return False
        return True

    def release(self, apply=True):
        """Let held requests go on (apply=True) or throw them away unanswered (apply=False)."""
        self._apply = apply
        self._released.set()

    def describe(self):
        return "%s:%s" % (self.action, self.status if self.action == "status" else self.seconds)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ci_get(mapping, key):
    """Partner Center reads request JSON case-insensitively, so the emulator does too."""
    if not isinstance(mapping, dict):
        return None
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def generated_customer(tenant_id):
    """(domain, company name) of a customer the emulator knows only by its tenant id: from its first 8 and
    last 4 hex digits, e.g. customer-5e1a0001-0001.onmicrosoft.com and "Customer 5e1a0001-0001"."""
    tag = "%s-%s" % (tenant_id[:8].lower(), tenant_id[-4:].lower())
    return "customer-%s.onmicrosoft.com" % tag, "Customer %s" % tag


def _now_iso(ts=None):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts if ts is not None else time.time()))


def _micros_iso(micros):
    """Policy dates keep microseconds and an offset (as the published list example does), so a PUT made in the
    same second as the POST still moves lastModifiedDate forward."""
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (epoch + datetime.timedelta(microseconds=micros)).isoformat()


def _recorded_iso(micros):
    """A date as the recordings spell it: "2018-07-24T15:03:40.3184992-07:00" (.NET's seven digits)."""
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    text = (epoch + datetime.timedelta(microseconds=micros)).astimezone(RECORDED_TZ).isoformat(
        timespec="microseconds")
    return text[:-6] + "0" + text[-6:]


class Emulator:
    """Start with `with Emulator() as emu:` or emu.start()/emu.stop(). URLs: emu.url, emu.authority."""

    def __init__(self, tenant_id=DEMO_TENANT_ID, client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET,
                 refresh_token=DEMO_REFRESH_TOKEN, client_certificate=None, access_token_lifetime=3600,
                 queue_seconds=0.1, process_seconds=0.2, page_size=100, customer_page_size=500, answer_mode=None,
                 batch_shape=None,
                 listing_lag=0.0, paging_style="both", policy_count_field=None, strict_customers=False,
                 host="127.0.0.1", port=0,
                 workdir=None, reuse_tls=False, profile=None, time_scale=1.0, seed=0, latency=_UNSET,
                 write_latency=_UNSET, token_latency=_UNSET, jitter=_UNSET, slow_fraction=_UNSET,
                 hang_fraction=_UNSET, job_seconds=_UNSET, long_job_fraction=_UNSET, read_limit_per_minute=_UNSET,
                 write_limit_per_minute=_UNSET, customer_read_limit_per_minute=_UNSET,
                 customer_write_limit_per_minute=_UNSET):
        self.tenant_id, self.client_id, self.client_secret = tenant_id, client_id, client_secret
        self.client_certificate = client_certificate  # {"certificate": x509.Certificate} from tls.py
        self.access_token_lifetime = access_token_lifetime
        # The first-time consent: the user a sign-in at /authorize ends as, the app registration's Web redirect
        # URIs (http://localhost matches any port, as in Entra ID), and how long a code lives.
        self.signin_user = dict(SIGNIN_USER)
        self.redirect_uris = ["http://localhost"]
        self.code_lifetime = CODE_LIFETIME
        self.queue_seconds, self.process_seconds = queue_seconds, process_seconds
        self.page_size, self.paging_style = page_size, paging_style
        # The most customers one page of GET /v1/customers holds, whatever size asks: 500, the maximum Microsoft's
        # Partner-Center-PowerShell names for the service (Get-PartnerCustomer); page_size is the device listings'.
        self.customer_page_size = customer_page_size
        if answer_mode and batch_shape and answer_mode != batch_shape:
            raise ValueError("answer_mode %r and its old name batch_shape %r disagree" % (answer_mode, batch_shape))
        self.answer_mode = answer_mode or batch_shape or "published"
        self.listing_lag = listing_lag
        # The published job status shows deviceId null (for a failed device); nothing promises an id for a
        # registered one: False answers every upload job's devices without ids, so clients must list them.
        self.job_device_ids = True
        # The published examples say devicesAssigned, the tables, OpenAPI and both SDKs devicesAssignedCount
        # (partnercenter-policies.md §3). None: the answer mode decides (published and sdk follow the majority,
        # recorded what each recording shows); tests can force one spelling, or both, in any mode.
        self.policy_count_field = policy_count_field
        # False (as before): the device and policy endpoints accept any well-formed tenant id and make it a known
        # customer. True: only registered customers (DEFAULT_CUSTOMERS, add_customer) exist; others get 404 60003.
        self.strict_customers = strict_customers
        self.host, self.port = host, port
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="pc-emulator-")
        self.workdir = workdir or self._tmp.name
        self.lock = threading.RLock()
        self._server = self._thread = None
        self.tls = None
        self.reuse_tls = reuse_tls  # tests share one CA per session; key generation is the slow part
        self._initial_refresh_token = refresh_token
        self._rng_lock = threading.Lock()
        self._wake = threading.Event()  # set by stop(): sleeping handlers answer at once
        # The timing knobs (TIMING_DEFAULTS), spelled out for readers; configure() below sets them for the profile.
        self.latency, self.write_latency, self.token_latency, self.jitter = 0.0, None, 0.0, 0.0
        self.slow_fraction, self.hang_fraction, self.job_seconds, self.long_job_fraction = 0.0, 0.0, None, 0.0
        self.read_limit_per_minute = self.write_limit_per_minute = None
        self.customer_read_limit_per_minute = self.customer_write_limit_per_minute = None
        self._profile = None
        knobs = dict(latency=latency, write_latency=write_latency, token_latency=token_latency, jitter=jitter,
                     slow_fraction=slow_fraction, hang_fraction=hang_fraction, job_seconds=job_seconds,
                     long_job_fraction=long_job_fraction, read_limit_per_minute=read_limit_per_minute,
                     write_limit_per_minute=write_limit_per_minute,
                     customer_read_limit_per_minute=customer_read_limit_per_minute,
                     customer_write_limit_per_minute=customer_write_limit_per_minute)
        self.time_scale = time_scale
        self.seed = seed
        self.configure(profile=profile, **{k: v for k, v in knobs.items() if v is not _UNSET})
        self.reset()

    # ----- timing knobs ------------------------------------------------------------------------------------
    @property
    def profile(self):
        return self._profile

    @profile.setter
    def profile(self, name):
        """Setting a profile sets every knob of TIMING_DEFAULTS to its values (time_scale and seed stay)."""
        if name not in PROFILES:
            raise ValueError("profile must be one of realistic, lenient or None, not %r" % (name,))
        for knob, value in PROFILES[name].items():
            setattr(self, knob, value)
        self._profile = name

    @property
    def seed(self):
        return self._seed

    @seed.setter
    def seed(self, value):
        """A new seed starts the draws over: the same seed gives the same latencies, jobs and Retry-After values
        (in the order requests reach the draws; parallel clients may interleave differently from run to run)."""
        with self._rng_lock:
            self._seed = value
            self._rng = random.Random(value)

    @property
    def answer_mode(self):
        return self._answer_mode

    @answer_mode.setter
    def answer_mode(self, mode):
        if mode not in ANSWER_MODES:
            raise ValueError("answer_mode must be one of %s, not %r" % (", ".join(ANSWER_MODES), mode))
        self._answer_mode = mode

    @property
    def batch_shape(self):
        """The answer mode's first name, from when only batch listings differed; kept for existing tests."""
        return self.answer_mode

    @batch_shape.setter
    def batch_shape(self, mode):
        self.answer_mode = mode

    @property
    def listing_lag(self):
        return self._listing_lag

    @listing_lag.setter
    def listing_lag(self, seconds):
        """Real-world seconds (times time_scale) before a new batch, device or profile is listed."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError("listing_lag must be a number of seconds >= 0, not %r" % (seconds,))
        self._listing_lag = seconds

    def configure(self, profile=_UNSET, **knobs):
        """Set timing knobs: the profile first (when given), then the others, so they override it.

        answer_mode (or batch_shape) and listing_lag are taken too; a profile leaves them as they are."""
        unknown = set(knobs) - set(TIMING_DEFAULTS) - {"time_scale", "seed"} - set(ANSWER_KNOBS)
        if unknown:
            raise TypeError("unknown knob(s): %s" % ", ".join(sorted(unknown)))
        if profile is not _UNSET:
            self.profile = profile
        for knob, value in knobs.items():
            setattr(self, knob, value)
        return self.timing()

    def timing(self):
        """The effective timing settings, in real-world seconds (every duration is multiplied by time_scale)."""
        info = {"profile": self.profile, "time_scale": self.time_scale, "seed": self.seed,
                "answer_mode": self.answer_mode, "listing_lag": self.listing_lag}
        info.update((knob, getattr(self, knob)) for knob in TIMING_DEFAULTS)
        info.update({"effective_write_latency": round(self._base_latency("write"), 6),
                     "slow_seconds": list(SLOW_SECONDS), "hang_seconds": list(HANG_SECONDS),
                     "long_job_seconds": list(LONG_JOB_SECONDS),
                     "throttle_window_seconds": THROTTLE_WINDOW, "retry_after_seconds": list(RETRY_AFTER_SECONDS),
                     "before_share": BEFORE_SHARE})
        return info

    def _base_latency(self, kind):
        if kind == "write":
            return self.write_latency if self.write_latency is not None else self.latency * WRITE_LATENCY_FACTOR
        return self.token_latency if kind == "token" else self.latency

    def draw_latency(self, kind):
        """Draw one request's latency: (before, after, tail), scaled seconds.

        kind: read | write | token. The base latency L is drawn uniformly in L * (1 +- jitter). Reads and writes
        are slow (SLOW_SECONDS) with probability slow_fraction and hang (HANG_SECONDS) with hang_fraction; then
        tail is "slow" or "hang" and the call takes that long in all. `before` (BEFORE_SHARE of the base draw) is
        slept before the request is carried out, `after` (the rest) once it has been carried out.
        """
        scale = self.time_scale
        with self._rng_lock:
            base = max(0.0, self._base_latency(kind) * (1.0 + self.jitter * self._rng.uniform(-1.0, 1.0)))
            tail, total = None, base
            if kind != "token" and (self.slow_fraction or self.hang_fraction):
                pick = self._rng.random()
                if pick < self.hang_fraction:
                    tail, total = "hang", self._rng.uniform(*HANG_SECONDS)
                elif pick < self.hang_fraction + self.slow_fraction:
                    tail, total = "slow", self._rng.uniform(*SLOW_SECONDS)
        before = min(total, base * BEFORE_SHARE) * scale
        return before, total * scale - before, tail

    def draw_job_seconds(self):
        """Draw one job's duration (scaled seconds); only used when job_seconds is set."""
        with self._rng_lock:
            if self.long_job_fraction and self._rng.random() < self.long_job_fraction:
                seconds = self._rng.uniform(*LONG_JOB_SECONDS)
            else:
                seconds = self.job_seconds * self._rng.lognormvariate(0.0, JOB_SIGMA)
        return seconds * self.time_scale

    def draw_retry_after(self):
        """A 429's Retry-After: RETRY_AFTER_SECONDS scaled, rounded up to whole seconds, at least 1."""
        with self._rng_lock:
            seconds = self._rng.uniform(*RETRY_AFTER_SECONDS)
        return max(1, int(math.ceil(round(seconds * self.time_scale, 9))))

    def _admit(self, kind, customer):
        """Count a Partner Center request against the throttle limits (call under self.lock).

        Sliding windows of THROTTLE_WINDOW * time_scale per partner and per partner + customer pair, reads and
        writes apart. Returns None when the request may go on (it is then counted), else the scope that refused
        it ("partner" or "customer"): a refused request is not counted and does nothing.
        """
        now, window = time.time(), THROTTLE_WINDOW * self.time_scale
        limits = (("partner", (kind,), getattr(self, "%s_limit_per_minute" % kind)),
                  ("customer", (kind, customer), getattr(self, "customer_%s_limit_per_minute" % kind)))
        counted = []
        for scope, key, limit in limits:
            if not limit or (scope == "customer" and customer is None):
                continue
            times = self._windows.setdefault(key, deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= limit:
                return scope
            counted.append(times)
        for times in counted:
            times.append(now)
        return None

    # ----- lifecycle -------------------------------------------------------------------------------------
    def reset(self):
        """Forget all state, tokens, faults and the log (credentials and timings stay)."""
        with self.lock:
            self.customers = {}          # customer id (lower) -> {"batches": {batch id: batch}}
            self.registry = {}           # identity key -> (customer, batch id, device id)
            self.jobs = {}               # tracking id -> job
            self.policies = {}           # customer id (lower) -> {policy id: stored policy}
            self.policy_failures = set()  # device ids whose policy assignment fails in the job
            self.refresh_tokens = {self._initial_refresh_token: {"expired": False}} if self._initial_refresh_token else {}
            self.access_tokens = {}      # token -> {"expires": ts, "kind": "user"|"app"}
            self.faults = []
            self.log = []
            self.foreign_keys = set()    # identity keys owned by some other tenant
            self.invalid_hashes = set()  # hashes the service cannot read although they are valid base64
            self.unknown_product_keys = set()
            self.unrelated_customers = set()  # no reseller relationship: 403 20002, and not listed
            self.customer_registry = {}  # tenant id (lower) -> the customer's record, in the order listed
            for tenant_id, domain, company_name in DEFAULT_CUSTOMERS:
                self._put_customer(tenant_id, domain, company_name, "reseller")
            self.mfa_required_refresh_tokens = set()
            self.auth_codes = {}         # authorization code -> what its sign-in asked for and who signed in
            self.signin_error = None     # (error, description): the sign-in ends with this error redirect
            self.jobs_never_finish = False
            self.require_user_token_for_create = True
            self._windows = {}           # throttle key -> deque of admission times

    def start(self):
        names = ("ca_path", "cert_path", "key_path")
        files = dict((n, os.path.join(self.workdir, f)) for n, f in zip(names, ("ca.pem", "server.pem", "server.key")))
        if self.reuse_tls and all(os.path.exists(p) for p in files.values()):
            self.tls = files
        else:
            self.tls = make_server_tls(self.workdir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.tls["cert_path"], self.tls["key_path"])
        self._server = _Server((self.host, self.port), _Handler, context, self)
        self.port = self._server.server_address[1]
        self._wake.clear()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="pc-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._wake.set()  # handlers sleeping a latency answer now, so server_close() does not wait for them
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return "https://%s:%d" % (self.host, self.port)

    @property
    def authority(self):
        """The Entra ID authority host; msal appends the tenant."""
        return self.url

    @property
    def ca_path(self):
        return self.tls["ca_path"]

    # ----- test controls ---------------------------------------------------------------------------------
    def add_fault(self, action, **kwargs):
        fault = Fault(action, **kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def expire_access_tokens(self):
        with self.lock:
            for info in self.access_tokens.values():
                info["expires"] = 0

    def expire_refresh_token(self, token):
        with self.lock:
            self.refresh_tokens[token] = {"expired": True}

    def add_refresh_token(self, token):
        with self.lock:
            self.refresh_tokens[token] = {"expired": False}

    def clear_log(self):
        with self.lock:
            self.log = []

    def requests(self, method=None, path=None):
        """Logged requests, optionally filtered by method and a path regex."""
        with self.lock:
            entries = list(self.log)
        return [e for e in entries if (not method or e["method"] == method.upper())
                and (not path or re.search(path, e["path"], re.IGNORECASE))]

    def writes(self):
        """Requests that could change Partner Center state (token requests do not count)."""
        return [e for e in self.requests() if e["method"] in WRITE_METHODS and e["path"].lower().startswith("/v1/")]

    def token_requests(self):
        return self.requests("POST", r"/oauth2/v2\.0/token$")

    def throttled(self):
        """Requests answered 429 by the emulator's own throttling (not by injected faults): each entry has
        throttled=True, retry_after (the header's value) and throttle_scope (partner | customer)."""
        return [e for e in self.requests() if e.get("throttled")]

    def uploaded_devices(self):
        """Every device of every upload the service accepted (202, or applied with the answer lost), in order.

        Uploads refused before processing (429, 503, validation errors) are not counted: they registered nothing.
        """
        sent = []
        for entry in self._accepted_writes("POST", r"/deviceBatches(/.+/devices)?$"):
            body = entry["body"]
            devices = body if isinstance(body, list) else _ci_get(body, "Devices")
            sent.extend(d for d in devices or [] if isinstance(d, dict))
        return sent

    def assigned_devices(self):
        """Every device entry of every DevicePolicyUpdates PATCH the service accepted (202, or applied with the
        answer lost), in order, as sent."""
        sent = []
        for entry in self._accepted_writes("PATCH", r"/DevicePolicyUpdates$"):
            devices = _ci_get(entry["body"], "Devices")
            sent.extend(d for d in devices or [] if isinstance(d, dict))
        return sent

    def _accepted_writes(self, method, path):
        """Writes to `path` the service carried out; refused ones (429, 503, 400) changed nothing."""
        return [e for e in self.writes() if e["method"] == method and re.search(path, e["path"], re.IGNORECASE)
                and (e["status"] == 202 or e.get("applied"))]

    def batch_devices(self, customer_id, batch_id=None):
        with self.lock:
            self._advance()
            customer = self.customers.get(customer_id.lower(), {"batches": {}})
            out = []
            for bid, batch in customer["batches"].items():
                if batch_id is None or bid == batch_id:
                    out.extend({k: copy.deepcopy(v) for k, v in dev.items() if not k.startswith("_")}
                               for dev in batch["devices"])
            return out

    def batch_ids(self, customer_id):
        with self.lock:
            return list(self.customers.get(customer_id.lower(), {"batches": {}})["batches"])

    def seed_batch(self, customer_id, batch_id, devices):
        """Register devices directly, as if uploaded earlier (devices use API PascalCase fields): listed at once,
        whatever the listing lag."""
        with self.lock:
            batch = self._customer(customer_id)["batches"].setdefault(batch_id, self._new_batch(batch_id, 0.0))
            for dev in devices:
                self._register(customer_id, batch, dev, written=0.0)
            batch["status"] = "finished"

    def seed_policy(self, customer_id, name, settings=(), description=None):
        """Create a configuration policy directly, as if made earlier (listed at once); returns its id."""
        with self.lock:
            settings = self.check_policy_settings(list(settings))
            self._customer(customer_id)
            return self._store_policy(customer_id, name, description, settings, written=0.0)["id"]

    def policy_list(self, customer_id):
        """The customer's policies in the shape GET /policies shows them (copies), with those the listing lag
        still hides: what the service holds, not what it lists yet."""
        with self.lock:
            self._advance()
            return [self._policy_view(customer_id.lower(), p, listed=True)
                    for p in self.policies.get(customer_id.lower(), {}).values()]

    def device_policy(self, customer_id, device_id):
        """The o_o_b_e policy id a device carries, or None; KeyError for an unknown device."""
        with self.lock:
            self._advance()
            self._customer(customer_id)
            dev = self._find_device(customer_id.lower(), device_id)
            if dev is None:
                raise KeyError(device_id)
            return self._oobe_value(dev)

    def assign_seeded(self, customer_id, device_ids, policy_id):
        """Give devices a policy directly, as if assigned earlier (policy_id None takes it away)."""
        customer = customer_id.lower()
        device_ids = [device_ids] if isinstance(device_ids, str) else list(device_ids)
        with self.lock:
            self._customer(customer_id)
            policy = self._policy(customer, policy_id)
            if policy_id is not None and policy is None:
                raise KeyError(policy_id)
            found = [self._find_device(customer, device_id) for device_id in device_ids]
            if None in found:
                raise KeyError(device_ids[found.index(None)])  # checked first: all devices change, or none
            for dev in found:
                dev["policies"] = [{"key": OOBE, "value": policy["id"] if policy else None}]

    def add_customer(self, tenant_id, domain, company_name, relationship="reseller"):
        """Make tenant_id a customer of the partner with this domain and company name (replacing what was held
        for it, in its place in the list); returns the Customer as GET /v1/customers/{id} answers it.

        relationship is what relationshipToPartner says. A tenant without any relationship is one of
        unrelated_customers: never listed, 403 20002 on its endpoints."""
        if not isinstance(tenant_id, str) or not GUID_RE.match(tenant_id):
            raise ValueError("tenant_id must be a GUID, not %r" % (tenant_id,))
        for name, value in (("domain", domain), ("company_name", company_name), ("relationship", relationship)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError("%s must be a non-empty string, not %r" % (name, value))
        with self.lock:
            return self.customer_view(self._put_customer(tenant_id, domain, company_name, relationship))

    def customer_list(self):
        """Every customer GET /v1/customers lists (all pages, no filter), as answered."""
        with self.lock:
            return [self.customer_view(record) for record in self.listed_customers()]

    def listed_customers(self):
        """The registry's records the list shows, in order: every customer but the unrelated ones."""
        return [record for key, record in self.customer_registry.items() if key not in self.unrelated_customers]

    @staticmethod
    def customer_view(record):
        """A customer as answered, by id and in the list: the published Customer shape."""
        return {"id": record["id"], "commerceId": record["commerce_id"],
                "companyProfile": {"tenantId": record["id"], "domain": record["domain"],
                                   "companyName": record["company_name"],
                                   "attributes": {"objectType": "CustomerCompanyProfile"}},
                "relationshipToPartner": record["relationship"], "allowDelegatedAccess": True,
                "attributes": {"objectType": "Customer"}}

    # ----- helpers ---------------------------------------------------------------------------------------
    def _put_customer(self, tenant_id, domain, company_name, relationship):
        tenant = tenant_id.lower()
        record = {"id": tenant, "commerce_id": str(uuid.uuid5(COMMERCE_NAMESPACE, tenant)), "domain": domain,
                  "company_name": company_name, "relationship": relationship}
        self.customer_registry[tenant] = record
        return record

    def _customer(self, customer_id):
        """The customer's state; a tenant id named for the first time becomes a known (listed) customer."""
        key = customer_id.lower()
        if key not in self.customer_registry:
            self._put_customer(key, *generated_customer(key), relationship="reseller")
        return self.customers.setdefault(key, {"batches": {}})

    @staticmethod
    def _new_batch(batch_id, written=None):
        now = time.time()
        return {"id": batch_id, "status": "queued", "created": now, "devices": [], "jobs": [],
                "written": now if written is None else written}

    def listed(self, written, now=None):
        """Whether something written at `written` shows in the listings yet: reads lag writes by listing_lag
        (scaled), read now so a test can change it mid-run. Writes never lag (409 and 806 come at once)."""
        return (now or time.time()) >= written + self.listing_lag * self.time_scale

    @staticmethod
    def identity_keys(dev):
        keys = set()
        hw = _ci_get(dev, "HardwareHash")
        pk = _ci_get(dev, "ProductKey")
        sn = _ci_get(dev, "SerialNumber")
        if hw:
            keys.add(("hash", hw.strip()))
        if pk:
            keys.add(("pk", pk.strip().upper()))
        if sn:
            keys.add(("serial", sn.strip().upper()))
        return keys

    def _register(self, customer_id, batch, dev, written=None):
        device_id = str(uuid.uuid4())
        now = time.time()
        record = {
            "id": device_id,
            "serialNumber": _ci_get(dev, "SerialNumber"),
            "productKey": _ci_get(dev, "ProductKey"),
            "hardwareHash": _ci_get(dev, "HardwareHash"),
            "modelName": _ci_get(dev, "ModelName"),
            "oemManufacturerName": _ci_get(dev, "OemManufacturerName"),
            "policies": [{"key": OOBE, "value": None}],  # the published listing's unassigned device
            "createdBy": "emulator-admin@partner.example",
            "uploadedDate": _now_iso(),
            "allowedOperations": ["GET", "PATCH", "DELETE"],
            "attributes": {"objectType": "Device"},
            # Private (never answered): when it was uploaded, and when the listing lag starts counting.
            "_uploaded": int(now * 1e6), "_written": now if written is None else written,
        }
        batch["devices"].append(record)
        for key in self.identity_keys(dev):
            self.registry[key] = (customer_id.lower(), batch["id"], device_id)
        return record

    def _hash_readable(self, value):
        if value in self.invalid_hashes:
            return False
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
        return len(decoded) >= 100

    def _advance(self, now=None):
        """Move jobs along their timeline; a finished upload job registers its devices."""
        now = now or time.time()
        if self.jobs_never_finish:
            return
        for job in self.jobs.values():
            if job["status"] in ("finished", "finished_with_errors"):
                continue
            queued, processing = job.get("queue_for"), job.get("process_for")
            if queued is None:  # no job_seconds when created: the emulator's fixed times, read now
                queued, processing = self.queue_seconds * self.time_scale, self.process_seconds * self.time_scale
            if now >= job["created"] + queued + processing:
                self._finish(job)
            elif now >= job["created"] + queued:
                job["status"] = "processing"
                job["started"] = job["started"] or now
            self._sync_batch_status(job)

    def _sync_batch_status(self, job):
        batch = self.customers[job["customer"]]["batches"].get(job["batch_id"]) if job["batch_id"] else None
        if batch is not None and batch["jobs"] and batch["jobs"][-1] == job["id"]:
            batch["status"] = job["status"]

    def _finish(self, job):
        customer = job["customer"]
        job["started"] = job["started"] or time.time()
        if job["kind"] == "policy":
            return self._finish_policy(job)
        batch = self.customers[customer]["batches"].get(job["batch_id"])
        seen = set()
        failed = False
        for dev in job["devices"]:
            keys = self.identity_keys(dev)
            outcome = None
            hw = _ci_get(dev, "HardwareHash")
            if hw and not self._hash_readable(hw):
                outcome = "invalid_hash"
            elif keys & seen:
                outcome = "duplicated"
            elif keys & self.foreign_keys or any(self.registry.get(k, (customer,))[0] != customer for k in keys):
                outcome = "other_tenant"
            elif any(k in self.registry for k in keys):
                outcome = "already"
            elif not hw and not _ci_get(dev, "SerialNumber") and \
                    (_ci_get(dev, "ProductKey") or "").strip().upper() in self.unknown_product_keys:
                outcome = "not_found"
            seen |= keys
            if outcome or batch is None:
                failed = True
                job["results"].append(self._result(dev, "finished_with_errors", outcome or "not_found"))
            else:
                record = self._register(customer, batch, dev)
                job["results"].append(self._result(record, "finished"))
        job["status"] = "finished_with_errors" if failed else "finished"
        job["completed"] = time.time()

    def device_view(self, customer, dev):
        """A device as the listing answers it (never its hash)."""
        if self.answer_mode != "recorded":
            return {k: copy.deepcopy(v) for k, v in dev.items() if k != "hardwareHash" and not k.startswith("_")}
        # GetCustomerDevice.json: no createdBy or allowedOperations, the profile named by its name, the
        # recordings' date format.
        item = {k: dev[k] for k in ("id", "serialNumber", "productKey", "modelName", "oemManufacturerName")}
        item["policies"] = []
        for pair in dev.get("policies") or []:
            policy = self._policy(customer, pair.get("value"))
            item["policies"].append({"key": pair.get("key"), "value": policy["name"] if policy else None})
        item.update({"uploadedDate": _recorded_iso(dev["_uploaded"]), "attributes": {"objectType": "Device"}})
        return item

    @staticmethod
    def _result(dev, status, outcome=None):
        code, desc = OUTCOMES[outcome] if outcome else (None, None)
        return {"deviceId": _ci_get(dev, "Id") if outcome is None else None,
                "serialNumber": _ci_get(dev, "SerialNumber"), "productKey": _ci_get(dev, "ProductKey"),
                "status": status, "errorCode": code, "errorDescription": desc,
                "attributes": {"objectType": "DeviceUploadDetails"}}

    def _finish_policy(self, job):
        """Apply a DevicePolicyUpdates job: each device that can take its policy gets it, the others keep theirs."""
        customer, failed = job["customer"], False
        for upd in job["devices"]:
            dev = self._find_device(customer, upd["id"])
            policy = self._policy(customer, upd["policy"])
            outcome = None
            if upd["id"] in self.policy_failures:
                outcome = "policy_failed"
            elif dev is None:
                outcome = "not_found"  # removed between the PATCH and the job's run
            elif policy is None:
                outcome = "policy_not_found"  # deleted between the PATCH and the job's run
            else:
                dev["policies"] = [{"key": OOBE, "value": policy["id"]}]
            failed = failed or outcome is not None
            status = "finished_with_errors" if outcome else "finished"
            job["results"].append(self._policy_result(customer, upd, status, outcome))
        job["status"] = "finished_with_errors" if failed else "finished"
        job["completed"] = time.time()

    def _policy_result(self, customer, upd, status, outcome=None):
        """A DeviceUploadDetails for one device of a policy job; unlike an upload, the device id is always known."""
        dev = self._find_device(customer, upd["id"]) or {}
        code, desc = OUTCOMES[outcome] if outcome else (None, None)
        return {"deviceId": upd["id"], "serialNumber": dev.get("serialNumber"), "productKey": dev.get("productKey"),
                "status": status, "errorCode": code, "errorDescription": desc,
                "attributes": {"objectType": "DeviceUploadDetails"}}

    # ----- configuration policies ------------------------------------------------------------------------
    @staticmethod
    def check_policy_settings(settings):
        """policySettings must be a list of the six published strings; anything else is a 400."""
        if not isinstance(settings, list):
            raise ApiError(400, 800002, "policySettings must be a list of strings.")
        for index, value in enumerate(settings):
            if value not in POLICY_SETTINGS:
                raise ApiError(400, 800002, "policySettings[%d] '%s' is not a known policy setting (one of %s)."
                               % (index, value, ", ".join(POLICY_SETTINGS)))
        return settings

    def _store_policy(self, customer_id, name, description, settings, written=None):
        now = time.time_ns() // 1000
        policy = {"id": str(uuid.uuid4()), "name": name, "category": OOBE, "description": description,
                  "policySettings": list(settings), "created": now, "modified": now,
                  "written": now / 1e6 if written is None else written}
        self.policies.setdefault(customer_id.lower(), {})[policy["id"]] = policy
        return policy

    def _policy(self, customer, policy_id):
        if not isinstance(policy_id, str):
            return None
        return self.policies.get(customer, {}).get(policy_id.lower())

    @staticmethod
    def _oobe_value(dev):
        return next((p.get("value") for p in dev.get("policies") or [] if p.get("key") == OOBE), None)

    def _devices_assigned(self, customer, policy_id):
        """Computed, never stored: the count cannot drift from what the device listing shows."""
        return sum(1 for batch in self.customers.get(customer, {"batches": {}})["batches"].values()
                   for dev in batch["devices"] if self._oobe_value(dev) == policy_id)

    def _policy_view(self, customer, policy, listed=False):
        """One policy as answered; listed: as an item of GET /policies, else as a single resource."""
        field = self.policy_count_field
        if field is None:
            # The recorded list says devicesAssigned (GetCustomerConfigurationPolicies.json), the recorded read
            # by id devicesAssignedCount (GetCustomerConfigurationPolicyById.json).
            field = "devicesAssigned" if self.answer_mode == "recorded" and listed else "devicesAssignedCount"
        if field not in POLICY_COUNT_FIELDS:
            raise ValueError("policy_count_field must be None or one of %s" % ", ".join(POLICY_COUNT_FIELDS))
        count = self._devices_assigned(customer, policy["id"])
        view = {"id": policy["id"], "name": policy["name"], "category": policy["category"],
                "description": policy["description"]}
        if field in ("devicesAssignedCount", "both"):
            view["devicesAssignedCount"] = count
        if field in ("devicesAssigned", "both"):
            view["devicesAssigned"] = count
        date = _recorded_iso if self.answer_mode == "recorded" else _micros_iso
        view.update({"policySettings": copy.deepcopy(policy["policySettings"]),
                     "createdDate": date(policy["created"]), "lastModifiedDate": date(policy["modified"]),
                     "attributes": {"objectType": "ConfigurationPolicy"}})
        return view

    def _find_device(self, customer, device_id):
        for batch in self.customers[customer]["batches"].values():
            for dev in batch["devices"]:
                if dev["id"] == device_id:
                    return dev
        return None

    def _new_job(self, customer, batch_id, devices, kind="upload"):
        tracking_id = str(uuid.uuid4())
        job = {"id": tracking_id, "customer": customer, "batch_id": batch_id, "kind": kind,
               "devices": devices, "created": time.time(), "started": None, "completed": None,
               "status": "queued", "results": [], "queue_for": None, "process_for": None}
        if self.job_seconds is not None:  # a duration of its own, drawn once (heavy-tailed, seeded)
            seconds = self.draw_job_seconds()
            job["queue_for"], job["process_for"] = seconds * QUEUE_SHARE, seconds * (1.0 - QUEUE_SHARE)
        self.jobs[tracking_id] = job
        if batch_id is not None:
            batch = self.customers[customer]["batches"][batch_id]
            batch["jobs"].append(tracking_id)
            batch["status"] = "queued"
        return job


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, handler, context, emulator):
        self.context, self.emulator = context, emulator
        super().__init__(address, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The TLS handshake happens in the handler thread, so one slow client cannot stall accept().
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PartnerCenterEmulator/1.0"

    def setup(self):
        super().setup()
        self.connection.settimeout(30)
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True
            self.rfile = self.wfile = None

    def handle_one_request(self):
        if self.rfile is None:
            return
        super().handle_one_request()

    def finish(self):
        if self.wfile is None:  # the TLS handshake failed: nothing to flush
            self.connection.close()
            return
        super().finish()

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by http.server
        return

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    # ----- plumbing --------------------------------------------------------------------------------------
    def _dispatch(self):
        emu = self.server.emulator
        split = urlsplit(self.path)
        raw_segments = split.path.split("/")
        self.segments = [unquote(s) for s in raw_segments]
        self.decoded_path = "/".join(self.segments)
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body = self.rfile.read(length) if length else b""
        self.query = parse_qs(split.query)
        self.raw_query = split.query
        self.response_headers = {}
        self._after = 0.0  # latency still to sleep before the answer goes out (see _send_json)
        if self.decoded_path.startswith("/_emulator/"):
            return self._control()  # control endpoints: no latency, no throttling
        kind, customer = self._classify()
        before, after, tail = emu.draw_latency(kind)
        entry = {"time": time.time(), "method": self.command, "path": self.decoded_path, "raw_path": split.path,
                 "query": split.query, "headers": dict(self.headers.items()),
                 "body": self._parsed_body(), "status": None, "fault": None, "answered": None, "latency": 0.0}
        if tail:
            entry["tail"] = tail
        with emu.lock:
            emu.log.append(entry)
            fault = next((f for f in emu.faults if f.matches(self.command, self.decoded_path)), None)
            if fault:
                fault.hits += 1
                entry["fault"] = fault.describe()
        # Latency is slept here, in this handler's thread and outside emu.lock, so many clients are served in
        # parallel as the real service serves them. A small part (BEFORE_SHARE of the base draw: the way in and
        # the queue) comes before the request is carried out; the rest, and the whole of a slow or hanging
        # call's tail, comes after it has been carried out under the lock. A client that gives up on a slow
        # write has therefore had it applied: the "lost answer" the collection has to survive.
        self._sleep(before, entry)
        self._after = after
        if fault and fault.action == "hold":
            fault._released.wait(300)
            if not fault._apply:
                entry["status"], entry["answered"] = "discarded", time.time()
                self.close_connection = True
                return None
        if fault and fault.action == "delay":
            time.sleep(fault.seconds)
        elif fault and fault.action == "expire_tokens":
            emu.expire_access_tokens()
        elif fault and fault.action == "drop":
            entry["answered"] = time.time()
            self.close_connection = True
            return None
        elif fault and fault.action == "status":
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            if "/oauth2/" in self.decoded_path:
                return self._send_json(fault.status, {"error": "temporarily_unavailable" if fault.status != 429
                                                      else "too_many_requests",
                                                      "error_description": "AADSTS90033: injected fault",
                                                      "error_codes": [90033]}, entry, headers)
            return self._send_error(ApiError(fault.status, fault.code or ("429" if fault.status == 429 else 800003),
                                             fault.description or "Injected fault %d" % fault.status, headers), entry)
        if kind != "token":  # the Entra ID side is never throttled
            with emu.lock:
                scope = emu._admit(kind, customer)
            if scope:
                return self._send_throttled(scope, entry)
        try:
            status, body, headers = self._route()
        except ApiError as err:
            return self._send_error(err, entry)
        except TokenError as err:
            return self._send_token_error(err, entry)
        except Exception as err:  # pylint: disable=broad-except  # never a traceback page
            return self._send_error(ApiError(500, 800003, "Unexpected error: %s" % type(err).__name__), entry)
        if fault and fault.action == "drop_after_apply":
            entry["status"], entry["applied"], entry["answered"] = "dropped", True, time.time()
            self.close_connection = True
            return None
        if fault and fault.action == "status_after_apply":
            entry["applied"] = True
            return self._send_error(ApiError(fault.status, fault.code or 800003,
                                             fault.description or "Injected fault %d" % fault.status), entry)
        return self._send_json(status, body, entry, headers)

    def _classify(self):
        """(read | write | token, customer id in lower case or None) for the latency and the throttle limits."""
        low = [s.lower() for s in self.segments]
        if len(low) < 2 or low[1] != "v1":
            return "token", None  # the Entra ID side (token, openid-configuration) and unknown paths
        customer = self.segments[3].lower() if len(low) >= 4 and low[2] == "customers" else None
        return ("write" if self.command in WRITE_METHODS else "read"), customer

    def _sleep(self, seconds, entry):
        if seconds > 0:
            self.server.emulator._wake.wait(seconds)
            entry["latency"] = round(entry["latency"] + seconds, 6)

    def _send_throttled(self, scope, entry):
        """The gateway's 429: nothing was done; answered without the rest of the latency."""
        retry_after = self.server.emulator.draw_retry_after()
        entry.update(throttled=True, retry_after=retry_after, throttle_scope=scope)
        self._after = 0.0
        return self._send_json(429, {"statusCode": 429, "message": "Rate limit is exceeded. Try again in %d "
                                     "seconds." % retry_after}, entry, {"Retry-After": str(retry_after)})

    def _parsed_body(self):
        if not self.raw_body:
            return None
        text = self.raw_body.decode("utf-8", "replace")
        if "json" in (self.headers.get("Content-Type") or ""):
            try:
                return json.loads(text)
            except ValueError:
                return text
        if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            return {k: v[0] for k, v in parse_qs(text).items()}
        return text

    def _common_headers(self):
        headers = {
            "MS-RequestId": self.headers.get("MS-RequestId") or str(uuid.uuid4()),
            "MS-CorrelationId": self.headers.get("MS-CorrelationId") or str(uuid.uuid4()),
            "MS-CV": _b64url(uuid.uuid4().bytes)[:16] + ".0",
            "MS-ServerId": "emulator-1",
        }
        return headers

    def _send_json(self, status, body, entry, headers=None):
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        entry["status"] = status
        after, self._after = self._after, 0.0
        self._sleep(after, entry)  # outside emu.lock: the request has been carried out already
        entry["answered"] = time.time()
        try:
            self.send_response(status)
            for k, v in {**self._common_headers(), **(headers or {})}.items():
                self.send_header(k, v)
            if data:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (killed while its request was held): the request was still done, as the
            # real service would have done it.
            self.close_connection = True

    def _send_error(self, err, entry):
        headers = dict(err.headers)
        if err.status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
        return self._send_json(err.status, {"code": err.code, "description": err.description, "data": [],
                                            "source": "PartnerFD"}, entry, headers)

    def _send_token_error(self, err, entry):
        body = {"error": err.error, "error_description": err.description, "error_codes": err.codes,
                "timestamp": _now_iso(), "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}
        if err.suberror:
            body["suberror"] = err.suberror
        return self._send_json(err.status, body, entry)

    def _json_body(self):
        ctype = (self.headers.get("Content-Type") or "").lower()
        if not ctype.startswith("application/json"):
            raise ApiError(415, 800002, "Content-Type must be application/json")
        try:
            return json.loads(self.raw_body.decode("utf-8"))
        except ValueError:
            raise ApiError(400, 800002, "The request body is not valid JSON") from None

    # ----- routing ---------------------------------------------------------------------------------------
    def _route(self):
        seg = self.segments[1:]
        low = [s.lower() for s in seg]
        method = self.command
        if len(seg) == 4 and low[1:] == ["v2.0", ".well-known", "openid-configuration"] and method == "GET":
            return self._openid(seg[0])
        if len(seg) == 4 and low[1:] == ["oauth2", "v2.0", "token"] and method == "POST":
            return self._token(seg[0])
        if len(seg) == 4 and low[1:] == ["oauth2", "v2.0", "authorize"] and method == "GET":
            return self._authorize_endpoint(seg[0])
        if len(seg) in (2, 3) and low[:2] == ["v1", "customers"] and method == "GET":
            emu = self.server.emulator
            with emu.lock:
                self._authorize()
                return self._list_customers() if len(seg) == 2 else self._get_customer(seg[2])
        if len(seg) >= 4 and low[0] == "v1" and low[1] == "customers":
            customer = seg[2]
            rest = low[3:]
            emu = self.server.emulator
            with emu.lock:
                token = self._authorize()
                self._check_customer(customer)
                emu._advance()
                if rest == ["devicebatches"] and method == "GET":
                    return self._list_batches(customer)
                if rest == ["devicebatches"] and method == "POST":
                    return self._create_batch(customer, token)
                if len(rest) == 3 and rest[0] == "devicebatches" and rest[2] == "devices":
                    if method == "GET":
                        return self._list_devices(customer, seg[4])
                    if method == "POST":
                        return self._add_devices(customer, seg[4])
                if len(rest) == 4 and rest[0] == "devicebatches" and rest[2] == "devices" and method == "DELETE":
                    return self._delete_device(customer, seg[4], seg[6])
                if len(rest) == 2 and rest[0] == "batchjobstatus" and method == "GET":
                    return self._job_status(customer, seg[4])
                if rest == ["devicepolicyupdates"] and method == "PATCH":
                    return self._policy_update(customer)
                if rest[0] == "policies" and len(rest) <= 2:
                    return self._route_policies(customer, seg[4] if len(rest) == 2 else None, method)
        raise ApiError(404, "404", "No route for %s %s" % (method, self.decoded_path))

    def _route_policies(self, customer, policy_id, method):
        if policy_id is None:
            handlers = {"GET": lambda: self._list_policies(customer), "POST": lambda: self._create_policy(customer)}
        else:
            handlers = {"GET": lambda: self._get_policy(customer, policy_id),
                        "PUT": lambda: self._update_policy(customer, policy_id),
                        "DELETE": lambda: self._delete_policy(customer, policy_id)}
        if method not in handlers:
            # Update is PUT (§4, §9); a client that PATCHes a policy must fail, not silently succeed.
            raise ApiError(405, "405", "Method %s is not allowed on %s." % (method, self.decoded_path),
                           {"Allow": ", ".join(sorted(handlers))})
        return handlers[method]()

    # ----- Entra ID side ---------------------------------------------------------------------------------
    def _openid(self, tenant):
        emu = self.server.emulator
        if tenant.lower() not in (emu.tenant_id.lower(), "organizations", "common"):
            raise TokenError(400, "invalid_tenant", "AADSTS90002: Tenant '%s' not found." % tenant, [90002])
        base = "%s/%s" % (emu.url, tenant)
        return 200, {
            "token_endpoint": base + "/oauth2/v2.0/token",
            "authorization_endpoint": base + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
            "issuer": "%s/%s/v2.0" % (emu.url, emu.tenant_id),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "response_types_supported": ["code", "id_token", "code id_token"],
            "code_challenge_methods_supported": ["S256"],
        }, {}

    def _token(self, tenant):
        emu = self.server.emulator
        form = self._parsed_body() if isinstance(self._parsed_body(), dict) else {}
        if tenant.lower() != emu.tenant_id.lower():
            raise TokenError(400, "invalid_tenant", "AADSTS90002: Tenant '%s' not found." % tenant, [90002])
        if form.get("client_id") != emu.client_id:
            raise TokenError(400, "unauthorized_client", "AADSTS700016: Application with identifier '%s' was not "
                             "found in the directory." % form.get("client_id"), [700016])
        self._authenticate_client(form)
        scopes = set((form.get("scope") or "").split())
        grant = form.get("grant_type")
        with emu.lock:
            if grant == "client_credentials":
                if PC_SCOPE_APP not in scopes:
                    raise TokenError(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not "
                                     "valid. Client credential flows must have a scope value with /.default.",
                                     [1002012])
                return 200, self._issue(form, "app", refresh=False), {}
            if grant == "refresh_token":
                presented = form.get("refresh_token") or ""
                info = emu.refresh_tokens.get(presented)
                if info is None:
                    raise TokenError(400, "invalid_grant", "AADSTS9002313: Invalid request. Request is malformed "
                                     "or invalid.", [9002313])
                if info["expired"]:
                    raise TokenError(400, "invalid_grant", "AADSTS700082: The refresh token has expired due to "
                                     "inactivity. The token was issued on 2026-08-01 and was inactive for "
                                     "90.00:00:00.", [700082], suberror="bad_token")
                if presented in emu.mfa_required_refresh_tokens:
                    raise TokenError(400, "invalid_grant", "AADSTS50076: Due to a configuration change made by "
                                     "your administrator, or because you moved to a new location, you must use "
                                     "multi-factor authentication to access '%s'." % PC_SCOPE_USER, [50076],
                                     suberror="basic_action")
                if PC_SCOPE_USER not in scopes:
                    raise TokenError(400, "invalid_scope", "AADSTS70011: The provided request must include a "
                                     "'scope' input parameter for Partner Center.", [70011])
                return 200, self._issue(form, "user", refresh=True, user=info.get("user")), {}
            if grant == "authorization_code":
                info = self._redeem_code(form)
                return 200, self._issue(form, "user", refresh=True, user=info["user"], nonce=info["nonce"]), {}
        raise TokenError(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant "
                         "type '%s'." % grant, [70003])

    def _authenticate_client(self, form):
        emu = self.server.emulator
        if "client_assertion" in form:
            if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                raise TokenError(400, "invalid_request", "AADSTS50027: Invalid client assertion type.", [50027])
            if not emu.client_certificate or not self._assertion_valid(form["client_assertion"]):
                raise TokenError(401, "invalid_client", "AADSTS700027: The certificate with identifier used to "
                                 "sign the client assertion is not registered on application.", [700027])
            return
        if emu.client_secret is None or form.get("client_secret") != emu.client_secret:
            raise TokenError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the "
                             "secret being sent in the request is the client secret value, not the client secret "
                             "ID, for a secret added to app '%s'." % emu.client_id, [7000215])

    def _assertion_valid(self, assertion):
        emu = self.server.emulator
        cert = emu.client_certificate["certificate"]
        try:
            head_b64, payload_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            payload = json.loads(_b64url_decode(payload_b64))
            signature = _b64url_decode(sig_b64)
        except (ValueError, binascii.Error):
            return False
        der = cert.public_bytes(serialization.Encoding.DER)
        if header.get("x5t") and _b64url_decode(header["x5t"]) != hashlib.sha1(der).digest():  # nosec
            return False
        if header.get("x5t#S256") and _b64url_decode(header["x5t#S256"]) != hashlib.sha256(der).digest():
            return False
        if not header.get("x5t") and not header.get("x5t#S256"):
            return False
        if payload.get("iss") != emu.client_id or payload.get("exp", 0) < time.time():
            return False
        signed = ("%s.%s" % (head_b64, payload_b64)).encode("ascii")
        pad = {"RS256": padding.PKCS1v15(),
               "PS256": padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)}
        if header.get("alg") not in pad:
            return False
        try:
            cert.public_key().verify(signature, signed, pad[header["alg"]], hashes.SHA256())
        except Exception:  # pylint: disable=broad-except  # any verification failure means reject
            return False
        return True

    def _redeem_code(self, form):
        """The authorization_code grant's checks: a code of this app, used once, in time, for the same
        redirect_uri, with the PKCE verifier whose S256 is the challenge of the sign-in. Call with emu.lock."""
        emu = self.server.emulator
        info = emu.auth_codes.get(form.get("code") or "")
        if info is None or info["client_id"] != form.get("client_id"):
            raise TokenError(400, "invalid_grant", "AADSTS70000: The provided value for the 'code' parameter is not "
                             "valid.", [70000])
        if info["used"]:
            raise TokenError(400, "invalid_grant", "AADSTS54005: OAuth2 Authorization code was already redeemed, "
                             "please retry with a new valid code or use an existing refresh token.", [54005])
        if info["expires"] <= time.time():
            raise TokenError(400, "invalid_grant", "AADSTS70008: The provided authorization code or refresh token "
                             "has expired due to inactivity. Send a new interactive authorization request for this "
                             "user and resource.", [70008])
        if form.get("redirect_uri") != info["redirect_uri"]:
            raise TokenError(400, "invalid_grant", "AADSTS500112: The reply address '%s' does not match the reply "
                             "address '%s' provided when requesting Authorization code."
                             % (form.get("redirect_uri"), info["redirect_uri"]), [500112])
        verifier = (form.get("code_verifier") or "").encode("utf-8")
        if _b64url(hashlib.sha256(verifier).digest()) != info["challenge"]:
            raise TokenError(400, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the "
                             "code_challenge supplied in the authorization request.", [501481])
        info["used"] = True
        return info

    def _redirect_registered(self, redirect_uri):
        emu = self.server.emulator
        asked = urlsplit(redirect_uri)
        for registered in emu.redirect_uris:
            known = urlsplit(registered)
            if redirect_uri == registered:
                return True
            # Entra ID lets a registered http://localhost redirect URI match any port.
            if (known.scheme, known.hostname, known.port) == ("http", "localhost", None) and \
                    (asked.scheme, asked.hostname) == ("http", "localhost") and \
                    (asked.path or "/") == (known.path or "/"):
                return True
        return False

    def _authorize_endpoint(self, tenant):
        """Where the browser goes to sign in. The emulator has no sign-in page: emu.signin_user signs in (with MFA)
        and consents at once, and the answer is how a browser sign-in ends - a redirect to redirect_uri with
        code and state, or with the error emu.signin_error names. Requests that cannot be redirected (unknown
        tenant, app or redirect URI) are answered 400, where Entra ID shows an error page."""
        emu = self.server.emulator
        q = dict((k, v[-1]) for k, v in self.query.items())
        if tenant.lower() != emu.tenant_id.lower():
            raise TokenError(400, "invalid_tenant", "AADSTS90002: Tenant '%s' not found." % tenant, [90002])
        if q.get("client_id") != emu.client_id:
            raise TokenError(400, "unauthorized_client", "AADSTS700016: Application with identifier '%s' was not "
                             "found in the directory." % q.get("client_id"), [700016])
        redirect_uri = q.get("redirect_uri") or ""
        if not self._redirect_registered(redirect_uri):
            raise TokenError(400, "invalid_request", "AADSTS50011: The redirect URI '%s' specified in the request "
                             "does not match the redirect URIs configured for the application '%s'."
                             % (redirect_uri, emu.client_id), [50011])

        def back(**params):
            if "state" in q:
                params["state"] = q["state"]
            query = urlencode([(k, v) for k, v in params.items() if v is not None])
            return 302, None, {"Location": redirect_uri + ("&" if "?" in redirect_uri else "?") + query}

        if q.get("response_type") != "code":
            return back(error="unsupported_response_type", error_description="AADSTS700054: response_type '%s' is "
                        "not enabled for the application." % q.get("response_type"))
        scopes = set((q.get("scope") or "").split())
        if PC_SCOPE_USER not in scopes:
            return back(error="invalid_scope", error_description="AADSTS70011: The provided request must include a "
                        "'scope' input parameter for Partner Center.")
        if not q.get("code_challenge") or q.get("code_challenge_method") != "S256":
            return back(error="invalid_request", error_description="AADSTS9002325: Proof Key for Code Exchange is "
                        "required: send code_challenge with code_challenge_method S256.")
        with emu.lock:
            if emu.signin_error:
                error, description = emu.signin_error
                return back(error=error, error_description=description)
            code = "emu-code-" + _b64url(uuid.uuid4().bytes + uuid.uuid4().bytes)
            emu.auth_codes[code] = {"client_id": emu.client_id, "redirect_uri": redirect_uri,
                                    "challenge": q["code_challenge"], "nonce": q.get("nonce"), "scopes": scopes,
                                    "user": dict(emu.signin_user), "expires": time.time() + emu.code_lifetime,
                                    "used": False}
            user = emu.signin_user
        client_info = None
        if q.get("client_info") == "1":
            client_info = _b64url(json.dumps({"uid": user["oid"], "utid": emu.tenant_id}).encode())
        return back(code=code, client_info=client_info, session_state=str(uuid.uuid4()))

    def _issue(self, form, kind, refresh, user=None, nonce=None):
        """A token answer; with refresh, a rotated refresh token and an ID token of user (emu.signin_user when
        not given) carrying the sign-in's nonce when there was one."""
        emu = self.server.emulator
        access = "emu-at-" + _b64url(uuid.uuid4().bytes + uuid.uuid4().bytes)
        emu.access_tokens[access] = {"expires": time.time() + emu.access_token_lifetime, "kind": kind}
        body = {"token_type": "Bearer", "expires_in": emu.access_token_lifetime,
                "ext_expires_in": emu.access_token_lifetime, "access_token": access,
                "scope": PC_SCOPE_USER if kind == "user" else PC_SCOPE_APP}
        if refresh:
            user = user or dict(emu.signin_user)
            rotated = "emu-rt-" + _b64url(uuid.uuid4().bytes * 2)
            emu.refresh_tokens[rotated] = {"expired": False, "user": user}
            body["refresh_token"] = rotated
            now = int(time.time())
            oid = user["oid"]
            claims = {"aud": emu.client_id, "iss": "%s/%s/v2.0" % (emu.url, emu.tenant_id), "iat": now,
                      "nbf": now, "exp": now + 3600, "oid": oid, "sub": "emulator-admin-agent",
                      "tid": emu.tenant_id, "preferred_username": user["username"], "ver": "2.0"}
            if nonce:
                claims["nonce"] = nonce
            body["id_token"] = "%s.%s." % (_b64url(b'{"alg":"none","typ":"JWT"}'),
                                           _b64url(json.dumps(claims).encode()))
            if form.get("client_info") == "1":
                body["client_info"] = _b64url(json.dumps({"uid": oid, "utid": emu.tenant_id}).encode())
        return body

    # ----- Partner Center side ---------------------------------------------------------------------------
    def _authorize(self):
        emu = self.server.emulator
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            raise ApiError(401, 800001, "Access denied: the Authorization header with a bearer token is missing.")
        info = emu.access_tokens.get(header[len("Bearer "):].strip())
        if info is None:
            raise ApiError(401, 800001, "Access denied: the access token is not valid.")
        if info["expires"] <= time.time():
            raise ApiError(401, 800001, "Access denied: the access token has expired.",
                           {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="The token is '
                                                'expired"'})
        return info

    def _check_customer(self, customer):
        emu = self.server.emulator
        if not GUID_RE.match(customer):
            raise ApiError(404, 60003, "Tenant '%s' was not found." % customer)
        if customer.lower() in emu.unrelated_customers:
            raise ApiError(403, 20002, "The partner does not have a relationship with customer %s." % customer)
        if emu.strict_customers and customer.lower() not in emu.customer_registry:
            raise ApiError(404, 60003, "Tenant '%s' was not found." % customer)
        emu._customer(customer)

    # ----- customers (partnercenter-api.md, "Customers") -------------------------------------------------------
    def _get_customer(self, tenant):
        emu = self.server.emulator
        if not GUID_RE.match(tenant):
            raise ApiError(404, 60003, "Tenant '%s' was not found." % tenant)
        if tenant.lower() in emu.unrelated_customers:
            raise ApiError(403, 20002, "The partner does not have a relationship with customer %s." % tenant)
        record = emu.customer_registry.get(tenant.lower())
        if record is None:  # a read: it makes no tenant a customer (the device endpoints do, unless strict)
            raise ApiError(404, 60003, "Tenant '%s' was not found." % tenant)
        return 200, emu.customer_view(record), {}

    def _query_values(self, name):
        """A query parameter's values, its name matched case-insensitively (as ASP.NET binds them)."""
        return [v for k, vs in self.query.items() if k.lower() == name for v in vs]

    def _customer_page_size(self):
        """size: missing or 0 (as the published filter example sends) means customer_page_size, which also caps
        it; anything but a whole number >= 0 is a 400."""
        emu = self.server.emulator
        values = self._query_values("size")
        if not values:
            return emu.customer_page_size
        try:
            size = int(values[-1])
        except ValueError:
            size = -1
        if size < 0:
            raise ApiError(400, 800002, "size '%s' is not a number of customers (a whole number >= 0)." % values[-1])
        return min(size or emu.customer_page_size, emu.customer_page_size)

    def _customer_search(self):
        """The filter, URL-encoded JSON {"Field": "Domain"|"CompanyName", "Value": ..., "Operator":
        "starts_with"}: (record field, value), or None when there is none. Anything else is a 400."""
        values = self._query_values("filter")
        if not values:
            return None
        if len(values) > 1:
            raise ApiError(400, 800002, "Only one filter can be given.")
        try:
            spec = json.loads(values[0])
        except ValueError:
            raise ApiError(400, 800002, "The filter is not valid JSON.") from None
        if not isinstance(spec, dict):
            raise ApiError(400, 800002, "The filter must be a JSON object with Field, Value and Operator.")
        field, value, operator = (_ci_get(spec, key) for key in ("Field", "Value", "Operator"))
        if not isinstance(field, str) or field.lower() not in CUSTOMER_SEARCH_FIELDS:
            raise ApiError(400, 800002, "The filter's Field '%s' is not supported (Domain or CompanyName)." % (field,))
        if not isinstance(operator, str) or operator.lower() != CUSTOMER_OPERATOR:
            raise ApiError(400, 800002, "The filter's Operator '%s' is not supported (%s)."
                           % (operator, CUSTOMER_OPERATOR))
        if not isinstance(value, str):
            raise ApiError(400, 800002, "The filter's Value must be a string.")
        return CUSTOMER_SEARCH_FIELDS[field.lower()], value

    def _list_customers(self):
        """GET /v1/customers: paged like a device listing, in every answer mode (see _list_devices)."""
        emu = self.server.emulator
        size, search = self._customer_page_size(), self._customer_search()
        recorded = emu.answer_mode == "recorded"
        token = self.headers.get("MS-ContinuationToken")
        if recorded and bool(token) != self._seek_next():
            raise ApiError(400, 800002, "A next page is asked for with both seekOperation=Next in the query and "
                           "the MS-ContinuationToken header, as links.next gives them.")
        offset = 0
        if token:
            try:
                state = json.loads(_b64url_decode(token))
                offset, asked = int(state["offset"]), state["customers"]
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise ApiError(400, 800002, "The continuation token is not valid.") from None
            if asked != (list(search) if search else None):
                # The token carries the query it pages through: a next page asked without the filter (or with
                # another one) did not follow the link as given.
                raise ApiError(400, 800002, "The continuation token belongs to another customer query.")
        matching = [record for record in emu.listed_customers()
                    if search is None or record[search[0]].lower().startswith(search[1].lower())]
        items = [emu.customer_view(record) for record in matching[offset:offset + size]]
        body = {"totalCount": len(items), "items": items}
        more = offset + size < len(matching)
        nxt = _b64url(json.dumps({"offset": offset + size, "customers": list(search) if search else None})
                      .encode()) if more else None
        # The published answers link to themselves (links.self, the query as sent); a next link keeps the size
        # and the filter, URL-encoded as the published example spells them.
        query = [(k, v) for k, vs in self.query.items() if k.lower() in ("size", "filter") for v in vs]
        uri = "/customers" + ("?" + urlencode(query, quote_via=quote) if query else "")
        if recorded:  # as a recorded device listing: "links": {} on a last page, the seek in the next link's query
            nxt_uri = uri + ("&" if query else "?") + "seekOperation=Next"
            body["links"] = {"next": {"uri": nxt_uri, "method": "GET",
                                      "headers": [{"key": "MS-ContinuationToken", "value": nxt}]}} if more else {}
        else:
            body["links"] = {"self": {"uri": "/customers" + ("?" + self.raw_query if self.raw_query else ""),
                                      "method": "GET", "headers": []}}
            if more and emu.paging_style in ("both", "token"):
                body["continuationToken"] = nxt
            if more and emu.paging_style in ("both", "link"):
                body["links"]["next"] = {"uri": uri, "method": "GET",
                                         "headers": [{"key": "MS-ContinuationToken", "value": nxt}]}
        body["attributes"] = {"objectType": "Collection"}
        return 200, body, {}

    @staticmethod
    def _held_id(batches, batch_id):
        """The batch id as held: batch ids in paths are case-insensitive (partnercenter-api.md, "Recorded
        answers"); the batch keeps the spelling it was created with."""
        if batch_id in batches:
            return batch_id
        return next((held for held in batches if held.lower() == str(batch_id).lower()), None)

    def _batch(self, customer, batch_id):
        batches = self.server.emulator.customers[customer.lower()]["batches"]
        batch = batches.get(self._held_id(batches, batch_id))
        if batch is None:
            raise ApiError(404, 600042, "Device batch '%s' was not found." % batch_id)
        return batch

    def _validate_devices(self, devices):
        if not isinstance(devices, list) or not devices:
            raise ApiError(400, 800002, "Devices must be a non-empty list.")
        for index, dev in enumerate(devices):
            if not isinstance(dev, dict):
                raise ApiError(400, 800002, "Devices[%d] is not an object." % index)
            present = set()
            for field in IDENTITY_FIELDS:
                value = _ci_get(dev, field)
                if value is None or value == "":
                    continue
                if not isinstance(value, str):
                    raise ApiError(400, 800002, "Devices[%d].%s must be a string." % (index, field))
                present.add(field)
            if frozenset(present) not in ALLOWED_COMBINATIONS:
                raise ApiError(400, 800002, "Devices[%d]: %s is not an allowed combination of identity fields."
                               % (index, "+".join(sorted(present)) or "no identity field"))
        return devices

    def _location(self, customer, job):
        return {"Location": "/customers/%s/batchJobStatus/%s" % (customer, job["id"])}

    def _create_batch(self, customer, token):
        emu = self.server.emulator
        body = self._json_body()
        if emu.require_user_token_for_create and token["kind"] != "user":
            raise ApiError(401, 800001, "Creating a device batch requires an App+User token.")
        batch_id = _ci_get(body, "BatchId")
        if not isinstance(batch_id, str) or not batch_id.strip():
            raise ApiError(400, 800002, "BatchId is required.")
        devices = self._validate_devices(_ci_get(body, "Devices"))
        batches = emu.customers[customer.lower()]["batches"]
        if self._held_id(batches, batch_id) is not None:
            raise ApiError(409, 600041, "Device batch '%s' already exists." % batch_id)
        batches[batch_id] = emu._new_batch(batch_id)
        job = emu._new_job(customer.lower(), batch_id, copy.deepcopy(devices))
        return 202, None, self._location(customer, job)

    def _add_devices(self, customer, batch_id):
        emu = self.server.emulator
        body = self._json_body()
        batch = self._batch(customer, batch_id)
        devices = self._validate_devices(body)
        job = emu._new_job(customer.lower(), batch["id"], copy.deepcopy(devices))
        return 202, None, self._location(customer, job)

    def _list_batches(self, customer):
        emu = self.server.emulator
        now, items = time.time(), []
        for batch in emu.customers[customer.lower()]["batches"].values():
            if not emu.listed(batch["written"], now):
                continue
            # The count comes from the same lagging read as the listing, so it cannot name unlisted devices.
            count = sum(1 for dev in batch["devices"] if emu.listed(dev["_written"], now))
            item = {"id": batch["id"], "status": batch["status"], "creationDate": _now_iso(batch["created"]),
                    "devicesCount": count, "attributes": {"objectType": "DeviceBatch"}}
            link = {"uri": "/customers/%s/deviceBatches/%s/devices" % (customer, batch["id"]), "method": "GET",
                    "headers": []}
            if emu.answer_mode == "sdk":
                item.pop("status")
                item["createdBy"] = "emulator-admin@partner.example"
                item["links"] = {"devices": link}
            elif emu.answer_mode == "recorded":  # GetCustomerDeviceBatch.json
                item = {"id": batch["id"], "creationDate": RECORDED_CREATION_DATE, "devicesCount": count,
                        "devicesLink": link, "attributes": {"objectType": "DeviceBatch"}}
            else:
                item["devicesLink"] = link
            items.append(item)
        return 200, {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}, {}

    def _seek_next(self):
        """Whether the query asks for the next page as a recorded links.next does (?seekOperation=Next); ASP.NET
        binds query names and enum values case-insensitively, so the emulator does too."""
        values = [v for k, vs in self.query.items() if k.lower() == "seekoperation" for v in vs]
        if not values:
            return False
        if [v.lower() for v in values] != ["next"]:
            raise ApiError(400, 800002, "seekOperation '%s' is not supported; only Next is." % ",".join(values))
        return True

    def _list_devices(self, customer, batch_id):
        emu = self.server.emulator
        batch = self._batch(customer, batch_id)
        now = time.time()
        listed = [dev for dev in batch["devices"] if emu.listed(dev["_written"], now)]
        recorded = emu.answer_mode == "recorded"
        token = self.headers.get("MS-ContinuationToken")
        # A recorded next link splits its state between its query and its header; a client that drops either
        # half has not followed the link as given. The service's answer to half a link is not recorded: the
        # emulator refuses it rather than guess a page.
        if recorded and bool(token) != self._seek_next():
            raise ApiError(400, 800002, "A next page is asked for with both seekOperation=Next in the query and "
                           "the MS-ContinuationToken header, as links.next gives them.")
        offset = 0
        if token:
            try:
                offset = int(json.loads(_b64url_decode(token))["offset"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise ApiError(400, 800002, "The continuation token is not valid.") from None
        items = [emu.device_view(customer.lower(), dev) for dev in listed[offset:offset + emu.page_size]]
        body = {"totalCount": len(items), "items": items}
        more = offset + emu.page_size < len(listed)
        nxt = _b64url(json.dumps({"offset": offset + emu.page_size, "batch": batch_id}).encode()) if more else None
        uri = "/customers/%s/deviceBatches/%s/devices" % (customer, batch_id)
        if recorded:
            # GetCustomerDevice.json: "links": {} on a last page, and never a top-level continuationToken.
            body["links"] = {"next": {"uri": uri + "?seekOperation=Next", "method": "GET",
                                      "headers": [{"key": "MS-ContinuationToken", "value": nxt}]}} if more else {}
        elif more:
            if emu.paging_style in ("both", "token"):
                body["continuationToken"] = nxt
            if emu.paging_style in ("both", "link"):
                body["links"] = {"next": {"uri": uri, "method": "GET",
                                          "headers": [{"key": "MS-ContinuationToken", "value": nxt}]}}
        body["attributes"] = {"objectType": "Collection"}
        return 200, body, {}

    def _delete_device(self, customer, batch_id, device_id):
        emu = self.server.emulator
        batch = self._batch(customer, batch_id)
        for dev in batch["devices"]:
            if dev["id"] == device_id:
                batch["devices"].remove(dev)
                for key in emu.identity_keys({"HardwareHash": dev.get("hardwareHash"), "ProductKey": dev.get(
                        "productKey"), "SerialNumber": dev.get("serialNumber")}):
                    if emu.registry.get(key, (None, None, None))[2] == device_id:
                        del emu.registry[key]
                return 204, None, {}
        raise ApiError(404, 600043, "Device '%s' was not found in batch '%s'." % (device_id, batch_id))

    def _job_status(self, customer, tracking_id):
        emu = self.server.emulator
        job = emu.jobs.get(tracking_id)
        if job is None or job["customer"] != customer.lower():
            raise ApiError(404, 600044, "Batch tracking id '%s' was not found." % tracking_id)
        if job["status"] in ("finished", "finished_with_errors"):
            devices = job["results"]
        elif job["kind"] == "policy":
            devices = [emu._policy_result(job["customer"], upd, "in-progress") for upd in job["devices"]]
        else:
            devices = [dict(self.server.emulator._result(d, job["status"]), deviceId=None) for d in job["devices"]]
        if emu.answer_mode == "recorded":
            # No batchJobStatus answer is recorded: codes stay, descriptions are null, the leanest result the
            # SDK models allow (docs/emulator.md says this is a choice, not a recording).
            devices = [dict(d, errorDescription=None) for d in devices]
        if not emu.job_device_ids and job["kind"] != "policy":
            devices = [dict(d, deviceId=None) for d in devices]
        return 200, {"batchTrackingId": job["id"], "status": job["status"],
                     "startedTime": _now_iso(job["started"]) if job["started"] else None,
                     "completedTime": _now_iso(job["completed"]) if job["completed"] else None,
                     "devicesStatus": devices, "attributes": {"objectType": "BatchUploadDetails"}}, {}

    # ----- configuration policies (partnercenter-policies.md §3, §4, §8) -------------------------------------
    def _known_policy(self, customer, policy_id):
        policy = self.server.emulator._policy(customer.lower(), policy_id)
        if policy is None:
            # Not documented (§4.2): the generic error body, with a not-found code of the emulator's choosing.
            raise ApiError(404, 600045, "Configuration policy '%s' was not found." % policy_id)
        return policy

    @staticmethod
    def _policy_fields(body):
        """name and policySettings are required on create and on update (§4.3, §4.4)."""
        if not isinstance(body, dict):
            raise ApiError(400, 800002, "The request body must be a ConfigurationPolicy object.")
        name = _ci_get(body, "name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, 800002, "name is required and must be a non-empty string.")
        description = _ci_get(body, "description")
        if description is not None and not isinstance(description, str):
            raise ApiError(400, 800002, "description must be a string.")
        settings = Emulator.check_policy_settings(_ci_get(body, "policySettings"))
        return name, description, settings

    def _list_policies(self, customer):
        emu = self.server.emulator
        now = time.time()
        items = [emu._policy_view(customer.lower(), p, listed=True)
                 for p in emu.policies.get(customer.lower(), {}).values() if emu.listed(p["written"], now)]
        return 200, {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}, {}

    def _get_policy(self, customer, policy_id):
        emu = self.server.emulator
        policy = self._known_policy(customer, policy_id)
        # partnercenter-api.md: a new resource "has been reported readable only after ~90 s" - readable, not
        # only listed, so a read by id lags like the listing (writes by id, PUT and DELETE, do not).
        if not emu.listed(policy["written"]):
            raise ApiError(404, 600045, "Configuration policy '%s' was not found." % policy_id)
        return 200, emu._policy_view(customer.lower(), policy), {}

    def _create_policy(self, customer):
        emu = self.server.emulator
        body = self._json_body()
        name, description, settings = self._policy_fields(body)
        # SDK callers that leave Category unset send "none" (§4.3); the service is presumed to default it, and
        # the emulator stores o_o_b_e, the only real category (§8.2, open question 2).
        category = _ci_get(body, "category")
        if category not in (None, "none", OOBE):
            raise ApiError(400, 800002, "category '%s' is not a policy category (none, o_o_b_e)." % category)
        policy = emu._store_policy(customer, name, description, settings)
        return 200, emu._policy_view(customer.lower(), policy), {}  # 200, not 201: as published

    def _update_policy(self, customer, policy_id):
        emu = self.server.emulator
        policy = self._known_policy(customer, policy_id)
        name, description, settings = self._policy_fields(self._json_body())
        # A full replacement of the updatable fields; id, category and the count are not updatable (§4.4), so
        # whatever the body says about them is ignored.
        policy.update({"name": name, "description": description, "policySettings": list(settings),
                       "modified": max(time.time_ns() // 1000, policy["modified"] + 1)})
        return 200, emu._policy_view(customer.lower(), policy), {}

    def _delete_policy(self, customer, policy_id):
        emu = self.server.emulator
        policy = self._known_policy(customer, policy_id)
        del emu.policies[customer.lower()][policy["id"]]
        # Emulator choice: whether the service refuses to delete a policy that devices still carry is not
        # published (§4.5, open question 3). The emulator deletes it and those devices go back to value null.
        for batch in emu.customers[customer.lower()]["batches"].values():
            for dev in batch["devices"]:
                if emu._oobe_value(dev) == policy["id"]:
                    dev["policies"] = [{"key": OOBE, "value": None}]
        return 204, None, {}

    def _policy_update(self, customer):
        """PATCH DevicePolicyUpdates (§4.6): validated whole before anything is queued, then done by a job."""
        emu = self.server.emulator
        devices = _ci_get(self._json_body(), "devices")
        if not isinstance(devices, list) or not devices:
            raise ApiError(400, 800002, "Devices must be a non-empty list.")
        updates = [self._policy_update_entry(customer, index, upd) for index, upd in enumerate(devices)]
        job = emu._new_job(customer.lower(), None, updates, kind="policy")
        return 202, None, self._location(customer, job)

    def _policy_update_entry(self, customer, index, upd):
        emu = self.server.emulator
        if not isinstance(upd, dict):
            raise ApiError(400, 800002, "Devices[%d] is not an object." % index)
        device_id = _ci_get(upd, "id")
        if not isinstance(device_id, str) or emu._find_device(customer.lower(), device_id) is None:
            raise ApiError(400, 800002, "Devices[%d].Id '%s' does not name a device of this customer."
                           % (index, device_id))
        policies = _ci_get(upd, "policies")
        # An empty list (or value null) might be how the service un-assigns, but that is not published (§5):
        # the emulator refuses it rather than guess.
        if not isinstance(policies, list) or not policies:
            raise ApiError(400, 800002, "Devices[%d].Policies must be a non-empty list." % index)
        policy_id = None
        for pindex, pair in enumerate(policies):
            key, value = _ci_get(pair, "key"), _ci_get(pair, "value")
            if key != OOBE:
                raise ApiError(400, 800002, "Devices[%d].Policies[%d].Key '%s' is not '%s'."
                               % (index, pindex, key, OOBE))
            policy = emu._policy(customer.lower(), value)
            if policy is None:
                raise ApiError(400, 800002, "Devices[%d].Policies[%d].Value '%s' is not a configuration policy "
                               "of this customer." % (index, pindex, value))
            policy_id = policy["id"]
        return {"id": device_id, "policy": policy_id}

    # ----- control endpoint (for the command-line emulator) ----------------------------------------------
    def _control(self):
        emu = self.server.emulator
        entry = {}
        name = self.decoded_path[len("/_emulator/"):]
        try:
            if name == "log" and self.command == "GET":
                with emu.lock:
                    return self._send_json(200, emu.log, entry)
            if name == "faults" and self.command == "POST":
                for spec in json.loads(self.raw_body or b"[]"):
                    emu.add_fault(spec.pop("action"), **spec)
                return self._send_json(204, None, entry)
            if name == "customers" and self.command == "POST":  # [{tenant_id, domain, company_name, relationship?}]
                for spec in json.loads(self.raw_body or b"[]"):
                    emu.add_customer(**spec)
                return self._send_json(200, emu.customer_list(), entry)
            if name == "reset" and self.command == "POST":
                emu.reset()
                return self._send_json(204, None, entry)
            if name == "timing" and self.command == "GET":
                return self._send_json(200, emu.timing(), entry)
            if name == "timing" and self.command == "POST":  # {"profile": ..., knob: value, ...}
                return self._send_json(200, emu.configure(**json.loads(self.raw_body or b"{}")), entry)
            if name == "expire-tokens" and self.command == "POST":
                emu.expire_access_tokens()
                return self._send_json(204, None, entry)
            if name == "state" and self.command == "GET":
                with emu.lock:
                    emu._advance()
                    state = {c: {b: {"status": v["status"], "devices": [
                        dict({k: d[k] for k in ("id", "serialNumber", "productKey")}, policy=emu._oobe_value(d))
                        for d in v["devices"]]}
                        for b, v in data["batches"].items()} for c, data in emu.customers.items()}
                    # Customer ids are GUIDs, so this key can never shadow a customer.
                    state["policies"] = {c: emu.policy_list(c) for c in emu.policies}
                return self._send_json(200, state, entry)
        except (ValueError, TypeError, KeyError) as err:
            return self._send_error(ApiError(400, 800002, "Bad control request: %s" % err), entry)
        return self._send_error(ApiError(404, "404", "Unknown control endpoint"), entry)
