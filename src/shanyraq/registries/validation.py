"""Checking record data against its register's JSON Schema, with messages people can read."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

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


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Draft202012Validator:
    import json

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
    errors = sorted(_validator(schema_json).iter_errors(dict(data)), key=_path)
    return [{"field": _path(e), "message": _message(e)} for e in errors]
