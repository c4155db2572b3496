"""Registers API under /api/v1/registries: read, search, history, proofs; write, register births.

Officials and agency systems name the agency they act for (``agency``, one of their
memberships) and, to read a person's data, a purpose and a legal basis; every such read is
written to the data tracker. A person may read the records about themselves without either.
Errors are the services' and selectors' domain errors, returned as RFC 9457 problems.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from shanyraq.accounts.models import User

from . import selectors, services
from .models import RecordVersion

# Mounted by the API shell with ``auth=session_or_token``: every endpoint needs a signed-in person
# or a bearer token (the tests check 401 for anonymous callers on each one).
router = Router(tags=["registries"])

CODE_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"
RESERVED_PARAMETERS = frozenset({"agency", "purpose", "basis", "case", "page", "page_size"})


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # session_or_token lets only signed-in users through
    return user


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- Input --------------------------------------------------------------------------------


class AgencyQuery(Schema):
    agency: str | None = Field(
        None,
        max_length=40,
        pattern=CODE_PATTERN,
        description="Code of the agency you act for; leave out to read a record about yourself.",
    )


class ReadQuery(AgencyQuery):
    purpose: str = Field("", max_length=300, description="Why the data is read (required).")
    basis: str = Field("", max_length=300, description="Legal basis of the read (required).")
    case: str = Field("", max_length=100, description="Case or application concerned.")


class SearchQuery(ReadQuery):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class RecordIn(Schema):
    data: dict[str, Any]
    basis: str = Field(..., max_length=300, description="Legal basis or case of the change.")
    reason: str = Field("", max_length=2000)
    agency: str | None = Field(None, max_length=40, pattern=CODE_PATTERN)


class BirthFactsIn(Schema):
    order: int | None = Field(None, ge=1, le=30, description="Which birth of the mother it is.")
    multiple: bool | None = Field(None, description="Twins or more were born.")


class BirthIn(Schema):
    data: dict[str, Any] = Field(
        description=(
            "The child's population record without `iin`: the register gives the IIN, made of "
            "the birth date, the sex and the next free serial."
        )
    )
    basis: str = Field(..., max_length=300, description="Legal basis or the birth record's number.")
    reason: str = Field("", max_length=2000)
    agency: str | None = Field(None, max_length=40, pattern=CODE_PATTERN)
    birth: BirthFactsIn | None = Field(
        None, description="Facts of the birth that are not in the child's record."
    )


class RecordUpdateIn(RecordIn):
    expected_version: int = Field(..., ge=1, description="The version this update changes.")


class DeleteQuery(AgencyQuery):
    expected_version: int = Field(..., ge=1)
    basis: str = Field(..., max_length=300)
    reason: str = Field("", max_length=2000)


# --- Output -------------------------------------------------------------------------------


class RecordOut(Schema):
    registry: str
    key: str
    public_id: uuid.UUID
    version: int
    is_deleted: bool
    fields: list[str] = Field(description="The fields shown: those your role may read.")
    data: dict[str, Any]


class WrittenOut(Schema):
    registry: str
    key: str
    public_id: uuid.UUID
    version: int
    op: str
    created_at: datetime
    ledger_leaf_hash: str = Field(description="Hex SHA-256 leaf hash of the version's entry.")


class VersionOut(Schema):
    number: int
    op: str
    created_at: datetime
    agency: str | None = Field(description="Code of the agency that made the change.")
    basis: str
    fields: list[str]
    data: dict[str, Any]
    ledger_log: str
    ledger_index: int | None = Field(description="None until the integrator sequences it.")
    published: bool


class HistoryOut(Schema):
    registry: str
    key: str
    public_id: uuid.UUID
    is_deleted: bool
    count: int
    items: list[VersionOut]


class LedgerProofOut(Schema):
    log: str
    index: int | None
    published: bool
    leaf_hash: str
    entry: str = Field(description="Base64 of the entry bytes (RFC 8785 JSON).")
    proof_file: str | None = Field(description="A c2sp.org/tlog-proof file, once published.")


class VersionProofOut(VersionOut):
    registry: str
    key: str
    public_id: uuid.UUID
    schema_version: int
    commitment: str
    salt: str | None = Field(
        description="Opening of the commitment; given only to the person the record is about."
    )
    ledger: LedgerProofOut


class ExistsOut(Schema):
    exists: bool


class SearchOut(Schema):
    count: int
    page: int
    page_size: int
    pages: int
    items: list[RecordOut]


def _written(register: str, version: RecordVersion) -> dict[str, Any]:
    record = version.record
    return {
        "registry": register,
        "key": record.key,
        "public_id": record.public_id,
        "version": version.number,
        "op": version.op,
        "created_at": version.created_at,
        "ledger_leaf_hash": version.ledger_entry.leaf_hash,
    }


def _record(view: selectors.RecordView) -> dict[str, Any]:
    return {
        "registry": view.register,
        "key": view.key,
        "public_id": view.public_id,
        "version": view.version,
        "is_deleted": view.is_deleted,
        "fields": view.fields,
        "data": view.data,
    }


def _version(view: selectors.VersionView) -> dict[str, Any]:
    return {
        "number": view.number,
        "op": view.op,
        "created_at": view.created_at,
        "agency": view.agency.code if view.agency else None,
        "basis": view.basis,
        "fields": view.fields,
        "data": view.data,
        "ledger_log": view.ledger_log,
        "ledger_index": view.ledger_index,
        "published": view.published,
    }


# --- Endpoints ----------------------------------------------------------------------------

# Keys may contain "/" (a flat's cadastral number), so they are matched as paths; the longer
# routes come first so that ".../versions" is never taken for part of a key.


@router.get(
    "/{registry}/search",
    response=SearchOut,
    summary="Search records by their search fields",
    description=(
        "Give each field to match as a query parameter (`?last_name=...`); only the register's "
        "search fields that your role may read can be used. Every record returned is recorded "
        "in the data tracker."
    ),
)
def search(request: HttpRequest, registry: str, query: Query[SearchQuery]) -> Any:
    actor = _actor(request)
    criteria = {
        name: request.GET.get(name, "") for name in request.GET if name not in RESERVED_PARAMETERS
    }
    page = selectors.records_search(
        register=registry,
        criteria=criteria,
        actor=actor,
        agency=selectors.acting_agency(actor, query.agency),
        purpose=query.purpose,
        basis=query.basis,
        case_ref=query.case,
        page=query.page,
        page_size=query.page_size,
    )
    return {
        "count": page.count,
        "page": page.page,
        "page_size": page.page_size,
        "pages": page.pages,
        "items": [_record(item) for item in page.items],
    }


@router.post(
    "/population/births",
    response={201: WrittenOut},
    summary="Register a birth",
    description=(
        "For an agency's system or official with a writing grant on the population register. "
        "The child's record is checked as a created record is; the birth date may not be in "
        "the future and every parent named must be in the register. The answer carries the "
        "child's new IIN as `key`. The birth is announced by a `PersonBorn` event, with the "
        "birth's `order` and `multiple` when given."
    ),
)
def birth(request: HttpRequest, body: BirthIn) -> Any:
    actor = _actor(request)
    version = services.birth_register(
        child=body.data,
        actor=actor,
        agency=selectors.acting_agency(actor, body.agency),
        basis=body.basis,
        reason=body.reason,
        facts=body.birth.model_dump(exclude_none=True) if body.birth else None,
    )
    return Status(201, _written(services.POPULATION, version))


@router.post("/{registry}/records", response={201: WrittenOut}, summary="Create a record")
def create(request: HttpRequest, registry: str, body: RecordIn) -> Any:
    actor = _actor(request)
    version = services.record_create(
        register=registry,
        data=body.data,
        actor=actor,
        agency=selectors.acting_agency(actor, body.agency),
        basis=body.basis,
        reason=body.reason,
    )
    return Status(201, _written(registry, version))


@router.get(
    "/{registry}/records/{path:key}/exists", response=ExistsOut, summary="Whether a record exists"
)
def exists(request: HttpRequest, registry: str, key: str, query: Query[AgencyQuery]) -> Any:
    actor = _actor(request)
    agency = selectors.acting_agency(actor, query.agency)
    found = selectors.record_exists(register=registry, key=key, actor=actor, agency=agency)
    return {"exists": found}


@router.get(
    "/{registry}/records/{path:key}/versions/{number}",
    response=VersionProofOut,
    summary="A version with its ledger inclusion proof",
)
def version(
    request: HttpRequest, registry: str, key: str, number: int, query: Query[ReadQuery]
) -> Any:
    actor = _actor(request)
    found = selectors.version_with_proof(
        register=registry,
        key=key,
        number=number,
        actor=actor,
        agency=selectors.acting_agency(actor, query.agency),
        purpose=query.purpose,
        basis=query.basis,
        case_ref=query.case,
    )
    return {
        **_version(found.version),
        "registry": found.register,
        "key": found.key,
        "public_id": found.public_id,
        "schema_version": found.schema_version,
        "commitment": found.commitment,
        "salt": found.salt,
        "ledger": {
            "log": found.version.ledger_log,
            "index": found.version.ledger_index,
            "published": found.published,
            "leaf_hash": found.leaf_hash,
            "entry": _b64(found.entry),
            "proof_file": found.proof.to_bytes().decode() if found.proof else None,
        },
    }


@router.get(
    "/{registry}/records/{path:key}/versions", response=HistoryOut, summary="A record's history"
)
def versions(request: HttpRequest, registry: str, key: str, query: Query[ReadQuery]) -> Any:
    actor = _actor(request)
    history = selectors.record_history(
        register=registry,
        key=key,
        actor=actor,
        agency=selectors.acting_agency(actor, query.agency),
        purpose=query.purpose,
        basis=query.basis,
        case_ref=query.case,
    )
    return {
        "registry": history.register,
        "key": history.key,
        "public_id": history.public_id,
        "is_deleted": history.is_deleted,
        "count": len(history.versions),
        "items": [_version(v) for v in history.versions],
    }


@router.get("/{registry}/records/{path:key}", response=RecordOut, summary="Read a record")
def read(request: HttpRequest, registry: str, key: str, query: Query[ReadQuery]) -> Any:
    actor = _actor(request)
    view = selectors.record_read(
        register=registry,
        key=key,
        actor=actor,
        agency=selectors.acting_agency(actor, query.agency),
        purpose=query.purpose,
        basis=query.basis,
        case_ref=query.case,
    )
    return _record(view)


@router.put("/{registry}/records/{path:key}", response=WrittenOut, summary="Update a record")
def update(request: HttpRequest, registry: str, key: str, body: RecordUpdateIn) -> Any:
    actor = _actor(request)
    version = services.record_update(
        register=registry,
        key=key,
        data=body.data,
        expected_version=body.expected_version,
        actor=actor,
        agency=selectors.acting_agency(actor, body.agency),
        basis=body.basis,
        reason=body.reason,
    )
    return _written(registry, version)


@router.delete(
    "/{registry}/records/{path:key}", response=WrittenOut, summary="Close a record (tombstone)"
)
def delete(request: HttpRequest, registry: str, key: str, query: Query[DeleteQuery]) -> Any:
    actor = _actor(request)
    version = services.record_delete(
        register=registry,
        key=key,
        expected_version=query.expected_version,
        actor=actor,
        agency=selectors.acting_agency(actor, query.agency),
        basis=query.basis,
        reason=query.reason,
    )
    return _written(registry, version)
