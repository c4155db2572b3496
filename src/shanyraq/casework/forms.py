"""Application forms: answers checked against the service's form schema, and the prefill.

A form is ``{"schema": <JSON Schema>, "ui": {"steps": [...], "labels": ..., "prefill": ...}}``
(``catalog.form_schema``). Answers arrive as JSON (the API) or as text (the pages): text is
turned into the schema's types first, so "3" is a number where the schema wants one and a
clear message where it cannot be.

``ui.prefill`` maps a field to where the state already knows its value: ``population.<path>``
is the applicant's own population record (``population.registered_address.locality``). Such
fields are shown read-only with their source and are not taken from the applicant.

A field with ``"format": "attachment"`` is answered with the identifier of a file attached to
the application for that field (``casework.attachments``); ``attached`` tells the checks which
files the application has, and an answer naming any other is a problem of its field.

Answers are data, never code: text is kept as typed (pages escape it when they show it), but
what a database or a ledger could not store faithfully (a NUL character, a lone surrogate, a
number beyond what JSON readers keep exact, NaN) is refused here with a message, not left to
fail later.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from shanyraq.core.national_id import is_valid_iin

__all__ = [
    "MAX_ITEMS",
    "MAX_TEXT",
    "answers_problems",
    "attachment_fields",
    "coerce",
    "form_problems",
    "prefill_fields",
    "prefill_values",
    "step_count",
    "step_fields",
    "step_problems",
]

MAX_TEXT = 2000
MAX_ITEMS = 100
MAX_SAFE_INTEGER = 2**53 - 1
# Arrays of objects are the deepest a form allows (catalog.form_schema): deeper is not an answer.
_MAX_DEPTH = 3
_DAY_FIRST = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
# The order an address is read in, whatever order the register's storage keeps its keys in.
_ADDRESS_ORDER = ("region", "district", "locality", "street", "building", "flat")


def _steps(form: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((form.get("ui") or {}).get("steps") or [])


def step_count(form: Mapping[str, Any]) -> int:
    return len(_steps(form))


def step_fields(form: Mapping[str, Any], step: int | None) -> list[str]:
    """The fields of one step of the form (of all steps for None); [] for no such step."""
    steps = _steps(form)
    if step is None:
        return [f for s in steps for f in s.get("fields", [])]
    if not 0 <= step < len(steps):
        return []
    return list(steps[step].get("fields", []))


def _properties(form: Mapping[str, Any]) -> dict[str, Any]:
    return dict((form.get("schema") or {}).get("properties") or {})


def _number(text: str, kind: str) -> Any:
    """``text`` as a number (a comma or a dot for decimals, spaces between thousands)."""
    compact = text.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if kind == "integer" and re.fullmatch(r"[+-]?\d+", compact):
        return int(compact)
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", compact):
        return text
    number = float(compact)
    if kind == "integer" and number.is_integer() and math.isfinite(number):
        return int(number)
    return number


def _date(text: str) -> str:
    """A date typed the Kazakh way (31.03.2026) as the ISO date the schema checks."""
    match = _DAY_FIRST.fullmatch(text)
    if match is None:
        return text
    day, month, year = (int(part) for part in match.groups())
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return text


def coerce(spec: Mapping[str, Any], value: Any) -> Any:
    """A value from a web form (text) as the schema's type; other values as they are.

    Empty text is None: the field was left blank.
    """
    kind = spec.get("type")
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        if kind in {"integer", "number"}:
            return _number(text, str(kind))
        if kind == "boolean":
            lowered = text.lower()
            if lowered in {"true", "on", "yes", "1"}:
                return True
            if lowered in {"false", "off", "no", "0"}:
                return False
            return value
        if spec.get("format") == "date":
            return _date(text)
        return text
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
    if kind == "minItems":
        return _("Choose at least %(n)s.") % {"n": limit}
    if kind == "maxItems":
        return _("Choose at most %(n)s.") % {"n": limit}
    if kind == "uniqueItems":
        return _("Choose each option only once.")
    if kind == "additionalProperties":
        return _("Unknown fields are not allowed.")
    return _("The value is not valid.")


def _field_of(error: Any) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and "'" in str(error.message):
        path.append(str(error.message).split("'")[1])
    return ".".join(path) or "$"


Problems = dict[str, str]  # field -> the first problem found with it


def _add(found: Problems, field: str, message: str) -> None:
    found.setdefault(field, message)


@lru_cache(maxsize=256)
def _validator_for(schema_json: str) -> Draft202012Validator:
    """One validator per schema text: building one costs more than checking a form with it."""
    return Draft202012Validator(
        json.loads(schema_json), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    return _validator_for(json.dumps(schema, sort_keys=True))


def _schema_problems(schema: Mapping[str, Any], data: Mapping[str, Any], found: Problems) -> None:
    validator = _validator(schema)
    for error in sorted(validator.iter_errors(dict(data)), key=_field_of):
        _add(found, _field_of(error), _message(error))


def _iin_problems(properties: Mapping[str, Any], data: Mapping[str, Any], found: Problems) -> None:
    """Fields named ``*iin`` hold IINs: their control digit is checked too."""
    for name, value in data.items():
        if (
            name.endswith("iin")
            and isinstance(value, str)
            and name in properties
            and not is_valid_iin(value)
        ):
            _add(found, name, _("Enter a valid 12-digit IIN."))


def attachment_fields(form: Mapping[str, Any]) -> list[str]:
    """The fields answered with an attached file."""
    return [
        name
        for name, spec in _properties(form).items()
        if isinstance(spec, Mapping) and spec.get("format") == "attachment"
    ]


def _attachment_problems(
    form: Mapping[str, Any],
    data: Mapping[str, Any],
    attached: Mapping[str, str] | None,
    found: Problems,
) -> None:
    """An attachment field's answer must name a file attached to this application for that
    field (``attached``: file identifier -> field)."""
    for name in attachment_fields(form):
        value = data.get(name)
        if value is not None and (
            not isinstance(value, str) or (attached or {}).get(value) != name
        ):
            _add(found, name, _("This file is not attached to this application."))


def _value_problem(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` cannot be kept as an answer at all, whatever the schema says."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            return _("At most %(n)s characters.") % {"n": MAX_TEXT}
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            return _("The value is not valid.")
        return None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if abs(value) <= MAX_SAFE_INTEGER else _("This number is too large.")
    if isinstance(value, float):
        if not math.isfinite(value):
            return _("Enter a number.")
        return None if abs(value) <= MAX_SAFE_INTEGER else _("This number is too large.")
    if isinstance(value, list | dict) and depth < _MAX_DEPTH:
        if len(value) > MAX_ITEMS:
            return _("Choose at most %(n)s.") % {"n": MAX_ITEMS}
        if isinstance(value, dict) and not all(isinstance(key, str) for key in value):
            return _("The value is not valid.")
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            problem = _value_problem(item, depth + 1)
            if problem is not None:
                return problem
        return None
    return _("The value is not valid.")


def _sub_schema(form: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    schema = dict(form.get("schema") or {})
    properties = _properties(form)
    return {
        "type": "object",
        "properties": {f: properties[f] for f in fields if f in properties},
        "required": [r for r in schema.get("required", []) if r in fields],
        "additionalProperties": False,
    }


def _listed(form: Mapping[str, Any], found: Problems) -> list[dict[str, str]]:
    """The problems in the order the form asks its fields, then any about unknown fields."""
    position = {name: index for index, name in enumerate(step_fields(form, None))}

    def place(field: str) -> tuple[int, str]:
        return position.get(field.split(".")[0], len(position)), field

    return [{"field": field, "message": found[field]} for field in sorted(found, key=place)]


def _field_problems(
    form: Mapping[str, Any],
    values: Mapping[str, Any],
    step: int | None,
    prefilled: Mapping[str, Any],
) -> tuple[Problems, dict[str, Any], list[str]]:
    """What is wrong with the answers to one step (all for None) field by field, before the
    schema: unknown fields, fields of another step, a changed register value, values no form
    could hold. Returns the problems, the cleaned answers and the step's fields to answer."""
    properties = _properties(form)
    step_names = step_fields(form, step)
    fields = [f for f in step_names if f not in prefilled]
    found: Problems = {}
    cleaned: dict[str, Any] = {}
    for name, raw in values.items():
        if not isinstance(name, str) or name not in properties:
            _add(found, str(name)[:100], _("Unknown fields are not allowed."))
        elif name not in step_names:
            _add(found, name, _("This field is not on this step of the form."))
        elif name in prefilled:
            value = coerce(properties[name], raw)
            if value is not None and value != prefilled[name].get("value"):
                _add(
                    found,
                    name,
                    _("This value comes from a state register and cannot be changed here."),
                )
        else:
            value = coerce(properties[name], raw)
            problem = _value_problem(value)
            if problem is not None:
                _add(found, name, problem)
            elif value is not None and value != []:
                cleaned[name] = value
    for name in fields:
        if name not in values and (properties.get(name) or {}).get("type") == "boolean":
            cleaned[name] = False  # an unticked box sends nothing
    return found, cleaned, fields


def step_problems(
    form: Mapping[str, Any],
    values: Mapping[str, Any],
    step: int | None,
    prefilled: Mapping[str, Any],
    attached: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The problems with the answers to one step (all steps for None) and the cleaned answers.

    ``values`` are the answers to that step: a field of the step that is absent or blank has
    no answer (a checkbox left unticked is False). Every problem is listed, one per field:
    fields the form does not have, fields of another step, a change to a field the registers
    filled in, values no form could hold, files not attached to the application (``attached``:
    file identifier -> field), and whatever the schema says. The cleaned answers are only worth
    keeping when there is no problem.
    """
    found, cleaned, fields = _field_problems(form, values, step, prefilled)
    checked = {name: value for name, value in cleaned.items() if name not in found}
    _schema_problems(_sub_schema(form, fields), checked, found)
    _iin_problems(_properties(form), checked, found)
    _attachment_problems(form, checked, attached, found)
    return _listed(form, found), cleaned


def form_problems(
    form: Mapping[str, Any], values: Mapping[str, Any], prefilled: Mapping[str, Any]
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The problems with a whole form answered at once, and the cleaned answers.

    What ``step_problems`` of every step and then ``answers_problems`` of the result would
    find (a form answered at once has no attached files yet), with the schema checked once,
    over the answers and the registers' values together.
    """
    found, cleaned, _fields = _field_problems(form, values, None, prefilled)
    whole = {name: item.get("value") for name, item in prefilled.items()}
    whole.update((name, value) for name, value in cleaned.items() if name not in found)
    _schema_problems(dict(form.get("schema") or {}), whole, found)
    _iin_problems(_properties(form), whole, found)
    _attachment_problems(form, whole, None, found)
    return _listed(form, found), cleaned


def answers_problems(
    form: Mapping[str, Any],
    answers: Mapping[str, Any],
    attached: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """Every problem with a whole application's answers, against the whole schema (and the
    files attached to it: ``attached``, file identifier -> field)."""
    found: Problems = {}
    _schema_problems(dict(form.get("schema") or {}), answers, found)
    _iin_problems(_properties(form), answers, found)
    _attachment_problems(form, answers, attached, found)
    return _listed(form, found)


def _at_path(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def prefill_fields(form: Mapping[str, Any]) -> list[str]:
    """The fields of the applicant's population record the form's prefill reads."""
    prefill = (form.get("ui") or {}).get("prefill") or {}
    found = []
    for path in prefill.values():
        parts = str(path).split(".")
        if parts[0] == "population" and len(parts) > 1 and parts[1] not in found:
            found.append(parts[1])
    return found


def _as_text(value: Mapping[str, Any]) -> str:
    """An object from a register (an address) as one line, its parts in a fixed order."""
    order = [k for k in _ADDRESS_ORDER if k in value] + sorted(
        k for k in value if k not in _ADDRESS_ORDER
    )
    return ", ".join(str(value[k]) for k in order if value[k] not in (None, "", [], {}))


def prefill_values(form: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the registers can fill in: ``{field: {"value": ..., "source": path}}``.

    Only values the field's schema accepts are used, so a register and a form that disagree
    leave the field for the applicant instead of failing the submission.
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
        spec = properties[field]
        if isinstance(value, Mapping) and spec.get("type") == "string":
            value = _as_text(value)
        if value is None or value == "" or _value_problem(value) is not None:
            continue
        if not _validator(spec).is_valid(value) or (
            field.endswith("iin") and isinstance(value, str) and not is_valid_iin(value)
        ):
            continue
        found[field] = {"value": value, "source": str(path)}
    return found
