"""The five demo services declared as data work end to end on the demo registers.

Each service is loaded from the demo catalog, as ``shanyraq load_demo`` loads it, and one
application is driven through the casework services by the demo citizens (Aigerim, who has a
newborn daughter, and Daulet, who has an older son and a flat to sell).
"""

from __future__ import annotations

import contextlib
import datetime
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from shanyraq.accounts.models import Role, User
from shanyraq.casework import services
from shanyraq.casework.declarations import declaration_problems
from shanyraq.casework.models import Application, Status
from shanyraq.catalog.models import Agency, Service, VersionStatus
from shanyraq.core.errors import DomainError
from shanyraq.core.national_id import is_valid_bin, make_iin
from shanyraq.documents import pki
from shanyraq.portal.demo import DEMO_ACCOUNTS, demo_load
from shanyraq.portal.demo_registers import BASIS, FLAT_FOR_SALE, HOMES, demo_registers_load
from shanyraq.registries.models import Record, RecordVersion
from shanyraq.testing import factories
from shanyraq.testing.esign import signature_for

AIGERIM = "900315412348"
DAULET = "851102343215"
PHONE = "+77011234567"
DECIDED_AUTOMATICALLY = {
    "no-criminal-record": "records_check",
    "childbirth-benefit": "eligibility",
    "real-estate-rights-registration": "title_check",
    "sole-proprietor-registration": "applicant_check",
}
DECIDED_BY_A_CLERK = {"residence-registration": "registration"}


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def demo_catalog(db: None) -> None:
    demo_load()


@pytest.fixture
def demo(demo_catalog: None) -> None:
    """The demo catalog, accounts and registers (defined by ``registers_define_all``, which the
    loader calls), with a small synthetic population."""
    demo_registers_load([a for a in DEMO_ACCOUNTS if a.iin], persons=20)


@pytest.fixture
def aigerim(demo: None) -> User:
    return User.objects.get(iin=AIGERIM)


@pytest.fixture
def daulet(demo: None) -> User:
    return User.objects.get(iin=DAULET)


@pytest.fixture
def today() -> datetime.date:
    return timezone.localdate()


def official(agency: str, role: Role) -> User:
    return factories.member(Agency.objects.get(code=agency), role)


@pytest.fixture(autouse=True)
def platform_pki(settings: Any, tmp_path: Path, db: None) -> Any:
    """The PKI that certifies citizens' signing keys (some demo services need a signature)."""
    settings.PKI_DIR = tmp_path / "pki"
    return pki.pki_init()


def apply(citizen: User, service: str, answers: dict[str, Any]) -> Application:
    """A submitted application of ``citizen`` with ``answers`` (the registers give the rest),
    signed when the service asks for a signature."""
    draft = services.application_start(applicant=citizen, service_code=service)
    draft = services.application_save(application=draft, applicant=citizen, values=answers)
    return services.application_submit(
        application=draft, applicant=citizen, signature=signature_for(citizen, draft)
    )


def reloaded(application: Application) -> Application:
    return Application.objects.get(pk=application.pk)


def current(register: str, key: str) -> tuple[int, dict[str, Any]]:
    """A record's current version number and data."""
    record = Record.objects.get(register__code=register, key=key)
    version = RecordVersion.objects.get(record=record, number=record.version)
    return record.version, dict(version.data)


def children_of(iin: str) -> list[dict[str, Any]]:
    """The demo children whose population record names ``iin`` as a parent."""
    versions = RecordVersion.objects.filter(record__register__code="population", basis=BASIS)
    return [
        v.data
        for v in versions
        if any(parent["iin"] == iin for parent in v.data.get("parents") or [])
    ]


def outcomes(application: Application) -> dict[str, str]:
    trace = application.decision_trace or {}
    return {c["id"]: c["outcome"] for c in trace.get("conditions") or []}


def actions(application: Application) -> list[str]:
    return list(application.events.order_by("at", "id").values_list("action", flat=True))


# --- the declarations ------------------------------------------------------------------------


@pytest.mark.parametrize("code", [*DECIDED_AUTOMATICALLY, *DECIDED_BY_A_CLERK])
def test_demo_service_is_published_with_a_usable_declaration(demo_catalog: None, code: str) -> None:
    version = Service.objects.select_related("current_version").get(code=code).current_version
    assert version is not None
    assert version.status == VersionStatus.PUBLISHED
    assert version.form is not None  # publishing checked it (catalog.services)
    assert version.process is not None
    assert (version.rules is not None) is (code in DECIDED_AUTOMATICALLY)
    assert declaration_problems(version.form, version.process, version.rules) == []
    starts = {**DECIDED_AUTOMATICALLY, **DECIDED_BY_A_CLERK}
    assert version.process["start"] == starts[code]


def test_demo_citizens_have_what_the_services_need(
    demo: None, today: datetime.date, monkeypatch: pytest.MonkeyPatch
) -> None:
    (daughter,) = children_of(AIGERIM)
    (son,) = children_of(DAULET)
    assert (today - datetime.date.fromisoformat(daughter["birth_date"])).days == 45
    assert son["birth_date"] == "2019-06-10"
    assert current("population", AIGERIM)[1]["registered_address"] == HOMES["citizen.aigerim"][0]
    assert current("real_estate", FLAT_FOR_SALE)[1]["owners"][0]["iin"] == DAULET
    # Loading again writes nothing more, even on a later day (when the newborn's IIN differs).
    before = Record.objects.count()
    monkeypatch.setattr(timezone, "localdate", lambda: today + datetime.timedelta(days=30))
    demo_registers_load([a for a in DEMO_ACCOUNTS if a.iin], persons=20)
    assert Record.objects.count() == before


# --- 1. certificate of no criminal record --------------------------------------------------


def test_no_criminal_record_certificate_is_issued_automatically(aigerim: User) -> None:
    application = apply(
        aigerim, "no-criminal-record", {"purpose": "employment", "certificate_language": "kk"}
    )
    assert (application.status, application.step) == (Status.ACTIVE, "records_check")

    assert services.work_once() == 1

    application = reloaded(application)
    assert application.status == Status.APPROVED
    assert application.decided_at is not None
    assert application.decision_trace is not None
    assert application.decision_trace["outcome"] == "approve"
    assert outcomes(application) == {
        "in_population_register": "true",
        "alive": "true",
        "aged_14_or_over": "true",
    }
    assert actions(application)[-1] == "approve"
    assert not application.events.filter(actor_kind="official").exists()


# --- 2. registration at the place of residence ----------------------------------------------

NEW_ADDRESS = {
    "region": "astana",
    "locality": "Астана",
    "street": "Кенесары көшесі",
    "building": "40",
    "flat": "57",
}


def residence_application(citizen: User, today: datetime.date) -> Application:
    return apply(
        citizen,
        "residence-registration",
        {
            "applicant_phone": PHONE,
            "new_address": NEW_ADDRESS,
            "cadastral_number": FLAT_FOR_SALE,
            "move_in_date": today.isoformat(),
            "residence_basis": "owner-consent",
            "owner_iin": DAULET,
        },
    )


def test_residence_registration_approved_by_a_clerk_changes_the_address(
    aigerim: User, today: datetime.date
) -> None:
    application = residence_application(aigerim, today)
    services.work_once()  # nothing automatic: the case waits for a clerk
    application = reloaded(application)
    assert (application.status, application.step) == (Status.ACTIVE, "registration")
    number, before = current("population", AIGERIM)

    clerk = official("mvd-migration", Role.CLERK)
    services.case_act(application=application, official=clerk, action="approve", note="Checked.")

    assert reloaded(application).status == Status.APPROVED
    after_number, after = current("population", AIGERIM)
    assert after_number == number + 1
    assert after == {
        **before,
        "registered_address": NEW_ADDRESS,
        "registered_since": today.isoformat(),
    }


def test_residence_registration_rejected_leaves_the_address(
    aigerim: User, today: datetime.date
) -> None:
    application = residence_application(aigerim, today)
    number, before = current("population", AIGERIM)

    clerk = official("mvd-migration", Role.CLERK)
    services.case_act(
        application=application, official=clerk, action="reject", note="No such building."
    )

    assert reloaded(application).status == Status.REJECTED
    assert current("population", AIGERIM) == (number, before)


# --- 3. childbirth benefit -------------------------------------------------------------------


def benefit_application(citizen: User, child_iin: str, role: str) -> Application:
    return apply(
        citizen,
        "childbirth-benefit",
        {
            "applicant_phone": PHONE,
            "recipient_role": role,
            "child_iin": child_iin,
            "birth_order": 1,
            "multiple_birth": False,
            "bank_iban": "KZ86125KZT5004100100",
        },
    )


def test_childbirth_benefit_is_granted_automatically_to_the_parent_of_a_newborn(
    aigerim: User,
) -> None:
    (daughter,) = children_of(AIGERIM)
    application = benefit_application(aigerim, daughter["iin"], "mother")

    services.work_once()

    application = reloaded(application)
    assert application.status == Status.APPROVED
    assert outcomes(application) == {
        "applicant_is_parent": "true",
        "born_within_12_months": "true",
        "child_alive": "true",
    }
    assert application.decision_trace is not None
    born = application.decision_trace["conditions"][1]["facts_used"]
    assert born == {"child.birth_date": daughter["birth_date"], "today": born["today"]}


@pytest.mark.parametrize(
    ("whose_child", "failing"),
    [(DAULET, "born_within_12_months"), (AIGERIM, "applicant_is_parent")],
    ids=["own-child-not-a-newborn", "not-the-parent"],
)
def test_childbirth_benefit_is_refused_automatically_with_the_failing_condition(
    daulet: User, whose_child: str, failing: str
) -> None:
    (child,) = children_of(whose_child)
    application = benefit_application(daulet, child["iin"], "father")

    services.work_once()

    application = reloaded(application)
    assert application.status == Status.REJECTED
    assert application.decision_trace is not None
    assert application.decision_trace["outcome"] == "reject"
    assert [c for c, outcome in outcomes(application).items() if outcome != "true"] == [failing]
    assert outcomes(application)[failing] == "false"


# --- 4. registration of a property sale -------------------------------------------------------


def sale_answers(buyer: str, today: datetime.date) -> dict[str, Any]:
    return {
        "applicant_phone": PHONE,
        "cadastral_number": FLAT_FOR_SALE,
        "buyer_iin": buyer,
        "new_owner": {
            "iin": buyer,
            "share": "1/1",
            "acquisition_basis": "purchase",
            "acquired_on": today.isoformat(),
            "document": "3-2045",
        },
    }


def test_property_sale_needs_the_buyer_then_the_registrar_changes_the_owners(
    aigerim: User, daulet: User, today: datetime.date
) -> None:
    answers = sale_answers(AIGERIM, today)
    application = apply(daulet, "real-estate-rights-registration", answers)
    assert application.status == Status.AWAITING_PARTIES
    assert services.work_once() == 0  # nothing starts before the buyer confirms

    services.party_respond(application=application, person=aigerim, accept=True)
    assert reloaded(application).status == Status.ACTIVE
    services.work_once()

    application = reloaded(application)
    assert (application.status, application.step) == (Status.ACTIVE, "registration")
    assert set(outcomes(application).values()) == {"true"}
    number, before = current("real_estate", FLAT_FOR_SALE)
    assert [owner["iin"] for owner in before["owners"]] == [DAULET]

    registrar = official("gov4c", Role.REVIEWER)
    services.case_act(
        application=application, official=registrar, action="approve", note="Registered."
    )

    assert reloaded(application).status == Status.APPROVED
    assert current("real_estate", FLAT_FOR_SALE) == (
        number + 1,
        {**before, "owners": [answers["new_owner"]]},
    )


def test_property_sale_can_bring_the_signed_contract_as_a_pdf(
    aigerim: User, daulet: User, today: datetime.date, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from shanyraq.casework import attachments

    settings.ATTACHMENTS_ROOT = tmp_path / "attachments"
    contract = b"%PDF-1.7\n% the signed contract\n%%EOF\n"
    draft = services.application_start(
        applicant=daulet, service_code="real-estate-rights-registration"
    )
    with pytest.raises(DomainError) as refused:
        attachments.attachment_add(
            application=draft,
            field="sale_contract",
            upload=SimpleUploadedFile("contract.pdf", b"\x89PNG\r\n\x1a\n", "application/pdf"),
            by=daulet,
        )
    assert refused.value.code == "file_type_mismatch"
    attached = attachments.attachment_add(
        application=draft,
        field="sale_contract",
        upload=SimpleUploadedFile("contract.pdf", contract, "application/pdf"),
        by=daulet,
    )
    answers = {**sale_answers(AIGERIM, today), "sale_contract": str(attached.public_id)}
    draft = services.application_save(application=draft, applicant=daulet, values=answers)
    application = services.application_submit(
        application=draft, applicant=daulet, signature=signature_for(daulet, draft)
    )
    assert application.status == Status.AWAITING_PARTIES
    opened = attachments.attachment_open(
        application=application, attachment_id=str(attached.public_id), reader=aigerim
    )
    with opened.file:
        assert opened.file.read() == contract


def test_property_sale_by_someone_who_does_not_own_it_is_refused(
    aigerim: User, daulet: User, today: datetime.date
) -> None:
    before = current("real_estate", FLAT_FOR_SALE)
    application = apply(aigerim, "real-estate-rights-registration", sale_answers(DAULET, today))
    services.party_respond(application=application, person=daulet, accept=True)

    services.work_once()

    application = reloaded(application)
    assert application.status == Status.REJECTED
    assert outcomes(application) == {
        "seller_is_owner": "false",
        "seller_is_sole_owner": "false",
        "no_arrest": "true",
        "buyer_is_new_owner": "true",
    }
    assert current("real_estate", FLAT_FOR_SALE) == before


def test_a_flat_sold_meanwhile_is_not_sold_again(
    aigerim: User, daulet: User, today: datetime.date
) -> None:
    other = User.objects.create(username="buyer", iin=make_iin(datetime.date(1992, 4, 1), "M"))
    first = apply(daulet, "real-estate-rights-registration", sale_answers(AIGERIM, today))
    services.party_respond(application=first, person=aigerim, accept=True)
    second = apply(daulet, "real-estate-rights-registration", sale_answers(str(other.iin), today))
    services.party_respond(application=second, person=other, accept=True)
    services.work_once()  # both pass the title check: Daulet still owns the flat
    registrar = official("gov4c", Role.REVIEWER)
    services.case_act(application=first, official=registrar, action="approve", note="Registered.")

    with contextlib.suppress(DomainError):
        services.case_act(
            application=second, official=registrar, action="approve", note="Registered."
        )

    assert reloaded(second).status != Status.APPROVED
    assert current("real_estate", FLAT_FOR_SALE)[1]["owners"] == [
        sale_answers(AIGERIM, today)["new_owner"]
    ]


# --- 5. registration as a sole proprietor ------------------------------------------------------


def proprietor_answers(proprietor: str, today: datetime.date) -> dict[str, Any]:
    return {
        "applicant_phone": PHONE,
        "business_type": "personal",
        "trade_name": {"kk": "ЖК «Дәулет»", "ru": "ИП «Даулет»"},
        "activity_code": "47.19.1",
        "business_address": "Астана, Кенесары көшесі, 40",
        "proprietor": {"iin": proprietor, "since": today.isoformat()},
        "tax_regime": "simplified-declaration",
        "vat_payer": False,
    }


def test_sole_proprietorship_approved_by_a_clerk_creates_a_business(
    daulet: User, today: datetime.date
) -> None:
    existing = set(Record.objects.filter(register__code="business").values_list("pk", flat=True))
    application = apply(daulet, "sole-proprietor-registration", proprietor_answers(DAULET, today))
    services.work_once()
    application = reloaded(application)
    assert (application.status, application.step) == (Status.ACTIVE, "registration")
    assert set(outcomes(application).values()) == {"true"}

    clerk = official("kgd", Role.CLERK)
    services.case_act(application=application, official=clerk, action="approve", note="Done.")

    assert reloaded(application).status == Status.APPROVED
    (record,) = Record.objects.filter(register__code="business").exclude(pk__in=existing)
    assert is_valid_bin(record.key)
    assert current("business", record.key) == (
        1,
        {
            "bin": record.key,
            "name": {"kk": "ЖК «Дәулет»", "ru": "ИП «Даулет»"},
            "legal_form": "sole_proprietor",
            "registration_date": today.isoformat(),
            "address": HOMES["citizen.daulet"][0],
            "activity_codes": ["47.19.1"],
            "directors": [{"iin": DAULET, "since": today.isoformat()}],
            "status": "active",
        },
    )


def test_sole_proprietorship_for_someone_else_is_refused(
    daulet: User, today: datetime.date
) -> None:
    before = Record.objects.filter(register__code="business").count()
    application = apply(daulet, "sole-proprietor-registration", proprietor_answers(AIGERIM, today))

    services.work_once()

    application = reloaded(application)
    assert application.status == Status.REJECTED
    assert outcomes(application) == {
        "proprietor_is_applicant": "false",
        "adult": "true",
        "has_registered_address": "true",
    }
    assert Record.objects.filter(register__code="business").count() == before
