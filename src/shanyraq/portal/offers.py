"""Offers made after a life event, answered with one action, and the consents they record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shanyraq.accounts.models import User
from shanyraq.core.errors import Conflict, DomainError, NotFound
from shanyraq.core.text import TranslatedText
from shanyraq.documents import esign
from shanyraq.proactive import selectors, services
from shanyraq.proactive.models import Offer, OfferItem, OfferStatus

from .esign import MAX_SERIAL, MAX_SIGNATURE, signing_form

EVENT_NAMES = {
    "PersonBorn": gettext_lazy("The birth of a child"),
    "PersonDied": gettext_lazy("The death of a relative"),
    "MarriageRegistered": gettext_lazy("Your marriage"),
    "AddressChanged": gettext_lazy("Your move to a new address"),
    "PropertyAcquired": gettext_lazy("Your new property"),
    "BusinessRegistered": gettext_lazy("Your new business"),
    "PersonReachedAge": gettext_lazy("Your birthday"),
}
REGISTER_NAMES = {
    "population": gettext_lazy("Population register"),
    "real_estate": gettext_lazy("Real estate register"),
    "business": gettext_lazy("Business register"),
}


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


def _not_found(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(
        request, "portal/error.html", {"status": 404, "message": error.message}, status=404
    )


def _text(value: Any) -> str:
    return TranslatedText.from_value(value, partial=True, max_length=None).get(
        translation.get_language()
    )


@dataclass(frozen=True)
class Answer:
    label: str
    value: str


@dataclass(frozen=True)
class ItemView:
    item: OfferItem
    name: str
    agency: str
    answers: list[Answer]
    needs_signature: bool


def _answers(item: OfferItem) -> list[Answer]:
    ui = (item.service_version.form or {}).get("ui") or {}
    labels = ui.get("labels") or {}
    enums = ui.get("enum_labels") or {}
    rows = []
    for name, value in item.answers.items():
        label = _text(labels[name]) if name in labels else name
        if isinstance(value, bool):
            shown = _("Yes") if value else _("No")
        elif name in enums and str(value) in enums[name]:
            shown = _text(enums[name][str(value)])
        else:
            shown = str(value)
        rows.append(Answer(label, shown))
    return rows


def _items(offer: Offer) -> list[ItemView]:
    return [
        ItemView(
            item=item,
            name=_text(item.service_version.name),
            agency=_text(item.service_version.service.agency.short_name)
            or _text(item.service_version.service.agency.name),
            answers=_answers(item),
            needs_signature=services.needs_signature(item),
        )
        for item in offer.items.all()
    ]


def event_name(offer: Offer) -> str:
    return str(EVENT_NAMES.get(offer.event_type, offer.event_type))


@never_cache
@login_required
@require_GET
def offers_mine(request: HttpRequest) -> HttpResponse:
    offers = list(selectors.offers_of(_person(request))[:200])
    rows = [(offer, event_name(offer), _items(offer)) for offer in offers]
    return render(request, "portal/offers.html", {"rows": rows})


def _data_used(items: list[ItemView]) -> list[str]:
    """The registers the services will read, in words."""
    registers = {"population"}
    for view in items:
        for spec in ((view.item.service_version.process or {}).get("facts") or {}).values():
            if isinstance(spec, dict) and spec.get("register"):
                registers.add(str(spec["register"]))
    return [str(REGISTER_NAMES.get(code, code)) for code in sorted(registers)]


def _signed_items(person: User, items: list[ItemView]) -> list[dict[str, Any]]:
    """What the browser signs for the items whose service needs a signature."""
    signed = []
    for view in items:
        if view.needs_signature and view.item.status == "offered":
            form = signing_form(person, view.item.service_version.service.code, view.item.answers)
            signed.append({"item": view.item.pk, "form": form})
    return signed


def _offer_page(
    request: HttpRequest,
    offer: Offer,
    *,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    person = _person(request)
    items = _items(offer)
    signed = _signed_items(person, items) if offer.status == OfferStatus.OPEN else []
    forms = [s["form"] for s in signed]
    signing = forms[0] if forms and all(f is not None for f in forms) else None
    return render(
        request,
        "portal/offer_detail.html",
        {
            "offer": offer,
            "event_name": event_name(offer),
            "items": items,
            "data_used": _data_used(items),
            "signed_items": signed,
            "signing": signing,
            "needs_key": bool(signed) and signing is None,
            "problem": problem,
            "is_open": offer.status == OfferStatus.OPEN,
        },
        status=status,
    )


def _posted_signatures(request: HttpRequest) -> dict[int, esign.Signature]:
    certificate = str(request.POST.get("signature_certificate") or "").strip()[:MAX_SERIAL]
    signatures = {}
    for key in request.POST:
        value = str(request.POST.get(key) or "")
        if key.startswith("signature_item_") and key[15:].isdigit() and value and certificate:
            signatures[int(key[15:])] = esign.Signature(
                certificate=certificate, value=value.strip()[:MAX_SIGNATURE]
            )
    return signatures


@never_cache
@login_required
@require_GET
def offer_detail(request: HttpRequest, offer_id: str) -> HttpResponse:
    try:
        offer = selectors.offer_for(_person(request), offer_id)
    except NotFound as error:
        return _not_found(request, error)
    return _offer_page(request, offer)


@never_cache
@login_required
@require_POST
def offer_answer(request: HttpRequest, offer_id: str) -> HttpResponse:
    """Accept (applying for every service) or decline the offer."""
    person = _person(request)
    try:
        offer = selectors.offer_for(person, offer_id)
    except NotFound as error:
        return _not_found(request, error)
    answer = request.POST.get("answer")
    try:
        if answer == "accept":
            services.offer_accept(
                offer=offer, person=person, via="web", signatures=_posted_signatures(request)
            )
        elif answer == "decline":
            services.offer_decline(offer=offer, person=person, via="web")
        else:
            return _offer_page(
                request, offer, problem=_("Choose to accept or decline."), status=400
            )
    except DomainError as error:
        offer = selectors.offer_for(person, offer_id)
        status = 409 if isinstance(error, Conflict) else 400
        return _offer_page(request, offer, problem=str(error.message), status=status)
    return redirect("portal:offer", offer_id=offer.public_id)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def consents_mine(request: HttpRequest) -> HttpResponse:
    """The person's consents; withdrawing one stops what was applied for under it."""
    person = _person(request)
    problem = ""
    stopped: list[str] | None = None
    status = 200
    if request.method == "POST":
        try:
            consent = selectors.consent_for(person, str(request.POST.get("consent") or ""))
            stopped = services.consent_withdraw(consent=consent, person=person)
        except NotFound as error:
            problem, status = str(error.message), 404
        except Conflict as error:
            problem, status = str(error.message), 409
    consents = [
        (consent, _text(consent.purpose)) for consent in selectors.consents_of(person)[:200]
    ]
    return render(
        request,
        "portal/consents.html",
        {"consents": consents, "problem": problem, "stopped": stopped},
        status=status,
    )
