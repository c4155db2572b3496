"""Attached files over the API: attach, list, download, remove; who may; errors as problems."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from shanyraq.accounts.services import token_create
from shanyraq.casework import services
from shanyraq.casework.models import Application, Attachment
from shanyraq.casework.tests import attachments_fixture, services_fixture
from shanyraq.casework.tests.attachments_fixture import PDF, PNG, attach, draft, stored_files
from shanyraq.casework.tests.services_fixture import World
from shanyraq.core.scanning import EICAR

english = services_fixture.english
ledger_log = services_fixture.ledger_log
world = services_fixture.world
file_store = attachments_fixture.file_store
docs_service = attachments_fixture.docs_service

pytestmark = pytest.mark.django_db


def client_for(user: Any, language: str = "en") -> Client:
    if user is None:
        return Client(HTTP_ACCEPT_LANGUAGE=language)
    _token, secret = token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE=language)


def files_url(application: Application) -> str:
    return f"/api/v1/applications/{application.number}/attachments"


def post_file(
    client: Client,
    application: Application,
    field: str,
    name: str,
    content: bytes,
    content_type: str = "application/pdf",
) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        files_url(application),
        {"field": field, "file": SimpleUploadedFile(name, content, content_type=content_type)},
    )


def test_a_file_is_attached_listed_downloaded_and_removed(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    client = client_for(world.applicant)
    created = post_file(client, application, "contract", "contract.pdf", PDF)
    assert created.status_code == 201, created.content
    body = created.json()
    attachment = Attachment.objects.get()
    assert body == {
        "id": str(attachment.public_id),
        "field": "contract",
        "name": "contract.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "created_at": body["created_at"],
    }
    application.refresh_from_db()
    assert application.answers["contract"] == body["id"]

    listed = client.get(files_url(application))
    assert listed.status_code == 200
    assert listed.json() == {"count": 1, "items": [body]}

    download = client.get(f"{files_url(application)}/{body['id']}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == (
        "attachment; filename=\"contract.pdf\"; filename*=UTF-8''contract.pdf"
    )
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "sandbox"
    assert download["Cache-Control"] == "private, no-store"

    removed = client.delete(f"{files_url(application)}/{body['id']}")
    assert removed.status_code == 204
    assert not Attachment.objects.exists()
    application.refresh_from_db()
    assert "contract" not in application.answers


def test_a_refused_file_is_a_problem_in_the_callers_language(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    response = post_file(
        client_for(world.applicant, "ru"), application, "contract", "contract.pdf", PNG
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response["Content-Language"] == "ru"
    with translation.override("ru"):
        expected = translation.gettext("The file is not a %(kind)s, although its name says so.") % {
            "kind": "PDF"
        }
    body = response.json()
    assert (body["code"], body["detail"]) == ("file_type_mismatch", expected)
    assert body["errors"] == [{"field": "file", "message": expected}]
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []


@pytest.mark.parametrize(
    ("field", "name", "content", "status", "code"),
    [
        ("contract", "big.pdf", PDF + b"%" * 3000, 422, "file_too_large"),
        ("contract", "empty.pdf", b"", 422, "file_empty"),
        ("deed", "contract.pdf", PDF, 422, "unknown_field"),
        ("note", "contract.pdf", PDF, 422, "not_an_attachment_field"),
    ],
)
def test_bad_uploads_write_nothing(
    world: World,
    docs_service: Any,
    file_store: Path,
    field: str,
    name: str,
    content: bytes,
    status: int,
    code: str,
) -> None:
    response = post_file(client_for(world.applicant), draft(world), field, name, content)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []


def test_a_harmful_file_is_refused_in_the_callers_language(
    world: World, docs_service: Any, file_store: Path
) -> None:
    response = post_file(
        client_for(world.applicant, "kk"), draft(world), "contract", "contract.pdf", PDF + EICAR
    )
    assert response.status_code == 422
    with translation.override("kk"):
        expected = translation.gettext(
            "The file contains a virus or other harmful software, so it was not attached. "
            "Check your device and attach a clean copy."
        )
    assert expected != (
        "The file contains a virus or other harmful software, so it was not attached. "
        "Check your device and attach a clean copy."
    )
    assert (response.json()["code"], response.json()["detail"]) == ("file_infected", expected)
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []


def test_a_request_without_a_file_is_invalid(world: World, docs_service: Any) -> None:
    response = client_for(world.applicant).post(files_url(draft(world)), {"field": "contract"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_parameters"


def test_nobody_attaches_to_another_persons_or_a_submitted_application(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    for someone in (world.stranger, world.buyer):
        response = post_file(client_for(someone), application, "contract", "c.pdf", PDF)
        assert response.status_code == 404
    assert post_file(Client(), application, "contract", "c.pdf", PDF).status_code == 401
    attach(application)
    services.application_submit(application=application, applicant=world.applicant)
    response = post_file(
        client_for(world.applicant), application, "photo", "p.png", PNG, "image/png"
    )
    assert (response.status_code, response.json()["code"]) == (409, "attachments_closed")
    removed = client_for(world.applicant).delete(
        f"{files_url(application)}/{application.attachments.get().public_id}"
    )
    assert (removed.status_code, removed.json()["code"]) == (409, "not_a_draft")
    assert Attachment.objects.count() == 1


READ_MATRIX = {
    "applicant": 200,
    "party": 200,
    "clerk": 200,
    "reviewer": 200,
    "head": 200,
    "official of another agency": 404,
    "agency admin": 404,
    "another citizen": 404,
    "anonymous": 401,
}


def test_who_may_list_and_download_the_files(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    attachment = attach(application)
    services.application_submit(application=application, applicant=world.applicant)
    people = {
        "applicant": world.applicant,
        "party": world.buyer,
        "clerk": world.clerk,
        "reviewer": world.reviewer,
        "head": world.head,
        "official of another agency": world.other_reviewer,
        "agency admin": world.admin,
        "another citizen": world.stranger,
        "anonymous": None,
    }
    for who, person in people.items():
        client = client_for(person)
        listed = client.get(files_url(application))
        download = client.get(f"{files_url(application)}/{attachment.public_id}")
        assert (listed.status_code, download.status_code) == (READ_MATRIX[who],) * 2, who
        if READ_MATRIX[who] == 200:
            assert b"".join(download.streaming_content) == PDF
        else:
            assert PDF not in download.content


def test_a_drafts_files_are_only_the_applicants(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    attachment = attach(application)
    for person in (world.buyer, world.reviewer, world.head):
        response = client_for(person).get(f"{files_url(application)}/{attachment.public_id}")
        assert response.status_code == 404


def test_unknown_files_are_not_found(world: World, docs_service: Any, file_store: Path) -> None:
    application = draft(world)
    client = client_for(world.applicant)
    for file_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert client.get(f"{files_url(application)}/{file_id}").status_code == 404
        assert client.delete(f"{files_url(application)}/{file_id}").status_code == 404


def test_submitting_over_the_api_refuses_a_foreign_file(
    world: World, docs_service: Any, file_store: Path
) -> None:
    mine, theirs = draft(world), draft(world, world.spouse)
    foreign = attach(theirs)
    client = client_for(world.applicant)
    response = client.patch(
        f"/api/v1/applications/{mine.number}",
        {"answers": {"contract": str(foreign.public_id)}, "step": 1},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["details"]["problems"] == [
        {"field": "contract", "message": "This file is not attached to this application."}
    ]


def test_uploads_past_the_platform_cap_are_cut_on_the_way_in(
    world: World, docs_service: Any, file_store: Path, settings: Any, monkeypatch: Any
) -> None:
    from shanyraq.core import files as storage

    settings.ATTACHMENT_MAX_BYTES = 3000
    seen: list[int] = []
    receive = storage.FileStore.receive

    def counting(self: Any, chunks: Any, *, max_bytes: int) -> Any:
        def counted() -> Any:
            for chunk in chunks:
                seen.append(len(chunk))
                yield chunk

        return receive(self, counted(), max_bytes=max_bytes)

    monkeypatch.setattr(storage.FileStore, "receive", counting)
    big = PNG + b"\x00" * 500_000
    response = post_file(
        client_for(world.applicant), draft(world), "photo", "p.png", big, "image/png"
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "The file is too large: it can be at most 3 KB."
    assert sum(seen) == 3001  # Django kept no more than one byte past the cap
    assert stored_files(file_store) == []
