"""Salted commitments to record versions: what the public ledger holds instead of the data.

``commitment = base64(SHA-256(salt || JCS(data)))`` commits to the whole version; each field
also gets ``base64(SHA-256(salt || JCS([name, value])))``, so an audit can say which field was
changed behind the services' back. The 32-byte random salt is kept with the version and given
to the person the record is about: with it and the data, anyone can open the commitment; without
it, the commitment reveals nothing, not even for low-entropy values such as a birth date.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from shanyraq.core.canonical_json import canonicalize

SALT_BYTES = 32


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def _digest(salt: str, payload: Any) -> str:
    return base64.b64encode(
        hashlib.sha256(bytes.fromhex(salt) + canonicalize(payload)).digest()
    ).decode()


def commit(salt: str, data: Mapping[str, Any]) -> str:
    """The commitment to a whole version."""
    return _digest(salt, dict(data))


def commit_canonical(salt: str, canonical: bytes) -> str:
    """The commitment to a whole version whose RFC 8785 bytes are already at hand."""
    return base64.b64encode(hashlib.sha256(bytes.fromhex(salt) + canonical).digest()).decode()


def field_commitments(salt: str, data: Mapping[str, Any]) -> dict[str, str]:
    """One commitment per top-level field."""
    return {name: _digest(salt, [name, value]) for name, value in data.items()}
