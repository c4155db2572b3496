"""The demo's proactive services, end to end at the level of the services.

The demo catalog, accounts and registers are loaded as ``shanyraq load_demo`` loads them. The
maternity hospital's system registers a birth in the demo family (Aigerim and her husband
Arman) through the API with its bearer token; the events outbox turns it into one offer per
parent, each bundling the five services a birth calls for; the mother accepts, the automatic
rules decide every application, the worker issues the documents and the child is registered at
the mother's address. A person who turns 63 today is offered the pension, accepts, and it is
assigned.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from shanyraq.accounts import services as account_services
from shanyraq.accounts.models import Membership, Role, User
from shanyraq.casework import services as casework
from shanyraq.casework.declarations import declaration_problems
from shanyraq.casework.models import Application, Status
from shanyraq.catalog.models import Service
from shanyraq.core.national_id import Sex, make_iin, validate_iin
from shanyraq.documents import pades, pki
from shanyraq.documents import selectors as document_selectors
from shanyraq.documents import services as documents
from shanyraq.documents.models import Document
from shanyraq.events import services as events
from shanyraq.events.services import DispatchReport
from shanyraq.ledger_django.models import Entry
from shanyraq.notifications.models import ContactPoint
from shanyraq.portal.demo import DEMO_ACCOUNTS, _load_json, demo_load
from shanyraq.portal.demo_registers import HOMES, demo_registers_load
from shanyraq.proactive import services as proactive
from shanyraq.proactive.declarations import LIFE_EVENTS, proactive_of
from shanyraq.proactive.models import ItemStatus, Offer, OfferItem, OfferStatus
from shanyraq.registries import services as register_services
from shanyraq.registries.models import Grant, Record, RecordVersion

AIGERIM = "900315412348"
ARMAN = make_iin(datetime.date(1988, 7, 21), "M", serial=2468)
ARMAN_PHONE = "+77015550123"
BIRTHS = "/api/v1/registries/population/births"
BIRTH_SERVICES = [
    "birth-registration",
    "childbirth-benefit",
    "childcare-allowance",
    "kindergarten-queue",
    "newborn-residence-registration",
]
PROACTIVE = dict.fromkeys(BIRTH_SERVICES, "PersonBorn") | {"pension-assignment": "PersonReachedAge"}
PENSION_TYPES = ["basic", "solidarity", "funded"]


# --- fixtures and helpers ------------------------------------------------------------------------


def dispatch() -> DispatchReport:
    """Deliver every pending event, as the worker's rounds would."""
    total = DispatchReport()
    while True:
        report = events.events_dispatch()
        if not report.events:
            return total
        total.events += report.events
        total.handled += report.handled
        total.failed += report.failed


@pytest.fixture
def demo(db: None, settings: Any, tmp_path: Path) -> Iterator[None]:
    """The demo catalog, accounts and registers with a small synthetic population, the
    platform's PKI for signing documents, and nothing left in the events outbox."""
    settings.PKI_DIR = tmp_path / "pki"
    settings.PKI_PASSPHRASE = "test-only-passphrase"
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    pki.pki_init()
    demo_load()
    demo_registers_load([a for a in DEMO_ACCOUNTS if a.iin], persons=20)
    # The declarations are read from the database of this test, not one an earlier test left.
    proactive.declarations_forget()
    assert dispatch().failed == 0
    yield
    proactive.declarations_forget()


def current(key: str) -> tuple[int, dict[str, Any]]:
    """A population record's current version number and data."""
    record = Record.objects.get(register__code="population", key=key)
    return record.version, dict(
        RecordVersion.objects.get(record=record, number=record.version).data
    )


def codes(offer: Offer) -> list[str]:
    return sorted(i.service_version.service.code for i in offer.items.all())


def answers(offer: Offer) -> dict[str, dict[str, Any]]:
    return {i.service_version.service.code: i.answers for i in offer.items.all()}


def outcomes(application: Application) -> dict[str, str]:
    trace = application.decision_trace or {}
    return {c["id"]: c["outcome"] for c in trace.get("conditions") or []}


def lines(document: Document) -> dict[str, Any]:
    """A document's lines, by their English label."""
    return {line["label"]["en"]: line["value"] for line in document.content["lines"]}


def counts() -> list[int]:
    return [
        User.objects.count(),
        Membership.objects.count(),
        ContactPoint.objects.count(),
        Grant.objects.count(),
        Record.objects.count(),
        RecordVersion.objects.count(),
    ]


def decided_entries() -> dict[str, dict[str, Any]]:
    """The ``casework.decision`` ledger entries, by the application's public id."""
    found = {}
    for entry in Entry.objects.filter(kind="casework.decision"):
        body = json.loads(bytes(entry.data))
        found[body["application"]] = body
    return found


# --- the declarations ------------------------------------------------------------------------------


def test_the_demo_catalog_declares_exactly_these_proactive_services() -> None:
    declared = {s["code"] for s in _load_json("services.json") if proactive_of(s.get("process"))}
    assert declared == set(PROACTIVE)


@pytest.mark.parametrize("code", sorted(PROACTIVE))
def test_every_demo_declaration_is_usable_and_names_a_life_event(code: str) -> None:
    (service,) = [s for s in _load_json("services.json") if s["code"] == code]
    assert declaration_problems(service["form"], service["process"], service["rules"]) == []
    declaration = service["process"]["proactive"]
    assert declaration["event"] in LIFE_EVENTS
    assert declaration["event"] == PROACTIVE[code]
    assert service["proactive"] is True  # the catalog shows it as offered without asking
    assert service["esign_required"] is False  # an offer accepted by SMS can apply for it
    assert proactive_of(service["process"]) is not None


def test_the_published_versions_carry_the_declarations(demo: None) -> None:
    for code, event in PROACTIVE.items():
        version = Service.objects.get(code=code).current_version
        assert version is not None
        declaration = proactive_of(version.process)
        assert declaration is not None, code
        assert declaration.event == event
        assert declaration.recipients == ("subject" if code == "pension-assignment" else "parents")
    version = Service.objects.get(code="pension-assignment").current_version
    assert version is not None
    pension = proactive_of(version.process)
    assert pension is not None and pension.ages == (61, 63)


# --- the demo family and the hospital's system ------------------------------------------------------


def test_the_demo_couple_and_the_hospital_system(demo: None) -> None:
    aigerim, arman = current(AIGERIM)[1], current(ARMAN)[1]
    assert (aigerim["marital_status"], aigerim["spouse_iin"]) == ("married", ARMAN)
    assert (arman["marital_status"], arman["spouse_iin"]) == ("married", AIGERIM)
    assert arman["registered_address"] == aigerim["registered_address"]
    assert arman["registered_address"] == HOMES["citizen.aigerim"][0]
    husband = User.objects.get(username="citizen.arman")
    assert husband.iin == ARMAN and husband.has_usable_password()
    assert ContactPoint.objects.get(user=husband).phone == ARMAN_PHONE
    assert not ContactPoint.objects.filter(user__iin=AIGERIM).exists()

    system = User.objects.get(username="system.perinatal")
    assert not system.has_usable_password()  # a token, never a password
    assert system.iin is None and not system.totp_secret
    (membership,) = Membership.objects.filter(user=system)
    assert (membership.agency.code, membership.role) == ("minhealth", Role.CLERK)
    grant = Grant.objects.get(agency__code="minhealth", register__code="population", role="clerk")
    assert grant.may_write is True

    # Loading again adds nothing: no account, membership, phone, grant or record twice.
    before = counts()
    demo_load()
    demo_registers_load([a for a in DEMO_ACCOUNTS if a.iin], persons=20)
    assert counts() == before


def test_an_earlier_demo_with_a_single_aigerim_gets_the_marriage(demo: None) -> None:
    """A database loaded before Arman was added: Aigerim's record says single."""
    number, data = current(AIGERIM)
    register_services.record_update(
        register="population",
        key=AIGERIM,
        data={**data, "marital_status": "single", "spouse_iin": None},
        expected_version=number,
        actor=None,
        agency=None,
        basis="test: as an earlier demo left it",
    )

    demo_registers_load([a for a in DEMO_ACCOUNTS if a.iin], persons=20)

    after_number, after = current(AIGERIM)
    assert after_number == number + 2
    assert after == {**data, "marital_status": "married", "spouse_iin": ARMAN}


# --- a birth, end to end ------------------------------------------------------------------------------


def register_birth(born: datetime.date) -> str:
    """The maternity hospital's system registers the birth through the API with its token;
    returns the child's new IIN."""
    system = User.objects.get(username="system.perinatal")
    _token, secret = account_services.token_create(user=system, name="perinatal centre")
    client = Client(headers={"authorization": f"Bearer {secret}"})
    child = {
        "last_name": "Нұрланов",
        "first_name": "Алихан",
        "middle_name": "Арманұлы",
        "birth_date": born.isoformat(),
        "birth_place": {"country": "KAZ", "region": "astana", "locality": "Астана"},
        "sex": "M",
        "citizenship": "KAZ",
        "marital_status": "single",
        "parents": [
            {"iin": AIGERIM, "relation": "mother"},
            {"iin": ARMAN, "relation": "father"},
        ],
    }
    response = client.post(
        BIRTHS,
        {"data": child, "basis": "medical birth certificate 2026-04-1175", "agency": "minhealth"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return str(response.json()["key"])


def test_a_birth_in_the_demo_family_is_served_end_to_end(demo: None) -> None:
    today = timezone.localdate()
    born = today - datetime.timedelta(days=1)
    aigerim = User.objects.get(iin=AIGERIM)
    child = register_birth(born)
    assert validate_iin(child).birth_date == born

    # --- the outbox makes one offer per parent, bundling the five services
    report = dispatch()
    assert report.failed == 0
    offers = {o.iin: o for o in Offer.objects.filter(event_type="PersonBorn", subject_iin=child)}
    assert set(offers) == {AIGERIM, ARMAN}
    mother, father = offers[AIGERIM], offers[ARMAN]
    for offer, relation in ((mother, "mother"), (father, "father")):
        assert codes(offer) == BIRTH_SERVICES
        assert (offer.status, offer.relation) == (OfferStatus.OPEN, relation)
        assert offer.user is not None and offer.user.iin == offer.iin
        assert (offer.deadline - offer.created_at).days == 365  # the benefit's 12 months
    offered = answers(mother)
    # Aigerim has no phone on record and the birth carries no birth order: left out.
    assert offered["childbirth-benefit"] == {"child_iin": child, "recipient_role": "mother"}
    assert offered["birth-registration"] == {
        "child_iin": child,
        "applicant_relation": "mother",
        "mother_iin": AIGERIM,
        "father_iin": ARMAN,
    }
    assert offered["kindergarten-queue"] == {
        "child_iin": child,
        "applicant_relation": "mother",
        "preferred_area": "Астана, Сығанақ көшесі, 29",
    }
    assert offered["newborn-residence-registration"] == {
        "child_iin": child,
        "applicant_relation": "mother",
    }
    assert answers(father)["childcare-allowance"] == {
        "child_iin": child,
        "recipient_role": "father",
        "applicant_phone": ARMAN_PHONE,
    }

    # --- the mother accepts: one application per service; the father's offer is done
    consent = proactive.offer_accept(offer=mother, person=aigerim)
    assert sorted(consent.services) == BIRTH_SERVICES
    items = list(
        OfferItem.objects.filter(offer=mother).select_related(
            "service_version__service", "application"
        )
    )
    assert [(i.status, i.problem) for i in items] == [(ItemStatus.APPLIED, "")] * 5
    father.refresh_from_db()
    assert father.status == OfferStatus.FULFILLED
    assert set(father.items.values_list("status", flat=True)) == {ItemStatus.TAKEN}

    # --- the rules decide every application, with no official
    assert casework.work_once() == 5
    applications = {
        i.service_version.service.code: i.application for i in items if i.application is not None
    }
    assert sorted(applications) == BIRTH_SERVICES
    for code, application in applications.items():
        application.refresh_from_db()
        assert application.status == Status.APPROVED, (code, application.decision_trace)
        assert application.applicant == aigerim
        assert set(outcomes(application).values()) == {"true"}, code
        assert not application.events.filter(actor_kind="official").exists()
    assert outcomes(applications["newborn-residence-registration"]) == {
        "child_in_register": "true",
        "applicant_is_parent": "true",
        "applicant_has_address": "true",
        "born_within_12_months": "true",
        "child_alive": "true",
    }

    # --- each decision is in the ledger
    entries = decided_entries()
    for code, application in applications.items():
        entry = entries[str(application.public_id)]
        assert (entry["service"], entry["decision"]) == (code, "approved")
        assert AIGERIM not in json.dumps(entry) and child not in json.dumps(entry)

    # --- the child lives where the mother is registered, from today
    number, record = current(child)
    assert number == 2
    assert record["registered_address"] == HOMES["citizen.aigerim"][0]
    assert record["registered_since"] == today.isoformat()
    changed = RecordVersion.objects.get(record__key=child, number=2)
    assert changed.agency is not None and changed.agency.code == "mvd-migration"
    assert changed.basis == f"application {applications['newborn-residence-registration'].number}"

    # --- the worker issues the documents, signed by each agency
    issued = documents.documents_issue_pending()
    assert (issued.issued, issued.failed) == (5, 0)
    by_service = {
        code: Document.objects.get(application=application)
        for code, application in applications.items()
    }
    certificate = by_service["birth-registration"]
    assert (certificate.kind, certificate.title.get("en")) == ("certificate", "Birth certificate")
    assert certificate.agency.code == "mdai" and certificate.holder == aigerim
    assert lines(certificate) == {
        "Surname": "Нұрланов",
        "Given name": "Алихан",
        "Patronymic": "Арманұлы",
        "IIN": child,
        "Date of birth": born.isoformat(),
        "Place of birth": "Астана",
        "Sex": {"kk": "Ер", "ru": "Мужской", "en": "Male"},
        "Mother": "Нұрланова Айгерім Серікқызы",
        "Father": "Нұрланов Арман Ерланұлы",
        "Number of the birth record": applications["birth-registration"].number,
        "Date of issue": today.isoformat(),
    }
    queue = by_service["kindergarten-queue"]
    assert (queue.kind, queue.agency.code) == ("certificate", "edu")
    assert queue.title.get("en") == "Confirmation of a place in the kindergarten queue"
    assert lines(queue)["Child"] == "Нұрланов Алихан"
    assert lines(queue)["Queue registration number"] == applications["kindergarten-queue"].number
    assert lines(queue)["Language of the group"]["en"] == "To be chosen later"
    benefit = lines(by_service["childbirth-benefit"])
    assert benefit["Amount of the benefit"]["en"] == "38 MCI (164,350 tenge)"
    assert benefit["How it is paid"]["en"] == "At a Kazpost branch on presenting an ID card"
    assert benefit["Recipient"] == "Нұрланова Айгерім Серікқызы"
    for document in (certificate, queue):
        assert document.status == "issued"
        files = {f.language: f for f in document.files.all()}
        assert set(files) == {"kk", "ru", "en"}
        check = pades.validate_pdf(document_selectors.file_bytes(files["kk"]))
        assert check.valid and check.intact, check.problems
    assert all(d.status == "issued" and d.ledger_leaf_hash for d in by_service.values())


def test_the_father_can_accept_instead_and_the_mother_is_left_nothing(demo: None) -> None:
    child = register_birth(timezone.localdate())
    dispatch()
    arman = User.objects.get(iin=ARMAN)
    offer = Offer.objects.get(iin=ARMAN, subject_iin=child)

    proactive.offer_accept(offer=offer, person=arman, via="sms")
    casework.work_once()

    applications = Application.objects.filter(applicant=arman)
    assert applications.count() == 5
    assert set(applications.values_list("status", flat=True)) == {Status.APPROVED}
    assert Offer.objects.get(iin=AIGERIM, subject_iin=child).status == OfferStatus.FULFILLED
    # The child is registered at the father's address, which is the mother's too.
    assert current(child)[1]["registered_address"] == HOMES["citizen.arman"][0]
    # His benefit application carries the phone from his contact settings.
    benefit = applications.get(service_version__service__code="childbirth-benefit")
    assert benefit.answers["applicant_phone"] == ARMAN_PHONE


def test_a_child_whose_death_is_recorded_first_is_offered_only_the_certificate(
    demo: None,
) -> None:
    """The benefits, the queue and the address need a living child; the birth certificate
    is issued all the same."""
    child = register_birth(timezone.localdate() - datetime.timedelta(days=2))
    number, data = current(child)
    register_services.record_update(
        register="population",
        key=child,
        data={**data, "date_of_death": timezone.localdate().isoformat()},
        expected_version=number,
        actor=None,
        agency=None,
        basis="test: death registration",
    )
    dispatch()
    # The subject is read when the birth is handled: by then the register records the death.
    offers = Offer.objects.filter(subject_iin=child, event_type="PersonBorn")
    assert {o.iin for o in offers} == {AIGERIM, ARMAN}
    assert {tuple(codes(o)) for o in offers} == {("birth-registration",)}


# --- the pension ---------------------------------------------------------------------------------


def years_before(day: datetime.date, years: int) -> datetime.date:
    return day.replace(year=day.year - years)


def ages_check_day() -> datetime.date:
    """Today, or yesterday on 29 February (whose birthdays 61 and 63 years back do not exist)."""
    today = timezone.localdate()
    return today - datetime.timedelta(days=1) if (today.month, today.day) == (2, 29) else today


def person_reaching(age: int, sex: Sex, serial: int) -> User:
    born = years_before(ages_check_day(), age)
    iin = make_iin(born, sex, serial=serial)
    register_services.record_create(
        register="population",
        data={
            "iin": iin,
            "last_name": "Сәрсенов" if sex == "M" else "Сәрсенова",
            "first_name": "Болат" if sex == "M" else "Гүлжан",
            "birth_date": born.isoformat(),
            "sex": sex,
            "citizenship": "KAZ",
            "marital_status": "married",
            "registered_address": {
                "region": "karaganda",
                "locality": "Қарағанды",
                "street": "Бұқар жырау даңғылы",
                "building": "49",
            },
        },
        actor=None,
        agency=None,
        basis="test: a person of the register",
    )
    return User.objects.create(username=f"citizen.{serial}", iin=iin, first_name="Болат")


def test_a_man_turning_63_today_is_assigned_the_pension(demo: None) -> None:
    pensioner = person_reaching(63, "M", serial=3901)

    assert proactive.ages_check(today=ages_check_day()) >= 1
    assert dispatch().failed == 0

    offer = Offer.objects.get(iin=pensioner.iin, event_type="PersonReachedAge")
    assert (offer.relation, offer.subject_iin, offer.user) == ("self", "", pensioner)
    assert codes(offer) == ["pension-assignment"]
    assert (offer.deadline - offer.created_at).days == 90
    assert answers(offer)["pension-assignment"] == {
        "retirement_ground": "age",
        "pension_types": PENSION_TYPES,
    }
    proactive.offer_accept(offer=offer, person=pensioner)
    assert casework.work_once() == 1

    application = Application.objects.get(applicant=pensioner)
    assert application.service_version.service.code == "pension-assignment"
    assert application.status == Status.APPROVED, application.decision_trace
    assert outcomes(application) == {
        "in_population_register": "true",
        "alive": "true",
        "pension_age": "true",
    }
    # The registers filled in the rest: the address comes from the population register.
    assert application.prefilled["applicant_address"] == {
        "value": "karaganda, Қарағанды, Бұқар жырау даңғылы, 49",
        "source": "population.registered_address",
    }
    assert str(application.public_id) in decided_entries()


@pytest.mark.parametrize(
    ("age", "sex", "offered"),
    [(61, "F", True), (63, "M", True), (63, "F", False), (61, "M", False)],
    ids=["woman-at-61", "man-at-63", "woman-at-63", "man-at-61"],
)
def test_the_pension_is_offered_at_61_to_women_and_at_63_to_men(
    demo: None, age: int, sex: Sex, offered: bool
) -> None:
    person = person_reaching(age, sex, serial=3902)

    proactive.ages_check(today=ages_check_day())
    dispatch()

    found = Offer.objects.filter(iin=person.iin, event_type="PersonReachedAge")
    assert found.exists() is offered
    assert not Application.objects.filter(applicant=person).exists()
