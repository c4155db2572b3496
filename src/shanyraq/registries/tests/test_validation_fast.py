"""The compiled validator never accepts what the reference refuses, on the platform's schemas."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shanyraq.registries import generator
from shanyraq.registries.definitions import register_definitions
from shanyraq.registries.validation import (
    _fast_compatible,
    _fast_validator,
    _is_date,
    _validator,
    schema_problems,
)

DEFINITIONS = {d["code"]: d for d in register_definitions()}
SCHEMAS = {code: json.dumps(d["schema"], sort_keys=True) for code, d in DEFINITIONS.items()}
SAMPLES: dict[str, list[dict[str, Any]]] = {code: [] for code in DEFINITIONS}
for _code, _data in generator.records(60, seed=7):
    SAMPLES[_code].append(_data)

# Values that break one rule or another: wrong types, bad dates and identifiers, huge texts.
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    10**20,
    "",
    " ",
    "x" * 5000,
    "2023-02-30",
    "2023-2-3",
    "２０２３-01-01",
    "900315412349",
    "900315412348",
    "<script>alert(1)</script>",
    [],
    [None],
    {},
    {"unexpected": 1},
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _mutated(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``data`` with one value replaced, one key dropped or one key added, somewhere."""
    copied = copy.deepcopy(data)
    path = rng.choice(_paths(copied))
    parent: Any = copied
    for step in path[:-1]:
        parent = parent[step]
    action = rng.randrange(3)
    if action == 0 or isinstance(parent, list):
        parent[path[-1]] = rng.choice(ODD_VALUES)
    elif action == 1:
        del parent[path[-1]]
    else:
        parent[f"extra_{rng.randrange(9)}"] = rng.choice(ODD_VALUES)
    return copied


def _verdicts(code: str, data: Any) -> tuple[bool, bool]:
    schema_json = SCHEMAS[code]
    fast = _fast_validator(schema_json)
    assert fast is not None
    try:
        fast(data)
        fast_ok = True
    except Exception:
        fast_ok = False
    reference_ok = not any(True for _ in _validator(schema_json).iter_errors(data))
    return fast_ok, reference_ok


@pytest.mark.parametrize("code", sorted(DEFINITIONS))
def test_the_platform_schemas_are_compiled(code: str) -> None:
    assert _fast_compatible(DEFINITIONS[code]["schema"])


@pytest.mark.parametrize("code", sorted(DEFINITIONS))
def test_both_validators_accept_generated_records(code: str) -> None:
    assert SAMPLES[code], "the generator makes records of every register"
    for data in SAMPLES[code]:
        assert _verdicts(code, data) == (True, True)


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), code=st.sampled_from(sorted(SAMPLES)))
def test_validators_agree_on_mutated_records(seed: int, code: str) -> None:
    rng = random.Random(seed)
    data = _mutated(rng.choice(SAMPLES[code]), rng)
    fast_ok, reference_ok = _verdicts(code, data)
    assert fast_ok == reference_ok, data


def test_problems_still_come_from_the_reference() -> None:
    data = copy.deepcopy(SAMPLES["population"][0])
    data["birth_date"] = "2023-02-30"
    problems = schema_problems(SCHEMAS["population"], data)
    assert [p["field"] for p in problems] == ["birth_date"]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": [{"type": "string"}]},
        {"type": "object", "unevaluatedProperties": False},
        {"type": "object", "properties": {"a": {"$ref": "https://example.org/s.json"}}},
        {"type": "string", "format": "email"},
        {"type": "object", "properties": {"a": {"dependentRequired": {"a": ["b"]}}}},
    ],
)
def test_schemas_with_other_keywords_use_the_reference_alone(schema: dict[str, Any]) -> None:
    assert not _fast_compatible(schema)
    assert _fast_validator(json.dumps(schema)) is None


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2024-02-29", True),
        ("2023-02-29", False),
        ("2023-13-01", False),
        ("20230101", False),
        ("2023-01-01\n", False),
        ("２０２３-01-01", False),
        (5, True),  # not a string: a type rule's business, as in the reference
    ],
)
def test_date_format(value: object, valid: bool) -> None:
    assert _is_date(value) is valid
