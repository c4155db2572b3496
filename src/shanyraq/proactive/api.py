"""Offers and consents of the signed-in person, and the SMS gateway's replies.

``/api/v1/me/offers`` lists what was offered to you after a life event; accepting applies for
every service of the offer with the answers shown and records your consent, declining
applies for nothing. ``/api/v1/me/consents`` lists your consents; withdrawing one stops the
applications made under it that are not yet decided.

``POST /api/v1/sms/inbound`` is called by the SMS gateway with each reply it receives, signed
with the shared secret (``X-Signature``: hex HMAC-SHA256 of the body); a message it sends
again (the same ``id``) changes nothing.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from shanyraq.accounts.models import User
from shanyraq.core.errors import ValidationError
from shanyraq.core.text import TranslatedText
from shanyraq.documents import esign

from . import selectors, services
from .models import Consent, Offer, OfferItem

# Mounted under /me with the API's authentication ...
router = Router(tags=["proactive services"])
# ... and for the SMS gateway, which signs its requests instead.
gateway_router = Router(tags=["proactive services"])

MAX_INBOUND_BYTES = 4096


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind the router's authentication
    return user


class Text(Schema):
    kk: str
    ru: str
    en: str


class OfferItemOut(Schema):
    id: int
    service: str
    service_name: Text
    agency: str
    status: str = Field(
        description="offered, applied, taken (another recipient applied), failed, declined "
        "or expired."
    )
    answers: dict[str, Any] = Field(description="The answers the application is made with.")
    needs_signature: bool
    application: str | None = Field(description="The application's number once applied for.")
    problem: str = Field(description="Why it could not be applied for, if it could not.")


class OfferOut(Schema):
    id: uuid.UUID
    event: str = Field(description="The life event: PersonBorn, PersonReachedAge, ...")
    event_at: datetime.datetime
    relation: str = Field(description="Your relation to the person the event is about.")
    subject_iin: str
    status: str = Field(description="open, accepted, declined, expired or fulfilled.")
    code: str | None = Field(description="The code of its SMS, while the offer is open.")
    deadline: datetime.datetime
    created_at: datetime.datetime
    answered_at: datetime.datetime | None
    items: list[OfferItemOut]


class OfferListOut(Schema):
    count: int
    items: list[OfferOut]


class SignatureIn(Schema):
    item: int = Field(description="The offer item the signature is for.")
    certificate: str = Field(max_length=64)
    value: str = Field(max_length=400, description="base64 of the DER ECDSA signature.")


class AcceptIn(Schema):
    signatures: list[SignatureIn] = Field(
        default_factory=list,
        max_length=20,
        description="For each item whose service needs a signature: your signature over "
        "the canonical JSON of the service code and the answers.",
    )


class ConsentOut(Schema):
    id: uuid.UUID
    offer: uuid.UUID
    purpose: Text
    data: list[dict[str, Any]] = Field(description="What is used: registers, fields, answers.")
    services: list[str]
    channel: str
    given_at: datetime.datetime
    withdrawn_at: datetime.datetime | None
    active: bool


class ConsentListOut(Schema):
    count: int
    items: list[ConsentOut]


class WithdrawnOut(Schema):
    consent: ConsentOut
    stopped: list[str] = Field(description="The applications withdrawn with the consent.")


def _text(value: Any) -> dict[str, str]:
    return TranslatedText.from_value(value, partial=True, max_length=None).to_dict()


def _item_out(item: OfferItem) -> dict[str, Any]:
    service = item.service_version.service
    return {
        "id": item.pk,
        "service": service.code,
        "service_name": _text(item.service_version.name),
        "agency": service.agency.code,
        "status": item.status,
        "answers": item.answers,
        "needs_signature": services.needs_signature(item),
        "application": item.application.number if item.application else None,
        "problem": item.problem,
    }


def _offer_out(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.public_id,
        "event": offer.event_type,
        "event_at": offer.event_at,
        "relation": offer.relation,
        "subject_iin": offer.subject_iin,
        "status": offer.status,
        "code": offer.code if offer.status == "open" else None,
        "deadline": offer.deadline,
        "created_at": offer.created_at,
        "answered_at": offer.answered_at,
        "items": [_item_out(i) for i in offer.items.all()],
    }


def _consent_out(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.public_id,
        "offer": consent.offer.public_id,
        "purpose": _text(consent.purpose),
        "data": consent.data,
        "services": consent.services,
        "channel": consent.channel,
        "given_at": consent.given_at,
        "withdrawn_at": consent.withdrawn_at,
        "active": consent.is_active,
    }


@router.get("/offers", response=OfferListOut, summary="Offers made to me")
def offers(request: HttpRequest) -> dict[str, Any]:
    found = list(selectors.offers_of(_person(request))[:200])
    return {"count": len(found), "items": [_offer_out(o) for o in found]}


@router.get("/offers/{offer_id}", response=OfferOut, summary="One offer")
def offer(request: HttpRequest, offer_id: str) -> dict[str, Any]:
    return _offer_out(selectors.offer_for(_person(request), offer_id))


@router.post(
    "/offers/{offer_id}/accept",
    response=OfferOut,
    summary="Accept an offer: apply for its services and give consent",
)
def accept(request: HttpRequest, offer_id: str, body: AcceptIn | None = None) -> dict[str, Any]:
    person = _person(request)
    found = selectors.offer_for(person, offer_id)
    signatures = {
        s.item: esign.Signature(certificate=s.certificate, value=s.value)
        for s in (body.signatures if body else [])
    }
    services.offer_accept(offer=found, person=person, via="api", signatures=signatures)
    return _offer_out(selectors.offer_for(person, offer_id))


@router.post("/offers/{offer_id}/decline", response=OfferOut, summary="Decline an offer")
def decline(request: HttpRequest, offer_id: str) -> dict[str, Any]:
    person = _person(request)
    services.offer_decline(offer=selectors.offer_for(person, offer_id), person=person, via="api")
    return _offer_out(selectors.offer_for(person, offer_id))


@router.get("/consents", response=ConsentListOut, summary="My consents")
def consents(request: HttpRequest) -> dict[str, Any]:
    found = list(selectors.consents_of(_person(request))[:200])
    return {"count": len(found), "items": [_consent_out(c) for c in found]}


@router.post("/consents/{consent_id}/withdraw", response=WithdrawnOut, summary="Withdraw a consent")
def withdraw(request: HttpRequest, consent_id: str) -> dict[str, Any]:
    person = _person(request)
    consent = selectors.consent_for(person, consent_id)
    stopped = services.consent_withdraw(consent=consent, person=person)
    return {"consent": _consent_out(selectors.consent_for(person, consent_id)), "stopped": stopped}


class InboundOut(Schema):
    outcome: str = Field(
        description="accepted, declined, expired, answered, needs_portal, unknown_code, "
        "not_understood, unknown_sender or duplicate."
    )


@gateway_router.post(
    "/sms/inbound",
    response=InboundOut,
    summary="A reply to an SMS, forwarded by the SMS gateway",
    description='The body is JSON `{"id", "from", "text"}`, signed by the gateway: '
    "`X-Signature` is the hex HMAC-SHA256 of the body with the shared secret. Unsigned or "
    "wrongly signed requests are refused (401).",
)
def sms_inbound(request: HttpRequest) -> dict[str, Any]:
    body = request.body
    if len(body) > MAX_INBOUND_BYTES:
        raise ValidationError(code="too_large", message=_("The message is too large."))
    if not services.sms_signature_valid(body, request.headers.get("X-Signature", "")):
        raise HttpError(401, str(_("The request is not signed by the SMS gateway.")))
    try:
        message = json.loads(body)
    except ValueError:
        message = None
    if not isinstance(message, dict) or not all(
        isinstance(message.get(k), str) and message.get(k) for k in ("id", "from", "text")
    ):
        raise ValidationError(
            code="bad_message",
            message=_("Send the message's id, sender and text as strings."),
        )
    outcome = services.sms_reply_receive(
        message_id=message["id"], sender=message["from"], text=message["text"]
    )
    return {"outcome": outcome.outcome}
