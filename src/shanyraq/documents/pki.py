"""The platform's public-key infrastructure: its certification authorities and certificates.

A root CA (20 years) issues one issuing CA (10 years, path length 0); the issuing CA issues
everything else: the time-stamping authority's certificate, each agency's document-signing
certificate and citizens' personal certificates. Every certificate is recorded in
``Certificate``; private keys the platform holds are files under ``PKI_DIR`` (see
``documents.signers``). CA keys are ECDSA P-384, end-entity keys ECDSA P-256, which sign in
microseconds and are accepted by Poppler (``pdfsig``), Adobe Reader and pyHanko.

Issued certificates name where to fetch their issuer's revocation list and certificate:
``{SHANYRAQ_PUBLIC_URL}/pki/crl/{issuer serial}.crl`` and ``.../pki/ca/{issuer serial}.crt``.
Revocation is recorded here and published through ``crl_der``; validators inside the
platform ask ``is_revoked`` directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts.models import User
from shanyraq.catalog.models import Agency
from shanyraq.core.errors import ValidationError

from .models import Certificate, CertificateKind
from .signers import PkiError, key_path, load_private_key, passphrase

__all__ = [
    "REVOCATION_REASONS",
    "PkiError",
    "PkiState",
    "agency_signing_certificate",
    "certificate_revoke",
    "certificate_x509",
    "chain_of",
    "crl_der",
    "is_revoked",
    "personal_certificate_issue",
    "pki_init",
    "serial_hex",
    "trust_anchor",
]

ROOT_VALIDITY: Final = dt.timedelta(days=20 * 365 + 5)
ISSUING_VALIDITY: Final = dt.timedelta(days=10 * 365 + 2)
TIMESTAMPING_VALIDITY: Final = dt.timedelta(days=5 * 365 + 1)
DOCUMENT_SIGNING_VALIDITY: Final = dt.timedelta(days=3 * 365 + 1)
PERSONAL_VALIDITY: Final = dt.timedelta(days=365)
# Certificates start a little in the past, so that a verifier whose clock is slightly
# behind does not see a brand-new certificate as "not yet valid".
BACKDATE: Final = dt.timedelta(minutes=5)
CRL_VALIDITY: Final = dt.timedelta(days=1)

# RFC 5280 reasons a certificate may be revoked for, by the names used in this project.
# certificateHold is left out on purpose: a revocation here is final.
REVOCATION_REASONS: Final[dict[str, x509.ReasonFlags]] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "ca_compromise": x509.ReasonFlags.ca_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "privilege_withdrawn": x509.ReasonFlags.privilege_withdrawn,
}

_CA_KINDS: Final = (CertificateKind.ROOT, CertificateKind.ISSUING)
# X.520 upper bound for organisation and unit names (RFC 5280 appendix A).
_NAME_LIMIT: Final = 64


@dataclass(frozen=True)
class PkiState:
    """The platform's current CAs and time-stamping certificate; ``created`` names the kinds
    this call made (empty when everything already existed)."""

    root: Certificate
    issuing: Certificate
    timestamping: Certificate
    created: tuple[str, ...] = ()


def serial_hex(serial: int) -> str:
    """A certificate serial number as this project writes it: lower-case hexadecimal."""
    return format(serial, "x")


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


# Parsed certificates by fingerprint; a certificate never changes once issued.
_parsed: dict[str, x509.Certificate] = {}
_parsed_lock = threading.Lock()
_PARSED_LIMIT: Final = 4096


def certificate_x509(row: Certificate) -> x509.Certificate:
    """The certificate of ``row``, parsed once per process (checked against its fingerprint)."""
    found = _parsed.get(row.fingerprint)
    if found is not None:
        return found
    parsed = x509.load_pem_x509_certificate(row.pem.encode("ascii"))
    if _fingerprint(parsed) != row.fingerprint:
        raise PkiError(f"Certificate {row.serial}: the stored PEM does not match its fingerprint.")
    with _parsed_lock:
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()
        _parsed[row.fingerprint] = parsed
    return parsed


def chain_of(certificate: Certificate) -> list[x509.Certificate]:
    """``certificate`` followed by its issuers, up to and including the root."""
    chain = []
    row: Certificate | None = certificate
    seen: set[int] = set()
    while row is not None:
        if row.pk in seen:
            raise PkiError(f"Certificate {row.serial} is its own issuer's issuer.")
        seen.add(row.pk)
        chain.append(certificate_x509(row))
        row = row.issuer
    return chain


def _valid_now(kind: str, now: dt.datetime) -> QuerySet[Certificate]:
    return (
        Certificate.objects.select_related("issuer")
        .filter(kind=kind, revoked_at__isnull=True, not_before__lte=now, not_after__gt=now)
        .exclude(issuer__revoked_at__isnull=False)
        .order_by("-not_after", "-pk")
    )


def _current_root(now: dt.datetime) -> Certificate | None:
    return _valid_now(CertificateKind.ROOT, now).first()


def trust_anchor() -> x509.Certificate:
    """The platform's root certificate: the one trust anchor its signatures chain to."""
    root = _current_root(timezone.now())
    if root is None:
        raise PkiError("The PKI is not initialised: run `shanyraq pki init`.")
    return certificate_x509(root)


def _issuing_ca(now: dt.datetime) -> Certificate:
    issuing = _valid_now(CertificateKind.ISSUING, now).first()
    if issuing is None:
        raise PkiError("The PKI has no valid issuing CA: run `shanyraq pki init`.")
    return issuing


# ---------------------------------------------------------------------------------------------
# Keys on disk


def _store_private_key(key: CertificateIssuerPrivateKeyTypes, key_name: str) -> None:
    """Write ``key`` encrypted under ``PKI_DIR`` (0600 in a 0700 directory), all or nothing."""
    secret = passphrase()
    path = key_path(key_name)
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    if path.exists():
        raise PkiError(f"A private key named {key_name!r} already exists.")
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret),
    )
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")  # 0600
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory_handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_handle)
    finally:
        os.close(directory_handle)


# ---------------------------------------------------------------------------------------------
# Building certificates


def _url(path: str) -> str:
    return str(settings.SHANYRAQ_PUBLIC_URL).rstrip("/") + path


def _signature_hash(key: CertificateIssuerPrivateKeyTypes) -> hashes.SHA256 | hashes.SHA384:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


def _limited(value: str) -> str:
    return value.strip()[:_NAME_LIMIT] or "-"


def _key_usage(
    *,
    digital_signature: bool = False,
    non_repudiation: bool = False,
    ca: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _issue(
    *,
    kind: str,
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    validity: dt.timedelta,
    key_usage: x509.KeyUsage,
    issuer: Certificate | None,
    path_length: int | None = None,
    extended_key_usage: list[x509.ObjectIdentifier] | None = None,
    key_name: str = "",
    serial: int | None = None,
    signing_key: CertificateIssuerPrivateKeyTypes | None = None,
    agency: Agency | None = None,
    holder: User | None = None,
) -> Certificate:
    """Sign a certificate for ``public_key`` with ``issuer``'s key (or ``signing_key`` for the
    self-signed root) and record it."""
    now = timezone.now()
    serial = serial if serial is not None else x509.random_serial_number()
    not_before = now - BACKDATE
    not_after = now + validity
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    builder = x509.CertificateBuilder().serial_number(serial).subject_name(subject)
    builder = builder.public_key(public_key)
    is_ca = kind in _CA_KINDS
    if issuer is None:
        if signing_key is None:
            raise PkiError("A self-signed certificate needs its own key.")
        issuer_name = subject
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    else:
        issuer_x509 = certificate_x509(issuer)
        issuer_name = issuer_x509.subject
        # A certificate never outlives its issuer.
        not_after = min(not_after, issuer.not_after)
        signing_key = load_private_key(issuer.key_name)
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            issuer_x509.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        )
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[
                            x509.UniformResourceIdentifier(_url(f"/pki/crl/{issuer.serial}.crl"))
                        ],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(_url(f"/pki/ca/{issuer.serial}.crt")),
                    )
                ]
            ),
            critical=False,
        )
    builder = (
        builder.issuer_name(issuer_name)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=is_ca, path_length=path_length if is_ca else None),
            critical=True,
        )
        .add_extension(key_usage, critical=True)
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    if extended_key_usage:
        # RFC 3161 requires the time-stamping purpose to be the only one, and critical.
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended_key_usage), critical=True)
    certificate = builder.sign(signing_key, _signature_hash(signing_key))
    return Certificate.objects.create(
        serial=serial_hex(serial),
        kind=kind,
        subject=certificate.subject.rfc4514_string(),
        issuer=issuer,
        agency=agency,
        holder=holder,
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        fingerprint=_fingerprint(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        key_name=key_name,
    )


def _issue_with_new_key(
    *,
    kind: str,
    subject: x509.Name,
    curve: ec.EllipticCurve,
    issuer: Certificate | None,
    validity: dt.timedelta,
    key_usage: x509.KeyUsage,
    path_length: int | None = None,
    extended_key_usage: list[x509.ObjectIdentifier] | None = None,
    agency: Agency | None = None,
) -> Certificate:
    """Generate a key pair, store the private key, and issue its certificate.

    The key file is written before the row: a row never names a missing key. A transaction
    that fails afterwards leaves an unused key file behind, which is harmless.
    """
    key = ec.generate_private_key(curve)
    serial = x509.random_serial_number()
    key_name = f"{kind}-{serial_hex(serial)}.key.pem"
    _store_private_key(key, key_name)
    return _issue(
        kind=kind,
        subject=subject,
        public_key=key.public_key(),
        validity=validity,
        key_usage=key_usage,
        issuer=issuer,
        path_length=path_length,
        extended_key_usage=extended_key_usage,
        key_name=key_name,
        serial=serial,
        signing_key=key if issuer is None else None,
        agency=agency,
    )


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


# ---------------------------------------------------------------------------------------------
# Services


def pki_init(*, organisation: str | None = None) -> PkiState:
    """Create whatever the platform's PKI lacks: root CA, issuing CA, time-stamping certificate.

    A second call changes nothing and returns the same state. A part that has expired or
    been revoked is replaced (a new issuing CA under the root, a new time-stamping
    certificate under the issuing CA), which is also how they are rotated.
    """
    passphrase()  # fail before creating anything
    org = _limited(organisation or str(settings.PKI_ORGANISATION))
    created: list[str] = []
    now = timezone.now()
    with transaction.atomic():
        root = _current_root(now)
        if root is None:
            root = _issue_with_new_key(
                kind=CertificateKind.ROOT,
                subject=_name(
                    (NameOID.ORGANIZATION_NAME, org), (NameOID.COMMON_NAME, f"{org} Root CA")
                ),
                curve=ec.SECP384R1(),
                issuer=None,
                validity=ROOT_VALIDITY,
                key_usage=_key_usage(ca=True),
            )
            created.append(CertificateKind.ROOT.value)
        issuing = _valid_now(CertificateKind.ISSUING, now).filter(issuer=root).first()
        if issuing is None:
            issuing = _issue_with_new_key(
                kind=CertificateKind.ISSUING,
                subject=_name(
                    (NameOID.ORGANIZATION_NAME, org),
                    (NameOID.COMMON_NAME, f"{org} Issuing CA {now:%Y}"),
                ),
                curve=ec.SECP384R1(),
                issuer=root,
                validity=ISSUING_VALIDITY,
                key_usage=_key_usage(ca=True),
                path_length=0,
            )
            created.append(CertificateKind.ISSUING.value)
        timestamping = _valid_now(CertificateKind.TIMESTAMPING, now).filter(issuer=issuing).first()
        if timestamping is None:
            timestamping = _issue_with_new_key(
                kind=CertificateKind.TIMESTAMPING,
                subject=_name(
                    (NameOID.ORGANIZATION_NAME, org),
                    (NameOID.COMMON_NAME, f"{org} Time-Stamping Authority"),
                ),
                curve=ec.SECP256R1(),
                issuer=issuing,
                validity=TIMESTAMPING_VALIDITY,
                key_usage=_key_usage(digital_signature=True),
                extended_key_usage=[ExtendedKeyUsageOID.TIME_STAMPING],
            )
            created.append(CertificateKind.TIMESTAMPING.value)
    return PkiState(root=root, issuing=issuing, timestamping=timestamping, created=tuple(created))


def agency_signing_certificate(agency: Agency) -> Certificate:
    """The agency's current document-signing certificate, issued on first need.

    "Current" means valid now, not revoked and issued by an unrevoked CA; when there is
    none (first use, expiry, revocation) a new key and certificate are made. The agency row
    is locked meanwhile, so that two workers do not both issue one.
    """
    now = timezone.now()
    with transaction.atomic():
        Agency.objects.select_for_update().filter(pk=agency.pk).first()
        current = _valid_now(CertificateKind.DOCUMENT_SIGNING, now).filter(agency=agency).first()
        if current is not None:
            return current
        issuing = _issuing_ca(now)
        return _issue_with_new_key(
            kind=CertificateKind.DOCUMENT_SIGNING,
            subject=_name(
                (NameOID.ORGANIZATION_NAME, _limited(agency.name.get("en"))),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, _limited(agency.code)),
                (NameOID.COMMON_NAME, _limited(f"{agency.code} document signing")),
            ),
            curve=ec.SECP256R1(),
            issuer=issuing,
            validity=DOCUMENT_SIGNING_VALIDITY,
            key_usage=_key_usage(digital_signature=True, non_repudiation=True),
            agency=agency,
        )


# A PEM public key for P-256 is about 180 characters; anything far longer is not one.
_MAX_PUBLIC_KEY_PEM: Final = 4096


def _personal_key(public_key_pem: str) -> ec.EllipticCurvePublicKey:
    """An ECDSA P-256 public key from PEM, or a ``ValidationError`` saying what is wrong."""
    key: object = None
    if isinstance(public_key_pem, str) and len(public_key_pem) <= _MAX_PUBLIC_KEY_PEM:
        try:
            key = serialization.load_pem_public_key(public_key_pem.strip().encode("ascii"))
        except (ValueError, TypeError, UnicodeError):
            key = None
    if key is None:
        raise ValidationError(
            code="invalid_public_key",
            message=_("The public key could not be read. Send it in PEM format."),
            field="public_key_pem",
        )
    if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)):
        raise ValidationError(
            code="unsupported_public_key",
            message=_("The key must be an ECDSA key on the P-256 curve."),
            field="public_key_pem",
        )
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def personal_certificate_issue(*, holder: User, public_key_pem: str) -> Certificate:
    """Certify a citizen's own ECDSA P-256 public key, made in their browser, for a year.

    The certificate binds the key to the holder's IIN (``serialNumber=IIN…``) and name.
    The platform never sees the private key, so the row has no ``key_name``.
    """
    if not holder.iin:
        raise ValidationError(
            code="no_iin",
            message=_("A personal signing certificate can only be issued to a person with an IIN."),
        )
    key = _personal_key(public_key_pem)
    now = timezone.now()
    name = holder.full_name.strip() or holder.iin
    with transaction.atomic():
        return _issue(
            kind=CertificateKind.PERSONAL,
            subject=_name(
                (NameOID.SERIAL_NUMBER, f"IIN{holder.iin}"),
                (NameOID.COMMON_NAME, _limited(name)),
            ),
            public_key=key,
            validity=PERSONAL_VALIDITY,
            key_usage=_key_usage(digital_signature=True),
            issuer=_issuing_ca(now),
            holder=holder,
        )


def system_certificate_issue(*, agency: Agency, name: str, public_key_pem: str) -> Certificate:
    """Certify the public key of one of ``agency``'s information systems, with which it
    signs what it sends through the API (a decision on a case); a year, P-256 only.

    The platform never holds the system's private key.
    """
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError(
            code="system_name_required",
            message=_("Name the system the certificate is for."),
            field="name",
        )
    key = _personal_key(public_key_pem)
    now = timezone.now()
    with transaction.atomic():
        return _issue(
            kind=CertificateKind.SYSTEM,
            subject=_name(
                (NameOID.ORGANIZATION_NAME, _limited(agency.name.get("en"))),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, _limited(agency.code)),
                (NameOID.COMMON_NAME, _limited(name)),
            ),
            public_key=key,
            validity=PERSONAL_VALIDITY,
            key_usage=_key_usage(digital_signature=True, non_repudiation=True),
            issuer=_issuing_ca(now),
            agency=agency,
        )


def certificate_revoke(*, certificate: Certificate, reason: str) -> Certificate:
    """Revoke a certificate for an RFC 5280 ``reason``; the first revocation stands.

    Revoking again returns the certificate as it is, with its first time and reason. The
    root cannot be revoked: nothing above it could say so; replace the PKI instead.
    """
    if reason not in REVOCATION_REASONS:
        raise ValidationError(
            code="invalid_revocation_reason",
            message=_("This is not a reason a certificate can be revoked for."),
            field="reason",
        )
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.kind == CertificateKind.ROOT:
            raise ValidationError(
                code="root_not_revocable",
                message=_("The root certificate cannot be revoked."),
            )
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.revocation_reason = reason
        locked.save(update_fields=["revoked_at", "revocation_reason"])
        return locked


def crl_der(issuer: Certificate) -> bytes:
    """A freshly signed CRL of ``issuer`` (a CA): its revoked certificates with reasons.

    It is valid for a day. The CRL number is the current time in microseconds, so that
    each new list has a larger number than the one before.
    """
    if issuer.kind not in _CA_KINDS or not issuer.key_name:
        raise PkiError(f"Certificate {issuer.serial} is not a certification authority.")
    issuer_x509 = certificate_x509(issuer)
    key = load_private_key(issuer.key_name)
    now = timezone.now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_x509.subject)
        .last_update(now)
        .next_update(now + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(time.time_ns() // 1000), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                issuer_x509.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
    )
    revoked = Certificate.objects.filter(issuer=issuer, revoked_at__isnull=False).order_by("pk")
    for row in revoked.only("serial", "revoked_at", "revocation_reason"):
        assert row.revoked_at is not None
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(row.serial, 16))
            .revocation_date(row.revoked_at)
        )
        flag = REVOCATION_REASONS.get(row.revocation_reason, x509.ReasonFlags.unspecified)
        # RFC 5280 5.3.1: leave the reason out rather than say "unspecified".
        if flag is not x509.ReasonFlags.unspecified:
            entry = entry.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(key, _signature_hash(key)).public_bytes(serialization.Encoding.DER)


def is_revoked(certificate: x509.Certificate) -> Certificate | None:
    """The revoked row that makes ``certificate`` untrustworthy, or None.

    That is the certificate itself when it is revoked, else the first revoked CA above it.
    A certificate the platform did not issue (no row with its serial and fingerprint) is
    not "revoked" here: trust in it is a question for the validator.
    """
    row = (
        Certificate.objects.select_related("issuer__issuer")
        .filter(serial=serial_hex(certificate.serial_number), fingerprint=_fingerprint(certificate))
        .first()
    )
    while row is not None:
        if row.revoked_at is not None:
            return row
        row = row.issuer
    return None


def key_file(certificate: Certificate) -> Path:
    """Where the private key of ``certificate`` is stored (for operators and tests)."""
    return key_path(certificate.key_name)
