"""The three registers' definitions: well-formed, realistic, and with specific validation errors."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shanyraq.core.errors import ValidationError
from shanyraq.core.national_id import make_bin, make_iin
from shanyraq.events.models import Event
from shanyraq.ledger_django.models import Entry
from shanyraq.registries import generator, selectors, services
from shanyraq.registries.definitions import register_definitions, registers_define_all
from shanyraq.registries.models import Record, RecordVersion, Register, RegisterSchema
from shanyraq.registries.validation import schema_problems

CODES = ["population", "real_estate", "business"]
REGIONS = {
    "abai", "akmola", "aktobe", "almaty_region", "atyrau", "east_kazakhstan", "jambyl",
    "jetisu", "karaganda", "kostanay", "kyzylorda", "mangystau", "north_kazakhstan",
    "pavlodar", "turkistan", "ulytau", "west_kazakhstan", "astana", "almaty", "shymkent",
}  # fmt: skip


def definitions() -> dict[str, dict[str, Any]]:
    return {d["code"]: d for d in register_definitions()}


def problems(code: str, data: dict[str, Any]) -> list[dict[str, str]]:
    return schema_problems(json.dumps(definitions()[code]["schema"], sort_keys=True), data)


def sample(code: str) -> dict[str, Any]:
    """A generated record of the register, valid as made."""
    for register, data in generator.records(60, seed=11):
        if register == code and (code != "business" or data["legal_form"] == "llp"):
            return json.loads(json.dumps(data))
    raise AssertionError(f"no {code} record generated")


# --- the files ----------------------------------------------------------------------------


def test_the_three_registers_are_defined_in_order():
    assert [d["code"] for d in register_definitions()] == CODES


@pytest.mark.parametrize("code", CODES)
def test_each_definition_is_complete_and_its_schema_valid(code):
    definition = definitions()[code]
    assert set(definition) == {
        "code", "name", "description", "key_field", "search_fields", "subject_paths", "schema",
    }  # fmt: skip
    for text in (definition["name"], definition["description"]):
        assert set(text) == {"kk", "ru", "en"}
        assert all(isinstance(v, str) and v.strip() for v in text.values())
    schema = definition["schema"]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert definition["key_field"] in schema["required"]
    for name in definition["search_fields"]:
        assert name in schema["properties"]


@pytest.mark.parametrize("code", CODES)
def test_every_field_has_a_label_in_three_languages(code):
    for name, spec in definitions()[code]["schema"]["properties"].items():
        label = spec["x-title"]
        assert set(label) == {"kk", "ru", "en"}, name
        assert all(label.values()), name


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


@pytest.mark.parametrize(
    ("code", "paths"),
    [
        ("population", ["iin"]),
        ("real_estate", ["owners[].iin", "encumbrances[].holder.iin"]),
        ("business", ["directors[].iin", "founders[].iin"]),
    ],
)
def test_subject_paths_lead_to_iin_fields(code, paths):
    definition = definitions()[code]
    assert definition["subject_paths"] == paths
    schema = definition["schema"]
    for path in paths:
        node = schema
        for part in path.split("."):
            node = _resolve(schema, node["properties"][part.removesuffix("[]")])
            if part.endswith("[]"):
                assert node["type"] == "array"
                node = _resolve(schema, node["items"])
        assert node["format"] == "iin"


def test_addresses_are_the_same_in_every_register_and_list_every_region():
    addresses = [d["schema"]["$defs"]["address"] for d in register_definitions()]
    assert addresses[0] == addresses[1] == addresses[2]
    assert set(addresses[0]["properties"]["region"]["enum"]) == REGIONS
    assert addresses[0]["additionalProperties"] is False


def test_keys_have_the_expected_formats():
    population, real_estate, business = (definitions()[c]["schema"] for c in CODES)
    assert population["properties"]["iin"]["format"] == "iin"
    assert business["properties"]["bin"]["format"] == "bin"
    pattern = real_estate["properties"]["cadastral_number"]["pattern"]
    validator = Draft202012Validator({"type": "string", "pattern": pattern})
    for good in ("21:320:045:012", "21:320:045:012:1", "21:320:045:012:1/57"):
        assert validator.is_valid(good), good
    for bad in ("21:320:045", "2:320:045:012", "21-320-045-012", "21:320:045:012:1/", "x"):
        assert not validator.is_valid(bad), bad


# --- validation messages ------------------------------------------------------------------


def test_generated_records_are_valid():
    for code, data in generator.records(150, seed=2):
        assert problems(code, data) == [], (code, data)


def test_names_may_have_kazakh_letters_but_not_digits():
    person = sample("population")
    person.update(last_name="Құдайбергенова", first_name="Әйгерім", middle_name="Нұрланқызы")
    assert problems("population", person) == []
    person.update(middle_name=None, first_name="Ғалымжан-Ұлан")
    assert problems("population", person) == []
    person["first_name"] = "Aigerim2"
    assert problems("population", person) == [
        {"field": "first_name", "message": "The value does not have the expected form."}
    ]


@pytest.mark.parametrize(
    ("code", "change", "field", "message"),
    [
        (
            "population",
            lambda d: d.update(parents=[{"iin": "900101300001", "relation": "mother"}]),
            "parents.0.iin",
            "Expected an IIN.",
        ),
        ("population", lambda d: d.pop("first_name"), "first_name", "This field is required."),
        (
            "population",
            lambda d: d.update(birth_date="1990-02-30"),
            "birth_date",
            "Expected a date (YYYY-MM-DD).",
        ),
        (
            "population",
            lambda d: d.update(sex="X"),
            "sex",
            "Choose one of: M, F.",
        ),
        (
            "population",
            lambda d: d.update(citizenship="Kazakhstan"),
            "citizenship",
            "The value does not have the expected form.",
        ),
        (
            "population",
            lambda d: d["registered_address"].update(region="moscow"),
            "registered_address.region",
            "Choose one of: ",
        ),
        (
            "population",
            lambda d: d.update(nickname="Қожа"),
            "$",
            "Unknown fields are not allowed.",
        ),
        (
            "real_estate",
            lambda d: d.update(cadastral_number="21:320:45:12"),
            "cadastral_number",
            "The value does not have the expected form.",
        ),
        (
            "real_estate",
            lambda d: d["owners"][0].update(acquisition_basis="theft"),
            "owners.0.acquisition_basis",
            "Choose one of: purchase,",
        ),
        (
            "real_estate",
            lambda d: d.update(
                encumbrances=[
                    {"kind": "pledge", "holder": {"name": "Банк"}, "registered_on": "2020-01-01"}
                ]
            ),
            "encumbrances.0.kind",
            "Choose one of: mortgage, arrest, lease.",
        ),
        (
            "business",
            lambda d: d.update(bin="123456789012"),
            "bin",
            "Expected a BIN.",
        ),
        (
            "business",
            lambda d: d.update(activity_codes=["6201"]),
            "activity_codes.0",
            "The value does not have the expected form.",
        ),
        (
            "business",
            lambda d: d["directors"][0].update(iin="000000000000"),
            "directors.0.iin",
            "Expected an IIN.",
        ),
        (
            "business",
            lambda d: d.update(legal_form="LLC"),
            "legal_form",
            "Choose one of: llp, jsc, sole_proprietor,",
        ),
    ],
)
def test_schema_errors_are_specific(code, change, field, message):
    data = sample(code)
    change(data)
    found = problems(code, data)
    assert found[0]["field"] == field
    assert found[0]["message"].startswith(message)


def test_an_area_must_be_positive():
    estate = sample("real_estate")
    estate["area_m2"] = 0
    assert [p["field"] for p in problems("real_estate", estate)] == ["area_m2"]


def test_an_owner_is_a_person_or_an_entity_not_both():
    estate = sample("real_estate")
    estate["owners"][0]["bin"] = make_bin(2010, 5, serial=7)
    assert [p["field"] for p in problems("real_estate", estate)] == ["owners.0"]
    del estate["owners"][0]["iin"]
    assert problems("real_estate", estate) == []


def test_shares_are_fractions_or_numbers_up_to_one():
    estate = sample("real_estate")
    for good in ("1/3", 0.5, 1):
        estate["owners"][0]["share"] = good
        assert problems("real_estate", estate) == [], good
    for bad in ("0/3", "1/0", "half", 1.5, 0):
        estate["owners"][0]["share"] = bad
        assert [p["field"] for p in problems("real_estate", estate)] == ["owners.0.share"], bad


# --- defining them ------------------------------------------------------------------------


@pytest.mark.django_db
def test_defining_is_idempotent_and_a_changed_schema_is_a_new_version(monkeypatch):
    registers = registers_define_all()
    assert [r.code for r in registers] == CODES
    assert [(r.key_field, r.current_schema) for r in registers] == [
        ("iin", 1), ("cadastral_number", 1), ("bin", 1),
    ]  # fmt: skip
    population = Register.objects.get(code="population")
    assert population.name.to_dict() == definitions()["population"]["name"]
    assert population.search_fields == ["last_name", "first_name", "birth_date"]
    registers_define_all()
    assert RegisterSchema.objects.count() == 3

    changed = register_definitions()
    changed[0]["schema"]["properties"]["last_name"] = {"type": "string"}
    monkeypatch.setattr("shanyraq.registries.definitions.register_definitions", lambda: changed)
    registers_define_all()
    assert Register.objects.get(code="population").current_schema == 2
    assert RegisterSchema.objects.count() == 4


@pytest.mark.django_db
def test_a_person_with_an_invalid_parent_iin_is_refused_and_nothing_is_written(ledger_log):
    registers_define_all()
    person = sample("population")
    valid = make_iin(date(1960, 1, 1), "F", serial=17)
    wrong_control_digit = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    person["parents"] = [{"iin": wrong_control_digit, "relation": "mother"}]
    with pytest.raises(ValidationError) as info:
        services.record_create(
            register="population", data=person, actor=None, agency=None, basis="test"
        )
    assert info.value.code == "schema_violation"
    assert info.value.field == "parents.0.iin"
    assert info.value.details["problems"] == [
        {"field": "parents.0.iin", "message": "Expected an IIN."}
    ]
    assert (Record.objects.count(), RecordVersion.objects.count()) == (0, 0)
    assert (Entry.objects.count(), Event.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_a_valid_generated_person_is_written_with_its_ledger_entry(ledger_log):
    registers_define_all()
    person = sample("population")
    version = services.record_create(
        register="population", data=person, actor=None, agency=None, basis="test"
    )
    assert version.record.key == person["iin"]
    assert version.data == person
    entry = json.loads(bytes(Entry.objects.get().data))
    assert (entry["registry"], entry["op"], entry["version"]) == ("population", "create", 1)
    assert person["iin"] not in json.dumps(entry, ensure_ascii=False)
    assert person["last_name"] not in json.dumps(entry, ensure_ascii=False)


@pytest.mark.django_db
def test_the_data_tracker_finds_the_people_each_record_is_about():
    registers = {r.code: r for r in registers_define_all()}
    seen = set()
    for code, data in generator.records(300, seed=12):
        if code == "population":
            expected = {data["iin"]}
        elif code == "real_estate":
            expected = {o["iin"] for o in data["owners"]} | {
                e["holder"]["iin"] for e in data.get("encumbrances", []) if "iin" in e["holder"]
            }
        else:
            expected = {d["iin"] for d in data["directors"]} | {
                f["iin"] for f in data["founders"] if "iin" in f
            }
        assert set(selectors.subject_iins(registers[code], data)) == expected
        seen.add(code)
    assert seen == set(CODES)
