"""The files of a case in the back office: listed on the case page, downloaded by the officials
of its agency and by nobody else."""

from __future__ import annotations

from typing import Any

import pytest

from shanyraq.casework import services
from shanyraq.casework.models import Application
from shanyraq.casework.tests import attachments_fixture, services_fixture
from shanyraq.casework.tests.attachments_fixture import JPEG, PDF, attach, draft
from shanyraq.casework.tests.services_fixture import World
from shanyraq.conftest import client_for as signed_in
from shanyraq.testing import factories

english = services_fixture.english
ledger_log = services_fixture.ledger_log
world = services_fixture.world
file_store = attachments_fixture.file_store
docs_service = attachments_fixture.docs_service

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Any:
    client = signed_in(user)
    client.cookies["shanyraq_language"] = "en"
    return client


def submitted(world: World) -> Application:
    application = draft(world)
    attach(application, name="Сату шарты.pdf")
    attach(application, field="photo", name="flat.jpg", content=JPEG, content_type="image/jpeg")
    application.refresh_from_db()
    services.application_save(
        application=application,
        applicant=world.applicant,
        values={k: application.answers[k] for k in ("contract", "photo")},
        step=1,
    )
    return services.application_submit(application=application, applicant=world.applicant)


def test_the_case_page_lists_the_files_with_links(world: World, docs_service: Any) -> None:
    application = submitted(world)
    contract = application.attachments.get(field="contract")
    response = client_for(world.reviewer).get(f"/backoffice/cases/{application.number}/")
    assert response.status_code == 200
    html = response.content.decode()
    url = f"/backoffice/cases/{application.number}/files/{contract.public_id}/"
    assert f'<a class="govuk-link" href="{url}">Сату шарты.pdf</a>' in html
    assert "PDF, 0,1 KB" in html or "PDF, 0.1 KB" in html
    assert "JPEG, 0,1 KB" in html or "JPEG, 0.1 KB" in html
    # The answer names the file, not its identifier.
    assert str(contract.public_id) not in html.replace(url, "")


def test_who_may_download_a_cases_file(world: World, docs_service: Any) -> None:
    application = submitted(world)
    contract = application.attachments.get(field="contract")
    url = f"/backoffice/cases/{application.number}/files/{contract.public_id}/"
    expected = {
        "anonymous": (None, 302),
        "applicant": (world.applicant, 403),
        "party": (world.buyer, 403),
        "another citizen": (world.stranger, 403),
        "clerk": (world.clerk, 200),
        "reviewer": (world.reviewer, 200),
        "head": (world.head, 200),
        "official of another agency": (world.other_reviewer, 404),
        "head of another agency": (world.other_head, 404),
        "agency admin": (world.admin, 403),
        "auditor": (factories.StaffFactory(is_auditor=True), 403),
    }
    for who, (person, status) in expected.items():
        response = client_for(person).get(url)
        assert response.status_code == status, who
        if status == 200:
            assert b"".join(response.streaming_content) == PDF
            assert response["Content-Type"] == "application/pdf"
            assert response["Content-Disposition"].startswith('attachment; filename="file.pdf"')
            assert response["X-Content-Type-Options"] == "nosniff"
            assert response["Content-Security-Policy"] == "sandbox"
            # The back office's pages are never cached; the file's own "private, no-store" stays.
            assert {"private", "no-store"} <= set(response["Cache-Control"].split(", "))
        else:
            assert PDF not in response.content
            if status == 302:
                assert response["Location"].startswith("/staff/login/")


def test_a_drafts_files_and_unknown_files_are_not_found(world: World, docs_service: Any) -> None:
    application = draft(world)
    attachment = attach(application)
    url = f"/backoffice/cases/{application.number}/files/{attachment.public_id}/"
    assert client_for(world.reviewer).get(url).status_code == 404
    submitted_one = submitted(world)
    unknown = f"/backoffice/cases/{submitted_one.number}/files/{attachment.public_id}/"
    assert client_for(world.reviewer).get(unknown).status_code == 404
