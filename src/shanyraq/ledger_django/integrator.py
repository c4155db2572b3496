"""The integrator: sequence pending entries, write tiles, collect cosignatures, publish.

Each run goes through three steps, each of which records its progress in ``LogState`` only
after its effect is durable, so a crash anywhere leaves a state the next run completes:

1. **Sequence.** Pending entries get the next indices, in the order they were inserted, in one
   transaction committed with ``synchronous_commit = on`` on PostgreSQL. An index, once
   given, is never given again.
2. **Integrate.** Tiles and bundles for the sequenced entries are written to storage (durably;
   rewriting identical bytes after a crash is a no-op), then ``integrated_size`` and the root
   are recorded.
3. **Publish.** The checkpoint for the integrated size is signed, sent to the witnesses with a
   consistency proof from the size each last saw, and, once enough of them cosigned, written
   to storage and recorded. Nothing is signed before the entries it covers are durable, and
   the signed root is a pure function of those entries, so the log cannot sign two
   inconsistent checkpoints.

Only one integrator runs per log: a PostgreSQL advisory lock, or on SQLite an exclusive lock on
a file beside the tiles.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction

from shanyraq.ledger.checkpoint import Checkpoint
from shanyraq.ledger.errors import LedgerError, WitnessConflict, WitnessError
from shanyraq.ledger.log import TiledLog, integrate
from shanyraq.ledger.note import NoteSignature, parse_note
from shanyraq.ledger.witness import WitnessClient

from .config import LogConfig
from .models import Entry, LogState, PublishedCheckpoint, WitnessProgress

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 50_000


class IntegratorBusy(Exception):
    """Another integrator holds this log's lock."""


@dataclass
class IntegrationOutcome:
    log: str
    sequenced: int = 0
    integrated_size: int = 0
    published_size: int = 0
    cosigned_by: list[str] = field(default_factory=list)
    witness_errors: list[str] = field(default_factory=list)


@contextlib.contextmanager
def integrator_lock(log: LogConfig) -> Iterator[None]:
    """Hold the one-integrator-per-log lock, or raise IntegratorBusy."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"ledger:{log.name}".encode()).digest()[:8], "big")
        key -= 1 << 63  # advisory locks take a signed 64-bit key
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            (acquired,) = cursor.fetchone() or (False,)
        if not acquired:
            raise IntegratorBusy(log.name)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    log.storage_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(log.storage_dir / ".integrator.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IntegratorBusy(log.name) from None
        yield
    finally:
        os.close(fd)


def _durable_commit() -> None:
    """Make this transaction's commit wait for the WAL flush, whatever the server default."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO ON")


def _state(log: LogConfig) -> LogState:
    state, _created = LogState.objects.get_or_create(log=log.name)
    return state


def sequence(log: LogConfig, *, batch: int = DEFAULT_BATCH) -> int:
    """Give pending entries the next indices, in insertion order; return how many.

    One UPDATE numbers the whole batch; the state row lock and the integrator lock make sure
    no other run hands out the same indices.
    """
    table = connection.ops.quote_name(Entry._meta.db_table)
    index = connection.ops.quote_name("index")
    with transaction.atomic():
        _durable_commit()
        state = LogState.objects.select_for_update().get(pk=_state(log).pk)
        start = state.sequenced_size
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {index} = numbered.position "  # noqa: S608 - names quoted
                f"FROM (SELECT id, %s + ROW_NUMBER() OVER (ORDER BY id) - 1 AS position "
                f"FROM {table} WHERE log = %s AND {index} IS NULL ORDER BY id LIMIT %s) "
                f"AS numbered WHERE {table}.id = numbered.id",
                [start, log.name, batch],
            )
            count = cursor.rowcount
        if count:
            state.sequenced_size = start + count
            state.save(update_fields=["sequenced_size", "updated_at"])
    return count


def integrate_tiles(log: LogConfig) -> int:
    """Write tiles for sequenced entries not yet integrated; return the integrated size."""
    state = _state(log)
    storage = log.storage()
    size = state.integrated_size
    old_root = bytes.fromhex(state.integrated_root) if state.integrated_root else None
    while size < state.sequenced_size:
        end = min(state.sequenced_size, size + DEFAULT_BATCH)
        rows = list(
            Entry.objects.filter(log=log.name, index__gte=size, index__lt=end)
            .order_by("index")
            .values_list("index", "data")
        )
        if [i for i, _d in rows] != list(range(size, end)):
            raise LedgerError(f"{log.name}: sequenced entries {size}..{end} are not contiguous")
        result = integrate(storage, size, [bytes(d) for _i, d in rows], old_root=old_root)
        with transaction.atomic():
            _durable_commit()
            LogState.objects.filter(pk=state.pk, integrated_size=size).update(
                integrated_size=result.size, integrated_root=result.root_hash.hex()
            )
        size, old_root = result.size, result.root_hash
    return size


def _cosign(
    log: LogConfig, reader: TiledLog, size: int, signed: bytes, outcome: IntegrationOutcome
) -> list[NoteSignature]:
    cosignatures: list[NoteSignature] = []
    for witness in log.witnesses:
        progress, _created = WitnessProgress.objects.get_or_create(
            log=log.name, witness=witness.name
        )
        client = WitnessClient(witness.url, witness.verifier, timeout=5.0)
        old = progress.size
        for _attempt in range(2):
            proof = reader.consistency_proof(old, size) if 0 < old < size else []
            try:
                sigs = client.add_checkpoint(old, proof, signed)
            except WitnessConflict as conflict:
                if conflict.known_size is None or conflict.known_size > size:
                    outcome.witness_errors.append(f"{witness.name}: {conflict}")
                    break
                old = conflict.known_size  # the witness knows better; prove from there
                continue
            except WitnessError as exc:
                outcome.witness_errors.append(f"{witness.name}: {exc}")
                break
            cosignatures.extend(sigs)
            outcome.cosigned_by.append(witness.name)
            WitnessProgress.objects.filter(pk=progress.pk).update(size=size)
            break
        else:  # the witness moved again between our two attempts: say so, never silently
            outcome.witness_errors.append(f"{witness.name}: its size kept changing (409 twice)")
    return cosignatures


def publish(log: LogConfig, outcome: IntegrationOutcome) -> None:
    """Sign, cosign and publish the checkpoint of the integrated size, if it is new."""
    state = _state(log)
    size = state.integrated_size
    if size == 0 or size <= state.published_size:
        outcome.published_size = state.published_size
        return
    checkpoint = Checkpoint(log.origin, size, bytes.fromhex(state.integrated_root))
    signed = checkpoint.sign([log.signer()])
    reader = TiledLog(log.storage().read)
    cosignatures = _cosign(log, reader, size, signed, outcome)
    if len(outcome.cosigned_by) < log.quorum:
        logger.warning(
            "ledger %s: checkpoint %d not published: %d of %d witnesses cosigned (%s)",
            log.name,
            size,
            len(outcome.cosigned_by),
            log.quorum,
            "; ".join(outcome.witness_errors),
        )
        outcome.published_size = state.published_size
        return
    note = parse_note(signed)
    published = note.with_signatures(cosignatures).to_bytes()
    log.storage().write_checkpoint(published)
    with transaction.atomic():
        _durable_commit()
        PublishedCheckpoint.objects.get_or_create(
            log=log.name,
            size=size,
            defaults={
                "root_hash": state.integrated_root,
                "note": published.decode(),
                "cosigners": outcome.cosigned_by,
            },
        )
        LogState.objects.filter(pk=state.pk).update(published_size=size)
    outcome.published_size = size


def log_integrate(log: LogConfig, *, batch: int = DEFAULT_BATCH) -> IntegrationOutcome:
    """One integrator run for ``log``: sequence, integrate, publish."""
    outcome = IntegrationOutcome(log=log.name)
    with integrator_lock(log):
        while True:
            count = sequence(log, batch=batch)
            outcome.sequenced += count
            if count < batch:
                break
        outcome.integrated_size = integrate_tiles(log)
        publish(log, outcome)
    return outcome
