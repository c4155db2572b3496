"""``/api/v1/me/notifications``: the signed-in person's inbox, and marking a message read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from shanyraq.accounts.models import User
from shanyraq.core.text import TranslatedText

from . import selectors, services
from .models import Notification

# Mounted by the API shell under /me with ``auth=session_or_token``.
router = Router(tags=["notifications"])


class Text(Schema):
    kk: str
    ru: str
    en: str


class NotificationOut(Schema):
    id: int
    template: str = Field(description="What kind of message it is, e.g. application.submitted.")
    subject: Text
    body: Text = Field(description="Plain text; paragraphs are separated by a blank line.")
    link: str = Field(description="A path of the portal the message is about, or empty.")
    created_at: datetime
    read_at: datetime | None
    unread: bool


class NotificationPageOut(Schema):
    count: int = Field(description="Number of your messages, on all pages.")
    unread: int = Field(description="Number of your unread messages.")
    page: int
    page_size: int
    pages: int
    items: list[NotificationOut]


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=selectors.MAX_PAGE_SIZE)


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind the router's authentication
    return user


def _text(value: TranslatedText) -> dict[str, str]:
    return TranslatedText.from_value(value, partial=True, max_length=None).to_dict()


def _out(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "template": notification.template,
        "subject": _text(notification.subject),
        "body": _text(notification.body),
        "link": notification.link,
        "created_at": notification.created_at,
        "read_at": notification.read_at,
        "unread": notification.read_at is None,
    }


@router.get(
    "/notifications",
    response=NotificationPageOut,
    summary="My messages",
    description="Your inbox, newest first, with each message in Kazakh, Russian and English.",
)
def notifications(request: HttpRequest, query: Query[PageQuery]) -> dict[str, Any]:
    person = _person(request)
    page = selectors.inbox_of(person, page=query.page, page_size=query.page_size)
    return {
        "count": page.count,
        "unread": selectors.unread_count(person),
        "page": page.page,
        "page_size": page.page_size,
        "pages": page.pages,
        "items": [_out(n) for n in page.items],
    }


@router.post(
    "/notifications/{notification_id}/read",
    response=NotificationOut,
    summary="Mark a message read",
    description="Marks one of your messages read; marking it again keeps the first time. "
    "Someone else's message is not found (404).",
)
def notification_read(request: HttpRequest, notification_id: int) -> dict[str, Any]:
    notification = services.notification_mark_read(
        recipient=_person(request), notification_id=notification_id
    )
    return _out(notification)
