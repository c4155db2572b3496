"""Issuing and annulling documents.

A document is ordered inside the transaction that decides it (an approval writes its
certificate's order with the decision), and issued after the commit by the worker: rendered
as a PDF in each of the three languages, each signed with the agency's document-signing
certificate (PAdES, with a timestamp from the platform's own time-stamping authority),
stored by its hash, and announced by one ``documents.issued`` ledger entry listing the
hashes. The entry says nothing about the holder: a hash commits to the file without
revealing it.

An annulment is a decision of the agency, with a reason, written with a
``documents.annulled`` entry; the files stay, and verification tells that they no longer
hold.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import Role, User
from shanyraq.catalog.models import Agency
from shanyraq.core.errors import Conflict, PermissionDenied, ValidationError
from shanyraq.core.files import FileStore
from shanyraq.core.text import LANGUAGES, TranslatedText
from shanyraq.ledger_django import services as ledger

from . import pades, pki, rendering, signers
from .models import Document, DocumentFile, DocumentStatus

__all__ = [
    "KINDS",
    "IssueReport",
    "document_annul",
    "document_issue",
    "document_order",
    "document_store",
    "documents_issue_pending",
    "specimen_issue",
]

logger = logging.getLogger(__name__)

KINDS = ("certificate", "extract", "decision")
MAX_LINES = 40
MAX_VALUE = 1000
MAX_REASON = 500
# The short code printed beside the QR code: no letters that read as digits (O, I) or
# digits that read as letters (0, 1); eight of 32 symbols are 40 bits.
_CODE_SYMBOLS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ISSUE_BATCH = 10
# Who may annul the agency's documents.
ANNULLERS = (Role.HEAD, Role.ADMIN)


def document_store() -> FileStore:
    return FileStore(Path(settings.DOCUMENTS_ROOT))


def _code() -> str:
    symbols = "".join(secrets.choice(_CODE_SYMBOLS) for _ in range(8))
    return f"{symbols[:4]}-{symbols[4:]}"


def verify_url(document: Document) -> str:
    """The public verification page of this document, as its QR code carries it."""
    base = settings.SHANYRAQ_PUBLIC_URL.rstrip("/")
    return f"{base}/verify/?{urlencode({'number': document.number, 'code': document.code})}"


def _text(value: Any, where: str) -> dict[str, str]:
    try:
        text = TranslatedText.from_value(value, max_length=MAX_VALUE)
    except (ValueError, TypeError, ValidationError):
        text = None
    if text is None or not text.is_complete():
        raise ValidationError(
            code="document_text",
            message=_("Every text of a document is needed in Kazakh, Russian and English."),
            details={"where": where},
        )
    return text.to_dict()


def _lines(lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if len(lines) > MAX_LINES:
        raise ValidationError(code="document_lines", message=_("A document has too many lines."))
    clean = []
    for index, line in enumerate(lines):
        label = _text(line.get("label"), f"lines[{index}].label")
        value = line.get("value")
        if isinstance(value, Mapping):
            shown: str | dict[str, str] = _text(value, f"lines[{index}].value")
        else:
            shown = "" if value is None else str(value)[:MAX_VALUE]
        clean.append({"label": label, "value": shown})
    return clean


def document_order(
    *,
    kind: str,
    title: Mapping[str, str],
    lines: Sequence[Mapping[str, Any]],
    agency: Agency,
    holder: User | None,
    application: Any = None,
    language: str | None = None,
    specimen: bool = False,
) -> Document:
    """Order a document in the caller's transaction; the worker issues it after the commit.

    ``lines`` are what it says: a label in the three languages and a value (text, or text in
    the three languages). Raises ``ValidationError`` for an unknown kind or a text missing in
    a language.
    """
    if kind not in KINDS:
        raise ValidationError(code="document_kind", message=_("Unknown kind of document."))
    chosen = (language or (holder.preferred_language if holder else "") or "").lower()
    document = Document(
        number=f"pending-{secrets.token_hex(6)}",
        code=_code(),
        kind=kind,
        title=TranslatedText(**_text(title, "title")),
        content={"lines": _lines(lines)},
        language=chosen if chosen in LANGUAGES else settings.LANGUAGE_CODE,
        agency=agency,
        holder=holder,
        application=application,
        specimen=specimen,
    )
    with transaction.atomic():
        document.save(force_insert=True)
        # The key numbers it: unique without a counter, and in the order of ordering.
        year = timezone.localtime(document.created_at).year
        document.number = f"D{year}-{document.pk:07d}"
        document.save(update_fields=["number"])
    return document


def _spec(document: Document) -> rendering.DocumentSpec:
    holder = document.holder
    application = document.application
    return rendering.DocumentSpec(
        number=document.number,
        code=document.code,
        kind=document.kind,
        title=document.title.to_dict(),
        agency=document.agency.name.to_dict(),
        holder_name=(holder.full_name if holder else "") or "",
        holder_iin=(holder.iin if holder else "") or "",
        issued_at=document.issued_at or timezone.now(),
        lines=list((document.content or {}).get("lines") or []),
        verify_url=verify_url(document),
        specimen=document.specimen,
        application_number=application.number if application is not None else "",
    )


@dataclass(frozen=True)
class SignedFile:
    language: str
    pdf: bytes
    sha256: str


def _languages(document: Document) -> list[str]:
    return [document.language, *(lang for lang in LANGUAGES if lang != document.language)]


def _render_and_sign(document: Document, signer: signers.Signer) -> list[SignedFile]:
    spec = _spec(document)
    made = []
    for language in _languages(document):
        signed = pades.sign_pdf(
            rendering.render_pdf(spec, language),
            signer=signer,
            reason=f"{document.number}",
            location=str(document.agency.name.get("en")),
        )
        made.append(SignedFile(language, signed, hashlib.sha256(signed).hexdigest()))
    return made


def _keep(files: Sequence[SignedFile]) -> None:
    store = document_store()
    for item in files:
        received = store.receive([item.pdf], max_bytes=len(item.pdf))
        with store.lock():
            received.commit()


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def document_issue(*, document: Document) -> Document:
    """Render, sign, store and announce an ordered document; a no-op once it is issued.

    The files are written before the rows that name them, so a row never names a missing
    file; a file left by a failed attempt is the same bytes' next time or an orphan.
    """
    with transaction.atomic():
        locked = (
            Document.objects.select_for_update(of=("self",))
            .select_related("agency", "holder")
            .get(pk=document.pk)
        )
        if locked.status != DocumentStatus.PENDING:
            return locked
        certificate = pki.agency_signing_certificate(locked.agency)
        locked.issued_at = timezone.now()
        files = _render_and_sign(locked, signers.signer_for(certificate))
        _keep(files)
        DocumentFile.objects.bulk_create(
            DocumentFile(
                document=locked,
                language=item.language,
                sha256=item.sha256,
                size=len(item.pdf),
                certificate=certificate,
                signed_at=locked.issued_at,
            )
            for item in files
        )
        entry = ledger.ledger_append(
            entry={
                "v": 1,
                "type": "documents.issued",
                "document": str(locked.public_id),
                "kind": locked.kind,
                "specimen": locked.specimen,
                "agency": locked.agency.code,
                "files": {item.language: item.sha256 for item in files},
                "certificate": certificate.fingerprint,
                "time": _moment(locked.issued_at),
            }
        )
        locked.status = DocumentStatus.ISSUED
        locked.ledger_log = entry.log
        locked.ledger_leaf_hash = entry.leaf_hash
        locked.save(update_fields=["status", "issued_at", "ledger_log", "ledger_leaf_hash"])
    return locked


@dataclass(frozen=True)
class IssueReport:
    issued: int
    failed: int


def documents_issue_pending(*, limit: int = ISSUE_BATCH) -> IssueReport:
    """Issue documents that are waiting, oldest first (the worker calls this)."""
    issued = failed = 0
    pending = list(
        Document.objects.filter(status=DocumentStatus.PENDING)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in pending:
        try:
            document_issue(document=Document(pk=pk))
        except signers.PkiError as exc:
            # The operator's to fix (``shanyraq pki init``, the passphrase): every document
            # waits for it, and is issued once it is done.
            logger.warning("documents wait for the PKI: %s", exc)
            return IssueReport(issued=issued, failed=failed + 1)
        except Exception:
            # Left pending, to be tried again; one broken document does not stop the rest.
            logger.exception("issuing document %s failed", pk)
            failed += 1
        else:
            issued += 1
    return IssueReport(issued=issued, failed=failed)


def document_annul(*, document: Document, official: User, reason: str) -> Document:
    """The agency annuls a document it issued, saying why; verification shows it.

    Only the heads of units and administrators of the issuing agency may; an annulled
    document stays annulled.
    """
    reason = " ".join((reason or "").split())[:MAX_REASON]
    if not reason:
        raise ValidationError(code="reason_required", message=_("Give the reason."), field="reason")
    if document.agency_id not in account_selectors.agency_ids_for(official, ANNULLERS):
        raise PermissionDenied(
            code="not_the_agency",
            message=_(
                "Only the issuing agency's heads and administrators can annul its documents."
            ),
        )
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        if locked.status != DocumentStatus.ISSUED:
            raise Conflict(code="not_issued", message=_("Only an issued document can be annulled."))
        locked.status = DocumentStatus.ANNULLED
        locked.annulled_at = timezone.now()
        locked.annulment_reason = reason
        locked.annulled_by = official
        entry = ledger.ledger_append(
            entry={
                "v": 1,
                "type": "documents.annulled",
                "document": str(locked.public_id),
                "agency": locked.agency.code,
                "time": _moment(locked.annulled_at),
            }
        )
        locked.annulment_leaf_hash = entry.leaf_hash
        locked.save(
            update_fields=[
                "status",
                "annulled_at",
                "annulment_reason",
                "annulled_by",
                "annulment_leaf_hash",
            ]
        )
    return locked


SPECIMEN_LINES: list[dict[str, Any]] = [
    {
        "label": {"kk": "Мәлімет", "ru": "Сведения", "en": "Details"},
        "value": {
            "kk": "Бұл үлгі құжат: оның заңды күші жоқ.",
            "ru": "Это образец документа: он не имеет юридической силы.",
            "en": "This is a specimen document: it has no legal force.",
        },
    },
    {
        "label": {"kk": "Әріптер", "ru": "Буквы", "en": "Letters"},
        "value": "Әә Ғғ Ққ Ңң Өө Ұұ Үү Һһ Іі",
    },
]


def specimen_issue(*, agency: Agency, language: str = "kk") -> tuple[Document, bytes]:
    """A specimen certificate of ``agency``, issued through the same rendering and signing
    as real documents and marked as a specimen; returns it with its PDF in ``language``."""
    document = document_order(
        kind="certificate",
        title={"kk": "Үлгі анықтама", "ru": "Образец справки", "en": "Specimen certificate"},
        lines=SPECIMEN_LINES,
        agency=agency,
        holder=None,
        language=language,
        specimen=True,
    )
    document = document_issue(document=document)
    file = document.files.get(language=language)
    with document_store().open(file.sha256) as stored:
        return document, stored.read()
