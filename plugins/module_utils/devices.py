# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The device domain: identity, validation of devices, and the plan (what to add, what is present, what to remove,
what is registered and declared nowhere). Pure: no I/O, no Ansible; the service's answers are read in wire.py,
a task's batch requests are judged in tasks.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import InputError
from ansible_collections.partnercenter.autopilot.plugins.module_utils.wire import lower_keys, oobe_policy_id

FIELDS = ("serial_number", "product_key", "hardware_hash", "manufacturer", "model")
ALIASES = {"oem_manufacturer_name": "manufacturer", "model_name": "model"}
API_NAMES = {
    "serial_number": "SerialNumber",
    "product_key": "ProductKey",
    "hardware_hash": "HardwareHash",
    "manufacturer": "OemManufacturerName",
    "model": "ModelName",
}
# What the service accepts as a device's identity (partnercenter-api.md). A hash identifies a device on its
# own, so make/model given beside a hash are kept for matching and reports but not uploaded.
UPLOAD_COMBINATIONS = (
    frozenset(("hardware_hash", "product_key", "serial_number")),
    frozenset(("hardware_hash", "product_key")),
    frozenset(("hardware_hash", "serial_number")),
    frozenset(("hardware_hash",)),
    frozenset(("product_key",)),
    frozenset(("serial_number", "manufacturer", "model")),
)
BATCH_ID_RE = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
B64_RE = re.compile(r"^[A-Za-z0-9+/]*={0,2}\Z")
HASH_MIN_BYTES = 100
HASH_MAX_BYTES = 16 * 1024
MAX_LENGTH = {"serial_number": 128, "product_key": 64, "manufacturer": 256, "model": 256}
ASCII_ONLY = ("serial_number", "product_key")
# Control characters, and invisible or direction-changing format characters that would make a serial
# number look like another one in reports.
CONTROL_RE = re.compile(u"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")

# Bad devices and batch requests are the collection's one kind of bad input.
DeviceValidationError = InputError


def _norm(value):
    return value.strip().upper() if value else None


class Device(object):
    """One device as the user declared it, or as the service listed it."""

    # profile: the Autopilot profile declared for the device (a name or id); policy_id: the profile a listed
    # device carries.
    __slots__ = FIELDS + ("device_id", "batch_id", "index", "profile", "policy_id")

    def __init__(self, serial_number=None, product_key=None, hardware_hash=None, manufacturer=None, model=None,
                 device_id=None, batch_id=None, index=None, profile=None, policy_id=None):
        self.serial_number = serial_number or None
        self.product_key = product_key or None
        self.hardware_hash = hardware_hash or None
        self.manufacturer = manufacturer or None
        self.model = model or None
        self.device_id = device_id
        self.batch_id = batch_id
        self.index = index
        self.profile = profile
        self.policy_id = policy_id

    @classmethod
    def from_api(cls, item, batch_id=None):
        """A device from a Partner Center response (camelCase; read case-insensitively)."""
        lowered = lower_keys(item)

        def get(name):
            value = lowered.get(name.lower())
            return value.strip() if isinstance(value, str) and value.strip() else None
        return cls(serial_number=get("serialNumber"), product_key=get("productKey"),
                   hardware_hash=get("hardwareHash"), manufacturer=get("oemManufacturerName"),
                   model=get("modelName"), device_id=get("id"), batch_id=batch_id,
                   policy_id=oobe_policy_id(lowered.get("policies")))

    def present_fields(self):
        return frozenset(f for f in FIELDS if getattr(self, f))

    def upload_fields(self):
        fields = self.present_fields()
        if self.hardware_hash:
            fields = fields - frozenset(("manufacturer", "model"))
        return fields

    def to_api(self):
        """The upload form of this device (PascalCase, as Partner Center's SDK sends it)."""
        body = dict((API_NAMES[f], getattr(self, f)) for f in FIELDS if f in self.upload_fields())
        body["Attributes"] = {"ObjectType": "Device"}
        return body

    @property
    def hash_only(self):
        return bool(self.hardware_hash) and not self.serial_number and not self.product_key

    def identity(self):
        """What reports and diffs show: never the hash."""
        return {"serial_number": self.serial_number, "product_key": self.product_key}

    def label(self, bare=False):
        """How messages (\"serial X\") and diffs (bare: \"X\") name the device; a hash by its fingerprint only."""
        for field, kind in (("serial_number", "serial"), ("product_key", "product key")):
            if getattr(self, field):
                return getattr(self, field) if bare else "%s %s" % (kind, getattr(self, field))
        if self.hardware_hash:
            return "hash sha256:%s" % hashlib.sha256(self.hardware_hash.encode("ascii")).hexdigest()[:12]
        if self.device_id:
            return "device %s" % self.device_id
        return "no identity"

    def matches(self, other):
        """Same device? Product key, else serial (+ make and model where both sides know them)."""
        if self.product_key and other.product_key and _norm(self.product_key) == _norm(other.product_key):
            return True
        if self.serial_number and other.serial_number and _norm(self.serial_number) == _norm(other.serial_number):
            for field in ("manufacturer", "model"):
                mine, theirs = getattr(self, field), getattr(other, field)
                if mine and theirs and _norm(mine) != _norm(theirs):
                    return False
            return True
        return False

    def __repr__(self):
        return "Device(%s)" % self.label()


def _where(index, raw):
    serial = raw.get("serial_number") if isinstance(raw, dict) else None
    if isinstance(serial, str) and serial.strip():
        return "devices[%d] (serial %s)" % (index, serial.strip()[:64])
    return "devices[%d]" % index


def _check_string(field, value, where, errors):
    if value is None:
        return None
    if not isinstance(value, str):
        hint = ": quote it in YAML so leading zeros survive" if isinstance(value, (int, float)) else ""
        errors.append("%s: %s must be a string, got %s%s" % (where, field, type(value).__name__, hint))
        return None
    if field == "hardware_hash":
        return "".join(value.split()) or None
    value = value.strip()
    if not value:
        return None
    if CONTROL_RE.search(value):
        errors.append("%s: %s contains control characters" % (where, field))
        return None
    if field in ASCII_ONLY:
        try:
            value.encode("ascii")
        except UnicodeEncodeError:
            errors.append("%s: %s must be ASCII, got %r" % (where, field, value[:64]))
            return None
    if len(value) > MAX_LENGTH[field]:
        errors.append("%s: %s is %d characters long, at most %d are allowed"
                      % (where, field, len(value), MAX_LENGTH[field]))
        return None
    return value


def _check_hash(value, where, errors):
    if len(value) > (HASH_MAX_BYTES * 4) // 3 + 4:
        errors.append("%s: hardware_hash is %d characters long; a hash decodes to at most %d bytes"
                      % (where, len(value), HASH_MAX_BYTES))
        return False
    if len(value) % 4 or not B64_RE.match(value):
        errors.append("%s: hardware_hash is not base64 (alphabet A-Z a-z 0-9 + / with = padding)" % where)
        return False
    # The alphabet, the padding and the length are checked, so the decoded size follows without decoding.
    size = len(value) // 4 * 3 - value[-2:].count("=")
    if size < HASH_MIN_BYTES:
        errors.append("%s: hardware_hash decodes to %d bytes, at least %d are expected (truncated?)"
                      % (where, size, HASH_MIN_BYTES))
        return False
    return True


def _combination_error(fields):
    given = ", ".join(sorted(fields)) or "no identity field"
    return ("%s is not an accepted identity; give one of: hardware_hash (optionally with serial_number and/or "
            "product_key), product_key, or serial_number + manufacturer + model" % given)


def validate_devices(items, for_removal=False):
    """Turn user input into Devices, or raise DeviceValidationError listing every problem at once.

    Devices to remove are only looked up among registered ones, so a serial number or product key alone
    names them; devices to upload need one of the combinations Partner Center accepts.
    """
    errors = []
    devices = []
    if not isinstance(items, list):
        raise DeviceValidationError(["devices must be a list, got %s" % type(items).__name__])
    seen = {}
    for index, raw in enumerate(items):
        where = _where(index, raw)
        if not isinstance(raw, dict):
            errors.append("%s: must be a dictionary, got %s" % (where, type(raw).__name__))
            continue
        values = {}
        problems_before = len(errors)
        for key, value in raw.items():
            if key == "profile":
                if value is not None and (not isinstance(value, str) or not value.strip()):
                    errors.append("%s: profile must be a profile's name or id, got %r" % (where, value))
                values["profile"] = value.strip() if isinstance(value, str) and value.strip() else None
                continue
            name = ALIASES.get(key, key)
            if name not in FIELDS:
                errors.append("%s: unknown field %r (expected %s or profile)" % (where, key, ", ".join(FIELDS)))
                continue
            if name in values and values[name] is not None and value is not None:
                errors.append("%s: %s is given twice (once through an alias)" % (where, name))
                continue
            values[name] = _check_string(name, value, where, errors)
        if len(errors) > problems_before:
            continue
        device = Device(index=index, **values)
        if device.hardware_hash and not _check_hash(device.hardware_hash, where, errors):
            continue
        if for_removal and not (device.serial_number or device.product_key or device.hardware_hash):
            errors.append("%s: give the serial_number or product_key of the device to remove" % where)
            continue
        if not for_removal and device.upload_fields() not in UPLOAD_COMBINATIONS:
            errors.append("%s: %s" % (where, _combination_error(device.present_fields())))
            continue
        for key in _duplicate_keys(device):
            if key in seen:
                errors.append("%s: duplicate of devices[%d] (same %s)" % (where, seen[key], key[0]))
                break
        else:
            for key in _duplicate_keys(device):
                seen[key] = index
            devices.append(device)
    if errors:
        raise DeviceValidationError(errors)
    return devices


def _duplicate_keys(device):
    keys = []
    if device.hardware_hash:
        keys.append(("hardware_hash", device.hardware_hash))
    if device.product_key:
        keys.append(("product_key", _norm(device.product_key)))
    if device.serial_number:
        keys.append(("serial_number", _norm(device.serial_number), _norm(device.manufacturer),
                     _norm(device.model)))
    return keys


def validate_target(customer_id, batch_id):
    errors = []
    if not isinstance(customer_id, str) or not GUID_RE.match(customer_id.strip()):
        errors.append("customer_id must be the customer's tenant id (a GUID), got %r" % (customer_id,))
    if batch_id is not None and (not isinstance(batch_id, str) or not BATCH_ID_RE.match(batch_id)):
        errors.append("batch_id must be 1-64 characters of letters, digits, space, '.', '_' or '-', got %r"
                      % (batch_id,))
    if errors:
        raise DeviceValidationError(errors)


class Plan(object):
    """What a run must do: upload to_add, remove to_remove; already_present is left alone."""

    def __init__(self, to_add, already_present, to_remove, unverifiable):
        self.to_add = to_add
        self.already_present = already_present      # [(desired, registered)]
        self.to_remove = to_remove                  # registered devices
        self.unverifiable = unverifiable            # hash-only devices: cannot be matched by reading

    @property
    def changes(self):
        return bool(self.to_add or self.to_remove)


def index_registered(registered):
    """Registered devices by normalised product key and serial number, for find_registered."""
    by_key = {}
    for dev in registered:
        if dev.product_key:
            by_key.setdefault(("pk", _norm(dev.product_key)), []).append(dev)
        if dev.serial_number:
            by_key.setdefault(("sn", _norm(dev.serial_number)), []).append(dev)
    return by_key


def find_registered(device, index):
    """The registered device that device is, or None."""
    candidates = []
    if device.product_key:
        candidates.extend(index.get(("pk", _norm(device.product_key)), ()))
    if device.serial_number:
        candidates.extend(index.get(("sn", _norm(device.serial_number)), ()))
    for candidate in candidates:
        if device.matches(candidate):
            return candidate
    return None


def plan(desired, registered, batch_id=None, purge=False):
    """Compare desired devices with registered ones (as listed: without hashes).

    registered may span the whole customer (match_scope customer); purge only ever removes devices of batch_id.
    """
    index = index_registered(registered)
    to_add, present, unverifiable, matched = [], [], [], set()
    for device in desired:
        found = find_registered(device, index)
        if found is not None:
            present.append((device, found))
            matched.add(id(found))
        else:
            to_add.append(device)
            if device.hash_only:
                unverifiable.append(device)
    to_remove = []
    if purge:
        to_remove = [d for d in registered if id(d) not in matched and (batch_id is None or d.batch_id == batch_id)]
    return Plan(to_add, present, to_remove, unverifiable)


def undeclared(declared, registered, customer_id, customer_name=None, profile_names=None):
    """The registered devices (each service id once) that none of the declared ones is, as the result lists them:
    {customer_id, customer_name, batch_id, device_id, serial_number, product_key, model, manufacturer, profile}
    (the profile by name where profile_names, {lower-cased id: name}, knows its id)."""
    index, names = index_registered(declared), profile_names or {}
    out, seen = [], set()
    for device in registered:
        key = (device.device_id or "").lower() or id(device)
        if key in seen or find_registered(device, index) is not None:
            continue
        seen.add(key)
        out.append(dict(customer_id=customer_id, customer_name=customer_name, batch_id=device.batch_id,
                        device_id=device.device_id, serial_number=device.serial_number,
                        product_key=device.product_key, model=device.model, manufacturer=device.manufacturer,
                        profile=names.get((device.policy_id or "").lower(), device.policy_id)))
    return out


def plan_removal(desired, registered):
    """state=absent: the registered devices that match the listed ones."""
    index = index_registered(registered)
    out, seen = [], set()
    for device in desired:
        found = find_registered(device, index)
        if found is not None and id(found) not in seen:
            seen.add(id(found))
            out.append(found)
    return out


def chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]
