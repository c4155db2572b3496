from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from shanyraq.casework.forms import (
    MAX_TEXT,
    answers_problems,
    coerce,
    prefill_fields,
    prefill_values,
    step_count,
    step_fields,
    step_problems,
)
from shanyraq.casework.tests import services_fixture
from shanyraq.casework.tests.services_fixture import (
    NAME_CHANGE_FORM,
    person_record,
)
from shanyraq.core.national_id import make_iin

# The shared fixtures, bound here so that pytest finds them for this module's tests.
english = services_fixture.english

pytestmark = pytest.mark.usefixtures("english")

FORM = NAME_CHANGE_FORM
IIN = make_iin(datetime.date(1990, 1, 15), "F", serial=501)
SPOUSE = make_iin(datetime.date(1988, 6, 2), "M", serial=502)
PREFILLED = {
    "last_name": {"value": "Сейітова", "source": "population.last_name"},
    "first_name": {"value": "Айгерім", "source": "population.first_name"},
    "birth_date": {"value": "1990-01-15", "source": "population.birth_date"},
}


def problems_of(values: dict[str, Any], step: int | None = 1) -> dict[str, str]:
    problems, _cleaned = step_problems(FORM, values, step, PREFILLED)
    return {p["field"]: p["message"] for p in problems}


def cleaned_of(values: dict[str, Any], step: int | None = 1) -> dict[str, Any]:
    problems, cleaned = step_problems(FORM, values, step, PREFILLED)
    assert problems == []
    return cleaned


# --- coerce ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text", "value"),
    [
        ({"type": "integer"}, "3", 3),
        ({"type": "integer"}, " 1 000 ", 1000),
        ({"type": "integer"}, "3.0", 3),
        ({"type": "integer"}, "3.5", 3.5),
        ({"type": "integer"}, "12345678901234567890123", 12345678901234567890123),
        ({"type": "number"}, "2,5", 2.5),
        ({"type": "number"}, "1e3", 1000.0),
        ({"type": "number"}, "nan", "nan"),
        ({"type": "number"}, "inf", "inf"),
        ({"type": "number"}, "three", "three"),
        ({"type": "boolean"}, "on", True),
        ({"type": "boolean"}, "Yes", True),
        ({"type": "boolean"}, "false", False),
        ({"type": "boolean"}, "maybe", "maybe"),
        ({"type": "string", "format": "date"}, "31.03.2026", "2026-03-31"),
        ({"type": "string", "format": "date"}, "1.3.2026", "2026-03-01"),
        ({"type": "string", "format": "date"}, "2026-03-31", "2026-03-31"),
        ({"type": "string", "format": "date"}, "30.02.2026", "30.02.2026"),
        ({"type": "string"}, "  Сейітова  ", "Сейітова"),
        ({"type": "string"}, "   ", None),
        ({"type": "integer"}, "", None),
        ({"type": "array", "items": {"type": "integer"}}, ["1", "", "2"], [1, 2]),
        ({"type": "integer"}, 7, 7),
    ],
)
def test_coerce_turns_text_into_the_schemas_type(
    spec: dict[str, Any], text: Any, value: Any
) -> None:
    assert coerce(spec, text) == value


# --- one step ----------------------------------------------------------------------------


def test_a_step_keeps_its_fields_as_the_schemas_types() -> None:
    assert cleaned_of(
        {"new_last_name": " Омарова ", "reason": "marriage", "children": "2", "spouse_iin": SPOUSE}
    ) == {"new_last_name": "Омарова", "reason": "marriage", "children": 2, "spouse_iin": SPOUSE}


def test_problems_come_in_the_order_the_form_asks() -> None:
    problems, _cleaned = step_problems(
        FORM, {"children": "x", "forged": 1, "reason": "?", "new_last_name": ""}, 1, PREFILLED
    )
    assert [p["field"] for p in problems] == ["new_last_name", "reason", "children", "forged"]


def test_wrong_types_get_a_message_per_field() -> None:
    assert problems_of(
        {
            "new_last_name": "Омарова",
            "reason": "adoption",
            "children": "two",
            "marriage_date": "yesterday",
        }
    ) == {
        "children": "Enter a whole number.",
        "marriage_date": "Enter a date, for example 31.03.2026.",
        "reason": "Choose one of the options.",
    }


def test_json_values_of_the_wrong_type_are_refused() -> None:
    assert problems_of({"new_last_name": ["Омарова"], "reason": "marriage", "children": True}) == {
        "children": "Enter a whole number.",
        "new_last_name": "Enter a value of the right kind.",
    }


def test_missing_required_fields_are_named() -> None:
    assert problems_of({"children": "1"}) == {
        "new_last_name": "This field is required.",
        "reason": "This field is required.",
    }


def test_blank_required_text_counts_as_missing() -> None:
    assert problems_of({"new_last_name": "   ", "reason": "marriage"}) == {
        "new_last_name": "This field is required."
    }


def test_unknown_and_forged_field_names_are_refused() -> None:
    assert problems_of(
        {
            "new_last_name": "Омарова",
            "reason": "marriage",
            "is_approved": True,
            "__proto__": {"admin": True},
        }
    ) == {
        "__proto__": "Unknown fields are not allowed.",
        "is_approved": "Unknown fields are not allowed.",
    }


def test_a_field_of_another_step_is_refused() -> None:
    assert problems_of({"new_last_name": "Омарова", "reason": "marriage", "confirm": "on"}) == {
        "confirm": "This field is not on this step of the form."
    }


def test_a_prefilled_field_cannot_be_changed() -> None:
    assert problems_of({"last_name": "Иванова", "first_name": "Айгерім"}, step=0) == {
        "last_name": "This value comes from a state register and cannot be changed here."
    }


def test_a_prefilled_field_sent_unchanged_is_ignored() -> None:
    assert cleaned_of({"last_name": "Сейітова", "address": "Алматы"}, step=0) == {
        "address": "Алматы"
    }


def test_huge_values_are_refused() -> None:
    assert problems_of(
        {
            "new_last_name": "Ә" * (MAX_TEXT + 1),
            "reason": "marriage",
            "children": 10**30,
            "spouse_iin": SPOUSE,
        }
    ) == {
        "children": "This number is too large.",
        "new_last_name": f"At most {MAX_TEXT} characters.",
    }


def test_text_beyond_the_schemas_limit_is_refused_with_the_limit() -> None:
    assert problems_of({"new_last_name": "О" * 81, "reason": "marriage"}) == {
        "new_last_name": "At most 80 characters."
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Омар\x00ова", "The value is not valid."),
        ("Омар\ud800ова", "The value is not valid."),
        (float("nan"), "Enter a number."),
        (float("inf"), "Enter a number."),
    ],
)
def test_values_no_database_could_keep_are_refused(value: Any, message: str) -> None:
    field = "children" if isinstance(value, float) else "new_last_name"
    values: dict[str, Any] = {"new_last_name": "Омарова", "reason": "marriage", field: value}
    assert problems_of(values) == {field: message}


def test_script_text_is_kept_as_text() -> None:
    script = "<script>alert('x')</script> {{ request.user }} ${7*7}"
    assert cleaned_of({"confirm": "on", "comment": script}, step=2) == {
        "confirm": True,
        "comment": script,
    }


def test_an_unticked_box_is_false() -> None:
    assert cleaned_of({"comment": "no"}, step=2) == {"confirm": False, "comment": "no"}


def test_an_iin_field_checks_the_control_digit() -> None:
    wrong = SPOUSE[:-1] + str((int(SPOUSE[-1]) + 1) % 10)
    assert problems_of({"new_last_name": "Омарова", "reason": "marriage", "spouse_iin": wrong}) == {
        "spouse_iin": "Enter a valid 12-digit IIN."
    }


def test_a_field_with_a_schema_problem_gets_only_that_message() -> None:
    assert problems_of({"new_last_name": "Омарова", "reason": "marriage", "spouse_iin": "12"}) == {
        "spouse_iin": "The value does not have the expected form."
    }


def test_array_limits_have_their_own_messages() -> None:
    form = copy.deepcopy(FORM)
    form["schema"]["properties"]["documents"] = {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 1,
        "maxItems": 2,
        "uniqueItems": True,
    }
    form["ui"]["steps"][2]["fields"].append("documents")
    assert step_problems(form, {"documents": ["a", "b", "c"]}, 2, {})[0] == [
        {"field": "documents", "message": "Choose at most 2."}
    ]
    assert step_problems(form, {"documents": ["a", "a"]}, 2, {})[0] == [
        {"field": "documents", "message": "Choose each option only once."}
    ]
    assert step_problems(form, {"documents": ["x"] * 101}, 2, {})[0] == [
        {"field": "documents", "message": "Choose at most 100."}
    ]


def test_step_fields_and_count() -> None:
    assert step_count(FORM) == 3
    assert step_fields(FORM, 2) == ["confirm", "comment"]
    assert step_fields(FORM, 3) == []
    assert step_fields(FORM, None)[:2] == ["last_name", "first_name"]


# --- the whole form ----------------------------------------------------------------------


def test_answers_problems_checks_the_whole_schema() -> None:
    answers = {"last_name": "Сейітова", "first_name": "Айгерім", "birth_date": "1990-01-15"}
    assert answers_problems(FORM, answers) == [
        {"field": "new_last_name", "message": "This field is required."},
        {"field": "reason", "message": "This field is required."},
        {"field": "confirm", "message": "This field is required."},
    ]


def test_answers_problems_checks_iins() -> None:
    answers = {
        "last_name": "Сейітова",
        "first_name": "Айгерім",
        "birth_date": "1990-01-15",
        "new_last_name": "Омарова",
        "reason": "marriage",
        "confirm": True,
        "spouse_iin": "000000000001",
    }
    assert answers_problems(FORM, answers) == [
        {"field": "spouse_iin", "message": "Enter a valid 12-digit IIN."}
    ]


# --- prefill -----------------------------------------------------------------------------


def test_prefill_fields_are_the_top_level_fields_read() -> None:
    assert prefill_fields(FORM) == ["last_name", "first_name", "birth_date", "registered_address"]


def test_prefill_takes_values_with_their_source() -> None:
    assert prefill_values(FORM, {"person": person_record(IIN)}) == {
        "last_name": {"value": "Сейітова", "source": "population.last_name"},
        "first_name": {"value": "Айгерім", "source": "population.first_name"},
        "birth_date": {"value": "1990-01-15", "source": "population.birth_date"},
        "address": {
            "value": "almaty, Алматы, Абай даңғылы, 10",
            "source": "population.registered_address",
        },
    }


def test_an_address_reads_the_same_whatever_order_its_keys_are_stored_in() -> None:
    address = {"building": "10", "street": "Абай даңғылы", "locality": "Алматы", "flat": None}
    found = prefill_values(FORM, {"person": person_record(IIN, registered_address=address)})
    assert found["address"]["value"] == "Алматы, Абай даңғылы, 10"


def test_values_the_field_would_refuse_are_left_for_the_applicant() -> None:
    person = person_record(IIN, last_name="Ә" * 61, birth_date="15.01.1990")
    person.pop("first_name")
    assert prefill_values(FORM, {"person": person}) == {
        "address": {
            "value": "almaty, Алматы, Абай даңғылы, 10",
            "source": "population.registered_address",
        }
    }


def test_no_population_record_prefills_nothing() -> None:
    assert prefill_values(FORM, {"person": None}) == {}
    assert prefill_values(FORM, {}) == {}


def test_prefill_ignores_other_sources_and_unknown_fields() -> None:
    form = copy.deepcopy(FORM)
    form["ui"]["prefill"] = {
        "last_name": "business.name",
        "nickname": "population.first_name",
        "first_name": "population.first_name",
    }
    assert prefill_values(form, {"person": person_record(IIN)}) == {
        "first_name": {"value": "Айгерім", "source": "population.first_name"}
    }
    assert prefill_fields(form) == ["first_name"]
