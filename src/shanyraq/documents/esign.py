"""Citizens' electronic signatures: enrolling a key made in the browser, and checking and
keeping what it signs.

A person's browser makes an ECDSA P-256 key pair with WebCrypto, the private half
non-extractable and kept by the browser. To enrol, the browser signs a one-time challenge the
platform gave it, proving it holds the key; the platform then certifies the public key,
bound to the person's IIN (``pki.personal_certificate_issue``), and the person's earlier
personal certificates are revoked as superseded. To sign, the browser signs the exact bytes
the platform shows it: the canonical JSON (RFC 8785) of what is submitted. Signatures come as
WebCrypto gives them (``r || s``, 64 bytes) or DER, in base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts.models import User
from shanyraq.core.canonical_json import canonicalize
from shanyraq.core.errors import ValidationError

from . import pki
from .models import Certificate, CertificateKind, SignedContent

__all__ = [
    "Signature",
    "enrolment_challenge",
    "key_fingerprint",
    "personal_certificate_of",
    "personal_key_enrol",
    "signature_check",
    "signature_of",
    "signature_record",
    "signature_reverify",
    "signing_content",
    "system_signature_check",
]

MAX_SIGNATURE = 200  # base64 of a DER ECDSA P-256 signature is under 100 characters


@dataclass(frozen=True)
class Signature:
    """A signature as a client sends it: the certificate's serial and the signature."""

    certificate: str
    value: str

    @classmethod
    def from_value(cls, value: Any) -> Signature | None:
        """From ``{"certificate": ..., "value": ...}``; None when nothing was sent."""
        if value is None or value == {}:
            return None
        if not isinstance(value, Mapping):
            raise _invalid()
        return cls(str(value.get("certificate") or "")[:80], str(value.get("value") or ""))


def _invalid() -> ValidationError:
    return ValidationError(
        code="signature_invalid",
        message=_("The electronic signature does not match what was submitted."),
        field="signature",
    )


def enrolment_challenge() -> str:
    """A one-time text for the browser to sign when it enrols a key (kept by the caller)."""
    return "shanyraq-enrol:" + secrets.token_urlsafe(32)


def key_fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 of the key's SubjectPublicKeyInfo, hex: how the browser finds its key."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def _der(signature_b64: str) -> bytes:
    try:
        raw = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if len(raw) == 64:  # WebCrypto's r || s
        return encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        )
    if 8 <= len(raw) <= 72 and raw[0] == 0x30:
        return raw
    raise _invalid()


def _verifies(public_key: Any, signature: bytes, content: bytes) -> bool:
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    try:
        public_key.verify(signature, content, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def personal_key_enrol(
    *, holder: User, public_key_pem: str, challenge: str, proof: str
) -> Certificate:
    """Certify the holder's browser key once it has signed ``challenge`` (``proof``).

    Earlier personal certificates of the holder are revoked as superseded: one key signs.
    """
    if not challenge:
        raise ValidationError(
            code="enrolment_expired",
            message=_("The enrolment has expired. Start again."),
        )
    try:
        public_key = serialization.load_pem_public_key(public_key_pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeError):
        public_key = None
    if public_key is None or not _verifies(
        public_key, _der(proof) if proof else b"", challenge.encode()
    ):
        raise ValidationError(
            code="enrolment_proof",
            message=_("The browser could not prove it holds the key. Start again."),
        )
    with transaction.atomic():
        earlier = list(
            Certificate.objects.select_for_update().filter(
                holder=holder, kind=CertificateKind.PERSONAL, revoked_at__isnull=True
            )
        )
        certificate = pki.personal_certificate_issue(holder=holder, public_key_pem=public_key_pem)
        for old in earlier:
            pki.certificate_revoke(certificate=old, reason="superseded")
    return certificate


def personal_certificate_of(holder: User) -> Certificate | None:
    """The holder's current personal certificate, if they have enrolled a key."""
    now = timezone.now()
    return (
        Certificate.objects.filter(
            holder=holder,
            kind=CertificateKind.PERSONAL,
            revoked_at__isnull=True,
            not_before__lte=now,
            not_after__gt=now,
        )
        .order_by("-not_before", "-id")
        .first()
    )


def signing_content(service: str, answers: Mapping[str, Any]) -> bytes:
    """The bytes an applicant signs: the canonical JSON of the service and their answers."""
    return canonicalize({"service": service, "answers": dict(answers)})


def _certificate(serial: str, kind: str) -> Certificate:
    certificate = Certificate.objects.filter(serial=serial.strip().lower(), kind=kind).first()
    if certificate is None:
        raise ValidationError(
            code="signature_certificate_unknown",
            message=_("The signing certificate is not one the platform issued."),
            field="signature",
        )
    return certificate


def _checked(certificate: Certificate, content: bytes, signature: Signature) -> bytes:
    """The signature (DER) once it verifies over ``content`` with a certificate that is
    valid now and not revoked."""
    if certificate.revoked_at is not None:
        raise ValidationError(
            code="signature_certificate_revoked",
            message=_("The signing certificate was revoked. Create a new signing key."),
            field="signature",
        )
    now = timezone.now()
    if not certificate.not_before <= now < certificate.not_after:
        raise ValidationError(
            code="signature_certificate_expired",
            message=_("The signing certificate has expired. Create a new signing key."),
            field="signature",
        )
    der = _der(signature.value[:MAX_SIGNATURE])
    if not _verifies(pki.certificate_x509(certificate).public_key(), der, content):
        raise _invalid()
    return der


def signature_check(
    *, signer: User, content: bytes, signature: Signature
) -> tuple[Certificate, bytes]:
    """Check that ``signature`` is ``signer``'s own over ``content``: a personal certificate
    the platform issued to their IIN, valid now and not revoked. Returns the certificate and
    the signature (DER); raises ``ValidationError`` saying what is wrong."""
    certificate = _certificate(signature.certificate, CertificateKind.PERSONAL)
    if certificate.holder_id != signer.pk or not signer.iin:
        raise ValidationError(
            code="signature_not_yours",
            message=_("The signature was made with another person's certificate."),
            field="signature",
        )
    return certificate, _checked(certificate, content, signature)


def system_signature_check(
    *, agency_id: int, content: bytes, signature: Signature
) -> tuple[Certificate, bytes]:
    """Check that ``signature`` over ``content`` was made by one of the agency's own
    systems (a system certificate the platform issued to that agency)."""
    certificate = _certificate(signature.certificate, CertificateKind.SYSTEM)
    if certificate.agency_id != agency_id:
        raise ValidationError(
            code="signature_not_yours",
            message=_("The signature was made with another agency's certificate."),
            field="signature",
        )
    return certificate, _checked(certificate, content, signature)


def signature_record(
    *,
    signer: User,
    purpose: str,
    reference: str,
    content: bytes,
    signature: Signature,
    agency_id: int | None = None,
) -> SignedContent:
    """Check ``signature`` and keep it with what it signs, in the caller's transaction: the
    signer's personal signature, or with ``agency_id`` one of that agency's systems'."""
    if agency_id is None:
        certificate, der = signature_check(signer=signer, content=content, signature=signature)
    else:
        certificate, der = system_signature_check(
            agency_id=agency_id, content=content, signature=signature
        )
    return SignedContent.objects.create(
        purpose=purpose,
        reference=reference,
        content=content,
        signature=der,
        certificate=certificate,
        signer=signer,
    )


def signature_of(purpose: str, reference: str) -> SignedContent | None:
    return (
        SignedContent.objects.select_related("certificate", "signer")
        .filter(purpose=purpose, reference=reference)
        .order_by("-signed_at", "-id")
        .first()
    )


def signature_reverify(signed: SignedContent) -> bool:
    """Whether the kept signature still verifies over the kept content with its certificate
    (a later revocation does not undo a signature made while the certificate was valid)."""
    public_key = pki.certificate_x509(signed.certificate).public_key()
    return _verifies(public_key, bytes(signed.signature), bytes(signed.content))
