"""Who makes a signature with a key the platform holds, and where that key lives.

Documents and time-stamp tokens are signed through a ``Signer``: an object that knows its
certificate and chain and returns a raw signature over bytes. The default, ``FileSigner``,
reads the private key from ``PKI_DIR``, where it is stored as PKCS#8 PEM encrypted with
``PKI_PASSPHRASE``, and keeps it in memory for the life of the process.

A hardware security module can take its place: name a class in the setting
``DOCUMENT_SIGNER_CLASS`` (a dotted path). ``signer_for`` calls it as
``cls(certificate=..., chain=..., key_name=...)``, where ``key_name`` is the certificate's
``key_name`` (for a PKCS#11 signer, the label of the key in the token), and expects an object
with ``certificate``, ``chain`` and ``sign(data, algorithm)``. ``sign`` is called from inside
pyHanko's event loop, where Django refuses database access, so a signer must not query the
database there. The certification authorities' own keys (certificates and revocation lists)
are always used from files; they sign rarely.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .models import Certificate

__all__ = [
    "DEFAULT_SIGNER_CLASS",
    "FileSigner",
    "PkiError",
    "Signer",
    "key_path",
    "load_private_key",
    "passphrase",
    "signer_class_path",
    "signer_for",
]

DEFAULT_SIGNER_CLASS: Final = "shanyraq.documents.signers.FileSigner"

# Key files are named by the platform (kind and serial); anything else in the database is
# refused rather than joined to a path.
_KEY_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")

_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

_keys: dict[tuple[str, str], CertificateIssuerPrivateKeyTypes] = {}
_keys_lock = threading.Lock()


class PkiError(RuntimeError):
    """The PKI cannot do what was asked because of how it is set up (an operator's problem):
    no passphrase, not initialised, a key file missing or unreadable."""


class Signer(Protocol):
    """Makes raw signatures with the private key of ``certificate``.

    ``chain`` is the certificate followed by its issuers up to and including the root.
    ``sign`` returns the signature over ``data`` hashed with ``algorithm`` ("sha256",
    "sha384" or "sha512"), encoded as CMS expects it (DER ``ECDSA-Sig-Value`` for EC keys,
    PKCS#1 v1.5 for RSA keys).
    """

    certificate: x509.Certificate
    chain: list[x509.Certificate]

    def sign(self, data: bytes, algorithm: str) -> bytes: ...


def passphrase() -> bytes:
    """The passphrase that encrypts the platform's private keys; refuses an empty one."""
    value = str(getattr(settings, "PKI_PASSPHRASE", "") or "")
    if not value:
        raise PkiError(
            "PKI_PASSPHRASE is empty: the platform's private keys are stored encrypted "
            "with it. Set it in the environment."
        )
    return value.encode()


def key_path(key_name: str) -> Path:
    """Where the key named ``key_name`` is stored under ``PKI_DIR``."""
    if not _KEY_NAME.fullmatch(key_name):
        raise PkiError(f"Not a key name the platform gives: {key_name!r}.")
    return Path(settings.PKI_DIR) / key_name


def load_private_key(key_name: str) -> CertificateIssuerPrivateKeyTypes:
    """The decrypted private key ``key_name``, read once per process and ``PKI_DIR``."""
    path = key_path(key_name)
    cache_key = (str(path.parent), key_name)
    key = _keys.get(cache_key)
    if key is not None:
        return key
    with _keys_lock:
        key = _keys.get(cache_key)
        if key is not None:
            return key
        secret = passphrase()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PkiError(f"Cannot read the private key {key_name!r}: {exc}.") from exc
        try:
            loaded = serialization.load_pem_private_key(data, password=secret)
        except (ValueError, TypeError) as exc:
            raise PkiError(
                f"Cannot decrypt the private key {key_name!r}: wrong PKI_PASSPHRASE "
                "or a damaged file."
            ) from exc
        if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise PkiError(f"The private key {key_name!r} is of a kind the platform does not use.")
        _keys[cache_key] = loaded
        return loaded


def _hash(algorithm: str) -> hashes.HashAlgorithm:
    try:
        return _HASHES[algorithm]()
    except KeyError:
        raise ValueError(f"Unsupported digest algorithm {algorithm!r}.") from None


class FileSigner:
    """Signs with a private key stored, encrypted, under ``PKI_DIR``."""

    def __init__(
        self,
        *,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
        key_name: str,
    ) -> None:
        self.certificate = certificate
        self.chain = chain
        self.key_name = key_name

    def sign(self, data: bytes, algorithm: str) -> bytes:
        digest = _hash(algorithm)
        key = load_private_key(self.key_name)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(digest))
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), digest)
        raise PkiError(f"The private key {self.key_name!r} cannot make document signatures.")

    def __repr__(self) -> str:
        return f"FileSigner({self.key_name!r})"


def signer_class_path() -> str:
    """The dotted path of the configured ``Signer`` class."""
    return str(getattr(settings, "DOCUMENT_SIGNER_CLASS", DEFAULT_SIGNER_CLASS))


def signer_for(certificate: Certificate) -> Signer:
    """A ``Signer`` for a certificate whose private key the platform holds.

    The class comes from the setting ``DOCUMENT_SIGNER_CLASS`` (default ``FileSigner``), so
    that a PKCS#11 or other hardware signer can be configured without touching callers.
    """
    # pki uses this module to read keys; importing it here keeps that direction one-way.
    from .pki import chain_of

    if not certificate.key_name:
        raise PkiError(
            f"The platform does not hold the private key of certificate {certificate.serial}."
        )
    signer_class = import_string(signer_class_path())
    chain = chain_of(certificate)
    signer: Signer = signer_class(certificate=chain[0], chain=chain, key_name=certificate.key_name)
    return signer
