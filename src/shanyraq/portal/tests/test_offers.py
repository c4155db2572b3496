"""The portal's offers and consents: one's own only, answered with one action."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from shanyraq.casework.models import Application
from shanyraq.events import services as events
from shanyraq.proactive.models import Consent, Offer, OfferStatus
from shanyraq.proactive.tests import fixture
from shanyraq.proactive.tests.fixture import Family, announce_birth

english = fixture.english
ledger_log = fixture.ledger_log
family = fixture.family

pytestmark = pytest.mark.django_db


def _client(user: object) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _offered(family: Family) -> tuple[Offer, Offer]:
    event = announce_birth(family)
    events.events_dispatch()
    offers = {o.iin: o for o in Offer.objects.filter(event=event)}
    return offers[family.mother.iin], offers[family.father.iin]


def test_the_pages_need_a_signed_in_person(family: Family) -> None:
    mother, _father = _offered(family)
    for url in ("/account/offers/", f"/account/offers/{mother.public_id}/", "/account/consents/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    response = Client().post(f"/account/offers/{mother.public_id}/answer/", {"answer": "accept"})
    assert response.status_code == 302
    mother.refresh_from_db()
    assert mother.status == OfferStatus.OPEN


def test_a_person_sees_their_offer_with_what_will_be_applied_for(family: Family) -> None:
    mother, _father = _offered(family)
    client = _client(family.mother)
    listing = client.get("/account/offers/")
    assert listing.status_code == 200
    assert "The birth of a child" in listing.content.decode()
    page = client.get(f"/account/offers/{mother.public_id}/").content.decode()
    assert "Childbirth benefit" in page and "Birth certificate" in page
    assert "Child&#x27;s IIN" in page and mother.items.first().answers["child_iin"] in page
    assert "Population register" in page  # what the agencies will read
    assert f"YES {mother.code}" in page
    assert "Accept and apply" in page


def test_no_one_else_sees_or_answers_an_offer(family: Family) -> None:
    mother, _father = _offered(family)
    stranger = _client(family.stranger)
    assert stranger.get(f"/account/offers/{mother.public_id}/").status_code == 404
    response = stranger.post(f"/account/offers/{mother.public_id}/answer/", {"answer": "accept"})
    assert response.status_code == 404
    assert "The birth of a child" not in stranger.get("/account/offers/").content.decode()
    assert not Application.objects.exists()


def test_accepting_applies_and_shows_the_applications(family: Family) -> None:
    mother, _father = _offered(family)
    client = _client(family.mother)
    response = client.post(f"/account/offers/{mother.public_id}/answer/", {"answer": "accept"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    numbers = list(
        Application.objects.filter(applicant=family.mother).values_list("number", flat=True)
    )
    assert len(numbers) == 2
    assert all(number in page for number in numbers)
    again = client.post(f"/account/offers/{mother.public_id}/answer/", {"answer": "accept"})
    assert again.status_code == 409
    assert "already been answered" in again.content.decode()
    assert Application.objects.filter(applicant=family.mother).count() == 2


def test_declining_and_a_bad_answer(family: Family) -> None:
    mother, _father = _offered(family)
    client = _client(family.mother)
    bad = client.post(f"/account/offers/{mother.public_id}/answer/", {"answer": "maybe"})
    assert bad.status_code == 400
    response = client.post(f"/account/offers/{mother.public_id}/answer/", {"answer": "decline"})
    assert response.status_code == 302
    mother.refresh_from_db()
    assert mother.status == OfferStatus.DECLINED
    assert not Application.objects.exists()


def test_withdrawing_a_consent_in_the_portal(family: Family) -> None:
    mother, _father = _offered(family)
    client = _client(family.mother)
    client.post(f"/account/offers/{mother.public_id}/answer/", {"answer": "accept"})
    consent = Consent.objects.get()
    assert (
        _client(family.father)
        .post("/account/consents/", {"consent": str(consent.public_id)})
        .status_code
        == 404
    )
    page = client.get("/account/consents/").content.decode()
    assert "In force" in page
    response = client.post("/account/consents/", {"consent": str(consent.public_id)})
    assert response.status_code == 200
    assert "Your consent is withdrawn." in response.content.decode()
    consent.refresh_from_db()
    assert not consent.is_active
    assert client.post("/account/consents/", {"consent": str(consent.public_id)}).status_code == 409


def test_the_offer_pages_exist_in_three_languages(family: Family) -> None:
    mother, _father = _offered(family)
    titles = {}
    for language in ("kk", "ru", "en"):
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(family.mother)
        page = client.get(f"/account/offers/{mother.public_id}/").content.decode()
        titles[language] = page.split("<h1", 1)[1].split("</h1>", 1)[0].split(">", 1)[1]
        with translation.override(language):
            assert translation.gettext("Accept and apply") in page
    assert titles == {
        "kk": "Баланың дүниеге келуі",
        "ru": "Рождение ребёнка",
        "en": "The birth of a child",
    }


def test_heads_and_administrators_see_their_agencys_measures(family: Family) -> None:
    from shanyraq.accounts.models import Role
    from shanyraq.testing import factories

    mother, _father = _offered(family)
    _client(family.mother).post(f"/account/offers/{mother.public_id}/answer/", {"answer": "accept"})
    head = factories.member(family.labour, Role.HEAD)
    page = _client(head).get("/backoffice/proactive/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Childbirth benefit" in body and "Birth certificate" not in body
    reviewer = factories.member(family.labour, Role.REVIEWER)
    assert _client(reviewer).get("/backoffice/proactive/").status_code == 403
    assert _client(family.mother).get("/backoffice/proactive/").status_code == 403
    metrics = Client(HTTP_ACCEPT_LANGUAGE="en").get("/metrics/").content.decode()
    assert "Services delivered proactively" in metrics
    assert "Childbirth benefit" in metrics and "Birth certificate" in metrics
