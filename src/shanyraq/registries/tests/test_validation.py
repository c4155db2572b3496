from __future__ import annotations

import json

import pytest

from shanyraq.registries.validation import schema_problems

SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {
            "area_m2": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100000},
            "codes": {"type": "array", "uniqueItems": True},
            "owner": {
                "oneOf": [
                    {"type": "object", "required": ["iin"]},
                    {"type": "object", "required": ["bin"]},
                ]
            },
        },
    },
    sort_keys=True,
)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"area_m2": 0}, "area_m2", "Must be more than 0."),
        ({"area_m2": 100000}, "area_m2", "Must be less than 100000."),
        ({"codes": ["01", "01"]}, "codes", "The items must all differ."),
        (
            {"owner": {"iin": "x", "bin": "y"}},
            "owner",
            "Give exactly one of the alternatives (an IIN or a BIN, not both).",
        ),
    ],
)
def test_messages_name_the_rule(data, field, message):
    assert schema_problems(SCHEMA, data) == [{"field": field, "message": message}]
