"""Checkpoints (c2sp.org/tlog-checkpoint): the signed statement of a log's size and root.

The note text is the origin line, the tree size in decimal (no leading zeroes), the base64
root hash, and optional non-empty extension lines, each ending in a newline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shanyraq.ledger.cosignature import CosignatureVerifier, WitnessPolicy
from shanyraq.ledger.errors import MalformedCheckpoint, OriginMismatch, UnknownKey
from shanyraq.ledger.merkle import HASH_SIZE
from shanyraq.ledger.note import (
    MAX_NOTE_SIZE,
    Signer,
    VerifiedNote,
    Verifier,
    b64decode_strict,
    b64encode,
    open_note,
    sign_note,
)

MAX_TREE_SIZE = (1 << 63) - 1
"""Largest tree size accepted (sizes travel as signed 64-bit integers in many systems)."""


def parse_decimal(text: str, what: str = "number") -> int:
    """Parse an ASCII decimal with no sign and no leading zeroes; raise ``ValueError``."""
    if not text or not text.isascii() or not text.isdigit():
        raise ValueError(f"{what} {text[:24]!r} is not a decimal number")
    if len(text) > 1 and text[0] == "0":
        raise ValueError(f"{what} {text[:24]!r} has leading zeroes")
    if len(text) > 19:
        raise ValueError(f"{what} {text[:24]!r} is too large")
    value = int(text)
    if value > MAX_TREE_SIZE:
        raise ValueError(f"{what} {text!r} is too large")
    return value


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, size, root hash, and opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise MalformedCheckpoint("the origin must be one non-empty line")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpoint(f"tree size {self.size} is out of range")
        if len(self.root_hash) != HASH_SIZE:
            raise MalformedCheckpoint(f"root hash is {len(self.root_hash)} bytes")
        for ext in self.extensions:
            if not ext or "\n" in ext:
                raise MalformedCheckpoint("extension lines must be single non-empty lines")
        for line in (self.origin, *self.extensions):
            if any(ord(c) < 0x20 for c in line):
                raise MalformedCheckpoint("checkpoint lines cannot hold control characters")

    def text(self) -> str:
        """Return the note text of this checkpoint (final newline included)."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    def sign(self, signers: Sequence[Signer]) -> bytes:
        """Return this checkpoint as a note signed by ``signers``."""
        return sign_note(self.text(), signers)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text strictly; raise :class:`MalformedCheckpoint`."""
    if not text.endswith("\n"):
        raise MalformedCheckpoint("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpoint("a checkpoint has at least three lines")
    origin, size_line, root_line, *extensions = lines
    if not origin:
        raise MalformedCheckpoint("empty origin line")
    try:
        size = parse_decimal(size_line, "tree size")
    except ValueError as exc:
        raise MalformedCheckpoint(str(exc)) from exc
    try:
        root = b64decode_strict(root_line)
    except ValueError as exc:
        raise MalformedCheckpoint(f"root hash: {exc}") from exc
    if len(root) != HASH_SIZE:
        raise MalformedCheckpoint(f"root hash is {len(root)} bytes, not {HASH_SIZE}")
    if any(not ext for ext in extensions):
        raise MalformedCheckpoint("extension lines must be non-empty")
    return Checkpoint(origin=origin, size=size, root_hash=root, extensions=tuple(extensions))


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint with the note that vouches for it and the witnesses that cosigned it."""

    checkpoint: Checkpoint
    note: VerifiedNote
    witnesses: tuple[CosignatureVerifier, ...]


def open_checkpoint(
    data: bytes,
    *,
    origin: str,
    log_verifiers: Iterable[Verifier],
    policy: WitnessPolicy | None = None,
    max_size: int = MAX_NOTE_SIZE,
) -> VerifiedCheckpoint:
    """Verify a checkpoint note from ``origin``: signed by a log key and cosigned per ``policy``.

    Raises :class:`~shanyraq.ledger.errors.UnknownKey` if no log key signed it,
    :class:`~shanyraq.ledger.errors.BadSignature` if any trusted signature fails,
    :class:`OriginMismatch` for another log's checkpoint, :class:`MalformedCheckpoint` for a bad
    body and :class:`~shanyraq.ledger.errors.InsufficientCosignatures` below the quorum.
    """
    log_keys = list(log_verifiers)
    witnesses = policy.witnesses if policy else ()
    verified = open_note(data, [*log_keys, *witnesses], max_size=max_size)
    if not any(verified.signed_by(v) for v in log_keys):
        raise UnknownKey("the checkpoint is not signed by the log")
    checkpoint = parse_checkpoint(verified.text)
    if checkpoint.origin != origin:
        raise OriginMismatch(f"checkpoint is from {checkpoint.origin!r}, not {origin!r}")
    cosigned = policy.check(verified) if policy else ()
    return VerifiedCheckpoint(checkpoint=checkpoint, note=verified, witnesses=cosigned)
