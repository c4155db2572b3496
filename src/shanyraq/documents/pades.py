"""PAdES signatures on the PDF files the platform issues, and their validation.

``sign_pdf`` adds a PAdES baseline B-T signature: CAdES-style CMS with the signer's chain
embedded and a signature time-stamp from the platform's own TSA. The raw signature comes
from a ``documents.signers.Signer``, so a hardware module can make it.

``validate_pdf`` checks a file against the platform's root only, with no network access:
whether the signed bytes are intact, whether the signature and time-stamp are valid and
chain to the root. Revocation is not looked up here; callers ask ``pki.is_revoked``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import io
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import attributes, fields
from pyhanko.sign import signers as hanko_signers
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .pki import serial_hex, trust_anchor
from .signers import Signer
from .tsa import PlatformTimeStamper, current_authority

__all__ = [
    "PROBLEMS",
    "NotAPdf",
    "PdfValidation",
    "sign_pdf",
    "validate_pdf",
]

logger = logging.getLogger(__name__)

_DIGEST: Final = "sha256"

# What ``PdfValidation.problems`` may contain: stable codes the interfaces put into words.
PROBLEMS: Final[dict[str, str]] = {
    "unreadable_signature": "A signature could not be read.",
    "modified": "The signed bytes were changed after signing.",
    "modified_after_signing": "Something was added to the file after it was signed.",
    "signature_invalid": "The signature does not match the signer's certificate.",
    "untrusted": "The signer's certificate does not chain to the platform's root.",
    "no_timestamp": "The signature has no time-stamp.",
    "timestamp_invalid": "The time-stamp is damaged or not from a trusted authority.",
}


class NotAPdf(ValueError):
    """The bytes are not a PDF file, or not a whole one."""


@dataclass(frozen=True)
class PdfValidation:
    """What ``validate_pdf`` found about a file's first signature.

    ``intact``: the signed bytes are unchanged and nothing was appended after signing.
    ``valid``: the signature is cryptographically correct and its certificate chains to the
    platform's root (with a valid time-stamp when there is one). ``coverage`` is pyHanko's
    word for how much of the file the signature covers ("entire_file" for an untouched
    file). ``problems`` holds codes from ``PROBLEMS``.
    """

    signed: bool
    intact: bool
    valid: bool
    signer_subject: str = ""
    signer_serial: str = ""
    signer_fingerprint: str = ""
    signing_time: datetime | None = None
    timestamp_time: datetime | None = None
    coverage: str = ""
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Signing


# asn1crypto copies of certificates by SHA-256 fingerprint: pyHanko caches hashes and
# parsed fields on them, so reusing them spares work on every signature.
_asn1_certificates: dict[bytes, Any] = {}
_asn1_lock = threading.Lock()


def _asn1(certificate: x509.Certificate) -> Any:
    fingerprint = certificate.fingerprint(hashes.SHA256())
    found = _asn1_certificates.get(fingerprint)
    if found is None:
        found = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
        with _asn1_lock:
            if len(_asn1_certificates) > 1024:
                _asn1_certificates.clear()
            _asn1_certificates[fingerprint] = found
    return found


_signing_certificates: dict[bytes, bytes] = {}


def _signing_certificate_der(certificate: x509.Certificate) -> bytes:
    fingerprint = certificate.fingerprint(hashes.SHA256())
    found = _signing_certificates.get(fingerprint)
    if found is None:
        found = bytes(as_signing_certificate_v2(_asn1(certificate)).dump())
        with _asn1_lock:
            if len(_signing_certificates) > 1024:
                _signing_certificates.clear()
            _signing_certificates[fingerprint] = found
    return found


def _placeholder_size(certificate: x509.Certificate) -> int:
    """The largest raw signature the key can make, for pyHanko's size estimate."""
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        # DER SEQUENCE of two INTEGERs, each possibly one byte longer than the order.
        return 2 * ((key.curve.key_size + 7) // 8 + 3) + 3
    if isinstance(key, rsa.RSAPublicKey):
        return (key.key_size + 7) // 8
    return 512


class _SigningCertificate(attributes.CMSAttributeProvider):
    """The ESS signing-certificate-v2 attribute (required by PAdES), encoded once."""

    attribute_type = "signing_certificate_v2"

    def __init__(self, der: bytes) -> None:
        self._der = der

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        # A freshly loaded value is copied into the attribute set without re-encoding;
        # one built from Python values costs milliseconds each time in asn1crypto.
        return tsp.SigningCertificateV2.load(self._der)


class _PadesSignedAttributes(attributes.SignedAttributeProviderSpec):
    """The signed attributes of a PAdES baseline signature besides content type and message
    digest (which pyHanko always adds): only signing-certificate-v2. PAdES forbids the
    CMS signing-time attribute; the time is in the signature dictionary's /M."""

    def __init__(self, signing_certificate_der: bytes) -> None:
        self._der = signing_certificate_der

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str) -> Iterable[Any]:
        yield _SigningCertificate(self._der)


class _DelegatingSigner(hanko_signers.Signer):
    """pyHanko's signer interface, with the raw signature made by one of our ``Signer``s."""

    def __init__(self, signer: Signer) -> None:
        chain = [_asn1(c) for c in signer.chain]
        super().__init__(
            signing_cert=chain[0],
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
            embed_roots=True,
        )
        self.signed_attr_prov_spec = _PadesSignedAttributes(
            _signing_certificate_der(signer.certificate)
        )
        self._signer = signer
        self._placeholder = _placeholder_size(signer.certificate)

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            # Only the size matters here; a hardware module is not asked to sign garbage.
            return bytes(self._placeholder)
        return self._signer.sign(data, digest_algorithm)


# One stamper per time-stamping authority, kept for the process.
_stampers: dict[int, PlatformTimeStamper] = {}
_stampers_lock = threading.Lock()


def _timestamper() -> PlatformTimeStamper:
    authority = current_authority()
    with _stampers_lock:
        stamper = _stampers.get(id(authority))
        if stamper is None or stamper.authority is not authority:
            if len(_stampers) > 64:
                _stampers.clear()
            stamper = _stampers[id(authority)] = PlatformTimeStamper(authority)
        return stamper


# Room for what a signature holds besides certificates: signed attributes, the signature,
# the time-stamp's TSTInfo and signer information; generous, since running short fails.
_CMS_OVERHEAD: Final = 4096


def _bytes_reserved(signer: Signer, stamper: PlatformTimeStamper) -> int:
    """Hex digits to reserve for the signature container in the file.

    Counted from what goes in, rather than from a trial signature as pyHanko would do: the
    trial costs as much as the signature itself.
    """
    chain = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in signer.chain)
    stamp = sum(len(der) for der in stamper.authority.certificates_der)
    signatures = 2 * _placeholder_size(signer.certificate)
    return 2 * (chain + stamp + signatures + _CMS_OVERHEAD)


def _free_field_name(writer: IncrementalPdfFileWriter) -> str:
    taken = {name for name, _value, _ref in fields.enumerate_sig_fields(writer)}
    number = 1
    while f"Signature{number}" in taken:
        number += 1
    return f"Signature{number}"


T = TypeVar("T")


def _without_running_loop(call: Callable[[], T]) -> T:
    """pyHanko's synchronous calls run an event loop of their own, which Python refuses in a
    thread that already runs one (an asynchronous server, a browser-test driver): there the
    call is made in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def sign_pdf(
    pdf: bytes,
    *,
    signer: Signer,
    reason: str = "",
    location: str = "",
    name: str | None = None,
) -> bytes:
    """``pdf`` with a PAdES B-T signature by ``signer`` appended as an incremental update.

    The signer's chain is embedded and the signature is time-stamped by the platform's TSA.
    Raises ``NotAPdf`` when ``pdf`` cannot be read as a PDF file.
    """
    stamper = _timestamper()
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        field_name = _free_field_name(writer)
    except Exception as exc:  # pyHanko raises many kinds on damaged input
        raise NotAPdf("The bytes to sign are not a readable PDF file.") from exc
    metadata = PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=_DIGEST,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
        name=name,
    )
    pdf_signer = PdfSigner(metadata, signer=_DelegatingSigner(signer), timestamper=stamper)
    output = io.BytesIO()
    reserved = _bytes_reserved(signer, stamper)
    _without_running_loop(
        lambda: pdf_signer.sign_pdf(writer, output=output, bytes_reserved=reserved)
    )
    return output.getvalue()


# ---------------------------------------------------------------------------------------------
# Validation


def _reader(pdf: bytes) -> PdfFileReader:
    # A PDF starts with its header, within the first kilobyte at the latest.
    if not isinstance(pdf, bytes | bytearray) or b"%PDF-" not in bytes(pdf[:1024]):
        raise NotAPdf("The bytes are not a PDF file.")
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        # Reading the trailer and the document catalogue shows a truncated or broken file.
        reader.root  # noqa: B018
        return reader
    except Exception as exc:  # pyHanko raises many kinds on damaged input
        raise NotAPdf("The PDF file is damaged or incomplete.") from exc


def _validation_context(root: Any) -> ValidationContext:
    return ValidationContext(
        trust_roots=[root],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )


def _coverage_name(status: Any) -> str:
    coverage = getattr(status, "coverage", None)
    return coverage.name.lower() if coverage is not None else ""


def _certificate_facts(certificate: Any) -> tuple[str, str, str]:
    der = certificate.dump()
    parsed = x509.load_der_x509_certificate(der)
    return (
        parsed.subject.rfc4514_string(),
        serial_hex(parsed.serial_number),
        hashlib.sha256(der).hexdigest(),
    )


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _problems(status: Any) -> Iterable[str]:
    coverage = _coverage_name(status)
    if not status.intact:
        yield "modified"
    elif coverage != "entire_file":
        yield "modified_after_signing"
    if status.intact and not status.valid:
        yield "signature_invalid"
    if status.intact and status.valid and not status.trusted:
        yield "untrusted"
    timestamp = status.timestamp_validity
    if timestamp is None:
        yield "no_timestamp"
    elif not (timestamp.intact and timestamp.valid and timestamp.trusted):
        yield "timestamp_invalid"


def validate_pdf(pdf: bytes) -> PdfValidation:
    """Check the first signature of ``pdf`` against the platform's root, offline.

    A readable PDF without signatures gives ``signed=False``; bytes that are not a PDF, or
    a truncated or damaged one, raise ``NotAPdf``.
    """
    root = _asn1(trust_anchor())
    reader = _reader(pdf)
    try:
        signatures = list(reader.embedded_regular_signatures)
    except Exception as exc:  # a signature dictionary pyHanko cannot make sense of
        raise NotAPdf("The PDF file's signatures cannot be read.") from exc
    if not signatures:
        return PdfValidation(signed=False, intact=False, valid=False)
    embedded = signatures[0]
    try:
        subject, serial, fingerprint = _certificate_facts(embedded.signer_cert)
    except Exception:
        subject = serial = fingerprint = ""
    try:
        status = _without_running_loop(
            lambda: validate_pdf_signature(
                embedded,
                signer_validation_context=_validation_context(root),
                ts_validation_context=_validation_context(root),
                key_usage_settings=KeyUsageConstraints(key_usage={"non_repudiation"}),
                # Anything appended after the signature already makes the file not intact,
                # so pyHanko's judgement of what was appended (costly on large files) is
                # not needed.
                skip_diff=True,
            )
        )
    except Exception:  # a damaged CMS blob, an unsupported algorithm, ...
        logger.info("unreadable PDF signature", exc_info=True)
        return PdfValidation(
            signed=True,
            intact=False,
            valid=False,
            signer_subject=subject,
            signer_serial=serial,
            signer_fingerprint=fingerprint,
            problems=["unreadable_signature"],
        )
    coverage = _coverage_name(status)
    timestamp = status.timestamp_validity
    timestamp_ok = timestamp is None or (timestamp.intact and timestamp.valid and timestamp.trusted)
    return PdfValidation(
        signed=True,
        intact=bool(status.intact and coverage == "entire_file"),
        valid=bool(status.intact and status.valid and status.trusted and timestamp_ok),
        signer_subject=subject,
        signer_serial=serial,
        signer_fingerprint=fingerprint,
        signing_time=_utc(status.signer_reported_dt),
        timestamp_time=_utc(timestamp.timestamp) if timestamp is not None else None,
        coverage=coverage,
        problems=list(_problems(status)),
    )
