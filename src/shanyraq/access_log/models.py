"""The data tracker: who read whose data, which fields, why, and when.

One ``AccessRecord`` is written for every person a read concerns, in the transaction of the
read itself, by the selectors that show official data to officials and agency systems. The
person sees their own records in the portal and through the API; nobody edits them.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccessAction(models.TextChoices):
    READ = "read", _("Viewed the record")
    HISTORY = "history", _("Viewed the record's history")
    VERSION = "version", _("Viewed a version of the record")
    SEARCH = "search", _("Found the record in a search")


class AccessRecord(models.Model):
    """One read of one person's data by an official or an agency system."""

    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(
        max_length=150, help_text=_("The official's or the agency system's name at the time.")
    )
    agency = models.ForeignKey("catalog.Agency", on_delete=models.PROTECT, related_name="+")
    subject_iin = models.CharField(_("IIN of the person"), max_length=12)
    register = models.CharField(max_length=40)
    record = models.UUIDField(help_text=_("The record's public identifier."))
    action = models.CharField(max_length=10, choices=AccessAction.choices)
    fields = models.JSONField(default=list, help_text=_("The fields that were shown."))
    purpose = models.CharField(max_length=300)
    legal_basis = models.CharField(max_length=300)
    case_ref = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("access record")
        verbose_name_plural = _("access records")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["subject_iin", "-created_at", "-id"], name="access_subject_recent"
            ),
            # The auditors' view of the whole log, newest first.
            models.Index(fields=["-created_at", "-id"], name="access_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} read {self.register}:{self.record} ({self.action})"
