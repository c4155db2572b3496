"""Writes to the ledger: appending entries, and integrating them into the published log.

``ledger_append`` is called by other apps' services inside their own transaction, so a change
and the entry that records it commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from shanyraq.core.bulk import insert_many
from shanyraq.core.canonical_json import canonicalize
from shanyraq.core.errors import ValidationError
from shanyraq.ledger.merkle import leaf_hash
from shanyraq.ledger.tiles import MAX_ENTRY_SIZE

from . import config
from .integrator import IntegrationOutcome, log_integrate
from .models import Entry

__all__ = [
    "IntegrationOutcome",
    "default_log",
    "ledger_append",
    "ledger_append_bytes",
    "ledger_append_many",
    "log_integrate",
]


def default_log() -> str:
    """The log the platform's own entries go to: the first configured one."""
    return str(settings.LEDGER_LOGS[0])


def ledger_append(*, entry: Mapping[str, Any], log: str | None = None) -> Entry:
    """Append a JSON entry (serialised with RFC 8785) to ``log`` in the current transaction."""
    return ledger_append_many(entries=[entry], log=log)[0]


def ledger_append_many(
    *, entries: Sequence[Mapping[str, Any]], log: str | None = None
) -> list[Entry]:
    """Append JSON entries to ``log`` in the current transaction, in order, with one insert.

    Either every entry is acceptable and all are appended, or none is.
    """
    log = log or default_log()
    prepared = []
    for entry in entries:
        kind = entry.get("type")
        if not isinstance(kind, str) or not kind:
            raise ValidationError(
                code="ledger_entry_type", message=_("A ledger entry needs a 'type'."), field="type"
            )
        try:
            data = canonicalize(dict(entry))
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                code="ledger_entry_json",
                message=_("A ledger entry must be plain JSON."),
                details={"reason": str(exc)},
            ) from None
        prepared.append(_entry(log, data, kind))
    return _insert(prepared)


def ledger_append_bytes(*, log: str, data: bytes, kind: str) -> Entry:
    return _insert([_entry(log, data, kind)])[0]


def _entry(log: str, data: bytes, kind: str) -> Entry:
    config.get_log(log)  # unknown logs are a programming error, not input
    if not data:
        raise ValidationError(code="ledger_entry_empty", message=_("A ledger entry is empty."))
    if len(data) > MAX_ENTRY_SIZE:
        raise ValidationError(
            code="ledger_entry_too_large",
            message=_("A ledger entry may be at most 65,535 bytes."),
            details={"size": len(data), "limit": MAX_ENTRY_SIZE},
        )
    return Entry(log=log, data=data, kind=kind[:60], leaf_hash=leaf_hash(data).hex())


def _insert(entries: list[Entry]) -> list[Entry]:
    if not transaction.get_connection().in_atomic_block:
        # Appending outside a transaction would record an entry without its change.
        raise RuntimeError("ledger_append must run inside the caller's transaction")
    if len(entries) == 1:
        entries[0].save(force_insert=True)
        return entries
    return insert_many(Entry, entries)
