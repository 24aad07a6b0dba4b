# -*- coding: utf-8 -*-
# Copyright (c) partnercenter.autopilot contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's error kinds (InputError for every bad input, AuthError for a token that cannot be had,
ServiceError for a failed Partner Center call, OutcomeUnknownError for a write whose answer was lost), the fields a
failed result holds about each, and the one rule that keeps secrets out of their texts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MAX_REPORTED_ERRORS = 50
# What a failed result holds about a service error, beside its message.
SERVICE_FIELDS = ("status", "code", "request_id", "correlation_id")


class InputError(ValueError):
    """Bad input (devices, batch requests, numbers, profile references), found before anything is sent: every
    problem at once in errors; the message shows the first MAX_REPORTED_ERRORS of them."""

    def __init__(self, errors):
        self.errors = list(errors)
        shown = self.errors[:MAX_REPORTED_ERRORS]
        more = len(self.errors) - len(shown)
        text = "; ".join(shown) + ("; and %d more problems" % more if more > 0 else "")
        super(InputError, self).__init__("Invalid input: " + text)


class AuthError(Exception):
    """A token could not be obtained; the message says which credential to fix. Never contains secrets."""


class ServiceError(Exception):
    """A failed Partner Center call: status, Partner Center code/description, request and correlation ids."""

    def __init__(self, message, status=None, code=None, description=None, request_id=None,
                 correlation_id=None, method=None, path=None):
        super(ServiceError, self).__init__(message)
        self.status, self.code, self.description = status, code, description
        self.request_id, self.correlation_id = request_id, correlation_id
        self.method, self.path = method, path


class OutcomeUnknownError(ServiceError):
    """A write was sent but its answer was lost: re-read the state before sending anything again."""


KINDS = (InputError, AuthError, ServiceError)


def redact(text, secrets):
    """text with every secret (longer than 3 characters) replaced by asterisks: the one redaction rule, so that
    no error text, warning or result holds a secret."""
    for secret in secrets:
        if secret and isinstance(secret, str) and len(secret) > 3:
            text = text.replace(secret, "********")
    return text


def error_fields(err):
    """What a failed result holds about a service error, beside its message."""
    return dict((name, getattr(err, name)) for name in SERVICE_FIELDS)


def failure(err):
    """The failed result for an error of KINDS: its message, and what helps act on it - every problem of a bad
    input (errors), the status and ids of a service error."""
    result = dict(failed=True, msg=str(err))
    if isinstance(err, InputError):
        result["errors"] = err.errors
    if isinstance(err, ServiceError):
        result.update(error_fields(err))
    return result
