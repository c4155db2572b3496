"""Writes for accounts: sign-in bookkeeping, tokens, second factor, memberships."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import pyotp
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.core.errors import RateLimited, ValidationError

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
    "totp_enrol",
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


def token_authenticate(secret: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_secret(secret), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def totp_enrol(*, user: User, secret: str | None = None) -> str:
    """Give the user a new TOTP secret and return it (base32)."""
    user.totp_secret = secret or pyotp.random_base32()
    user.save(update_fields=["totp_secret"])
    return user.totp_secret


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
