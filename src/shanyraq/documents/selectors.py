"""Reading documents: a holder's own, an official's download, and public verification.

Verification answers anyone, without signing in, and shows only what the document itself
shows its reader is genuine: its kind, number, issuing agency and dates, the signature, the
ledger entry and whether it was annulled; never the holder's name or IIN.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shanyraq.access_log import services as access_log
from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import Role, User
from shanyraq.core.errors import NotFound, ValidationError
from shanyraq.ledger_django import selectors as ledger

from . import pades
from .models import Certificate, Document, DocumentFile, DocumentStatus
from .services import document_store

__all__ = [
    "MAX_UPLOAD",
    "Verification",
    "document_by_number",
    "document_file_for",
    "documents_of",
    "documents_of_application",
    "file_bytes",
    "verify_number",
    "verify_pdf",
]

MAX_UPLOAD = 10 * 1024 * 1024
_READERS = (Role.CLERK, Role.REVIEWER, Role.HEAD)


def documents_of(holder: User) -> QuerySet[Document]:
    """The documents issued to ``holder``, newest first (those being prepared included)."""
    return (
        Document.objects.filter(holder=holder, specimen=False)
        .exclude(holder__isnull=True)
        .select_related("agency", "application")
        .prefetch_related("files")
        .order_by("-created_at", "-id")
    )


def documents_of_application(application_id: int) -> list[Document]:
    """The documents an application's approval ordered, oldest first."""
    return list(
        Document.objects.filter(application_id=application_id)
        .select_related("annulled_by")
        .prefetch_related("files")
        .order_by("created_at", "id")
    )


def _not_found() -> NotFound:
    return NotFound(code="document_not_found", message=_("There is no such document."))


def document_by_number(number: str) -> Document:
    """A document by its number (for its agency's actions, which check their own rights)."""
    document = Document.objects.select_related("agency").filter(number=number).first()
    if document is None:
        raise _not_found()
    return document


def document_file_for(user: User, number: str, language: str) -> DocumentFile:
    """A document's signed PDF in ``language`` for ``user``: its holder, or an official of
    the issuing agency (whose download is recorded in the holder's data tracker). Anyone
    else is told there is no such document."""
    file = (
        DocumentFile.objects.select_related("document__agency", "document__holder")
        .filter(document__number=number, language=language)
        .first()
    )
    if file is None or not user.is_authenticated:
        raise _not_found()
    document = file.document
    if document.holder_id is not None and document.holder_id == user.pk:
        return file
    if document.agency_id not in account_selectors.agency_ids_for(user, _READERS):
        raise _not_found()
    holder_iin = (document.holder.iin if document.holder else "") or ""
    with transaction.atomic():
        if holder_iin:
            access_log.access_record(
                actor=user,
                agency=document.agency,
                action=access_log.AccessAction.READ,
                purpose=f"document {document.number}",
                legal_basis="issued document",
                reads=[
                    access_log.Read(
                        register="documents",
                        record=document.public_id,
                        subjects=[holder_iin],
                        fields=["pdf"],
                    )
                ],
                case_ref=document.application.number if document.application else "",
            )
    return file


def file_bytes(file: DocumentFile) -> bytes:
    with document_store().open(file.sha256) as stored:
        return stored.read()


@dataclass(frozen=True)
class Verification:
    """What verification found. ``document`` is None for a file the platform did not issue."""

    document: Document | None
    language: str
    signature: pades.PdfValidation | None
    revoked: Certificate | None
    ledger: dict[str, Any] | None  # the inclusion proof, or None while the entry waits
    issued_file: bool  # the bytes are those of a file the platform issued

    @property
    def annulled(self) -> bool:
        return bool(self.document and self.document.status == DocumentStatus.ANNULLED)

    @property
    def genuine(self) -> bool:
        """Signed by the platform's PKI, unmodified, not revoked, issued and not annulled."""
        return bool(
            self.signature is not None
            and self.signature.valid
            and self.signature.intact
            and self.revoked is None
            and self.document is not None
            and self.document.status == DocumentStatus.ISSUED
            and self.issued_file
        )


def _inclusion(document: Document) -> dict[str, Any] | None:
    if not document.ledger_leaf_hash:
        return None
    try:
        proof = ledger.inclusion_by_hash(document.ledger_log, document.ledger_leaf_hash)
    except (NotFound, ValidationError):
        return None  # sequenced with the next checkpoint
    return {
        "log": proof.log,
        "index": proof.index,
        "size": proof.size,
        "leaf_hash": proof.leaf_hash.hex(),
        "proof": [node.hex() for node in proof.proof],
        "checkpoint": proof.checkpoint,
    }


def _revoked(signature: pades.PdfValidation | None) -> Certificate | None:
    if signature is None or not signature.signer_serial:
        return None
    return Certificate.objects.filter(
        serial=signature.signer_serial, revoked_at__isnull=False
    ).first()


def _verification(
    document: Document | None, language: str, data: bytes, issued: bool
) -> Verification:
    signature = pades.validate_pdf(data)
    return Verification(
        document=document,
        language=language,
        signature=signature,
        revoked=_revoked(signature),
        ledger=_inclusion(document) if document is not None else None,
        issued_file=issued,
    )


def verify_number(number: str, code: str) -> Verification:
    """Verify a document by its number and the code printed on it (``NotFound`` when the
    pair does not match a document, whichever half is wrong)."""
    number = (number or "").strip().upper()
    code = (code or "").strip().upper().replace(" ", "")
    if len(code) == 8:
        code = f"{code[:4]}-{code[4:]}"
    document = (
        Document.objects.select_related("agency")
        .filter(number=number)
        .exclude(status=DocumentStatus.PENDING)
        .first()
        if number and len(number) <= 20
        else None
    )
    if document is None or not hmac.compare_digest(document.code.encode(), code.encode()):
        raise _not_found()
    file = document.files.filter(language=document.language).first()
    if file is None:
        raise _not_found()
    return _verification(document, file.language, file_bytes(file), issued=True)


def verify_pdf(data: bytes) -> Verification:
    """Verify an uploaded PDF: its signature, and whether it is a file the platform issued.

    Raises ``ValidationError`` for a file that is not a whole PDF (``pades.NotAPdf``) or
    is larger than a document can be (callers read at most ``MAX_UPLOAD + 1`` bytes).
    """
    if len(data) > MAX_UPLOAD:
        raise ValidationError(
            code="too_large", message=_("The file is too large to be a document."), field="file"
        )
    digest = hashlib.sha256(data).hexdigest()
    file = DocumentFile.objects.select_related("document__agency").filter(sha256=digest).first()
    try:
        if file is not None:
            return _verification(file.document, file.language, data, issued=True)
        return _verification(None, "", data, issued=False)
    except pades.NotAPdf:
        raise ValidationError(
            code="not_a_pdf",
            message=_("This file is not a PDF document, or it is incomplete."),
            field="file",
        ) from None
