"""Application forms: answers checked against the service's form schema, and the prefill.

A form is ``{"schema": <JSON Schema>, "ui": {"steps": [...], "labels": ..., "prefill": ...}}``
(``catalog.form_schema``). Answers arrive as JSON (the API) or as text (the pages): text is
turned into the schema's types first, so "3" is a number where the schema wants one and a
clear message where it cannot be.

``ui.prefill`` maps a field to where the state already knows its value: ``population.<path>``
is the applicant's own population record (``population.registered_address.locality``). Such
fields are shown read-only with their source and are not taken from the applicant.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from shanyraq.core.national_id import is_valid_iin

__all__ = ["answers_problems", "coerce", "prefill_values", "step_fields", "step_problems"]

MAX_TEXT = 2000


def step_fields(form: Mapping[str, Any], step: int | None) -> list[str]:
    steps = (form.get("ui") or {}).get("steps") or []
    if step is None:
        return [f for s in steps for f in s.get("fields", [])]
    if not 0 <= step < len(steps):
        return []
    return list(steps[step].get("fields", []))


def _properties(form: Mapping[str, Any]) -> dict[str, Any]:
    return dict((form.get("schema") or {}).get("properties") or {})


def coerce(spec: Mapping[str, Any], value: Any) -> Any:
    """A value from a web form (text) as the schema's type; other values as they are."""
    kind = spec.get("type")
    if isinstance(value, str):
        text = value.strip()
        if kind in {"integer", "number"}:
            if text == "":
                return None
            try:
                number = float(text.replace(",", ".").replace(" ", ""))
            except ValueError:
                return value
            if kind == "integer" and number.is_integer():
                return int(number)
            return number
        if kind == "boolean":
            if text in {"true", "on", "yes", "1"}:
                return True
            if text in {"false", "off", "no", "0", ""}:
                return False
            return value
        return None if text == "" else text
    if kind == "array" and isinstance(value, list):
        items = spec.get("items") or {}
        return [coerce(items, item) for item in value if item not in ("", None)]
    return value


def _message(error: Any) -> str:
    kind, limit = error.validator, error.validator_value
    if kind == "required":
        return _("This field is required.")
    if kind == "type":
        return {
            "integer": _("Enter a whole number."),
            "number": _("Enter a number."),
            "boolean": _("Choose yes or no."),
        }.get(str(limit), _("Enter a value of the right kind."))
    if kind == "enum":
        return _("Choose one of the options.")
    if kind == "format":
        return (
            _("Enter a date, for example 31.03.2026.")
            if limit == "date"
            else _("Enter an email address, for example name@example.kz.")
        )
    if kind == "pattern":
        return _("The value does not have the expected form.")
    if kind == "maxLength":
        return _("At most %(n)s characters.") % {"n": limit}
    if kind == "minLength":
        return (
            _("This field is required.")
            if limit == 1
            else _("At least %(n)s characters.") % {"n": limit}
        )
    if kind == "minimum":
        return _("Must be at least %(n)s.") % {"n": limit}
    if kind == "maximum":
        return _("Must be at most %(n)s.") % {"n": limit}
    if kind in {"maxItems", "minItems"}:
        return _("Choose between %(a)s and %(b)s.") % {"a": "", "b": limit}
    if kind == "additionalProperties":
        return _("Unknown fields are not allowed.")
    return _("The value is not valid.")


def _field_of(error: Any) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and "'" in str(error.message):
        path.append(str(error.message).split("'")[1])
    return ".".join(path) or "$"


def _problems(schema: Mapping[str, Any], data: Mapping[str, Any]) -> list[dict[str, str]]:
    validator = Draft202012Validator(
        dict(schema), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    found: dict[str, str] = {}
    for error in sorted(validator.iter_errors(dict(data)), key=_field_of):
        found.setdefault(_field_of(error), _message(error))
    return [{"field": field, "message": message} for field, message in found.items()]


def _iin_problems(properties: Mapping[str, Any], data: Mapping[str, Any]) -> list[dict[str, str]]:
    """Fields named ``*_iin`` hold IINs: their control digit is checked too."""
    return [
        {"field": name, "message": _("Enter a valid 12-digit IIN.")}
        for name, value in data.items()
        if name.endswith("iin")
        and isinstance(value, str)
        and name in properties
        and not is_valid_iin(value)
    ]


def _sub_schema(form: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    schema = dict(form.get("schema") or {})
    properties = _properties(form)
    return {
        "type": "object",
        "properties": {f: properties[f] for f in fields if f in properties},
        "required": [r for r in schema.get("required", []) if r in fields],
        "additionalProperties": False,
    }


def step_problems(
    form: Mapping[str, Any],
    values: Mapping[str, Any],
    step: int | None,
    prefilled: Mapping[str, Any],
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The problems with the answers to one step (all steps for None) and the cleaned answers.

    Fields the registers filled in are not taken from ``values``; unknown fields are refused.
    """
    fields = [f for f in step_fields(form, step) if f not in prefilled]
    properties = _properties(form)
    unknown = sorted(set(values) - set(properties))
    if unknown:
        return [
            {"field": name, "message": _("Unknown fields are not allowed.")} for name in unknown
        ], {}
    cleaned: dict[str, Any] = {}
    for name in fields:
        if name in values:
            value = coerce(properties.get(name) or {}, values[name])
            if value is not None:
                cleaned[name] = value
        elif (properties.get(name) or {}).get("type") == "boolean":
            cleaned[name] = False  # an unticked box sends nothing
    for name, value in cleaned.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            return [
                {"field": name, "message": _("At most %(n)s characters.") % {"n": MAX_TEXT}}
            ], {}
    problems = _problems(_sub_schema(form, fields), cleaned) + _iin_problems(properties, cleaned)
    return problems, cleaned


def answers_problems(form: Mapping[str, Any], answers: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every problem with a whole application's answers, against the whole schema."""
    properties = _properties(form)
    return _problems(dict(form.get("schema") or {}), answers) + _iin_problems(properties, answers)


def _at_path(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def prefill_values(form: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the registers can fill in: ``{field: {"value": ..., "source": path}}``.

    Only values of the schema's type are used, so a register and a form that disagree leave
    the field for the applicant instead of failing the submission.
    """
    prefill = (form.get("ui") or {}).get("prefill") or {}
    properties = _properties(form)
    person = facts.get("person")
    found: dict[str, Any] = {}
    for field, path in prefill.items():
        parts = str(path).split(".")
        if parts[0] != "population" or field not in properties:
            continue
        value = _at_path(person, parts[1:]) if isinstance(person, Mapping) else None
        if value is None or value == "":
            continue
        spec = properties[field]
        expected = spec.get("type")
        if expected == "string" and not isinstance(value, str):
            if isinstance(value, Mapping):
                value = ", ".join(str(v) for v in value.values() if v not in (None, ""))
            else:
                continue
        if expected == "string" and spec.get("format") == "date":
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                continue
        if expected in {"integer", "number"} and not isinstance(value, int | float):
            continue
        if "enum" in spec and value not in spec["enum"]:
            continue
        found[field] = {"value": value, "source": str(path)}
    return found
