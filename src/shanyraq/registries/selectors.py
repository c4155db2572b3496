"""Reads from the registers, for officials, agency systems and the people records are about.

An official or an agency system reads a person's data on behalf of one of their agencies, for a
stated purpose and legal basis, and sees only the fields their roles in that agency are granted
(``Grant``). Each such read writes one access record per person the record concerns (the data
tracker), in the transaction of the read: a read that is refused records nothing, a read that
is shown is always recorded. A person reading a record about themselves (``agency=None``) needs
no grant, sees every field and is not recorded as an official access.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from shanyraq.access_log import services as access_log
from shanyraq.access_log.services import AccessAction
from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import User
from shanyraq.catalog.models import Agency
from shanyraq.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from shanyraq.core.text import TranslatedText
from shanyraq.ledger.proof import TlogProof
from shanyraq.ledger_django import selectors as ledger_selectors

from .models import (
    Grant,
    Operation,
    Record,
    RecordVersion,
    Register,
    RegisterSchema,
    SearchValue,
)
from .services import POPULATION, SUBJECT_FIELD
from .subjects import subject_iins_at

__all__ = [
    "CaseRead",
    "HistoryView",
    "OwnRecord",
    "ProofBundle",
    "RecordView",
    "RegisterLabels",
    "SearchPage",
    "VersionProof",
    "VersionView",
    "acting_agency",
    "people_reaching_age",
    "proof_bundle",
    "record_exists",
    "record_exists_for_system",
    "record_history",
    "record_read",
    "records_of_person",
    "records_read_for_case",
    "records_search",
    "register_labels",
    "subject_iins",
    "version_with_proof",
]

MAX_PAGE_SIZE = 100
EVERY_FIELD = "*"


# --- What the selectors return ------------------------------------------------------------


@dataclass(frozen=True)
class RecordView:
    """A record's current version, with only the fields the reader may see."""

    register: str
    key: str
    public_id: uuid.UUID
    version: int
    is_deleted: bool
    data: dict[str, Any]
    fields: list[str]


@dataclass(frozen=True)
class VersionView:
    """One version of a record: what changed, on whose behalf, on what basis, and when."""

    number: int
    op: str
    created_at: datetime
    agency: Agency | None
    basis: str
    data: dict[str, Any]
    fields: list[str]
    ledger_log: str
    ledger_index: int | None
    published: bool

    @property
    def op_label(self) -> str:
        return str(Operation(self.op).label)


@dataclass(frozen=True)
class HistoryView:
    register: str
    key: str
    public_id: uuid.UUID
    is_deleted: bool
    versions: list[VersionView]
    fields: list[str]


@dataclass(frozen=True)
class SearchPage:
    count: int
    page: int
    page_size: int
    items: list[RecordView]

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))


@dataclass(frozen=True)
class VersionProof:
    """A version with its ledger entry and, once the entry is published, its inclusion proof.

    ``salt`` (the opening of the commitment) is given only to the person the record is about:
    with it, the per-field commitments in the public entry would let anyone test guesses of
    the fields they were not shown.
    """

    register: str
    key: str
    public_id: uuid.UUID
    version: VersionView
    schema_version: int
    commitment: str
    salt: str | None
    entry: bytes
    leaf_hash: str
    proof: TlogProof | None

    @property
    def published(self) -> bool:
        return self.proof is not None


@dataclass(frozen=True)
class OwnRecord:
    """A record the person is the subject of, for their "My records" page."""

    register: Register
    key: str
    public_id: uuid.UUID
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class RegisterLabels:
    """A register's name and its fields' labels in the active language."""

    name: TranslatedText
    fields: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    # The current JSON Schema: it names the fields inside objects and lists.
    schema: Mapping[str, Any] = field(default_factory=dict)

    def label(self, name: str) -> str:
        return self.fields.get(name) or name.replace("_", " ").capitalize()

    def ordered(self, names: Iterable[str]) -> list[str]:
        """``names`` in the order the schema lists them, unknown ones last."""
        position = {name: i for i, name in enumerate(self.order)}
        return sorted(names, key=lambda name: (position.get(name, len(position)), name))


@dataclass(frozen=True)
class ProofBundle:
    """The files a person keeps to prove a version of their record offline."""

    filename: str
    files: dict[str, bytes]


# --- Who may read what --------------------------------------------------------------------


@dataclass(frozen=True)
class _Access:
    """The outcome of the permission check: whose read it is and which fields it may show."""

    agency: Agency | None  # None: the person the record is about
    fields: frozenset[str] | None  # None: every field
    purpose: str = ""
    basis: str = ""
    case_ref: str = ""

    @property
    def is_official(self) -> bool:
        return self.agency is not None

    def show(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        if self.fields is None:
            shown = dict(data)
        else:
            shown = {name: value for name, value in data.items() if name in self.fields}
        return shown, sorted(shown)


def acting_agency(actor: User, code: str | None) -> Agency | None:
    """The agency ``actor`` acts for, by its code; it must be one of their memberships."""
    if not code:
        return None
    for membership in account_selectors.memberships_of(actor):
        if membership.agency.code == code:
            return membership.agency
    raise PermissionDenied(
        code="not_agency_member", message=_("You do not act on behalf of this agency.")
    )


def _register(code: str) -> Register:
    register = Register.objects.filter(code=code).first()
    if register is None:
        raise NotFound(code="register_not_found", message=_("There is no such register."))
    return register


def _check_purpose(purpose: str, basis: str, case_ref: str) -> tuple[str, str, str]:
    purpose, basis, case_ref = (purpose or "").strip(), (basis or "").strip(), case_ref or ""
    if not purpose or not basis:
        raise ValidationError(
            code="purpose_required",
            message=_("State the purpose and the legal basis of reading a person's data."),
            field="purpose" if not purpose else "basis",
        )
    limits = {
        "purpose": (purpose, access_log.MAX_PURPOSE),
        "basis": (basis, access_log.MAX_BASIS),
        "case": (case_ref.strip(), access_log.MAX_CASE_REF),
    }
    for name, (value, limit) in limits.items():
        if len(value) > limit:
            raise ValidationError(
                code="too_long",
                message=_("This text is too long."),
                field=name,
                details={"limit": limit},
            )
    return purpose, basis, case_ref.strip()


def _granted_fields(register: Register, actor: User, agency: Agency) -> frozenset[str] | None:
    roles = {m.role for m in account_selectors.memberships_of(actor) if m.agency_id == agency.pk}
    if not roles:
        raise PermissionDenied(
            code="not_agency_member", message=_("You do not act on behalf of this agency.")
        )
    grants = list(
        Grant.objects.filter(agency=agency, register=register, role__in=roles).values_list(
            "fields", flat=True
        )
    )
    if not grants:
        raise PermissionDenied(
            code="register_read_denied",
            message=_("Your role in this agency gives no access to this register."),
        )
    names: set[str] = set()
    for granted in grants:
        if EVERY_FIELD in granted:
            return None
        names.update(str(name) for name in granted)
    return frozenset(names)


def _official(
    register: Register,
    actor: User,
    agency: Agency,
    purpose: str,
    basis: str,
    case_ref: str,
) -> _Access:
    purpose, basis, case_ref = _check_purpose(purpose, basis, case_ref)
    fields = _granted_fields(register, actor, agency)
    if fields is not None and not fields:  # a grant to write or to check existence only
        raise PermissionDenied(
            code="register_read_denied",
            message=_("Your role in this agency may not read this register's data."),
        )
    return _Access(agency=agency, fields=fields, purpose=purpose, basis=basis, case_ref=case_ref)


def _denied(actor: User) -> PermissionDenied:
    if account_selectors.memberships_of(actor):
        return PermissionDenied(
            code="agency_required", message=_("Say on behalf of which agency you act.")
        )
    return PermissionDenied(
        code="record_read_denied", message=_("You may read only records about yourself.")
    )


def _is_person_register(register: Register) -> bool:
    """A register keyed by the person's own IIN (the population register)."""
    return register.key_field == "iin" or register.key_field in register.subject_paths


def _check_own_key(register: Register, key: str, actor: User) -> None:
    """Refuse before touching the database when the key alone shows it is someone else's."""
    if not actor.iin or (_is_person_register(register) and key != actor.iin):
        raise _denied(actor)


def _check_own_record(register: Register, record_data: Mapping[str, Any], actor: User) -> None:
    if not _is_person_register(register) and actor.iin not in subject_iins(register, record_data):
        raise _denied(actor)


# --- Subjects: the people a record is about -----------------------------------------------


def subject_iins(register: Register, data: Mapping[str, Any]) -> list[str]:
    """The IINs found in ``data`` at the register's subject paths (``owners[].iin``), once each."""
    return subject_iins_at(register.subject_paths, data)


def _last_data(version: RecordVersion) -> dict[str, Any]:
    """The data a version is about: a tombstone is about the data it closed."""
    if version.op != Operation.DELETE:
        return dict(version.data)
    previous = (
        RecordVersion.objects.filter(record_id=version.record_id, number__lt=version.number)
        .exclude(op=Operation.DELETE)
        .order_by("-number")
        .values_list("data", flat=True)
        .first()
    )
    return dict(previous or {})


def _log(
    actor: User, access: _Access, action: AccessAction, reads: Iterable[access_log.Read]
) -> None:
    assert access.agency is not None
    access_log.access_record(
        actor=actor,
        agency=access.agency,
        action=action,
        purpose=access.purpose,
        legal_basis=access.basis,
        case_ref=access.case_ref,
        reads=reads,
    )


# --- Reads --------------------------------------------------------------------------------


def _versions(register: Register) -> QuerySet[RecordVersion]:
    return RecordVersion.objects.select_related("record").filter(record__register=register)


def _current(register: Register, key: str) -> RecordVersion:
    version = _versions(register).filter(record__key=key, number=F("record__version")).first()
    if version is None:
        raise NotFound(code="record_not_found", message=_("There is no such record."))
    return version


def _access_to_record(
    register: Register,
    key: str,
    actor: User,
    agency: Agency | None,
    purpose: str,
    basis: str,
    case_ref: str,
) -> tuple[_Access, RecordVersion]:
    """Check the permission, then load the current version (in that order: no oracle)."""
    if agency is None:
        _check_own_key(register, key, actor)
        try:
            current = _current(register, key)
        except NotFound:
            if not _is_person_register(register):
                raise _denied(actor) from None
            raise
        _check_own_record(register, _last_data(current), actor)
        return _Access(agency=None, fields=None), current
    access = _official(register, actor, agency, purpose, basis, case_ref)
    return access, _current(register, key)


@transaction.atomic
def record_read(
    *,
    register: str,
    key: str,
    actor: User,
    agency: Agency | None,
    purpose: str = "",
    basis: str = "",
    case_ref: str = "",
) -> RecordView:
    """A record's current version, as far as ``actor`` acting for ``agency`` may see it.

    Raises ``ValidationError`` ("purpose_required") without a purpose and a basis,
    ``PermissionDenied`` without a grant, ``NotFound`` for an unknown register or record.
    """
    reg = _register(register)
    access, current = _access_to_record(reg, key, actor, agency, purpose, basis, case_ref)
    record = current.record
    data, fields = access.show(current.data)
    if access.is_official:
        subjects = subject_iins(reg, _last_data(current))
        _log(
            actor,
            access,
            AccessAction.READ,
            [access_log.Read(reg.code, record.public_id, subjects, fields)],
        )
    return RecordView(
        register=reg.code,
        key=record.key,
        public_id=record.public_id,
        version=record.version,
        is_deleted=record.is_deleted,
        data=data,
        fields=fields,
    )


def _published_sizes(logs: Iterable[str]) -> dict[str, int]:
    sizes = {}
    for log in set(logs):
        try:
            sizes[log] = ledger_selectors.published_size(log)
        except NotFound:
            sizes[log] = 0
    return sizes


def _version_view(version: RecordVersion, access: _Access, sizes: Mapping[str, int]) -> VersionView:
    data, fields = access.show(version.data)
    entry = version.ledger_entry
    return VersionView(
        number=version.number,
        op=version.op,
        created_at=version.created_at,
        agency=version.agency,
        basis=version.basis,
        data=data,
        fields=fields,
        ledger_log=entry.log,
        ledger_index=entry.index,
        published=entry.index is not None and entry.index < sizes.get(entry.log, 0),
    )


@transaction.atomic
def record_history(
    *,
    register: str,
    key: str,
    actor: User,
    agency: Agency | None,
    purpose: str = "",
    basis: str = "",
    case_ref: str = "",
) -> HistoryView:
    """Every version of a record, oldest first, each shown and recorded like ``record_read``."""
    reg = _register(register)
    access, current = _access_to_record(reg, key, actor, agency, purpose, basis, case_ref)
    record = current.record
    versions = list(
        RecordVersion.objects.filter(record=record)
        .select_related("agency", "ledger_entry")
        .defer("ledger_entry__data")
        .order_by("number")
    )
    sizes = _published_sizes(v.ledger_entry.log for v in versions)
    views = [_version_view(v, access, sizes) for v in versions]
    shown = sorted({name for view in views for name in view.fields})
    if access.is_official:
        subjects: dict[str, None] = {}
        for version in versions:
            subjects.update(dict.fromkeys(subject_iins(reg, version.data)))
        read = access_log.Read(reg.code, record.public_id, list(subjects), shown)
        _log(actor, access, AccessAction.HISTORY, [read])
    return HistoryView(
        register=reg.code,
        key=record.key,
        public_id=record.public_id,
        is_deleted=record.is_deleted,
        versions=views,
        fields=shown,
    )


def record_exists(*, register: str, key: str, actor: User, agency: Agency | None) -> bool:
    """Whether a live record has this key. Shows no data, so it is not recorded, but it still
    needs a grant (or, for a person, a key that is their own)."""
    reg = _register(register)
    if agency is None:
        try:
            _access_to_record(reg, key, actor, None, "", "", "")
        except NotFound:
            return False
    else:
        _granted_fields(reg, actor, agency)
    return Record.objects.filter(register=reg, key=key, is_deleted=False).exists()


@transaction.atomic
def records_search(
    *,
    register: str,
    criteria: Mapping[str, str],
    actor: User,
    agency: Agency | None,
    purpose: str = "",
    basis: str = "",
    case_ref: str = "",
    page: int = 1,
    page_size: int = 20,
) -> SearchPage:
    """Live records whose searchable fields equal every one of ``criteria``, ordered by key.

    Only the register's search fields that the actor may also read can be searched by; every
    record on the page returned is recorded as read.
    """
    reg = _register(register)
    if agency is None:
        raise _denied(actor)
    access = _official(reg, actor, agency, purpose, basis, case_ref)
    if not criteria:
        raise ValidationError(
            code="criteria_required", message=_("Give at least one field to search by.")
        )
    for name in criteria:
        if name not in reg.search_fields:
            raise ValidationError(
                code="not_searchable",
                message=_("Records cannot be searched by this field."),
                field=name,
                details={"search_fields": list(reg.search_fields)},
            )
        if access.fields is not None and name not in access.fields:
            raise PermissionDenied(
                code="search_field_denied",
                message=_("Your role may not search by a field it may not read."),
                details={"field": name},
            )
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    found = _versions(reg).filter(number=F("record__version"), record__is_deleted=False)
    for name, value in criteria.items():
        matching = SearchValue.objects.filter(register=reg, field=name, value=str(value)[:200])
        found = found.filter(record_id__in=matching.values("record_id"))
    count = found.count()
    start = (page - 1) * page_size
    versions = list(found.order_by("record__key")[start : start + page_size])
    items, reads = [], []
    for version in versions:
        data, fields = access.show(version.data)
        record = version.record
        items.append(
            RecordView(reg.code, record.key, record.public_id, record.version, False, data, fields)
        )
        reads.append(
            access_log.Read(reg.code, record.public_id, subject_iins(reg, version.data), fields)
        )
    if reads:
        _log(actor, access, AccessAction.SEARCH, reads)
    return SearchPage(count=count, page=page, page_size=page_size, items=items)


@transaction.atomic
def version_with_proof(
    *,
    register: str,
    key: str,
    number: int,
    actor: User,
    agency: Agency | None,
    purpose: str = "",
    basis: str = "",
    case_ref: str = "",
) -> VersionProof:
    """One version with its ledger entry and, when the entry is published, its proof file."""
    reg = _register(register)
    access, current = _access_to_record(reg, key, actor, agency, purpose, basis, case_ref)
    version = (
        RecordVersion.objects.filter(record=current.record, number=number)
        .select_related("agency", "ledger_entry")
        .first()
    )
    if version is None:
        raise NotFound(code="version_not_found", message=_("The record has no such version."))
    entry = version.ledger_entry
    proof: TlogProof | None = None
    entry_bytes = bytes(entry.data)
    if entry.index is not None:
        try:
            entry_bytes, proof = ledger_selectors.entry_with_proof(entry.log, entry.index)
        except DomainError:
            proof = None  # sequenced but not yet covered by a published checkpoint
    published = (
        {entry.log: entry.index + 1} if proof is not None and entry.index is not None else {}
    )
    view = _version_view(version, access, published)
    if access.is_official:
        subjects = subject_iins(reg, _last_data(version))
        read = access_log.Read(reg.code, current.record.public_id, subjects, view.fields)
        _log(actor, access, AccessAction.VERSION, [read])
    return VersionProof(
        register=reg.code,
        key=current.record.key,
        public_id=current.record.public_id,
        version=view,
        schema_version=version.schema_version,
        commitment=version.commitment,
        salt=None if access.is_official else version.salt,
        entry=entry_bytes,
        leaf_hash=entry.leaf_hash,
        proof=proof,
    )


# --- For the platform's own casework ----------------------------------------------------


@dataclass(frozen=True)
class CaseRead:
    """A record read for a case: its key, version and data (restricted to ``fields``)."""

    register: str
    key: str
    version: int
    data: dict[str, Any]


def record_exists_for_system(*, register: str, key: str) -> bool:
    """Whether a key is taken in a register (live or deleted), for allocating new keys."""
    return Record.objects.filter(register__code=register, key=key).exists()


def records_read_for_case(
    *,
    agency: Agency,
    reads: Iterable[tuple[str, str, Iterable[str] | None]],
    purpose: str,
    basis: str,
    case_ref: str,
    system_name: str,
    actor: User | None = None,
) -> dict[tuple[str, str], CaseRead | None]:
    """Current live records an agency's system reads to handle an application, by
    ``(register, key)``: None where there is no such live record.

    The service version declares what it reads (``reads``: register, key, and the fields it
    needs or None for all), so no grant is looked up; every record shown is recorded in the
    data tracker as read by the agency, for ``purpose``: by ``actor`` when an official looks
    at the case, by the agency's system (``system_name``) otherwise. Runs in the caller's
    transaction.
    """
    purpose, basis, case_ref = _check_purpose(purpose, basis, case_ref)
    found: dict[tuple[str, str], CaseRead | None] = {}
    logged: list[access_log.Read] = []
    wanted = [(str(r), str(k), None if f is None else frozenset(f)) for r, k, f in reads]
    registers = {r.code: r for r in Register.objects.filter(code__in={r for r, _k, _f in wanted})}
    for code, key, fields in wanted:
        register = registers.get(code)
        version = None
        if register is not None and key:
            version = (
                _versions(register)
                .filter(record__key=key, number=F("record__version"), record__is_deleted=False)
                .first()
            )
        if version is None or register is None:
            found[(code, key)] = None
            continue
        data = {n: v for n, v in version.data.items() if fields is None or n in fields}
        found[(code, key)] = CaseRead(code, key, version.number, data)
        logged.append(
            access_log.Read(
                code, version.record.public_id, subject_iins(register, version.data), sorted(data)
            )
        )
    if logged:
        access_log.access_record(
            actor=actor,
            actor_name="" if actor is not None else system_name,
            agency=agency,
            action=AccessAction.READ,
            purpose=purpose,
            legal_basis=basis,
            case_ref=case_ref,
            reads=logged,
        )
    return found


# --- For the platform's own daily tasks ---------------------------------------------------

BIRTH_DATE = "birth_date"


def _birthdays(on: dt.date, age: int) -> list[dt.date]:
    """The birth dates of the people who turn ``age`` on ``on``.

    Someone born on 29 February turns a year older on 28 February in a year without one.
    """
    year = on.year - age
    if year < dt.MINYEAR:
        return []
    dates = []
    if not (on.month == 2 and on.day == 29 and not calendar.isleap(year)):
        dates.append(on.replace(year=year))
    if on.month == 2 and on.day == 28 and not calendar.isleap(on.year) and calendar.isleap(year):
        dates.append(dt.date(year, 2, 29))
    return dates


def people_reaching_age(on: dt.date, ages: Iterable[int]) -> list[tuple[str, int]]:
    """The living people of the population register who turn one of ``ages`` on ``on``.

    Returns ``(iin, age)`` pairs ordered by age, then IIN. A person turns ``n`` on the day
    ``n`` years after their birth date, and on 28 February when they were born on 29 February
    and the year has none. People with a date of death and closed records are left out. The
    people are found through the index of birth dates (``SearchValue``), so the register is
    not scanned: two queries, whatever its size.

    For the platform's own daily tasks (a ``PersonReachedAge`` event for each person), not for
    reading someone's data on behalf of an agency: nothing is written to the data tracker, and
    the result must not be shown to anyone as it is.
    """
    wanted: dict[str, int] = {}
    for age in sorted(set(ages)):
        if age < 0:
            raise ValueError("an age cannot be negative")
        for born in _birthdays(on, age):
            wanted[born.isoformat()] = age
    register = Register.objects.filter(code=POPULATION).first()
    if register is None or not wanted:
        return []
    if BIRTH_DATE not in register.search_fields:
        raise ImproperlyConfigured("the population register must be searchable by birth_date")
    born_then = SearchValue.objects.filter(
        register=register, field=BIRTH_DATE, value__in=list(wanted)
    ).values("record_id")
    rows = (
        RecordVersion.objects.filter(
            record_id__in=born_then, number=F("record__version"), record__is_deleted=False
        )
        .values_list("record__key", "data__birth_date", "data__date_of_death")
        .order_by()
    )
    found = [
        (key, wanted[born])
        for key, born, died in rows
        if not died and isinstance(born, str) and born in wanted
    ]
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


@dataclass(frozen=True)
class SystemRead:
    """Population records an agency's system reads for one purpose (one case or event)."""

    agency: Agency
    purpose: str
    basis: str
    case_ref: str
    system_name: str
    keys: Sequence[str]


def population_read_for_systems(reads: Sequence[SystemRead]) -> dict[str, dict[str, Any] | None]:
    """The current live population records that ``reads`` name, by IIN (None where there is
    none), read in one query; each read is recorded in the data tracker as its agency's
    system's, for its purpose, all in one insert. For the platform's batch work (offering
    services after many life events at once); runs in the caller's transaction.
    """
    register = _register("population")
    keys = sorted({key for read in reads for key in read.keys if key})
    versions = {
        version.record.key: version
        for version in _versions(register).filter(
            record__key__in=keys, number=F("record__version"), record__is_deleted=False
        )
    }
    accesses = []
    for read in reads:
        purpose, basis, case_ref = _check_purpose(read.purpose, read.basis, read.case_ref)
        shown = [
            access_log.Read(
                "population",
                versions[key].record.public_id,
                subject_iins(register, versions[key].data),
                sorted(versions[key].data),
            )
            for key in dict.fromkeys(read.keys)
            if key in versions
        ]
        if shown:
            accesses.append(
                access_log.Access(read.agency, purpose, basis, case_ref, read.system_name, shown)
            )
    access_log.access_records_many(accesses)
    return {key: dict(versions[key].data) if key in versions else None for key in keys}


# --- For the person the records are about -------------------------------------------------


def records_of_person(person: User) -> list[OwnRecord]:
    """The live records ``person`` is a subject of: their population record, their property,
    the companies they direct or found. Reading one's own records is not recorded.

    Registers keyed by the person's IIN are looked up by key, the others through the index of
    the IINs each record names (written with every version), confirmed at the subject paths.
    """
    iin = person.iin
    if not iin:
        return []
    found: list[OwnRecord] = []
    for register in Register.objects.order_by("code"):
        current = _versions(register).filter(number=F("record__version"), record__is_deleted=False)
        if _is_person_register(register):
            candidates = current.filter(record__key=iin)
        else:
            naming = SearchValue.objects.filter(register=register, field=SUBJECT_FIELD, value=iin)
            candidates = current.filter(record_id__in=naming.values("record_id"))
        for version in candidates.order_by("record__key")[:MAX_PAGE_SIZE]:
            record = version.record
            if _is_person_register(register) or iin in subject_iins(register, version.data):
                found.append(
                    OwnRecord(
                        register, record.key, record.public_id, record.version, record.updated_at
                    )
                )
    return found


def _label(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        try:
            return TranslatedText.from_value(value, partial=True).get() or None
        except DomainError:
            return None
    return None


def register_labels(codes: Iterable[str] | None = None) -> dict[str, RegisterLabels]:
    """Registers' names and their fields' labels (from the schema's titles), by code (1 query)."""
    current = RegisterSchema.objects.filter(version=F("register__current_schema"))
    if codes is not None:
        current = current.filter(register__code__in=set(codes))
    labels = {}
    for row in current.select_related("register"):
        register, schema = row.register, dict(row.schema)
        fields = {}
        properties = schema.get("properties") or {}
        for name, spec in properties.items():
            if isinstance(spec, Mapping):
                text = _label(spec.get("x-title")) or _label(spec.get("title"))
                if text:
                    fields[name] = text
        # Object keys lose their order in PostgreSQL's jsonb; the ``required`` list keeps it.
        required = [name for name in schema.get("required") or [] if name in properties]
        labels[register.code] = RegisterLabels(
            name=register.name,
            fields=fields,
            order=required + sorted(set(properties) - set(required)),
            schema=schema,
        )
    return labels


VERIFY_README = """\
{title}

{intro}

record-version.json  {about_version}
entry.json           {about_entry}
entry.tlog-proof     {about_proof}

1. {step_proof}

   shanyraq ledger check-proof entry.tlog-proof --origin {origin} --key {key} --entry entry.json

2. {step_commitment}

   commitment = base64(SHA-256(bytes.fromhex(salt) || JCS(data)))

   import base64, hashlib, json
   version = json.load(open("record-version.json", encoding="utf-8"))
   entry = json.load(open("entry.json", encoding="utf-8"))
   jcs = json.dumps(version["data"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
   digest = hashlib.sha256(bytes.fromhex(version["salt"]) + jcs.encode()).digest()
   print(base64.b64encode(digest).decode() == entry["commitment"])

{about_jcs}
"""


def _verifier_key(log: str) -> str:
    from shanyraq.ledger_django import config as ledger_config

    try:
        return ledger_config.get_log(log).verifier_key()
    except ledger_config.LedgerNotConfigured:
        return "<" + gettext_now("the log's verifier key") + ">"


def proof_bundle(*, register: str, key: str, number: int, person: User) -> ProofBundle:
    """The version, the opening of its commitment, its ledger entry and its proof file.

    Only for the person the record is about, and only once the entry is published.
    """
    proof = version_with_proof(register=register, key=key, number=number, actor=person, agency=None)
    if proof.proof is None or proof.salt is None:
        raise Conflict(
            code="not_published",
            message=_("The ledger has not published this version yet. Try again in a few minutes."),
        )
    log = proof.version.ledger_log
    # The checkpoint note starts with the log's origin line.
    origin = proof.proof.checkpoint.split(b"\n", 1)[0].decode()
    version = {
        "register": proof.register,
        "record": str(proof.public_id),
        "key": proof.key,
        "version": proof.version.number,
        "op": proof.version.op,
        "schema_version": proof.schema_version,
        "created_at": proof.version.created_at.isoformat(),
        "data": proof.version.data,
        "salt": proof.salt,
        "commitment": proof.commitment,
        "ledger": {
            "log": log,
            "origin": origin,
            "index": proof.proof.index,
            "leaf_hash": proof.leaf_hash,
        },
    }
    readme = VERIFY_README.format(
        title=gettext_now("Proof that a version of your record is in the public ledger"),
        intro=gettext_now(
            "These files let anyone check, without asking the platform, that this version of "
            "your record was written to the public ledger and has not been changed since."
        ),
        about_version=gettext_now(
            "the version's data and the salt that opens its commitment (keep it private)"
        ),
        about_entry=gettext_now("the public ledger entry, exactly as published"),
        about_proof=gettext_now("the inclusion proof and the signed checkpoint"),
        step_proof=gettext_now(
            "Check that the entry is in the log. Compare the key below with the one the "
            "platform publishes."
        ),
        step_commitment=gettext_now(
            "Check that the entry's commitment opens to your data with your salt."
        ),
        about_jcs=gettext_now(
            "JCS is the canonical JSON of RFC 8785; for data made of text, whole numbers, "
            "lists and objects it is the compact JSON with sorted keys written above."
        ),
        origin=origin,
        key=_verifier_key(log),
    )
    files = {
        "record-version.json": json.dumps(version, ensure_ascii=False, indent=2).encode(),
        "entry.json": proof.entry,
        "entry.tlog-proof": proof.proof.to_bytes(),
        "README.txt": readme.encode(),
    }
    filename = f"{proof.register}-v{proof.version.number}-proof.zip"
    return ProofBundle(filename=filename, files=files)
