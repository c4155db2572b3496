"""Certificates of the platform's PKI, documents it issues, and their signed PDF files.

Private keys are not here: they are files under ``PKI_DIR``, encrypted with the passphrase
from the environment, and used through a ``Signer`` (``documents.signers``), so that a
hardware module can hold them instead.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.catalog.models import Agency
from shanyraq.core.text import TranslatedTextField


class CertificateKind(models.TextChoices):
    ROOT = "root", _("Root certification authority")
    ISSUING = "issuing", _("Issuing certification authority")
    DOCUMENT_SIGNING = "document_signing", _("Agency document signing")
    TIMESTAMPING = "timestamping", _("Time-stamping authority")
    PERSONAL = "personal", _("Personal signing certificate")
    SYSTEM = "system", _("Agency system signing")


class Certificate(models.Model):
    """An X.509 certificate the platform issued (or its own root), as issued."""

    serial = models.CharField(max_length=64, unique=True)  # hex, as in the certificate
    kind = models.CharField(max_length=20, choices=CertificateKind.choices)
    subject = models.CharField(max_length=500)  # RFC 4514
    issuer = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="issued"
    )
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    pem = models.TextField()
    fingerprint = models.CharField(max_length=64, unique=True)  # SHA-256 of the DER, hex
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    # The encrypted private key's file name under PKI_DIR, for keys the platform holds.
    key_name = models.CharField(max_length=200, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "agency"], name="certificate_kind_agency"),
            models.Index(fields=["issuer", "revoked_at"], name="certificate_revocations"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.serial} {self.subject}"


class DocumentStatus(models.TextChoices):
    PENDING = "pending", _("Being prepared")
    ISSUED = "issued", _("Issued")
    ANNULLED = "annulled", _("Annulled")


class Document(models.Model):
    """A document the platform issued: a certificate, an extract, a decision.

    ``content`` is what the document says (its lines: labels in the three languages and
    values), fixed when it was ordered; its files are the signed PDFs, one per language.
    """

    number = models.CharField(max_length=20, unique=True)
    code = models.CharField(max_length=16)  # the short code printed beside the QR code
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=40)
    title = TranslatedTextField(max_length=300)
    content = models.JSONField(default=dict)
    language = models.CharField(max_length=2)  # the holder's, the first one made
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="documents")
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    application = models.ForeignKey(
        "casework.Application",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    status = models.CharField(
        max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.PENDING
    )
    specimen = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    annulled_at = models.DateTimeField(null=True, blank=True)
    annulment_reason = models.CharField(max_length=500, blank=True)
    annulled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The ``documents.issued`` entry: which log, and its leaf hash (its index comes later,
    # when the integrator sequences it), for the inclusion proof verification shows.
    ledger_log = models.CharField(max_length=40, blank=True)
    ledger_leaf_hash = models.CharField(max_length=64, blank=True)
    annulment_leaf_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["holder", "-created_at"], name="document_holder"),
            models.Index(
                fields=["id"],
                name="document_pending",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class DocumentFile(models.Model):
    """One signed PDF of a document, in one language, stored by its hash."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="files")
    language = models.CharField(max_length=2)
    sha256 = models.CharField(max_length=64, db_index=True)  # hex, of the signed file
    size = models.PositiveIntegerField()
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "language"], name="document_file_language")
        ]

    def __str__(self) -> str:
        return f"{self.document_id} {self.language}"


class SignedContent(models.Model):
    """A person's electronic signature over what they submitted (an application's answers).

    ``content`` is the exact bytes signed: canonical JSON (RFC 8785). Anyone allowed to see
    the application can check the signature again against the certificate.
    """

    purpose = models.CharField(max_length=40)  # "application"
    reference = models.CharField(max_length=40)  # the application's number
    content = models.BinaryField()
    signature = models.BinaryField()  # ECDSA, DER
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="+")
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures"
    )
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["purpose", "reference"], name="signed_content_reference")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.reference}"
