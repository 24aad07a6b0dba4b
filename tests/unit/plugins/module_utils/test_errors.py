"""errors.py: the error kinds and the failed result each becomes (the one door: module.fail_from_error and the
controller-side action plugins both return errors.failure)."""
import pytest

from ansible_collections.partnercenter.autopilot.plugins.module_utils import auth
from ansible_collections.partnercenter.autopilot.plugins.module_utils.errors import (
    KINDS, MAX_REPORTED_ERRORS, AuthError, InputError, ServiceError, error_fields, failure)
from ansible_collections.partnercenter.autopilot.plugins.module_utils.module import check_numbers


def test_input_error_lists_every_problem_and_shows_the_first_ones():
    problems = ["devices[%d]: bad" % i for i in range(MAX_REPORTED_ERRORS + 3)]
    err = InputError(problems)
    assert isinstance(err, ValueError) and err.errors == problems
    assert str(err).startswith("Invalid input: devices[0]: bad; devices[1]: bad")
    assert str(err).endswith("devices[%d]: bad; and 3 more problems" % (MAX_REPORTED_ERRORS - 1))
    assert str(InputError(["one"])) == "Invalid input: one"


def test_numbers_out_of_range_are_input_errors_naming_each():
    with pytest.raises(InputError) as info:
        check_numbers({"timeout": 0, "concurrency": 65, "wait_timeout": 10, "poll_interval": None})
    assert info.value.errors == ["concurrency must be between 1 and 64, got 65",
                                 "timeout must be between 1 and 3600, got 0"]


def test_failure_of_each_kind():
    assert failure(InputError(["a", "b"])) == dict(failed=True, msg="Invalid input: a; b", errors=["a", "b"])
    assert failure(AuthError("Entra ID refused the token request")) == dict(
        failed=True, msg="Entra ID refused the token request")
    err = ServiceError("Partner Center answered 403", status=403, code="20002", description="no relationship",
                       request_id="req-1", correlation_id="corr-1", method="GET", path="/v1/customers")
    assert failure(err) == dict(failed=True, msg="Partner Center answered 403", status=403, code="20002",
                                request_id="req-1", correlation_id="corr-1")
    assert error_fields(ServiceError("lost")) == dict(status=None, code=None, request_id=None, correlation_id=None)


def test_kinds_are_the_callers_names():
    assert set(KINDS) == {InputError, AuthError, ServiceError}
    assert auth.AuthError is AuthError  # callers that import it from auth.py keep working
