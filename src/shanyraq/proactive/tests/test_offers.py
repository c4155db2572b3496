"""From a birth to offers, and from an answer to applications and consents."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from django.utils import timezone

from shanyraq.casework import services as casework
from shanyraq.casework.models import Application, Status
from shanyraq.core.errors import Conflict, NotFound
from shanyraq.events import services as events
from shanyraq.events.models import Event
from shanyraq.notifications.models import Delivery, Notification
from shanyraq.proactive import selectors, services
from shanyraq.proactive.models import (
    Consent,
    ItemStatus,
    Offer,
    OfferItem,
    OfferStatus,
    Trigger,
)

from . import fixture
from .fixture import Family, announce_birth

# The shared fixtures, bound here so that pytest finds them for this module's tests.
english = fixture.english
ledger_log = fixture.ledger_log
family = fixture.family

pytestmark = pytest.mark.django_db(transaction=False)


def _offers(event: Event) -> dict[str, Offer]:
    return {o.iin: o for o in Offer.objects.filter(event=event)}


def _services(offer: Offer) -> list[str]:
    return sorted(i.service_version.service.code for i in offer.items.all())


def test_a_birth_makes_one_offer_per_parent_bundling_every_service(family: Family) -> None:
    event = announce_birth(family)
    report = events.events_dispatch()
    assert report.failed == 0
    offers = _offers(event)
    assert set(offers) == {family.mother.iin, family.father.iin}
    mother = offers[family.mother.iin]
    assert _services(mother) == ["birth-benefit", "birth-certificate"]
    assert mother.relation == "mother" and mother.user == family.mother
    assert mother.status == OfferStatus.OPEN and len(mother.code) == 6
    # The longest time any of its services gives to answer.
    assert (mother.deadline - mother.created_at).days == 30
    benefit = mother.items.get(service_version=family.benefit)
    assert benefit.answers == {
        "child_iin": event.payload["iin"],
        "relation": "mother",
        "phone": family.mother_phone,
    }
    # The father has no phone on record: the answer is left out rather than made up.
    father_benefit = offers[family.father.iin].items.get(service_version=family.benefit)
    assert "phone" not in father_benefit.answers
    message = Notification.objects.get(recipient=family.mother, template="offer.made")
    assert mother.code in message.body.get("en")
    sms = Delivery.objects.get(notification=message, channel="sms")
    assert sms.address == family.mother_phone
    assert mother.code in sms.body


def test_offering_reads_are_recorded_for_each_agency(family: Family) -> None:
    from shanyraq.access_log.models import AccessRecord

    event = announce_birth(family)
    events.events_dispatch()
    records = AccessRecord.objects.filter(case_ref=f"event {event.pk}")
    assert {r.agency.code for r in records} == {"labour", "justice"}
    assert all(r.purpose.startswith("proactive offer") for r in records)


def test_a_repeated_delivery_makes_no_second_offer(family: Family) -> None:
    event = announce_birth(family)
    first = services.offers_make(event)
    assert len(first) == 2
    assert services.offers_make(event) == []
    events.events_dispatch()  # the outbox delivers it once more
    assert Offer.objects.filter(event=event).count() == 2
    assert Trigger.objects.filter(event=event).count() == 2
    assert Notification.objects.filter(template="offer.made").count() == 2


def test_a_deceased_parent_gets_no_offer(family: Family) -> None:
    from shanyraq.registries import services as register_services
    from shanyraq.registries.selectors import records_read_for_case

    father = records_read_for_case(
        agency=family.labour,
        reads=[("population", family.father.iin or "", None)],
        purpose="test",
        basis="test",
        case_ref="test",
        system_name="test",
    )[("population", family.father.iin or "")]
    assert father is not None
    register_services.record_update(
        register="population",
        key=family.father.iin or "",
        data={**father.data, "date_of_death": "2026-01-02"},
        expected_version=father.version,
        actor=None,
        agency=None,
        basis="death registration",
    )
    event = announce_birth(family)
    events.events_dispatch()
    assert set(_offers(event)) == {family.mother.iin}


def test_a_parent_without_parental_rights_gets_no_offer(family: Family) -> None:
    event = announce_birth(
        family,
        parents=[
            {"iin": family.mother.iin, "relation": "mother"},
            {"iin": family.father.iin, "relation": "father", "rights": "deprived"},
        ],
    )
    events.events_dispatch()
    assert set(_offers(event)) == {family.mother.iin}


def test_conditions_decide_who_is_offered_which_service(family: Family) -> None:
    from shanyraq.proactive.tests.fixture import benefit_republish

    # A new version offers the benefit to fathers only.
    benefit_republish(family, conditions={"==": [{"var": "recipient.relation"}, "father"]})
    event = announce_birth(family)
    events.events_dispatch()
    offers = _offers(event)
    assert _services(offers[family.mother.iin]) == ["birth-certificate"]
    assert _services(offers[family.father.iin]) == ["birth-benefit", "birth-certificate"]
    assert (
        Trigger.objects.get(event=event, service_version__service__code="birth-benefit").offered
        == 1
    )


def test_an_event_about_a_person_not_in_the_register_makes_nothing(family: Family) -> None:
    from django.db import transaction

    with transaction.atomic():
        event = events.event_record(
            type="PersonBorn", payload={"iin": "990101300123", "parents": []}
        )
    report = events.events_dispatch()
    assert report.failed == 0
    assert not Offer.objects.filter(event=event).exists()
    # It was looked at: the services' measures count it as seen.
    assert Trigger.objects.filter(event=event).count() == 2


def test_accepting_applies_for_every_service_and_records_consent(family: Family) -> None:
    event = announce_birth(family)
    events.events_dispatch()
    offer = _offers(event)[family.mother.iin]
    consent = services.offer_accept(offer=offer, person=family.mother)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED and offer.answered_via == "web"
    assert consent.services == ["birth-benefit", "birth-certificate"]
    assert consent.is_active and consent.channel == "web"
    assert {d["service"] for d in consent.data} == {"birth-benefit", "birth-certificate"}
    items = {i.service_version.service.code: i for i in offer.items.all()}
    assert all(i.status == ItemStatus.APPLIED for i in items.values())
    benefit = items["birth-benefit"].application
    assert benefit is not None and benefit.applicant == family.mother
    assert benefit.answers["child_iin"] == event.payload["iin"]
    assert benefit.status == Status.ACTIVE
    casework.work_once()
    benefit.refresh_from_db()
    assert benefit.status == Status.APPROVED
    # The father's offer is fulfilled by the mother's applications: nothing is paid twice.
    father = _offers(event)[family.father.iin]
    assert father.status == OfferStatus.FULFILLED
    assert set(father.items.values_list("status", flat=True)) == {ItemStatus.TAKEN}
    with pytest.raises(Conflict):
        services.offer_accept(offer=father, person=family.father)


def test_the_other_parent_can_still_take_what_was_not_applied_for(family: Family) -> None:
    event = announce_birth(family)
    events.events_dispatch()
    offers = _offers(event)
    services.offer_decline(offer=offers[family.mother.iin], person=family.mother)
    services.offer_accept(offer=offers[family.father.iin], person=family.father)
    assert Application.objects.filter(applicant=family.father).count() == 2
    assert not Application.objects.filter(applicant=family.mother).exists()


def test_only_the_person_offered_can_answer(family: Family) -> None:
    event = announce_birth(family)
    events.events_dispatch()
    offer = _offers(event)[family.mother.iin]
    with pytest.raises(NotFound):
        services.offer_accept(offer=offer, person=family.stranger)
    with pytest.raises(NotFound):
        services.offer_decline(offer=offer, person=family.father)
    with pytest.raises(NotFound):
        selectors.offer_for(family.stranger, str(offer.public_id))
    assert not Application.objects.exists()
    assert not Consent.objects.exists()


def test_an_offer_past_its_deadline_cannot_be_accepted(family: Family) -> None:
    event = announce_birth(family)
    events.events_dispatch()
    offer = _offers(event)[family.mother.iin]
    Offer.objects.filter(pk=offer.pk).update(deadline=timezone.now() - datetime.timedelta(1))
    with pytest.raises(Conflict) as raised:
        services.offer_accept(offer=offer, person=family.mother)
    assert raised.value.code == "offer_expired"
    assert not Application.objects.exists() and not Consent.objects.exists()


def test_expiry_closes_offers_and_their_items(family: Family) -> None:
    announce_birth(family)
    events.events_dispatch()
    later = timezone.now() + datetime.timedelta(days=31)
    assert services.offers_expire(now=later) == 2
    assert set(Offer.objects.values_list("status", flat=True)) == {OfferStatus.EXPIRED}
    assert set(OfferItem.objects.values_list("status", flat=True)) == {ItemStatus.EXPIRED}
    assert services.offers_expire(now=later) == 0


def test_declining_applies_for_nothing(family: Family) -> None:
    event = announce_birth(family)
    events.events_dispatch()
    offer = _offers(event)[family.mother.iin]
    services.offer_decline(offer=offer, person=family.mother)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED
    assert set(offer.items.values_list("status", flat=True)) == {ItemStatus.DECLINED}
    assert not Application.objects.exists() and not Consent.objects.exists()
    with pytest.raises(Conflict):
        services.offer_accept(offer=offer, person=family.mother)


def test_withdrawing_consent_stops_the_applications_not_yet_decided(family: Family) -> None:
    event = announce_birth(family)
    events.events_dispatch()
    offer = _offers(event)[family.mother.iin]
    consent = services.offer_accept(offer=offer, person=family.mother)
    casework.work_once()  # the benefit is decided; the certificate waits for an official
    stopped = services.consent_withdraw(consent=consent, person=family.mother)
    certificate = offer.items.get(service_version=family.certificate).application
    benefit = offer.items.get(service_version=family.benefit).application
    assert certificate is not None and benefit is not None
    assert stopped == [certificate.number]
    certificate.refresh_from_db()
    benefit.refresh_from_db()
    assert certificate.status == Status.WITHDRAWN
    assert benefit.status == Status.APPROVED
    consent.refresh_from_db()
    assert not consent.is_active
    with pytest.raises(Conflict):
        services.consent_withdraw(consent=consent, person=family.mother)
    with pytest.raises(NotFound):
        services.consent_withdraw(consent=consent, person=family.father)


def test_measures_count_what_each_service_did(family: Family) -> None:
    event = announce_birth(family)
    events.events_dispatch()
    offers = _offers(event)
    services.offer_accept(offer=offers[family.mother.iin], person=family.mother)
    casework.work_once()
    measured = {m.service: m for m in selectors.measures()}
    benefit = measured["birth-benefit"]
    assert (benefit.events_seen, benefit.offered, benefit.accepted, benefit.taken) == (1, 2, 1, 1)
    assert benefit.event_to_offer_p95_s is not None and benefit.event_to_offer_p95_s >= 0
    assert benefit.acceptance_to_decision_p95_s is not None
    assert measured["birth-certificate"].acceptance_to_decision_p95_s is None  # not decided
    assert selectors.measures(agency_ids=[family.justice.pk])[0].service == "birth-certificate"
    share = selectors.delivery_share()
    assert (share.proactive, share.total) == (2, 2)


class SignedOffer(NamedTuple):
    """The mother's offer after a birth, when the birth certificate needs her signature."""

    offer: Offer
    signed: OfferItem  # the certificate's item
    key: Any  # the mother's signing key
    serial: str  # her certificate's serial number


@pytest.fixture
def signed_offer(family: Family, settings: Any, tmp_path: Path) -> SignedOffer:
    from shanyraq.catalog.models import ServiceVersion
    from shanyraq.documents import pki
    from shanyraq.testing.esign import key_of

    settings.PKI_DIR = tmp_path / "pki"
    pki.pki_init()
    ServiceVersion.objects.filter(pk=family.certificate.pk).update(esign_required=True)
    services.declarations_forget()
    event = announce_birth(family)
    events.events_dispatch()
    offer = _offers(event)[family.mother.iin]
    key, serial = key_of(family.mother)
    return SignedOffer(offer, offer.items.get(service_version=family.certificate), key, serial)


def test_a_service_that_needs_a_signature_is_applied_for_only_when_signed(
    family: Family, signed_offer: SignedOffer
) -> None:
    from shanyraq.core.errors import PermissionDenied
    from shanyraq.testing.esign import webcrypto_signature

    offer, signed = signed_offer.offer, signed_offer.signed
    assert services.needs_signature(signed)
    with pytest.raises(PermissionDenied):
        services.offer_accept(offer=offer, person=family.mother)
    assert not Application.objects.exists() and not Consent.objects.exists()
    wrong = services.signing_content(offer.items.get(service_version=family.benefit))
    forged = {
        signed.pk: services.esign.Signature(
            certificate=signed_offer.serial, value=webcrypto_signature(signed_offer.key, wrong)
        )
    }
    services.offer_accept(offer=offer, person=family.mother, signatures=forged)
    signed.refresh_from_db()
    assert signed.status == ItemStatus.FAILED and signed.application is None
    assert offer.items.get(service_version=family.benefit).status == ItemStatus.APPLIED


def test_a_correct_signature_applies_for_the_signed_service(
    family: Family, signed_offer: SignedOffer
) -> None:
    from shanyraq.testing.esign import webcrypto_signature

    signed = signed_offer.signed
    signature = services.esign.Signature(
        certificate=signed_offer.serial,
        value=webcrypto_signature(signed_offer.key, services.signing_content(signed)),
    )
    services.offer_accept(
        offer=signed_offer.offer, person=family.mother, signatures={signed.pk: signature}
    )
    signed.refresh_from_db()
    assert signed.status == ItemStatus.APPLIED and signed.application is not None
