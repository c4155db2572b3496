"""Applications and the casework they go through.

An ``Application`` is a citizen's request for one published service version: a draft while it
is being filled in, then a case moving through the version's declared process. Its status
history (``CaseEvent``) is append-only; decisions also go to the ledger. Files people attach
live outside the web root and are served only to those allowed to see the application.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING_PARTIES = "awaiting_parties", _("Waiting for the other party")
    ACTIVE = "active", _("Being processed")
    PAUSED = "paused", _("Waiting for your information")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


FINAL_STATUSES = frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN})

NO_DEADLINE = datetime.date(9999, 12, 31)
DUE = Coalesce(F("deadline"), Value(NO_DEADLINE))
"""The day a case is due, a case without a deadline as due last: what queues sort and
filter by (``deadline`` with its NULLs, which an index cannot range over together)."""


class Application(models.Model):
    number = models.CharField(max_length=20, unique=True)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    service_version = models.ForeignKey(
        "catalog.ServiceVersion", on_delete=models.PROTECT, related_name="+"
    )
    agency = models.ForeignKey("catalog.Agency", on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    # The process step and its clock (``casework.workflow.CaseState``), once submitted.
    step = models.CharField(max_length=40, blank=True)
    step_entered_on = models.DateField(null=True, blank=True)
    deadline = models.DateField(null=True, blank=True)
    paused_since = models.DateField(null=True, blank=True)
    paused_days = models.PositiveIntegerField(default=0)
    # What the applicant entered, and what the registers said (field -> value and source).
    answers = models.JSONField(default=dict, blank=True)
    prefilled = models.JSONField(default=dict, blank=True)
    form_step = models.PositiveSmallIntegerField(default=0)
    # The automatic decision's explanation: every condition, the facts it used, its outcome.
    decision_trace = models.JSONField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # A client's Idempotency-Key for the submission: the same key gives the same application.
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    escalated_for = models.DateField(
        null=True, blank=True, help_text=_("The deadline whose lapse was last escalated.")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                name="application_idempotency",
                condition=~models.Q(idempotency_key=""),
            )
        ]
        indexes = [
            # The back office's queues: an agency's open cases by step and deadline.
            models.Index(fields=["agency", "status", "step", "deadline"], name="application_queue"),
            models.Index(fields=["applicant", "-created_at"], name="application_mine"),
            # A queue's first page in deadline order (or of the cases due before, on or
            # after a day), read from the index without sorting every open case: a busy
            # agency has hundreds of thousands. Cases without a deadline sort last.
            models.Index(
                F("agency"),
                DUE,
                F("submitted_at"),
                F("id"),
                name="application_open_queue",
                condition=models.Q(status__in=["active", "paused"]),
            ),
            models.Index(
                fields=["agency", "submitted_at", "id"],
                name="application_open_submitted",
                condition=models.Q(status__in=["active", "paused"]),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class Party(models.Model):
    """A person named in an application who must confirm it (the buyer in a sale)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(max_length=40)
    iin = models.CharField(max_length=12)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "role"], name="party_role_unique")
        ]
        indexes = [models.Index(fields=["iin"], name="party_iin")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.role}"


class CaseEvent(models.Model):
    """One entry of an application's history. Rows are only ever added."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=40)
    from_step = models.CharField(max_length=40, blank=True)
    to_step = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_kind = models.CharField(max_length=20)  # applicant, party, official, system
    note = models.TextField(blank=True)
    deadline = models.DateField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}"


class Comment(models.Model):
    """An officials' note on a case; never shown to the applicant."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} comment {self.pk}"


class InfoRequest(models.Model):
    """An official's question to the applicant; the step's clock stops until it is answered."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="info_requests"
    )
    question = models.TextField()
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    asked_at = models.DateTimeField()
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} question {self.pk}"


class Attachment(models.Model):
    """A file attached to an application, stored outside the web root under its digest.

    ``public_id`` is what the answer of the form's field holds and what links name; ``field``
    is the form's field, or "" for a file sent with an answer to the agency's question. The
    content type is the one the file's first bytes show, not the one the sender claimed.
    """

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="attachments"
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    field = models.CharField(max_length=60, blank=True)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.name}"


class WorkItem(models.Model):
    """Work for ``shanyraq worker``: an application to process automatically.

    Written in the transaction that makes the work necessary (a submission, an answer), so
    nothing acknowledged is forgotten; claimed with a lease, so a worker killed mid-task
    leaves the item to be taken again; done at most once because the processing checks the
    application's state in the same transaction that marks the item done.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, default="advance")
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], name="work_item_pending", condition=models.Q(done_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.application_id}"


class Counter(models.Model):
    """Sequences for application numbers, one row per year."""

    name = models.CharField(max_length=40, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
