"""Small valid records of the platform's three registers, for the tests that use their schemas."""

from __future__ import annotations

import datetime
from typing import Any

from shanyraq.core.national_id import make_bin, make_iin

MOTHER = make_iin(datetime.date(1992, 4, 3), "F", serial=311)
FATHER = make_iin(datetime.date(1990, 8, 21), "M", serial=312)
BUYER = make_iin(datetime.date(1985, 3, 2), "M", serial=313)
COMPANY = make_bin(2015, 6, serial=77)

HOME = {"region": "astana", "locality": "Астана", "street": "Мәңгілік ел", "building": "12"}
NEW_HOME = {"region": "almaty", "locality": "Алматы", "street": "Абай", "building": "3"}


def person(iin: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "iin": iin,
        "last_name": "Сәрсенова",
        "first_name": "Әйгерім",
        "birth_date": "1992-04-03",
        "sex": "F",
        "citizenship": "KAZ",
        "marital_status": "single",
        "registered_address": dict(HOME),
    }
    data.update(overrides)
    return data


def child(**overrides: Any) -> dict[str, Any]:
    """A newborn's record as an agency sends it: no IIN yet."""
    data: dict[str, Any] = {
        "last_name": "Сәрсенов",
        "first_name": "Алихан",
        "birth_date": "2024-03-15",
        "sex": "M",
        "citizenship": "KAZ",
        "marital_status": "single",
        "birth_place": {"country": "KAZ", "region": "astana", "locality": "Астана"},
        "registered_address": dict(HOME),
        "parents": [
            {"iin": MOTHER, "relation": "mother"},
            {"iin": FATHER, "relation": "father"},
        ],
    }
    data.update(overrides)
    return data


def owner(iin: str | None = None, *, bin: str | None = None, share: str = "1/1") -> dict[str, Any]:
    who = {"iin": iin} if iin else {"bin": bin}
    return {**who, "share": share, "acquisition_basis": "purchase", "acquired_on": "2020-06-01"}


def flat(number: str, *owners: dict[str, Any]) -> dict[str, Any]:
    return {
        "cadastral_number": number,
        "kind": "flat",
        "address": dict(HOME),
        "area_m2": 54.5,
        "purpose": "residential",
        "owners": list(owners),
    }


def company(bin: str, *, directors: list[str], founders: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "bin": bin,
        "name": {"kk": "Дала ЖШС", "ru": "ТОО Дала"},
        "legal_form": "llp",
        "registration_date": "2015-06-10",
        "address": dict(HOME),
        "activity_codes": ["62.01.0"],
        "directors": [{"iin": iin, "since": "2015-06-10"} for iin in directors],
        "founders": founders,
        "status": "active",
    }
