"""``GET /api/v1/me/data-usage``: who read the signed-in person's data, newest first."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from shanyraq.accounts.models import User
from shanyraq.core.errors import PermissionDenied
from shanyraq.core.text import TranslatedText

from . import selectors

# Mounted by the API shell under /me with ``auth=session_or_token``.
router = Router(tags=["data tracker"])


class Text(Schema):
    kk: str
    ru: str
    en: str


class AgencyRef(Schema):
    code: str
    name: Text


class AccessOut(Schema):
    created_at: datetime
    agency: AgencyRef
    registry: str
    record: uuid.UUID = Field(description="The record's public identifier.")
    action: str = Field(description="read, history, version or search.")
    fields: list[str] = Field(description="The fields that were shown.")
    purpose: str
    legal_basis: str
    case_ref: str


class AccessPageOut(Schema):
    count: int = Field(description="Number of accesses to your data, on all pages.")
    page: int
    page_size: int
    pages: int
    items: list[AccessOut]


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


def _text(value: TranslatedText | None) -> dict[str, str]:
    if value is None:
        return {"kk": "", "ru": "", "en": ""}
    return TranslatedText.from_value(value, partial=True).to_dict()


@router.get(
    "/data-usage",
    response=AccessPageOut,
    summary="Who accessed my data",
    description="Every read of your data by an official or an agency system, newest first.",
)
def data_usage(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)
    if not user.iin:
        raise PermissionDenied(
            code="iin_required", message=_("Only a person with an IIN has a data usage record.")
        )
    page = selectors.accesses_of(user.iin, page=query.page, page_size=query.page_size)
    return {
        "count": page.count,
        "page": page.page,
        "page_size": page.page_size,
        "pages": page.pages,
        "items": [
            {
                "created_at": a.created_at,
                "agency": {"code": a.agency.code, "name": _text(a.agency.name)},
                "registry": a.register,
                "record": a.record,
                "action": a.action,
                "fields": a.fields,
                "purpose": a.purpose,
                "legal_basis": a.legal_basis,
                "case_ref": a.case_ref,
            }
            for a in page.items
        ],
    }
