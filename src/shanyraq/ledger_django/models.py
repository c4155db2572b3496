"""The database side of the ledger: entries waiting to be sequenced, and each log's progress.

An entry is inserted in the same transaction as the change it records, with no index. The
integrator gives pending entries their indices (durably, before anything is published), writes
the tiles, and publishes signed checkpoints. ``LogState`` holds how far each step has come, so
that a run interrupted at any point is completed by the next one.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Entry(models.Model):
    """One ledger entry: canonical JSON bytes, and its index once sequenced."""

    # Queries by log are served by the unique (log, index) and the pending indexes below.
    log = models.CharField(max_length=40)
    data = models.BinaryField()
    kind = models.CharField(max_length=60, help_text=_("The entry's type field."))
    leaf_hash = models.CharField(max_length=64)
    index = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        # A pending entry (no index yet) is in one small index only; the integrator's update
        # that sequences it puts it in the others. Appending, the hot path, stays cheap.
        constraints = [
            models.UniqueConstraint(
                fields=["log", "index"],
                name="ledger_entry_index_unique",
                condition=models.Q(index__isnull=False),
            ),
        ]
        indexes = [
            models.Index(
                fields=["log", "id"],
                name="ledger_entry_pending",
                condition=models.Q(index__isnull=True),
            ),
            models.Index(
                fields=["log", "leaf_hash"],
                name="ledger_entry_leaf",
                condition=models.Q(index__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        where = f"#{self.index}" if self.index is not None else "pending"
        return f"{self.log} {where} {self.kind}"


class LogState(models.Model):
    """How far the integrator has come with one log."""

    log = models.CharField(max_length=40, unique=True)
    sequenced_size = models.BigIntegerField(default=0)
    integrated_size = models.BigIntegerField(default=0)
    integrated_root = models.CharField(max_length=64, blank=True)
    published_size = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("log state")
        verbose_name_plural = _("log states")

    def __str__(self) -> str:
        return f"{self.log}: {self.published_size}/{self.integrated_size}/{self.sequenced_size}"


class PublishedCheckpoint(models.Model):
    """Every checkpoint the log has published, with the cosignatures it carried."""

    log = models.CharField(max_length=40)
    size = models.BigIntegerField()
    root_hash = models.CharField(max_length=64)
    note = models.TextField()
    cosigners = models.JSONField(default=list)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("published checkpoint")
        verbose_name_plural = _("published checkpoints")
        constraints = [
            models.UniqueConstraint(fields=["log", "size"], name="ledger_checkpoint_size_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.log} @ {self.size}"


class WitnessProgress(models.Model):
    """The size each witness last cosigned for a log (its ``old`` in the next request)."""

    log = models.CharField(max_length=40)
    witness = models.CharField(max_length=200)
    size = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["log", "witness"], name="ledger_witness_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.witness} saw {self.log} @ {self.size}"
