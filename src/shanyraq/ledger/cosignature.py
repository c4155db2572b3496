"""Witness cosignatures (c2sp.org/tlog-cosignature, version 1, Ed25519).

A cosignature is a note signature of type 0x04 whose bytes are an 8-byte big-endian POSIX
timestamp followed by an Ed25519 signature over::

    cosignature/v1
    time <timestamp>
    <checkpoint note text>

It states that, at that time, this was the largest consistent tree the witness had seen for
the log. A :class:`WitnessPolicy` says how many of which witnesses a client requires.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shanyraq.ledger.errors import InsufficientCosignatures, InvalidKey, MalformedNote
from shanyraq.ledger.note import (
    ALG_ED25519,
    NoteSignature,
    VerifiedNote,
    b64encode,
    is_valid_key_name,
    key_id,
    split_key_string,
)

ALG_COSIGNATURE_V1 = 0x04
"""Signature type byte of timestamped Ed25519 cosignatures."""

COSIGNATURE_SIZE = 8 + 64
"""Length of a cosignature after its key ID: timestamp and Ed25519 signature."""

MAX_TIMESTAMP = (1 << 63) - 1
"""Largest timestamp a cosignature may carry."""

_PRIVATE_PREFIX = "PRIVATE+KEY+"


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    """Return the bytes a version 1 cosignature signs."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError(f"timestamp {timestamp} is out of range")
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def cosignature_timestamp(signature: NoteSignature | bytes) -> int:
    """Return the timestamp inside a cosignature (the bytes after the key ID)."""
    raw = signature.signature if isinstance(signature, NoteSignature) else signature
    if len(raw) != COSIGNATURE_SIZE:
        raise MalformedNote(f"a cosignature is {COSIGNATURE_SIZE} bytes, not {len(raw)}")
    timestamp = int.from_bytes(raw[:8], "big")
    if timestamp > MAX_TIMESTAMP:
        raise MalformedNote("cosignature timestamp exceeds 2**63 - 1")
    return timestamp


class CosignatureVerifier:
    """Verifies one witness's version 1 cosignatures; usable wherever a note verifier is."""

    alg = ALG_COSIGNATURE_V1

    def __init__(self, name: str, public_key: bytes) -> None:
        if not is_valid_key_name(name):
            raise InvalidKey(f"invalid key name {name!r}")
        if len(public_key) != 32:
            raise InvalidKey(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")
        self._name = name
        self._public_bytes = bytes(public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self._public_bytes)
        self._key_id = key_id(name, self.alg, self._public_bytes)

    @property
    def name(self) -> str:
        """The witness's key name."""
        return self._name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID (computed with type byte 0x04)."""
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._public_bytes

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is a valid cosignature of the note text ``message``."""
        if len(signature) != COSIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        signed = b"cosignature/v1\ntime %d\n" % timestamp + message
        try:
            self._key.verify(signature[8:], signed)
        except InvalidSignature:
            return False
        return True

    def key_string(self) -> str:
        """Return the verifier key string ``name+keyid+base64(0x04 || public key)``."""
        data = bytes((self.alg,)) + self._public_bytes
        return f"{self._name}+{self._key_id:08x}+{b64encode(data)}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key_string()!r})"


class CosignatureSigner:
    """A witness's signing key, making version 1 cosignatures."""

    alg = ALG_COSIGNATURE_V1

    def __init__(self, name: str, seed: bytes) -> None:
        if not is_valid_key_name(name):
            raise InvalidKey(f"invalid key name {name!r}")
        if len(seed) != 32:
            raise InvalidKey(f"an Ed25519 seed is 32 bytes, not {len(seed)}")
        self._name = name
        self._seed = bytes(seed)
        self._key = Ed25519PrivateKey.from_private_bytes(self._seed)
        self._public_bytes = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = key_id(name, self.alg, self._public_bytes)

    @classmethod
    def generate(cls, name: str) -> CosignatureSigner:
        """Create a new random witness key."""
        return cls(name, secrets.token_bytes(32))

    @property
    def name(self) -> str:
        """The witness's key name."""
        return self._name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID (computed with type byte 0x04)."""
        return self._key_id

    def cosign(self, checkpoint_text: str, timestamp: int) -> NoteSignature:
        """Cosign a checkpoint note text at ``timestamp`` (seconds since the epoch)."""
        signature = self._key.sign(cosigned_message(checkpoint_text, timestamp))
        blob = timestamp.to_bytes(8, "big") + signature
        return NoteSignature(name=self._name, key_id=self._key_id, signature=blob)

    def verifier(self) -> CosignatureVerifier:
        """Return the matching verifier."""
        return CosignatureVerifier(self._name, self._public_bytes)

    def key_string(self) -> str:
        """Return the signer key string ``PRIVATE+KEY+name+keyid+base64(0x04 || seed)``."""
        data = bytes((self.alg,)) + self._seed
        return f"{_PRIVATE_PREFIX}{self._name}+{self._key_id:08x}+{b64encode(data)}"

    def __repr__(self) -> str:  # never print the seed
        return f"{type(self).__name__}(name={self._name!r}, key_id={self._key_id:08x})"


def parse_cosignature_verifier(vkey: str) -> CosignatureVerifier:
    """Parse a witness verifier key string (type 0x04; an Ed25519 0x01 key is converted)."""
    parts = split_key_string(vkey)
    if parts.alg not in (ALG_COSIGNATURE_V1, ALG_ED25519):
        raise InvalidKey(f"key type 0x{parts.alg:02x} is not a cosignature key")
    if len(parts.key) != 32:
        raise InvalidKey(f"an Ed25519 public key is 32 bytes, not {len(parts.key)}")
    if key_id(parts.name, parts.alg, parts.key) != parts.key_id:
        raise InvalidKey("key ID does not match the key")
    return CosignatureVerifier(parts.name, parts.key)


def parse_cosignature_signer(skey: str) -> CosignatureSigner:
    """Parse a witness signer key string (type 0x04, or an Ed25519 0x01 key)."""
    parts = split_key_string(skey, private=True)
    if parts.alg not in (ALG_COSIGNATURE_V1, ALG_ED25519):
        raise InvalidKey(f"key type 0x{parts.alg:02x} is not a cosignature key")
    signer = CosignatureSigner(parts.name, parts.key)
    if key_id(parts.name, parts.alg, signer.verifier().public_key) != parts.key_id:
        raise InvalidKey("key ID does not match the key")
    return signer


def generate_cosignature_key(name: str) -> tuple[str, str]:
    """Generate a witness key: return ``(signer key string, verifier key string)``."""
    signer = CosignatureSigner.generate(name)
    return signer.key_string(), signer.verifier().key_string()


@dataclass(frozen=True)
class WitnessPolicy:
    """Which witnesses a client trusts and how many of them must cosign a checkpoint."""

    witnesses: tuple[CosignatureVerifier, ...]
    quorum: int

    def __post_init__(self) -> None:
        if len({(w.name, w.key_id) for w in self.witnesses}) != len(self.witnesses):
            raise ValueError("a witness is listed twice")
        if not 0 <= self.quorum <= len(self.witnesses):
            raise ValueError(f"quorum {self.quorum} with {len(self.witnesses)} witnesses")

    @classmethod
    def from_keys(cls, vkeys: Iterable[str], quorum: int) -> WitnessPolicy:
        """Build a policy from witness verifier key strings."""
        return cls(tuple(parse_cosignature_verifier(k) for k in vkeys), quorum)

    def check(self, verified: VerifiedNote) -> tuple[CosignatureVerifier, ...]:
        """Return the witnesses that cosigned; raise if they are fewer than the quorum.

        ``verified`` must come from :func:`~shanyraq.ledger.note.verify_note` run with these
        witnesses among the verifiers, so each listed signature has been checked.
        """
        cosigned = tuple(w for w in self.witnesses if verified.signed_by(w))
        if len(cosigned) < self.quorum:
            raise InsufficientCosignatures(
                f"{len(cosigned)} of the required {self.quorum} witnesses cosigned"
            )
        return cosigned
