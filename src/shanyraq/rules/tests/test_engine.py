import contextlib
import datetime
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shanyraq.rules.engine import (
    LANGUAGES,
    MAX_DEPTH,
    MAX_STEPS,
    OPERATORS,
    OUTCOMES,
    ConditionResult,
    Decision,
    InvalidRuleSet,
    MissingFact,
    RuleError,
    evaluate,
    evaluate_rule_set,
    label_errors,
    validate_rule,
    validate_rule_set,
)

D = datetime.date
LABEL = {"kk": "Ата-ана", "ru": "Родитель", "en": "Parent"}


def ev(rule: Any, facts: dict[str, Any] | None = None) -> Any:
    return evaluate(rule, facts or {})


def one_condition(rule: Any) -> dict[str, Any]:
    return {"conditions": [{"id": "c", "label": LABEL, "rule": rule}], "decide": "all"}


def condition_result(rule: Any, facts: dict[str, Any]) -> ConditionResult:
    return evaluate_rule_set(one_condition(rule), facts).conditions[0]


# --- operators ----------------------------------------------------------------------------

FACTS = {
    "name": "Айгүл",
    "age": 34,
    "income": 120000.5,
    "resident": True,
    "nothing": None,
    "empty": "",
    "children": [
        {"name": "Асель", "birth_date": "2023-02-01"},
        {"name": "Нұрлан", "birth_date": "2015-06-30"},
    ],
    "address": {"region": "Алматы", "codes": ["75", "19"]},
    "today": "2024-03-15",
    "on": D(2024, 3, 15),
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # literals and arrays
        (1, 1),
        ("x", "x"),
        (None, None),
        ([1, {"var": "age"}], [1, 34]),
        # var: dotted paths, array indexes, defaults, whole data
        ({"var": "age"}, 34),
        ({"var": ["age"]}, 34),
        ({"var": "children.1.name"}, "Нұрлан"),
        ({"var": "address.codes.0"}, "75"),
        ({"var": ["absent", 7]}, 7),
        ({"var": ["nothing", "default"]}, "default"),
        ({"var": ["address.absent.deeper", []]}, []),
        ({"var": ["children.5.name", "none"]}, "none"),
        ({"var": ["name.0", "no indexing into strings"]}, "no indexing into strings"),
        ({"var": ["absent", {"var": "age"}]}, 34),
        ({"var": {"cat": ["ag", "e"]}}, 34),
        ({"var": "empty"}, ""),
        ({"var": "on"}, D(2024, 3, 15)),
        ({"var": "$.age"}, 34),
        ({"var": [""]}, FACTS),
        # missing
        (
            {"missing": ["age", "absent", "nothing", "empty", "children.0.name"]},
            ["absent", "nothing", "empty"],
        ),
        ({"missing": [["absent", "age"]]}, ["absent"]),
        ({"missing": "age"}, []),
        # equality: same type and value only
        ({"==": [1, 1]}, True),
        ({"==": [1, 1.0]}, True),
        ({"==": [1, "1"]}, False),
        ({"==": [1, True]}, False),
        ({"==": [0, False]}, False),
        ({"==": [None, False]}, False),
        ({"==": [None, None]}, True),
        ({"==": ["a", "a"]}, True),
        ({"==": [[1, [2]], [1, [2]]]}, True),
        ({"==": [[1], [True]]}, False),
        ({"==": [{"var": "address"}, {"var": "address"}]}, True),
        ({"==": [{"date": "2024-03-15"}, {"var": "on"}]}, True),
        ({"==": [{"date": "2024-03-15"}, "2024-03-15"]}, False),
        ({"!=": [1, "1"]}, True),
        ({"!=": [1, 1]}, False),
        # ordering: numbers, strings and dates; different types are never ordered
        ({"<": [1, 2]}, True),
        ({"<": [2, 2]}, False),
        ({"<=": [2, 2]}, True),
        ({">": [3, 2]}, True),
        ({">=": [2, 2.0]}, True),
        ({"<": [1, 2, 3]}, True),
        ({"<": [1, 3, 3]}, False),
        ({"<=": [1, 3, 3]}, True),
        ({"<": ["a", "b"]}, True),
        ({"<": [{"date": "2024-01-01"}, {"date": "2024-01-02"}]}, True),
        ({"<": [1, "2"]}, False),
        ({">": ["2", 1]}, False),
        ({"<": [None, 1]}, False),
        ({"<": [False, True]}, False),
        ({"<": [[1], [2]]}, False),
        # logic: JSON Logic truth, returning the deciding value
        ({"and": [True, 1, "x"]}, "x"),
        ({"and": [1, 0, "x"]}, 0),
        ({"and": [True]}, True),
        ({"or": [0, "", None]}, None),
        ({"or": [0, [], "first", "second"]}, "first"),
        ({"!": [[]]}, True),
        ({"!": [[0]]}, False),
        ({"!": ""}, True),
        ({"!": "0"}, False),
        ({"!!": [{"var": "children"}]}, True),
        ({"!!": [0.0]}, False),
        ({"!!": [{"var": "address"}]}, True),
        ({"if": [True, "yes", "no"]}, "yes"),
        ({"if": [[], "yes", "no"]}, "no"),
        ({"if": [False, 1, {"var": "resident"}, 2, 3]}, 2),
        ({"if": [False, 1, False, 2, 3]}, 3),
        # in: substring or membership, strictly
        ({"in": ["гү", {"var": "name"}]}, True),
        ({"in": ["x", "abc"]}, False),
        ({"in": [1, "a1"]}, False),
        ({"in": ["19", {"var": "address.codes"}]}, True),
        ({"in": [19, {"var": "address.codes"}]}, False),
        ({"in": [[1], [[1], [2]]]}, True),
        ({"in": ["a", None]}, False),
        # arithmetic
        ({"+": [1, 2, 3.5]}, 6.5),
        ({"+": [4]}, 4),
        ({"-": [10, 4]}, 6),
        ({"-": [4]}, -4),
        ({"*": [2, 3, 4]}, 24),
        ({"/": [7, 2]}, 3.5),
        ({"/": [6, 3]}, 2.0),
        ({"min": [3, 1.5, 2]}, 1.5),
        ({"max": [3, {"var": "age"}]}, 34),
        ({"<": [{"/": [{"var": "income"}, 4]}, 30000.5]}, True),
        # strings and arrays
        ({"cat": ["Age: ", {"var": "age"}, ", ratio ", 1.5, ", ", 2.0]}, "Age: 34, ratio 1.5, 2"),
        ({"cat": "alone"}, "alone"),
        ({"count": [{"var": "children"}]}, 2),
        ({"count": [[]]}, 0),
        # some / all / none, with the element as the data, and $. for the facts
        ({"some": [{"var": "children"}, {"==": [{"var": "name"}, "Асель"]}]}, True),
        ({"some": [[1, 2, 3], {">": [{"var": ""}, 2]}]}, True),
        ({"some": [[], True]}, False),
        ({"all": [[1, 2, 3], {">": [{"var": ""}, 0]}]}, True),
        ({"all": [[1, 2, 3], {">": [{"var": ""}, 1]}]}, False),
        ({"all": [[], True]}, False),
        ({"none": [[1, 2], {">": [{"var": ""}, 5]}]}, True),
        ({"none": [[], False]}, True),
        (
            {
                "some": [
                    {"var": "children"},
                    {"<": [{"age": [{"var": "birth_date"}, {"var": "$.today"}]}, 3]},
                ]
            },
            True,
        ),
        # dates
        ({"date": "2024-02-29"}, D(2024, 2, 29)),
        ({"date": [{"var": "on"}]}, D(2024, 3, 15)),
        ({"days_between": ["2024-02-28", "2024-03-01"]}, 2),
        ({"days_between": ["2024-03-01", "2024-02-28"]}, -2),
        ({"days_between": [{"var": "on"}, {"date": "2025-03-15"}]}, 365),
        ({"age": ["1990-03-15", {"var": "today"}]}, 34),
        ({"age": ["1990-03-16", {"var": "today"}]}, 33),
        ({"age": ["2024-03-15", "2024-03-15"]}, 0),
    ],
)
def test_operator(rule: Any, expected: Any) -> None:
    result = ev(rule, FACTS)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("born", "on", "expected"),
    [
        ("2000-02-29", "2001-02-28", 0),
        ("2000-02-29", "2001-03-01", 1),
        ("2000-02-29", "2004-02-28", 3),
        ("2000-02-29", "2004-02-29", 4),
        ("2000-03-01", "2001-02-28", 0),
        ("2000-03-01", "2001-03-01", 1),
        ("1999-12-31", "2000-01-01", 0),
        ("1999-12-31", "2017-12-31", 18),
    ],
)
def test_age_in_full_years_with_29_february(born: str, on: str, expected: int) -> None:
    assert ev({"age": [born, on]}) == expected


@pytest.mark.parametrize(
    ("rule", "facts", "message"),
    [
        ({"/": [1, 0]}, {}, "rule: division by zero"),
        ({"/": [1, {"var": "zero"}]}, {"zero": 0.0}, "rule: division by zero"),
        ({"+": [1, "2"]}, {}, "rule: '+' needs numbers, got string"),
        ({"*": [True, 2]}, {}, "rule: '*' needs numbers, got boolean"),
        ({"-": [None]}, {}, "rule: '-' needs numbers, got null"),
        ({"min": [1, [2]]}, {}, "rule: 'min' needs numbers, got array"),
        ({"*": [1e200, 1e200]}, {}, "rule: the number is too large"),
        ({"*": [2**52, 4]}, {}, "rule: the number is out of range"),
        ({"+": [{"var": "big"}, 1]}, {"big": 10**400}, "rule: the number is out of range"),
        ({"cat": ["a", True]}, {}, "rule: 'cat' joins strings and numbers, got boolean"),
        (
            {"cat": [{"var": "s"}, {"var": "s"}]},
            {"s": "x" * 6000},
            "rule: the string would be too long",
        ),
        ({"count": "abc"}, {}, "rule: 'count' needs an array, got string"),
        ({"some": [{"var": "n"}, True]}, {"n": 3}, "rule: 'some' needs an array, got number"),
        (
            {"date": "15.03.2024"},
            {},
            "rule: 'date' needs a date or a YYYY-MM-DD string, got string",
        ),
        ({"date": "2023-02-29"}, {}, "rule: '2023-02-29' is not a valid date"),
        ({"date": 20240315}, {}, "rule: 'date' needs a date or a YYYY-MM-DD string, got number"),
        ({"age": ["2024-01-02", "2024-01-01"]}, {}, "rule: the date is before the birth date"),
        ({"eval": ["1"]}, {}, "rule: unknown operator 'eval'"),
        (
            {"a": 1, "b": 2},
            {},
            "rule: an operation is an object with exactly one key, its operator",
        ),
        ({"and": [1, {"==": [1]}]}, {}, "rule.and[1]: '==' takes 2 arguments, got 1"),
        ({"and": []}, {}, "rule: 'and' takes at least 1 argument, got 0"),
        ({"<": [1, 2, 3, 4]}, {}, "rule: '<' takes 2 or 3 arguments, got 4"),
        ({"!": [1, 2]}, {}, "rule: '!' takes 1 argument, got 2"),
        (
            {"if": [True, 1]},
            {},
            "rule: 'if' takes an odd number of arguments, at least 3 (conditions and results, "
            "then an else), got 2",
        ),
        ({"var": [True]}, {}, "rule: a path is a string or a whole number"),
        ({"var": "x"}, {"x": Decimal("1.5")}, "rule: values of type Decimal are not supported"),
        (
            {"var": "x"},
            {"x": datetime.datetime(2024, 1, 1)},
            "rule: a date and time is not a date; pass the date",
        ),
        ({"var": "x"}, {"x": float("nan")}, "rule: numbers must be finite"),
        ({"some": [[1], {"var": "x"}]}, {}, "rule.some[1]: there is no value at this path"),
        (float("inf"), {}, "rule: numbers must be finite"),
        (2**60, {}, "rule: the number is out of range"),
        ({1: 2}, {}, "rule: unknown operator 1"),
    ],
)
def test_evaluation_error(rule: Any, facts: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError) as raised:
        evaluate(rule, facts)
    assert str(raised.value) == message
    assert type(raised.value) is RuleError


def test_missing_fact_names_the_fact_and_where_the_rule_needed_it() -> None:
    with pytest.raises(MissingFact) as raised:
        ev({"and": [True, {"<": [{"var": "children.0.age"}, 3]}]}, {"children": [{}]})
    assert raised.value.fact == "children.0.age"
    assert raised.value.path == "rule.and[1].<[0]"
    assert str(raised.value) == "rule.and[1].<[0]: fact 'children.0.age' is missing"


def test_a_null_fact_counts_as_missing_unless_a_default_says_what_it_means() -> None:
    with pytest.raises(MissingFact):
        ev({"var": "income"}, {"income": None})
    assert ev({"var": ["income", 0]}, {"income": None}) == 0


def test_short_circuit_leaves_later_arguments_unevaluated() -> None:
    assert ev({"and": [False, {"/": [1, 0]}]}) is False
    assert ev({"or": [True, {"var": "absent"}]}) is True
    assert ev({"if": [True, 1, {"/": [1, 0]}]}) == 1
    assert ev({"some": [[1, 0], {"/": [1, {"var": ""}]}]}) is True
    assert ev({"all": [[0, "x"], {"<": [{"-": [{"var": ""}]}, 0]}]}) is False


def test_depth_is_bounded() -> None:
    rule: Any = True
    for _ in range(MAX_DEPTH):
        rule = {"!!": [rule]}
    with pytest.raises(RuleError, match="nested deeper than 32 levels"):
        ev(rule)
    assert validate_rule(rule) == ["rule" + ".!![0]" * MAX_DEPTH + ": nested deeper than 32 levels"]
    assert ev(rule["!!"][0]) is True  # 32 levels are fine
    assert validate_rule(rule["!!"][0]) == []


def test_steps_are_bounded() -> None:
    facts = {"items": list(range(MAX_STEPS))}
    with pytest.raises(RuleError) as raised:
        ev({"all": [{"var": "items"}, {">=": [{"var": ""}, 0]}]}, facts)
    assert raised.value.message == f"the evaluation needs more than {MAX_STEPS} steps"
    assert raised.value.path == "rule.all[1].>=[0]"
    assert evaluate({"count": {"var": "items"}}, facts) == MAX_STEPS


def test_comparing_large_facts_counts_steps() -> None:
    facts = {"a": list(range(MAX_STEPS)), "b": list(range(MAX_STEPS))}
    with pytest.raises(RuleError, match="more than 10000 steps"):
        ev({"==": [{"var": "a"}, {"var": "b"}]}, facts)
    assert evaluate({"==": [{"var": "a"}, {"var": "b"}]}, facts, max_steps=20_000) is True


def test_facts_are_read_never_called_or_inspected() -> None:
    class Sneaky:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError("attributes must not be read")

    with pytest.raises(RuleError, match="values of type Sneaky are not supported"):
        ev({"var": "x"}, {"x": Sneaky()})
    with pytest.raises(MissingFact):
        ev({"var": "x.__class__"}, {"x": Sneaky()})
    with pytest.raises(MissingFact):
        ev({"var": "name.__class__"}, {"name": "x"})
    with pytest.raises(MissingFact):
        ev({"var": "__builtins__"}, {})


# --- validation ---------------------------------------------------------------------------


def test_valid_rule_has_no_problems() -> None:
    rule = {
        "and": [
            {">=": [{"age": [{"var": "birth_date"}, {"var": "today"}]}, 18]},
            {"in": [{"var": "region"}, ["75", "19"]]},
            {"missing": [["a", "b"]]},
            {"var": ["x", {"cat": ["a", 1]}]},
            {"var": 0},
            {"var": "$.today"},
            {"var": ""},
        ]
    }
    assert validate_rule(rule) == []


def test_validation_reports_every_problem_with_where() -> None:
    rule = {
        "and": [
            {"eval": "__import__('os')"},
            {"==": [1]},
            {"if": [{"var": "a..b"}, 1]},
            {"var": [-1]},
            {"missing": ["ok", 2.5]},
            {"a": 1, "b": 2},
            [1, float("nan"), 2**60, "x" * 10_001, {1, 2}],
            {"+": [{"var": ["a", 1, 2]}]},
        ]
    }
    assert validate_rule(rule, path="conditions[2].rule") == [
        "conditions[2].rule.and[0]: unknown operator 'eval'",
        "conditions[2].rule.and[1]: '==' takes 2 arguments, got 1",
        "conditions[2].rule.and[2]: 'if' takes an odd number of arguments, at least 3 "
        "(conditions and results, then an else), got 2",
        "conditions[2].rule.and[3].var[0]: an array index cannot be negative",
        "conditions[2].rule.and[4].missing[1]: a path is a string or a whole number",
        "conditions[2].rule.and[5]: an operation is an object with exactly one key, its operator",
        "conditions[2].rule.and[6][1]: numbers must be finite",
        "conditions[2].rule.and[6][2]: the number is out of range",
        "conditions[2].rule.and[6][3]: the string is too long",
        "conditions[2].rule.and[6][4]: values of type set cannot appear in a rule",
        "conditions[2].rule.and[7].+[0]: 'var' takes 1 or 2 arguments, got 3",
    ]


def test_validation_limits_the_size_of_a_rule() -> None:
    assert validate_rule(list(range(MAX_STEPS - 1))) == []
    assert validate_rule(list(range(MAX_STEPS))) == [
        f"rule[{MAX_STEPS - 1}]: the rule has more than {MAX_STEPS} parts"
    ]


def test_the_operators_are_exactly_these() -> None:
    expected = {
        "var", "missing", "==", "!=", "<", "<=", ">", ">=", "and", "or", "!", "!!", "if",
        "in", "+", "-", "*", "/", "min", "max", "cat", "count", "some", "all", "none",
        "date", "days_between", "age", "object",
    }  # fmt: skip
    assert expected == OPERATORS


def test_label_languages_are_the_platforms() -> None:
    from shanyraq.core.text import LANGUAGES as PLATFORM_LANGUAGES

    assert LANGUAGES == PLATFORM_LANGUAGES


def test_label_errors() -> None:
    assert label_errors(LABEL, "label") == []
    assert label_errors({"kk": "", "ru": 1, "de": "x"}, "label") == [
        "label.de: unknown language",
        "label.kk: the text is missing",
        "label.ru: the text is missing",
        "label.en: the text is missing",
    ]
    assert label_errors("Parent", "steps[0].label") == [
        "steps[0].label: a label is an object with the keys kk, ru and en"
    ]


# --- rule sets ----------------------------------------------------------------------------

BIRTH_BENEFIT: dict[str, Any] = {
    "conditions": [
        {
            "id": "is_parent",
            "label": {
                "kk": "Өтініш беруші — ата-ана",
                "ru": "Заявитель — родитель",
                "en": "The applicant is a parent",
            },
            "rule": {"in": [{"var": "applicant.iin"}, {"var": "child.parents"}]},
        },
        {
            "id": "child_is_young",
            "label": {
                "kk": "Бала бір жасқа толмаған",
                "ru": "Ребёнку нет года",
                "en": "The child is under one",
            },
            "rule": {"<": [{"age": [{"var": "child.birth_date"}, {"var": "today"}]}, 1]},
        },
        {
            "id": "is_resident",
            "label": {"kk": "Резидент", "ru": "Резидент", "en": "Resident"},
            "rule": {"==": [{"var": "applicant.resident"}, True]},
        },
    ],
    "decide": "all",
}

APPLICANT = {"iin": "900315400123", "resident": True}
CHILD = {"birth_date": "2024-01-10", "parents": ["900315400123", "880101300456"]}


def test_all_conditions_true_approves_with_an_explanation() -> None:
    facts = {"applicant": APPLICANT, "child": CHILD, "today": "2024-03-15"}
    decision = evaluate_rule_set(BIRTH_BENEFIT, facts)
    assert decision == Decision(
        outcome="approve",
        conditions=(
            ConditionResult(
                id="is_parent",
                label=BIRTH_BENEFIT["conditions"][0]["label"],
                outcome="true",
                facts_used={"applicant.iin": "900315400123", "child.parents": CHILD["parents"]},
            ),
            ConditionResult(
                id="child_is_young",
                label=BIRTH_BENEFIT["conditions"][1]["label"],
                outcome="true",
                facts_used={"child.birth_date": "2024-01-10", "today": "2024-03-15"},
            ),
            ConditionResult(
                id="is_resident",
                label=BIRTH_BENEFIT["conditions"][2]["label"],
                outcome="true",
                facts_used={"applicant.resident": True},
            ),
        ),
    )


def test_a_false_condition_rejects() -> None:
    facts = {"applicant": APPLICANT, "child": CHILD, "today": "2025-01-10"}
    decision = evaluate_rule_set(BIRTH_BENEFIT, facts)
    assert decision.outcome == "reject"
    assert [c.outcome for c in decision.conditions] == ["true", "false", "true"]


def test_a_missing_fact_leaves_the_decision_to_a_person() -> None:
    facts = {"applicant": {"iin": "900315400123"}, "child": CHILD, "today": "2024-03-15"}
    decision = evaluate_rule_set(BIRTH_BENEFIT, facts)
    assert decision.outcome == "undecided"
    resident = decision.conditions[2]
    assert resident.outcome == "unknown"
    assert resident.missing == ("applicant.resident",)
    assert resident.facts_used == {}
    assert resident.error == "conditions[2].rule.==[0]: fact 'applicant.resident' is missing"


def test_a_false_condition_rejects_even_when_another_is_unknown() -> None:
    facts = {"applicant": {"iin": "000000000000"}, "child": CHILD, "today": "2024-03-15"}
    decision = evaluate_rule_set(BIRTH_BENEFIT, facts)
    assert [c.outcome for c in decision.conditions] == ["false", "true", "unknown"]
    assert decision.outcome == "reject"


def test_an_evaluation_error_makes_the_condition_unknown() -> None:
    result = condition_result(
        {">": [{"/": [{"var": "income"}, {"var": "members"}]}, 100]}, {"income": 500, "members": 0}
    )
    assert result.outcome == "unknown"
    assert result.missing == ()
    assert result.error == "conditions[0].rule.>[0]: division by zero"
    assert result.facts_used == {"income": 500, "members": 0}


def test_decision_to_json_is_plain_json() -> None:
    rule = {"and": [{"<": [{"date": {"var": "born"}}, {"var": "on"}]}, {"var": "missing_one"}]}
    decision = evaluate_rule_set(one_condition(rule), {"born": "2020-01-01", "on": D(2024, 3, 15)})
    assert decision.to_json() == {
        "outcome": "undecided",
        "conditions": [
            {
                "id": "c",
                "label": LABEL,
                "outcome": "unknown",
                "facts_used": {"born": "2020-01-01", "on": "2024-03-15"},
                "missing": ["missing_one"],
                "error": "conditions[0].rule.and[1]: fact 'missing_one' is missing",
            }
        ],
    }


def test_facts_used_name_array_elements_by_their_place_in_the_facts() -> None:
    rule = {
        "all": [
            {"var": "children"},
            {"<": [{"age": [{"var": "birth_date"}, {"var": "$.today"}]}, 18]},
        ]
    }
    facts = {
        "children": [
            {"birth_date": "2010-05-01"},
            {"birth_date": "2000-01-01"},
            {"birth_date": "2020-01-01"},
        ],
        "today": "2024-03-15",
    }
    result = condition_result(rule, facts)
    assert result.outcome == "false"
    assert result.facts_used == {
        "children": facts["children"],
        "children.0.birth_date": "2010-05-01",
        "today": "2024-03-15",
        "children.1.birth_date": "2000-01-01",
    }


def test_reads_of_computed_values_are_not_facts() -> None:
    rule = {"some": [[[1, 2]], {"==": [{"var": "0"}, {"var": ["$.x", 1]}]}]}
    result = condition_result(rule, {})
    assert result.outcome == "true"
    assert result.facts_used == {}


def test_a_default_is_not_a_fact_used() -> None:
    result = condition_result({"==": [{"var": ["benefits", []]}, []]}, {"benefits": None})
    assert result.outcome == "true"
    assert result.facts_used == {"benefits": None}
    result = condition_result({"==": [{"var": ["benefits", []]}, []]}, {})
    assert result.facts_used == {}


def test_rule_set_validation() -> None:
    assert validate_rule_set(BIRTH_BENEFIT) == []
    broken = {
        "conditions": [
            {"id": "ok", "label": LABEL, "rule": True},
            {"id": "ok", "label": {"kk": "a", "ru": "b"}, "rule": {"eval": 1}},
            {"id": "Bad-Id", "label": LABEL},
            {"id": "x", "label": LABEL, "rule": True, "when": "always"},
            "not a condition",
        ],
        "decide": "any",
        "version": 2,
    }
    assert validate_rule_set(broken) == [
        "version: unknown key",
        "decide: must be 'all' (every condition must hold)",
        "conditions[1].id: 'ok' is used by an earlier condition",
        "conditions[1].label.en: the text is missing",
        "conditions[1].rule: unknown operator 'eval'",
        "conditions[2].id: lowercase letters, digits and _, starting with a letter",
        "conditions[2].rule: the rule is missing",
        "conditions[3].when: unknown key",
        "conditions[4]: a condition is an object with id, label and rule",
    ]
    assert validate_rule_set({"conditions": [], "decide": "all"}) == [
        "conditions: a non-empty array of conditions"
    ]
    assert validate_rule_set([]) == ["rule set: an object with conditions and decide"]


def test_an_invalid_rule_set_is_not_evaluated() -> None:
    with pytest.raises(InvalidRuleSet) as raised:
        evaluate_rule_set(one_condition({"eval": 1}), {})
    assert raised.value.errors == ("conditions[0].rule: unknown operator 'eval'",)


def test_rules_need_no_django() -> None:
    code = (
        "import sys; import shanyraq.rules.engine, shanyraq.casework.workflow; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- properties ---------------------------------------------------------------------------

PATHS = ["a", "b", "a.0", "a.x", "b.c", "$.a", "", "0", "today", "children"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
    | st.sampled_from(PATHS)
    | st.dates().map(str)
)
operator_names = st.sampled_from([*sorted(OPERATORS), "eval", "", "merge", "__class__"])
rules = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.builds(
            lambda op, args: {op: args}, operator_names, inner | st.lists(inner, max_size=4)
        )
        | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=25,
)
fact_values = st.recursive(
    scalars | st.dates() | st.just(Decimal("1.5")) | st.just(frozenset({1})),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["x", "c", "0"]), inner, max_size=3)
    ),
    max_leaves=10,
)
ARGUMENT_COUNTS = {
    "var": (1, 2), "missing": (1, 3), "==": (2,), "!=": (2,), "<": (2, 3), "<=": (2, 3),
    ">": (2,), ">=": (2,), "and": (1, 3), "or": (1, 3), "!": (1,), "!!": (1,), "if": (3, 5),
    "in": (2,), "+": (1, 3), "-": (1, 2), "*": (1, 3), "/": (2,), "min": (1, 3),
    "max": (1, 3), "cat": (1, 3), "count": (1,), "some": (2,), "all": (2,), "none": (2,),
    "date": (1,), "days_between": (2,), "age": (2,),
}  # fmt: skip


def well_formed(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    def call(op: str) -> st.SearchStrategy[Any]:
        sizes = st.sampled_from(ARGUMENT_COUNTS[op])
        return sizes.flatmap(lambda n: st.lists(inner, min_size=n, max_size=n)).map(
            lambda args: {op: args}
        )

    return st.sampled_from(sorted(ARGUMENT_COUNTS)).flatmap(call) | st.lists(inner, max_size=3)


valid_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(PATHS)
    | st.dates().map(str)
    | st.sampled_from(PATHS).map(lambda path: {"var": path})
)
valid_rules = st.recursive(valid_scalars, well_formed, max_leaves=25).filter(
    lambda rule: validate_rule(rule) == []
)
facts_strategy = st.dictionaries(
    st.sampled_from(["a", "b", "today", "children"]), fact_values, max_size=4
)


@given(rules, facts_strategy)
def test_evaluation_raises_nothing_but_rule_error(rule: Any, facts: dict[str, Any]) -> None:
    with contextlib.suppress(RuleError):
        evaluate(rule, facts)
    problems = validate_rule(rule, path="conditions[0].rule")
    assert all(isinstance(problem, str) for problem in problems)
    if problems:
        with pytest.raises(InvalidRuleSet) as raised:
            evaluate_rule_set(one_condition(rule), facts)
        assert raised.value.errors == tuple(problems)
    else:
        assert evaluate_rule_set(one_condition(rule), facts).outcome in OUTCOMES


@given(valid_rules, facts_strategy)
def test_valid_rules_evaluate_or_raise_rule_error(rule: Any, facts: dict[str, Any]) -> None:
    with contextlib.suppress(RuleError):
        evaluate(rule, facts)
    assert evaluate_rule_set(one_condition(rule), facts).outcome in OUTCOMES


@given(valid_rules, facts_strategy)
def test_evaluation_is_deterministic(rule: Any, facts: dict[str, Any]) -> None:
    first = evaluate_rule_set(one_condition(rule), facts).to_json()
    reordered = dict(reversed(list(facts.items())))
    assert evaluate_rule_set(one_condition(rule), facts).to_json() == first
    again = evaluate_rule_set(one_condition(rule), reordered).to_json()
    assert again["outcome"] == first["outcome"]
    assert again["conditions"][0]["facts_used"] == first["conditions"][0]["facts_used"]


bool_trees = st.recursive(
    st.booleans(),
    lambda inner: (
        st.builds(lambda args: {"and": args}, st.lists(inner, min_size=1, max_size=4))
        | st.builds(lambda args: {"or": args}, st.lists(inner, min_size=1, max_size=4))
        | st.builds(lambda arg: {"!": [arg]}, inner)
    ),
    max_leaves=30,
)


def reference_logic(tree: Any) -> bool:
    if isinstance(tree, bool):
        return tree
    ((op, args),) = tree.items()
    if op == "!":
        return not reference_logic(args[0])
    results = [reference_logic(arg) for arg in args]
    return all(results) if op == "and" else any(results)


@given(bool_trees)
def test_and_or_not_agree_with_python(tree: Any) -> None:
    assume(validate_rule(tree) == [])
    assert evaluate(tree, {}) is reference_logic(tree)


@given(st.lists(st.booleans(), min_size=1))
def test_and_or_are_all_and_any(values: list[bool]) -> None:
    assert evaluate({"and": values}, {}) is all(values)
    assert evaluate({"or": values}, {}) is any(values)


def reference_age(born: datetime.date, on: datetime.date) -> int:
    """Count anniversaries; one that falls on 29 February of a common year is on 1 March."""

    def anniversary(years: int) -> datetime.date:
        try:
            return born.replace(year=born.year + years)
        except ValueError:
            return datetime.date(born.year + years, 3, 1)

    years = 0
    while born.year + years + 1 <= datetime.MAXYEAR and anniversary(years + 1) <= on:
        years += 1
    return years


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31)), st.integers(0, 40_000))
def test_age_agrees_with_counting_anniversaries(born: datetime.date, days: int) -> None:
    on = born + datetime.timedelta(days=days)
    assert evaluate(
        {"age": [{"var": "born"}, {"var": "on"}]}, {"born": born.isoformat(), "on": on}
    ) == reference_age(born, on)


@given(st.dates(), st.dates())
def test_days_between_is_date_subtraction(a: datetime.date, b: datetime.date) -> None:
    assert evaluate({"days_between": [a.isoformat(), {"var": "b"}]}, {"b": b}) == (b - a).days


keys = st.from_regex(r"[a-z]{1,4}", fullmatch=True)


@given(st.dictionaries(keys, st.integers(-2, 2), min_size=1), st.data())
def test_facts_used_are_exactly_the_facts_read(facts: dict[str, int], data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(sorted(facts)), min_size=1, max_size=8))
    result = condition_result({"and": [{"var": key} for key in chosen]}, facts)
    expected: dict[str, int] = {}
    for key in chosen:  # `and` stops at the first false value
        expected.setdefault(key, facts[key])
        if facts[key] == 0:
            break
    assert result.facts_used == expected
    assert list(result.facts_used) == list(expected)
    summed = condition_result({"+": [{"var": key} for key in chosen]}, facts)
    assert summed.facts_used == {key: facts[key] for key in chosen}


@given(st.dictionaries(keys, st.integers(1, 3), max_size=4), st.lists(keys, min_size=1, max_size=5))
def test_absent_facts_are_missing_not_used(facts: dict[str, int], chosen: list[str]) -> None:
    result = condition_result({"+": [{"var": key} for key in chosen]}, facts)
    first_absent = next((key for key in chosen if key not in facts), None)
    if first_absent is None:
        assert result.outcome == "true"
        assert result.missing == ()
    else:
        assert result.outcome == "unknown"
        assert result.missing == (first_absent,)
        before = chosen[: chosen.index(first_absent)]
        assert result.facts_used == {key: facts[key] for key in before}


def test_object_builds_structured_values_from_facts() -> None:
    rule = {
        "object": {
            "iin": {"var": "buyer"},
            "share": "1/1",
            "address": {"object": {"locality": {"cat": ["Аст", "ана"]}}},
        }
    }
    assert validate_rule(rule) == []
    assert evaluate(rule, {"buyer": "900315412348"}) == {
        "iin": "900315412348",
        "share": "1/1",
        "address": {"locality": "Астана"},
    }


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"object": 5}, "rule: 'object' takes an object of names and expressions"),
        ({"object": {}}, "rule: 'object' takes an object of names and expressions"),
        ({"object": {"x": {"eval": 1}}}, "rule.object.x: unknown operator 'eval'"),
    ],
)
def test_object_members_are_checked(rule: object, problem: str) -> None:
    assert validate_rule(rule) == [problem]


def test_object_needs_its_facts() -> None:
    with pytest.raises(MissingFact):
        evaluate({"object": {"iin": {"var": "nobody"}}}, {})
