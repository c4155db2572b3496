"""Checks an operator or an outside auditor runs: verify a published log, fsck storage vs DB."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shanyraq.ledger.checkpoint import VerifiedCheckpoint, open_checkpoint
from shanyraq.ledger.cosignature import WitnessPolicy
from shanyraq.ledger.errors import LedgerError
from shanyraq.ledger.log import TiledLog, audit
from shanyraq.ledger.merkle import verify_consistency
from shanyraq.ledger.note import Verifier
from shanyraq.ledger.storage import CHECKPOINT_PATH

Reader = Callable[[str], bytes]


@dataclass
class VerifyReport:
    origin: str
    size: int
    root_hash: str
    cosigned_by: list[str]
    previous_size: int | None
    full: bool
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_log(
    read: Reader,
    *,
    origin: str,
    log_verifiers: list[Verifier],
    policy: WitnessPolicy | None,
    state_file: Path | None = None,
    full: bool = False,
) -> VerifyReport:
    """Verify the published checkpoint, its consistency with the last one seen, and optionally
    every tile and the root recomputed from the entry bundles.

    ``state_file`` remembers the last verified checkpoint (size and root) between runs; it is
    updated only when everything checked out.
    """
    checked: VerifiedCheckpoint = open_checkpoint(
        read(CHECKPOINT_PATH), origin=origin, log_verifiers=log_verifiers, policy=policy
    )
    cp = checked.checkpoint
    report = VerifyReport(
        origin=cp.origin,
        size=cp.size,
        root_hash=cp.root_hash.hex(),
        cosigned_by=[w.name for w in checked.witnesses],
        previous_size=None,
        full=full,
    )
    tiles = TiledLog(read)
    previous: dict[str, object] | None = None
    if state_file is not None and state_file.exists():
        previous = json.loads(state_file.read_text())
    if previous is not None and previous.get("origin") == origin:
        old_size = int(str(previous["size"]))
        old_root = bytes.fromhex(str(previous["root"]))
        report.previous_size = old_size
        if old_size > cp.size:
            report.problems.append(f"the log shrank from {old_size} to {cp.size} entries")
        elif old_size == cp.size:
            if old_root != cp.root_hash:
                report.problems.append(f"two different roots for size {cp.size}: a fork")
        elif old_size > 0:
            try:
                proof = tiles.consistency_proof(old_size, cp.size)
                verify_consistency(old_size, cp.size, proof, old_root, cp.root_hash)
            except LedgerError as exc:
                report.problems.append(f"not consistent with size {old_size}: {exc}")
    if not report.problems:
        try:
            root = tiles.root(cp.size)
            if root != cp.root_hash:
                report.problems.append("the tiles do not hash to the checkpoint's root")
        except LedgerError as exc:
            report.problems.append(f"tiles unreadable: {exc}")
    if full and not report.problems:
        try:
            if audit(read, cp.size) != cp.root_hash:
                report.problems.append("the entries do not hash to the checkpoint's root")
        except LedgerError as exc:
            report.problems.append(f"full check failed: {exc}")
    if report.ok and state_file is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        temp = state_file.with_suffix(".tmp")
        temp.write_text(json.dumps({"origin": origin, "size": cp.size, "root": cp.root_hash.hex()}))
        temp.replace(state_file)
    return report
