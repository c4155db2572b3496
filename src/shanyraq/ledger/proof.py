"""Offline proof files (c2sp.org/tlog-proof): an entry's index, inclusion proof and checkpoint.

::

    c2sp.org/tlog-proof@v1
    extra <base64 opaque data>        (optional, not authenticated)
    index <entry index>
    <inclusion proof hashes, one base64 line each>
    <empty line>
    <the checkpoint note, verbatim, with its signatures and cosignatures>

The entry itself is not in the file: the verifier holds it (or takes it from ``extra``, which
only becomes trustworthy once the proof verifies against it). Files use the ``.tlog-proof``
extension.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shanyraq.ledger.checkpoint import VerifiedCheckpoint, open_checkpoint, parse_decimal
from shanyraq.ledger.cosignature import WitnessPolicy
from shanyraq.ledger.errors import MalformedProof
from shanyraq.ledger.merkle import HASH_SIZE, HashReader, inclusion_proof, leaf_hash
from shanyraq.ledger.merkle import verify_inclusion as _verify_inclusion
from shanyraq.ledger.note import MAX_NOTE_SIZE, Verifier, b64decode_strict, b64encode

HEADER = "c2sp.org/tlog-proof@v1"
"""First line of every proof file."""

FILE_EXTENSION = ".tlog-proof"
"""Recommended file name extension."""

MAX_PROOF_HASHES = 63
"""Most inclusion proof lines accepted (a tree of 2**63 entries needs 63)."""


@dataclass(frozen=True)
class TlogProof:
    """The contents of a proof file."""

    index: int
    inclusion_proof: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None

    def to_bytes(self) -> bytes:
        """Serialise the proof file."""
        if self.index < 0:
            raise ValueError(f"negative index {self.index}")
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {b64encode(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(b64encode(h) for h in self.inclusion_proof)
        lines.append("")
        return "".join(line + "\n" for line in lines).encode("ascii") + self.checkpoint


def build_proof(
    index: int,
    size: int,
    reader: HashReader,
    checkpoint: bytes,
    *,
    extra: bytes | None = None,
) -> TlogProof:
    """Compute the inclusion proof of ``index`` in the tree of ``size`` and wrap it in a file.

    ``checkpoint`` is the signed note for that size, as published (with its cosignatures).
    """
    proof = inclusion_proof(index, size, reader)
    return TlogProof(index=index, inclusion_proof=tuple(proof), checkpoint=checkpoint, extra=extra)


def parse_proof(data: bytes) -> TlogProof:
    """Parse a proof file strictly; raise :class:`MalformedProof`."""
    if len(data) > MAX_NOTE_SIZE + 8 * 1024:
        raise MalformedProof("proof file is too large")
    lines: list[str] = []
    pos = 0
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            raise MalformedProof("proof ends before the empty line before the checkpoint")
        raw = data[pos:end]
        pos = end + 1
        if not raw:
            break
        if len(lines) > MAX_PROOF_HASHES + 3:
            raise MalformedProof("too many lines before the checkpoint")
        try:
            lines.append(raw.decode("ascii"))
        except UnicodeDecodeError as exc:
            raise MalformedProof("proof header lines are not ASCII") from exc
    if not lines or lines[0] != HEADER:
        raise MalformedProof(f"the first line must be {HEADER!r}")
    rest = lines[1:]
    extra: bytes | None = None
    if rest and rest[0].startswith("extra "):
        try:
            extra = b64decode_strict(rest[0][len("extra ") :])
        except ValueError as exc:
            raise MalformedProof(f"extra data: {exc}") from exc
        rest = rest[1:]
    if not rest or not rest[0].startswith("index "):
        raise MalformedProof("missing 'index <n>' line")
    try:
        index = parse_decimal(rest[0][len("index ") :], "index")
    except ValueError as exc:
        raise MalformedProof(str(exc)) from exc
    hashes: list[bytes] = []
    for line in rest[1:]:
        try:
            value = b64decode_strict(line)
        except ValueError as exc:
            raise MalformedProof(f"proof line: {exc}") from exc
        if len(value) != HASH_SIZE:
            raise MalformedProof(f"proof hash is {len(value)} bytes, not {HASH_SIZE}")
        hashes.append(value)
    if len(hashes) > MAX_PROOF_HASHES:
        raise MalformedProof(f"more than {MAX_PROOF_HASHES} proof hashes")
    checkpoint = data[pos:]
    if not checkpoint:
        raise MalformedProof("proof has no checkpoint")
    return TlogProof(index=index, inclusion_proof=tuple(hashes), checkpoint=checkpoint, extra=extra)


def verify_proof(
    proof: TlogProof | bytes,
    entry: bytes | None = None,
    *,
    origin: str,
    log_verifiers: Iterable[Verifier],
    policy: WitnessPolicy | None = None,
) -> VerifiedCheckpoint:
    """Check offline that ``entry`` is in the log, as a checkpoint trusted by the caller says.

    The checkpoint must come from ``origin``, carry a valid signature by one of
    ``log_verifiers`` and the cosignatures ``policy`` asks for; the inclusion proof must bind
    the entry's leaf hash at the proof's index to the checkpoint's root. Without ``entry``, the
    proof's ``extra`` data is taken as the entry (a self-contained proof). Returns the verified
    checkpoint; raises a :class:`~shanyraq.ledger.errors.LedgerError` subclass otherwise.
    """
    parsed = parse_proof(proof) if isinstance(proof, bytes) else proof
    if entry is None:
        if parsed.extra is None:
            raise MalformedProof("no entry given and the proof carries none in 'extra'")
        entry = parsed.extra
    verified = open_checkpoint(
        parsed.checkpoint, origin=origin, log_verifiers=log_verifiers, policy=policy
    )
    cp = verified.checkpoint
    _verify_inclusion(leaf_hash(entry), parsed.index, cp.size, parsed.inclusion_proof, cp.root_hash)
    return verified
