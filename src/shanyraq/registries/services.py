"""Writes to the registers: create, update and delete records, each as a new version.

Every write validates the data against the register's current schema, writes the version,
its ledger entry (a salted commitment, no personal data) and its domain events in one
transaction: the register's own event and the life events the change amounts to
(``lifeevents``: a person died, a flat changed hands). Updates and deletions name the version
they change (optimistic concurrency): a stale one is refused with a conflict and nothing is
written. Registering a birth (``birth_register``) creates the child's population record with a
newly allocated IIN.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import User
from shanyraq.catalog.models import Agency
from shanyraq.core.bulk import insert_many
from shanyraq.core.canonical_json import canonicalize
from shanyraq.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from shanyraq.core.national_id import make_iin
from shanyraq.events import services as events
from shanyraq.ledger_django import services as ledger

from . import commitments, lifeevents
from .iins import iins_allocate
from .models import Grant, Operation, Record, RecordVersion, Register, RegisterSchema, SearchValue
from .subjects import subject_iins_at
from .validation import schema_problems

__all__ = [
    "MAX_BATCH",
    "MAX_RECORD_BYTES",
    "POPULATION",
    "SUBJECT_FIELD",
    "actor_pseudonym",
    "birth_register",
    "births_register",
    "record_create",
    "record_delete",
    "record_update",
    "records_create_many",
    "register_define",
]

MAX_RECORD_BYTES = 256 * 1024
MAX_BATCH = 5000
# The search field under which a record lists the IINs of the people it is about.
SUBJECT_FIELD = "@subject"
EVENT_TYPES = {
    Operation.CREATE: "registry.record_created",
    Operation.UPDATE: "registry.record_updated",
    Operation.DELETE: "registry.record_deleted",
}
LOADED_EVENT = "registry.records_loaded"
MAX_BASIS = 300
# The register births are registered in, keyed by the person's IIN.
POPULATION = "population"


def actor_pseudonym(user: User | None) -> str:
    """A stable identifier for the ledger that does not reveal who the official is."""
    if user is None:
        return "system"
    key = hashlib.sha256(b"shanyraq-actor:" + settings.SECRET_KEY.encode()).digest()
    mac = hmac.new(key, str(user.pk).encode(), hashlib.sha256).hexdigest()
    return f"u:{mac[:24]}"


def register_define(
    *,
    code: str,
    name: Mapping[str, str],
    description: Mapping[str, str],
    key_field: str,
    schema: Mapping[str, Any],
    search_fields: list[str],
    subject_paths: list[str],
) -> Register:
    """Create a register, or add a schema version when its schema changed (idempotent)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        raise ValidationError(
            code="invalid_schema",
            message=_("The register schema is not valid."),
            details={"reason": exc.message},
        ) from None
    with transaction.atomic():
        register, _created = Register.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "description": description,
                "key_field": key_field,
                "search_fields": search_fields,
                "subject_paths": subject_paths,
            },
        )
        latest = register.schemas.order_by("-version").first()
        if latest is None or latest.schema != schema:
            version = (latest.version + 1) if latest else 1
            RegisterSchema.objects.create(register=register, version=version, schema=schema)
            # Primary keys can be reused after a rolled-back definition: forget cached texts.
            transaction.on_commit(_schema_json.cache_clear)
            _schema_json.cache_clear()
            register.current_schema = version
            register.save(update_fields=["current_schema"])
    return register


@lru_cache(maxsize=64)
def _schema_json(register_id: int, version: int) -> str:
    """A schema version's text; versions never change once written, so it is kept."""
    schema = RegisterSchema.objects.get(register_id=register_id, version=version).schema
    return json.dumps(schema, sort_keys=True)


def _register(code: str) -> Register:
    register = Register.objects.filter(code=code).first()
    if register is None:
        raise NotFound(code="register_not_found", message=_("There is no such register."))
    return register


def _check_write(actor: User | None, agency: Agency | None, register: Register) -> None:
    """System loads (no actor) may write; people need a writing grant of their agency."""
    if actor is None:
        return
    if agency is None:
        raise PermissionDenied(
            code="agency_required", message=_("Say on behalf of which agency you act.")
        )
    roles = {m.role for m in account_selectors.memberships_of(actor) if m.agency_id == agency.pk}
    if not Grant.objects.filter(
        agency=agency, register=register, role__in=roles, may_write=True
    ).exists():
        raise PermissionDenied(
            code="register_write_denied",
            message=_("Your role does not allow changing this register."),
        )


def _validate(register: Register, data: Mapping[str, Any]) -> tuple[dict[str, Any], str, bytes]:
    """The record as a plain dict, its key and its RFC 8785 bytes, or a ``ValidationError``."""
    if not isinstance(data, Mapping):
        raise ValidationError(code="invalid_record", message=_("A record must be an object."))
    clean = dict(data)
    try:
        canonical = canonicalize(clean)
    except (TypeError, ValueError):
        raise ValidationError(
            code="invalid_record", message=_("A record must be plain JSON.")
        ) from None
    if len(canonical) > MAX_RECORD_BYTES:
        raise ValidationError(
            code="record_too_large",
            message=_("The record is too large."),
            details={"size": len(canonical), "limit": MAX_RECORD_BYTES},
        )
    problems = schema_problems(_schema_json(register.pk, register.current_schema), clean)
    if problems:
        raise ValidationError(
            code="schema_violation",
            message=_("The record does not match the register's schema."),
            field=problems[0]["field"],
            details={"problems": problems},
        )
    key = clean.get(register.key_field)
    if not isinstance(key, str) or not key:
        raise ValidationError(
            code="missing_key", message=_("The record's key is missing."), field=register.key_field
        )
    return clean, key, canonical


def _check_basis(basis: str) -> str:
    basis = (basis or "").strip()
    if not basis:
        raise ValidationError(
            code="basis_required",
            message=_("State the legal basis or the case of this change."),
            field="basis",
        )
    if len(basis) > MAX_BASIS:
        raise ValidationError(code="basis_too_long", message=_("The basis is too long."))
    return basis


@dataclass(frozen=True)
class _Change:
    """A record whose header already carries the new version number, and that version's data.

    ``before`` is the data an update replaces, when the life events of the register need it;
    ``birth`` marks the creation of a person's record by registering their birth, with the
    facts of the birth the hospital gave (``order``, ``multiple``; may be empty).
    """

    record: Record
    op: Operation
    data: dict[str, Any]
    canonical: bytes
    before: dict[str, Any] | None = None
    birth: dict[str, Any] | None = None


def _search_values(
    register: Register, record: Record, data: Mapping[str, Any]
) -> list[SearchValue]:
    values = [
        SearchValue(register=register, record=record, field=name, value=str(data[name])[:200])
        for name in register.search_fields
        if data.get(name) not in (None, "")
    ]
    if register.key_field not in register.subject_paths:  # the key already finds the person
        values.extend(
            SearchValue(register=register, record=record, field=SUBJECT_FIELD, value=iin[:200])
            for iin in subject_iins_at(register.subject_paths, data)
        )
    return values


def _write_versions(
    *,
    register: Register,
    changes: Sequence[_Change],
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str,
    load: bool = False,
) -> list[RecordVersion]:
    """Write each change's version, ledger entry, search values and event, a few inserts in all.

    A change is a domain event (a person registered, a property sold); a ``load`` is not: the
    records existed before they reached the register, so it is told by one event listing them.
    """
    now = timezone.now()
    time_text = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    actor_id = actor_pseudonym(actor)
    agency_code = agency.code if agency else ""
    salts = [commitments.new_salt() for _ in changes]
    commits = [
        commitments.commit_canonical(salt, change.canonical)
        for salt, change in zip(salts, changes, strict=True)
    ]
    entries = ledger.ledger_append_many(
        entries=[
            {
                "v": 1,
                "type": "registry.record",
                "registry": register.code,
                "record": str(change.record.public_id),
                "version": change.record.version,
                "op": str(change.op),
                "commitment": commitment,
                "fields": commitments.field_commitments(salt, change.data),
                "actor": actor_id,
                "agency": agency_code,
                "basis": basis,
                "time": time_text,
            }
            for change, salt, commitment in zip(changes, salts, commits, strict=True)
        ]
    )
    versions = insert_many(
        RecordVersion,
        [
            RecordVersion(
                record=change.record,
                number=change.record.version,
                op=change.op,
                data=change.data,
                schema_version=register.current_schema,
                salt=salt,
                commitment=commitment,
                actor=actor,
                agency=agency,
                basis=basis,
                reason=reason[:2000],
                created_at=now,
                ledger_entry=entry,
            )
            for change, salt, commitment, entry in zip(
                changes, salts, commits, entries, strict=True
            )
        ],
    )
    replaced = [c.record.pk for c in changes if c.op != Operation.CREATE]
    if replaced:
        SearchValue.objects.filter(record_id__in=replaced).delete()
    insert_many(
        SearchValue,
        [
            value
            for change in changes
            if change.op != Operation.DELETE
            for value in _search_values(register, change.record, change.data)
        ],
    )
    if load:
        events.event_record(
            type=LOADED_EVENT,
            payload={
                "register": register.code,
                "records": [str(c.record.public_id) for c in changes],
            },
        )
    else:
        _record_events(register, changes)
    return versions


def _record_events(register: Register, changes: Sequence[_Change]) -> None:
    """Each change's register event, then the life events it amounts to: one insert per type."""
    generic: dict[str, list[dict[str, Any]]] = {}
    life: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        about = {
            "register": register.code,
            "record": str(change.record.public_id),
            "version": change.record.version,
        }
        generic.setdefault(EVENT_TYPES[change.op], []).append(about)
        after = None if change.op == Operation.DELETE else change.data
        for event in lifeevents.derive(
            register.code, change.op, change.before, after, birth=change.birth
        ):
            life.setdefault(event.type, []).append({**event.payload, **about})
    for kind in (generic, life):
        for event_type, payloads in kind.items():
            events.events_record_many(type=event_type, payloads=payloads)


def _indexed(index: int, exc: ValidationError, batch: bool) -> ValidationError:
    """A record's error, saying which record of a batch it is about."""
    if not batch:
        return exc
    field = f"{index}.{exc.field}" if exc.field else str(index)
    return ValidationError(
        code=exc.code, message=exc.message, field=field, details={**exc.details, "index": index}
    )


def _create(
    *,
    register: str,
    items: Sequence[Mapping[str, Any]],
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str,
    load: bool,
) -> list[RecordVersion]:
    reg = _register(register)
    _check_write(actor, agency, reg)
    basis = _check_basis(basis)
    _check_batch_size(items)
    checked: list[tuple[dict[str, Any], str, bytes]] = []
    for index, data in enumerate(items):
        try:
            checked.append(_validate(reg, data))
        except ValidationError as exc:
            raise _indexed(index, exc, load) from None
    return _insert_created(
        reg=reg, checked=checked, actor=actor, agency=agency, basis=basis, reason=reason, load=load
    )


def _check_batch_size(items: Sequence[Any]) -> None:
    if len(items) > MAX_BATCH:
        raise ValidationError(
            code="batch_too_large",
            message=_("Too many records in one request."),
            details={"size": len(items), "limit": MAX_BATCH},
        )


def _insert_created(
    *,
    reg: Register,
    checked: Sequence[tuple[dict[str, Any], str, bytes]],
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str,
    load: bool,
    births: Sequence[dict[str, Any]] | None = None,
) -> list[RecordVersion]:
    """Write new records (checked data, key, canonical bytes) with their first versions;
    ``births``, one per record, when they are births (their facts)."""
    keys = [key for _data, key, _canonical in checked]
    if len(set(keys)) != len(keys):
        raise Conflict(
            code="record_repeated",
            message=_("The same key appears more than once."),
            details={"keys": sorted({k for k in keys if keys.count(k) > 1})[:20]},
        )
    try:
        with transaction.atomic():
            records = insert_many(
                Record, (Record(register=reg, key=key, version=1) for key in keys)
            )
    except IntegrityError:
        taken = Record.objects.filter(register=reg, key__in=keys).values_list("key", flat=True)
        raise Conflict(
            code="record_exists",
            message=_("A record with this key already exists."),
            details={"keys": sorted(taken)[:20]} if load else {},
        ) from None
    return _write_versions(
        register=reg,
        changes=[
            _Change(
                record,
                Operation.CREATE,
                data,
                canonical,
                birth=births[index] if births is not None else None,
            )
            for index, (record, (data, _key, canonical)) in enumerate(
                zip(records, checked, strict=True)
            )
        ],
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
        load=load,
    )


@transaction.atomic
def records_create_many(
    *,
    register: str,
    items: Sequence[Mapping[str, Any]],
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str = "",
) -> list[RecordVersion]:
    """Load many records into one register in one transaction: all of them, or none.

    For bringing existing records into a register (a migration, an initial load): each record
    is checked exactly as ``record_create`` checks it and gets its own version and ledger entry,
    but the writes are batched (one insert per table) and the load is one event listing the
    records, since loading a record is not something that happened to the person.
    """
    return _create(
        register=register,
        items=items,
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
        load=True,
    )


@transaction.atomic
def record_create(
    *,
    register: str,
    data: Mapping[str, Any],
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str = "",
) -> RecordVersion:
    return _create(
        register=register,
        items=[data],
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
        load=False,
    )[0]


def _current(reg: Register, key: str, expected_version: int) -> Record:
    record = Record.objects.select_for_update().filter(register=reg, key=key).first()
    if record is None:
        raise NotFound(code="record_not_found", message=_("There is no such record."))
    if record.is_deleted:
        raise Conflict(code="record_deleted", message=_("This record was deleted."))
    if record.version != expected_version:
        raise Conflict(
            code="stale_version",
            message=_("The record was changed in the meantime. Reload it and try again."),
            details={"current_version": record.version},
        )
    return record


def _advance(reg: Register, key: str, expected_version: int, *, deleting: bool) -> Record:
    """Lock the record, check it is at ``expected_version`` and move its header one on."""
    record = _current(reg, key, expected_version)
    record.version += 1
    record.is_deleted = deleting
    record.save(update_fields=["version", "is_deleted", "updated_at"])
    return record


@transaction.atomic
def record_update(
    *,
    register: str,
    key: str,
    data: Mapping[str, Any],
    expected_version: int,
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str = "",
) -> RecordVersion:
    reg = _register(register)
    _check_write(actor, agency, reg)
    clean, new_key, canonical = _validate(reg, data)
    if new_key != key:
        raise ValidationError(
            code="key_changed", message=_("A record's key cannot change."), field=reg.key_field
        )
    basis = _check_basis(basis)
    record = _advance(reg, key, expected_version, deleting=False)
    before = None
    if lifeevents.needs_before(reg.code):
        before = (
            RecordVersion.objects.filter(record=record, number=expected_version)
            .values_list("data", flat=True)
            .first()
        )
    return _write_versions(
        register=reg,
        changes=[_Change(record, Operation.UPDATE, clean, canonical, before=before)],
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
    )[0]


@transaction.atomic
def record_delete(
    *,
    register: str,
    key: str,
    expected_version: int,
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str = "",
) -> RecordVersion:
    """Close a record with a tombstone version; nothing is ever physically deleted."""
    reg = _register(register)
    _check_write(actor, agency, reg)
    basis = _check_basis(basis)
    record = _advance(reg, key, expected_version, deleting=True)
    return _write_versions(
        register=reg,
        changes=[_Change(record, Operation.DELETE, {}, b"{}")],
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
    )[0]


# --- Registering births -------------------------------------------------------------------

# Stands in for the child's IIN while the record is checked against the schema: the IIN is
# allocated only once everything else about the child is known to be right.
_IIN_TO_COME = make_iin(datetime.date(2000, 1, 1), "M")
EARLIEST_BIRTH_YEAR = 1800  # the first century an IIN encodes


def _child_checked(
    reg: Register, child: Mapping[str, Any], today: datetime.date
) -> tuple[dict[str, Any], datetime.date, str]:
    """The child's record (without its IIN), birth date and sex, or a ``ValidationError``."""
    if not isinstance(child, Mapping):
        raise ValidationError(code="invalid_record", message=_("A record must be an object."))
    if reg.key_field in child:
        raise ValidationError(
            code="iin_given",
            message=_("Leave the IIN out: the register gives it when the birth is registered."),
            field=reg.key_field,
        )
    data, _key, _canonical = _validate(reg, {**child, reg.key_field: _IIN_TO_COME})
    del data[reg.key_field]
    try:
        born = datetime.date.fromisoformat(str(data["birth_date"]))
    except (KeyError, ValueError):
        raise ValidationError(
            code="birth_date_required",
            message=_("Give the child's date of birth (YYYY-MM-DD)."),
            field="birth_date",
        ) from None
    if born > today:
        raise ValidationError(
            code="birth_date_in_future",
            message=_("A date of birth cannot be in the future."),
            field="birth_date",
        )
    if born.year < EARLIEST_BIRTH_YEAR:
        raise ValidationError(
            code="birth_date_too_early",
            message=_("An IIN cannot be given for a date of birth before 1800."),
            field="birth_date",
        )
    sex = data.get("sex")
    if sex not in ("M", "F"):
        raise ValidationError(
            code="sex_required", message=_("Give the child's sex (M or F)."), field="sex"
        )
    return data, born, str(sex)


def _parent_iins(data: Mapping[str, Any]) -> list[str]:
    parents = data.get("parents")
    if not isinstance(parents, list):
        return []
    return [str(p.get("iin") or "") for p in parents if isinstance(p, Mapping)]


def _check_parents(reg: Register, children: Sequence[Mapping[str, Any]], batch: bool) -> None:
    """Every parent named is a live person of the register."""
    named = sorted({iin for data in children for iin in _parent_iins(data)})
    known: set[str] = set()
    for start in range(0, len(named), MAX_BATCH):
        known.update(
            Record.objects.filter(
                register=reg, key__in=named[start : start + MAX_BATCH], is_deleted=False
            ).values_list("key", flat=True)
        )
    for index, data in enumerate(children):
        for position, parent in enumerate(_parent_iins(data)):
            if parent not in known:
                error = ValidationError(
                    code="parent_not_found",
                    message=_("There is no such person in the population register."),
                    field=f"parents.{position}.iin",
                )
                raise _indexed(index, error, batch)


def _check_not_own_parent(
    children: Sequence[Mapping[str, Any]], iins: Sequence[str], batch: bool
) -> None:
    """No child is named as their own parent. An allocated IIN is one nobody in the register
    holds and parents are people of the register, so this only guards the allocation."""
    for index, (data, iin) in enumerate(zip(children, iins, strict=True)):
        for position, parent in enumerate(_parent_iins(data)):
            if parent == iin:
                error = ValidationError(
                    code="parent_is_child",
                    message=_("A child cannot be their own parent."),
                    field=f"parents.{position}.iin",
                )
                raise _indexed(index, error, batch)


def _births(
    *,
    children: Sequence[Mapping[str, Any]],
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str,
    batch: bool,
    facts: Sequence[Mapping[str, Any] | None] | None = None,
) -> list[RecordVersion]:
    reg = _register(POPULATION)
    _check_write(actor, agency, reg)
    basis = _check_basis(basis)
    _check_batch_size(children)
    if facts is not None and len(facts) != len(children):
        raise ValidationError(code="facts_mismatch", message=_("Give the facts of each birth."))
    births = []
    for index, given in enumerate(facts or [None] * len(children)):
        try:
            births.append(_birth_facts(given))
        except ValidationError as exc:
            raise _indexed(index, exc, batch) from None
    today = timezone.localdate()
    found: list[tuple[dict[str, Any], datetime.date, str]] = []
    for index, child in enumerate(children):
        try:
            found.append(_child_checked(reg, child, today))
        except ValidationError as exc:
            raise _indexed(index, exc, batch) from None
    records = [data for data, _born, _sex in found]
    _check_parents(reg, records, batch)
    iins = iins_allocate(register=reg, births=[(born, sex) for _data, born, sex in found])
    _check_not_own_parent(records, iins, batch)
    checked = []
    for data, iin in zip(records, iins, strict=True):
        record = {reg.key_field: iin, **data}
        checked.append((record, iin, canonicalize(record)))
    return _insert_created(
        reg=reg,
        checked=checked,
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
        load=False,
        births=births,
    )


def _birth_facts(given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The facts of a birth the hospital records besides the child: which birth of the
    mother it is (``order``, 1-30) and whether twins or more were born (``multiple``)."""
    if given is None:
        return {}
    if not isinstance(given, Mapping) or set(given) - {"order", "multiple"}:
        raise ValidationError(
            code="bad_birth_facts",
            message=_("The facts of a birth are its order and whether it was multiple."),
            field="birth",
        )
    facts: dict[str, Any] = {}
    order = given.get("order")
    if order is not None:
        if type(order) is not int or not 1 <= order <= 30:
            raise ValidationError(
                code="bad_birth_order",
                message=_("The birth order is a whole number from 1 to 30."),
                field="birth.order",
            )
        facts["order"] = order
    multiple = given.get("multiple")
    if multiple is not None:
        if not isinstance(multiple, bool):
            raise ValidationError(
                code="bad_multiple_birth",
                message=_("Say whether twins or more were born: true or false."),
                field="birth.multiple",
            )
        facts["multiple"] = multiple
    return facts


@transaction.atomic
def birth_register(
    *,
    child: Mapping[str, Any],
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str = "",
    facts: Mapping[str, Any] | None = None,
) -> RecordVersion:
    """Register a birth: the child's population record, with a newly allocated IIN.

    ``child`` is a population record without ``iin``. It is checked as ``record_create``
    checks a record; the birth date must not be in the future and each parent named must be a
    person of the register. The IIN is made of the birth date, the sex and the next free serial
    (``iins.iins_allocate``). The record is written as a create, with its ledger entry, its
    ``registry.record_created`` event and a ``PersonBorn`` life event, which carries the
    birth's ``facts`` (``order``, ``multiple``) when given. The actor needs a writing grant of
    ``agency`` on the population register.
    """
    return _births(
        children=[child],
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
        batch=False,
        facts=[facts],
    )[0]


@transaction.atomic
def births_register(
    *,
    children: Sequence[Mapping[str, Any]],
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str = "",
    facts: Sequence[Mapping[str, Any] | None] | None = None,
) -> list[RecordVersion]:
    """Register many births (at most ``MAX_BATCH``) in one transaction: all of them, or none.

    Each child is checked and written as by ``birth_register``, but the writes are batched as
    in ``records_create_many`` (one insert per table); an error names the child by its
    position (``field: "3.birth_date"``, ``details.index: 3``). Unlike a load, every child is a
    birth: each gets its ``registry.record_created`` and ``PersonBorn`` events.
    """
    return _births(
        children=children,
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
        batch=True,
        facts=facts,
    )
