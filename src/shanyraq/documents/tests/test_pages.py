"""Documents over HTTP: the holder's pages, public verification, the API and the PKI's
addresses, each for those allowed and refused to everyone else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp
from cryptography import x509
from django.test import Client

from shanyraq.accounts.models import Role, User
from shanyraq.accounts.services import token_create
from shanyraq.catalog.models import Agency
from shanyraq.conftest import client_for
from shanyraq.documents import selectors, services
from shanyraq.documents.models import Certificate, Document
from shanyraq.testing import factories

from .test_issuing import order

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(pki: Any, settings: Any, tmp_path: Path, agency: Agency) -> Document:
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    holder = factories.UserFactory(preferred_language="kk")
    return services.document_issue(document=order(agency, holder))


def pdf(document: Document, language: str = "kk") -> bytes:
    return selectors.file_bytes(document.files.get(language=language))


def bearer(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_create(user=user, name='test')[1]}"}


# --- the holder's pages -----------------------------------------------------------------------


def test_my_documents_lists_mine_only(issued: Document, agency: Agency) -> None:
    other = services.document_issue(document=order(agency, factories.UserFactory()))
    page = client_for(issued.holder).get("/account/documents/")
    text = page.content.decode()
    assert page.status_code == 200
    assert issued.number in text and other.number not in text
    assert f"/account/documents/{issued.number}/ru.pdf" in text


def test_my_documents_needs_signing_in(issued: Document) -> None:
    page = Client().get("/account/documents/")
    assert page.status_code == 302 and "/login/" in page["Location"]


def test_the_holder_downloads_the_signed_pdf(issued: Document) -> None:
    response = client_for(issued.holder).get(f"/account/documents/{issued.number}/en.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content == pdf(issued, "en")
    assert response["Content-Disposition"] == f'attachment; filename="{issued.number}-en.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("who", ["stranger", "other_agency_head", "anonymous", "language"])
def test_no_one_else_downloads(issued: Document, other_agency: Agency, who: str) -> None:
    user = {
        "stranger": lambda: factories.UserFactory(),
        "other_agency_head": lambda: factories.member(other_agency, Role.HEAD),
        "anonymous": lambda: None,
        "language": lambda: issued.holder,
    }[who]()
    language = "de" if who == "language" else "kk"
    response = client_for(user).get(f"/account/documents/{issued.number}/{language}.pdf")
    assert response.status_code == (302 if user is None else 404)
    assert response.get("Content-Type") != "application/pdf"


# --- public verification ----------------------------------------------------------------------


def test_the_qr_link_shows_a_genuine_document_without_personal_data(issued: Document) -> None:
    page = Client().get(
        "/verify/", {"number": issued.number, "code": issued.code}, HTTP_ACCEPT_LANGUAGE="en"
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "The document is genuine and valid" in text
    assert issued.number in text
    holder = issued.holder
    assert holder is not None and holder.iin not in text and holder.last_name not in text


def test_a_wrong_code_is_told_plainly(issued: Document) -> None:
    page = Client().get(
        "/verify/", {"number": issued.number, "code": "AAAA-BBBB"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert page.status_code == 404
    assert "No document has this number and code." in page.content.decode()


def test_an_uploaded_file_is_checked(issued: Document) -> None:
    client = Client(enforce_csrf_checks=False, HTTP_ACCEPT_LANGUAGE="en")
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = client.post("/verify/", {"file": SimpleUploadedFile("d.pdf", pdf(issued))})
    assert good.status_code == 200 and "The document is genuine and valid" in good.content.decode()
    bad = client.post(
        "/verify/",
        {"file": SimpleUploadedFile("d.pdf", b"<html>not a pdf</html>")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 400
    assert "This file is not a PDF document, or it is incomplete." in bad.content.decode()
    empty = client.post("/verify/", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert empty.status_code == 400 and "Choose the PDF file to check." in empty.content.decode()


def test_the_verification_page_asks_for_both_halves(pki: Any) -> None:
    page = Client().get("/verify/", {"number": "D2026-0000001"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 400
    assert "Enter both the document number and its code." in page.content.decode()


# --- the API ----------------------------------------------------------------------------------


def test_api_lists_and_downloads_the_holders_documents(issued: Document) -> None:
    holder = issued.holder
    assert holder is not None
    headers = bearer(holder)
    listed = Client().get("/api/v1/documents", **headers).json()
    assert listed["count"] == 1 and listed["items"][0]["number"] == issued.number
    assert {f["language"] for f in listed["items"][0]["files"]} == {"kk", "ru", "en"}
    download = Client().get(f"/api/v1/documents/{issued.number}/ru.pdf", **headers)
    assert download.status_code == 200 and download.content == pdf(issued, "ru")
    stranger = bearer(factories.UserFactory())
    assert Client().get("/api/v1/documents", **stranger).json()["count"] == 0
    refused = Client().get(f"/api/v1/documents/{issued.number}/ru.pdf", **stranger)
    assert refused.status_code == 404
    assert Client().get("/api/v1/documents").status_code == 401


def test_api_verifies_for_anyone(issued: Document) -> None:
    body = json.dumps({"number": issued.number, "code": issued.code})
    answer = Client().post("/api/v1/documents/verify", body, content_type="application/json")
    data = answer.json()
    assert answer.status_code == 200 and data["genuine"] is True and data["annulled"] is False
    assert data["signature"]["valid"] is True and data["signature"]["revoked_at"] is None
    assert "holder" not in data and issued.holder.iin not in answer.content.decode()  # type: ignore[union-attr]
    wrong = json.dumps({"number": issued.number, "code": "AAAA-BBBB"})
    missing = Client().post("/api/v1/documents/verify", wrong, content_type="application/json")
    assert missing.status_code == 404
    from django.core.files.uploadedfile import SimpleUploadedFile

    uploaded = Client().post(
        "/api/v1/documents/verify-file", {"file": SimpleUploadedFile("d.pdf", pdf(issued))}
    )
    assert uploaded.status_code == 200 and uploaded.json()["number"] == issued.number
    junk = Client().post(
        "/api/v1/documents/verify-file", {"file": SimpleUploadedFile("d.pdf", b"junk")}
    )
    assert junk.status_code == 422 and junk.json()["code"] == "not_a_pdf"


@pytest.mark.parametrize(
    ("who", "status"), [("head", 200), ("clerk", 403), ("other_head", 403), ("holder", 403)]
)
def test_api_annulment_only_by_the_issuing_agencys_head(
    issued: Document, agency: Agency, other_agency: Agency, who: str, status: int
) -> None:
    user = {
        "head": lambda: factories.member(agency, Role.HEAD),
        "clerk": lambda: factories.member(agency, Role.CLERK),
        "other_head": lambda: factories.member(other_agency, Role.HEAD),
        "holder": lambda: issued.holder,
    }[who]()
    answer = Client().post(
        f"/api/v1/documents/{issued.number}/annul",
        json.dumps({"reason": "Issued in error"}),
        content_type="application/json",
        **bearer(user),
    )
    assert answer.status_code == status
    issued.refresh_from_db()
    assert issued.status == ("annulled" if status == 200 else "issued")


# --- the PKI's addresses ----------------------------------------------------------------------


def test_the_pki_publishes_its_certificates_revocations_and_timestamps(pki: Any) -> None:
    issuing = Certificate.objects.get(kind="issuing")
    certificate = Client().get(f"/pki/ca/{issuing.serial}.crt")
    assert certificate.status_code == 200
    assert x509.load_der_x509_certificate(certificate.content).serial_number == int(
        issuing.serial, 16
    )
    crl = Client().get(f"/pki/crl/{issuing.serial}.crl")
    assert crl.status_code == 200 and crl["Content-Type"] == "application/pkix-crl"
    assert (
        x509.load_der_x509_crl(crl.content).issuer
        == x509.load_der_x509_certificate(certificate.content).subject
    )
    assert Client().get("/pki/crl/abcdef.crl").status_code == 404
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": b"\x11" * 32,
            },
            "nonce": 42,
            "cert_req": True,
        }
    ).dump()
    answer = Client().post("/pki/tsa", request, content_type="application/timestamp-query")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/timestamp-reply"
    reply = tsp.TimeStampResp.load(answer.content)
    assert reply["status"]["status"].native == "granted"
    wrong = Client().post("/pki/tsa", request, content_type="application/json")
    assert wrong.status_code == 415


def test_an_oversize_upload_is_refused_without_being_read_whole(
    pki: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    monkeypatch.setattr(selectors, "MAX_UPLOAD", 1000)
    big = b"%PDF-1.7\n" + b"0" * 2000
    page = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/verify/", {"file": SimpleUploadedFile("d.pdf", big)}
    )
    assert page.status_code == 400
    assert "The file is too large to be a document." in page.content.decode()
    answer = Client().post(
        "/api/v1/documents/verify-file", {"file": SimpleUploadedFile("d.pdf", big)}
    )
    assert answer.status_code == 422 and answer.json()["code"] == "too_large"
