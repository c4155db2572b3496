"""Files in the portal: the form's file inputs, attaching with "Save and continue", replacing
and removing, the review and the application's page, answers with a file, and downloads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shanyraq.casework import services
from shanyraq.casework.models import Application, Attachment, Status
from shanyraq.casework.tests import attachments_fixture, services_fixture
from shanyraq.casework.tests.attachments_fixture import (
    HTML,
    JPEG,
    PDF,
    PNG,
    attach,
    draft,
    stored_files,
)
from shanyraq.casework.tests.services_fixture import World
from shanyraq.conftest import client_for as signed_in
from shanyraq.core.scanning import EICAR

english = services_fixture.english
ledger_log = services_fixture.ledger_log
world = services_fixture.world
file_store = attachments_fixture.file_store
docs_service = attachments_fixture.docs_service

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Any:
    """A browser signed in as ``user`` (None: nobody), reading the pages in English."""
    client = signed_in(user)
    client.cookies["shanyraq_language"] = "en"
    return client


def step_url(application: Application, index: int = 1) -> str:
    return f"/account/applications/{application.number}/step/{index}/"


def file_url(application: Application, attachment: Attachment) -> str:
    return f"/account/applications/{application.number}/files/{attachment.public_id}/"


def page(response: Any) -> str:
    return response.content.decode()


def pdf(name: str = "contract.pdf", content: bytes = PDF, kind: str = "application/pdf") -> Any:
    return SimpleUploadedFile(name, content, content_type=kind)


def submitted(world: World) -> Application:
    application = draft(world)
    attach(application)
    services.application_save(
        application=application,
        applicant=world.applicant,
        values={"contract": str(application.attachments.get().public_id)},
        step=1,
    )
    return services.application_submit(application=application, applicant=world.applicant)


def test_a_step_asking_for_files_has_file_inputs_with_their_limits(
    world: World, docs_service: Any
) -> None:
    application = draft(world)
    client = client_for(world.applicant)
    first = page(client.get(step_url(application, 0)))
    assert "multipart/form-data" not in first
    html = page(client.get(step_url(application)))
    assert 'enctype="multipart/form-data"' in html
    assert (
        '<input class="govuk-file-upload" id="field-contract" name="contract" type="file" '
        'accept="application/pdf,.pdf" aria-describedby="field-contract-hint">'
    ) in html
    assert "The contract both of you signed. PDF, at most 2 KB." in html
    assert 'accept="application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"' in html
    assert "PDF, JPEG, PNG, at most 10 MB." in html


def test_a_file_is_attached_with_save_and_continue_and_shown_everywhere(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    client = client_for(world.applicant)
    response = client.post(step_url(application), {"contract": pdf("Шарт.pdf")})
    assert response.status_code == 302
    assert response["Location"] == f"/account/applications/{application.number}/review/"
    attachment = Attachment.objects.get()
    application.refresh_from_db()
    assert application.answers == {
        "buyer_iin": world.buyer.iin,
        "contract": str(attachment.public_id),
    }
    assert application.form_step == 2

    html = page(client.get(step_url(application)))
    assert f'<a class="govuk-link" href="{file_url(application, attachment)}">Шарт.pdf</a>' in html
    assert f"{file_url(application, attachment)}remove/" in html
    assert 'aria-describedby="field-contract-hint field-contract-attached"' in html

    review = page(client.get(f"/account/applications/{application.number}/review/"))
    assert f'href="{file_url(application, attachment)}">Шарт.pdf</a>' in review

    # Saving the step again without a new file keeps the file.
    assert client.post(step_url(application), {}).status_code == 302
    application.refresh_from_db()
    assert application.answers["contract"] == str(attachment.public_id)

    submitted = client.post(
        f"/account/applications/{application.number}/review/", {"idempotency_key": "k1"}
    )
    assert submitted.status_code == 302
    detail = page(client.get(f"/account/applications/{application.number}/"))
    assert "Attached files" in detail
    assert f'href="{file_url(application, attachment)}">Шарт.pdf</a>' in detail


def test_a_new_file_replaces_the_old_one(world: World, docs_service: Any) -> None:
    application = draft(world)
    client = client_for(world.applicant)
    client.post(step_url(application), {"contract": pdf("v1.pdf")})
    client.post(step_url(application), {"contract": pdf("v2.pdf", PDF + b"%v2\n")})
    assert list(Attachment.objects.values_list("name", flat=True)) == ["v2.pdf"]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            ("contract.pdf", PNG, "application/pdf"),
            "The file is not a PDF, although its name says so.",
        ),
        (
            ("contract.pdf", HTML, "application/pdf"),
            "The file is not a PDF, although its name says so.",
        ),
        (("contract.pdf", b"", "application/pdf"), "The file is empty."),
        (
            ("contract.pdf", PDF + EICAR, "application/pdf"),
            "The file contains a virus or other harmful software, so it was not attached. "
            "Check your device and attach a clean copy.",
        ),
        (("scan.jpg", JPEG, "image/jpeg"), "Only these files can be attached here: PDF."),
        (
            ("contract.pdf", PDF + b"%" * 2000, "application/pdf"),
            "The file is too large: it can be at most 2 KB.",
        ),
    ],
)
def test_a_refused_file_is_told_next_to_its_input_and_nothing_is_kept(
    world: World, docs_service: Any, file_store: Path, upload: tuple[str, bytes, str], message: str
) -> None:
    application = draft(world)
    response = client_for(world.applicant).post(step_url(application), {"contract": pdf(*upload)})
    assert response.status_code == 400
    html = page(response)
    assert f'<a href="#field-contract">Signed contract: {message}</a>' in html
    assert '<p id="field-contract-error" class="govuk-error-message">' in html
    assert message in html.split('id="field-contract-error"')[1]
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []
    application.refresh_from_db()
    assert "contract" not in application.answers


def test_a_refused_file_keeps_the_one_attached_before(world: World, docs_service: Any) -> None:
    application = draft(world)
    client = client_for(world.applicant)
    client.post(step_url(application), {"contract": pdf()})
    kept = Attachment.objects.get()
    response = client.post(step_url(application), {"contract": pdf("x.pdf", PNG)})
    assert response.status_code == 400
    assert f'href="{file_url(application, kept)}">contract.pdf</a>' in page(response)
    application.refresh_from_db()
    assert application.answers["contract"] == str(kept.public_id)


def test_a_file_is_removed_after_a_confirmation(
    world: World, docs_service: Any, file_store: Path, django_capture_on_commit_callbacks: Any
) -> None:
    application = draft(world)
    attachment = attach(application)
    client = client_for(world.applicant)
    url = f"{file_url(application, attachment)}remove/"
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Remove the file?" in page(confirm)
    assert Attachment.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        removed = client.post(url)
    assert (removed.status_code, removed["Location"]) == (302, step_url(application))
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []
    application.refresh_from_db()
    assert "contract" not in application.answers
    assert "The file contract.pdf was removed." in page(client.get(step_url(application)))


def test_nobody_else_removes_a_file(world: World, docs_service: Any) -> None:
    application = draft(world)
    attachment = attach(application)
    url = f"{file_url(application, attachment)}remove/"
    assert client_for(world.stranger).post(url).status_code == 404
    assert client_for(None).post(url).status_code == 302
    assert Attachment.objects.exists()


def test_the_download_is_a_sandboxed_attachment(world: World, docs_service: Any) -> None:
    application = draft(world)
    attachment = attach(application, name="Сату шарты.pdf")
    response = client_for(world.applicant).get(file_url(application, attachment))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="file.pdf"; '
        "filename*=UTF-8''%D0%A1%D0%B0%D1%82%D1%83%20%D1%88%D0%B0%D1%80%D1%82%D1%8B.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Length"] == str(len(PDF))


def test_who_may_download_from_the_portal(world: World, docs_service: Any) -> None:
    application = submitted(world)
    attachment = application.attachments.get()
    url = file_url(application, attachment)
    expected = {
        "applicant": (world.applicant, 200),
        "party": (world.buyer, 200),
        "another citizen": (world.stranger, 404),
        # Officials sign in without an IIN: the portal's pages are not theirs (403), and the
        # back office serves them the files of their agency's cases.
        "official of the agency": (world.reviewer, 403),
        "official of another agency": (world.other_reviewer, 403),
    }
    for who, (person, status) in expected.items():
        response = client_for(person).get(url)
        assert response.status_code == status, who
        if status != 200:
            assert PDF not in response.content
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")


def test_a_drafts_file_is_not_the_partys_yet(world: World, docs_service: Any) -> None:
    application = draft(world)
    attachment = attach(application)
    assert client_for(world.buyer).get(file_url(application, attachment)).status_code == 404


def test_the_party_sees_the_files_on_the_application(world: World, docs_service: Any) -> None:
    application = submitted(world)
    attachment = application.attachments.get()
    html = page(client_for(world.buyer).get(f"/account/applications/{application.number}/"))
    assert html.count(f'href="{file_url(application, attachment)}">contract.pdf</a>') == 2


def paused(world: World) -> Application:
    application = submitted(world)
    services.party_respond(application=application, person=world.buyer, accept=True)
    services.case_act(
        application=application, official=world.reviewer, action="request_info", note="Consent?"
    )
    application.refresh_from_db()
    assert application.status == Status.PAUSED
    return application


def test_an_answer_to_the_agency_can_bring_a_file(world: World, docs_service: Any) -> None:
    application = paused(world)
    client = client_for(world.applicant)
    html = page(client.get(f"/account/applications/{application.number}/"))
    assert 'enctype="multipart/form-data"' in html
    assert 'id="answer-file" name="file" type="file"' in html
    response = client.post(
        f"/account/applications/{application.number}/answer/",
        {"answer": "Here is the consent.", "file": pdf("consent.jpg", JPEG, "image/jpeg")},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.ACTIVE
    sent = Attachment.objects.get(field="")
    assert (sent.name, sent.content_type) == ("consent.jpg", "image/jpeg")
    detail = page(client.get(f"/account/applications/{application.number}/"))
    assert "Sent with your answer" in detail


def test_a_refused_file_stops_the_answer(world: World, docs_service: Any, file_store: Path) -> None:
    application = paused(world)
    before = stored_files(file_store)
    response = client_for(world.applicant).post(
        f"/account/applications/{application.number}/answer/",
        {"answer": "Here it is.", "file": pdf("consent.pdf", HTML)},
    )
    assert response.status_code == 400
    html = page(response)
    assert '<a href="#answer-file">The file is not a PDF, although its name says so.</a>' in html
    assert re.search(r'<textarea[^>]*id="answer"[^>]*>Here it is\.</textarea>', html)
    application.refresh_from_db()
    assert application.status == Status.PAUSED
    assert Attachment.objects.count() == 1
    assert stored_files(file_store) == before
