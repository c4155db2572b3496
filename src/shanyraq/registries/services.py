"""Writes to the registers: create, update and delete records, each as a new version.

Every write validates the data against the register's current schema, writes the version,
its ledger entry (a salted commitment, no personal data) and a domain event in one
transaction. Updates and deletions name the version they change (optimistic concurrency): a
stale one is refused with a conflict and nothing is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
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
from shanyraq.core.canonical_json import canonicalize
from shanyraq.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from shanyraq.events import services as events
from shanyraq.ledger_django import services as ledger

from . import commitments
from .models import Grant, Operation, Record, RecordVersion, Register, RegisterSchema, SearchValue
from .validation import schema_problems

__all__ = [
    "MAX_RECORD_BYTES",
    "actor_pseudonym",
    "record_create",
    "record_delete",
    "record_update",
    "register_define",
]

MAX_RECORD_BYTES = 256 * 1024
EVENT_TYPES = {
    Operation.CREATE: "registry.record_created",
    Operation.UPDATE: "registry.record_updated",
    Operation.DELETE: "registry.record_deleted",
}
MAX_BASIS = 300


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


def _validate(register: Register, data: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    if not isinstance(data, Mapping):
        raise ValidationError(code="invalid_record", message=_("A record must be an object."))
    try:
        size = len(canonicalize(dict(data)))
    except (TypeError, ValueError):
        raise ValidationError(
            code="invalid_record", message=_("A record must be plain JSON.")
        ) from None
    if size > MAX_RECORD_BYTES:
        raise ValidationError(
            code="record_too_large",
            message=_("The record is too large."),
            details={"size": size, "limit": MAX_RECORD_BYTES},
        )
    problems = schema_problems(_schema_json(register.pk, register.current_schema), data)
    if problems:
        raise ValidationError(
            code="schema_violation",
            message=_("The record does not match the register's schema."),
            field=problems[0]["field"],
            details={"problems": problems},
        )
    key = data.get(register.key_field)
    if not isinstance(key, str) or not key:
        raise ValidationError(
            code="missing_key", message=_("The record's key is missing."), field=register.key_field
        )
    return dict(data), key


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


def _write_version(
    *,
    record: Record,
    op: Operation,
    data: dict[str, Any],
    register: Register,
    actor: User | None,
    agency: Agency | None,
    basis: str,
    reason: str,
) -> RecordVersion:
    number = record.version + 1
    salt = commitments.new_salt()
    now = timezone.now()
    entry = ledger.ledger_append(
        entry={
            "v": 1,
            "type": "registry.record",
            "registry": register.code,
            "record": str(record.public_id),
            "version": number,
            "op": str(op),
            "commitment": commitments.commit(salt, data),
            "fields": commitments.field_commitments(salt, data),
            "actor": actor_pseudonym(actor),
            "agency": agency.code if agency else "",
            "basis": basis,
            "time": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
    )
    version = RecordVersion.objects.create(
        record=record,
        number=number,
        op=op,
        data=data,
        schema_version=register.current_schema,
        salt=salt,
        commitment=commitments.commit(salt, data),
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason[:2000],
        created_at=now,
        ledger_entry=entry,
    )
    updated = Record.objects.filter(pk=record.pk, version=record.version).update(
        version=number, is_deleted=op == Operation.DELETE
    )
    if not updated:
        raise Conflict(code="stale_version", message=_("The record was changed in the meantime."))
    record.version, record.is_deleted = number, op == Operation.DELETE
    SearchValue.objects.filter(record=record).delete()
    if op != Operation.DELETE:
        SearchValue.objects.bulk_create(
            SearchValue(register=register, record=record, field=f, value=str(data[f])[:200])
            for f in register.search_fields
            if data.get(f) not in (None, "")
        )
    events.event_record(
        type=EVENT_TYPES[Operation(op)],
        payload={"register": register.code, "record": str(record.public_id), "version": number},
    )
    return version


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
    reg = _register(register)
    _check_write(actor, agency, reg)
    clean, key = _validate(reg, data)
    basis = _check_basis(basis)
    try:
        with transaction.atomic():
            record = Record.objects.create(register=reg, key=key)
    except IntegrityError:
        raise Conflict(
            code="record_exists", message=_("A record with this key already exists.")
        ) from None
    return _write_version(
        record=record,
        op=Operation.CREATE,
        data=clean,
        register=reg,
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
    )


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
    clean, new_key = _validate(reg, data)
    if new_key != key:
        raise ValidationError(
            code="key_changed", message=_("A record's key cannot change."), field=reg.key_field
        )
    basis = _check_basis(basis)
    record = _current(reg, key, expected_version)
    return _write_version(
        record=record,
        op=Operation.UPDATE,
        data=clean,
        register=reg,
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
    )


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
    record = _current(reg, key, expected_version)
    return _write_version(
        record=record,
        op=Operation.DELETE,
        data={},
        register=reg,
        actor=actor,
        agency=agency,
        basis=basis,
        reason=reason,
    )
