"""The platform's RFC 3161 time-stamping authority.

A time-stamp token is a CMS ``SignedData`` over a ``TSTInfo``: the hash it was asked to
stamp, the time (UTC, to the millisecond, accurate to a second), a serial number and the
requester's nonce, signed with the time-stamping certificate (ExtendedKeyUsage
timeStamping). Signing a PDF asks for one in process (``PlatformTimeStamper``), which makes
the signature PAdES B-T; ``tsa_respond`` answers the same requests in their DER form for
an HTTP endpoint.

Tokens are issued under the policy ``TSA_POLICY_OID``. The platform's private OID arc is
``2.25.12055731577667997990768456031669587630``: an OID made from a UUID under ITU-T X.667
(``2.25``), which needs no registration and no one else can hold. Beneath it ``.1`` is for
time-stamping, and ``.1.1`` is this policy: times from the host's clock, which operators
keep synchronised (NTP), stated accurate to one second.

Serial numbers are 159-bit random integers, unique with overwhelming probability without
a shared counter between processes (RFC 3161 allows any unique integer up to 160 bits).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import Any, Final

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.utils import timezone
from pyhanko.sign.timestamps.api import TimeStamper

from .models import Certificate, CertificateKind
from .signers import PkiError, Signer, signer_class_path, signer_for

__all__ = [
    "PLATFORM_OID_ARC",
    "TSA_POLICY_OID",
    "PlatformTimeStamper",
    "TimeStampingAuthority",
    "current_authority",
    "timestamp_token",
    "tsa_respond",
]

logger = logging.getLogger(__name__)

PLATFORM_OID_ARC: Final = "2.25.12055731577667997990768456031669587630"
TSA_POLICY_OID: Final = f"{PLATFORM_OID_ARC}.1.1"

# Hashes a requester may have stamped, with their lengths in bytes.
SUPPORTED_HASHES: Final[dict[str, int]] = {"sha256": 32, "sha384": 48, "sha512": 64}
# A request is a hash, a nonce and a few flags: well under a kilobyte. Anything much larger
# is refused before it is parsed.
MAX_REQUEST_BYTES: Final = 4096
# The digest the TSA itself signs with (the signed attributes), whatever was stamped.
_SIGNING_HASH: Final = "sha256"


class _TimeStampResp(tsp.TimeStampResp):
    # asn1crypto marks the token as required; RFC 3161 leaves it out of a rejection.
    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class _Refused(Exception):
    def __init__(self, failure: str, text: str) -> None:
        super().__init__(text)
        self.failure = failure
        self.text = text


@dataclass(frozen=True)
class TimeStampingAuthority:
    """The time-stamping certificate and its signer, resolved once so that tokens can be made
    without the database (pyHanko asks for them from inside its event loop).

    The parts of a token that never change are kept DER-encoded: asn1crypto re-encodes a
    structure built from Python values on every dump, which costs more than the signature.
    """

    certificate: x509.Certificate
    signer: Signer
    signature_algorithm: str
    certificates_der: tuple[bytes, ...]  # the TSA's certificate, then its issuer's
    sid_der: bytes  # SignerIdentifier (issuer and serial number)
    name_der: bytes  # the TSA's name as a GeneralName, for TSTInfo.tsa
    attributes_der: tuple[bytes, ...]  # the contentType and signingCertificateV2 attributes


def _asn1(certificate: x509.Certificate) -> Any:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


# Authorities by certificate fingerprint and signer class: building one costs more than
# stamping, and a certificate's authority never changes.
_authorities: dict[tuple[str, str], TimeStampingAuthority] = {}
_authorities_lock = threading.Lock()


def current_authority() -> TimeStampingAuthority:
    """The platform's current time-stamping certificate with a signer for it.

    One query per call, so that a revoked or replaced certificate stops being used at once.
    """
    now = timezone.now()
    row = (
        Certificate.objects.filter(
            kind=CertificateKind.TIMESTAMPING,
            revoked_at__isnull=True,
            not_before__lte=now,
            not_after__gt=now,
        )
        .exclude(issuer__revoked_at__isnull=False)
        .order_by("-not_after", "-pk")
        .first()
    )
    if row is None:
        raise PkiError("There is no valid time-stamping certificate: run `shanyraq pki init`.")
    cache_key = (row.fingerprint, signer_class_path())
    authority = _authorities.get(cache_key)
    if authority is None:
        authority = _authority(row)
        with _authorities_lock:
            if len(_authorities) > 64:
                _authorities.clear()
            _authorities[cache_key] = authority
    return authority


def _authority(row: Certificate) -> TimeStampingAuthority:
    signer = signer_for(row)
    public_key = signer.certificate.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        algorithm = f"{_SIGNING_HASH}_ecdsa"
    elif isinstance(public_key, rsa.RSAPublicKey):
        algorithm = f"{_SIGNING_HASH}_rsa"
    else:
        raise PkiError("The time-stamping key is of a kind the platform does not use.")
    chain = [_asn1(c) for c in signer.chain]
    tsa_cert = chain[0]
    # The root is left out of tokens: a verifier has it, and brings its own.
    included = chain[:-1] if len(chain) > 1 else chain
    signing_certificate = cms.CMSAttribute(
        {
            "type": "signing_certificate_v2",
            "values": [
                {
                    "certs": [
                        {
                            # hash_algorithm stays at its default, SHA-256 (DER omits it).
                            "cert_hash": hashlib.sha256(tsa_cert.dump()).digest(),
                            "issuer_serial": {
                                "issuer": [
                                    asn1_x509.GeneralName({"directory_name": tsa_cert.issuer})
                                ],
                                "serial_number": tsa_cert.serial_number,
                            },
                        }
                    ]
                }
            ],
        }
    )
    content_type = cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]})
    sid = cms.SignerIdentifier(
        {
            "issuer_and_serial_number": {
                "issuer": tsa_cert.issuer,
                "serial_number": tsa_cert.serial_number,
            }
        }
    )
    return TimeStampingAuthority(
        certificate=signer.certificate,
        signer=signer,
        signature_algorithm=algorithm,
        certificates_der=tuple(bytes(c.dump()) for c in included),
        sid_der=bytes(sid.dump()),
        name_der=bytes(asn1_x509.GeneralName({"directory_name": tsa_cert.subject}).dump()),
        attributes_der=(bytes(content_type.dump()), bytes(signing_certificate.dump())),
    )


def _token(
    authority: TimeStampingAuthority,
    *,
    hash_algorithm: str,
    hashed_message: bytes,
    nonce: int | None,
    include_certificates: bool,
) -> Any:
    now = timezone.now()
    gen_time = now.replace(microsecond=now.microsecond // 1000 * 1000)
    tst_fields: dict[str, Any] = {
        "version": "v1",
        "policy": TSA_POLICY_OID,
        "message_imprint": {
            "hash_algorithm": {"algorithm": hash_algorithm},
            "hashed_message": hashed_message,
        },
        "serial_number": x509.random_serial_number(),
        "gen_time": gen_time,
        "accuracy": {"seconds": 1},
        "tsa": asn1_x509.GeneralName.load(authority.name_der),
    }
    if nonce is not None:
        tst_fields["nonce"] = nonce
    content = tsp.TSTInfo(tst_fields).dump()
    digest = cms.CMSAttribute(
        {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
    )
    signed_attrs = cms.CMSAttributes(
        [cms.CMSAttribute.load(der) for der in authority.attributes_der] + [digest]
    )
    # The signature covers the DER of the attributes as a SET OF (RFC 5652 5.4).
    signed_attrs_der = signed_attrs.dump()
    signature = authority.signer.sign(signed_attrs_der, _SIGNING_HASH)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier.load(authority.sid_der),
            "digest_algorithm": {"algorithm": _SIGNING_HASH},
            "signed_attrs": cms.CMSAttributes.load(signed_attrs_der),
            "signature_algorithm": {"algorithm": authority.signature_algorithm},
            "signature": signature,
        }
    )
    signed_data: dict[str, Any] = {
        "version": "v3",
        "digest_algorithms": [{"algorithm": _SIGNING_HASH}],
        "encap_content_info": {
            "content_type": "tst_info",
            "content": cms.ParsableOctetString(content),
        },
        "signer_infos": [signer_info],
    }
    if include_certificates:
        signed_data["certificates"] = [
            cms.CertificateChoices({"certificate": asn1_x509.Certificate.load(der)})
            for der in authority.certificates_der
        ]
    return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})


def _rejection(failure: str, text: str) -> bytes:
    return bytes(
        _TimeStampResp(
            {
                "status": tsp.PKIStatusInfo(
                    {
                        "status": "rejection",
                        "status_string": [text],
                        "fail_info": tsp.PKIFailureInfo({failure}),
                    }
                )
            }
        ).dump()
    )


def _read_request(request_der: bytes) -> tuple[str, bytes, int | None, bool]:
    """The hash algorithm, hash, nonce and certReq of a request, or ``_Refused``."""
    if not isinstance(request_der, bytes | bytearray) or not request_der:
        raise _Refused("bad_data_format", "The request is empty.")
    if len(request_der) > MAX_REQUEST_BYTES:
        raise _Refused("bad_request", "The request is too large.")
    try:
        request = tsp.TimeStampReq.load(bytes(request_der), strict=True)
        native = request.native  # parses every part, so that damage shows here
        algorithm = request["message_imprint"]["hash_algorithm"]["algorithm"].native
        parameters = request["message_imprint"]["hash_algorithm"]["parameters"].native
    except Exception:  # asn1crypto raises many kinds on damaged input
        raise _Refused("bad_data_format", "The request is not a TimeStampReq.") from None
    if not isinstance(native, dict) or native.get("version") != "v1":
        raise _Refused("bad_request", "Only version 1 requests are understood.")
    if algorithm not in SUPPORTED_HASHES or parameters is not None:
        raise _Refused("bad_alg", "The hash algorithm is not supported.")
    hashed = native["message_imprint"]["hashed_message"]
    if not isinstance(hashed, bytes) or len(hashed) != SUPPORTED_HASHES[algorithm]:
        raise _Refused("bad_data_format", "The hash has the wrong length for its algorithm.")
    if native.get("req_policy") not in (None, TSA_POLICY_OID):
        raise _Refused("unaccepted_policy", "The requested policy is not offered.")
    if native.get("extensions"):
        raise _Refused("unaccepted_extensions", "Request extensions are not supported.")
    nonce = native.get("nonce")
    return algorithm, hashed, nonce, bool(native.get("cert_req"))


def tsa_respond(request_der: bytes, *, authority: TimeStampingAuthority | None = None) -> bytes:
    """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp``.

    A well-formed request for a supported hash (SHA-256/384/512) is granted; a damaged one,
    an unsupported hash, another policy or request extensions get a rejection with the
    matching failure information, and a TSA that cannot sign answers ``systemFailure``.
    ``authority`` defaults to the current time-stamping certificate.
    """
    try:
        algorithm, hashed, nonce, cert_req = _read_request(request_der)
    except _Refused as refused:
        return _rejection(refused.failure, refused.text)
    try:
        if authority is None:
            authority = current_authority()
        token = _token(
            authority,
            hash_algorithm=algorithm,
            hashed_message=hashed,
            nonce=nonce,
            include_certificates=cert_req,
        )
    except PkiError:
        logger.exception("time-stamping authority unavailable")
        return _rejection("system_failure", "The time-stamping authority is unavailable.")
    return bytes(
        _TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()
    )


def timestamp_token(
    message_imprint: bytes,
    hash_algorithm: str = "sha256",
    nonce: int | None = None,
    *,
    authority: TimeStampingAuthority | None = None,
) -> bytes:
    """A DER time-stamp token (CMS ``ContentInfo``) over ``message_imprint``, a hash made
    with ``hash_algorithm``; the certificates are included. Raises ``ValueError`` for an
    unsupported algorithm or a hash of the wrong length."""
    size = SUPPORTED_HASHES.get(hash_algorithm)
    if size is None:
        raise ValueError(f"Unsupported hash algorithm {hash_algorithm!r}.")
    if len(message_imprint) != size:
        raise ValueError(f"A {hash_algorithm} hash is {size} bytes, not {len(message_imprint)}.")
    token = _token(
        authority if authority is not None else current_authority(),
        hash_algorithm=hash_algorithm,
        hashed_message=bytes(message_imprint),
        nonce=nonce,
        include_certificates=True,
    )
    return bytes(token.dump())


class PlatformTimeStamper(TimeStamper):
    """pyHanko's time stamper, answered by the platform's own TSA in process (no HTTP).

    The authority is resolved when the stamper is made, in ordinary synchronous code, since
    pyHanko asks for tokens from inside an event loop where Django refuses database access.
    """

    def __init__(self, authority: TimeStampingAuthority | None = None) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self.authority = authority if authority is not None else current_authority()

    async def async_request_tsa_response(self, req: Any) -> Any:
        response = tsa_respond(req.dump(), authority=self.authority)
        # Parsed with the token optional, so that pyHanko reports a rejection as one.
        return _TimeStampResp.load(response)
