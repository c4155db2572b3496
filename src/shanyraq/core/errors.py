"""Domain errors raised by services.

Services speak in these errors and never in HTTP responses; the interfaces (views, the API)
translate them into responses, using ``http_status`` as the hint. ``code`` is a stable,
machine-readable identifier that clients may branch on; ``message`` is the text shown to a
person, translated lazily so that it renders in the language of the request that displays it.

The names ``ValidationError`` and ``PermissionDenied`` deliberately mirror Django's; import this
module (``from shanyraq.core import errors``) where both are in scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

__all__ = [
    "Conflict",
    "DomainError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ValidationError",
]


class DomainError(Exception):
    """Base class of every error a service raises on purpose.

    ``str(error)`` is the machine code, so logs and tracebacks stay readable without a
    translation context; show ``error.message`` to people.
    """

    http_status: ClassVar[int] = 400
    default_code: ClassVar[str] = "error"
    default_message: ClassVar[_StrOrPromise] = _("The request could not be completed.")

    code: str
    message: _StrOrPromise
    field: str | None
    details: dict[str, object]

    def __init__(
        self,
        code: str | None = None,
        message: _StrOrPromise | None = None,
        *,
        field: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        self.code = code if code is not None else self.default_code
        self.message = message if message is not None else self.default_message
        self.field = field
        self.details = dict(details) if details is not None else {}
        super().__init__(self.code)

    def __repr__(self) -> str:
        field = f", field={self.field!r}" if self.field is not None else ""
        return f"{type(self).__name__}({self.code!r}{field})"


class ValidationError(DomainError):
    """The input is well-formed but breaks a rule of the domain."""

    http_status = 422
    default_code = "invalid"
    default_message = _("The data you entered is not valid.")


class NotFound(DomainError):
    """The thing asked for does not exist, or the actor may not know that it exists."""

    http_status = 404
    default_code = "not_found"
    default_message = _("We could not find what you asked for.")


class PermissionDenied(DomainError):
    """The actor is known but not allowed to do this."""

    http_status = 403
    default_code = "permission_denied"
    default_message = _("You are not allowed to do this.")


class Conflict(DomainError):
    """The action clashes with the current state (already submitted, stale version, ...)."""

    http_status = 409
    default_code = "conflict"
    default_message = _("This was changed in the meantime. Reload and try again.")


class RateLimited(DomainError):
    """The actor has tried too often; ``retry_after`` is in seconds when it is known."""

    http_status = 429
    default_code = "rate_limited"
    default_message = _("Too many attempts. Please wait and try again.")

    retry_after: int | None

    def __init__(
        self,
        code: str | None = None,
        message: _StrOrPromise | None = None,
        *,
        field: str | None = None,
        details: Mapping[str, object] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(code, message, field=field, details=details)
        self.retry_after = retry_after
