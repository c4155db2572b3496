"""Writes for accounts: sign-in bookkeeping, tokens, second factor, memberships."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import pyotp
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.core.errors import RateLimited, ValidationError
from shanyraq.core.sql import plain_cursor

from .models import ApiToken, LoginAttempt, Membership, Role, User

TOKEN_PREFIX = "shq_"

__all__ = [
    "login_attempt_check",
    "login_attempt_record",
    "membership_create",
    "preferred_language_set",
    "token_authenticate",
    "token_create",
    "token_revoke",
    "totp_consume",
    "totp_enrol",
    "totp_step",
    "totp_unused_code",
]


def _window_start() -> datetime:
    return timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_attempt_check(*, identifier: str, address: str | None) -> None:
    """Refuse a sign-in while the account or the client address is locked out.

    An account is locked after too many failures within the window, until the lockout period
    has passed since the last failure. The same holds for a client address, with a higher limit
    (many people may share one address).
    """
    since = timezone.now() - timedelta(
        seconds=max(settings.LOGIN_FAILURE_WINDOW_SECONDS, settings.LOGIN_LOCKOUT_SECONDS)
    )
    failures = LoginAttempt.objects.filter(succeeded=False, created_at__gte=since)
    last_success = (
        LoginAttempt.objects.filter(identifier=identifier, succeeded=True)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    account_failures = failures.filter(identifier=identifier)
    if last_success is not None:
        account_failures = account_failures.filter(created_at__gt=last_success)
    if account_failures.count() >= settings.LOGIN_MAX_FAILURES_PER_ACCOUNT:
        raise RateLimited(
            code="login_locked",
            message=_("Too many failed attempts. Try again in 15 minutes."),
        )
    if address and failures.filter(address=address).count() >= (
        settings.LOGIN_MAX_FAILURES_PER_ADDRESS
    ):
        raise RateLimited(
            code="login_rate_limited",
            message=_("Too many failed attempts from your network. Try again later."),
        )


def login_attempt_record(*, identifier: str, address: str | None, succeeded: bool) -> None:
    LoginAttempt.objects.create(identifier=identifier, address=address, succeeded=succeeded)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, user: User, name: str = "cli", lifetime: timedelta | None = None
) -> tuple[ApiToken, str]:
    """Create a bearer token; the secret is returned once and only its hash is kept."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=secret[:12],
        key_hash=_hash_secret(secret),
        expires_at=timezone.now() + lifetime if lifetime else None,
    )
    return token, secret


class _TokenQuery:
    """The plain query that reads a token with its holder, and which of its columns need
    converting to the values the ORM would give: worked out once per kind of database."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        quote = connection.ops.quote_name
        user_fields = list(User._meta.concrete_fields)
        token_fields = [ApiToken._meta.get_field(name) for name in ("expires_at", "last_used_at")]
        columns = ", ".join(f"u.{quote(str(f.column))}" for f in user_fields)
        # The token's own columns, then its holder's, in the order of the model's fields.
        self.sql = (
            f"SELECT t.id, t.expires_at, t.last_used_at, {columns} "  # noqa: S608
            "FROM accounts_apitoken t JOIN accounts_user u ON u.id = t.user_id "
            "WHERE t.key_hash = %s AND t.revoked_at IS NULL"
        )
        self.token_fields = token_fields
        # The holder's fields by position, None where the column is the value already.
        self.user_fields = [f if _converters(connection, f) else None for f in user_fields]
        self.attnames = [f.attname for f in user_fields]


_TOKEN_QUERIES: dict[str, _TokenQuery] = {}


def _converters(connection: BaseDatabaseWrapper, field: Any) -> list[Any]:
    return [
        *connection.ops.get_db_converters(field.cached_col),
        *field.get_db_converters(connection),
    ]


def _converted(connection: BaseDatabaseWrapper, field: Any, value: Any) -> Any:
    """A column's value from a plain query as the ORM gives it (a datetime, not SQLite's text)."""
    for converter in _converters(connection, field):
        value = converter(value, field.cached_col, connection)
    return value


def token_authenticate(secret: str) -> User | None:
    """The active user a bearer token belongs to, or None.

    Every request a program makes comes through here, so the token and its holder are read
    by one plain query (prepared on PostgreSQL: ``core.sql``), whose text and column
    conversions are worked out once: building the same ORM query each time would cost
    several times more.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    db = connections[DEFAULT_DB_ALIAS]
    query = _TOKEN_QUERIES.get(db.vendor)
    if query is None:
        query = _TOKEN_QUERIES[db.vendor] = _TokenQuery(db)
    with plain_cursor(db.alias) as cursor:
        cursor.execute(query.sql, [_hash_secret(secret)])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id = row[0]
    expires_at, last_used_at = (
        _converted(db, field, value)
        for field, value in zip(query.token_fields, row[1:3], strict=True)
    )
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        return None
    values = [
        value if field is None else _converted(db, field, value)
        for field, value in zip(query.user_fields, row[3:], strict=True)
    ]
    user = User.from_db(db.alias, query.attnames, values)
    if not user.is_active:
        return None
    if last_used_at is None or now - last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def totp_enrol(*, user: User, secret: str | None = None) -> str:
    """Give the user a new TOTP secret and return it (base32)."""
    user.totp_secret = secret or pyotp.random_base32()
    user.totp_last_step = None
    user.save(update_fields=["totp_secret", "totp_last_step"])
    return user.totp_secret


def _time_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // 30)


def totp_step(user: User, code: str | None, *, at: float | None = None) -> int | None:
    """The time step whose security code ``code`` is (six digits, one step of clock drift
    either way), or ``None`` when it is none of them or the user has no secret.

    This only reads: ``totp_consume`` marks the step used once the password is right too.
    """
    if not user.totp_secret or not code:
        return None
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(user.totp_secret)
    now = _time_step(at)
    matched = None
    for step in (now - 1, now, now + 1):  # every step compared: the time does not tell which
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched


def totp_consume(*, user: User, step: int) -> bool:
    """Mark the code of ``step`` used. ``False`` when it, or a later one, was used already:
    a code seen before (read over a shoulder, or replayed) does not sign anyone in."""
    fresh = User.objects.filter(pk=user.pk).filter(
        models.Q(totp_last_step__isnull=True) | models.Q(totp_last_step__lt=step)
    )
    if not fresh.update(totp_last_step=step):
        return False
    user.totp_last_step = step
    return True


def totp_unused_code(user: User, *, at: float | None = None) -> str | None:
    """The earliest security code the user may still sign in with, as an authenticator app
    would show it (for the demo's ``totp_code`` command and the tests), or ``None`` when the
    codes of this step and the next are used already (wait for the next step)."""
    if not user.totp_secret:
        return None
    now = _time_step(at)
    last = User.objects.filter(pk=user.pk).values_list("totp_last_step", flat=True).first()
    step = now if last is None else max(now, last + 1)
    if step > now + 1:
        return None
    return pyotp.TOTP(user.totp_secret).generate_otp(step)


def preferred_language_set(*, user: User, language: str) -> None:
    """Remember the language a person chose, for messages sent to them later."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(code="unknown_language", message=_("Unknown language."))
    user.preferred_language = language
    user.save(update_fields=["preferred_language"])


def membership_create(*, user: User, agency_id: int, role: Role) -> Membership:
    membership, _created = Membership.objects.get_or_create(
        user=user, agency_id=agency_id, role=role
    )
    return membership
