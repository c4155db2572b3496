"""Official registers: each a versioned JSON Schema; each record a chain of immutable versions.

A record never changes in place. Creating, updating or deleting it writes a new
``RecordVersion`` (a deletion writes a tombstone) together with its ledger entry, in one
transaction, through ``registries.services``. The database is not trusted on its own: the
ledger holds a salted commitment to every version, so ``shanyraq registry audit`` can tell
any change made behind the services' back.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from shanyraq.core.text import TranslatedTextField


class Register(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = TranslatedTextField()
    description = TranslatedTextField()
    key_field = models.CharField(
        max_length=60, help_text=_("The field that identifies a record (IIN, BIN, ...).")
    )
    search_fields = models.JSONField(
        default=list, help_text=_("Top-level fields records can be searched by.")
    )
    subject_paths = models.JSONField(
        default=list,
        help_text=_("Where the IINs of the people a record is about are, e.g. owners[].iin."),
    )
    current_schema = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["code"]
        verbose_name = _("register")
        verbose_name_plural = _("registers")

    def __str__(self) -> str:
        return self.code


class RegisterSchema(models.Model):
    """One version of a register's JSON Schema. Records name the version they were valid for."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="schemas")
    version = models.PositiveIntegerField()
    schema = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["register", "version"], name="register_schema_unique")
        ]

    def __str__(self) -> str:
        return f"{self.register_id} schema v{self.version}"


class Record(models.Model):
    # Served by the unique (register, key) index, whose first column it is.
    register = models.ForeignKey(
        Register, on_delete=models.PROTECT, related_name="records", db_index=False
    )
    key = models.CharField(max_length=80)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.PositiveIntegerField(default=0)
    is_deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["register", "key"], name="record_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.register_id}:{self.public_id} v{self.version}"


class Operation(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")


class RecordVersion(models.Model):
    """An immutable version of a record, with who, on what basis, and its ledger entry."""

    # Served by the unique (record, number) index, whose first column it is.
    record = models.ForeignKey(
        Record, on_delete=models.PROTECT, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    op = models.CharField(max_length=8, choices=Operation.choices)
    data = models.JSONField()
    schema_version = models.PositiveIntegerField()
    salt = models.CharField(max_length=64, help_text=_("Hex; opens the ledger commitment."))
    commitment = models.CharField(max_length=64)
    # Loads by the system have neither: the partial indexes below skip them.
    actor = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    agency = models.ForeignKey(
        "catalog.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    basis = models.CharField(max_length=300)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    ledger_entry = models.OneToOneField(
        "ledger.Entry", on_delete=models.PROTECT, related_name="record_version"
    )

    class Meta:
        ordering = ["record", "number"]
        constraints = [
            models.UniqueConstraint(fields=["record", "number"], name="record_version_unique")
        ]
        indexes = [
            models.Index(
                fields=["actor"],
                name="record_version_actor",
                condition=models.Q(actor__isnull=False),
            ),
            models.Index(
                fields=["agency"],
                name="record_version_agency",
                condition=models.Q(agency__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} v{self.number} {self.op}"


class SearchValue(models.Model):
    """A searchable field value of a record's current version (kept by the services)."""

    # Served by the (register, field, value) index, whose first column it is.
    register = models.ForeignKey(
        Register, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="search_values")
    field = models.CharField(max_length=60)
    value = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["register", "field", "value"])]

    def __str__(self) -> str:
        return f"{self.field}={self.value}"


class Grant(models.Model):
    """What one role of one agency may do with one register, and which fields it may read.

    ``fields`` lists the readable top-level fields (``["*"]`` for all). Reading always needs a
    stated purpose and legal basis and is written to the data tracker.
    """

    agency = models.ForeignKey("catalog.Agency", on_delete=models.CASCADE, related_name="+")
    register = models.ForeignKey(Register, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=16)
    fields = models.JSONField(default=list)
    may_write = models.BooleanField(default=False)
    legal_basis = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "register", "role"], name="register_grant_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency_id}/{self.role} on {self.register_id}"


class IinSerial(models.Model):
    """The next IIN serial to try for people born on one day, of one sex.

    Registering a birth locks the row of the child's birth date and sex, takes the serials it
    needs from ``next_serial`` on (skipping those that cannot be issued or are already someone's
    IIN) and moves it past them, so concurrent registrations never give out the same IIN.
    """

    birth_date = models.DateField()
    sex = models.CharField(max_length=1, help_text=_("M or F, as in the population register."))
    next_serial = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["birth_date", "sex"], name="iin_serial_unique")
        ]
        verbose_name = _("IIN serial counter")
        verbose_name_plural = _("IIN serial counters")

    def __str__(self) -> str:
        return f"{self.birth_date} {self.sex}: {self.next_serial}"
