"""A person's own data: who accessed it, the records about them, extracts and proof bundles."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from shanyraq.access_log import selectors as access_selectors
from shanyraq.accounts.models import User
from shanyraq.catalog.models import Agency
from shanyraq.core.errors import Conflict, NotFound, PermissionDenied
from shanyraq.core.text import LANGUAGES, TranslatedText
from shanyraq.registries import selectors as registers

PAGE_SIZE = 20


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(
        request, "portal/error.html", {"status": status, "message": message}, status=status
    )


def _no_iin(request: HttpRequest) -> HttpResponse:
    return _error(request, 403, _("These pages are for people who sign in with their IIN."))


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _display(value: Any) -> str:
    """A record value as plain text: nested lists and objects on one readable line."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return "; ".join(_display(item) for item in value) or "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping) and value and set(value) <= set(LANGUAGES):
        return TranslatedText.from_value(value, partial=True).get()  # a name in three languages
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return ", ".join(f"{str(k).replace('_', ' ')}: {_display(v)}" for k, v in items)
    return str(value)


@dataclass(frozen=True)
class AccessRow:
    when: datetime
    agency: Agency
    register: str
    fields: list[str]
    purpose: str
    legal_basis: str
    case_ref: str
    action: str


@never_cache
@login_required
@require_GET
def data_usage(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if not person.iin:
        return _no_iin(request)
    page = access_selectors.accesses_of(person.iin, page=_page_number(request), page_size=PAGE_SIZE)
    labels = registers.register_labels({a.register for a in page.items})
    rows = []
    for access in page.items:
        register = labels.get(access.register)
        rows.append(
            AccessRow(
                when=access.created_at,
                agency=access.agency,
                register=str(register.name) if register else access.register,
                fields=[register.label(f) for f in register.ordered(access.fields)]
                if register
                else list(access.fields),
                purpose=access.purpose,
                legal_basis=access.legal_basis,
                case_ref=access.case_ref,
                action=access.get_action_display(),
            )
        )
    return render(request, "portal/my_data_usage.html", {"page": page, "rows": rows})


@never_cache
@login_required
@require_GET
def my_records(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if not person.iin:
        return _no_iin(request)
    records = registers.records_of_person(person)
    return render(request, "portal/my_data_records.html", {"records": records})


# --- A record's fields on its extract ------------------------------------------------------
#
# Objects (an address, an identity document) and lists of objects (owners, founders,
# encumbrances) are shown as nested lists of labelled fields rather than squeezed onto a line,
# each field named by its ``x-title`` in the register's schema where the schema gives one.

MAX_NESTING = 4
Schema = Mapping[str, Any]


@dataclass(frozen=True)
class FieldValue:
    """A field's value on an extract: text, an object's fields, or a list of objects."""

    text: str = ""
    fields: tuple[FieldRow, ...] = ()
    entries: tuple[FieldValue, ...] = ()


@dataclass(frozen=True)
class FieldRow:
    label: str
    value: FieldValue


def _is_translated(value: Any) -> bool:
    """A name given in the three languages, which is shown in the reader's language."""
    return isinstance(value, Mapping) and bool(value) and set(value) <= set(LANGUAGES)


def _pointer(root: Schema, ref: str) -> Any:
    """The part of ``root`` a local reference (``#/$defs/address``) points at, if any."""
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part.replace("~1", "/").replace("~0", "~"))
    return node


def _resolved(root: Schema, node: Any, depth: int = 0) -> Schema:
    """``node`` with what its ``$ref`` and its alternatives say about titles, properties, items
    and enumerated values; the node's own keywords win (a title next to a ``$ref``).

    What is required is taken from a reference or ``allOf`` only: an alternative's
    ``required`` (an IIN or else a BIN) says nothing about the order of the fields.
    """
    if not isinstance(node, Mapping) or depth > 10:
        return {}
    parts: list[tuple[Schema, bool]] = []
    ref = node.get("$ref")
    if isinstance(ref, str):
        parts.append((_resolved(root, _pointer(root, ref), depth + 1), True))
    for keyword in ("allOf", "anyOf", "oneOf"):
        alternatives = node.get(keyword)
        if isinstance(alternatives, list):
            parts.extend(
                (_resolved(root, alt, depth + 1), keyword == "allOf") for alt in alternatives
            )
    merged: dict[str, Any] = dict(node)
    properties: dict[str, Any] = {}
    for part, whole in parts:
        for key in ("x-title", "title", "format", "items", "enum", "required"):
            if key in part and key not in merged and (whole or key != "required"):
                merged[key] = part[key]
        properties.update(part.get("properties") or {})
    if isinstance(node.get("properties"), Mapping):
        properties.update(node["properties"])
    merged["properties"] = properties
    return merged


def _title(node: Schema) -> str:
    for key in ("x-title", "title"):
        value = node.get(key)
        if isinstance(value, str) and value:
            return value
        if _is_translated(value):
            return TranslatedText.from_value(value, partial=True).get()
    return ""


def _label(name: str, node: Schema) -> str:
    """The schema's title; for an untitled identifier, what it is (an IIN, a BIN); otherwise
    the key in words."""
    if text := _title(node):
        return text
    if node.get("format") == "iin":
        return _("IIN")
    if node.get("format") == "bin":
        return _("BIN")
    return name.replace("_", " ").capitalize()


def _enum_text(value: Any, node: Schema) -> str | None:
    """An enumerated code made readable (``almaty_region``: "Almaty region"); the schemas give
    no names for their codes, so the code itself is the best text there is."""
    enum = node.get("enum")
    if not isinstance(value, str) or not isinstance(enum, list) or value not in enum:
        return None
    text = value.replace("_", " ")
    return text[:1].upper() + text[1:]


def _ordered(names: Iterable[str], node: Schema) -> list[str]:
    """Required properties in the schema's order, then the others alphabetically (as for the
    top-level fields: PostgreSQL's jsonb keeps no key order), then fields the schema lacks."""
    properties = node.get("properties") or {}
    required = [n for n in node.get("required") or [] if isinstance(n, str) and n in properties]
    order = required + sorted(set(properties) - set(required))
    position = {name: i for i, name in enumerate(order)}
    return sorted(names, key=lambda name: (position.get(name, len(position)), name))


def _field_value(value: Any, node: Any, root: Schema, depth: int = 1) -> FieldValue:
    spec = _resolved(root, node)
    nested = depth <= MAX_NESTING
    if nested and isinstance(value, Mapping) and value and not _is_translated(value):
        properties = spec.get("properties") or {}
        return FieldValue(
            fields=tuple(
                FieldRow(
                    _label(str(name), _resolved(root, properties.get(name))),
                    _field_value(value[name], properties.get(name), root, depth + 1),
                )
                for name in _ordered(value, spec)
            )
        )
    if isinstance(value, list) and value:
        items = spec.get("items")
        if nested and all(isinstance(v, Mapping) and not _is_translated(v) for v in value):
            return FieldValue(entries=tuple(_field_value(v, items, root, depth) for v in value))
        item_spec = _resolved(root, items)
        texts = [_enum_text(v, item_spec) or _display(v) for v in value]
        return FieldValue(text="; ".join(texts))
    if isinstance(value, Mapping) and not value:
        return FieldValue(text="—")
    return FieldValue(text=_enum_text(value, spec) or _display(value))


@never_cache
@login_required
@require_GET
def record_extract(request: HttpRequest, register: str, key: str) -> HttpResponse:
    person = _person(request)
    if not person.iin:
        return _no_iin(request)
    try:
        record = registers.record_read(register=register, key=key, actor=person, agency=None)
        history = registers.record_history(register=register, key=key, actor=person, agency=None)
    except PermissionDenied:
        return _error(request, 403, _("You can see only the records about yourself."))
    except NotFound:
        return _error(request, 404, _("There is no such record."))
    labels = registers.register_labels([register])[register]
    schema = labels.schema
    properties = schema.get("properties") or {}
    rows = [
        FieldRow(labels.label(name), _field_value(record.data[name], properties.get(name), schema))
        for name in labels.ordered(record.fields)
    ]
    current = history.versions[-1] if history.versions else None
    return render(
        request,
        "portal/my_data_extract.html",
        {
            "record": record,
            "register_name": labels.name,
            "rows": rows,
            "versions": list(reversed(history.versions)),
            "current": current,
        },
    )


@never_cache
@login_required
@require_GET
def proof_download(request: HttpRequest, register: str, key: str, number: int) -> HttpResponse:
    person = _person(request)
    if not person.iin:
        return _no_iin(request)
    try:
        bundle = registers.proof_bundle(register=register, key=key, number=number, person=person)
    except PermissionDenied:
        return _error(request, 403, _("You can see only the records about yourself."))
    except NotFound:
        return _error(request, 404, _("There is no such record or version."))
    except Conflict:
        return _error(
            request,
            409,
            _("The ledger has not published this version yet. Try again in a few minutes."),
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in bundle.files.items():
            archive.writestr(name, content)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
    return response
