"""Two realistic services for the casework tests, the registers behind them, and the people.

``surname-change`` (Ministry of Justice): a form of three steps whose first is filled in from
the applicant's population record; the rules decide automatically (adult, confirmed, a new
name, and the spouse's record naming the applicant); without a spouse on record a reviewer
decides within 5 working days; an approval changes the surname in the population register.

``property-sale``: the seller applies, the buyer named in the form must confirm before the
case starts; the rules read the property's real-estate record.

Import the fixtures a test module uses by name (pytest finds them in the module's namespace).
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import translation

from shanyraq.accounts.models import Role, User
from shanyraq.casework import services
from shanyraq.casework.models import Application
from shanyraq.catalog.models import Agency, ServiceVersion
from shanyraq.core.national_id import make_iin
from shanyraq.ledger_django import config
from shanyraq.registries import services as register_services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.testing import factories

__all__ = [
    "ALMATY",
    "CADASTRAL",
    "NAME_CHANGE_FORM",
    "NAME_CHANGE_PROCESS",
    "NAME_CHANGE_RULES",
    "SALE_FORM",
    "SALE_PROCESS",
    "SALE_RULES",
    "Clock",
    "World",
    "at_review",
    "clock",
    "english",
    "filled",
    "label",
    "ledger_log",
    "name_change_service",
    "person_record",
    "property_record",
    "sale_service",
    "sale_submitted",
    "submitted",
    "world",
]

CADASTRAL = "01:234:567:890"
ALMATY = ZoneInfo("Asia/Almaty")


def label(en: str) -> dict[str, str]:
    return {"kk": f"{en} (kk)", "ru": f"{en} (ru)", "en": en}


def _labels(*names: str) -> dict[str, dict[str, str]]:
    return {name: label(name.replace("_", " ").capitalize()) for name in names}


NAME_CHANGE_FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["last_name", "first_name", "birth_date", "new_last_name", "reason", "confirm"],
        "properties": {
            "last_name": {"type": "string", "maxLength": 60},
            "first_name": {"type": "string", "maxLength": 60},
            "birth_date": {"type": "string", "format": "date"},
            "address": {"type": "string", "maxLength": 300},
            # Looser than the register's name rule (60 letters): the register has the last word.
            "new_last_name": {"type": "string", "minLength": 2, "maxLength": 80},
            "reason": {"type": "string", "enum": ["marriage", "divorce", "other"]},
            "spouse_iin": {"type": "string", "pattern": "^[0-9]{12}$"},
            "children": {"type": "integer", "minimum": 0, "maximum": 20},
            "marriage_date": {"type": "string", "format": "date"},
            "confirm": {"type": "boolean"},
            "comment": {"type": "string", "maxLength": 500},
        },
    },
    "ui": {
        "steps": [
            {
                "key": "about",
                "title": label("About you"),
                "fields": ["last_name", "first_name", "birth_date", "address"],
            },
            {
                "key": "change",
                "title": label("The new surname"),
                "fields": ["new_last_name", "reason", "spouse_iin", "children", "marriage_date"],
            },
            {"key": "confirm", "title": label("Confirmation"), "fields": ["confirm", "comment"]},
        ],
        "labels": _labels(
            "last_name",
            "first_name",
            "birth_date",
            "address",
            "new_last_name",
            "reason",
            "spouse_iin",
            "children",
            "marriage_date",
            "confirm",
            "comment",
        ),
        "enum_labels": {
            "reason": {
                "marriage": label("Marriage"),
                "divorce": label("Divorce"),
                "other": label("Other"),
            }
        },
        "prefill": {
            "last_name": "population.last_name",
            "first_name": "population.first_name",
            "birth_date": "population.birth_date",
            "address": "population.registered_address",
        },
    },
}

NAME_CHANGE_RULES: dict[str, Any] = {
    "conditions": [
        {
            "id": "adult",
            "label": label("The applicant is an adult"),
            "rule": {">=": [{"age": [{"var": "person.birth_date"}, {"var": "today"}]}, 18]},
        },
        {
            "id": "confirmed",
            "label": label("The applicant confirmed the details"),
            "rule": {"==": [{"var": "answers.confirm"}, True]},
        },
        {
            "id": "name_changes",
            "label": label("The new surname differs from the current one"),
            "rule": {"!=": [{"var": "answers.new_last_name"}, {"var": "person.last_name"}]},
        },
        {
            "id": "spouse_on_record",
            "label": label("The spouse's record names the applicant"),
            "rule": {"==": [{"var": "spouse.spouse_iin"}, {"var": "applicant.iin"}]},
        },
    ],
    "decide": "all",
}

NAME_CHANGE_PROCESS: dict[str, Any] = {
    "start": "registration",
    "steps": [
        {"id": "registration", "kind": "auto"},
        {"id": "eligibility", "kind": "auto", "label": label("Eligibility check")},
        {
            "id": "review",
            "kind": "task",
            "role": "reviewer",
            "deadline_days": 5,
            "label": label("Review"),
        },
    ],
    "transitions": [
        {"from": "registration", "action": "complete", "to": "eligibility"},
        {"from": "eligibility", "action": "approve", "to": "approved"},
        {"from": "eligibility", "action": "reject", "to": "rejected"},
        {"from": "eligibility", "action": "undecided", "to": "review"},
        {"from": "review", "action": "approve", "to": "approved"},
        {"from": "review", "action": "reject", "to": "rejected"},
        {"from": "review", "action": "request_info", "to": "review"},
        {"from": "review", "action": "return", "to": "registration"},
    ],
    "facts": {
        "spouse": {
            "register": "population",
            "key": {"var": ["answers.spouse_iin", ""]},
            "fields": ["iin", "spouse_iin", "marital_status"],
        }
    },
    "on_approval": {
        "register_changes": [
            {
                "register": "population",
                "op": "update",
                "key": {"var": "applicant.iin"},
                "set": {"last_name": {"var": "answers.new_last_name"}},
            }
        ]
    },
}

SALE_FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["cadastral_number", "buyer_iin", "price"],
        "properties": {
            "cadastral_number": {
                "type": "string",
                "pattern": "^[0-9]{2}:[0-9]{3}:[0-9]{3}:[0-9]{3}$",
            },
            "buyer_iin": {"type": "string", "pattern": "^[0-9]{12}$"},
            "price": {"type": "integer", "minimum": 1},
        },
    },
    "ui": {
        "steps": [
            {"key": "property", "title": label("The property"), "fields": ["cadastral_number"]},
            {"key": "deal", "title": label("The deal"), "fields": ["buyer_iin", "price"]},
        ],
        "labels": _labels("cadastral_number", "buyer_iin", "price"),
    },
}

SALE_RULES: dict[str, Any] = {
    "conditions": [
        {
            "id": "seller_owns",
            "label": label("The applicant owns the property"),
            "rule": {
                "some": [
                    {"var": "property.owners"},
                    {"==": [{"var": "iin"}, {"var": "$.applicant.iin"}]},
                ]
            },
        },
        {
            "id": "not_arrested",
            "label": label("The property is not under arrest"),
            "rule": {
                "none": [
                    {"var": ["property.encumbrances", []]},
                    {"==": [{"var": "kind"}, "arrest"]},
                ]
            },
        },
    ],
    "decide": "all",
}

SALE_PROCESS: dict[str, Any] = {
    "start": "eligibility",
    "steps": [
        {"id": "eligibility", "kind": "auto"},
        {
            "id": "registration",
            "kind": "task",
            "role": "reviewer",
            "deadline_days": 5,
            "label": label("Registration of the sale"),
        },
    ],
    "transitions": [
        {"from": "eligibility", "action": "approve", "to": "registration"},
        {"from": "eligibility", "action": "reject", "to": "rejected"},
        {"from": "eligibility", "action": "undecided", "to": "registration"},
        {"from": "registration", "action": "approve", "to": "approved"},
        {"from": "registration", "action": "reject", "to": "rejected"},
    ],
    "facts": {
        "property": {
            "register": "real_estate",
            "key": {"var": "answers.cadastral_number"},
            "fields": ["cadastral_number", "owners", "encumbrances"],
        }
    },
    "parties": [{"role": "buyer", "iin_field": "buyer_iin", "label": label("Buyer")}],
}


def person_record(iin: str, **overrides: Any) -> dict[str, Any]:
    """A population record that the register's schema accepts."""
    data: dict[str, Any] = {
        "iin": iin,
        "last_name": "Сейітова",
        "first_name": "Айгерім",
        "birth_date": "1990-01-15",
        "sex": "F",
        "citizenship": "KAZ",
        "marital_status": "married",
        "registered_address": {
            "region": "almaty",
            "locality": "Алматы",
            "street": "Абай даңғылы",
            "building": "10",
        },
    }
    data.update(overrides)
    return data


def property_record(owner_iin: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "cadastral_number": CADASTRAL,
        "kind": "land_plot",
        "address": {"region": "almaty", "locality": "Алматы"},
        "area_m2": 600,
        "purpose": "individual_housing",
        "owners": [
            {
                "iin": owner_iin,
                "share": "1/1",
                "acquisition_basis": "purchase",
                "acquired_on": "2015-04-01",
            }
        ],
    }
    data.update(overrides)
    return data


def name_change_service(
    agency: Agency, code: str = "surname-change", **overrides: Any
) -> ServiceVersion:
    values: dict[str, Any] = {
        "form": NAME_CHANGE_FORM,
        "process": NAME_CHANGE_PROCESS,
        "rules": NAME_CHANGE_RULES,
        "legal_basis": label("Code on Marriage and Family, article 29"),
    }
    values.update(overrides)
    return factories.published_service(agency=agency, code=code, **values)


def sale_service(agency: Agency) -> ServiceVersion:
    return factories.published_service(
        agency=agency,
        code="property-sale",
        form=SALE_FORM,
        process=SALE_PROCESS,
        rules=SALE_RULES,
    )


@pytest.fixture
def ledger_log(settings: Any, tmp_path: Path) -> Iterator[config.LogConfig]:
    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    settings.LEDGER_STORAGE_DIR = tmp_path / "tiles"
    settings.LEDGER_WITNESSES_FILE = tmp_path / "keys" / "witnesses.json"
    settings.LEDGER_LOGS = ["main"]
    settings.LEDGER_ORIGIN_PREFIX = "test.example/ledger"
    config.reset()
    call_command("ledger", "keygen", stdout=io.StringIO())
    yield config.get_log("main")
    config.reset()


@pytest.fixture
def english() -> Iterator[None]:
    """Messages are asserted in English, the source language."""
    with translation.override("en"):
        yield


@dataclass
class World:
    """The agencies, people, services and register records a casework test starts from."""

    justice: Agency
    health: Agency
    service: ServiceVersion
    sale: ServiceVersion
    applicant: User
    spouse: User
    buyer: User
    stranger: User
    reviewer: User
    clerk: User
    head: User
    other_reviewer: User
    other_head: User
    admin: User


def _citizen(birth: datetime.date, sex: str, serial: int, **names: str) -> User:
    return factories.UserFactory(iin=make_iin(birth, sex, serial=serial), **names)


@pytest.fixture
def world(db: None, ledger_log: config.LogConfig, english: None) -> World:
    justice = factories.AgencyFactory(code="justice")
    health = factories.AgencyFactory(code="health")
    applicant = _citizen(datetime.date(1990, 1, 15), "F", 501, last_name="Сейітова")
    spouse = _citizen(datetime.date(1988, 6, 2), "M", 502, last_name="Сейітов")
    buyer = _citizen(datetime.date(1985, 3, 9), "M", 503, last_name="Омаров")
    stranger = _citizen(datetime.date(1979, 11, 30), "M", 504, last_name="Ахметов")
    registers_define_all()
    register_services.records_create_many(
        register="population",
        items=[
            person_record(applicant.iin or "", spouse_iin=spouse.iin),
            person_record(
                spouse.iin or "",
                last_name="Сейітов",
                first_name="Ерлан",
                birth_date="1988-06-02",
                sex="M",
                spouse_iin=applicant.iin,
            ),
            person_record(
                buyer.iin or "",
                last_name="Омаров",
                first_name="Дәурен",
                birth_date="1985-03-09",
                sex="M",
                marital_status="single",
            ),
        ],
        actor=None,
        agency=None,
        basis="initial load",
    )
    register_services.record_create(
        register="real_estate",
        data=property_record(applicant.iin or ""),
        actor=None,
        agency=None,
        basis="initial load",
    )
    return World(
        justice=justice,
        health=health,
        service=name_change_service(justice),
        sale=sale_service(justice),
        applicant=applicant,
        spouse=spouse,
        buyer=buyer,
        stranger=stranger,
        reviewer=factories.member(justice, Role.REVIEWER, username="reviewer"),
        clerk=factories.member(justice, Role.CLERK, username="clerk"),
        head=factories.member(justice, Role.HEAD, username="head"),
        other_reviewer=factories.member(health, Role.REVIEWER, username="other-reviewer"),
        other_head=factories.member(health, Role.HEAD, username="other-head"),
        admin=factories.member(justice, Role.ADMIN, username="justice-admin"),
    )


@dataclass
class Clock:
    """The time the casework services see (``services._now``), moved by the test."""

    now: datetime.datetime

    def on(self, day: datetime.date, hour: int = 10) -> None:
        self.now = datetime.datetime(day.year, day.month, day.day, hour, tzinfo=ALMATY)

    def later(self, **delta: float) -> None:
        self.now += datetime.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Friday 15 March 2024, 10:00 in Almaty: the Nauryz holidays (21-25 March) lie ahead."""
    clock = Clock(datetime.datetime(2024, 3, 15, 10, tzinfo=ALMATY))
    monkeypatch.setattr(services, "_now", lambda: clock.now)
    return clock


def filled(
    world: World,
    applicant: User | None = None,
    *,
    service_code: str = "surname-change",
    **answers: Any,
) -> Application:
    """A draft of the surname change with every step answered (``answers`` override)."""
    person = applicant or world.applicant
    values: dict[str, Any] = {
        "new_last_name": "Сейітова-Омарова",
        "reason": "marriage",
        "spouse_iin": world.spouse.iin,
        "confirm": True,
    }
    values.update(answers)
    application = services.application_start(applicant=person, service_code=service_code)
    change = {k: values[k] for k in NAME_CHANGE_FORM["ui"]["steps"][1]["fields"] if k in values}
    confirm = {k: values[k] for k in ("confirm", "comment") if k in values}
    application = services.application_save(
        application=application, applicant=person, values=change, step=1
    )
    return services.application_save(
        application=application, applicant=person, values=confirm, step=2
    )


def submitted(
    world: World,
    applicant: User | None = None,
    *,
    service_code: str = "surname-change",
    **answers: Any,
) -> Application:
    person = applicant or world.applicant
    application = filled(world, person, service_code=service_code, **answers)
    return services.application_submit(application=application, applicant=person)


def at_review(
    world: World,
    applicant: User | None = None,
    *,
    service_code: str = "surname-change",
    **answers: Any,
) -> Application:
    """A surname change the rules could not decide (no spouse named): at the review step."""
    answers.setdefault("spouse_iin", None)
    application = submitted(world, applicant, service_code=service_code, **answers)
    services.work_once()
    application.refresh_from_db()
    assert (application.status, application.step) == ("active", "review")
    return application


def sale_submitted(world: World, **answers: Any) -> Application:
    values: dict[str, Any] = {
        "cadastral_number": CADASTRAL,
        "buyer_iin": world.buyer.iin,
        "price": "25 000 000",
    }
    values.update(answers)
    application = services.application_start(
        applicant=world.applicant, service_code="property-sale"
    )
    application = services.application_save(
        application=application, applicant=world.applicant, values=values, step=None
    )
    return services.application_submit(application=application, applicant=world.applicant)
