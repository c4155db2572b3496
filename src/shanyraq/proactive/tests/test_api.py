"""``/api/v1/me/offers``, ``/api/v1/me/consents`` and the SMS gateway's replies."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from shanyraq.casework.models import Application
from shanyraq.conftest import client_for
from shanyraq.events import services as events
from shanyraq.notifications.models import Delivery
from shanyraq.proactive.models import Consent, InboundSms, Offer, OfferStatus

from . import fixture
from .fixture import Family, announce_birth

english = fixture.english
ledger_log = fixture.ledger_log
family = fixture.family

pytestmark = pytest.mark.django_db

OFFERS = "/api/v1/me/offers"
CONSENTS = "/api/v1/me/consents"
INBOUND = "/api/v1/sms/inbound"


def _offered(family: Family) -> tuple[Offer, Offer]:
    event = announce_birth(family)
    events.events_dispatch()
    offers = {o.iin: o for o in Offer.objects.filter(event=event)}
    return offers[family.mother.iin], offers[family.father.iin]


def _signed(body: bytes, secret: str | None = None) -> str:
    key = (secret or settings.SMS_INBOUND_SECRET).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _reply(text: str, *, sender: str = "+77011234567", message_id: str = "m1") -> Any:
    body = json.dumps({"id": message_id, "from": sender, "text": text}).encode()
    return Client().post(
        INBOUND, body, content_type="application/json", HTTP_X_SIGNATURE=_signed(body)
    )


def test_the_offers_need_a_signed_in_person(family: Family) -> None:
    _offered(family)
    assert Client().get(OFFERS).status_code == 401
    assert Client().get(CONSENTS).status_code == 401


def test_a_person_sees_only_their_own_offers(family: Family) -> None:
    mother, _father = _offered(family)
    body = client_for(family.mother).get(OFFERS).json()
    assert body["count"] == 1
    offer = body["items"][0]
    assert offer["id"] == str(mother.public_id)
    assert offer["event"] == "PersonBorn" and offer["relation"] == "mother"
    assert offer["code"] == mother.code
    assert {i["service"] for i in offer["items"]} == {"birth-benefit", "birth-certificate"}
    stranger = client_for(family.stranger)
    assert stranger.get(OFFERS).json()["count"] == 0
    assert stranger.get(f"{OFFERS}/{mother.public_id}").status_code == 404
    accept = stranger.post(
        f"{OFFERS}/{mother.public_id}/accept", {}, content_type="application/json"
    )
    assert accept.status_code == 404
    assert stranger.post(f"{OFFERS}/{mother.public_id}/decline").status_code == 404
    assert client_for(family.mother).get(f"{OFFERS}/not-a-uuid").status_code == 404
    mother.refresh_from_db()
    assert mother.status == OfferStatus.OPEN


def test_accepting_over_the_api_applies_and_records_consent(family: Family) -> None:
    mother, _father = _offered(family)
    client = client_for(family.mother)
    response = client.post(
        f"{OFFERS}/{mother.public_id}/accept", {}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "accepted" and body["code"] is None
    assert all(i["status"] == "applied" and i["application"] for i in body["items"])
    again = client.post(f"{OFFERS}/{mother.public_id}/accept", {}, content_type="application/json")
    assert again.status_code == 409
    consents = client.get(CONSENTS).json()
    assert consents["count"] == 1
    consent = consents["items"][0]
    assert consent["offer"] == str(mother.public_id) and consent["channel"] == "api"
    assert client_for(family.father).get(CONSENTS).json()["count"] == 0
    assert client_for(family.father).post(f"{CONSENTS}/{consent['id']}/withdraw").status_code == 404
    withdrawn = client.post(f"{CONSENTS}/{consent['id']}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["consent"]["active"] is False
    assert len(withdrawn.json()["stopped"]) == 2  # neither was decided yet


def test_declining_over_the_api(family: Family) -> None:
    mother, _father = _offered(family)
    response = client_for(family.mother).post(f"{OFFERS}/{mother.public_id}/decline")
    assert response.status_code == 200
    assert response.json()["status"] == "declined"
    assert not Application.objects.exists()


def test_an_sms_reply_with_the_code_accepts(family: Family) -> None:
    mother, _father = _offered(family)
    response = _reply(f"ДА {mother.code}")
    assert response.status_code == 200, response.content
    assert response.json() == {"outcome": "accepted"}
    mother.refresh_from_db()
    assert mother.status == OfferStatus.ACCEPTED and mother.answered_via == "sms"
    assert Consent.objects.get(offer=mother).channel == "sms"
    assert Application.objects.filter(applicant=family.mother).count() == 2
    reply = Delivery.objects.get(
        notification__recipient=family.mother,
        notification__template="offer.reply_accepted",
        channel="sms",
    )
    assert mother.code in reply.body


def test_a_replayed_sms_changes_nothing(family: Family) -> None:
    mother, _father = _offered(family)
    assert _reply(f"NO {mother.code}", message_id="same").json() == {"outcome": "declined"}
    assert _reply(f"YES {mother.code}", message_id="same").json() == {"outcome": "duplicate"}
    mother.refresh_from_db()
    assert mother.status == OfferStatus.DECLINED
    assert not Application.objects.exists()


def test_a_wrong_code_or_unknown_sender_creates_nothing(family: Family) -> None:
    mother, _father = _offered(family)
    wrong = "000000" if mother.code != "000000" else "111111"
    assert _reply(f"YES {wrong}", message_id="a").json() == {"outcome": "unknown_code"}
    assert _reply("YES please", message_id="b").json() == {"outcome": "not_understood"}
    # The father has no phone on record: a reply with the mother's code from another number.
    assert _reply(f"YES {mother.code}", sender="+77770000000", message_id="c").json() == {
        "outcome": "unknown_sender"
    }
    assert not Application.objects.exists() and not Consent.objects.exists()
    mother.refresh_from_db()
    assert mother.status == OfferStatus.OPEN
    assert InboundSms.objects.count() == 3


def test_a_reply_after_the_deadline_is_refused(family: Family) -> None:
    mother, _father = _offered(family)
    Offer.objects.filter(pk=mother.pk).update(
        deadline=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert _reply(f"YES {mother.code}").json() == {"outcome": "expired"}
    assert not Application.objects.exists()
    mother.refresh_from_db()
    assert mother.status != OfferStatus.ACCEPTED
    assert Delivery.objects.filter(notification__template="offer.reply_expired").exists()


@pytest.mark.parametrize("signature", ["", "0" * 64, "forged"])
def test_unsigned_or_forged_gateway_requests_are_refused(family: Family, signature: str) -> None:
    mother, _father = _offered(family)
    body = json.dumps({"id": "x", "from": "+77011234567", "text": f"YES {mother.code}"}).encode()
    response = Client().post(
        INBOUND, body, content_type="application/json", HTTP_X_SIGNATURE=signature
    )
    assert response.status_code == 401
    forged = Client().post(
        INBOUND,
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=_signed(body, secret="another secret"),
    )
    assert forged.status_code == 401
    assert not InboundSms.objects.exists() and not Application.objects.exists()


def test_a_malformed_gateway_message_is_refused(family: Family) -> None:
    body = json.dumps({"id": "x", "from": 7}).encode()
    response = Client().post(
        INBOUND, body, content_type="application/json", HTTP_X_SIGNATURE=_signed(body)
    )
    assert response.status_code == 422
    assert not InboundSms.objects.exists()


def test_replies_are_refused_when_no_secret_is_set(family: Family, settings: Any) -> None:
    body = json.dumps({"id": "x", "from": "+77011234567", "text": "YES 123456"}).encode()
    signature = _signed(body)
    settings.SMS_INBOUND_SECRET = ""
    response = Client().post(
        INBOUND, body, content_type="application/json", HTTP_X_SIGNATURE=signature
    )
    assert response.status_code == 401
