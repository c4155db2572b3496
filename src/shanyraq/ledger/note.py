"""Signed notes (c2sp.org/signed-note) with Ed25519 signatures.

A note is UTF-8 text ending in a newline, a blank line, and signature lines
``— <key name> base64(key ID || signature)``. Keys are written as strings:

* verifier key: ``<name>+<hex key ID>+base64(<type byte> || <public key>)``
* signer key: ``PRIVATE+KEY+<name>+<hex key ID>+base64(<type byte> || <seed>)``

with key ID = SHA-256(name || 0x0A || type byte || public key)[:4], big-endian.

Verification ignores signatures from unknown keys, rejects the whole note when a signature from
a known key fails, and rejects a note with no valid signature from a known key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shanyraq.ledger.errors import BadSignature, InvalidKey, MalformedNote, UnknownKey

ALG_ED25519 = 0x01
"""Signature type byte of plain Ed25519 note signatures."""

SIGNATURE_PREFIX = "\u2014 "
"""Every signature line starts with an em dash and a space."""

MAX_NOTE_SIZE = 1 << 20
"""Largest note accepted when parsing, in bytes."""

MAX_SIGNATURES = 100
"""Most signature lines accepted in one note (the specification asks for at least 16)."""

_PRIVATE_PREFIX = "PRIVATE+KEY+"


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as every C2SP format uses."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str) -> bytes:
    """Decode canonical standard base64; raise ``ValueError`` on anything else."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"not base64: {text[:40]!r}") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError(f"not canonical base64: {text[:40]!r}")
    return raw


def is_valid_key_name(name: str) -> bool:
    """A key name is non-empty and has no Unicode space, no plus sign and no control character."""
    return bool(name) and not any(c.isspace() or c == "+" or ord(c) < 0x20 for c in name)


def key_id(name: str, alg: int, public_key: bytes) -> int:
    """Return the 32-bit key ID: the first four bytes of SHA-256(name || 0x0A || alg || key)."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes((alg,)) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


class Verifier(Protocol):
    """Checks signatures made by one key."""

    @property
    def name(self) -> str:
        """The key name that appears in signature lines."""
        ...

    @property
    def key_id(self) -> int:
        """The 32-bit key ID that prefixes this key's signatures."""
        ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` (without the key ID) is valid for ``message``."""
        ...


class Signer(Protocol):
    """Makes signatures with one key."""

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        ...

    @property
    def key_id(self) -> int:
        """The 32-bit key ID written before each signature."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Return the signature (without the key ID) of ``message``."""
        ...


def _check_name(name: str) -> None:
    if not is_valid_key_name(name):
        raise InvalidKey(f"invalid key name {name!r}")


class Ed25519Verifier:
    """Verifier of plain Ed25519 note signatures (type 0x01)."""

    alg = ALG_ED25519

    def __init__(self, name: str, public_key: bytes) -> None:
        _check_name(name)
        if len(public_key) != 32:
            raise InvalidKey(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")
        self._name = name
        self._public_bytes = bytes(public_key)
        self._key = Ed25519PublicKey.from_public_bytes(self._public_bytes)
        self._key_id = key_id(name, self.alg, self._public_bytes)

    @property
    def name(self) -> str:
        """The key name."""
        return self._name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID."""
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._public_bytes

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is a valid Ed25519 signature of ``message``."""
        if len(signature) != 64:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def key_string(self) -> str:
        """Return the verifier key string ``name+keyid+base64(0x01 || public key)``."""
        data = bytes((self.alg,)) + self._public_bytes
        return f"{self._name}+{self._key_id:08x}+{b64encode(data)}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key_string()!r})"


class Ed25519Signer:
    """Signer of plain Ed25519 note signatures (type 0x01), from a 32-byte seed."""

    alg = ALG_ED25519

    def __init__(self, name: str, seed: bytes) -> None:
        _check_name(name)
        if len(seed) != 32:
            raise InvalidKey(f"an Ed25519 seed is 32 bytes, not {len(seed)}")
        self._name = name
        self._seed = bytes(seed)
        self._key = Ed25519PrivateKey.from_private_bytes(self._seed)
        self._public_bytes = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = key_id(name, self.alg, self._public_bytes)

    @property
    def name(self) -> str:
        """The key name."""
        return self._name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID."""
        return self._key_id

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._public_bytes

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def verifier(self) -> Ed25519Verifier:
        """Return the matching verifier."""
        return Ed25519Verifier(self._name, self._public_bytes)

    def key_string(self) -> str:
        """Return the signer key string ``PRIVATE+KEY+name+keyid+base64(0x01 || seed)``."""
        data = bytes((self.alg,)) + self._seed
        return f"{_PRIVATE_PREFIX}{self._name}+{self._key_id:08x}+{b64encode(data)}"

    def __repr__(self) -> str:  # never print the seed
        return f"{type(self).__name__}(name={self._name!r}, key_id={self._key_id:08x})"


@dataclass(frozen=True)
class KeyString:
    """The parts of a verifier or signer key string, checked for syntax only."""

    name: str
    key_id: int
    alg: int
    key: bytes


def split_key_string(text: str, *, private: bool = False) -> KeyString:
    """Split ``name+keyid+base64(alg || key)`` (with ``PRIVATE+KEY+`` first if ``private``)."""
    if private:
        if not text.startswith(_PRIVATE_PREFIX):
            raise InvalidKey("a signer key starts with PRIVATE+KEY+")
        text = text[len(_PRIVATE_PREFIX) :]
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise InvalidKey("a key string has the form name+keyid+keydata")
    name, hex_id, data = parts
    _check_name(name)
    if len(hex_id) != 8 or any(c not in "0123456789abcdef" for c in hex_id):
        raise InvalidKey(f"key ID {hex_id!r} is not 8 lowercase hex digits")
    try:
        raw = b64decode_strict(data)
    except ValueError as exc:
        raise InvalidKey(str(exc)) from exc
    if len(raw) < 2:
        raise InvalidKey("key data is too short")
    return KeyString(name=name, key_id=int(hex_id, 16), alg=raw[0], key=raw[1:])


def parse_ed25519_verifier(vkey: str) -> Ed25519Verifier:
    """Parse an Ed25519 verifier key string and check its key ID."""
    parts = split_key_string(vkey)
    if parts.alg != ALG_ED25519:
        raise InvalidKey(f"key type 0x{parts.alg:02x} is not Ed25519 (0x01)")
    verifier = Ed25519Verifier(parts.name, parts.key)
    if verifier.key_id != parts.key_id:
        raise InvalidKey("key ID does not match the key")
    return verifier


def parse_ed25519_signer(skey: str) -> Ed25519Signer:
    """Parse an Ed25519 signer key string and check its key ID."""
    parts = split_key_string(skey, private=True)
    if parts.alg != ALG_ED25519:
        raise InvalidKey(f"key type 0x{parts.alg:02x} is not Ed25519 (0x01)")
    signer = Ed25519Signer(parts.name, parts.key)
    if signer.key_id != parts.key_id:
        raise InvalidKey("key ID does not match the key")
    return signer


def generate_key(name: str) -> tuple[str, str]:
    """Generate an Ed25519 key: return ``(signer key string, verifier key string)``."""
    signer = Ed25519Signer(name, secrets.token_bytes(32))
    return signer.key_string(), signer.verifier().key_string()


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """Return the signature line, newline included."""
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{SIGNATURE_PREFIX}{self.name} {b64encode(blob)}\n"


@dataclass(frozen=True)
class Note:
    """A note: its text (final newline included) and its signature lines, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        """Serialise the note: text, blank line, signature lines."""
        lines = "".join(s.line() for s in self.signatures)
        return (self.text + "\n" + lines).encode("utf-8")

    def with_signatures(self, extra: Iterable[NoteSignature]) -> Note:
        """Return the note with ``extra`` signatures appended (exact duplicates dropped)."""
        sigs = list(self.signatures)
        for sig in extra:
            if sig not in sigs:
                sigs.append(sig)
        return Note(self.text, tuple(sigs))


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise MalformedNote("note text must end with a newline")
    for c in text:
        if ord(c) < 0x20 and c != "\n":
            raise MalformedNote(f"note has a control character U+{ord(c):04X}")


def parse_signature_line(line: str) -> NoteSignature:
    """Parse one signature line (without its newline)."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNote("a signature line starts with an em dash and a space")
    name, sep, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not is_valid_key_name(name):
        raise MalformedNote(f"malformed signature line {line[:80]!r}")
    try:
        raw = b64decode_strict(blob)
    except ValueError as exc:
        raise MalformedNote(f"signature is not base64: {exc}") from exc
    if len(raw) < 5:
        raise MalformedNote("a signature has a 4-byte key ID and at least one byte")
    return NoteSignature(name=name, key_id=int.from_bytes(raw[:4], "big"), signature=raw[4:])


def parse_signature_lines(text: str) -> tuple[NoteSignature, ...]:
    """Parse newline-terminated signature lines (as in a witness's response body)."""
    if not text.endswith("\n"):
        raise MalformedNote("signature lines end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    return tuple(parse_signature_line(line) for line in lines)


def parse_note(data: bytes, *, max_size: int = MAX_NOTE_SIZE) -> Note:
    """Parse a signed note without verifying it; raise :class:`MalformedNote`."""
    if len(data) > max_size:
        raise MalformedNote(f"note is larger than {max_size} bytes")
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNote("note is not valid UTF-8") from exc
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedNote("note has no blank line before its signatures")
    text, sigs = message[: split + 1], message[split + 2 :]
    _check_text(text)
    if not sigs:
        raise MalformedNote("note has no signatures")
    for c in sigs:
        if ord(c) < 0x20 and c != "\n":
            raise MalformedNote(f"note has a control character U+{ord(c):04X}")
    return Note(text=text, signatures=parse_signature_lines(sigs))


class VerifierSet:
    """The keys a client trusts, looked up by (name, key ID)."""

    def __init__(self, verifiers: Iterable[Verifier] = ()) -> None:
        self._by_id: dict[tuple[str, int], Verifier] = {}
        for v in verifiers:
            self.add(v)

    def add(self, verifier: Verifier) -> None:
        """Trust one more key; two different keys with the same name and ID are refused."""
        ident = (verifier.name, verifier.key_id)
        if ident in self._by_id and self._by_id[ident] is not verifier:
            raise InvalidKey(f"two keys named {verifier.name!r} share key ID {ident[1]:08x}")
        self._by_id[ident] = verifier

    def get(self, name: str, key_id_: int) -> Verifier | None:
        """Return the verifier with that name and key ID, if trusted."""
        return self._by_id.get((name, key_id_))

    def __iter__(self) -> Iterator[Verifier]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass(frozen=True)
class VerifiedNote:
    """A note whose text is vouched for by at least one trusted key."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]
    note: Note

    def signed_by(self, verifier: Verifier) -> bool:
        """Return whether a valid signature from ``verifier`` is in the note."""
        return any(s.name == verifier.name and s.key_id == verifier.key_id for s in self.verified)


def _as_set(verifiers: VerifierSet | Iterable[Verifier]) -> VerifierSet:
    return verifiers if isinstance(verifiers, VerifierSet) else VerifierSet(verifiers)


def verify_note(note: Note, verifiers: VerifierSet | Iterable[Verifier]) -> VerifiedNote:
    """Verify a parsed note against trusted keys.

    Raises :class:`BadSignature` if a signature from a trusted key fails, and
    :class:`UnknownKey` if no trusted key signed the note.
    """
    trusted = _as_set(verifiers)
    message = note.text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for sig in note.signatures:
        verifier = trusted.get(sig.name, sig.key_id)
        if verifier is None:
            unverified.append(sig)
        elif verifier.verify(message, sig.signature):
            verified.append(sig)
        else:
            raise BadSignature(f"signature by {sig.name} ({sig.key_id:08x}) does not verify")
    if not verified:
        raise UnknownKey("the note has no signature from a trusted key")
    return VerifiedNote(note.text, tuple(verified), tuple(unverified), note)


def open_note(
    data: bytes,
    verifiers: VerifierSet | Iterable[Verifier],
    *,
    max_size: int = MAX_NOTE_SIZE,
) -> VerifiedNote:
    """Parse and verify a signed note (see :func:`verify_note`)."""
    return verify_note(parse_note(data, max_size=max_size), verifiers)


def sign_text(text: str, signers: Sequence[Signer]) -> Note:
    """Sign ``text`` with every signer and return the note."""
    _check_text(text)
    if not signers:
        raise ValueError("at least one signer is needed")
    message = text.encode("utf-8")
    sigs = tuple(
        NoteSignature(name=s.name, key_id=s.key_id, signature=s.sign(message)) for s in signers
    )
    return Note(text=text, signatures=sigs)


def sign_note(text: str, signers: Sequence[Signer]) -> bytes:
    """Sign ``text`` with every signer and return the serialised note."""
    return sign_text(text, signers).to_bytes()
