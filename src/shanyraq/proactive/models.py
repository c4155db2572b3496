"""Offers the platform makes when something happens in a life, and the consents people give."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OfferStatus(models.TextChoices):
    OPEN = "open", _("Waiting for your answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    FULFILLED = "fulfilled", _("Applied for by another recipient")


class ItemStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    APPLIED = "applied", _("Applied for")
    TAKEN = "taken", _("Applied for by another recipient")
    FAILED = "failed", _("Could not be applied for")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")


class Trigger(models.Model):
    """One life event looked at for one proactive service: the "events seen" of its measures.

    Written by the event's handler in its transaction, whatever it found; unique, so an
    event delivered twice is counted (and handled) once.
    """

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    service_version = models.ForeignKey(
        "catalog.ServiceVersion", on_delete=models.PROTECT, related_name="+"
    )
    event_type = models.CharField(max_length=40)
    event_at = models.DateTimeField()
    offered = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "service_version"], name="trigger_unique")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.event_id} -> {self.service_version_id}"


class Offer(models.Model):
    """What one person is offered after one life event: one or more services, answered by
    them once (accept or decline), until ``deadline``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    event_type = models.CharField(max_length=40)
    event_at = models.DateTimeField()
    iin = models.CharField(max_length=12)
    user = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    relation = models.CharField(max_length=20, blank=True)
    subject_iin = models.CharField(max_length=12, blank=True)
    status = models.CharField(max_length=12, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    code = models.CharField(max_length=8, help_text="The code an SMS reply carries.")
    deadline = models.DateTimeField()
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_via = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "iin"], name="offer_once_per_event"),
            models.UniqueConstraint(
                fields=["iin", "code"], condition=Q(status="open"), name="offer_open_code_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["iin", "status"]),
            models.Index(
                fields=["deadline"], name="offer_open_deadline", condition=Q(status="open")
            ),
        ]

    def __str__(self) -> str:
        return f"offer {self.public_id} ({self.event_type}) to {self.iin}"


class OfferItem(models.Model):
    """One service of an offer, with the answers its application would be made with."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="items")
    trigger = models.ForeignKey(Trigger, on_delete=models.PROTECT, related_name="items")
    service_version = models.ForeignKey(
        "catalog.ServiceVersion", on_delete=models.PROTECT, related_name="+"
    )
    answers = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.OFFERED)
    # Set when applied for: one application per event and service, whichever recipient
    # accepts first (both parents are offered the childbirth benefit; it is paid once).
    claim = models.CharField(max_length=120, null=True, blank=True, unique=True)
    application = models.ForeignKey(
        "casework.Application", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    problem = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.offer_id}: {self.service_version_id} ({self.status})"


class Consent(models.Model):
    """A person's consent to the use of their data for the services of one offer.

    It says what data (the registers and fields the services read, the answers given), for
    which purpose, for which services, when and through which channel it was given; it
    stays until withdrawn. Withdrawing stops every application made under it that is not
    yet decided.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    offer = models.OneToOneField(Offer, on_delete=models.PROTECT, related_name="consent")
    purpose = models.JSONField(help_text="The purpose in the three languages.")
    data = models.JSONField(help_text="The data used: registers and their fields, the answers.")
    services = models.JSONField(help_text="The codes of the services it covers.")
    channel = models.CharField(max_length=8)
    given_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at", "-pk"]

    def __str__(self) -> str:
        return f"consent {self.public_id} of {self.user_id}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class InboundSms(models.Model):
    """An SMS reply received from the gateway, kept so that a replay is recognised."""

    message_id = models.CharField(max_length=100, unique=True)
    sender = models.CharField(max_length=20)
    text = models.CharField(max_length=500)
    outcome = models.CharField(max_length=20)
    offer = models.ForeignKey(Offer, on_delete=models.SET_NULL, null=True, blank=True)
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"sms {self.message_id}: {self.outcome}"


class AgeCheck(models.Model):
    """A day on which the platform looked for people reaching the ages services declare."""

    day = models.DateField(unique=True)
    found = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"ages checked on {self.day}: {self.found}"
