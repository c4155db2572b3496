"""Demo registers: the three register definitions, a synthetic population, the demo citizens'
own records and their households, and what each demo agency may read.

The demo citizens' households make every path of the demo services reachable: Aigerim has a
daughter born six weeks before the demo was loaded (the childbirth benefit is granted), Daulet
a son born in 2019 (refused: not a newborn) and a flat he can sell, to Aigerim for instance;
both have a registered address (a sole proprietorship is registered there). Aigerim is married
to Arman, who lives with her: a birth the maternity hospital registers for them reaches both
parents with the proactive offers of the birth services. The hospital's system may write
births to the population register (``GRANTS``).

Idempotent like the rest of the demo data: existing records and grants are left alone, and a
citizen's household is written only with the citizen's own record.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from shanyraq.catalog.models import Agency
from shanyraq.core.national_id import Sex, make_iin, validate_iin
from shanyraq.registries import services as register_services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.registries.generator import generate
from shanyraq.registries.models import Grant, Record, RecordVersion, Register

if TYPE_CHECKING:
    from .demo import DemoAccount

DEMO_PERSONS = 2000
BASIS = "demo: records of the demo citizens"
ASTANA = {"country": "KAZ", "region": "astana", "locality": "Астана"}
NEWBORN_AGE_DAYS = 45
FLAT_FOR_SALE = "21:001:015:042:1/57"
"""Daulet's flat. The generator numbers cadastral districts from 100, so 001 is never taken."""

Home = tuple[dict[str, str], str]  # a registered address, and the day it was registered

# Aigerim's flat, where her husband Arman lives too.
FAMILY_HOME = {
    "region": "astana",
    "locality": "Астана",
    "street": "Сығанақ көшесі",
    "building": "29",
    "flat": "112",
}

# Where each demo citizen is registered, and since when.
HOMES: dict[str, Home] = {
    "citizen.aigerim": (FAMILY_HOME, "2018-09-03"),
    "citizen.arman": (FAMILY_HOME, "2019-08-20"),
    "citizen.daulet": (
        {
            "region": "astana",
            "locality": "Астана",
            "street": "Бауыржан Момышұлы даңғылы",
            "building": "12",
            "flat": "34",
        },
        "2012-04-10",
    ),
}
# Married demo citizens, by username, both ways.
SPOUSES: dict[str, str] = {"citizen.aigerim": "citizen.arman", "citizen.arman": "citizen.aigerim"}

DemoRecord = tuple[str, dict[str, Any]]  # (register code, record data)

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
            # The registrar who decides sales (registrar.gov4c) is a reviewer.
            "reviewer": (
                ["*"],
                True,
                "Law on State Registration of Rights to Real Estate, art. 5",
            ),
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
    # The maternity hospital's system registers births from the medical birth certificate.
    "minhealth": {
        "population": {
            "clerk": (
                ["iin", "last_name", "first_name", "middle_name", "birth_date", "sex"],
                True,
                "Code on Marriage (Matrimony) and Family, art. 187; Code on Public Health "
                "and the Healthcare System, art. 122",
            ),
        },
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
    iin: str,
    last: str,
    first: str,
    middle: str | None,
    born: datetime.date,
    sex: str,
    home: Home | None = None,
    spouse: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "iin": iin,
        "last_name": last,
        "first_name": first,
        "middle_name": middle,
        "birth_date": born.isoformat(),
        "sex": sex,
        "citizenship": "KAZ",
        "marital_status": "married" if spouse else "single",
    }
    if spouse:
        record["spouse_iin"] = spouse
    if home is not None:
        record["registered_address"] = dict(home[0])
        record["registered_since"] = home[1]
    return record


def _child(
    parents: list[dict[str, str]],
    home: Home,
    *,
    names: tuple[str, str, str | None],
    born: datetime.date,
    sex: Sex,
    serial: int,
) -> DemoRecord:
    """A child born in Astana who lives with the parents, registered there since birth."""
    last, first, middle = names
    iin = make_iin(born, sex, serial=serial)
    record = _citizen_record(iin, last, first, middle, born, sex, (home[0], born.isoformat()))
    record["birth_place"] = dict(ASTANA)
    record["parents"] = parents
    return "population", record


def _aigerim_household(
    iin: str, home: Home, today: datetime.date, spouse: str | None
) -> list[DemoRecord]:
    born = today - datetime.timedelta(days=NEWBORN_AGE_DAYS)
    parents = [{"iin": iin, "relation": "mother"}]
    if spouse:
        parents.append({"iin": spouse, "relation": "father"})
    return [
        _child(
            parents,
            home,
            names=("Нұрланова", "Әмина", "Арманқызы" if spouse else None),
            born=born,
            sex="F",
            serial=1201,
        )
    ]


def _daulet_household(
    iin: str, home: Home, today: datetime.date, spouse: str | None
) -> list[DemoRecord]:
    son = _child(
        [{"iin": iin, "relation": "father"}],
        home,
        names=("Жұмабеков", "Нұрсұлтан", "Дәулетұлы"),
        born=datetime.date(2019, 6, 10),
        sex="M",
        serial=1202,
    )
    flat = {
        "cadastral_number": FLAT_FOR_SALE,
        "kind": "flat",
        "address": {
            "region": "astana",
            "locality": "Астана",
            "street": "Кенесары көшесі",
            "building": "40",
            "flat": "57",
        },
        "area_m2": 64.5,
        "purpose": "residential",
        "rooms": 2,
        "floor": 5,
        "floors": 9,
        "year_built": 2011,
        "owners": [
            {
                "iin": iin,
                "share": "1/1",
                "acquisition_basis": "purchase",
                "acquired_on": "2016-08-19",
                "document": "Сатып алу-сату шарты № 2-1187",
            }
        ],
    }
    return [son, ("real_estate", flat)]


# What else the registers hold about a demo citizen: (their IIN, their home, today, their
# spouse's IIN) -> records.
HOUSEHOLDS: dict[str, Callable[[str, Home, datetime.date, str | None], list[DemoRecord]]] = {
    "citizen.aigerim": _aigerim_household,
    "citizen.daulet": _daulet_household,
}


def _key(register: str, data: dict[str, Any]) -> str:
    return str(data["cadastral_number" if register == "real_estate" else "iin"])


@transaction.atomic
def demo_citizens_ensure(citizens: Sequence[DemoAccount]) -> int:
    """Population records for the demo citizens (who sign in with these IINs), each written
    with the citizen's household; returns how many citizens were written."""
    written = 0
    today = timezone.localdate()
    iins = {account.username: account.iin for account in citizens if account.iin}
    for account in citizens:
        if (
            not account.iin
            or Record.objects.filter(register__code="population", key=account.iin).exists()
        ):
            continue
        parsed = validate_iin(account.iin)
        home = HOMES.get(account.username)
        spouse = iins.get(SPOUSES.get(account.username, ""))
        records: list[DemoRecord] = [
            (
                "population",
                _citizen_record(
                    account.iin,
                    account.last_name,
                    account.first_name,
                    account.middle_name,
                    parsed.birth_date,
                    parsed.sex,
                    home,
                    spouse,
                ),
            )
        ]
        household = HOUSEHOLDS.get(account.username)
        if household is not None and home is not None:
            records += household(account.iin, home, today, spouse)
        for register, data in records:
            if Record.objects.filter(register__code=register, key=_key(register, data)).exists():
                continue
            register_services.record_create(
                register=register, data=data, actor=None, agency=None, basis=BASIS
            )
        written += 1
    _marriages_ensure(iins)
    return written


def _marriages_ensure(iins: Mapping[str, str]) -> None:
    """Record the demo couples as married where an earlier demo left one of them single (a
    database loaded before the spouse was added); a no-op once they are."""
    for username, spouse_username in SPOUSES.items():
        iin, spouse = iins.get(username), iins.get(spouse_username)
        record = Record.objects.filter(register__code="population", key=iin or "").first()
        if record is None or not spouse:
            continue
        data = dict(RecordVersion.objects.get(record=record, number=record.version).data)
        if data.get("marital_status") != "single" or data.get("spouse_iin"):
            continue
        register_services.record_update(
            register="population",
            key=record.key,
            data={**data, "marital_status": "married", "spouse_iin": spouse},
            expected_version=record.version,
            actor=None,
            agency=None,
            basis=BASIS,
            reason="demo: the demo couple's marriage",
        )


def demo_registers_load(
    citizens: Sequence[DemoAccount], persons: int = DEMO_PERSONS
) -> dict[str, int]:
    registers_define_all()
    counts = generate(persons=persons, seed=2026)
    counts["demo_citizens"] = demo_citizens_ensure(citizens)
    counts["grants"] = grants_ensure()
    return counts
