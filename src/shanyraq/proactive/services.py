"""Proactive services: life events become offers, an accepted offer becomes applications.

The registers announce life events through the events outbox (``PersonBorn``,
``PersonReachedAge`` ...). ``offers_make`` is subscribed to each of them: it finds the
services whose current version declares that event (``declarations``), reads the register
records the decision needs (recorded in the data tracker as read by each service's agency),
works out who is entitled and writes one offer per person, bundling every service they are
offered for that event, with a message in their inbox, by email and by SMS. Handling an event
twice changes nothing: offers are unique per event and person, and the event's ``Trigger``
rows per service.

A person answers once: ``offer_accept`` records their consent and applies for every service
of the offer with the declared answers (the automatic rules then decide, as for any other
application); ``offer_decline`` says no. Both parents of a newborn are offered the same
benefits; the first to accept applies, and the other's offer shows that it was done.
``sms_reply_receive`` takes a reply to the offer's SMS ("YES 123456"). ``consent_withdraw``
stops every application made under a consent that is not yet decided. ``work_once`` (run by
the worker) closes offers past their deadline and, once a day, announces who reaches the
ages services declare.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.access_log import services as access_log
from shanyraq.accounts.models import User
from shanyraq.casework import services as casework
from shanyraq.casework.models import FINAL_STATUSES
from shanyraq.catalog.models import Service, ServiceVersion
from shanyraq.core.bulk import insert_rows
from shanyraq.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from shanyraq.core.text import LANGUAGES, TranslatedText
from shanyraq.documents import esign
from shanyraq.events import services as events
from shanyraq.events.models import Event
from shanyraq.notifications import services as notifications
from shanyraq.notifications.models import Channel, ContactPoint
from shanyraq.registries import selectors as registers
from shanyraq.rules.engine import RuleError, evaluate

from .declarations import Proactive, proactive_of
from .models import (
    AgeCheck,
    Consent,
    InboundSms,
    ItemStatus,
    Offer,
    OfferItem,
    OfferStatus,
    Trigger,
)

__all__ = [
    "HANDLER",
    "SmsOutcome",
    "WorkReport",
    "ages_check",
    "consent_withdraw",
    "handle_life_events",
    "offer_accept",
    "offer_decline",
    "offers_expire",
    "offers_make",
    "offers_make_many",
    "sms_reply_receive",
    "sms_signature",
    "work_once",
]

logger = logging.getLogger(__name__)

HANDLER: Final = "proactive.offers"
PURPOSE: Final = "proactive offer"
CODE_DIGITS: Final = 6
# The parent's rights in the child's record that leave them out of offers about the child.
WITHOUT_RIGHTS: Final = frozenset({"restricted", "deprived"})
YES: Final = frozenset({"yes", "y", "да", "д", "иә", "ия", "иа", "ok", "1"})
NO: Final = frozenset({"no", "n", "нет", "н", "жоқ", "жок", "0"})
MAX_SMS_TEXT: Final = 500


# --- Which services listen to which events ------------------------------------------------


@dataclass(frozen=True)
class Declared:
    version: ServiceVersion
    proactive: Proactive


_declared: dict[str, list[Declared]] = {}
_declared_key: tuple[int, int] | None = None
_CATALOG_KEY = (
    "SELECT (SELECT generation FROM catalog_catalogstate WHERE id = 1), "
    "(SELECT max(current_version_id) FROM catalog_service)"
)


def declared_services(event_type: str) -> list[Declared]:
    """The current versions of services that declare ``event_type``.

    Read again whenever the catalog has changed (a publication counts a change), which one
    small query per event tells; a new declaration applies from the next event on.
    """
    global _declared_key
    with connection.cursor() as cursor:
        cursor.execute(_CATALOG_KEY)
        row = cursor.fetchone()
    key = (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)
    if key != _declared_key:
        found: dict[str, list[Declared]] = {}
        services = Service.objects.filter(current_version__isnull=False).select_related(
            "current_version__service__agency"
        )
        for service in services:
            version = service.current_version
            assert version is not None
            declaration = proactive_of(version.process)
            if declaration is not None:
                found.setdefault(declaration.event, []).append(Declared(version, declaration))
        _declared.clear()
        _declared.update(found)
        _declared_key = key
    return list(_declared.get(event_type, ()))


def declarations_forget() -> None:
    """Read the declarations again at the next event (tests, whose databases repeat keys)."""
    global _declared_key
    _declared_key = None


# --- From an event to offers --------------------------------------------------------------


@dataclass
class _Recipient:
    iin: str
    relation: str
    record: dict[str, Any] | None = None
    user: User | None = None
    phone: str = ""


def _subject_iin(event: Event) -> str:
    return str(event.payload.get("iin") or "")


def _candidates(
    event: Event, recipients: str, subject: Mapping[str, Any] | None
) -> list[_Recipient]:
    """Who a declaration names, before their own records are looked at: the parents the
    newborn's record names (not those it records without parental rights), the persons a
    business names, or the person the event is about."""
    payload = event.payload
    if recipients == "parents":
        parents = (subject or {}).get("parents") or []
        return [
            _Recipient(str(p["iin"]), str(p.get("relation") or "parent"))
            for p in parents
            if isinstance(p, Mapping) and p.get("iin") and p.get("rights") not in WITHOUT_RIGHTS
        ]
    if recipients == "persons":
        return [_Recipient(str(iin), "person") for iin in payload.get("persons") or []]
    iin = _subject_iin(event)
    return [_Recipient(iin, "self")] if iin else []


def _named_in(event: Event) -> list[str]:
    """The IINs an event's data names besides its subject (a newborn's parents, a business's
    persons)."""
    payload = event.payload
    parents = [p.get("iin") for p in payload.get("parents") or [] if isinstance(p, Mapping)]
    return [str(i) for i in [*parents, *(payload.get("persons") or [])] if i]


def _facts(
    event: Event, subject: Mapping[str, Any] | None, recipient: _Recipient
) -> dict[str, Any]:
    return {
        "event": dict(event.payload),
        "subject": dict(subject) if subject is not None else None,
        "person": recipient.record,
        "recipient": {
            "iin": recipient.iin,
            "relation": recipient.relation,
            "phone": recipient.phone or None,
        },
        "today": timezone.localdate().isoformat(),
    }


def _entitled(declaration: Proactive, facts: Mapping[str, Any]) -> bool:
    try:
        return evaluate(declaration.conditions, facts) is True
    except RuleError:
        return False  # a fact the condition needs is missing: not shown to be entitled


def _answers(declaration: Proactive, facts: Mapping[str, Any]) -> dict[str, Any]:
    answers = {}
    for name, expression in declaration.answers.items():
        try:
            value = evaluate(expression, facts)
        except RuleError:
            continue
        if value is not None:
            answers[name] = value
    return answers


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _users(iins: Iterable[str]) -> dict[str, User]:
    return {u.iin: u for u in User.objects.filter(iin__in=set(iins), is_active=True) if u.iin}


def _phones(users: Iterable[User]) -> dict[int, str]:
    return dict(ContactPoint.objects.filter(user__in=list(users)).values_list("user_id", "phone"))


def _service_names(items: Sequence[OfferItem]) -> TranslatedText:
    names = [TranslatedText.from_value(i.service_version.name, partial=True) for i in items]
    return TranslatedText(**{lang: "; ".join(n.get(lang) for n in names) for lang in LANGUAGES})


def offers_make(event: Event) -> list[Offer]:
    """Make the offers ``event`` calls for; idempotent."""
    return offers_make_many([event])


@dataclass
class _Match:
    """One person offered services after one event."""

    event: Event
    recipient: _Recipient
    found: list[tuple[Trigger, Declared, dict[str, Any]]]


def _declared_for(event: Event) -> list[Declared]:
    return [
        d
        for d in declared_services(event.type)
        if not d.proactive.ages or event.payload.get("age") in d.proactive.ages
    ]


def _system_reads(
    event: Event, group: Sequence[Declared], keys: Iterable[str]
) -> registers.SystemRead:
    """What the agency of ``group`` reads about ``event``'s people to offer its services."""
    version = group[0].version
    agency = version.service.agency
    codes = ", ".join(d.version.service.code for d in group)
    return registers.SystemRead(
        agency=agency,
        purpose=f"{PURPOSE}: {codes}"[: access_log.MAX_PURPOSE],
        basis=str(version.legal_basis.get("en") or "service")[: access_log.MAX_BASIS],
        case_ref=f"event {event.pk}",
        system_name=f"{agency.code} proactive services",
        keys=sorted({k for k in keys if k}),
    )


@transaction.atomic
def offers_make_many(events: Sequence[Event]) -> list[Offer]:
    """Make the offers ``events`` call for (the handler of every life event, given many at
    once): the records they need are read in one query and their reads recorded in one
    insert, and the offers, their services and their messages are written together.
    Idempotent: an event already handled makes nothing again."""
    handled = set(Trigger.objects.filter(event__in=list(events)).values_list("event_id", flat=True))
    todo = [(e, _declared_for(e)) for e in events if e.pk not in handled]
    todo = [(e, declared) for e, declared in todo if declared]
    if not todo:
        return []
    now = timezone.now()
    triggers = Trigger.objects.bulk_create(
        [
            Trigger(
                event=event,
                service_version=d.version,
                event_type=event.type,
                event_at=event.created_at,
                created_at=now,
            )
            for event, declared in todo
            for d in declared
        ]
    )
    pending = iter(triggers)
    plans = []
    reads = []
    for event, declared in todo:
        by_agency: dict[int, list[tuple[Trigger, Declared]]] = {}
        for d in declared:
            by_agency.setdefault(d.version.service.agency_id, []).append((next(pending), d))
        keys = {_subject_iin(event), *_named_in(event)}
        for group in by_agency.values():
            reads.append(_system_reads(event, [d for _t, d in group], keys))
        plans.append((event, by_agency))
    records = registers.population_read_for_systems(reads)
    # A record changed since its event may name people the event does not: read them too.
    named: dict[tuple[int, int], list[_Recipient]] = {}
    more = []
    for event, by_agency in plans:
        subject = records.get(_subject_iin(event))
        for group in by_agency.values():
            for trigger, d in group:
                found = _candidates(event, d.proactive.recipients, subject)
                named[(event.pk, trigger.pk)] = found
                missing = [c.iin for c in found if c.iin not in records]
                if missing:
                    more.append(_system_reads(event, [d for _t, d in group], missing))
    if more:
        records.update(registers.population_read_for_systems(more))
    everyone = {c.iin for found in named.values() for c in found}
    users = _users(everyone)
    phones = _phones(users.values())
    matches: dict[tuple[int, str], _Match] = {}
    for event, by_agency in plans:
        subject_iin = _subject_iin(event)
        subject = records.get(subject_iin) if subject_iin else None
        if subject_iin and subject is None:
            continue  # not (or no longer) in the register: nobody to offer anything about
        for group in by_agency.values():
            for trigger, d in group:
                for candidate in named[(event.pk, trigger.pk)]:
                    record = records.get(candidate.iin)
                    if record is None or record.get("date_of_death"):
                        continue  # only living people in the register are offered anything
                    user = users.get(candidate.iin)
                    person = _Recipient(
                        candidate.iin,
                        candidate.relation,
                        record,
                        user,
                        phones.get(user.pk, "") if user is not None else "",
                    )
                    facts = _facts(event, subject, person)
                    if not _entitled(d.proactive, facts):
                        continue
                    match = matches.setdefault((event.pk, candidate.iin), _Match(event, person, []))
                    match.found.append((trigger, d, _answers(d.proactive, facts)))
                    trigger.offered += 1
    Trigger.objects.bulk_update([t for t in triggers if t.offered], ["offered"], batch_size=1000)
    offers = Offer.objects.bulk_create(
        [
            Offer(
                event=m.event,
                event_type=m.event.type,
                event_at=m.event.created_at,
                iin=m.recipient.iin,
                user=m.recipient.user,
                relation=m.recipient.relation,
                subject_iin=_subject_iin(m.event)
                if _subject_iin(m.event) != m.recipient.iin
                else "",
                code=_new_code(),
                deadline=now
                + datetime.timedelta(days=max(d.proactive.offer_days for _t, d, _a in m.found)),
                created_at=now,
            )
            for m in matches.values()
        ]
    )
    items = OfferItem.objects.bulk_create(
        [
            OfferItem(offer=offer, trigger=t, service_version=d.version, answers=answers)
            for offer, m in zip(offers, matches.values(), strict=True)
            for t, d, answers in m.found
        ],
        batch_size=2000,
    )
    by_offer: dict[int, list[OfferItem]] = {}
    for item in items:
        by_offer.setdefault(item.offer_id, []).append(item)
    # New offers, new occasions: their messages are written with them, in a few inserts.
    rows = [
        row
        for offer in offers
        if offer.user is not None
        for row in _offer_message(offer, by_offer[offer.pk]).rows()
    ]
    insert_rows(rows)
    return offers


def _offer_message(offer: Offer, items: Sequence[OfferItem]) -> notifications.Message:
    assert offer.user is not None
    return notifications.message_compose(
        recipient=offer.user,
        template="offer.made",
        context={
            "services": _service_names(items),
            "code": offer.code,
            "deadline": timezone.localdate(offer.deadline),
            "link": f"/account/offers/{offer.public_id}/",
        },
        dedupe_key=f"offer:{offer.public_id}",
    )


def handle_life_events(events: Sequence[Event]) -> None:
    """The events outbox's handler for every life event, given many at once."""
    offers_make_many(events)


# --- Answering an offer -------------------------------------------------------------------


def _locked_offer(offer: Offer, person: User) -> Offer:
    locked = Offer.objects.select_for_update().filter(pk=offer.pk).first()
    if locked is None or not person.iin or locked.iin != person.iin:
        raise NotFound(code="offer_not_found", message=_("There is no such offer."))
    if locked.status == OfferStatus.OPEN and locked.deadline <= timezone.now():
        _expire([locked.pk])
        locked.status = OfferStatus.EXPIRED
    if locked.status == OfferStatus.EXPIRED:
        raise Conflict(code="offer_expired", message=_("The time to answer this offer is over."))
    if locked.status != OfferStatus.OPEN:
        raise Conflict(code="offer_answered", message=_("This offer has already been answered."))
    return locked


def _consent_data(items: Sequence[OfferItem]) -> list[dict[str, Any]]:
    """What the applications will use: each service's register reads and the answers."""
    data = []
    for item in items:
        process = item.service_version.process or {}
        reads = [
            {"register": str(spec.get("register")), "fields": spec.get("fields")}
            for spec in (process.get("facts") or {}).values()
            if isinstance(spec, Mapping)
        ]
        reads.insert(0, {"register": "population", "fields": None, "of": "applicant"})
        data.append(
            {
                "service": item.service_version.service.code,
                "reads": reads,
                "answers": sorted(item.answers),
            }
        )
    return data


def _purpose_text(offer: Offer) -> dict[str, str]:
    return {
        "kk": f"Өмірлік оқиғадан кейін ұсынылған қызметтерге өтініш беру ({offer.event_type})",
        "ru": "Подача заявок на услуги, предложенные после жизненного события "
        f"({offer.event_type})",
        "en": f"Applying for the services offered after a life event ({offer.event_type})",
    }


def _claim(offer: Offer, item: OfferItem) -> str:
    return f"{offer.event_id}:{item.service_version.service.code}"


def needs_signature(item: OfferItem) -> bool:
    return bool(item.service_version.esign_required)


def signing_content(item: OfferItem) -> bytes:
    """What the person signs for an item whose service needs a signature: the answers the
    application is made with, as an application's signature covers them."""
    return esign.signing_content(item.service_version.service.code, item.answers)


@transaction.atomic
def offer_accept(
    *,
    offer: Offer,
    person: User,
    via: str = "web",
    signatures: Mapping[int, esign.Signature] | None = None,
) -> Consent:
    """Accept ``offer`` for ``person``: record the consent and apply for each service.

    A service someone else has already applied for after the same event (the other parent)
    is marked so; one whose application cannot be made (the form changed since the offer)
    is marked with the problem, and the person can apply for it themselves. Raises
    ``NotFound`` when the offer is not theirs and ``Conflict`` when it is answered or
    expired; ``PermissionDenied`` when a service needs a signature that is not given.
    """
    locked = _locked_offer(offer, person)
    items = list(
        OfferItem.objects.filter(offer=locked, status=ItemStatus.OFFERED).select_related(
            "service_version__service"
        )
    )
    signatures = signatures or {}
    unsigned = [i for i in items if needs_signature(i) and i.pk not in signatures]
    if unsigned:
        raise PermissionDenied(
            code="signature_required",
            message=_(
                "Some of these services need your electronic signature: accept in the portal."
            ),
        )
    now = timezone.now()
    consent = Consent.objects.create(
        user=person,
        offer=locked,
        purpose=_purpose_text(locked),
        data=_consent_data(items),
        services=[i.service_version.service.code for i in items],
        channel=via,
        given_at=now,
    )
    for item in items:
        _apply(locked, item, person, signatures.get(item.pk), now)
    locked.status = OfferStatus.ACCEPTED
    locked.answered_at = now
    locked.answered_via = via
    locked.user = person
    locked.save(update_fields=["status", "answered_at", "answered_via", "user"])
    _close_fulfilled(locked)
    return consent


def _apply(
    offer: Offer, item: OfferItem, person: User, signature: esign.Signature | None, now: Any
) -> None:
    claim = _claim(offer, item)
    try:
        with transaction.atomic():
            OfferItem.objects.filter(pk=item.pk).update(claim=claim)
    except IntegrityError:
        item.status = ItemStatus.TAKEN
        item.save(update_fields=["status"])
        return
    try:
        with transaction.atomic():
            applied = casework.application_apply(
                applicant=person,
                service_code=item.service_version.service.code,
                values=item.answers,
                idempotency_key=f"offer-{offer.public_id.hex[:16]}-{item.pk}",
                signature=signature,
            )
    except DomainError as error:
        item.status = ItemStatus.FAILED
        item.problem = str(error.message)[:2000]
        item.claim = None
        item.save(update_fields=["status", "problem", "claim"])
        return
    item.status = ItemStatus.APPLIED
    item.claim = claim
    item.application = applied.application
    item.applied_at = now
    item.save(update_fields=["status", "claim", "application", "applied_at"])


def _close_fulfilled(offer: Offer) -> None:
    """Other recipients' open offers of the same event whose every service is now applied
    for are closed as fulfilled."""
    others = Offer.objects.filter(event_id=offer.event_id, status=OfferStatus.OPEN).exclude(
        pk=offer.pk
    )
    claimed = set(
        OfferItem.objects.filter(offer__event_id=offer.event_id, claim__isnull=False).values_list(
            "claim", flat=True
        )
    )
    for other in others.select_for_update():
        items = list(other.items.select_related("service_version__service"))
        if all(_claim(other, item) in claimed for item in items):
            other.items.update(status=ItemStatus.TAKEN)
            other.status = OfferStatus.FULFILLED
            other.answered_at = timezone.now()
            other.save(update_fields=["status", "answered_at"])


@transaction.atomic
def offer_decline(*, offer: Offer, person: User, via: str = "web") -> Offer:
    """``person`` says no to ``offer``: nothing is applied for, nothing of theirs is used."""
    locked = _locked_offer(offer, person)
    now = timezone.now()
    locked.items.filter(status=ItemStatus.OFFERED).update(status=ItemStatus.DECLINED)
    locked.status = OfferStatus.DECLINED
    locked.answered_at = now
    locked.answered_via = via
    locked.user = person
    locked.save(update_fields=["status", "answered_at", "answered_via", "user"])
    return locked


@transaction.atomic
def consent_withdraw(*, consent: Consent, person: User) -> list[str]:
    """Withdraw ``person``'s consent: every application made under it that is not yet
    decided is withdrawn, so nothing more is read or decided for it. Returns the numbers of
    the applications stopped."""
    locked = Consent.objects.select_for_update().filter(pk=consent.pk, user=person).first()
    if locked is None:
        raise NotFound(code="consent_not_found", message=_("There is no such consent."))
    if locked.withdrawn_at is not None:
        raise Conflict(code="consent_withdrawn", message=_("This consent is already withdrawn."))
    locked.withdrawn_at = timezone.now()
    locked.save(update_fields=["withdrawn_at"])
    stopped = []
    items = OfferItem.objects.filter(
        offer_id=locked.offer_id, application__isnull=False
    ).select_related("application")
    for item in items:
        application = item.application
        assert application is not None
        if application.status in FINAL_STATUSES:
            continue
        try:
            casework.application_withdraw(application=application, applicant=person)
        except Conflict:
            continue  # decided in the meantime
        stopped.append(application.number)
    return stopped


# --- Deadlines and the daily look at ages -------------------------------------------------


def _expire(pks: Sequence[int]) -> int:
    OfferItem.objects.filter(offer_id__in=pks, status=ItemStatus.OFFERED).update(
        status=ItemStatus.EXPIRED
    )
    return Offer.objects.filter(pk__in=pks, status=OfferStatus.OPEN).update(
        status=OfferStatus.EXPIRED
    )


def offers_expire(*, now: datetime.datetime | None = None, limit: int = 1000) -> int:
    """Close open offers whose deadline has passed; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        pks = list(
            Offer.objects.filter(status=OfferStatus.OPEN, deadline__lte=now)
            .order_by("deadline")
            .values_list("pk", flat=True)[:limit]
        )
        return _expire(pks) if pks else 0


def ages_check(*, today: datetime.date | None = None) -> int:
    """Once a day: announce ``PersonReachedAge`` for each living person who turns an age a
    service declares today. The day's mark and its events are written together, so a day
    is announced exactly once. Returns the number of events (0 when already done)."""
    today = today or timezone.localdate()
    ages = sorted({age for d in declared_services("PersonReachedAge") for age in d.proactive.ages})
    with transaction.atomic():
        try:
            with transaction.atomic():
                mark = AgeCheck.objects.create(day=today, checked_at=timezone.now())
        except IntegrityError:
            return 0
        found = registers.people_reaching_age(on=today, ages=ages) if ages else []
        if found:
            events.events_record_many(
                type="PersonReachedAge",
                payloads=[{"iin": iin, "age": age, "on": today.isoformat()} for iin, age in found],
            )
        mark.found = len(found)
        mark.save(update_fields=["found"])
    return len(found)


@dataclass
class WorkReport:
    expired: int = 0
    ages: int = 0


def work_once(*, now: datetime.datetime | None = None) -> WorkReport:
    """The worker's round: expire offers; the first round of a day also checks ages."""
    report = WorkReport(expired=offers_expire(now=now))
    today = timezone.localdate(now) if now else timezone.localdate()
    if not AgeCheck.objects.filter(day=today).exists():
        report.ages = ages_check(today=today)
    return report


# --- Replies by SMS -----------------------------------------------------------------------


@dataclass
class SmsOutcome:
    outcome: str
    offer: Offer | None = None
    applications: list[str] = field(default_factory=list)


_REPLY = re.compile(rf"^\s*(\S+)\s+(\d{{{CODE_DIGITS}}})\s*$")


def sms_signature(body: bytes) -> str:
    """The signature the SMS gateway puts on an inbound message it forwards (HMAC-SHA256
    of the request body with the shared ``SMS_INBOUND_SECRET``, in hex)."""
    secret = str(getattr(settings, "SMS_INBOUND_SECRET", "") or "")
    if not secret:
        raise PermissionDenied(
            code="sms_inbound_disabled", message=_("Inbound SMS are not accepted here.")
        )
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sms_signature_valid(body: bytes, signature: str) -> bool:
    try:
        expected = sms_signature(body)
    except PermissionDenied:
        return False
    return hmac.compare_digest(expected, (signature or "").strip().lower())


def _reply(user: User, message_id: str, outcome: str, offer: Offer | None) -> None:
    notifications.notify(
        recipient=user,
        template=f"offer.reply_{outcome}",
        context={"code": offer.code if offer else "-"},
        channels=[Channel.SMS.value],
        dedupe_key=f"sms-reply:{message_id}",
    )


@transaction.atomic
def sms_reply_receive(*, message_id: str, sender: str, text: str) -> SmsOutcome:
    """Act on a reply to an offer's SMS: "YES 123456" accepts, "NO 123456" declines.

    The sender's number must be the one the offer's person receives messages on, and the
    code that of an open offer of theirs. A message the gateway sends again (same id) is
    recognised and changes nothing. The person is answered by SMS in every case but an
    unknown number.
    """
    message_id = (message_id or "").strip()[:100]
    phone = notifications.normalise_phone(sender or "") if sender else ""
    record = InboundSms(
        message_id=message_id,
        sender=phone[:20],
        text=(text or "")[:MAX_SMS_TEXT],
        outcome="",
        received_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            record.save(force_insert=True)
    except IntegrityError:
        return SmsOutcome("duplicate")
    outcome = _sms_act(record)
    record.outcome = outcome.outcome
    record.offer = outcome.offer
    record.save(update_fields=["outcome", "offer"])
    return outcome


def _sms_act(record: InboundSms) -> SmsOutcome:
    users = (
        list(
            User.objects.filter(
                contact_point__phone=record.sender, iin__isnull=False, is_active=True
            )
        )
        if record.sender
        else []
    )
    if not users:
        return SmsOutcome("unknown_sender")
    match = _REPLY.match(record.text)
    word = match.group(1).casefold() if match else ""
    if not match or word not in YES | NO:
        _reply(users[0], record.message_id, "not_understood", None)
        return SmsOutcome("not_understood")
    code = match.group(2)
    offers = list(
        Offer.objects.filter(iin__in=[u.iin for u in users], code=code).order_by("-created_at")
    )
    offer = next((o for o in offers if o.status == OfferStatus.OPEN), offers[0] if offers else None)
    if offer is None:
        _reply(users[0], record.message_id, "unknown_code", None)
        return SmsOutcome("unknown_code")
    person = next(u for u in users if u.iin == offer.iin)
    try:
        with transaction.atomic():
            if word in YES:
                consent = offer_accept(offer=offer, person=person, via="sms")
                numbers = [
                    i.application.number
                    for i in OfferItem.objects.filter(
                        offer_id=consent.offer_id, application__isnull=False
                    ).select_related("application")
                    if i.application is not None
                ]
                outcome = SmsOutcome("accepted", offer, numbers)
            else:
                offer_decline(offer=offer, person=person, via="sms")
                outcome = SmsOutcome("declined", offer)
    except Conflict as error:
        outcome = SmsOutcome("expired" if error.code == "offer_expired" else "answered", offer)
    except PermissionDenied:
        outcome = SmsOutcome("needs_portal", offer)
    _reply(person, record.message_id, outcome.outcome, offer)
    return outcome


def offers_open_q() -> Q:
    return Q(status=OfferStatus.OPEN, deadline__gt=timezone.now())
