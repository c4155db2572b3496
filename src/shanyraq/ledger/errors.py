"""Exceptions raised by the ledger library.

Every failure has its own type so that callers (HTTP views, commands, auditors) can map it to a
precise answer. All of them derive from :class:`LedgerError`; the ones that describe bad input
also derive from :class:`ValueError`.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error raised by :mod:`shanyraq.ledger`."""


# --- keys and signed notes ------------------------------------------------------------------


class InvalidKey(LedgerError, ValueError):
    """A signer or verifier key string is malformed, or its key ID does not match its key."""


class MalformedNote(LedgerError, ValueError):
    """A signed note breaks the syntax of c2sp.org/signed-note."""


class BadSignature(LedgerError):
    """A signature from a known key does not verify: the whole note is rejected."""


class UnknownKey(LedgerError):
    """No signature in the note comes from a key the caller trusts."""


class InsufficientCosignatures(LedgerError):
    """Fewer witnesses than the policy's quorum cosigned the checkpoint."""


# --- checkpoints ----------------------------------------------------------------------------


class MalformedCheckpoint(LedgerError, ValueError):
    """A checkpoint body breaks the syntax of c2sp.org/tlog-checkpoint."""


class OriginMismatch(MalformedCheckpoint):
    """A checkpoint names a different log (origin line) than the one expected."""


# --- Merkle proofs --------------------------------------------------------------------------


class ProofError(LedgerError):
    """An inclusion or consistency proof is malformed or does not verify."""


class IndexOutOfRange(ProofError, IndexError):
    """An entry index or tree size lies outside the tree it refers to."""


class MalformedProof(LedgerError, ValueError):
    """A proof file breaks the syntax of c2sp.org/tlog-proof."""


# --- tiles, entries and storage -------------------------------------------------------------


class OversizeEntry(LedgerError, ValueError):
    """An entry is longer than 65,535 bytes, the most a 2-byte length prefix can express."""


class TileError(LedgerError):
    """A tile or an entry bundle is malformed, truncated, or inconsistent with the tree."""


class MalformedBundle(TileError, ValueError):
    """An entry bundle does not parse as a sequence of length-prefixed entries."""


class InvalidTilePath(TileError, ValueError):
    """A path is not a canonical tlog-tiles resource path."""


class StorageError(LedgerError):
    """The storage backend failed or refused an operation."""


class ObjectNotFound(StorageError, KeyError):
    """The requested object does not exist in storage."""

    def __str__(self) -> str:  # KeyError would quote the path
        return str(self.args[0]) if self.args else "object not found"


class StorageConflict(StorageError):
    """An immutable object already exists with different bytes; it is never overwritten."""


# --- witness protocol -----------------------------------------------------------------------


class MalformedRequest(LedgerError, ValueError):
    """An add-checkpoint request body breaks the syntax of c2sp.org/tlog-witness."""


class WitnessError(LedgerError):
    """A witness answered with an error status, or with a body that cannot be used."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"witness answered {status}: {message}")
        self.status = status
        self.message = message


class WitnessConflict(WitnessError):
    """The witness's latest cosigned size differs from the old size sent (HTTP 409)."""

    def __init__(self, known_size: int | None, message: str = "old size mismatch") -> None:
        super().__init__(409, message)
        self.known_size = known_size
