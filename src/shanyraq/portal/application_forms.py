"""A service's application form as pages: the inputs of a step, what a step's form sent, and
the answers as text to read.

The form is the service version's (``catalog.form_schema``): ``schema`` says what each field
holds, ``ui`` how to ask for it (steps, labels, help, labels of enumerated values, prefill).
A step is a fieldset with an input per field the registers did not fill in; the casework
services check the answers, and their problems (``{field, message}``) are placed here next to
the inputs they concern. A field that asks for a file (``"format": "attachment"``) is a file
input with the types and size it takes in its hint, and the file already attached shown with a
link to it; its answer is the attached file's identifier, shown to readers as the file's name.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shanyraq.casework import attachments
from shanyraq.casework.models import Application, Attachment
from shanyraq.core.errors import ValidationError
from shanyraq.core.text import LANGUAGES, TranslatedText

LONG_TEXT = 200  # a string field allowing more characters than this gets a text area

SOURCES = {
    "population": gettext_lazy("From the population register"),
    "real_estate": gettext_lazy("From the real estate register"),
    "business": gettext_lazy("From the business register"),
}


def text_of(value: Any) -> str:
    """A ``{kk, ru, en}`` text of a service's declaration in the reader's language."""
    if isinstance(value, Mapping) and value and set(value) <= set(LANGUAGES):
        return TranslatedText.from_value(dict(value), partial=True).get()
    return "" if value is None else str(value)


def source_of(path: str) -> str:
    return str(SOURCES.get(path.split(".")[0], gettext_lazy("From a state register")))


# --- the form, as the service declares it ------------------------------------------------


class FormDefinition:
    """A service version's form: its steps, fields, labels and help, in the reader's language."""

    def __init__(self, form: Mapping[str, Any] | None) -> None:
        form = form or {}
        schema = form.get("schema") or {}
        ui = form.get("ui") or {}
        self.properties: dict[str, Any] = dict(schema.get("properties") or {})
        self.required = set(schema.get("required") or [])
        self.steps: list[dict[str, Any]] = list(ui.get("steps") or [])
        self.labels: dict[str, Any] = dict(ui.get("labels") or {})
        self.help: dict[str, Any] = dict(ui.get("help") or {})
        self.enum_labels: dict[str, Any] = dict(ui.get("enum_labels") or {})
        self.order: dict[str, Any] = dict(ui.get("order") or {})
        self.form: Mapping[str, Any] = form

    def title(self, index: int) -> str:
        return text_of(self.steps[index].get("title"))

    def fields(self, index: int) -> list[str]:
        return [str(name) for name in self.steps[index].get("fields") or []]

    def step_of(self, name: str) -> int | None:
        for index in range(len(self.steps)):
            if name in self.fields(index):
                return index
        return None

    def label(self, name: str) -> str:
        return text_of(self.labels.get(name)) or name.replace("_", " ").capitalize()

    def spec(self, name: str) -> dict[str, Any]:
        return dict(self.properties.get(name) or {})

    def asks_for_file(self, name: str) -> bool:
        return _kind(self.spec(name)) == "file"

    def parts(self, name: str) -> list[tuple[str, Mapping[str, Any]]]:
        """The parts of an object field in the order the form asks for them.

        The stored schema cannot say (PostgreSQL keeps a JSON object's keys in an order of its
        own): ``ui.order.<field>`` can; the required parts come next, as ``required`` lists
        them, then the rest by name.
        """
        properties = dict(self.spec(name).get("properties") or {})
        declared = [str(p) for p in self.order.get(name) or [] if p in properties]
        required = [str(p) for p in self.spec(name).get("required") or [] if p in properties]
        ordered = list(dict.fromkeys([*declared, *required, *sorted(properties)]))
        return [(part, properties[part]) for part in ordered]

    def option(self, name: str, value: Any) -> str:
        """An enumerated value's label, or the value itself when the form names none."""
        labels = self.enum_labels.get(name) or {}
        return (
            text_of(labels.get(value)) if isinstance(value, str) and value in labels else str(value)
        )


def _kind(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type")
    if kind == "boolean":
        return "checkbox"
    if kind == "array":
        return "checkboxes" if "enum" in (spec.get("items") or {}) else "lines"
    if kind == "object":
        return "group"
    if spec.get("format") == "attachment":
        return "file"
    if "enum" in spec:
        return "select"
    if kind in {"integer", "number"}:
        return kind
    if spec.get("format") in {"date", "email"}:
        return str(spec["format"])
    if int(spec.get("maxLength") or 0) > LONG_TEXT:
        return "textarea"
    return "text"


def _shown(definition: FormDefinition, name: str, value: Any) -> str:
    """An answer as text to read (on the review page and to the other party)."""
    if value is None or value == "" or value == []:
        return _("Not given")
    if _kind(definition.spec(name)) == "file":
        return _("No file attached")  # a file that is attached is shown as a link instead
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_shown(definition, name, item) for item in value)
    if isinstance(value, Mapping):
        shown = []
        for part, part_spec in definition.parts(name):
            item = value.get(part)
            if item in (None, ""):
                continue
            if isinstance(part_spec, Mapping) and "enum" in part_spec:
                shown.append(definition.option(f"{name}.{part}", item))
            elif isinstance(part_spec, Mapping) and part_spec.get("format") == "date":
                shown.append(_day(item))
            elif isinstance(item, bool):
                shown.append(_("Yes") if item else _("No"))
            else:
                shown.append(str(item))
        return ", ".join(shown)
    spec = definition.spec(name)
    if spec.get("format") == "date":
        return _day(value)
    if "enum" in spec or "enum" in (spec.get("items") or {}):
        return definition.option(name, value)
    return str(value)


def _day(value: Any) -> str:
    """A date answer as people write it (31.12.2026); anything else as it is."""
    try:
        return datetime.date.fromisoformat(str(value)).strftime("%d.%m.%Y")
    except ValueError:
        return str(value)


def _as_input(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- one step's fields ---------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class AttachedFile:
    """A file attached to an application, as a page lists it."""

    id: str
    field: str
    label: str  # the form's label of its field, or "Sent with your answer"
    name: str
    size: str
    url: str  # where the reader downloads it
    uploaded_at: datetime.datetime


def attached_files(
    definition: FormDefinition, application: Application, files: Iterable[Attachment], url: Any
) -> dict[str, AttachedFile]:
    """The application's files by identifier; ``url(application, attachment)`` links each."""
    found = {}
    for item in files:
        label = definition.label(item.field) if item.field else _("Sent with your answer")
        found[str(item.public_id)] = AttachedFile(
            id=str(item.public_id),
            field=item.field,
            label=label,
            name=item.name,
            size=attachments.size_text(item.size),
            url=url(application, item),
            uploaded_at=item.created_at,
        )
    return found


@dataclass(frozen=True)
class FormField:
    """An input of a step as the page shows it, with the answer or what was just typed."""

    name: str
    html_id: str
    label: str
    hint: str
    kind: str
    value: str = ""
    checked: bool = False
    choices: tuple[Choice, ...] = ()
    parts: tuple[FormField, ...] = ()
    error: str = ""
    required: bool = False
    accept: str = ""  # a file input's types, for its ``accept`` attribute
    attached: AttachedFile | None = None  # the file a file input already has

    @property
    def described_by(self) -> str:
        """The ids of the hint and the error message, for ``aria-describedby``."""
        ids = [f"{self.html_id}-{part}" for part in ("hint", "error") if getattr(self, part)]
        return " ".join(ids)


@dataclass(frozen=True)
class KnownValue:
    """A field the registers filled in: shown, not asked."""

    name: str
    label: str
    value: str
    source: str


@dataclass(frozen=True)
class Problem:
    message: str
    href: str = ""


def _html_id(name: str) -> str:
    return "field-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _errors_by_field(problems: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in problems:
        found.setdefault(str(problem.get("field") or "$"), str(problem.get("message") or ""))
    return found


def _field_error(name: str, errors: Mapping[str, str]) -> str:
    """The message for a field, or for any of its items (``children.0``)."""
    if name in errors:
        return errors[name]
    return next((m for path, m in errors.items() if path.startswith(name + ".")), "")


def _form_field(
    definition: FormDefinition,
    name: str,
    answer: Any,
    posted: QueryDict | None,
    errors: Mapping[str, str],
    files: Mapping[str, AttachedFile],
) -> FormField:
    spec = definition.spec(name)
    kind = _kind(spec)
    common: dict[str, Any] = {
        "name": name,
        "html_id": _html_id(name),
        "label": definition.label(name),
        "hint": text_of(definition.help.get(name))
        or (_("Write each one on a new line.") if kind == "lines" else ""),
        "kind": kind,
        "error": _field_error(name, errors),
        "required": name in definition.required,
    }
    if kind == "file":
        limits = attachments.attachment_limits(definition.form, name)
        common["hint"] = " ".join(part for part in (common["hint"], limits.hint) if part)
        attached = files.get(answer) if isinstance(answer, str) else None
        return FormField(**common, accept=limits.accept_attribute, attached=attached)
    if kind == "checkbox":
        checked = bool(posted.get(name)) if posted is not None else answer is True
        return FormField(**common, checked=checked)
    if kind in {"select", "checkboxes"}:
        options = spec.get("enum") if kind == "select" else (spec.get("items") or {}).get("enum")
        if posted is not None:
            chosen = set(posted.getlist(name))
        else:
            chosen = {str(v) for v in (answer if isinstance(answer, list) else [answer])}
        choices = tuple(
            Choice(str(option), definition.option(name, option), str(option) in chosen)
            for option in options or []
        )
        return FormField(**common, choices=choices)
    if kind == "group":
        parts = []
        required = set(spec.get("required") or [])
        for sub, sub_spec in definition.parts(name):
            parts.append(_part(definition, name, sub, sub_spec, answer, posted, errors, required))
        return FormField(**common, parts=tuple(parts))
    if posted is not None:
        value = posted.get(name, "")
    elif kind == "lines":
        value = "\n".join(str(item) for item in answer) if isinstance(answer, list) else ""
    else:
        value = _as_input(answer)
    return FormField(**common, value=value)


def _part(
    definition: FormDefinition,
    name: str,
    sub: str,
    spec: Mapping[str, Any],
    answer: Any,
    posted: QueryDict | None,
    errors: Mapping[str, str],
    required: set[str],
) -> FormField:
    """One part of an object field (an address's region), asked as a field of its kind."""
    path = f"{name}.{sub}"
    current = answer.get(sub) if isinstance(answer, Mapping) else None
    kind = _kind(spec) if isinstance(spec, Mapping) else "text"
    if kind not in {"select", "date", "integer", "number", "email", "checkbox"}:
        kind = "text"
    title = spec.get("title") if isinstance(spec, Mapping) else None
    common: dict[str, Any] = {
        "name": path,
        "html_id": _html_id(path),
        "label": text_of(title) or str(sub).replace("_", " ").capitalize(),
        "hint": "",
        "kind": kind,
        "error": errors.get(path, ""),
        "required": sub in required,
    }
    if kind == "checkbox":
        return FormField(**common, checked=bool(posted.get(path)) if posted else current is True)
    value = posted.get(path, "") if posted is not None else _as_input(current)
    if kind == "select":
        choices = tuple(
            Choice(str(option), definition.option(path, option), str(option) == value)
            for option in spec.get("enum") or []
        )
        return FormField(**common, value=value, choices=choices)
    return FormField(**common, value=value)


def step_page(
    definition: FormDefinition,
    application: Application,
    index: int,
    posted: QueryDict | None = None,
    problems: Iterable[Mapping[str, Any]] = (),
    files: Mapping[str, AttachedFile] | None = None,
) -> tuple[list[KnownValue], list[FormField], list[Problem]]:
    """What one step shows: the values the registers gave, the inputs, and the problems
    (``files``: the application's attached files by identifier)."""
    prefilled = application.prefilled or {}
    errors = _errors_by_field(problems)
    known, inputs = [], []
    for name in definition.fields(index):
        if name in prefilled:
            item = prefilled[name]
            known.append(
                KnownValue(
                    name,
                    definition.label(name),
                    _shown(definition, name, item.get("value")),
                    source_of(str(item.get("source") or "")),
                )
            )
        else:
            answer = (application.answers or {}).get(name)
            inputs.append(_form_field(definition, name, answer, posted, errors, files or {}))
    summary: list[Problem] = []
    placed = set()
    for item in inputs:
        if item.error:
            summary.append(Problem(f"{item.label}: {item.error}", "#" + item.html_id))
            placed.add(item.name)
        for part in item.parts:
            if part.error:
                summary.append(Problem(f"{part.label}: {part.error}", "#" + part.html_id))
                placed.add(part.name)
    for path, message in errors.items():
        if path not in placed and not any(path.startswith(n + ".") for n in placed):
            summary.append(Problem(message))
    return known, inputs, summary


def posted_values(
    definition: FormDefinition, names: Iterable[str], post: QueryDict
) -> dict[str, Any]:
    """The answers a step's form sent, as the casework service takes them (text, lists)."""
    values: dict[str, Any] = {}
    for name in names:
        spec = definition.spec(name)
        kind = _kind(spec)
        if kind == "file":
            continue  # files come with the request's files (the view attaches them)
        if kind == "checkbox":
            if post.get(name):
                values[name] = "true"  # an unticked box sends nothing, which means "no"
        elif kind == "checkboxes":
            values[name] = post.getlist(name)
        elif kind == "lines":
            values[name] = [
                line.strip() for line in post.get(name, "").splitlines() if line.strip()
            ]
        elif kind == "group":
            parts = {
                str(sub): text
                for sub in spec.get("properties") or {}
                if (text := post.get(f"{name}.{sub}", "").strip())
            }
            if parts:  # a group left blank is not answered
                values[name] = parts
        else:
            values[name] = post.get(name, "")
    return values


# --- the review ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRow:
    name: str
    label: str
    value: str
    source: str = ""
    change_url: str = ""
    file: AttachedFile | None = None


@dataclass(frozen=True)
class ReviewStep:
    title: str
    rows: list[ReviewRow] = field(default_factory=list)


def step_url(application: Application, index: int) -> str:
    return reverse("portal:application_step", args=[application.number, index])


def review_steps(
    definition: FormDefinition,
    application: Application,
    *,
    editable: bool,
    with_known: bool,
    files: Mapping[str, AttachedFile] | None = None,
) -> list[ReviewStep]:
    """Every answer by step; ``with_known`` adds the values the registers gave. An answer
    naming one of ``files`` (the application's, by identifier) is shown as that file."""
    prefilled = application.prefilled or {}
    answers = application.answers or {}
    steps = []
    for index in range(len(definition.steps)):
        url = step_url(application, index) if editable else ""
        rows = []
        for name in definition.fields(index):
            if name in prefilled:
                if with_known:
                    value = _shown(definition, name, prefilled[name].get("value"))
                    source = source_of(str(prefilled[name].get("source") or ""))
                    rows.append(ReviewRow(name, definition.label(name), value, source))
                continue
            answer = answers.get(name)
            attached = (files or {}).get(answer) if isinstance(answer, str) else None
            shown = attached.name if attached else _shown(definition, name, answer)
            change = f"{url}#{_html_id(name)}" if editable else ""
            rows.append(
                ReviewRow(name, definition.label(name), shown, change_url=change, file=attached)
            )
        if rows:
            steps.append(ReviewStep(definition.title(index), rows))
    return steps


def submission_problems(
    definition: FormDefinition, application: Application, error: ValidationError
) -> list[Problem]:
    """A refused submission's problems, each linking to the field on its step."""
    problems = error.details.get("problems")
    listed: list[Mapping[str, Any]] = (
        [p for p in problems if isinstance(p, Mapping)] if isinstance(problems, list) else []
    )
    if not listed:
        listed = [{"field": error.field or "$", "message": str(error.message)}]
    found = []
    for problem in listed:
        path = str(problem.get("field") or "$")
        name = path.split(".")[0]
        message = str(problem.get("message") or "")
        index = definition.step_of(name)
        if index is None:
            found.append(Problem(message))
            continue
        # An object's fields have inputs of their own; a list's items share the list's.
        anchor = _html_id(path if definition.spec(name).get("type") == "object" else name)
        text = f"{definition.label(name)}: {message}"
        found.append(Problem(text, f"{step_url(application, index)}#{anchor}"))
    return found
