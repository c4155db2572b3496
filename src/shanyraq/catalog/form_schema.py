"""Validation of a service's application form definition.

A form is ``{"schema": <JSON Schema object>, "ui": {...}}``. The schema says what data is
valid; ``ui`` says how to ask for it: steps (each property in exactly one), labels and optional
help in the three languages, labels for enumerated values, and which fields the state already
knows (``prefill``: a register path). Only a small, safe subset of JSON Schema is accepted, so
that every form can be rendered and validated on the server without surprises.

A field that asks for a file is ``{"type": "string", "format": "attachment"}`` at the top of
the form (its answer is the attached file's identifier); ``ui.attachments.<field>`` may narrow
what it takes: ``{"accept": ["application/pdf"], "max_bytes": 5000000}``, within the supported
types and the platform's ``ATTACHMENT_MAX_BYTES``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from shanyraq.core.text import LANGUAGES

ALLOWED_TYPES = {"string", "number", "integer", "boolean", "array", "object"}
ALLOWED_KEYWORDS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "format",
    "items",
    "title",
    "description",
    "$schema",
    "uniqueItems",
    "minItems",
    "maxItems",
}
ALLOWED_FORMATS = {"date", "email", "attachment"}
# The file types a form may accept (the same as ``core.files.SUPPORTED_TYPES``).
ATTACHMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
ATTACHMENT_LIMITS = {"accept", "max_bytes"}
MAX_FIELDS = 60


class FormDefinitionError(ValueError):
    """The form definition is not acceptable; ``problems`` lists each reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _check_text(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict) or set(value) != set(LANGUAGES):
        problems.append(f"{where}: needs exactly the keys kk, ru, en")
        return
    for lang in LANGUAGES:
        if not isinstance(value[lang], str) or not value[lang].strip():
            problems.append(f"{where}.{lang}: must be non-empty text")


def _check_property(name: str, prop: Any, problems: list[str], depth: int) -> None:
    where = f"schema.properties.{name}"
    if not isinstance(prop, dict):
        problems.append(f"{where}: must be an object")
        return
    unknown = set(prop) - ALLOWED_KEYWORDS
    if unknown:
        problems.append(f"{where}: unsupported keywords {sorted(unknown)}")
    kind = prop.get("type")
    if kind not in ALLOWED_TYPES:
        problems.append(f"{where}.type: must be one of {sorted(ALLOWED_TYPES)}")
    if "format" in prop and prop["format"] not in ALLOWED_FORMATS:
        problems.append(f"{where}.format: must be one of {sorted(ALLOWED_FORMATS)}")
    if prop.get("format") == "attachment" and (kind != "string" or depth > 0):
        problems.append(f"{where}: an attachment is a string field at the top of the form")
    if "enum" in prop and (not isinstance(prop["enum"], list) or not prop["enum"]):
        problems.append(f"{where}.enum: must be a non-empty list")
    if kind == "object":
        if depth >= 1:
            problems.append(f"{where}: objects may be nested one level only")
        for sub_name, sub in (prop.get("properties") or {}).items():
            _check_property(f"{name}.{sub_name}", sub, problems, depth + 1)
    if kind == "array":
        items = prop.get("items")
        if not isinstance(items, dict):
            problems.append(f"{where}.items: must be an object")
        else:
            _check_property(f"{name}[]", items, problems, depth + 1)


def validate_form_definition(form: Any) -> dict[str, Any]:
    """Return the form unchanged if it is acceptable; raise FormDefinitionError otherwise."""
    problems: list[str] = []
    if not isinstance(form, dict) or set(form) != {"schema", "ui"}:
        raise FormDefinitionError(["the form needs exactly the keys 'schema' and 'ui'"])
    schema, ui = form["schema"], form["ui"]
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise FormDefinitionError(["schema: must be a JSON Schema of type 'object'"])
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise FormDefinitionError(["schema.properties: must list at least one field"])
    if len(properties) > MAX_FIELDS:
        problems.append(f"schema.properties: at most {MAX_FIELDS} fields")
    for name, prop in properties.items():
        _check_property(name, prop, problems, depth=0)
    required = schema.get("required", [])
    if not isinstance(required, list) or any(r not in properties for r in required):
        problems.append("schema.required: must list only defined fields")
    if not isinstance(ui, dict):
        raise FormDefinitionError([*problems, "ui: must be an object"])
    steps = ui.get("steps")
    seen: list[str] = []
    if not isinstance(steps, list) or not steps:
        problems.append("ui.steps: must list at least one step")
    else:
        for i, step in enumerate(steps):
            if not isinstance(step, dict) or not isinstance(step.get("fields"), list):
                problems.append(f"ui.steps[{i}]: needs 'key', 'title' and 'fields'")
                continue
            _check_text(step.get("title"), f"ui.steps[{i}].title", problems)
            seen.extend(step["fields"])
    missing = [p for p in properties if p not in seen]
    extra = [f for f in seen if f not in properties]
    duplicated = sorted({f for f in seen if seen.count(f) > 1})
    if missing:
        problems.append(f"ui.steps: fields not in any step: {missing}")
    if extra:
        problems.append(f"ui.steps: unknown fields: {extra}")
    if duplicated:
        problems.append(f"ui.steps: fields in more than one step: {duplicated}")
    labels = ui.get("labels") or {}
    for name in properties:
        _check_text(labels.get(name), f"ui.labels.{name}", problems)
    for name, text in (ui.get("help") or {}).items():
        _check_text(text, f"ui.help.{name}", problems)
    for name, values in (ui.get("enum_labels") or {}).items():
        enum = (properties.get(name) or {}).get("enum") or (
            ((properties.get(name) or {}).get("items") or {}).get("enum") or []
        )
        for value in enum:
            _check_text((values or {}).get(value), f"ui.enum_labels.{name}.{value}", problems)
    prefill = ui.get("prefill") or {}
    if not isinstance(prefill, dict) or any(k not in properties for k in prefill):
        problems.append("ui.prefill: must map defined fields to register paths")
    elif any(_is_attachment(properties.get(k)) for k in prefill):
        problems.append("ui.prefill: a register cannot fill in an attachment")
    _check_attachments(ui.get("attachments"), properties, problems)
    _check_order(ui.get("order"), properties, problems)
    if problems:
        raise FormDefinitionError(problems)
    return form


def _check_order(order: Any, properties: dict[str, Any], problems: list[str]) -> None:
    """``ui.order``: for object fields, the order their parts are asked in (each part once)."""
    if order is None:
        return
    if not isinstance(order, dict):
        problems.append("ui.order: must map object fields to the order of their parts")
        return
    for name, parts in order.items():
        prop = properties.get(name)
        if not isinstance(prop, dict) or prop.get("type") != "object":
            problems.append(f"ui.order.{name}: not an object field")
            continue
        known = set((prop.get("properties") or {}).keys())
        if (
            not isinstance(parts, list)
            or len(set(map(str, parts))) != len(parts)
            or not set(map(str, parts)) <= known
        ):
            problems.append(f"ui.order.{name}: must list the field's parts, each once")


def _is_attachment(prop: Any) -> bool:
    return isinstance(prop, dict) and prop.get("format") == "attachment"


def _check_attachments(limits: Any, properties: dict[str, Any], problems: list[str]) -> None:
    """``ui.attachments``: for attachment fields, the types they take and their size limit."""
    if limits is None:
        return
    if not isinstance(limits, dict):
        problems.append("ui.attachments: must map attachment fields to their limits")
        return
    cap = int(settings.ATTACHMENT_MAX_BYTES)
    for name, spec in limits.items():
        where = f"ui.attachments.{name}"
        if not _is_attachment(properties.get(name)):
            problems.append(f"{where}: not an attachment field")
            continue
        if not isinstance(spec, dict) or set(spec) - ATTACHMENT_LIMITS:
            problems.append(f"{where}: may only set {sorted(ATTACHMENT_LIMITS)}")
            continue
        accept = spec.get("accept", list(ATTACHMENT_TYPES))
        if (
            not isinstance(accept, list)
            or not accept
            or any(kind not in ATTACHMENT_TYPES for kind in accept)
        ):
            problems.append(f"{where}.accept: must list some of {list(ATTACHMENT_TYPES)}")
        size = spec.get("max_bytes", cap)
        if type(size) is not int or not 0 < size <= cap:
            problems.append(f"{where}.max_bytes: must be a whole number from 1 to {cap}")
