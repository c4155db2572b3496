"""Signing in tests as a citizen's browser would: a P-256 key enrolled for the person, and
signatures in WebCrypto's form (r || s, base64). The PKI must exist (``pki.pki_init``)."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from shanyraq.accounts.models import User
from shanyraq.casework.models import Application
from shanyraq.documents import esign
from shanyraq.documents.models import Certificate

# The keys enrolled so far, by certificate serial (a test database forgets certificates;
# a key is looked up by the certificate the person has now).
_KEYS: dict[str, ec.EllipticCurvePrivateKey] = {}


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def webcrypto_signature(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    """A signature as a browser's WebCrypto gives it: r || s, 32 bytes each, base64."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


def enrol(person: User) -> tuple[ec.EllipticCurvePrivateKey, Certificate]:
    """A new key for ``person``, enrolled as their browser would (proof of possession)."""
    key = ec.generate_private_key(ec.SECP256R1())
    challenge = esign.enrolment_challenge()
    certificate = esign.personal_key_enrol(
        holder=person,
        public_key_pem=public_pem(key),
        challenge=challenge,
        proof=webcrypto_signature(key, challenge.encode()),
    )
    _KEYS[certificate.serial] = key
    return key, certificate


def key_of(person: User) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """The person's signing key and its certificate's serial, enrolled on first need."""
    certificate = esign.personal_certificate_of(person)
    if certificate is not None and certificate.serial in _KEYS:
        return _KEYS[certificate.serial], certificate.serial
    key, certificate = enrol(person)
    return key, certificate.serial


def signature_for(person: User, draft: Application) -> esign.Signature | None:
    """The person's signature over the draft's answers when its service asks for one."""
    version = draft.service_version
    if not version.esign_required:
        return None
    key, serial = key_of(person)
    content = esign.signing_content(version.service.code, draft.answers)
    return esign.Signature(certificate=serial, value=webcrypto_signature(key, content))
