"""Replay the public ledger against the registers and report every difference.

The published log is the reference: its entries are read from the tiles (not from the
database, which is what is being checked). Each finding names the register, the record, the
version and, where the data was altered, the fields:

* ``altered``: the version's data no longer opens its ledger commitment (fields named);
* ``missing-from-ledger``: a version with no published ledger entry that matches it;
* ``missing-version``: a published ledger entry whose version is not in the database;
* ``inconsistent``: a record whose header (current version, deletion, key) disagrees with its
  versions.

The audit has to get through a million versions in well under a minute, so it reads the
database once, records with their versions in order, and keeps from each ledger entry only
what every version is compared with. The rare details (which fields changed, whether a missing
entry is merely waiting to be published) are looked up afterwards, for the findings alone.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from shanyraq.core.canonical_json import canonicalize
from shanyraq.ledger.errors import LedgerError
from shanyraq.ledger_django import selectors as ledger_selectors

from . import commitments
from .models import Record, RecordVersion, Register

ENTRY_TYPE = "registry.record"

# The ledger entry behind a version: (register code, record public id, version number).
VersionKey = tuple[str, str, int]


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


@dataclass(frozen=True, slots=True)
class LoggedVersion:
    """What a version is checked against; the per-field commitments are read only when needed.

    One is held for every published version during the audit, so it is kept small.
    """

    index: int
    op: str
    commitment: str


def _registry_entries(log: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, data in ledger_selectors.published_entries(log):
        try:
            entry = json.loads(data)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("type") == ENTRY_TYPE:
            yield index, entry


def _logged_versions(log: str) -> dict[VersionKey, LoggedVersion]:
    logged: dict[VersionKey, LoggedVersion] = {}
    # A handful of register codes and operations repeat in every entry: keep one copy of each.
    names: dict[str, str] = {}
    for index, entry in _registry_entries(log):
        registry, op = str(entry.get("registry")), str(entry.get("op"))
        key = (
            names.setdefault(registry, registry),
            str(entry.get("record")),
            int(entry.get("version", 0)),
        )
        logged[key] = LoggedVersion(
            index=index, op=names.setdefault(op, op), commitment=str(entry.get("commitment"))
        )
    return logged


def _logged_fields(log: str, indexes: set[int]) -> dict[int, dict[str, str]]:
    """The per-field commitments of the entries at ``indexes``, read again from the tiles.

    Holding them for every entry would take gigabytes for a large register; they are only
    wanted for versions whose whole commitment did not open.
    """
    fields: dict[int, dict[str, str]] = {}
    if not indexes:
        return fields
    for index, entry in _registry_entries(log):
        if index in indexes:
            fields[index] = dict(entry.get("fields") or {})
            if len(fields) == len(indexes):
                break
    return fields


def _altered_fields(
    version_data: dict[str, object], salt: str, logged_fields: dict[str, str]
) -> str:
    actual = commitments.field_commitments(salt, version_data)
    changed = sorted(
        f for f in actual.keys() & logged_fields.keys() if actual[f] != logged_fields[f]
    )
    added = sorted(actual.keys() - logged_fields.keys())
    removed = sorted(logged_fields.keys() - actual.keys())
    parts = []
    if changed:
        parts.append("changed " + ", ".join(changed))
    if added:
        parts.append("added " + ", ".join(added))
    if removed:
        parts.append("removed " + ", ".join(removed))
    return "; ".join(parts) or "data differs from the commitment"


_COLUMNS = (
    "pk",
    "register_id",
    "public_id",
    "key",
    "version",
    "is_deleted",
    "versions__pk",
    "versions__number",
    "versions__op",
    "versions__data",
    "versions__salt",
)


def _records_with_versions(register_ids: list[int] | None, batch: int) -> Iterator[Any]:
    """Every record, then its versions by number: one row per version, one for a record with none.

    The rows are read as the database gives them (no ORM conversion), which is most of the
    cost of a row saved. On PostgreSQL they are streamed: the server keeps producing rows while
    the audit checks the ones it has, instead of waiting for each fetch. The connection is busy
    until the rows are consumed, so no other query may run in between.
    """
    records = Record.objects.order_by("pk", "versions__number").values_list(*_COLUMNS)
    if register_ids is not None:
        if not register_ids:
            return
        records = records.filter(register_id__in=register_ids)
    sql, params = records.query.sql_with_params()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, connection.wrap_database_errors:
            stream = getattr(cursor.cursor, "stream", None)
            if stream is not None:
                yield from stream(sql, params, size=_stream_size(batch))
                return
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield from rows


def _stream_size(batch: int) -> int:
    # Rows come in chunks from libpq 17 on, one at a time before.
    from psycopg import capabilities

    return batch if capabilities.has_stream_chunked() else 1


def _uuid_text(value: Any) -> str:
    # PostgreSQL gives a UUID, SQLite the 32 hex digits Django stores.
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))


def _json(text: Any) -> Any:
    # As JSONField reads a value: text that is not JSON is kept as it is.
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _commitment(salt: str, data: Any) -> str:
    if type(data) is dict:
        return commitments.commit_canonical(salt, canonicalize(data))
    return commitments.commit(salt, data)


@dataclass(frozen=True)
class _Unmatched:
    """A version with no published entry of its own; whether that is a finding is decided last."""

    position: int
    version_pk: int
    register: str
    record: str
    number: int


@dataclass(frozen=True)
class _Altered:
    """A version whose data does not open its commitment; the fields are named last."""

    position: int
    index: int
    data: Any
    salt: str
    register: str
    record: str
    number: int


@dataclass
class _Replay:
    """One pass over the records and their versions, in record and version order.

    Findings that need another look-up are held in place (``None``) with what the look-up
    needs, so the order of the findings is that of the versions.
    """

    logged: dict[VersionKey, LoggedVersion]
    registers: dict[int, tuple[str, str]]
    findings: list[Finding | None] = field(default_factory=list)
    unmatched: list[_Unmatched] = field(default_factory=list)
    altered: list[_Altered] = field(default_factory=list)
    stale_headers: list[Finding] = field(default_factory=list)
    current_headers: list[Finding] = field(default_factory=list)

    def run(self, rows: Iterable[Any]) -> None:
        record_pk = None
        register = key_field = public_id = key = ""
        header_version = 0
        deleted: object = False
        latest: int | None = None
        for row in rows:
            if row[0] != record_pk:
                if record_pk is not None:
                    self._check_latest(register, public_id, header_version, latest)
                record_pk, register_pk, public, key, header_version, deleted = row[:6]
                register, key_field = self.registers[register_pk]
                public_id = _uuid_text(public)
                latest = None
            version_pk, number, op, data, salt = row[6:]
            if number is None:
                continue  # a record without versions
            latest = number
            data = _json(data)
            if number == header_version:
                self._check_current(register, key_field, public_id, key, deleted, number, op, data)
            self._check_version(register, public_id, version_pk, number, op, data, salt)
        if record_pk is not None:
            self._check_latest(register, public_id, header_version, latest)

    def _check_version(
        self, register: str, public_id: str, pk: int, number: int, op: str, data: Any, salt: str
    ) -> None:
        entry = self.logged.pop((register, public_id, number), None)
        if entry is None:
            self.unmatched.append(_Unmatched(len(self.findings), pk, register, public_id, number))
            self.findings.append(None)
            return
        if entry.op != op:
            detail = f"operation {op}, logged {entry.op}"
            self.findings.append(Finding("altered", register, public_id, number, detail))
        if _commitment(salt, data) != entry.commitment:
            self.altered.append(
                _Altered(len(self.findings), entry.index, data, salt, register, public_id, number)
            )
            self.findings.append(None)

    def _check_latest(self, register: str, public_id: str, number: int, latest: int | None) -> None:
        if latest != number:
            detail = f"the record says version {number}, its versions end at {latest}"
            self.stale_headers.append(Finding("inconsistent", register, public_id, number, detail))

    def _check_current(
        self,
        register: str,
        key_field: str,
        public_id: str,
        key: str,
        deleted: object,
        number: int,
        op: str,
        data: Any,
    ) -> None:
        if bool(deleted) != (op == "delete"):
            detail = "deletion flag differs"
        elif op != "delete" and data.get(key_field) != key:
            detail = f"the record's key differs from its {key_field}"
        else:
            return
        self.current_headers.append(Finding("inconsistent", register, public_id, number, detail))


def _entries_of_versions(pks: list[int]) -> dict[int, tuple[int | None, datetime]]:
    entries: dict[int, tuple[int | None, datetime]] = {}
    for start in range(0, len(pks), 1000):
        versions = RecordVersion.objects.filter(pk__in=pks[start : start + 1000])
        for pk, index, created_at in versions.values_list(
            "pk", "ledger_entry__index", "ledger_entry__created_at"
        ):
            entries[pk] = (index, created_at)
    return entries


def audit(
    *, log: str, register: str | None = None, batch: int = 5000, grace_seconds: int = 600
) -> list[Finding]:
    """Compare every record version with the published ledger; return the findings.

    A version whose ledger entry is still waiting to be published is not a finding while the
    entry is younger than ``grace_seconds`` (the integrator publishes within seconds).
    """
    try:
        logged = _logged_versions(log)
    except LedgerError as exc:
        return [Finding("ledger-unreadable", register or "*", "*", None, str(exc))]
    registers = {
        pk: (code, key_field)
        for pk, code, key_field in Register.objects.values_list("pk", "code", "key_field")
        if not register or code == register
    }
    published_size = ledger_selectors.published_size(log)
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    replay = _Replay(logged, registers)
    replay.run(_records_with_versions(list(registers) if register else None, batch))
    findings = replay.findings

    entries = _entries_of_versions([u.version_pk for u in replay.unmatched])
    for u in replay.unmatched:
        entry_index, entry_time = entries.get(u.version_pk, (None, None))
        waiting = entry_index is None or entry_index >= published_size
        if waiting and entry_time is not None and entry_time > cutoff:
            continue  # written moments ago; the next audit will see it published
        detail = "its ledger entry was never published" if waiting else "no ledger entry"
        findings[u.position] = Finding(
            "missing-from-ledger", u.register, u.record, u.number, detail
        )

    try:
        fields = _logged_fields(log, {a.index for a in replay.altered})
    except LedgerError as exc:
        return [Finding("ledger-unreadable", register or "*", "*", None, str(exc))]
    for a in replay.altered:
        detail = _altered_fields(a.data, a.salt, fields.get(a.index, {}))
        findings[a.position] = Finding("altered", a.register, a.record, a.number, detail)

    result = [finding for finding in findings if finding is not None]
    for key, entry in logged.items():  # what no version claimed
        if register and key[0] != register:
            continue
        result.append(
            Finding("missing-version", key[0], key[1], key[2], f"ledger entry #{entry.index}")
        )
    return result + replay.stale_headers + replay.current_headers
