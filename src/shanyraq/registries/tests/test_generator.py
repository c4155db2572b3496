"""The synthetic registers hold together: identifiers, families, homes, companies; re-runs add nothing."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from fractions import Fraction
from typing import Any

import pytest

from shanyraq.core.national_id import EntityAttribute, validate_bin, validate_iin
from shanyraq.ledger_django.models import Entry
from shanyraq.registries import generator
from shanyraq.registries.definitions import register_definitions
from shanyraq.registries.generator import AS_OF, female_surname, patronymic, years_between
from shanyraq.registries.models import Record, RecordVersion
from shanyraq.registries.validation import schema_problems

KAZAKH_LETTERS = set("ӘәҒғҚқҢңӨөҰұҮүҺһІі")


class Made:
    """The records made for 3,000 people with one seed, by register and key."""

    def __init__(self, persons: int, seed: int) -> None:
        self.all = list(generator.records(persons, seed))
        self.people = {d["iin"]: d for c, d in self.all if c == "population"}
        self.estates = [d for c, d in self.all if c == "real_estate"]
        self.companies = {d["bin"]: d for c, d in self.all if c == "business"}


@pytest.fixture(scope="module")
def made() -> Made:
    return Made(3000, seed=5)


def born(person: dict[str, Any]) -> date:
    return date.fromisoformat(person["birth_date"])


def died(person: dict[str, Any]) -> date | None:
    return date.fromisoformat(person["date_of_death"]) if person["date_of_death"] else None


def test_exactly_the_asked_number_of_people_with_unique_keys(made):
    assert Counter(c for c, _ in made.all)["population"] == 3000
    assert len(made.people) == 3000
    cadastral = [d["cadastral_number"] for d in made.estates]
    assert len(set(cadastral)) == len(cadastral)
    assert len(made.companies) == sum(1 for c, _ in made.all if c == "business")
    assert len(made.estates) > 900
    assert len(made.companies) > 50


def test_every_record_matches_its_schema(made):
    schemas = {d["code"]: json.dumps(d["schema"], sort_keys=True) for d in register_definitions()}
    for code, data in made.all:
        assert schema_problems(schemas[code], data) == [], (code, data)


def test_every_iin_is_valid_and_encodes_birth_date_and_sex(made):
    for iin, person in made.people.items():
        decoded = validate_iin(iin)
        assert decoded.birth_date == born(person)
        assert decoded.sex == person["sex"]
        assert born(person) < AS_OF


def test_spouses_point_at_each_other(made):
    married = [p for p in made.people.values() if p["marital_status"] == "married"]
    assert len(married) > 500
    for person in married:
        spouse = made.people[person["spouse_iin"]]
        assert spouse["sex"] != person["sex"]
        if died(person) is None and died(spouse) is None:
            assert spouse["spouse_iin"] == person["iin"]
            assert spouse["marital_status"] == "married"
    for person in made.people.values():
        if person["marital_status"] != "married":
            assert person["spouse_iin"] is None, person


def test_widows_and_widowers_have_a_late_spouse(made):
    late_spouse_of = {
        p["spouse_iin"]: p for p in made.people.values() if died(p) and p["spouse_iin"]
    }
    widowed = [p for p in made.people.values() if p["marital_status"] == "widowed"]
    assert widowed
    for person in widowed:
        assert died(person) is None
        late = late_spouse_of[person["iin"]]
        assert late["marital_status"] == "married"
        assert born(late) < died(late) < AS_OF


def test_the_deceased_have_a_date_of_death_and_no_valid_document(made):
    deceased = [p for p in made.people.values() if died(p)]
    assert 0.02 * len(made.people) < len(deceased) < 0.2 * len(made.people)
    for person in deceased:
        assert years_between(born(person), died(person)) >= 20
        assert "identity_document" not in person
    for person in made.people.values():
        if not died(person):
            document = person["identity_document"]
            minor = years_between(born(person), AS_OF) < 16
            assert (document["kind"] == "birth_certificate") is minor


def test_children_are_younger_than_their_parents_by_plausible_ages(made):
    children = [p for p in made.people.values() if p["parents"]]
    assert len(children) > 300
    for child in children:
        relations = Counter(p["relation"] for p in child["parents"])
        assert relations["mother"] <= 1 and relations["father"] <= 1
        for link in child["parents"]:
            parent = made.people[link["iin"]]
            assert parent["sex"] == ("F" if link["relation"] == "mother" else "M")
            age_at_birth = years_between(born(parent), born(child))
            if link["relation"] == "mother":
                assert 19 <= age_at_birth <= 45, (parent, child)
            else:
                assert age_at_birth >= 18, (parent, child)
            if died(parent):
                assert died(parent) > born(child)


def test_children_carry_their_fathers_name_and_surname(made):
    for child in made.people.values():
        fathers = [made.people[p["iin"]] for p in child["parents"] if p["relation"] == "father"]
        if not fathers:
            continue
        father = fathers[0]
        assert child["middle_name"] in {
            patronymic(father["first_name"], child["sex"], russian_style=style)
            for style in (False, True)
        }
        assert child["last_name"] in (father["last_name"], female_surname(father["last_name"]))


def test_names_are_kazakh_and_russian_with_the_right_patronymics(made):
    people = list(made.people.values())
    endings = Counter(
        next(e for e in ("ұлы", "қызы", "ич", "на") if p["middle_name"].endswith(e)) for p in people
    )
    assert all(endings[e] > 50 for e in ("ұлы", "қызы", "ич", "на")), endings
    for person in people:
        ending = person["middle_name"][-3:]
        if person["middle_name"].endswith(("ұлы", "ич")):
            assert person["sex"] == "M", person
        else:
            assert person["sex"] == "F" and ending in ("ызы", "вна"), person
    with_kazakh_letters = [
        p for p in people if KAZAKH_LETTERS & set(p["first_name"] + p["last_name"])
    ]
    assert len(with_kazakh_letters) > 0.3 * len(people)
    russian = [p for p in people if p["last_name"].startswith(("Иванов", "Петров", "Смирнов"))]
    assert russian


def test_people_live_in_many_regions(made):
    regions = Counter(p["registered_address"]["region"] for p in made.people.values())
    assert len(regions) == 20
    assert regions.most_common(1)[0][1] < 0.2 * len(made.people)


def test_owners_exist_are_alive_and_their_shares_sum_to_one(made):
    for estate in made.estates:
        total = Fraction(0)
        if "year_built" in estate:
            assert estate["year_built"] <= min(int(o["acquired_on"][:4]) for o in estate["owners"])
        for owner in estate["owners"]:
            person = made.people[owner["iin"]]
            acquired = date.fromisoformat(owner["acquired_on"])
            assert died(person) is None
            assert born(person) < acquired <= AS_OF
            total += Fraction(owner["share"])
        assert total == 1, estate


def test_kinds_of_property_and_encumbrances_are_consistent(made):
    kinds = Counter(e["kind"] for e in made.estates)
    assert set(kinds) == {"flat", "building", "land_plot"}
    cadastral = {e["cadastral_number"] for e in made.estates}
    for estate in made.estates:
        number = estate["cadastral_number"]
        if estate["kind"] == "flat":
            assert number.endswith("/" + estate["address"]["flat"])
        if estate["kind"] == "building":
            assert number.rsplit(":", 1)[0] in cadastral  # the land plot it stands on
        for encumbrance in estate.get("encumbrances", []):
            if encumbrance["kind"] == "mortgage":
                bank = made.companies[encumbrance["holder"]["bin"]]
                assert bank["activity_codes"] == ["64.19.0"]
                assert bank["registration_date"] <= encumbrance["registered_on"]
                assert encumbrance["until"] > AS_OF.isoformat()
            if encumbrance["kind"] == "lease":
                assert encumbrance["holder"]["iin"] in made.people
    assert sum(1 for e in made.estates for x in e.get("encumbrances", [])) > 20


def test_companies_have_valid_bins_and_existing_adult_directors_and_founders(made):
    forms = Counter(c["legal_form"] for c in made.companies.values())
    assert {"llp", "jsc", "peasant_farm"} <= set(forms)
    assert any("bin" in f for c in made.companies.values() for f in c["founders"])
    for value, company in made.companies.items():
        decoded = validate_bin(value)
        registered = date.fromisoformat(company["registration_date"])
        assert (decoded.registration_yy, decoded.registration_month) == (
            registered.year % 100,
            registered.month,
        )
        farm = decoded.attribute == EntityAttribute.PEASANT_FARM
        assert farm is (company["legal_form"] == "peasant_farm")
        for director in company["directors"]:
            person = made.people[director["iin"]]
            assert died(person) is None
            assert years_between(born(person), date.fromisoformat(director["since"])) >= 21
        if company["founders"]:
            assert sum(Fraction(f["share"]) for f in company["founders"]) == 1
            for founder in company["founders"]:
                if "iin" in founder:
                    assert founder["iin"] in made.people
                else:
                    parent = made.companies[founder["bin"]]
                    assert parent["registration_date"] < company["registration_date"]
        if company["status"] == "liquidated":
            assert company["registration_date"] < company["liquidated_on"] <= AS_OF.isoformat()
        else:
            assert company["liquidated_on"] is None


def test_the_same_seed_gives_the_same_records_and_another_seed_other_keys():
    first = list(generator.records(400, seed=9))
    assert list(generator.records(400, seed=9)) == first
    other = list(generator.records(400, seed=10))
    keys = {d.get("iin") or d.get("bin") or d["cadastral_number"] for _, d in first}
    other_keys = {d.get("iin") or d.get("bin") or d["cadastral_number"] for _, d in other}
    assert not keys & other_keys


@pytest.mark.parametrize(
    ("father", "sex", "russian", "expected"),
    [
        ("Серік", "M", False, "Серікұлы"),
        ("Серік", "F", False, "Серікқызы"),
        ("Нұрлан", "M", True, "Нұрланович"),
        ("Нұрлан", "F", True, "Нұрлановна"),
        ("Сергей", "M", True, "Сергеевич"),
        ("Николай", "F", True, "Николаевна"),
        ("Михаил", "M", True, "Михайлович"),
        ("Юрий", "F", True, "Юрьевна"),
    ],
)
def test_patronymics(father, sex, russian, expected):
    assert patronymic(father, sex, russian_style=russian) == expected


@pytest.mark.parametrize(
    ("surname", "expected"),
    [("Ахметов", "Ахметова"), ("Ғабдуллин", "Ғабдуллина"), ("Воробьёв", "Воробьёва")],
)
def test_female_surnames(surname, expected):
    assert female_surname(surname) == expected


# --- writing through the services ---------------------------------------------------------


@pytest.mark.django_db
def test_generate_writes_through_the_services_and_a_rerun_adds_nothing(ledger_log):
    expected = Counter(c for c, _ in generator.records(120, seed=4))
    counts = generator.generate(120, seed=4, batch=50)
    assert counts == {
        "population": 120,
        "real_estate": expected["real_estate"],
        "business": expected["business"],
        "skipped": 0,
    }
    total = sum(expected.values())
    assert Record.objects.count() == RecordVersion.objects.count() == total
    assert Entry.objects.count() == total
    stored = {
        r.key: r.versions.get().data
        for r in Record.objects.filter(register__code="population").prefetch_related("versions")
    }
    assert stored == {d["iin"]: d for c, d in generator.records(120, seed=4) if c == "population"}

    again = generator.generate(120, seed=4, batch=50)
    assert again == {"population": 0, "real_estate": 0, "business": 0, "skipped": total}
    assert Record.objects.count() == RecordVersion.objects.count() == Entry.objects.count() == total


@pytest.mark.django_db
def test_a_larger_run_with_the_same_seed_adds_only_what_is_new(ledger_log):
    def keys(persons: int) -> set[tuple[str, str]]:
        return {
            (c, d.get("iin") or d.get("bin") or d["cadastral_number"])
            for c, d in generator.records(persons, seed=6)
        }

    generator.generate(60, seed=6)
    counts = generator.generate(90, seed=6)
    assert counts["skipped"] == len(keys(90) & keys(60))
    stored = set(Record.objects.values_list("register__code", "key"))
    assert stored == keys(60) | keys(90)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        generator.generate(-1)
    with pytest.raises(ValueError):
        generator.generate(10, batch=0)
