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
import numbers
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

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
    "schema_key",
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
# A lone surrogate: text that no database or JSON reader keeps faithfully.
_SURROGATE = re.compile("[\ud800-\udfff]")
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


def _schema_text(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=256)
def _validator_for(schema_json: str) -> Draft202012Validator:
    """One validator per schema text: building one costs more than checking a form with it."""
    return Draft202012Validator(
        json.loads(schema_json), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    return _validator_for(_schema_text(schema))


# What a form's schema may say at its top for the quick check to stand for the validator.
_QUICK_TOP = frozenset(
    {"type", "properties", "required", "additionalProperties", "title", "description", "$schema"}
)
# What a field of one plain type may say to be checked here rather than by a validator.
_SCALAR_KEYWORDS = frozenset(
    {"type", "enum", "minLength", "maxLength", "pattern", "format", "minimum", "maximum"}
    | {"title", "description"}
)
_FORMATS = Draft202012Validator.FORMAT_CHECKER


def _is_number(value: Any) -> bool:
    """Draft 2020-12's number: any number but a boolean (the validator's own test)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


# The draft's types of one value: ``integer`` takes a float without a fraction too.
_SCALAR_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "number": _is_number,
    "integer": lambda value: (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
    ),
}


def _is_limit(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _ScalarField:
    """A field of one plain type (text, a number, yes or no) with the usual limits, checked
    as the validator checks each of these keywords; an ``enum`` is met here only by a value
    of the same type that is equal (the validator's equality also finds ``1.0`` in ``[1]``,
    which is then left to it)."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.is_type = _SCALAR_TYPES[spec["type"]]
        self.enum: list[Any] | None = spec.get("enum")
        self.min_length = spec.get("minLength")
        self.max_length = spec.get("maxLength")
        self.pattern = re.compile(spec["pattern"]) if "pattern" in spec else None
        self.format: str | None = spec.get("format")
        self.minimum = spec.get("minimum")
        self.maximum = spec.get("maximum")

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> _ScalarField | None:
        """The check of ``spec``, or None when it says more than this class knows."""
        if (
            not set(spec) <= _SCALAR_KEYWORDS
            or spec.get("type") not in _SCALAR_TYPES
            or not isinstance(spec.get("enum", []), list)
            or not all(_is_limit(spec.get(k, 0)) for k in ("minLength", "maxLength"))
            or not all(_is_limit(spec.get(k, 0)) for k in ("minimum", "maximum"))
            or not isinstance(spec.get("pattern", ""), str)
            or not isinstance(spec.get("format", ""), str)
        ):
            return None
        try:
            return cls(spec)
        except re.error:
            return None

    def accepts(self, value: Any) -> bool:
        if not self.is_type(value):
            return False
        if self.enum is not None and not any(
            type(item) is type(value) and item == value for item in self.enum
        ):
            return False
        if isinstance(value, str):
            if self.min_length is not None and len(value) < self.min_length:
                return False
            if self.max_length is not None and len(value) > self.max_length:
                return False
            if self.pattern is not None and not self.pattern.search(value):
                return False
        if self.format is not None and not _FORMATS.conforms(value, self.format):
            return False
        if _is_number(value):
            if self.minimum is not None and value < self.minimum:
                return False
            if self.maximum is not None and value > self.maximum:
                return False
        return True


class _ValidatedField:
    """Any other field: its own validator, built once, as the validator's descent into the
    field would build it."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        # The class from the field's ``$schema`` if it had one (it has none: see
        # ``_quick_check_for``), with the form's format checker.
        kind = validator_for(spec, default=Draft202012Validator)
        self.validator = kind(spec, format_checker=_FORMATS)

    def accepts(self, value: Any) -> bool:
        return next(self.validator.iter_errors(value), None) is None


class _QuickCheck:
    """A yes for answers that the schema accepts, in a fraction of the validator's time.

    The validator descends into each field by building a validator for the field's schema,
    which costs more than checking the field. Here each field's check is made once: plain
    fields are checked keyword by keyword as the validator would, others by a validator of
    their own; the top of the schema (an object, its required fields, no others when so
    declared) is checked directly. A no (or a form this cannot vouch for) is a reason to ask
    the validator, whose problems are the answer: the quick check decides nothing else.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        properties = schema.get("properties") or {}
        self.required = list(schema.get("required") or [])
        self.closed = schema.get("additionalProperties") is False
        self.fields: dict[str, _ScalarField | _ValidatedField] = {
            name: _ScalarField.of(spec) or _ValidatedField(spec)
            for name, spec in properties.items()
        }

    def accepts(self, data: Mapping[str, Any]) -> bool:
        if not isinstance(data, dict) or any(name not in data for name in self.required):
            return False
        for name, value in data.items():
            field = self.fields.get(name)
            if field is None:
                if self.closed:
                    return False
            elif not field.accepts(value):
                return False
        return True


def _has_keywords_of_references(value: Any) -> bool:
    """Whether ``value`` (a field's schema) has a ``$``-keyword (``$ref``, ``$id``, a field's
    own ``$schema``...): with those a field's meaning depends on more than its schema."""
    if isinstance(value, Mapping):
        return any(
            str(key).startswith("$") or _has_keywords_of_references(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_keywords_of_references(item) for item in value)
    return False


@lru_cache(maxsize=256)
def _quick_check_for(schema_json: str) -> _QuickCheck | None:
    schema = json.loads(schema_json)
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if (
        not isinstance(properties, dict)
        or not set(schema) <= _QUICK_TOP
        or schema.get("type") != "object"
        or not isinstance(schema.get("additionalProperties", True), bool)
        or not isinstance(schema.get("required", []), list)
        or not all(isinstance(spec, dict) for spec in properties.values())
        or _has_keywords_of_references(properties)
    ):
        return None
    return _QuickCheck(schema)


def schema_key(form: Mapping[str, Any]) -> str:
    """What names the form's schema among the checks kept in memory: a caller that keeps a
    form unchanged in memory may work it out once and give it to ``form_problems``."""
    return _schema_text(dict(form.get("schema") or {}))


def _schema_problems(
    schema: Mapping[str, Any],
    data: Mapping[str, Any],
    found: Problems,
    text: str | None = None,
) -> None:
    text = text or _schema_text(schema)
    quick = _quick_check_for(text)
    if quick is not None and quick.accepts(data):
        return
    validator = _validator_for(text)
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
        if "\x00" in value or _SURROGATE.search(value):
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
    form: Mapping[str, Any],
    values: Mapping[str, Any],
    prefilled: Mapping[str, Any],
    *,
    key: str | None = None,
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The problems with a whole form answered at once, and the cleaned answers.

    What ``step_problems`` of every step and then ``answers_problems`` of the result would
    find (a form answered at once has no attached files yet), with the schema checked once,
    over the answers and the registers' values together. ``key`` is the form's
    ``schema_key``, when the caller has it.
    """
    found, cleaned, _fields = _field_problems(form, values, None, prefilled)
    whole = {name: item.get("value") for name, item in prefilled.items()}
    whole.update((name, value) for name, value in cleaned.items() if name not in found)
    _schema_problems(dict(form.get("schema") or {}), whole, found, key)
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
