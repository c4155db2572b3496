"""PAdES signatures: what sign_pdf makes, and what validate_pdf (and Poppler's pdfsig) say."""

from __future__ import annotations

import datetime as dt
import io
import random
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import timezone
from fpdf import FPDF
from pyhanko.pdf_utils.reader import PdfFileReader

from shanyraq.documents import pki as pki_module
from shanyraq.documents import signers
from shanyraq.documents.pades import NotAPdf, PdfValidation, sign_pdf, validate_pdf

pytestmark = pytest.mark.django_db

# The independent validator: Poppler's pdfsig (Debian poppler-utils, installed by .ci/run).
PDFSIG = "/usr/bin/pdfsig"


def _pdf(text: str = "x", *, compress: bool = True) -> bytes:
    pdf = FPDF()
    pdf.set_compression(compress)
    pdf.add_page()
    pdf.set_font("helvetica")
    pdf.cell(text=text)
    return bytes(pdf.output())


def _pdfsig(path: Path) -> str:
    result = subprocess.run([PDFSIG, str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


@pytest.fixture
def signer(agency_certificate) -> signers.Signer:
    return signers.signer_for(agency_certificate)


@pytest.fixture
def signed(signer) -> bytes:
    return sign_pdf(_pdf("Certificate of no criminal record"), signer=signer, reason="KZ-0001")


# ---------------------------------------------------------------------------------------------
# A good signature


def test_pdfsig_accepts_the_signature(signed, tmp_path):
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)

    report = _pdfsig(path)

    assert "Signature is Valid." in report
    assert "Total document signed" in report
    assert "ETSI.CAdES.detached" in report
    assert "Signer full Distinguished Name: CN=justice document signing,OU=justice" in report
    assert "SHA-256" in report


def test_validate_pdf_reports_the_agency_and_the_timestamp(agency_certificate, signer):
    before = timezone.now()
    data = sign_pdf(_pdf(), signer=signer)
    after = timezone.now()

    result = validate_pdf(data)

    assert result == PdfValidation(
        signed=True,
        intact=True,
        valid=True,
        signer_subject=agency_certificate.subject,
        signer_serial=agency_certificate.serial,
        signer_fingerprint=agency_certificate.fingerprint,
        signing_time=result.signing_time,
        timestamp_time=result.timestamp_time,
        coverage="entire_file",
        problems=[],
    )
    assert result.signer_subject == "CN=justice document signing,OU=justice,O=Agency justice eng"
    assert result.timestamp_time is not None and result.signing_time is not None
    assert result.timestamp_time.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(milliseconds=1) <= result.timestamp_time <= after
    # /M has whole seconds
    assert before.replace(microsecond=0) <= result.signing_time <= after


def test_the_signature_dictionary_and_the_cms(signed, pki):
    reader = PdfFileReader(io.BytesIO(signed))
    (embedded,) = reader.embedded_signatures

    assert embedded.field_name == "Signature1"
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert embedded.sig_object["/Reason"] == "KZ-0001"
    signed_data = embedded.signed_data
    chain = {c.chosen.dump() for c in signed_data["certificates"]}
    assert {
        x509.load_pem_x509_certificate(row.pem.encode()).public_bytes(serialization.Encoding.DER)
        for row in (pki.root, pki.issuing)
    } <= chain
    attributes = {a["type"].native for a in embedded.signer_info["signed_attrs"]}
    # PAdES: the signing certificate is bound, the CMS signing-time is absent.
    assert attributes == {"content_type", "message_digest", "signing_certificate_v2"}
    unsigned = {a["type"].native for a in embedded.signer_info["unsigned_attrs"]}
    assert unsigned == {"signature_time_stamp_token"}


def test_reason_location_and_name(signer):
    data = sign_pdf(_pdf(), signer=signer, reason="Decision 17", location="Astana", name="MoJ")

    (embedded,) = PdfFileReader(io.BytesIO(data)).embedded_signatures
    assert embedded.sig_object["/Reason"] == "Decision 17"
    assert embedded.sig_object["/Location"] == "Astana"
    assert embedded.sig_object["/Name"] == "MoJ"


class RecordingSigner:
    """A stand-in for a hardware signer: the key is elsewhere, only ``sign`` is called."""

    def __init__(self, inner: signers.Signer) -> None:
        self.certificate = inner.certificate
        self.chain = inner.chain
        self.inner = inner
        self.calls: list[tuple[int, str]] = []

    def sign(self, data: bytes, algorithm: str) -> bytes:
        self.calls.append((len(data), algorithm))
        return self.inner.sign(data, algorithm)


def test_the_raw_signature_comes_from_our_signer_once(signer):
    recording = RecordingSigner(signer)

    data = sign_pdf(_pdf(), signer=recording)

    assert len(recording.calls) == 1
    assert recording.calls[0][1] == "sha256"
    assert validate_pdf(data).valid


def test_a_revoked_certificate_still_validates_here_and_is_revoked_for_callers(
    agency_certificate, signed
):
    pki_module.certificate_revoke(certificate=agency_certificate, reason="key_compromise")

    result = validate_pdf(signed)

    assert result.valid and result.intact
    certificate = x509.load_pem_x509_certificate(agency_certificate.pem.encode())
    assert pki_module.is_revoked(certificate) == agency_certificate


# ---------------------------------------------------------------------------------------------
# Changed files


def _flip_text(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def test_a_changed_byte_is_caught(signer, tmp_path):
    data = sign_pdf(_pdf("Amount: 1000", compress=False), signer=signer)
    changed = _flip_text(data, b"Amount: 1000", b"Amount: 9000")
    path = tmp_path / "changed.pdf"
    path.write_bytes(changed)

    report = _pdfsig(path)
    result = validate_pdf(changed)

    assert "Signature is Valid." not in report
    assert "Digest Mismatch" in report
    assert result.signed is True
    assert result.intact is False
    assert result.valid is False
    assert "modified" in result.problems


def test_a_changed_byte_in_the_signature_is_caught(signed):
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    end = signed.index(b">", start)
    blob = bytes.fromhex(signed[start:end].decode())
    value = cms.ContentInfo.load(blob.rstrip(b"\x00"))["content"]["signer_infos"][0]["signature"]
    # One hex digit inside the signature value itself, wherever the CMS blob holds it.
    position = start + 2 * blob.index(value.native) + 10
    changed = bytearray(signed)
    changed[position] = ord("0") if changed[position] != ord("0") else ord("1")

    result = validate_pdf(bytes(changed))

    assert result.signed is True
    assert result.valid is False


def test_an_update_appended_after_signing_is_reported(signer, signed):
    again = sign_pdf(signed, signer=signer)

    result = validate_pdf(again)

    assert result.signed is True
    assert result.intact is False
    assert result.valid is True  # the first signature itself is sound
    assert result.coverage == "entire_revision"
    assert result.problems == ["modified_after_signing"]
    names = [s.field_name for s in PdfFileReader(io.BytesIO(again)).embedded_signatures]
    assert names == ["Signature1", "Signature2"]


# ---------------------------------------------------------------------------------------------
# Another root


class ForeignSigner:
    """A signer whose certificate chains to a root of its own, not the platform's."""

    def __init__(self) -> None:
        now = timezone.now()
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Shanyraq"),
                x509.NameAttribute(NameOID.COMMON_NAME, "Shanyraq Root CA"),  # a look-alike
            ]
        )
        root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
            )
            .sign(root_key, hashes.SHA256())
        )
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Agency justice eng"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "justice document signing"),
                    ]
                )
            )
            .issuer_name(root_name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                critical=True,
            )
            .sign(root_key, hashes.SHA256())
        )
        self.chain = [self.certificate, root]

    def sign(self, data: bytes, algorithm: str) -> bytes:
        assert algorithm == "sha256"
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))


def test_a_signature_under_another_root_is_not_valid(pki, tmp_path):
    foreign = ForeignSigner()
    data = sign_pdf(_pdf(), signer=foreign)
    path = tmp_path / "foreign.pdf"
    path.write_bytes(data)

    result = validate_pdf(data)

    # Cryptographically fine (pdfsig agrees) but not the platform's.
    assert "Signature is Valid." in _pdfsig(path)
    assert result.signed is True
    assert result.intact is True
    assert result.valid is False
    assert result.problems == ["untrusted"]
    assert result.signer_subject == "CN=justice document signing,O=Agency justice eng"
    assert result.signer_serial == format(foreign.certificate.serial_number, "x")


def test_a_certificate_without_non_repudiation_is_not_valid_for_documents(pki, citizen):
    """A personal certificate of the platform is not an agency's document seal."""
    key = ec.generate_private_key(ec.SECP256R1())
    row = pki_module.personal_certificate_issue(
        holder=citizen,
        public_key_pem=key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )

    class Personal:
        certificate = x509.load_pem_x509_certificate(row.pem.encode())
        chain = pki_module.chain_of(row)

        def sign(self, data: bytes, algorithm: str) -> bytes:
            return key.sign(data, ec.ECDSA(hashes.SHA256()))

    result = validate_pdf(sign_pdf(_pdf(), signer=Personal()))

    assert result.intact is True
    assert result.valid is False


# ---------------------------------------------------------------------------------------------
# Not a (whole) PDF


def test_an_unsigned_pdf_is_not_signed(pki):
    result = validate_pdf(_pdf())

    assert result == PdfValidation(signed=False, intact=False, valid=False)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"PK\x03\x04 a zip", b"%PDF-1.7\n", b"%PDF-1.4\n" + b"\x00" * 5000],
    ids=["empty", "text", "zip", "header-only", "zeros"],
)
def test_bytes_that_are_not_a_pdf(pki, data):
    with pytest.raises(NotAPdf):
        validate_pdf(data)


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.9, 0.99])
def test_a_truncated_pdf(pki, signed, fraction):
    with pytest.raises(NotAPdf):
        validate_pdf(signed[: int(len(signed) * fraction)])


def test_signing_something_that_is_not_a_pdf(signer):
    with pytest.raises(NotAPdf):
        sign_pdf(b"not a pdf", signer=signer)


def test_damaged_files_give_an_answer_or_not_a_pdf(signed):
    """Single-byte damage anywhere: never an unexpected exception, never a valid result
    unless the byte is outside what the signature covers (it covers everything but the
    signature value's padding)."""
    chooser = random.Random(20250601)
    for _ in range(40):
        position = chooser.randrange(len(signed))
        damaged = bytearray(signed)
        damaged[position] = (damaged[position] + chooser.randrange(1, 256)) % 256
        try:
            result = validate_pdf(bytes(damaged))
        except NotAPdf:
            continue
        assert isinstance(result, PdfValidation)
        if result.valid and result.intact:
            start = signed.index(b"/Contents <") + len(b"/Contents <")
            end = signed.index(b">", start)
            assert start <= position < end
