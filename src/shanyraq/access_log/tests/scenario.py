"""A small world for the data tracker's tests: two registers, grants, people and property.

Used by the tests of the access log, the registers' selectors and API, and the portal's "my
data" pages. Registers are defined here with small schemas of their own, so the tests do not
depend on the full register definitions.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.core.management import call_command

from shanyraq.accounts.models import Role, User
from shanyraq.catalog.models import Agency
from shanyraq.ledger_django import config
from shanyraq.ledger_django import services as ledger
from shanyraq.registries import services
from shanyraq.registries.models import Grant, RecordVersion, Register
from shanyraq.testing import factories

LOG = "main"

POPULATION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["iin", "last_name", "first_name", "birth_date"],
    "additionalProperties": False,
    "properties": {
        "iin": {"type": "string", "format": "iin", "title": "IIN"},
        "last_name": {
            "type": "string",
            "minLength": 1,
            "x-title": {"kk": "Тегі", "ru": "Фамилия", "en": "Surname"},
        },
        "first_name": {"type": "string", "minLength": 1, "title": "First name"},
        "birth_date": {"type": "string", "format": "date"},
        "address": {
            "type": "object",
            "required": ["locality"],
            "properties": {"locality": {"type": "string"}, "street": {"type": "string"}},
        },
        "parents": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["iin"],
                "properties": {"iin": {"type": "string", "format": "iin"}},
            },
        },
    },
}

ESTATE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["cadastral_number", "kind", "owners"],
    "additionalProperties": False,
    "properties": {
        "cadastral_number": {"type": "string", "pattern": "^[0-9]{2}:[0-9]{3}:[0-9]{3}(/[0-9]+)?$"},
        "kind": {"enum": ["land", "building", "flat"]},
        "area": {"type": "number", "minimum": 0},
        "owners": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["iin", "share"],
                "properties": {
                    "iin": {"type": "string", "format": "iin"},
                    "share": {"type": "string"},
                },
            },
        },
    },
}


def define_registers() -> tuple[Register, Register]:
    population = services.register_define(
        code="population",
        name={"kk": "Халық тізілімі", "ru": "Реестр населения", "en": "Population register"},
        description={"kk": "Сынақ", "ru": "Тест", "en": "Test"},
        key_field="iin",
        schema=POPULATION_SCHEMA,
        search_fields=["last_name", "birth_date"],
        subject_paths=["iin", "parents[].iin"],
    )
    estate = services.register_define(
        code="real_estate",
        name={"kk": "Жылжымайтын мүлік", "ru": "Недвижимость", "en": "Real estate register"},
        description={"kk": "Сынақ", "ru": "Тест", "en": "Test"},
        key_field="cadastral_number",
        schema=ESTATE_SCHEMA,
        search_fields=["cadastral_number", "kind"],
        subject_paths=["owners[].iin"],
    )
    return population, estate


def grant(
    agency: Agency,
    register: Register,
    role: Role,
    fields: list[str],
    *,
    may_write: bool = False,
) -> Grant:
    return Grant.objects.create(
        agency=agency,
        register=register,
        role=role,
        fields=fields,
        may_write=may_write,
        legal_basis="Test law, art. 1",
    )


def person_data(iin: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "iin": iin,
        "last_name": "Сәрсенова",
        "first_name": "Әйгерім",
        "birth_date": "1990-05-17",
        "address": {"locality": "Астана", "street": "Қабанбай батыр"},
    }
    data.update(overrides)
    return data


def add_person(iin: str, **overrides: Any) -> RecordVersion:
    return services.record_create(
        register="population",
        data=person_data(iin, **overrides),
        actor=None,
        agency=None,
        basis="Initial load",
    )


def add_property(number: str, owners: list[str], kind: str = "flat") -> RecordVersion:
    share = f"1/{len(owners)}"
    return services.record_create(
        register="real_estate",
        data={
            "cadastral_number": number,
            "kind": kind,
            "area": 54.5,
            "owners": [{"iin": iin, "share": share} for iin in owners],
        },
        actor=None,
        agency=None,
        basis="Initial load",
    )


def new_iin() -> str:
    return factories.next_iin()


def official(agency: Agency, role: Role = Role.CLERK, **kwargs: Any) -> User:
    return factories.member(agency, role, **kwargs)


def use_test_ledger(settings: Any, tmp_path: Path) -> config.LogConfig:
    """A fresh log with its own key and storage, and no witnesses."""
    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    settings.LEDGER_STORAGE_DIR = tmp_path / "tiles"
    settings.LEDGER_WITNESSES_FILE = tmp_path / "keys" / "witnesses.json"
    settings.LEDGER_LOGS = [LOG]
    settings.LEDGER_ORIGIN_PREFIX = "test.example/ledger"
    config.reset()
    call_command("ledger", "keygen", stdout=io.StringIO())
    return config.get_log(LOG)


def publish() -> None:
    ledger.log_integrate(config.get_log(LOG))
