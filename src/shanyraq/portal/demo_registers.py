"""Demo registers: the three register definitions, a synthetic population, the demo citizens'
own records, and what each demo agency may read.

Idempotent like the rest of the demo data: existing records and grants are left alone.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from shanyraq.catalog.models import Agency
from shanyraq.registries import services as register_services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.registries.generator import generate
from shanyraq.registries.models import Grant, Record, Register

DEMO_PERSONS = 2000
BASIS = "demo: records of the demo citizens"

# agency code -> register -> role -> (readable fields, may write, legal basis)
GRANTS: dict[str, dict[str, dict[str, tuple[list[str], bool, str]]]] = {
    "minjust": {
        "population": {
            "clerk": (
                [
                    "iin",
                    "last_name",
                    "first_name",
                    "middle_name",
                    "birth_date",
                    "sex",
                    "citizenship",
                    "marital_status",
                    "spouse_iin",
                    "parents",
                ],
                False,
                "Code on Marriage (Matrimony) and Family, art. 187",
            ),
            "head": (["*"], False, "Code on Marriage (Matrimony) and Family, art. 187"),
        },
        "business": {
            "clerk": (["*"], True, "Law on State Registration of Legal Entities, art. 6"),
            "head": (["*"], True, "Law on State Registration of Legal Entities, art. 6"),
        },
    },
    "gov4c": {
        "real_estate": {
            "clerk": (["*"], True, "Law on State Registration of Rights to Real Estate, art. 5"),
        },
        "population": {
            "clerk": (
                [
                    "iin",
                    "last_name",
                    "first_name",
                    "middle_name",
                    "birth_date",
                    "registered_address",
                ],
                False,
                "Law on State Registration of Rights to Real Estate, art. 5",
            ),
        },
    },
    "kgd": {
        "business": {"clerk": (["*"], False, "Tax Code, art. 24")},
        "real_estate": {
            "clerk": (
                ["cadastral_number", "kind", "address", "area_m2", "purpose", "owners"],
                False,
                "Tax Code, art. 24",
            ),
        },
        "population": {
            "clerk": (
                ["iin", "last_name", "first_name", "middle_name"],
                False,
                "Tax Code, art. 24",
            ),
        },
    },
    "mvd-migration": {
        "population": {"clerk": (["*"], True, "Law on Migration of the Population, art. 14")},
    },
}


def grants_ensure() -> int:
    created = 0
    registers = {r.code: r for r in Register.objects.all()}
    agencies = {a.code: a for a in Agency.objects.filter(code__in=GRANTS)}
    for agency_code, by_register in GRANTS.items():
        agency = agencies.get(agency_code)
        if agency is None:
            continue
        for register_code, by_role in by_register.items():
            register = registers.get(register_code)
            if register is None:
                continue
            for role, (fields, may_write, basis) in by_role.items():
                _grant, was_created = Grant.objects.get_or_create(
                    agency=agency,
                    register=register,
                    role=role,
                    defaults={"fields": fields, "may_write": may_write, "legal_basis": basis},
                )
                created += was_created
    return created


def _citizen_record(
    iin: str, last: str, first: str, middle: str, born: datetime.date, sex: str
) -> dict[str, Any]:
    return {
        "iin": iin,
        "last_name": last,
        "first_name": first,
        "middle_name": middle,
        "birth_date": born.isoformat(),
        "sex": sex,
        "citizenship": "KAZ",
        "marital_status": "single",
    }


@transaction.atomic
def demo_citizens_ensure(citizens: list[Any]) -> int:
    """Population records for the demo citizens (who sign in with these IINs)."""
    written = 0
    for account in citizens:
        if (
            not account.iin
            or Record.objects.filter(register__code="population", key=account.iin).exists()
        ):
            continue
        from shanyraq.core.national_id import validate_iin

        parsed = validate_iin(account.iin)
        register_services.record_create(
            register="population",
            data=_citizen_record(
                account.iin,
                account.last_name,
                account.first_name,
                account.middle_name,
                parsed.birth_date,
                parsed.sex,
            ),
            actor=None,
            agency=None,
            basis=BASIS,
        )
        written += 1
    return written


def demo_registers_load(citizens: list[Any], persons: int = DEMO_PERSONS) -> dict[str, int]:
    registers_define_all()
    counts = generate(persons=persons, seed=2026)
    counts["demo_citizens"] = demo_citizens_ensure(citizens)
    counts["grants"] = grants_ensure()
    return counts
