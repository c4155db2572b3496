"""Who may see and do what in the back office: every page, every kind of person."""

from __future__ import annotations

import pytest

from shanyraq.catalog.models import Service, ServiceVersion, VersionStatus
from shanyraq.conftest import client_for
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(agency):
    service = factories.published_service(agency=agency, code="apostille").service
    service.refresh_from_db()
    return service


@pytest.fixture
def people(citizen, clerk, agency_admin, other_admin, auditor, platform_admin):
    return {
        "anonymous": None,
        "citizen": citizen,
        "clerk": clerk,
        "agency_admin": agency_admin,
        "other_admin": other_admin,
        "auditor": auditor,
        "platform_admin": platform_admin,
    }


# Expected status per person for each GET page; 302 means "sent to the staff sign-in".
READ_MATRIX = {
    "/backoffice/": {
        "anonymous": 302,
        "citizen": 403,
        "clerk": 200,
        "agency_admin": 200,
        "other_admin": 200,
        "auditor": 200,
        "platform_admin": 200,
    },
    "/backoffice/services/": {
        "anonymous": 302,
        "citizen": 403,
        "clerk": 200,
        "agency_admin": 200,
        "other_admin": 200,
        "auditor": 200,
        "platform_admin": 200,
    },
    "/backoffice/services/apostille/": {
        "anonymous": 302,
        "citizen": 403,
        "clerk": 200,
        "agency_admin": 200,
        "other_admin": 403,
        "auditor": 200,
        "platform_admin": 200,
    },
    "/backoffice/services/apostille/versions/1/": {
        "anonymous": 302,
        "citizen": 403,
        "clerk": 200,
        "agency_admin": 200,
        "other_admin": 403,
        "auditor": 200,
        "platform_admin": 200,
    },
    "/backoffice/services/new/": {
        "anonymous": 302,
        "citizen": 403,
        "clerk": 403,
        "agency_admin": 200,
        "other_admin": 200,
        "auditor": 403,
        "platform_admin": 403,
    },
    "/backoffice/audit/": {
        "anonymous": 302,
        "citizen": 403,
        "clerk": 403,
        "agency_admin": 403,
        "other_admin": 403,
        "auditor": 200,
        "platform_admin": 200,
    },
}


@pytest.mark.parametrize("path", list(READ_MATRIX))
def test_read_matrix(people, service, path):
    for who, expected in READ_MATRIX[path].items():
        response = client_for(people[who]).get(path)
        assert response.status_code == expected, (path, who, response.status_code)
        if expected == 302:
            assert response["Location"].startswith("/staff/login/")


def test_service_list_shows_only_own_agency(people, service, other_agency):
    factories.published_service(agency=other_agency, code="clinic")
    page = client_for(people["clerk"]).get("/backoffice/services/").content.decode()
    assert "/backoffice/services/apostille/" in page
    assert "/backoffice/services/clinic/" not in page
    page = client_for(people["auditor"]).get("/backoffice/services/").content.decode()
    assert "/backoffice/services/clinic/" in page


@pytest.mark.parametrize(
    "who", ["anonymous", "citizen", "clerk", "other_admin", "auditor", "platform_admin"]
)
def test_only_the_agency_admin_can_open_a_draft(people, service, who):
    response = client_for(people[who]).post("/backoffice/services/apostille/draft/")
    assert response.status_code in {302, 403}
    if response.status_code == 302:
        assert response["Location"].startswith("/staff/login/")
    assert service.versions.count() == 1


def edit_payload(version: ServiceVersion, **changes: str) -> dict[str, object]:
    from shanyraq.backoffice.forms import ServiceVersionForm
    from shanyraq.catalog.services import ServiceContent

    data = ServiceVersionForm.initial_from(ServiceContent.from_version(version))
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False and v is not None}


def test_agency_admin_drafts_edits_and_publishes_through_pages(people, service):
    client = client_for(people["agency_admin"])
    response = client.post("/backoffice/services/apostille/draft/")
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/services/apostille/versions/2/"
    draft = service.versions.get(number=2)
    response = client.post(
        "/backoffice/services/apostille/versions/2/",
        edit_payload(draft, name_en="Apostille of public documents", deadline_days="3"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.name.en == "Apostille of public documents"
    assert draft.deadline_days == 3
    response = client.post("/backoffice/services/apostille/versions/2/publish/")
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.current_version.number == 2
    assert service.current_version.status == VersionStatus.PUBLISHED


@pytest.mark.parametrize("who", ["clerk", "other_admin", "auditor", "platform_admin", "citizen"])
def test_others_cannot_edit_or_publish_a_draft(people, service, agency_admin, who):
    from shanyraq.catalog import services

    draft = services.service_version_draft(actor=agency_admin, service=service)
    client = client_for(people[who])
    response = client.post(
        f"/backoffice/services/apostille/versions/{draft.number}/",
        edit_payload(draft, name_en="Hijacked"),
    )
    assert response.status_code == 403
    response = client.post(f"/backoffice/services/apostille/versions/{draft.number}/publish/")
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.name.en != "Hijacked"
    assert draft.status == VersionStatus.DRAFT


def test_published_version_cannot_be_edited_through_the_page(people, service):
    version = service.current_version
    response = client_for(people["agency_admin"]).post(
        "/backoffice/services/apostille/versions/1/", edit_payload(version, name_en="Changed")
    )
    assert response.status_code == 409
    version.refresh_from_db()
    assert version.name.en != "Changed"


def test_agency_admin_creates_a_service_for_own_agency_only(people, agency, other_agency):
    category = factories.CategoryFactory(code="documents")
    base = {
        "category": category.code,
        "fee_kzt": "0",
        "deadline_days": "5",
        "fully_online": "on",
        **{
            f"{f}_{lang}": f"{f} {lang}"
            for f in ("name", "description", "who_may_apply", "result", "legal_basis")
            for lang in ("kk", "ru", "en")
        },
    }
    client = client_for(people["agency_admin"])
    response = client.post(
        "/backoffice/services/new/", {**base, "agency": agency.code, "code": "new-one"}
    )
    assert response.status_code == 302
    created = Service.objects.get(code="new-one")
    assert created.agency == agency
    assert created.current_version is None
    response = client.post(
        "/backoffice/services/new/", {**base, "agency": other_agency.code, "code": "foreign"}
    )
    assert response.status_code == 400
    assert not Service.objects.filter(code="foreign").exists()


def test_bad_form_json_gets_a_message_and_changes_nothing(people, service, agency_admin):
    from shanyraq.catalog import services

    draft = services.service_version_draft(actor=agency_admin, service=service)
    response = client_for(agency_admin).post(
        f"/backoffice/services/apostille/versions/{draft.number}/",
        edit_payload(draft, form_definition="{not json", name_en="Changed"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "This is not valid JSON (line 1, column 2)." in response.content.decode()
    draft.refresh_from_db()
    assert draft.name.en != "Changed"


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("citizen", 302),
        ("clerk", 302),
        ("agency_admin", 302),
        ("auditor", 302),
        ("platform_admin", 200),
    ],
)
def test_platform_admin_site_is_for_platform_admins_only(people, who, expected):
    client = client_for(people[who])
    response = client.get("/admin/")
    assert response.status_code == expected
    if expected == 302:
        # The admin's own sign-in page hands over to the staff sign-in (with the second factor).
        assert response["Location"] == "/admin/login/?next=/admin/"
        handover = client.get(response["Location"])
        assert handover["Location"] == "/staff/login/?next=%2Fadmin%2F"


def test_admin_sign_in_hands_a_signed_in_platform_admin_straight_back(people):
    client = client_for(people["platform_admin"])
    response = client.get("/admin/login/?next=/admin/catalog/agency/")
    assert response["Location"] == "/admin/catalog/agency/"


def test_official_data_is_read_only_in_the_admin(people, service):
    version = service.current_version
    client = client_for(people["platform_admin"])
    page = client.get(f"/admin/catalog/serviceversion/{version.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = client.post(
        f"/admin/catalog/serviceversion/{version.pk}/change/", {"deadline_days": "99"}
    )
    assert response.status_code == 403
    assert client.post(f"/admin/catalog/serviceversion/{version.pk}/delete/").status_code == 403
    version.refresh_from_db()
    assert version.deadline_days == 5
