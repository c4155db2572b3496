"""Agencies and their services, each service a series of versions of its passport.

A published version never changes; editing a service means drafting a new version and
publishing it. ``Service.current_version`` points at the latest published version, which is the
one citizens see.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shanyraq.core.text import TranslatedTextField

code_validator = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    _("Use lowercase Latin letters, digits and single hyphens."),
)


class AgencyKind(models.TextChoices):
    MINISTRY = "ministry", _("Ministry")
    COMMITTEE = "committee", _("Committee")
    AGENCY = "agency", pgettext_lazy("kind of state body", "Agency")
    AKIMAT = "akimat", _("Local executive body (akimat)")
    CORPORATION = "corporation", _("State corporation")


class Agency(models.Model):
    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    kind = models.CharField(max_length=16, choices=AgencyKind.choices)
    name = TranslatedTextField()
    short_name = TranslatedTextField()
    description = TranslatedTextField()
    region = models.CharField(max_length=40, blank=True)
    website = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")

    def __str__(self) -> str:
        return str(self.short_name)


class Category(models.Model):
    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    name = TranslatedTextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return str(self.name)


class LifeEvent(models.Model):
    code = models.CharField(max_length=40, unique=True, validators=[code_validator])
    name = TranslatedTextField()
    description = TranslatedTextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("life event")
        verbose_name_plural = _("life events")

    def __str__(self) -> str:
        return str(self.name)


class Service(models.Model):
    """The lasting identity of a service: its code and owning agency."""

    code = models.CharField(max_length=60, unique=True, validators=[code_validator])
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="services")
    current_version = models.OneToOneField(
        "ServiceVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The latest published version; citizens see this one."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return self.code


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class ServiceVersion(models.Model):
    """One version of a service passport. Immutable once published."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    life_events = models.ManyToManyField(LifeEvent, blank=True, related_name="+")
    name = TranslatedTextField()
    description = TranslatedTextField()
    who_may_apply = TranslatedTextField()
    result = TranslatedTextField()
    legal_basis = TranslatedTextField()
    required_documents = models.JSONField(default=list, blank=True)
    fee_kzt = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    deadline_days = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    fully_online = models.BooleanField(default=False)
    proactive = models.BooleanField(default=False)
    esign_required = models.BooleanField(default=False)
    form = models.JSONField(null=True, blank=True)
    # How applications are handled (``casework.declarations``): the steps and who takes them,
    # and the rules an automatic decision applies. Both None for services without applications.
    process = models.JSONField(null=True, blank=True)
    rules = models.JSONField(null=True, blank=True)
    search_text = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service", "-number"]
        verbose_name = _("service version")
        verbose_name_plural = _("service versions")
        constraints = [
            models.UniqueConstraint(fields=["service", "number"], name="service_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Last line of defence behind the services: a published row is never rewritten.
        if self.pk is not None:
            stored = ServiceVersion.objects.filter(pk=self.pk).values_list("status", flat=True)
            if stored.first() == VersionStatus.PUBLISHED:
                raise ValidationError(_("A published version cannot be changed."))
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED


class CatalogState(models.Model):
    """One row counting changes to what citizens see: cached pages are keyed by it."""

    generation = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("catalog state")
        verbose_name_plural = _("catalog state")

    def __str__(self) -> str:
        return f"generation {self.generation}"
