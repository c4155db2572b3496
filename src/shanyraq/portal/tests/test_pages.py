from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shanyraq.testing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(agency):
    factories.CategoryFactory(code="family")
    factories.LifeEventFactory(code="birth-of-child")
    return factories.published_service(
        agency=agency,
        code="birth-registration",
        category="family",
        life_events=["birth-of-child"],
        name={
            "kk": "Баланың тууын тіркеу",
            "ru": "Регистрация рождения",
            "en": "Birth registration",
        },
        fee_kzt="1150",
        deadline_days=3,
        fully_online=True,
        esign_required=True,
        required_documents=[{"kk": "Анықтама қаз", "ru": "Справка", "en": "Medical certificate"}],
    )


PAGES = [
    "/",
    "/services/",
    "/search/?q=birth",
    "/agencies/",
    "/agencies/justice/",
    "/life-events/",
    "/metrics/",
    "/services/birth-registration/",
    "/login/",
    "/staff/login/",
    "/accessibility/",
]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_every_page_renders_in_each_language(published, path, lang):
    client = Client()
    client.cookies["shanyraq_language"] = lang
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}"' in html
    assert 'href="#main-content"' in html


def test_passport_shows_every_field(published):
    client = Client()
    client.cookies["shanyraq_language"] = "en"
    html = client.get("/services/birth-registration/").content.decode()
    for expected in [
        "Birth registration",
        "Agency justice eng",
        "Who eng",
        "Result eng",
        "Law eng",
        "Medical certificate",
        "1,150.00 ₸",
        "3 working days",
        "Fully online",
        "E-signature required",
    ]:
        assert expected in html, expected


def test_passport_in_kazakh_and_russian(published):
    client = Client()
    client.cookies["shanyraq_language"] = "kk"
    assert "Баланың тууын тіркеу" in client.get("/services/birth-registration/").content.decode()
    client.cookies["shanyraq_language"] = "ru"
    html = client.get("/services/birth-registration/").content.decode()
    assert "Регистрация рождения" in html
    assert "Справка" in html


@pytest.mark.parametrize("q", ["тууын", "рождения", "Birth", "BIRTH registration"])
def test_search_finds_by_words_in_any_language(published, q):
    html = Client().get("/search/", {"q": q}).content.decode()
    assert "/services/birth-registration/" in html


def test_search_without_match(published):
    html = Client().get("/search/", {"q": "zzzz"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "/services/birth-registration/" not in html
    assert "No service matches." in html


def test_language_switch_is_remembered(published):
    client = Client()
    response = client.get("/language/ru/", {"next": "/services/"})
    assert response.status_code == 302
    assert response["Location"] == "/services/"
    assert client.cookies["shanyraq_language"].value == "ru"
    assert '<html lang="ru"' in client.get("/").content.decode()
    assert 'href="/language/en/?next=/"' in client.get("/").content.decode()


def test_unknown_language_is_ignored(published):
    client = Client()
    response = client.get("/language/xx/", {"next": "/"})
    assert response["Location"] == "/"
    assert "shanyraq_language" not in response.cookies
    assert '<html lang="kk"' in client.get("/").content.decode()


def test_language_switch_never_leaves_the_site(published):
    response = Client().get("/language/en/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_signed_in_person_keeps_the_chosen_language(citizen):
    client = Client()
    client.force_login(citizen)
    client.get("/language/ru/", {"next": "/"})
    citizen.refresh_from_db()
    assert citizen.preferred_language == "ru"


def test_anonymous_catalog_pages_come_from_the_cache_until_publication(published, agency):
    client = Client()
    client.cookies["shanyraq_language"] = "en"
    first = client.get("/services/")
    assert "shanyraq_language" not in first.cookies and "csrftoken" not in first.cookies
    with CaptureQueriesContext(connection) as cached:
        again = client.get("/services/")
    assert len(cached) == 1  # the catalog generation
    assert again.content == first.content
    factories.published_service(agency=agency, code="brand-new")
    assert "/services/brand-new/" in client.get("/services/").content.decode()


def test_unknown_service_gets_a_translated_404(db):
    client = Client()
    client.cookies["shanyraq_language"] = "en"
    response = client.get("/services/no-such-thing/")
    assert response.status_code == 404
    assert "There is no such service in the catalog." in response.content.decode()


@pytest.mark.parametrize("query", ["category=nope", "page=0", "page=abc", "q=" + "x" * 300])
def test_bad_filters_get_400_with_a_message(published, query):
    client = Client()
    client.cookies["shanyraq_language"] = "en"
    response = client.get(f"/services/?{query}")
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()


def test_filters(published, agency):
    factories.published_service(agency=agency, code="other-service")
    html = Client().get("/services/", {"life_event": "birth-of-child"}).content.decode()
    assert "/services/birth-registration/" in html
    assert "/services/other-service/" not in html


def test_catalog_list_query_count_is_bounded(published, agency):
    with CaptureQueriesContext(connection) as small:
        Client().get("/services/")
    for i in range(10):
        factories.published_service(agency=agency, code=f"more-{i}")
    with CaptureQueriesContext(connection) as large:
        Client().get("/services/")
    assert len(large) == len(small)


def test_security_headers(db):
    response = Client().get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_metrics_page_shows_shares(published):
    client = Client()
    client.cookies["shanyraq_language"] = "en"
    html = client.get("/metrics/").content.decode()
    assert "1 (100.0%)" in html
    assert "0 (0.0%)" in html


def test_unknown_api_path_gets_a_problem_document(db):
    response = Client().get("/api/v1/no-such-endpoint", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "There is no such API endpoint."
