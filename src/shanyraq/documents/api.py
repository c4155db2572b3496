"""Documents over the API: a holder's documents and downloads, verification for anyone,
annulment for the issuing agency."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Router, Schema, UploadedFile

from shanyraq.accounts.models import User
from shanyraq.core.errors import NotFound
from shanyraq.core.text import LANGUAGES

from . import selectors, services
from .models import Document

# Signed-in people and programs (the API mounts it with its authentication) ...
router = Router(tags=["documents"])
# ... and anyone: verification needs no account.
public_router = Router(tags=["documents"])

NUMBER_PATTERN = r"^D[0-9]{4}-[0-9]{7,}$"


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class Text(Schema):
    kk: str
    ru: str
    en: str


class FileOut(Schema):
    language: str
    sha256: str
    size: int
    url: str


class DocumentOut(Schema):
    number: str
    kind: str
    title: Text
    agency: str
    status: str
    application: str | None
    issued_at: datetime.datetime | None
    annulled_at: datetime.datetime | None
    annulment_reason: str
    files: list[FileOut]


class DocumentListOut(Schema):
    count: int
    items: list[DocumentOut]


def _document_out(document: Document) -> dict[str, Any]:
    return {
        "number": document.number,
        "kind": document.kind,
        "title": document.title.to_dict(),
        "agency": document.agency.code,
        "status": document.status,
        "application": document.application.number if document.application else None,
        "issued_at": document.issued_at,
        "annulled_at": document.annulled_at,
        "annulment_reason": document.annulment_reason,
        "files": [
            {
                "language": file.language,
                "sha256": file.sha256,
                "size": file.size,
                "url": f"/api/v1/documents/{document.number}/{file.language}.pdf",
            }
            for file in document.files.all()
        ],
    }


@router.get("/documents", response=DocumentListOut, summary="My documents")
def mine(request: HttpRequest) -> dict[str, Any]:
    documents = list(selectors.documents_of(_person(request))[:200])
    return {"count": len(documents), "items": [_document_out(d) for d in documents]}


@router.get(
    "/documents/{number}/{language}.pdf",
    summary="A signed PDF (its holder, or an official of the issuing agency)",
    response={200: None},
)
def download(request: HttpRequest, number: str, language: str) -> HttpResponse:
    if language not in LANGUAGES:
        raise NotFound(code="document_not_found", message=_("There is no such document."))
    file = selectors.document_file_for(_person(request), number, language)
    response = HttpResponse(selectors.file_bytes(file), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{number}-{language}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


class VerifyIn(Schema):
    number: str = Field(max_length=40)
    code: str = Field(max_length=20)


class SignatureOut(Schema):
    signed: bool
    valid: bool
    intact: bool
    signer: str
    serial: str
    timestamp: datetime.datetime | None
    revoked_at: datetime.datetime | None


class VerificationOut(Schema):
    genuine: bool
    issued_by_platform: bool
    annulled: bool
    number: str | None
    kind: str | None
    title: Text | None
    agency: str | None
    issued_at: datetime.datetime | None
    annulled_at: datetime.datetime | None
    annulment_reason: str | None
    language: str | None
    signature: SignatureOut | None
    ledger: dict[str, Any] | None


def _verification_out(result: selectors.Verification) -> dict[str, Any]:
    document = result.document
    signature = result.signature
    return {
        "genuine": result.genuine,
        "issued_by_platform": result.issued_file,
        "annulled": result.annulled,
        "number": document.number if document else None,
        "kind": document.kind if document else None,
        "title": document.title.to_dict() if document else None,
        "agency": document.agency.code if document else None,
        "issued_at": document.issued_at if document else None,
        "annulled_at": document.annulled_at if document else None,
        "annulment_reason": document.annulment_reason if document and result.annulled else None,
        "language": result.language or None,
        "signature": {
            "signed": signature.signed,
            "valid": signature.valid,
            "intact": signature.intact,
            "signer": signature.signer_subject,
            "serial": signature.signer_serial,
            "timestamp": signature.timestamp_time,
            "revoked_at": result.revoked.revoked_at if result.revoked else None,
        }
        if signature is not None
        else None,
        "ledger": result.ledger,
    }


@public_router.post(
    "/documents/verify",
    response=VerificationOut,
    summary="Verify a document by its number and code (no sign-in)",
)
def verify(request: HttpRequest, body: VerifyIn) -> dict[str, Any]:
    return _verification_out(selectors.verify_number(body.number, body.code))


@public_router.post(
    "/documents/verify-file",
    response=VerificationOut,
    summary="Verify an uploaded PDF (no sign-in; the file is not kept)",
)
def verify_file(request: HttpRequest, file: File[UploadedFile]) -> dict[str, Any]:
    return _verification_out(selectors.verify_pdf(file.read(selectors.MAX_UPLOAD + 1)))


class AnnulIn(Schema):
    reason: str = Field(max_length=500)


@router.post(
    "/documents/{number}/annul",
    response=DocumentOut,
    summary="Annul a document (the issuing agency's heads and administrators)",
)
def annul(request: HttpRequest, number: str, body: AnnulIn) -> dict[str, Any]:
    annulled = services.document_annul(
        document=selectors.document_by_number(number),
        official=_person(request),
        reason=body.reason,
    )
    return _document_out(annulled)
