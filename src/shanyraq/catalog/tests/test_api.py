from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shanyraq.catalog.models import Service, ServiceVersion
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(agency, other_agency):
    family = factories.CategoryFactory(code="family")
    birth = factories.LifeEventFactory(code="birth-of-child")
    versions = [
        factories.published_service(
            agency=agency,
            code="birth-registration",
            category="family",
            life_events=["birth-of-child"],
            name={
                "kk": "Баланың тууын тіркеу",
                "ru": "Регистрация рождения",
                "en": "Birth registration",
            },
            fully_online=True,
            esign_required=True,
        ),
        factories.published_service(
            agency=agency, code="name-change", category="family", fully_online=True
        ),
        factories.published_service(agency=other_agency, code="clinic-attachment", proactive=True),
    ]
    return {"versions": versions, "family": family, "birth": birth}


def test_list_services_returns_count_items_and_three_languages(catalog):
    response = Client().get("/api/v1/services")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [s["code"] for s in body["items"]] == [
        "birth-registration",
        "clinic-attachment",
        "name-change",
    ]
    first = body["items"][0]
    assert first["name"] == {
        "kk": "Баланың тууын тіркеу",
        "ru": "Регистрация рождения",
        "en": "Birth registration",
    }
    assert set(first["description"]) == {"kk", "ru", "en"}
    assert first["agency"] == "justice"
    assert first["life_events"] == ["birth-of-child"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("agency=health", ["clinic-attachment"]),
        ("category=family", ["birth-registration", "name-change"]),
        ("life_event=birth-of-child", ["birth-registration"]),
        ("q=тууын", ["birth-registration"]),
        ("q=РОЖДЕНИЯ", ["birth-registration"]),
        ("q=birth%20registration", ["birth-registration"]),
        ("q=nothing-like-this", []),
    ],
)
def test_filters_and_search_in_any_language(catalog, query, expected):
    body = Client().get(f"/api/v1/services?{query}").json()
    assert [s["code"] for s in body["items"]] == expected
    assert body["count"] == len(expected)


def test_pagination(catalog):
    body = Client().get("/api/v1/services?page_size=2&page=2").json()
    assert body["count"] == 3
    assert body["pages"] == 2
    assert [s["code"] for s in body["items"]] == ["name-change"]
    assert body["next"] is None
    assert body["previous"] == "/api/v1/services?page_size=2&page=1"


def test_drafts_are_not_listed(catalog, agency, agency_admin):
    from shanyraq.catalog import services

    services.service_create(
        actor=agency_admin, agency=agency, code="unpublished", content=factories.content()
    )
    body = Client().get("/api/v1/services").json()
    assert "unpublished" not in [s["code"] for s in body["items"]]
    assert Client().get("/api/v1/services/unpublished").status_code == 404


def test_service_detail(catalog):
    body = Client().get("/api/v1/services/birth-registration").json()
    assert body["code"] == "birth-registration"
    assert body["version"] == 1
    assert body["agency_name"]["en"] == "Agency justice eng"
    assert body["legal_basis"] == factories.text("Law")
    assert body["fully_online"] is True and body["esign_required"] is True


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/services/no-such-service", 404, "service_not_found"),
        ("/api/v1/agencies/no-such-agency", 404, "agency_not_found"),
        ("/api/v1/services?page=0", 422, "invalid_parameters"),
        ("/api/v1/services?page=abc", 422, "invalid_parameters"),
        ("/api/v1/services?page_size=1000", 422, "invalid_parameters"),
        ("/api/v1/services?agency=BAD%20CODE", 422, "invalid_parameters"),
        ("/api/v1/services?q=" + "x" * 201, 422, "invalid_parameters"),
        ("/api/v1/me", 401, "not_authenticated"),
    ],
)
def test_bad_requests_get_problem_details(catalog, path, status, code):
    response = Client().get(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]


def test_problem_details_speak_the_callers_language(catalog):
    response = Client().get("/api/v1/services/none", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.json()["detail"] == "Такой услуги нет."
    response = Client().get("/api/v1/services/none", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["detail"] == "There is no such service."


def test_writes_are_not_allowed(catalog):
    before = ServiceVersion.objects.count()
    response = Client().post("/api/v1/services", data={}, content_type="application/json")
    assert response.status_code == 405
    assert ServiceVersion.objects.count() == before
    assert Service.objects.count() == 3


def test_agencies_list_counts_published_services(catalog):
    body = Client().get("/api/v1/agencies").json()
    assert body["count"] == 2
    counts = {a["code"]: a["published_services"] for a in body["items"]}
    assert counts == {"health": 1, "justice": 2}


def test_metrics(catalog):
    body = Client().get("/api/v1/catalog/metrics").json()
    assert body["overall"]["services"] == 3
    assert body["overall"]["fully_online"] == 2
    assert body["overall"]["share_fully_online"] == pytest.approx(0.6667)
    assert body["overall"]["share_proactive"] == pytest.approx(0.3333)
    justice = next(a for a in body["agencies"] if a["agency"] == "justice")
    assert (justice["services"], justice["share_esign_required"]) == (2, 0.5)


def test_list_query_count_does_not_grow_with_items(catalog, agency):
    with CaptureQueriesContext(connection) as small:
        Client().get("/api/v1/services")
    for i in range(10):
        factories.published_service(
            agency=agency, code=f"extra-{i}", life_events=["birth-of-child"]
        )
    with CaptureQueriesContext(connection) as large:
        Client().get("/api/v1/services")
    assert len(large) == len(small) <= 6
    # Until the catalog changes, the answer comes from the cache: one query for the generation.
    with CaptureQueriesContext(connection) as cached:
        again = Client().get("/api/v1/services")
    assert len(cached) == 1
    assert again.json()["count"] == 13


def test_bearer_token(citizen):
    from shanyraq.accounts.services import token_create

    _token, secret = token_create(user=citizen)
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response.json()["iin"] == citizen.iin
    assert response.json()["roles"] == ["citizen"]
    bad = Client().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer shq_wrong")
    assert bad.status_code == 401


def test_cached_answers_follow_publication(catalog, agency, agency_admin):
    from shanyraq.catalog import services

    first = Client().get("/api/v1/services").json()
    assert first["count"] == 3
    draft = services.service_create(
        actor=agency_admin, agency=agency, code="fresh", content=factories.content()
    )
    assert Client().get("/api/v1/services").json()["count"] == 3
    services.service_version_publish(actor=agency_admin, version=draft)
    assert Client().get("/api/v1/services").json()["count"] == 4
    assert Client().get("/api/v1/services/fresh").status_code == 200
