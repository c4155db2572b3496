"""Replay the public ledger against the registers and report every difference.

The published log is the reference: its entries are read from the tiles (not from the
database, which is what is being checked). Each finding names the register, the record, the
version and, where the data was altered, the fields:

* ``altered``: the version's data no longer opens its ledger commitment (fields named);
* ``missing-from-ledger``: a version with no published ledger entry that matches it;
* ``missing-version``: a published ledger entry whose version is not in the database;
* ``inconsistent``: a record whose header (current version, deletion, key) disagrees with its
  versions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F, Max
from django.utils import timezone

from shanyraq.ledger.errors import LedgerError
from shanyraq.ledger_django import selectors as ledger_selectors

from . import commitments
from .models import Record, RecordVersion

ENTRY_TYPE = "registry.record"


@dataclass(frozen=True)
class Finding:
    kind: str
    register: str
    record: str
    version: int | None
    detail: str

    def line(self) -> str:
        version = f" v{self.version}" if self.version is not None else ""
        return f"{self.kind}: {self.register} {self.record}{version}: {self.detail}"


@dataclass(frozen=True)
class LoggedVersion:
    index: int
    op: str
    commitment: str
    fields: dict[str, str]


def _logged_versions(log: str) -> Iterator[tuple[tuple[str, str, int], LoggedVersion]]:
    for index, data in ledger_selectors.published_entries(log):
        try:
            entry = json.loads(data)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("type") != ENTRY_TYPE:
            continue
        key = (str(entry.get("registry")), str(entry.get("record")), int(entry.get("version", 0)))
        yield (
            key,
            LoggedVersion(
                index=index,
                op=str(entry.get("op")),
                commitment=str(entry.get("commitment")),
                fields=dict(entry.get("fields") or {}),
            ),
        )


def _altered_fields(version_data: dict[str, object], salt: str, logged: LoggedVersion) -> str:
    actual = commitments.field_commitments(salt, version_data)
    changed = sorted(
        f for f in actual.keys() & logged.fields.keys() if actual[f] != logged.fields[f]
    )
    added = sorted(actual.keys() - logged.fields.keys())
    removed = sorted(logged.fields.keys() - actual.keys())
    parts = []
    if changed:
        parts.append("changed " + ", ".join(changed))
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    return "; ".join(parts) or "data differs from the commitment"


def audit(
    *, log: str, register: str | None = None, batch: int = 5000, grace_seconds: int = 600
) -> list[Finding]:
    """Compare every record version with the published ledger; return the findings.

    A version whose ledger entry is still waiting to be published is not a finding while the
    entry is younger than ``grace_seconds`` (the integrator publishes within seconds).
    """
    try:
        logged = dict(_logged_versions(log))
    except LedgerError as exc:
        return [Finding("ledger-unreadable", register or "*", "*", None, str(exc))]
    seen: set[tuple[str, str, int]] = set()
    findings: list[Finding] = []
    versions = RecordVersion.objects.select_related("record__register", "ledger_entry").order_by(
        "pk"
    )
    if register:
        versions = versions.filter(record__register__code=register)
    rows = versions.values_list(
        "record__register__code",
        "record__public_id",
        "number",
        "op",
        "data",
        "salt",
        "ledger_entry__index",
        "ledger_entry__created_at",
    ).iterator(chunk_size=batch)
    published_size = ledger_selectors.published_size(log)
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    for reg, public_id, number, op, data, salt, entry_index, entry_time in rows:
        key = (reg, str(public_id), number)
        entry = logged.get(key)
        if entry is None:
            waiting = entry_index is None or entry_index >= published_size
            if waiting and entry_time > cutoff:
                continue  # written moments ago; the next audit will see it published
            detail = "its ledger entry was never published" if waiting else "no ledger entry"
            findings.append(Finding("missing-from-ledger", reg, str(public_id), number, detail))
            continue
        seen.add(key)
        if entry.op != op:
            findings.append(
                Finding(
                    "altered", reg, str(public_id), number, f"operation {op}, logged {entry.op}"
                )
            )
        if commitments.commit(salt, data) != entry.commitment:
            detail = _altered_fields(data, salt, entry)
            findings.append(Finding("altered", reg, str(public_id), number, detail))
    for key, entry in logged.items():
        if key in seen or (register and key[0] != register):
            continue
        findings.append(
            Finding("missing-version", key[0], key[1], key[2], f"ledger entry #{entry.index}")
        )
    findings.extend(_record_headers(register))
    return findings


def _record_headers(register: str | None) -> list[Finding]:
    """Records whose header disagrees with their versions (number, deletion flag, key)."""
    findings: list[Finding] = []
    records = Record.objects.annotate(latest=Max("versions__number")).values_list(
        "register__code", "public_id", "version", "latest"
    )
    if register:
        records = records.filter(register__code=register)
    for reg, public_id, number, latest in records.iterator(chunk_size=5000):
        if latest != number:
            detail = f"the record says version {number}, its versions end at {latest}"
            findings.append(Finding("inconsistent", reg, str(public_id), number, detail))
    current = RecordVersion.objects.filter(number=F("record__version")).values_list(
        "record__register__code",
        "record__register__key_field",
        "record__public_id",
        "record__key",
        "record__is_deleted",
        "number",
        "op",
        "data",
    )
    if register:
        current = current.filter(record__register__code=register)
    for reg, key_field, public_id, key, deleted, number, op, data in current.iterator(5000):
        if deleted != (op == "delete"):
            findings.append(
                Finding("inconsistent", reg, str(public_id), number, "deletion flag differs")
            )
        elif op != "delete" and data.get(key_field) != key:
            detail = f"the record's key differs from its {key_field}"
            findings.append(Finding("inconsistent", reg, str(public_id), number, detail))
    return findings
