"""A family, two proactive services that listen to births, and a way to announce a birth.

``benefit`` (Ministry of Labour): the one-time childbirth benefit, decided automatically
(the child is in the register and under a year old), offered to each living parent with
parental rights who is a citizen. ``certificate`` (Ministry of Justice): a birth certificate,
reviewed by an official (so it stays undecided until one acts). Both are offered in one offer
per parent.

Import the fixtures a test module uses by name (pytest finds them in the module's namespace).
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction

from shanyraq.accounts.models import User
from shanyraq.casework.tests.services_fixture import english, label, ledger_log, person_record
from shanyraq.catalog.models import Agency, ServiceVersion
from shanyraq.core.national_id import make_iin
from shanyraq.events import services as events
from shanyraq.events.models import Event
from shanyraq.notifications import services as notifications
from shanyraq.proactive import services
from shanyraq.registries import services as register_services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.testing import factories

__all__ = [
    "BENEFIT_PROACTIVE",
    "Family",
    "announce_birth",
    "benefit_service",
    "english",
    "family",
    "ledger_log",
]

CHILD_FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["child_iin", "relation"],
        "properties": {
            "child_iin": {"type": "string", "pattern": "^[0-9]{12}$"},
            "relation": {"type": "string", "enum": ["mother", "father", "parent"]},
            "phone": {"type": "string", "maxLength": 16},
        },
    },
    "ui": {
        "steps": [
            {"key": "child", "title": label("The child"), "fields": ["child_iin", "relation"]},
            {"key": "contact", "title": label("Contact"), "fields": ["phone"]},
        ],
        "labels": {
            "child_iin": label("Child's IIN"),
            "relation": label("Relation"),
            "phone": label("Phone"),
        },
    },
}

BENEFIT_PROACTIVE: dict[str, Any] = {
    "event": "PersonBorn",
    "recipients": "parents",
    "conditions": {"==": [{"var": "person.citizenship"}, "KAZ"]},
    "answers": {
        "child_iin": {"var": "event.iin"},
        "relation": {"var": "recipient.relation"},
        "phone": {"var": "recipient.phone"},
    },
    "offer_days": 30,
}

_CHILD_FACT = {
    "child": {
        "register": "population",
        "key": {"var": "answers.child_iin"},
        "fields": ["iin", "birth_date", "parents"],
    }
}

BENEFIT_PROCESS: dict[str, Any] = {
    "start": "eligibility",
    "steps": [
        {"id": "eligibility", "kind": "auto"},
        {
            "id": "review",
            "kind": "task",
            "role": "reviewer",
            "deadline_days": 5,
            "label": label("Review"),
        },
    ],
    "transitions": [
        {"from": "eligibility", "action": "approve", "to": "approved"},
        {"from": "eligibility", "action": "reject", "to": "rejected"},
        {"from": "eligibility", "action": "undecided", "to": "review"},
        {"from": "review", "action": "approve", "to": "approved"},
        {"from": "review", "action": "reject", "to": "rejected"},
    ],
    "facts": _CHILD_FACT,
    "proactive": BENEFIT_PROACTIVE,
}

BENEFIT_RULES: dict[str, Any] = {
    "conditions": [
        {
            "id": "child_young",
            "label": label("The child is under a year old"),
            "rule": {"<": [{"age": [{"var": "child.birth_date"}, {"var": "today"}]}, 1]},
        },
        {
            "id": "parent",
            "label": label("The applicant is a parent"),
            "rule": {
                "some": [
                    {"var": "child.parents"},
                    {"==": [{"var": "iin"}, {"var": "$.applicant.iin"}]},
                ]
            },
        },
    ],
    "decide": "all",
}

CERTIFICATE_PROCESS: dict[str, Any] = {
    "start": "registration",
    "steps": [
        {
            "id": "registration",
            "kind": "task",
            "role": "reviewer",
            "deadline_days": 2,
            "label": label("Registration"),
        }
    ],
    "transitions": [
        {"from": "registration", "action": "approve", "to": "approved"},
        {"from": "registration", "action": "reject", "to": "rejected"},
    ],
    "facts": _CHILD_FACT,
    "proactive": {
        "event": "PersonBorn",
        "recipients": "parents",
        "answers": {"child_iin": {"var": "event.iin"}, "relation": {"var": "recipient.relation"}},
        "offer_days": 10,
    },
}


def benefit_service(agency: Agency) -> ServiceVersion:
    version = factories.published_service(
        agency=agency,
        code="birth-benefit",
        name=label("Childbirth benefit"),
        form=CHILD_FORM,
        process=BENEFIT_PROCESS,
        rules=BENEFIT_RULES,
        proactive=True,
    )
    services.declarations_forget()
    return version


def benefit_republish(family: Family, **proactive: Any) -> ServiceVersion:
    """A new version of the benefit, published by the agency's administrator, whose
    declaration differs by ``proactive``."""
    from shanyraq.accounts.models import Role
    from shanyraq.catalog import services as catalog

    admin = factories.member(family.labour, Role.ADMIN)
    draft = catalog.service_version_draft(actor=admin, service=family.benefit.service)
    content = catalog.ServiceContent.from_version(draft)
    process = dict(content.process or {})
    process["proactive"] = {**process["proactive"], **proactive}
    content = dataclasses.replace(content, process=process)
    draft = catalog.service_version_update(actor=admin, version=draft, content=content)
    version = catalog.service_version_publish(actor=admin, version=draft)
    services.declarations_forget()
    return version


def certificate_service(agency: Agency) -> ServiceVersion:
    version = factories.published_service(
        agency=agency,
        code="birth-certificate",
        name=label("Birth certificate"),
        form=CHILD_FORM,
        process=CERTIFICATE_PROCESS,
        proactive=True,
    )
    services.declarations_forget()
    return version


@dataclass
class Family:
    labour: Agency
    justice: Agency
    benefit: ServiceVersion
    certificate: ServiceVersion
    mother: User
    father: User
    stranger: User
    mother_phone: str


def _citizen(birth: datetime.date, sex: str, serial: int, **names: str) -> User:
    return factories.UserFactory(iin=make_iin(birth, sex, serial=serial), **names)


@pytest.fixture
def family(db: None, ledger_log: Any, english: None) -> Family:
    labour = factories.AgencyFactory(code="labour")
    justice = factories.AgencyFactory(code="justice")
    mother = _citizen(datetime.date(1994, 5, 20), "F", 601, last_name="Ахметова")
    father = _citizen(datetime.date(1992, 2, 11), "M", 602, last_name="Ахметов")
    stranger = _citizen(datetime.date(1980, 7, 7), "M", 603, last_name="Бекович")
    registers_define_all()
    register_services.records_create_many(
        register="population",
        items=[
            person_record(mother.iin or "", birth_date="1994-05-20", spouse_iin=father.iin),
            person_record(
                father.iin or "",
                first_name="Нұрлан",
                last_name="Ахметов",
                birth_date="1992-02-11",
                sex="M",
                spouse_iin=mother.iin,
            ),
            person_record(
                stranger.iin or "", birth_date="1980-07-07", sex="M", marital_status="single"
            ),
        ],
        actor=None,
        agency=None,
        basis="initial load",
    )
    with transaction.atomic():
        notifications.contact_phone_set(user=mother, phone="+77011234567")
    return Family(
        labour=labour,
        justice=justice,
        benefit=benefit_service(labour),
        certificate=certificate_service(justice),
        mother=mother,
        father=father,
        stranger=stranger,
        mother_phone="+77011234567",
    )


def child_iin(serial: int = 700, born: datetime.date | None = None) -> str:
    return make_iin(born or datetime.date.today() - datetime.timedelta(days=3), "M", serial=serial)


def announce_birth(
    family: Family,
    *,
    serial: int = 700,
    parents: list[dict[str, Any]] | None = None,
    born: datetime.date | None = None,
) -> Event:
    """The child is written to the population register and ``PersonBorn`` is recorded, as
    the registers' birth registration does."""
    born = born or datetime.date.today() - datetime.timedelta(days=3)
    iin = child_iin(serial, born)
    if parents is None:
        parents = [
            {"iin": family.mother.iin, "relation": "mother"},
            {"iin": family.father.iin, "relation": "father"},
        ]
    with transaction.atomic():
        register_services.record_create(
            register="population",
            data=person_record(
                iin,
                first_name="Әли",
                last_name="Ахметов",
                birth_date=born.isoformat(),
                sex="M",
                marital_status="single",
                parents=parents,
            ),
            actor=None,
            agency=None,
            basis="birth registration",
        )
        return events.event_record(
            type="PersonBorn",
            payload={"iin": iin, "birth_date": born.isoformat(), "sex": "M", "parents": parents},
        )
