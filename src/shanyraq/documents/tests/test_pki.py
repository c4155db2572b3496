"""The platform's PKI: CAs, agency and personal certificates, keys on disk, revocation, CRLs."""

from __future__ import annotations

import asyncio
import datetime as dt
import stat
from io import StringIO
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from pyhanko_certvalidator import CertificateValidator, ValidationContext

from shanyraq.core.errors import ValidationError
from shanyraq.documents import pki as pki_module
from shanyraq.documents import signers
from shanyraq.documents.models import Certificate, CertificateKind
from shanyraq.documents.pki import PkiError
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://shanyraq.example"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.SHANYRAQ_PUBLIC_URL = PUBLIC_URL


def _x509(row: Certificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(row.pem.encode())


def _ext(certificate: x509.Certificate, kind):
    return certificate.extensions.get_extension_for_class(kind)


def _asn1(certificate: x509.Certificate):
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _path_validate(leaf: Certificate, *, key_usage=frozenset(), extended=frozenset()):
    """RFC 5280 path validation (pyhanko-certvalidator) to the platform root only."""
    chain = pki_module.chain_of(leaf)
    context = ValidationContext(
        trust_roots=[_asn1(chain[-1])], allow_fetching=False, revocation_mode="soft-fail"
    )
    validator = CertificateValidator(
        _asn1(chain[0]),
        intermediate_certs=[_asn1(c) for c in chain[1:-1]],
        validation_context=context,
    )
    return asyncio.run(validator.async_validate_usage(set(key_usage), set(extended)))


def _p256_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# ---------------------------------------------------------------------------------------------
# pki_init


def test_init_creates_root_issuing_and_timestamping_once(pki):
    assert pki.created == ("root", "issuing", "timestamping")
    assert Certificate.objects.count() == 3

    again = pki_module.pki_init()

    assert again.created == ()
    assert (again.root.pk, again.issuing.pk, again.timestamping.pk) == (
        pki.root.pk,
        pki.issuing.pk,
        pki.timestamping.pk,
    )
    assert Certificate.objects.count() == 3


def test_rows_match_their_certificates(pki):
    for row, kind in (
        (pki.root, "root"),
        (pki.issuing, "issuing"),
        (pki.timestamping, "timestamping"),
    ):
        certificate = _x509(row)
        der = certificate.public_bytes(serialization.Encoding.DER)
        assert row.kind == kind
        assert row.serial == format(certificate.serial_number, "x")
        assert row.fingerprint == certificate.fingerprint(hashes.SHA256()).hex()
        assert len(row.fingerprint) == 64 and der
        assert row.subject == certificate.subject.rfc4514_string()
        assert row.not_before == certificate.not_valid_before_utc
        assert row.not_after == certificate.not_valid_after_utc
        assert row.key_name and row.revoked_at is None
    assert pki.root.issuer is None
    assert pki.issuing.issuer == pki.root
    assert pki.timestamping.issuer == pki.issuing
    assert pki.root.subject == "CN=Shanyraq Root CA,O=Shanyraq"


def test_root_is_a_self_signed_ca(pki):
    root = _x509(pki.root)

    root.verify_directly_issued_by(root)
    assert root.version == x509.Version.v3
    basic = _ext(root, x509.BasicConstraints)
    assert basic.critical and basic.value.ca is True
    usage = _ext(root, x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    ski = _ext(root, x509.SubjectKeyIdentifier).value
    assert _ext(root, x509.AuthorityKeyIdentifier).value.key_identifier == ski.digest
    lifetime = root.not_valid_after_utc - root.not_valid_before_utc
    assert dt.timedelta(days=365 * 20) <= lifetime <= dt.timedelta(days=365 * 20 + 6)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    with pytest.raises(x509.ExtensionNotFound):
        _ext(root, x509.CRLDistributionPoints)


def test_issuing_ca_is_signed_by_the_root_with_path_length_zero(pki):
    root, issuing = _x509(pki.root), _x509(pki.issuing)

    issuing.verify_directly_issued_by(root)
    basic = _ext(issuing, x509.BasicConstraints)
    assert basic.critical and basic.value.ca is True and basic.value.path_length == 0
    usage = _ext(issuing, x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert (
        _ext(issuing, x509.AuthorityKeyIdentifier).value.key_identifier
        == _ext(root, x509.SubjectKeyIdentifier).value.digest
    )
    lifetime = issuing.not_valid_after_utc - issuing.not_valid_before_utc
    assert dt.timedelta(days=365 * 10) <= lifetime <= dt.timedelta(days=365 * 10 + 3)
    points = _ext(issuing, x509.CRLDistributionPoints).value
    assert [name.value for name in points[0].full_name] == [
        f"{PUBLIC_URL}/pki/crl/{pki.root.serial}.crl"
    ]
    access = _ext(issuing, x509.AuthorityInformationAccess).value
    assert [(a.access_method, a.access_location.value) for a in access] == [
        (
            x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
            f"{PUBLIC_URL}/pki/ca/{pki.root.serial}.crt",
        )
    ]


def test_timestamping_certificate(pki):
    issuing, tsa = _x509(pki.issuing), _x509(pki.timestamping)

    tsa.verify_directly_issued_by(issuing)
    eku = _ext(tsa, x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    usage = _ext(tsa, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not usage.value.key_cert_sign
    assert _ext(tsa, x509.BasicConstraints).value.ca is False
    points = _ext(tsa, x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == f"{PUBLIC_URL}/pki/crl/{pki.issuing.serial}.crl"
    assert tsa.not_valid_after_utc <= issuing.not_valid_after_utc
    assert tsa.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Shanyraq Time-Stamping Authority"
    )
    path = _path_validate(pki.timestamping, extended={"time_stamping"})
    assert len(path) == 3


def test_organisation_comes_from_the_argument_or_settings(db, settings, tmp_path):
    settings.PKI_DIR = tmp_path
    settings.PKI_ORGANISATION = "Digital Government of Example"

    state = pki_module.pki_init()

    assert state.root.subject == (
        "CN=Digital Government of Example Root CA,O=Digital Government of Example"
    )
    assert "O=Digital Government of Example" in state.issuing.subject


def test_init_refuses_an_empty_passphrase(db, settings, tmp_path):
    settings.PKI_DIR = tmp_path / "pki"
    settings.PKI_PASSPHRASE = ""

    with pytest.raises(PkiError, match="PKI_PASSPHRASE"):
        pki_module.pki_init()

    assert Certificate.objects.count() == 0
    assert not (tmp_path / "pki").exists()


def test_an_expired_timestamping_certificate_is_replaced(pki):
    Certificate.objects.filter(pk=pki.timestamping.pk).update(
        not_after=timezone.now() - dt.timedelta(seconds=1)
    )

    state = pki_module.pki_init()

    assert state.created == ("timestamping",)
    assert state.root.pk == pki.root.pk and state.issuing.pk == pki.issuing.pk
    assert state.timestamping.pk != pki.timestamping.pk


# ---------------------------------------------------------------------------------------------
# Keys on disk


def test_private_keys_are_encrypted_files_only_the_owner_can_read(pki, settings):
    directory = Path(settings.PKI_DIR)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    names = sorted(p.name for p in directory.iterdir())
    assert names == sorted(row.key_name for row in (pki.root, pki.issuing, pki.timestamping))
    for row in (pki.root, pki.issuing, pki.timestamping):
        path = directory / row.key_name
        data = path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(data, password=None)
        with pytest.raises(ValueError):
            serialization.load_pem_private_key(data, password=b"wrong passphrase")
        key = serialization.load_pem_private_key(data, password=b"test-only-passphrase")
        assert key.public_key() == _x509(row).public_key()


def test_root_and_issuing_keys_are_p384_end_entities_p256(pki):
    assert _x509(pki.root).public_key().curve.name == "secp384r1"
    assert _x509(pki.issuing).public_key().curve.name == "secp384r1"
    assert _x509(pki.timestamping).public_key().curve.name == "secp256r1"


def test_a_wrong_passphrase_is_refused_when_a_key_is_loaded(pki, settings):
    settings.PKI_PASSPHRASE = "not the one"
    signers._keys.clear()

    with pytest.raises(PkiError, match="wrong PKI_PASSPHRASE"):
        signers.load_private_key(pki.timestamping.key_name)


def test_key_names_cannot_leave_the_key_directory(pki):
    for name in ("../etc/passwd", "/etc/passwd", ".hidden", ""):
        with pytest.raises(PkiError):
            signers.key_path(name)


# ---------------------------------------------------------------------------------------------
# Agency certificates and signers


def test_agency_certificate(pki, agency):
    row = pki_module.agency_signing_certificate(agency)
    certificate = _x509(row)

    assert row.kind == CertificateKind.DOCUMENT_SIGNING
    assert row.agency == agency and row.issuer == pki.issuing
    assert row.subject == "CN=justice document signing,OU=justice,O=Agency justice eng"
    certificate.verify_directly_issued_by(_x509(pki.issuing))
    usage = _ext(certificate, x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert _ext(certificate, x509.BasicConstraints).value.ca is False
    points = _ext(certificate, x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == f"{PUBLIC_URL}/pki/crl/{pki.issuing.serial}.crl"
    access = _ext(certificate, x509.AuthorityInformationAccess).value
    assert access[0].access_location.value == f"{PUBLIC_URL}/pki/ca/{pki.issuing.serial}.crt"
    assert certificate.public_key().curve.name == "secp256r1"
    now = timezone.now()
    assert row.not_before <= now < row.not_after
    assert row.not_after - row.not_before >= dt.timedelta(days=3 * 365)
    assert len(_path_validate(row, key_usage={"digital_signature", "non_repudiation"})) == 3


def test_agency_certificate_is_issued_once(pki, agency, django_assert_num_queries):
    first = pki_module.agency_signing_certificate(agency)

    # savepoint, lock the agency, find the certificate, release
    with django_assert_num_queries(4):
        again = pki_module.agency_signing_certificate(agency)

    assert again.pk == first.pk
    assert Certificate.objects.filter(kind="document_signing").count() == 1


def test_a_revoked_agency_certificate_is_replaced(pki, agency):
    first = pki_module.agency_signing_certificate(agency)
    pki_module.certificate_revoke(certificate=first, reason="key_compromise")

    second = pki_module.agency_signing_certificate(agency)

    assert second.pk != first.pk
    assert second.revoked_at is None
    assert pki_module.agency_signing_certificate(agency).pk == second.pk


def test_agencies_get_certificates_of_their_own(pki, agency, other_agency):
    mine = pki_module.agency_signing_certificate(agency)
    theirs = pki_module.agency_signing_certificate(other_agency)

    assert mine.pk != theirs.pk
    assert "OU=health" in theirs.subject


def test_agency_certificate_needs_an_initialised_pki(db, agency):
    with pytest.raises(PkiError, match="pki init"):
        pki_module.agency_signing_certificate(agency)

    assert Certificate.objects.count() == 0


def test_chain_of_and_trust_anchor(agency_certificate, pki):
    chain = pki_module.chain_of(agency_certificate)

    assert [c.serial_number for c in chain] == [
        int(agency_certificate.serial, 16),
        int(pki.issuing.serial, 16),
        int(pki.root.serial, 16),
    ]
    assert pki_module.trust_anchor() == _x509(pki.root)
    assert pki_module.certificate_x509(pki.root) is pki_module.certificate_x509(pki.root)


def test_a_tampered_pem_is_refused(pki):
    other = _x509(pki.issuing).public_bytes(serialization.Encoding.PEM).decode()
    forged = Certificate(serial="1", fingerprint="0" * 64, pem=other)

    with pytest.raises(PkiError, match="fingerprint"):
        pki_module.certificate_x509(forged)


def test_file_signer_signs_with_the_certificate_key(agency_certificate):
    signer = signers.signer_for(agency_certificate)

    signature = signer.sign(b"payload", "sha256")

    assert isinstance(signer, signers.FileSigner)
    assert signer.certificate == _x509(agency_certificate)
    assert len(signer.chain) == 3
    signer.certificate.public_key().verify(signature, b"payload", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(ValueError, match="md5"):
        signer.sign(b"payload", "md5")


def test_keys_are_kept_loaded(agency_certificate, settings):
    signer = signers.signer_for(agency_certificate)
    signer.sign(b"first", "sha256")
    (Path(settings.PKI_DIR) / agency_certificate.key_name).unlink()

    signature = signer.sign(b"second", "sha256")

    signer.certificate.public_key().verify(signature, b"second", ec.ECDSA(hashes.SHA256()))


class CountingSigner(signers.FileSigner):
    made = 0

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        CountingSigner.made += 1


def test_the_signer_class_comes_from_settings(agency_certificate, settings):
    settings.DOCUMENT_SIGNER_CLASS = f"{__name__}.CountingSigner"
    CountingSigner.made = 0

    signer = signers.signer_for(agency_certificate)

    assert isinstance(signer, CountingSigner)
    assert CountingSigner.made == 1


# ---------------------------------------------------------------------------------------------
# Personal certificates


def test_personal_certificate(pki, citizen):
    public_key_pem = _p256_pem()

    row = pki_module.personal_certificate_issue(holder=citizen, public_key_pem=public_key_pem)
    certificate = _x509(row)

    assert row.kind == CertificateKind.PERSONAL
    assert row.holder == citizen and row.agency is None
    assert row.key_name == ""
    assert certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == (
        f"IIN{citizen.iin}"
    )
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Нұрланова Айгерім"
    )
    assert certificate.public_key() == serialization.load_pem_public_key(public_key_pem.encode())
    usage = _ext(certificate, x509.KeyUsage).value
    assert usage.digital_signature and not usage.content_commitment and not usage.key_cert_sign
    lifetime = row.not_after - row.not_before
    assert dt.timedelta(days=365) <= lifetime <= dt.timedelta(days=365, minutes=6)
    certificate.verify_directly_issued_by(_x509(pki.issuing))
    assert len(_path_validate(row, key_usage={"digital_signature"})) == 3
    with pytest.raises(PkiError, match="does not hold"):
        signers.signer_for(row)


def test_personal_certificate_without_a_name_uses_the_iin(pki):
    holder = factories.UserFactory(first_name="", last_name="")

    row = pki_module.personal_certificate_issue(holder=holder, public_key_pem=_p256_pem())

    assert row.subject == f"CN={holder.iin},2.5.4.5=IIN{holder.iin}"


def _refused(holder, public_key_pem, code):
    with pytest.raises(ValidationError) as caught:
        pki_module.personal_certificate_issue(holder=holder, public_key_pem=public_key_pem)
    assert caught.value.code == code
    assert Certificate.objects.filter(kind="personal").count() == 0
    return caught.value


def test_personal_certificate_needs_an_iin(pki, clerk):
    error = _refused(clerk, _p256_pem(), "no_iin")

    assert str(error.message) == (
        "A personal signing certificate can only be issued to a person with an IIN."
    )


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\n" + "A" * 10_000 + "\n-----END PUBLIC KEY-----\n",
        "ключ",
    ],
)
def test_personal_certificate_refuses_garbage(pki, citizen, garbage):
    error = _refused(citizen, garbage, "invalid_public_key")

    assert error.field == "public_key_pem"
    assert str(error.message) == "The public key could not be read. Send it in PEM format."


@pytest.mark.parametrize(
    "key",
    [
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP256K1()),
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
    ],
    ids=["p384", "secp256k1", "rsa"],
)
def test_personal_certificate_refuses_other_keys(pki, citizen, key):
    pem = (
        key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )

    error = _refused(citizen, pem, "unsupported_public_key")

    assert str(error.message) == "The key must be an ECDSA key on the P-256 curve."


# ---------------------------------------------------------------------------------------------
# Revocation and CRLs


def test_revoke_records_time_and_reason(agency_certificate):
    before = timezone.now()

    row = pki_module.certificate_revoke(certificate=agency_certificate, reason="key_compromise")

    row.refresh_from_db()
    assert row.revocation_reason == "key_compromise"
    assert before <= row.revoked_at <= timezone.now()


def test_revoking_twice_keeps_the_first_revocation(agency_certificate):
    first = pki_module.certificate_revoke(certificate=agency_certificate, reason="superseded")

    again = pki_module.certificate_revoke(certificate=agency_certificate, reason="key_compromise")

    assert again.revoked_at == first.revoked_at
    assert again.revocation_reason == "superseded"
    agency_certificate.refresh_from_db()
    assert (agency_certificate.revoked_at, agency_certificate.revocation_reason) == (
        first.revoked_at,
        "superseded",
    )


def test_the_root_cannot_be_revoked(pki):
    with pytest.raises(ValidationError) as caught:
        pki_module.certificate_revoke(certificate=pki.root, reason="key_compromise")

    assert caught.value.code == "root_not_revocable"
    assert str(caught.value.message) == "The root certificate cannot be revoked."
    pki.root.refresh_from_db()
    assert pki.root.revoked_at is None and pki.root.revocation_reason == ""


@pytest.mark.parametrize("reason", ["", "certificate_hold", "remove_from_crl", "stolen"])
def test_unknown_reasons_are_refused(agency_certificate, reason):
    with pytest.raises(ValidationError) as caught:
        pki_module.certificate_revoke(certificate=agency_certificate, reason=reason)

    assert caught.value.code == "invalid_revocation_reason"
    assert caught.value.field == "reason"
    agency_certificate.refresh_from_db()
    assert agency_certificate.revoked_at is None


def test_crl_lists_revoked_certificates_with_reasons(pki, agency, other_agency):
    compromised = pki_module.agency_signing_certificate(agency)
    retired = pki_module.agency_signing_certificate(other_agency)
    kept = pki_module.personal_certificate_issue(
        holder=factories.UserFactory(), public_key_pem=_p256_pem()
    )
    pki_module.certificate_revoke(certificate=compromised, reason="key_compromise")
    pki_module.certificate_revoke(certificate=retired, reason="unspecified")
    compromised.refresh_from_db()

    crl = x509.load_der_x509_crl(pki_module.crl_der(pki.issuing))

    assert crl.is_signature_valid(_x509(pki.issuing).public_key())
    assert crl.issuer == _x509(pki.issuing).subject
    assert crl.next_update_utc - crl.last_update_utc == dt.timedelta(days=1)
    assert abs(crl.last_update_utc - timezone.now()) < dt.timedelta(minutes=1)
    assert len(crl) == 2
    entry = crl.get_revoked_certificate_by_serial_number(int(compromised.serial, 16))
    assert entry is not None
    assert entry.revocation_date_utc == compromised.revoked_at.replace(microsecond=0)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    unspecified = crl.get_revoked_certificate_by_serial_number(int(retired.serial, 16))
    assert unspecified is not None and len(unspecified.extensions) == 0
    assert crl.get_revoked_certificate_by_serial_number(int(kept.serial, 16)) is None
    assert (
        crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        == _ext(_x509(pki.issuing), x509.SubjectKeyIdentifier).value.digest
    )


def test_crl_numbers_increase(pki):
    def number(issuer):
        crl = x509.load_der_x509_crl(pki_module.crl_der(issuer))
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    first = number(pki.root)
    second = number(pki.root)

    assert second > first


def test_root_crl_lists_a_revoked_issuing_ca(pki):
    pki_module.certificate_revoke(certificate=pki.issuing, reason="ca_compromise")

    crl = x509.load_der_x509_crl(pki_module.crl_der(pki.root))

    assert crl.is_signature_valid(_x509(pki.root).public_key())
    entry = crl.get_revoked_certificate_by_serial_number(int(pki.issuing.serial, 16))
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.ca_compromise
    )


def test_only_cas_publish_crls(agency_certificate, pki):
    with pytest.raises(PkiError, match="not a certification authority"):
        pki_module.crl_der(agency_certificate)
    with pytest.raises(PkiError):
        pki_module.crl_der(pki.timestamping)


def test_is_revoked(agency_certificate, pki):
    certificate = _x509(agency_certificate)
    assert pki_module.is_revoked(certificate) is None

    pki_module.certificate_revoke(certificate=agency_certificate, reason="superseded")

    assert pki_module.is_revoked(certificate) == agency_certificate


def test_is_revoked_sees_a_revoked_issuer(agency_certificate, pki):
    pki_module.certificate_revoke(certificate=pki.issuing, reason="ca_compromise")

    assert pki_module.is_revoked(_x509(agency_certificate)) == pki.issuing


def test_is_revoked_ignores_certificates_it_did_not_issue(agency_certificate):
    pki_module.certificate_revoke(certificate=agency_certificate, reason="superseded")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stranger")])
    now = timezone.now()
    stranger = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int(agency_certificate.serial, 16))  # the same serial
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )

    assert pki_module.is_revoked(stranger) is None


# ---------------------------------------------------------------------------------------------
# The command


def _run(*args: str) -> str:
    out = StringIO()
    call_command("pki", *args, stdout=out)
    return out.getvalue()


def test_command_init_and_status(db, settings, tmp_path):
    settings.PKI_DIR = tmp_path / "pki"

    created = _run("init")
    again = _run("init")
    status = _run("status")

    assert [line.split("\t")[:2] for line in created.splitlines()] == [
        ["created", "root"],
        ["created", "issuing"],
        ["created", "timestamping"],
    ]
    assert [line.split("\t")[:2] for line in again.splitlines()] == [
        ["exists", "root"],
        ["exists", "issuing"],
        ["exists", "timestamping"],
    ]
    rows = [line.split("\t") for line in status.splitlines()]
    assert [row[0] for row in rows] == ["root", "issuing", "timestamping"]
    root = Certificate.objects.get(kind="root")
    assert rows[0] == [
        "root",
        root.serial,
        "CN=Shanyraq Root CA,O=Shanyraq",
        f"{root.not_after:%Y-%m-%d}",
        "-",
    ]


def test_command_init_without_passphrase_fails(db, settings, tmp_path):
    settings.PKI_DIR = tmp_path
    settings.PKI_PASSPHRASE = ""

    with pytest.raises(CommandError, match="PKI_PASSPHRASE") as caught:
        _run("init")

    assert caught.value.returncode == 1
    assert Certificate.objects.count() == 0


def test_command_status_without_a_pki_fails(db):
    with pytest.raises(CommandError) as caught:
        _run("status")

    assert caught.value.returncode == 1


def test_command_agency(pki, agency):
    printed = _run("agency", "justice")

    row = Certificate.objects.get(kind="document_signing", agency=agency)
    assert printed.splitlines()[0].split("\t")[:3] == ["document_signing", row.serial, row.subject]
    assert row.pem.strip() in printed
    assert _run("agency", "justice") == printed


def test_command_agency_unknown(pki):
    with pytest.raises(CommandError) as caught:
        _run("agency", "no-such-agency")

    assert caught.value.returncode == 2
    assert Certificate.objects.filter(kind="document_signing").count() == 0


def test_command_revoke(agency_certificate):
    printed = _run("revoke", agency_certificate.serial.upper(), "--reason", "superseded")

    agency_certificate.refresh_from_db()
    assert agency_certificate.revocation_reason == "superseded"
    assert printed.startswith("Revoked: document_signing")
    assert _run("revoke", agency_certificate.serial, "--reason", "key_compromise").startswith(
        "Already revoked"
    )


def test_command_revoke_refusals(pki):
    with pytest.raises(CommandError) as root:
        _run("revoke", pki.root.serial, "--reason", "key_compromise")
    with pytest.raises(CommandError) as reason:
        _run("revoke", pki.issuing.serial, "--reason", "stolen")
    with pytest.raises(CommandError) as serial:
        _run("revoke", "abc123", "--reason", "superseded")

    assert (root.value.returncode, reason.value.returncode, serial.value.returncode) == (1, 2, 2)
    assert Certificate.objects.filter(revoked_at__isnull=False).count() == 0


def test_command_crl(agency_certificate, pki, tmp_path):
    pki_module.certificate_revoke(certificate=agency_certificate, reason="key_compromise")
    out = tmp_path / "issuing.crl"

    _run("crl", pki.issuing.serial, "--out", str(out))

    crl = x509.load_der_x509_crl(out.read_bytes())
    assert crl.is_signature_valid(_x509(pki.issuing).public_key())
    assert crl.get_revoked_certificate_by_serial_number(int(agency_certificate.serial, 16))
    with pytest.raises(CommandError) as caught:
        _run("crl", agency_certificate.serial, "--out", str(out))
    assert caught.value.returncode == 2
