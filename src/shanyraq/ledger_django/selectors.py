"""Reads from the ledger: the log's state, proofs computed from tiles, entries with proofs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext_lazy as _

from shanyraq.core.errors import NotFound, ValidationError
from shanyraq.ledger import merkle
from shanyraq.ledger.checkpoint import parse_checkpoint
from shanyraq.ledger.errors import LedgerError
from shanyraq.ledger.log import TiledLog
from shanyraq.ledger.note import parse_note
from shanyraq.ledger.proof import TlogProof

from . import config
from .models import Entry, LogState, PublishedCheckpoint

__all__ = [
    "EntryRow",
    "InclusionProof",
    "LogOverview",
    "checkpoint_bytes",
    "consistency_proof",
    "entry_with_proof",
    "inclusion_by_hash",
    "inclusion_by_index",
    "log_overview",
    "published_entries",
    "published_size",
    "tile_bytes",
]

_readers: dict[tuple[str, str], TiledLog] = {}
_readers_lock = threading.Lock()


def _reader(log: config.LogConfig) -> TiledLog:
    """A tile reader per log and process; tiles are immutable, so its cache never goes stale."""
    key = (log.name, str(log.storage_dir))
    with _readers_lock:
        reader = _readers.get(key)
        if reader is None:
            reader = TiledLog(log.storage().read, cache_tiles=4096)
            _readers[key] = reader
        return reader


def _log(name: str) -> config.LogConfig:
    try:
        return config.get_log(name)
    except config.LedgerNotConfigured:
        raise NotFound(code="log_not_found", message=_("There is no such log.")) from None


def checkpoint_bytes(name: str) -> bytes:
    """The latest published checkpoint (with cosignatures), or NotFound before the first."""
    data = _log(name).storage().read_checkpoint()
    if data is None:
        raise NotFound(
            code="no_checkpoint", message=_("The log has not published a checkpoint yet.")
        )
    return data


def tile_bytes(name: str, path: str) -> bytes:
    """An immutable tile or entry bundle by its URL path (``tile/...``)."""
    from shanyraq.ledger.tiles import parse_tile_path

    log = _log(name)
    try:
        parse_tile_path(path)
        return log.storage().read(path)
    except (LedgerError, ValueError):
        raise NotFound(code="tile_not_found", message=_("There is no such tile.")) from None


def _published_size(log: config.LogConfig) -> int:
    state = LogState.objects.filter(log=log.name).first()
    return state.published_size if state else 0


@dataclass(frozen=True)
class InclusionProof:
    log: str
    index: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]
    checkpoint: str | None


def _checkpoint_note(log: config.LogConfig, size: int) -> str | None:
    note = (
        PublishedCheckpoint.objects.filter(log=log.name, size=size)
        .values_list("note", flat=True)
        .first()
    )
    return note


def _tiles_unavailable() -> NotFound:
    return NotFound(code="tiles_unavailable", message=_("The log's tiles are unavailable."))


LATEST_TTL_SECONDS = 1.0
_latest_cache: dict[tuple[str, str], tuple[float, int, str | None]] = {}


def _latest(log: config.LogConfig) -> tuple[int, str | None]:
    """The latest published checkpoint's size and note.

    Kept for a second per process: a proof against a checkpoint a second old is just as valid
    (every published checkpoint stays verifiable), and proof requests then need no query.
    """
    key = (log.name, str(log.storage_dir))
    now = time.monotonic()
    cached = _latest_cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1], cached[2]
    row = (
        PublishedCheckpoint.objects.filter(log=log.name)
        .order_by("-size")
        .values_list("size", "note")
        .first()
    )
    size, note = (row[0], row[1]) if row else (0, None)
    if size:
        _latest_cache[key] = (now + LATEST_TTL_SECONDS, size, note)
    return size, note


def _target_size(log: config.LogConfig, size: int | None, published: int) -> int:
    if size is None:
        size = published
    if size < 1 or size > published:
        raise ValidationError(
            code="size_out_of_range",
            message=_("The tree size must be between 1 and the published size."),
            field="size",
            details={"published_size": published},
        )
    return size


def inclusion_by_index(name: str, index: int, size: int | None = None) -> InclusionProof:
    """An inclusion proof in the tree of ``size`` (default: the latest published checkpoint).

    Hashes are read through the tiles of the latest published size: every node of a smaller
    tree is also a node of the larger one, so any earlier size can be proved against.
    """
    log = _log(name)
    published, latest_note = _latest(log)
    size = _target_size(log, size, published)
    if not 0 <= index < size:
        raise ValidationError(
            code="index_out_of_range",
            message=_("The entry index must be below the tree size."),
            field="index",
            details={"size": size},
        )
    reader = _reader(log)
    try:
        hashes = reader.hash_reader(published)
        proof = merkle.inclusion_proof(index, size, hashes)
        leaf = reader.leaf_hash(index, published)
    except LedgerError as exc:
        raise NotFound(
            code="tiles_unavailable", message=_("The log's tiles are unavailable.")
        ) from exc
    return InclusionProof(
        log=log.name,
        index=index,
        size=size,
        leaf_hash=leaf,
        proof=proof,
        checkpoint=latest_note if size == published else _checkpoint_note(log, size),
    )


def inclusion_by_hash(name: str, leaf_hash_hex: str, size: int | None = None) -> InclusionProof:
    log = _log(name)
    index = (
        Entry.objects.filter(log=log.name, leaf_hash=leaf_hash_hex.lower(), index__isnull=False)
        .order_by("index")
        .values_list("index", flat=True)
        .first()
    )
    if index is None:
        raise NotFound(code="entry_not_found", message=_("No entry with this hash is in the log."))
    return inclusion_by_index(name, index, size)


def consistency_proof(name: str, old_size: int, new_size: int) -> list[bytes]:
    log = _log(name)
    published, _note = _latest(log)
    if not 0 <= old_size <= new_size <= published:
        raise ValidationError(
            code="size_out_of_range",
            message=_("The sizes must satisfy 0 ≤ old ≤ new ≤ the published size."),
            details={"published_size": published},
        )
    if old_size in (0, new_size):
        return []
    try:
        return merkle.consistency_proof(old_size, new_size, _reader(log).hash_reader(published))
    except LedgerError as exc:
        raise NotFound(
            code="tiles_unavailable", message=_("The log's tiles are unavailable.")
        ) from exc


def published_size(name: str) -> int:
    return _published_size(_log(name))


def published_entries(name: str) -> Iterator[tuple[int, bytes]]:
    """Every published entry of the log with its index, read from the tiles."""
    log = _log(name)
    size = _published_size(log)
    reader = TiledLog(log.storage().read, cache_tiles=16)
    yield from enumerate(reader.entries(size))


@dataclass(frozen=True)
class EntryRow:
    index: int
    kind: str
    leaf_hash: str
    created_at: datetime


def entry_with_proof(name: str, index: int) -> tuple[bytes, TlogProof]:
    """An entry and a self-contained proof file against the latest checkpoint."""
    log = _log(name)
    proof = inclusion_by_index(name, index)
    data = _reader(log).entry(index, proof.size)
    checkpoint = (proof.checkpoint or "").encode()
    return data, TlogProof(index=index, inclusion_proof=tuple(proof.proof), checkpoint=checkpoint)


@dataclass(frozen=True)
class LogOverview:
    name: str
    origin: str
    prefix: str
    size: int
    sequenced: int
    waiting: int
    checkpoint: str | None
    root_hash: str
    witnesses: list[config.WitnessConfig]
    quorum: int
    cosigners: list[str]
    published_at: datetime | None
    recent: list[EntryRow]


def log_overview(name: str, *, recent: int = 20) -> LogOverview:
    log = _log(name)
    state = LogState.objects.filter(log=log.name).first()
    latest = PublishedCheckpoint.objects.filter(log=log.name).order_by("-size").first()
    rows = (
        Entry.objects.filter(log=log.name, index__isnull=False)
        .order_by("-index")
        .values_list("index", "kind", "leaf_hash", "created_at")[:recent]
    )
    published = state.published_size if state else 0
    root = ""
    if latest is not None:
        root = parse_checkpoint(parse_note(latest.note.encode()).text).root_hash.hex()
    return LogOverview(
        name=log.name,
        origin=log.origin,
        prefix=f"/ledger/{log.name}/",
        size=published,
        sequenced=state.sequenced_size if state else 0,
        waiting=Entry.objects.filter(log=log.name, index__isnull=True).count()
        + (state.sequenced_size if state else 0)
        - published,
        checkpoint=latest.note if latest else None,
        root_hash=root,
        witnesses=list(log.witnesses),
        quorum=log.quorum,
        cosigners=list(latest.cosigners) if latest else [],
        published_at=latest.published_at if latest else None,
        recent=[EntryRow(i, k, h, c) for i, k, h, c in rows if i is not None and i < published],
    )
