"""Key strings of every type the ledger uses, parsed by their type byte.

Logs sign checkpoints with Ed25519 note keys (type 0x01); witnesses cosign with timestamped
Ed25519 keys (type 0x04). Both are written as C2SP key strings (see :mod:`.note`).
"""

from __future__ import annotations

from shanyraq.ledger.cosignature import (
    ALG_COSIGNATURE_V1,
    CosignatureSigner,
    CosignatureVerifier,
    parse_cosignature_signer,
    parse_cosignature_verifier,
)
from shanyraq.ledger.errors import InvalidKey
from shanyraq.ledger.note import (
    ALG_ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    parse_ed25519_signer,
    parse_ed25519_verifier,
    split_key_string,
)


def parse_verifier_key(vkey: str) -> Ed25519Verifier | CosignatureVerifier:
    """Parse a verifier key string of type 0x01 (log) or 0x04 (witness)."""
    alg = split_key_string(vkey.strip()).alg
    if alg == ALG_ED25519:
        return parse_ed25519_verifier(vkey.strip())
    if alg == ALG_COSIGNATURE_V1:
        return parse_cosignature_verifier(vkey.strip())
    raise InvalidKey(f"unsupported key type 0x{alg:02x}")


def parse_signer_key(skey: str) -> Ed25519Signer | CosignatureSigner:
    """Parse a signer key string of type 0x01 (log) or 0x04 (witness)."""
    alg = split_key_string(skey.strip(), private=True).alg
    if alg == ALG_ED25519:
        return parse_ed25519_signer(skey.strip())
    if alg == ALG_COSIGNATURE_V1:
        return parse_cosignature_signer(skey.strip())
    raise InvalidKey(f"unsupported key type 0x{alg:02x}")
