"""The platform's RFC 3161 time-stamping authority."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import subprocess

import pytest
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shanyraq.documents import pki as pki_module
from shanyraq.documents import tsa

pytestmark = pytest.mark.django_db

DIGEST = hashlib.sha256(b"the document").digest()


def _request(
    digest: bytes = DIGEST,
    algorithm: str = "sha256",
    *,
    nonce: int | None = 0x1234_5678_9ABC,
    cert_req: bool = True,
    **extra,
) -> bytes:
    fields = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": algorithm},
            "hashed_message": digest,
        },
        "cert_req": cert_req,
        **extra,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return tsp.TimeStampReq(fields).dump()


class _TimeStampResp(tsp.TimeStampResp):
    # As in RFC 3161: a rejection carries no token (asn1crypto requires one).
    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _response(request: bytes):
    return _TimeStampResp.load(tsa.tsa_respond(request))


def _x509(row) -> x509.Certificate:
    return x509.load_pem_x509_certificate(row.pem.encode())


def _der(row) -> bytes:
    return _x509(row).public_bytes(serialization.Encoding.DER)


def _verify_token(token: cms.ContentInfo, tsa_certificate: x509.Certificate) -> tsp.TSTInfo:
    """Check the token's CMS signature by hand and return its TSTInfo."""
    assert token["content_type"].native == "signed_data"
    signed_data = token["content"]
    assert signed_data["version"].native == "v3"
    assert signed_data["encap_content_info"]["content_type"].native == "tst_info"
    content = signed_data["encap_content_info"]["content"].contents
    (signer_info,) = signed_data["signer_infos"]
    sid = signer_info["sid"].chosen
    assert sid["serial_number"].native == tsa_certificate.serial_number
    assert signer_info["digest_algorithm"]["algorithm"].native == "sha256"
    assert signer_info["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
    attributes = {a["type"].native: a["values"] for a in signer_info["signed_attrs"]}
    assert attributes["content_type"][0].native == "tst_info"
    assert attributes["message_digest"][0].native == hashlib.sha256(content).digest()
    (ess,) = attributes["signing_certificate_v2"][0]["certs"]
    assert (
        ess["cert_hash"].native
        == hashlib.sha256(tsa_certificate.public_bytes(serialization.Encoding.DER)).digest()
    )
    # The signature covers the attributes encoded as a SET OF, not as the [0] field.
    signed = b"\x31" + signer_info["signed_attrs"].dump()[1:]
    tsa_certificate.public_key().verify(
        signer_info["signature"].native, signed, ec.ECDSA(hashes.SHA256())
    )
    return tsp.TSTInfo.load(content)


def test_a_request_is_granted_a_valid_token(pki):
    before = timezone.now()

    response = _response(_request())

    after = timezone.now()
    assert response["status"]["status"].native == "granted"
    tst_info = _verify_token(response["time_stamp_token"], _x509(pki.timestamping))
    assert tst_info["version"].native == "v1"
    assert tst_info["policy"].dotted == tsa.TSA_POLICY_OID
    assert tst_info["policy"].dotted.startswith("2.25.")
    assert tst_info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert tst_info["message_imprint"]["hashed_message"].native == DIGEST
    assert tst_info["nonce"].native == 0x1234_5678_9ABC
    assert tst_info["accuracy"]["seconds"].native == 1
    gen_time = tst_info["gen_time"].native
    assert gen_time.tzinfo is not None
    assert before - dt.timedelta(milliseconds=1) <= gen_time <= after
    assert tst_info["tsa"].name == "directory_name"
    assert tst_info["tsa"].chosen.native == (
        asn1_x509.Certificate.load(_der(pki.timestamping)).subject.native
    )
    assert tst_info["serial_number"].native > 0


def test_cert_req_includes_the_tsa_and_issuing_certificates_but_not_the_root(pki):
    response = _response(_request(cert_req=True))

    certificates = [
        c.chosen.dump() for c in response["time_stamp_token"]["content"]["certificates"]
    ]

    # A SET OF in DER order, whatever the order they were given in.
    assert sorted(certificates) == sorted([_der(pki.timestamping), _der(pki.issuing)])


def test_without_cert_req_no_certificates_are_included(pki):
    response = _response(_request(cert_req=False))

    signed_data = response["time_stamp_token"]["content"]
    assert response["status"]["status"].native == "granted"
    assert not signed_data["certificates"]
    _verify_token(response["time_stamp_token"], _x509(pki.timestamping))


def test_without_a_nonce_none_is_echoed(pki):
    response = _response(_request(nonce=None))

    tst_info = _verify_token(response["time_stamp_token"], _x509(pki.timestamping))
    assert tst_info["nonce"].native is None


@pytest.mark.parametrize(("algorithm", "size"), [("sha384", 48), ("sha512", 64)])
def test_longer_hashes_are_accepted(pki, algorithm, size):
    digest = bytes(range(size))

    response = _response(_request(digest, algorithm))

    tst_info = _verify_token(response["time_stamp_token"], _x509(pki.timestamping))
    assert tst_info["message_imprint"]["hashed_message"].native == digest
    assert tst_info["message_imprint"]["hash_algorithm"]["algorithm"].native == algorithm


def test_the_requested_policy_is_accepted(pki):
    response = _response(_request(req_policy=tsa.TSA_POLICY_OID))

    assert response["status"]["status"].native == "granted"


def test_serial_numbers_are_unique(pki):
    serials = {
        tsp.TSTInfo.load(
            cms.ContentInfo.load(tsa.timestamp_token(DIGEST))["content"]["encap_content_info"][
                "content"
            ].contents
        )["serial_number"].native
        for _ in range(25)
    }

    assert len(serials) == 25


def _rejection(request: bytes) -> tuple[set[str], str]:
    response = _response(request)
    status = response["status"]
    assert status["status"].native == "rejection"
    assert not response["time_stamp_token"]
    return set(status["fail_info"].native), " ".join(status["status_string"].native)


@pytest.mark.parametrize(
    ("request_der", "failure"),
    [
        (b"", "bad_data_format"),
        (b"garbage", "bad_data_format"),
        (b"\x30\x03\x02\x01", "bad_data_format"),  # truncated
        (_request() + b"\x00", "bad_data_format"),  # trailing bytes
        (b"\x30" + b"\x84\x7f\xff\xff\xff", "bad_data_format"),  # absurd length
        (core.Integer(1).dump(), "bad_data_format"),  # not a sequence
        (_request(hashlib.md5(b"x").digest(), "md5"), "bad_alg"),
        (_request(hashlib.sha1(b"x").digest(), "sha1"), "bad_alg"),
        (_request(DIGEST[:20]), "bad_data_format"),
        (_request(req_policy="1.2.3.4"), "unaccepted_policy"),
        (b"\x30" + b"\x82\x20\x00" + b"\x00" * 0x2000, "bad_request"),  # too large
    ],
    ids=[
        "empty",
        "garbage",
        "truncated",
        "trailing",
        "length",
        "integer",
        "md5",
        "sha1",
        "short",
        "policy",
        "large",
    ],
)
def test_bad_requests_are_rejected(pki, request_der, failure):
    failures, text = _rejection(request_der)

    assert failures == {failure}
    assert text


def test_version_2_is_rejected(pki):
    request = tsp.TimeStampReq.load(_request())
    request["version"] = "v2"

    assert _rejection(request.dump())[0] == {"bad_request"}


def test_request_extensions_are_rejected(pki):
    extension = {"extn_id": "1.2.3.4", "critical": True, "extn_value": b"x"}

    assert _rejection(_request(extensions=[extension]))[0] == {"unaccepted_extensions"}


def _sequence(*parts: bytes) -> bytes:
    body = b"".join(parts)
    assert len(body) < 128
    return b"\x30" + bytes([len(body)]) + body


SHA256_OID = b"\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01"


def _request_with_parameters(parameters: bytes) -> bytes:
    imprint = _sequence(_sequence(SHA256_OID, parameters), b"\x04\x20" + DIGEST)
    return _sequence(b"\x02\x01\x01", imprint)


def test_sha256_with_null_parameters_is_granted(pki):
    """Some clients (openssl ts -query among them) send NULL parameters."""
    response = _response(_request_with_parameters(b"\x05\x00"))

    assert response["status"]["status"].native == "granted"


def test_a_digest_with_other_parameters_is_rejected(pki):
    assert _rejection(_request_with_parameters(b"\x02\x01\x01"))[0] == {"bad_data_format"}


def test_without_a_timestamping_certificate_the_answer_is_system_failure(pki):
    pki_module.certificate_revoke(certificate=pki.timestamping, reason="superseded")

    failures, text = _rejection(_request())

    assert failures == {"system_failure"}
    assert "unavailable" in text


def test_a_revoked_issuing_ca_stops_the_tsa(pki):
    pki_module.certificate_revoke(certificate=pki.issuing, reason="ca_compromise")

    assert _rejection(_request())[0] == {"system_failure"}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(pki, data):
    response = _TimeStampResp.load(tsa.tsa_respond(data))

    assert response["status"]["status"].native in {"granted", "rejection"}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_damaged_requests_never_raise(pki, position, value):
    request = bytearray(_request())
    request[position % len(request)] = value

    response = _TimeStampResp.load(tsa.tsa_respond(bytes(request)))

    assert response["status"]["status"].native in {"granted", "rejection"}


def test_timestamp_token_in_process(pki):
    token = cms.ContentInfo.load(tsa.timestamp_token(DIGEST, "sha256", nonce=42))

    tst_info = _verify_token(token, _x509(pki.timestamping))
    assert tst_info["nonce"].native == 42
    assert tst_info["message_imprint"]["hashed_message"].native == DIGEST
    assert sorted(c.chosen.dump() for c in token["content"]["certificates"]) == sorted(
        [_der(pki.timestamping), _der(pki.issuing)]
    )


def test_timestamp_token_refuses_bad_input(pki):
    with pytest.raises(ValueError, match="md5"):
        tsa.timestamp_token(hashlib.md5(b"x").digest(), "md5")
    with pytest.raises(ValueError, match="32 bytes"):
        tsa.timestamp_token(b"short", "sha256")


def test_platform_timestamper_answers_pyhanko_in_process(pki):
    stamper = tsa.PlatformTimeStamper()

    token = asyncio.run(stamper.async_timestamp(DIGEST, "sha256"))

    tst_info = _verify_token(token, _x509(pki.timestamping))
    assert tst_info["message_imprint"]["hashed_message"].native == DIGEST
    assert tst_info["nonce"].native is not None  # pyHanko sends one and checks the echo


def test_openssl_verifies_a_token(pki, tmp_path):
    """An independent implementation accepts the token (openssl ts -verify)."""
    data = b"the document"
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "response.tsr").write_bytes(
        tsa.tsa_respond(_request(hashlib.sha256(data).digest()))
    )
    (tmp_path / "root.pem").write_text(pki.root.pem)
    (tmp_path / "untrusted.pem").write_text(pki.issuing.pem)

    result = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-data",
            str(tmp_path / "data"),
            "-in",
            str(tmp_path / "response.tsr"),
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-untrusted",
            str(tmp_path / "untrusted.pem"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verification: OK" in result.stdout
