"""Proof endpoints under /api/v1/ledger: inclusion, consistency, an entry with its proof file."""

from __future__ import annotations

import base64
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from . import selectors

router = Router(tags=["ledger"])

LOG_PATTERN = r"^[a-z0-9-]{1,40}$"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class InclusionOut(Schema):
    log: str
    index: int
    tree_size: int
    leaf_hash: str = Field(description="Base64 of SHA-256(0x00 || entry).")
    proof: list[str] = Field(description="Base64 hashes, from the leaf up (RFC 6962).")
    checkpoint: str | None = Field(description="The signed, cosigned checkpoint of tree_size.")


class ConsistencyOut(Schema):
    log: str
    old_size: int
    new_size: int
    proof: list[str]


class EntryOut(Schema):
    log: str
    index: int
    entry: str = Field(description="Base64 of the entry bytes (RFC 8785 JSON).")
    proof_file: str = Field(description="A tlog-proof file (c2sp.org/tlog-proof), as text.")


class SizeQuery(Schema):
    size: int | None = Field(None, ge=1, le=2**63 - 1, description="Defaults to the latest.")


class IndexQuery(SizeQuery):
    index: int = Field(..., ge=0, le=2**63 - 1)


class HashQuery(SizeQuery):
    hash: str = Field(..., pattern=r"^[0-9a-fA-F]{64}$", description="Leaf hash, hex.")


class ConsistencyQuery(Schema):
    old: int = Field(..., ge=0, le=2**63 - 1)
    new: int = Field(..., ge=1, le=2**63 - 1)


def _inclusion(proof: selectors.InclusionProof) -> dict[str, Any]:
    return {
        "log": proof.log,
        "index": proof.index,
        "tree_size": proof.size,
        "leaf_hash": _b64(proof.leaf_hash),
        "proof": [_b64(h) for h in proof.proof],
        "checkpoint": proof.checkpoint,
    }


@router.get("/{log}/inclusion", response=InclusionOut, summary="Inclusion proof by index")
def inclusion(request: HttpRequest, log: str, query: Query[IndexQuery]) -> dict[str, Any]:
    return _inclusion(selectors.inclusion_by_index(log, query.index, query.size))


@router.get(
    "/{log}/inclusion-by-hash", response=InclusionOut, summary="Inclusion proof by entry hash"
)
def inclusion_by_hash(request: HttpRequest, log: str, query: Query[HashQuery]) -> dict[str, Any]:
    return _inclusion(selectors.inclusion_by_hash(log, query.hash, query.size))


@router.get("/{log}/consistency", response=ConsistencyOut, summary="Consistency proof")
def consistency(request: HttpRequest, log: str, query: Query[ConsistencyQuery]) -> dict[str, Any]:
    proof = selectors.consistency_proof(log, query.old, query.new)
    return {
        "log": log,
        "old_size": query.old,
        "new_size": query.new,
        "proof": [_b64(h) for h in proof],
    }


@router.get("/{log}/entries/{index}", response=EntryOut, summary="An entry with its proof file")
def entry(request: HttpRequest, log: str, index: int) -> dict[str, Any]:
    data, proof = selectors.entry_with_proof(log, index)
    return {
        "log": log,
        "index": index,
        "entry": _b64(data),
        "proof_file": proof.to_bytes().decode(),
    }


@router.get("/{log}/entries/{index}/proof", summary="The proof file alone (text/plain)")
def entry_proof_file(request: HttpRequest, log: str, index: int) -> HttpResponse:
    _data, proof = selectors.entry_with_proof(log, index)
    response = HttpResponse(proof.to_bytes(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{log}-{index}.tlog-proof"'
    return response
