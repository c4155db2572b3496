"""The outbox: domain events written in the transaction of the change they announce."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """Something that happened in the domain (``PersonBorn``, ``RecordUpdated``, ...)."""

    type = models.CharField(max_length=80, db_index=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("domain event")
        verbose_name_plural = _("domain events")
        indexes = [
            models.Index(
                fields=["id"],
                name="event_pending",
                condition=models.Q(dispatched_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class HandledEvent(models.Model):
    """A handler's receipt for an event: delivery is at least once, handling exactly once."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="receipts")
    handler = models.CharField(max_length=120)
    handled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="handled_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.handler} handled {self.event_id}"
