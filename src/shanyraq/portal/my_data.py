"""A person's own data: who accessed it, the records about them, extracts and proof bundles."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
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


@dataclass(frozen=True)
class FieldRow:
    label: str
    value: str


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
    rows = [
        FieldRow(labels.label(name), _display(record.data[name]))
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
