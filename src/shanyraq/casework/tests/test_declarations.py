from __future__ import annotations

import copy
from typing import Any

import pytest

from shanyraq.casework.declarations import (
    declaration_problems,
    fact_specs,
    party_specs,
    workflow_of,
)
from shanyraq.casework.tests import services_fixture
from shanyraq.casework.tests.services_fixture import (
    NAME_CHANGE_FORM,
    NAME_CHANGE_PROCESS,
    NAME_CHANGE_RULES,
    SALE_FORM,
    SALE_PROCESS,
    SALE_RULES,
    label,
)
from shanyraq.core.errors import ValidationError
from shanyraq.testing import factories

# The shared fixtures, bound here so that pytest finds them for this module's tests.
ledger_log = services_fixture.ledger_log


def process(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(NAME_CHANGE_PROCESS)
    result.update(changes)
    return result


def sale(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(SALE_PROCESS)
    result.update(changes)
    return result


def test_the_test_services_declare_usable_processes() -> None:
    assert declaration_problems(NAME_CHANGE_FORM, NAME_CHANGE_PROCESS, NAME_CHANGE_RULES) == []
    assert declaration_problems(SALE_FORM, SALE_PROCESS, SALE_RULES) == []


def test_a_process_must_be_an_object() -> None:
    assert declaration_problems(NAME_CHANGE_FORM, ["steps"], None) == ["process: an object"]


def test_workflow_problems_are_reported_under_process() -> None:
    broken = process(start="nowhere")
    assert "process: start: not a step of this process" in declaration_problems(
        NAME_CHANGE_FORM, broken, NAME_CHANGE_RULES
    )


def test_a_decision_step_needs_rules() -> None:
    assert declaration_problems(NAME_CHANGE_FORM, NAME_CHANGE_PROCESS, None) == [
        "rules: an automatic decision step needs decision rules"
    ]


def test_rules_are_not_demanded_of_a_process_that_does_not_validate() -> None:
    problems = declaration_problems(NAME_CHANGE_FORM, process(start="nowhere"), None)
    assert "rules: an automatic decision step needs decision rules" not in problems


def test_rules_needed_is_reported_even_with_other_problems() -> None:
    broken = process(facts={"spouse": {"register": "population"}})
    assert declaration_problems(NAME_CHANGE_FORM, broken, None) == [
        "process.facts.spouse: needs 'register' and 'key' (and optionally 'fields')",
        "rules: an automatic decision step needs decision rules",
    ]


def test_invalid_rules_are_listed_with_their_place() -> None:
    rules = copy.deepcopy(NAME_CHANGE_RULES)
    rules["conditions"][1]["rule"] = {"eval": ["1"]}
    assert declaration_problems(NAME_CHANGE_FORM, NAME_CHANGE_PROCESS, rules) == [
        "rules.conditions[1].rule: unknown operator 'eval'"
    ]


def test_a_task_step_needs_a_role_officials_hold() -> None:
    broken = process()
    broken["steps"][2]["role"] = "registrar"
    assert declaration_problems(NAME_CHANGE_FORM, broken, NAME_CHANGE_RULES) == [
        "process.steps[2].role: one of ['clerk', 'head', 'reviewer']"
    ]


@pytest.mark.parametrize(
    ("facts", "problem"),
    [
        ("spouse", "process.facts: an object of named register reads"),
        (
            {"person": {"register": "population", "key": {"var": "applicant.iin"}}},
            "process.facts.person: a name not among "
            "['answers', 'applicant', 'application', 'person', 'today']",
        ),
        (
            {"spouse": {"register": "population"}},
            "process.facts.spouse: needs 'register' and 'key' (and optionally 'fields')",
        ),
        (
            {"spouse": {"register": "population", "key": "x", "where": 1}},
            "process.facts.spouse: needs 'register' and 'key' (and optionally 'fields')",
        ),
        (
            {"spouse": {"register": "cars", "key": {"var": "answers.spouse_iin"}}},
            "process.facts.spouse.register: one of ['business', 'population', 'real_estate']",
        ),
        (
            {"spouse": {"register": ["population"], "key": {"var": "answers.spouse_iin"}}},
            "process.facts.spouse.register: one of ['business', 'population', 'real_estate']",
        ),
        (
            {"spouse": {"register": "population", "key": {"eval": []}}},
            "process.facts.spouse.key: unknown operator 'eval'",
        ),
        (
            {"spouse": {"register": "population", "key": "k", "fields": "iin"}},
            "process.facts.spouse.fields: a list of field names",
        ),
        (
            {"spouse": {"register": "population", "key": "k", "fields": []}},
            "process.facts.spouse.fields: a list of field names",
        ),
    ],
)
def test_fact_declarations_are_checked(facts: object, problem: str) -> None:
    assert declaration_problems(NAME_CHANGE_FORM, process(facts=facts), NAME_CHANGE_RULES) == [
        problem
    ]


@pytest.mark.parametrize(
    ("parties", "problems"),
    [
        ({"role": "buyer"}, ["process.parties: a list"]),
        (
            [{"role": "buyer", "iin_field": "buyer_iin"}],
            ["process.parties[0]: needs exactly 'role', 'iin_field' and 'label'"],
        ),
        (
            [{"role": "buyer", "iin_field": "seller_iin", "label": label("Buyer")}],
            ["process.parties[0].iin_field: not a field of the form"],
        ),
        (
            # Unhashable values are reported, not a crash.
            [{"role": ["buyer"], "iin_field": ["buyer_iin"], "label": label("Buyer")}],
            [
                "process.parties[0].role: a unique name",
                "process.parties[0].iin_field: not a field of the form",
            ],
        ),
        (
            [
                {"role": "buyer", "iin_field": "buyer_iin", "label": label("Buyer")},
                {"role": "buyer", "iin_field": "buyer_iin", "label": label("Buyer")},
            ],
            ["process.parties[1].role: a unique name"],
        ),
        (
            [{"role": "buyer", "iin_field": "buyer_iin", "label": {"en": "Buyer"}}],
            [
                "process.parties[0].label.kk: the text is missing",
                "process.parties[0].label.ru: the text is missing",
            ],
        ),
    ],
)
def test_party_declarations_are_checked(parties: object, problems: list[str]) -> None:
    assert declaration_problems(SALE_FORM, sale(parties=parties), SALE_RULES) == problems


def test_a_party_iin_field_must_be_required_by_the_form() -> None:
    form = copy.deepcopy(SALE_FORM)
    form["schema"]["required"] = ["cadastral_number", "price"]
    assert declaration_problems(form, SALE_PROCESS, SALE_RULES) == [
        "process.parties[0].iin_field: the form must require this field"
    ]


def _with_changes(*changes: object, **extra: object) -> dict[str, Any]:
    return process(on_approval={"register_changes": list(changes), **extra})


@pytest.mark.parametrize(
    ("on_approval", "problems"),
    [
        (
            _with_changes(extra=1)["on_approval"],
            ["process.on_approval: unknown keys ['extra']"],
        ),
        ({"register_changes": {}}, ["process.on_approval.register_changes: a list"]),
        ({"register_changes": ["x"]}, ["process.on_approval.register_changes[0]: an object"]),
        (
            {"register_changes": [{"register": "population", "op": "delete", "key": "x"}]},
            ["process.on_approval.register_changes[0].op: 'create' or 'update'"],
        ),
        (
            {
                "register_changes": [
                    {"register": "population", "op": "update", "set": {"last_name": "X"}}
                ]
            },
            ["process.on_approval.register_changes[0].key: the record to change"],
        ),
        (
            {"register_changes": [{"register": "population", "op": "update", "key": "k"}]},
            ["process.on_approval.register_changes[0]: name the fields to write and their values"],
        ),
        (
            {
                "register_changes": [
                    {
                        "register": "population",
                        "op": "update",
                        "key": "k",
                        "set": {"last_name": {"eval": 1}},
                    }
                ]
            },
            ["process.on_approval.register_changes[0].last_name: unknown operator 'eval'"],
        ),
        (
            {
                "register_changes": [
                    {
                        "register": "population",
                        "op": "create",
                        "data": {"iin": "x"},
                        "allocate": "bin",
                    }
                ]
            },
            ["process.on_approval.register_changes[0].allocate: only for the business register"],
        ),
        (
            {
                "register_changes": [
                    {
                        "register": "business",
                        "op": "create",
                        "data": {"name": "x"},
                        "allocate": "iin",
                    }
                ]
            },
            ["process.on_approval.register_changes[0].allocate: one of ['bin']"],
        ),
        (
            {
                "register_changes": [
                    {"register": "business", "op": "create", "data": {"name": "x"}, "key": "k"}
                ]
            },
            ["process.on_approval.register_changes[0]: unknown keys ['key']"],
        ),
    ],
)
def test_register_changes_are_checked(on_approval: object, problems: list[str]) -> None:
    found = declaration_problems(
        NAME_CHANGE_FORM, process(on_approval=on_approval), NAME_CHANGE_RULES
    )
    assert found == problems


def test_workflow_of_leaves_out_what_the_engine_does_not_read() -> None:
    assert set(workflow_of(SALE_PROCESS)) == {"start", "steps", "transitions"}
    assert set(workflow_of(NAME_CHANGE_PROCESS)) == {
        "start",
        "steps",
        "transitions",
        "on_approval",
    }


def test_fact_and_party_specs_read_the_declaration() -> None:
    assert fact_specs(SALE_PROCESS) == {
        "property": {
            "register": "real_estate",
            "key": {"var": "answers.cadastral_number"},
            "fields": ["cadastral_number", "owners", "encumbrances"],
        }
    }
    assert party_specs(SALE_PROCESS) == [
        {"role": "buyer", "iin_field": "buyer_iin", "label": label("Buyer")}
    ]
    assert fact_specs({}) == {}
    assert party_specs({}) == []


@pytest.mark.django_db
def test_the_catalog_refuses_to_publish_an_unusable_process(ledger_log: object) -> None:
    broken = process(facts={"spouse": {"register": "cars", "key": "x"}})
    with pytest.raises(ValidationError) as info:
        factories.published_service(
            code="broken", form=NAME_CHANGE_FORM, process=broken, rules=NAME_CHANGE_RULES
        )
    assert info.value.code == "invalid_process"
    assert info.value.details["problems"] == [
        "process.facts.spouse.register: one of ['business', 'population', 'real_estate']"
    ]
