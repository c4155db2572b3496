"""People who sign in, their roles in agencies, API tokens and sign-in attempts."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from shanyraq.core.national_id import iin_validator


class Role(models.TextChoices):
    """A person's role within one agency. Citizens have no membership at all."""

    CLERK = "clerk", _("Clerk")
    REVIEWER = "reviewer", _("Reviewer")
    HEAD = "head", _("Head of unit")
    ADMIN = "admin", _("Agency administrator")


OFFICIAL_ROLES = frozenset({Role.CLERK, Role.REVIEWER, Role.HEAD})


class User(AbstractUser):
    """Anyone who signs in: a citizen (by IIN), an official, an auditor or an administrator.

    Citizens are identified by their IIN; staff by a username and a second factor (TOTP).
    """

    iin = models.CharField(
        _("IIN"),
        max_length=12,
        unique=True,
        null=True,
        blank=True,
        validators=[iin_validator],
        help_text=_("Individual identification number (citizens only)."),
    )
    middle_name = models.CharField(_("patronymic"), max_length=150, blank=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=2,
        choices=[("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")],
        default="kk",
    )
    totp_secret = models.CharField(_("TOTP secret"), max_length=64, blank=True, editable=False)
    # The 30-second time step of the last security code accepted: a code is good once
    # (RFC 6238, section 5.2), so neither it nor an earlier one is accepted again.
    totp_last_step = models.BigIntegerField(null=True, blank=True, editable=False)
    is_auditor = models.BooleanField(
        _("auditor"),
        default=False,
        help_text=_("May read every agency's catalog history; may change nothing."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def is_citizen(self) -> bool:
        return bool(self.iin) and not self.requires_second_factor

    @property
    def requires_second_factor(self) -> bool:
        """Staff of every kind signs in with a TOTP code as well as a password."""
        return self.is_superuser or self.is_auditor or self.has_memberships

    @property
    def has_memberships(self) -> bool:
        cached = getattr(self, "_membership_cache", None)
        if cached is not None:
            return bool(cached)
        if self.pk is None:
            return False
        return self.memberships.exists()

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


class Membership(models.Model):
    """A user holds a role in an agency."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(
        "catalog.Agency", on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "agency", "role"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.agency_id} ({self.role})"


class ApiToken(models.Model):
    """A bearer token for a program acting as a user. Only a hash of the secret is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class LoginAttempt(models.Model):
    """One sign-in attempt, kept for rate limiting, lockout and the security audit."""

    identifier = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    succeeded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("sign-in attempt")
        verbose_name_plural = _("sign-in attempts")
        indexes = [models.Index(fields=["identifier", "created_at"])]

    def __str__(self) -> str:
        outcome = "ok" if self.succeeded else "failed"
        return f"{self.identifier} {outcome} {self.created_at:%Y-%m-%d %H:%M}"
