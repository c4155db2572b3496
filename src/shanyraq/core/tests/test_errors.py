import pytest

from shanyraq.core import errors


@pytest.mark.parametrize(
    ("error_class", "status", "code"),
    [
        (errors.DomainError, 400, "error"),
        (errors.ValidationError, 422, "invalid"),
        (errors.NotFound, 404, "not_found"),
        (errors.PermissionDenied, 403, "permission_denied"),
        (errors.Conflict, 409, "conflict"),
        (errors.RateLimited, 429, "rate_limited"),
    ],
)
def test_defaults(error_class: type[errors.DomainError], status: int, code: str) -> None:
    error = error_class()

    assert error.http_status == status
    assert error.code == code
    assert error.message is error_class.default_message
    assert error.field is None
    assert error.details == {}
    assert str(error) == code


def test_every_error_is_a_domain_error_and_none_is_django_s() -> None:
    from django.core import exceptions as django_exceptions

    for error_class in (
        errors.ValidationError,
        errors.NotFound,
        errors.PermissionDenied,
        errors.Conflict,
        errors.RateLimited,
    ):
        assert issubclass(error_class, errors.DomainError)
        assert not issubclass(error_class, django_exceptions.ValidationError)
        assert not issubclass(error_class, django_exceptions.PermissionDenied)


def test_explicit_values_are_kept() -> None:
    details = {"max_length": 10}
    error = errors.ValidationError(
        "application.title_too_long", "Too long", field="title", details=details
    )
    details["max_length"] = 99  # the error keeps its own copy

    assert error.code == "application.title_too_long"
    assert error.message == "Too long"
    assert error.field == "title"
    assert error.details == {"max_length": 10}
    assert repr(error) == "ValidationError('application.title_too_long', field='title')"
    assert repr(errors.NotFound()) == "NotFound('not_found')"


def test_rate_limited_carries_retry_after() -> None:
    assert errors.RateLimited(retry_after=30).retry_after == 30
    assert errors.RateLimited().retry_after is None


def test_raised_and_caught_as_domain_error() -> None:
    with pytest.raises(errors.DomainError) as caught:
        raise errors.Conflict("application.already_submitted")

    assert isinstance(caught.value, errors.Conflict)
    assert caught.value.http_status == 409
