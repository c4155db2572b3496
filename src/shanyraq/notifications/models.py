"""Messages to people: the inbox copy, one delivery per outside channel, and phone numbers.

A ``Notification`` is what the person reads in the portal; it is written in the transaction of
the change it announces and keeps its text in the three languages, so the inbox follows the
language the reader chose on the page. A ``Delivery`` is one email or SMS of that message,
rendered once in the recipient's preferred language and sent later by a worker; it is a row
rather than an ``on_commit`` callback so that nothing is lost when a process dies between the
commit and the send.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.core.text import TranslatedTextField


class Channel(models.TextChoices):
    """The outside channels a message may be delivered through; the inbox is always there."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Notification(models.Model):
    """One message to one person, shown in their inbox."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    template = models.CharField(max_length=80)
    dedupe_key = models.CharField(
        max_length=200,
        help_text=_("Names the occasion; a second message for the same occasion is not sent."),
    )
    subject = TranslatedTextField(max_length=300)
    body = TranslatedTextField()
    link = models.CharField(
        max_length=500, blank=True, help_text=_("A page of the portal the message is about.")
    )
    in_inbox = models.BooleanField(
        default=True, help_text=_("False when the message was sent only by email or SMS.")
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], name="notification_dedupe_unique"
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            # The unread count in the header of every page a signed-in person opens.
            models.Index(
                fields=["recipient"],
                name="notification_unread",
                condition=models.Q(read_at__isnull=True, in_inbox=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.recipient_id} ({self.dedupe_key})"


class Delivery(models.Model):
    """One email or SMS of a notification, with its sending state.

    ``attempts`` grows by one each time a worker claims the delivery; the pair (id, attempts)
    therefore names one claim, and only the worker holding it may record the outcome.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    idempotency_key = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Given to the channel on every attempt, so a retry is never sent twice."),
    )
    address = models.CharField(
        max_length=254, help_text=_("The email address or phone number at the time of sending.")
    )
    language = models.CharField(max_length=2)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("A worker is sending it until then; afterwards another may try again."),
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_ref = models.CharField(
        max_length=200, blank=True, help_text=_("The gateway's identifier of the sent message.")
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_channel_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="delivery_pending",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} ({self.status})"


class ContactPoint(models.Model):
    """The phone number a person receives SMS messages on.

    The accounts app has no phone field, and a phone number matters only to notifications, so
    it lives here, one per person, written through ``contact_phone_set``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="contact_point",
    )
    phone = models.CharField(_("mobile phone"), max_length=16, help_text=_("In E.164 form."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.phone}"
