"""Compare a log's storage with the database: nothing lost, duplicated, reordered or forked."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from django.db.models import Count, Max

from shanyraq.ledger.checkpoint import parse_checkpoint
from shanyraq.ledger.errors import LedgerError
from shanyraq.ledger.log import TiledLog, audit
from shanyraq.ledger.merkle import verify_consistency
from shanyraq.ledger.note import parse_note

from .config import LogConfig
from .models import Entry, LogState, PublishedCheckpoint


@dataclass
class FsckReport:
    log: str
    sequenced: int = 0
    integrated: int = 0
    published: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def fsck(log: LogConfig, *, batch: int = 4096) -> FsckReport:
    report = FsckReport(log=log.name)
    state = LogState.objects.filter(log=log.name).first()
    if state is None:
        return report
    report.sequenced = state.sequenced_size
    report.integrated = state.integrated_size
    report.published = state.published_size
    sequenced = Entry.objects.filter(log=log.name, index__isnull=False).aggregate(
        n=Count("id"), top=Max("index")
    )
    if sequenced["n"] != state.sequenced_size or (
        state.sequenced_size and sequenced["top"] != state.sequenced_size - 1
    ):
        report.problems.append(
            f"{sequenced['n']} entries carry indices up to {sequenced['top']}, "
            f"but {state.sequenced_size} were sequenced: a gap or a lost index"
        )
    if not state.published_size <= state.integrated_size <= state.sequenced_size:
        report.problems.append("published <= integrated <= sequenced does not hold")
    storage = log.storage()
    tiles = TiledLog(storage.read)
    size = state.integrated_size
    try:
        rows = (
            Entry.objects.filter(log=log.name, index__lt=size)
            .order_by("index")
            .values_list("index", "data")
            .iterator(chunk_size=batch)
        )
        stored = tiles.entries(size)
        for expected, (index, in_db) in enumerate(rows):
            on_disk = next(stored, None)
            if index != expected:
                report.problems.append(f"entry {expected} is missing from the database")
                break
            if on_disk is None or on_disk != bytes(in_db):
                report.problems.append(f"entry {index} differs between tiles and database")
        if size and audit(storage.read, size).hex() != state.integrated_root:
            report.problems.append("the tiles do not hash to the recorded root")
    except LedgerError as exc:
        report.problems.append(f"storage: {exc}")
    published = list(
        PublishedCheckpoint.objects.filter(log=log.name)
        .order_by("size")
        .values_list("size", "root_hash")
    )
    report.checkpoints = len(published)
    for (old, old_root), (new, new_root) in itertools.pairwise(published):
        try:
            proof = tiles.consistency_proof(old, new)
            verify_consistency(old, new, proof, bytes.fromhex(old_root), bytes.fromhex(new_root))
        except LedgerError as exc:
            report.problems.append(f"checkpoints {old} and {new} are not consistent: {exc}")
    current = storage.read_checkpoint()
    if current is not None:
        cp = parse_checkpoint(parse_note(current).text)
        if cp.size != state.published_size:
            report.problems.append(
                f"the served checkpoint has size {cp.size}, the database {state.published_size}"
            )
        elif published and bytes.fromhex(published[-1][1]) != cp.root_hash:
            report.problems.append("the served checkpoint's root differs from the database")
    elif state.published_size:
        report.problems.append("no checkpoint is served although one was published")
    return report
