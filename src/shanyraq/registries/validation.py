"""Checking record data against its register's JSON Schema, with messages people can read.

Two validators see each schema. ``jsonschema`` is the reference: it knows all of draft 2020-12
and reports every problem, which the messages below put into words. Loading a register writes
hundreds of thousands of valid records, and for those only a yes is needed: a schema that uses
nothing but the keywords listed in ``FAST_KEYWORDS`` (whose meaning is the same in every draft)
is also compiled with ``fastjsonschema`` into plain Python, about ten times faster. A record the
compiled validator accepts is accepted; anything it refuses is handed to the reference, whose
verdict stands. Schemas using other keywords are checked by the reference alone.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import fastjsonschema
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from shanyraq.core.national_id import is_valid_bin, is_valid_iin

# Custom formats the registers use, checked with the official control digits.
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


@FORMAT_CHECKER.checks("iin")
def _iin(value: object) -> bool:
    return not isinstance(value, str) or is_valid_iin(value)


@FORMAT_CHECKER.checks("bin")
def _bin(value: object) -> bool:
    return not isinstance(value, str) or is_valid_bin(value)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_date(value: object) -> bool:
    """The reference's ``date``: ``YYYY-MM-DD`` in ASCII digits naming a real day."""
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


FAST_FORMATS: dict[str, Callable[[object], bool]] = {"date": _is_date, "iin": _iin, "bin": _bin}
# Keywords with one meaning in drafts 7 and 2020-12, whose subschemas are found below.
FAST_KEYWORDS = frozenset(
    {
        "$schema", "$defs", "$ref", "title", "description", "type", "enum", "const",
        "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
        "uniqueItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "oneOf", "anyOf", "allOf", "not",
    }
)  # fmt: skip


def _fast_compatible(schema: object, at_root: bool = True) -> bool:
    """Whether the compiled validator means exactly what the reference means by ``schema``."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    for keyword, value in schema.items():
        if keyword.startswith("x-"):
            continue  # the platform's own annotations (labels)
        if keyword not in FAST_KEYWORDS:
            return False
        if keyword == "$schema" and not at_root:
            return False
        if keyword == "$ref" and not (isinstance(value, str) and value.startswith("#/$defs/")):
            return False
        if keyword == "format" and value not in FAST_FORMATS:
            return False
        if keyword == "items" and not isinstance(value, dict | bool):
            return False  # the array form means different things in the two drafts
        subschemas: list[object] = []
        if keyword in {"properties", "$defs"} and isinstance(value, dict):
            subschemas = list(value.values())
        elif keyword in {"oneOf", "anyOf", "allOf"} and isinstance(value, list):
            subschemas = value
        elif keyword in {"items", "not", "additionalProperties"}:
            subschemas = [value]
        if not all(_fast_compatible(sub, at_root=False) for sub in subschemas):
            return False
    return True


@lru_cache(maxsize=64)
def _fast_validator(schema_json: str) -> Callable[[Any], Any] | None:
    schema = json.loads(schema_json)
    if not _fast_compatible(schema):
        return None
    compiled: Callable[[Any], Any] = fastjsonschema.compile(
        schema, formats=FAST_FORMATS, use_default=False, use_formats=True
    )
    return compiled


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def _path(error: SchemaError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.message, str):
        missing = error.message.split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    return ".".join(parts) or "$"


def _message(error: SchemaError) -> str:
    kind, limit = error.validator, error.validator_value
    if kind == "required":
        return _("This field is required.")
    if kind == "type":
        return _("Expected a value of type %(type)s.") % {"type": limit}
    if kind == "enum":
        return _("Choose one of: %(values)s.") % {"values": ", ".join(map(str, limit))}
    if kind == "format":
        names = {"iin": _("an IIN"), "bin": _("a BIN"), "date": _("a date (YYYY-MM-DD)")}
        return _("Expected %(what)s.") % {"what": names.get(str(limit), str(limit))}
    if kind == "pattern":
        return _("The value does not have the expected form.")
    if kind in {"maxLength", "maxItems"}:
        return _("At most %(n)s allowed.") % {"n": limit}
    if kind in {"minLength", "minItems"}:
        return _("At least %(n)s needed.") % {"n": limit}
    if kind == "minimum":
        return _("Must be at least %(n)s.") % {"n": limit}
    if kind == "maximum":
        return _("Must be at most %(n)s.") % {"n": limit}
    if kind == "exclusiveMinimum":
        return _("Must be more than %(n)s.") % {"n": limit}
    if kind == "exclusiveMaximum":
        return _("Must be less than %(n)s.") % {"n": limit}
    if kind == "uniqueItems":
        return _("The items must all differ.")
    if kind == "oneOf":
        return _("Give exactly one of the alternatives (an IIN or a BIN, not both).")
    if kind == "additionalProperties":
        return _("Unknown fields are not allowed.")
    return _("The value is not valid.")


def schema_problems(schema_json: str, data: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every problem with ``data``, as ``{"field": "owners.0.iin", "message": ...}``, sorted."""
    fast = _fast_validator(schema_json)
    if fast is not None:
        try:
            fast(data)
        except fastjsonschema.JsonSchemaException:
            pass  # the reference says what is wrong, or overrules
        else:
            return []
    errors = sorted(_validator(schema_json).iter_errors(dict(data)), key=_path)
    return [{"field": _path(e), "message": _message(e)} for e in errors]
