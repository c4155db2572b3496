"""Ordering, issuing, verifying and annulling documents (services and selectors)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from shanyraq.access_log.models import AccessRecord
from shanyraq.accounts.models import Role, User
from shanyraq.catalog.models import Agency
from shanyraq.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from shanyraq.documents import pades, pki, selectors, services
from shanyraq.documents.models import Document, DocumentFile
from shanyraq.ledger_django.models import Entry
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

TITLE = {"kk": "Анықтама", "ru": "Справка", "en": "Certificate"}
LINES: list[dict[str, Any]] = [
    {"label": {"kk": "Нәтиже", "ru": "Результат", "en": "Result"}, "value": "Әлия Ұлықбекқызы"},
    {
        "label": {"kk": "Шешім", "ru": "Решение", "en": "Decision"},
        "value": {"kk": "Мақұлданды", "ru": "Одобрено", "en": "Approved"},
    },
]


@pytest.fixture
def documents_root(settings: Any, tmp_path: Path) -> Path:
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    return Path(settings.DOCUMENTS_ROOT)


@pytest.fixture
def holder(db: None) -> User:
    return factories.UserFactory(first_name="Әлия", last_name="Сейітқали", preferred_language="ru")


def order(agency: Agency, holder: User | None, **changes: Any) -> Document:
    arguments: dict[str, Any] = {
        "kind": "certificate",
        "title": TITLE,
        "lines": LINES,
        "agency": agency,
        "holder": holder,
    }
    return services.document_order(**{**arguments, **changes})


@pytest.fixture
def issued(pki: Any, documents_root: Path, agency: Agency, holder: User) -> Document:
    return services.document_issue(document=order(agency, holder))


def stored(document: Document, language: str) -> bytes:
    return selectors.file_bytes(document.files.get(language=language))


def test_an_order_is_numbered_and_waits_for_the_worker(agency: Agency, holder: User) -> None:
    document = order(agency, holder)
    document.refresh_from_db()
    assert document.number == f"D{document.created_at.year}-{document.pk:07d}"
    assert document.status == "pending" and not document.files.exists()
    assert document.language == "ru"  # the holder's
    assert len(document.code) == 9 and document.code[4] == "-"
    assert not set(document.code.replace("-", "")) & set("01IO")
    assert document.content["lines"][1]["value"]["kk"] == "Мақұлданды"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"kind": "passport"}, "document_kind"),
        ({"title": {"kk": "Анықтама", "ru": "Справка"}}, "document_text"),
        ({"lines": [{"label": {"en": "Result"}, "value": "x"}]}, "document_text"),
        ({"lines": [{"label": TITLE, "value": {"kk": "a", "ru": "b"}}]}, "document_text"),
        ({"lines": [{"label": TITLE, "value": "x"}] * 41}, "document_lines"),
    ],
)
def test_a_wrong_order_is_refused_and_writes_nothing(
    agency: Agency, holder: User, changes: dict[str, Any], code: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        order(agency, holder, **changes)
    assert caught.value.code == code
    assert not Document.objects.exists()


def test_issuing_signs_a_pdf_in_each_language_and_announces_their_hashes(
    issued: Document, holder: User, agency: Agency
) -> None:
    assert issued.status == "issued" and issued.issued_at is not None
    files = {f.language: f for f in issued.files.all()}
    assert set(files) == {"kk", "ru", "en"}
    for language, file in files.items():
        data = stored(issued, language)
        assert hashlib.sha256(data).hexdigest() == file.sha256 and len(data) == file.size
        check = pades.validate_pdf(data)
        assert check.valid and check.intact, check.problems
        assert check.signer_serial == file.certificate.serial
        assert check.timestamp_time is not None
    certificate = pki.agency_signing_certificate(agency)
    entry = Entry.objects.get(leaf_hash=issued.ledger_leaf_hash)
    body = json.loads(bytes(entry.data))
    assert body["type"] == "documents.issued" and entry.kind == "documents.issued"
    assert body["files"] == {language: file.sha256 for language, file in files.items()}
    assert body["certificate"] == certificate.fingerprint
    assert body["document"] == str(issued.public_id)
    # The public entry names nobody.
    text = bytes(entry.data).decode()
    for personal in (holder.iin, holder.first_name, holder.last_name, issued.number):
        assert personal not in text


def test_issuing_again_changes_nothing(issued: Document) -> None:
    entries = Entry.objects.count()
    again = services.document_issue(document=issued)
    assert again.status == "issued" and DocumentFile.objects.count() == 3
    assert Entry.objects.count() == entries


def test_the_worker_issues_what_waits_and_a_failure_stays_waiting(
    pki: Any, documents_root: Path, agency: Agency, holder: User, monkeypatch: Any
) -> None:
    first, second = order(agency, holder), order(agency, holder)
    real = services._render_and_sign

    def failing_for_first(document: Document, signer: Any) -> Any:
        if document.pk == first.pk:
            raise RuntimeError("renderer broke")
        return real(document, signer)

    monkeypatch.setattr(services, "_render_and_sign", failing_for_first)
    report = services.documents_issue_pending()
    assert (report.issued, report.failed) == (1, 1)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("pending", "issued")
    assert not first.files.exists()
    monkeypatch.setattr(services, "_render_and_sign", real)
    assert services.documents_issue_pending().issued == 1


def test_verification_by_number_and_code(issued: Document) -> None:
    result = selectors.verify_number(issued.number.lower(), issued.code.replace("-", " "))
    assert result.genuine and result.document == issued and result.language == "ru"
    assert result.signature is not None and result.signature.valid
    for number, code in [
        (issued.number, "AAAA-BBBB"),
        ("D2026-9999999", issued.code),
        ("", ""),
        ("x" * 500, issued.code),
    ]:
        with pytest.raises(NotFound):
            selectors.verify_number(number, code)


def test_a_document_being_prepared_is_not_found(agency: Agency, holder: User) -> None:
    document = order(agency, holder)
    with pytest.raises(NotFound):
        selectors.verify_number(document.number, document.code)


def test_verification_of_an_uploaded_file(issued: Document) -> None:
    data = stored(issued, "kk")
    result = selectors.verify_pdf(data)
    assert result.genuine and result.document == issued and result.language == "kk"
    # One byte changed inside the signed bytes: no longer genuine, and said why.
    position = data.index(b"/Type /Page") if b"/Type /Page" in data else len(data) // 3
    changed = data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]
    altered = selectors.verify_pdf(changed)
    assert not altered.genuine and altered.document is None and not altered.issued_file
    assert altered.signature is not None and not (
        altered.signature.valid and altered.signature.intact
    )


@pytest.mark.parametrize("data", [b"hello, this is not a PDF", b"%PDF-1.7\n1 0 obj\n<<"])
def test_a_file_that_is_not_a_whole_pdf_is_refused(pki: Any, data: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        selectors.verify_pdf(data)
    assert caught.value.code == "not_a_pdf"


def test_a_revoked_certificate_makes_its_documents_untrustworthy(issued: Document) -> None:
    certificate = issued.files.get(language="ru").certificate
    pki.certificate_revoke(certificate=certificate, reason="key_compromise")
    result = selectors.verify_number(issued.number, issued.code)
    assert not result.genuine
    assert result.revoked is not None and result.revoked.pk == certificate.pk


def test_the_agency_head_annuls_with_a_reason(issued: Document, agency: Agency) -> None:
    head = factories.member(agency, Role.HEAD)
    with pytest.raises(ValidationError):
        services.document_annul(document=issued, official=head, reason="  ")
    annulled = services.document_annul(
        document=issued, official=head, reason="Issued on forged papers"
    )
    assert annulled.status == "annulled" and annulled.annulled_by == head
    entry = Entry.objects.get(leaf_hash=annulled.annulment_leaf_hash)
    assert json.loads(bytes(entry.data))["type"] == "documents.annulled"
    result = selectors.verify_number(issued.number, issued.code)
    assert result.annulled and not result.genuine
    with pytest.raises(Conflict):
        services.document_annul(document=issued, official=head, reason="again")


@pytest.mark.parametrize("who", ["clerk", "reviewer", "other_head", "citizen"])
def test_no_one_else_annuls(
    issued: Document, agency: Agency, other_agency: Agency, holder: User, who: str
) -> None:
    official = {
        "clerk": lambda: factories.member(agency, Role.CLERK),
        "reviewer": lambda: factories.member(agency, Role.REVIEWER),
        "other_head": lambda: factories.member(other_agency, Role.HEAD),
        "citizen": lambda: holder,
    }[who]()
    with pytest.raises(PermissionDenied):
        services.document_annul(document=issued, official=official, reason="no")
    issued.refresh_from_db()
    assert issued.status == "issued" and not issued.annulment_leaf_hash


def test_the_holder_and_the_agencys_officials_download_and_no_one_else(
    issued: Document, agency: Agency, other_agency: Agency, holder: User
) -> None:
    assert selectors.document_file_for(holder, issued.number, "en").language == "en"
    assert not AccessRecord.objects.exists()  # the holder's own reading is not tracked
    clerk = factories.member(agency, Role.CLERK)
    assert selectors.document_file_for(clerk, issued.number, "kk").language == "kk"
    record = AccessRecord.objects.get()
    assert record.actor == clerk and record.subject_iin == holder.iin
    assert record.purpose == f"document {issued.number}"
    for stranger in (
        factories.UserFactory(),
        factories.member(other_agency, Role.HEAD),
        factories.member(agency, Role.ADMIN),
    ):
        with pytest.raises(NotFound):
            selectors.document_file_for(stranger, issued.number, "kk")
    assert AccessRecord.objects.count() == 1


def test_a_specimen_is_signed_like_a_document_and_marked(
    pki: Any, documents_root: Path, agency: Agency
) -> None:
    document, pdf = services.specimen_issue(agency=agency, language="en")
    assert document.specimen and document.holder is None and document.status == "issued"
    check = pades.validate_pdf(pdf)
    assert check.valid and check.intact
    result = selectors.verify_pdf(pdf)
    assert result.genuine and result.document is not None and result.document.specimen


def test_without_a_pki_documents_wait_and_nothing_is_half_issued(
    settings: Any, tmp_path: Path, documents_root: Path, agency: Agency, holder: User
) -> None:
    settings.PKI_DIR = tmp_path / "no-pki"
    first, second = order(agency, holder), order(agency, holder)
    report = services.documents_issue_pending()
    assert (report.issued, report.failed) == (0, 1)  # the first tells; the rest wait
    assert set(Document.objects.values_list("status", flat=True)) == {"pending"}
    assert not DocumentFile.objects.exists() and not Entry.objects.exists()
    pki.pki_init()
    assert services.documents_issue_pending().issued == 2
    assert {first.pk, second.pk} == set(
        Document.objects.filter(status="issued").values_list("pk", flat=True)
    )
