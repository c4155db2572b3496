"""Reading a person's inbox: only ever their own messages."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts.models import User
from shanyraq.core.errors import NotFound

from .models import Notification

__all__ = ["MAX_PAGE_SIZE", "NotificationPage", "inbox_of", "notification_of", "unread_count"]

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class NotificationPage:
    count: int
    page: int
    page_size: int
    items: list[Notification]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.count / self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return 1 < self.page <= self.pages


def _inbox(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user, in_inbox=True)


def inbox_of(user: User, *, page: int = 1, page_size: int = 20) -> NotificationPage:
    """One page of the person's messages, newest first (2 queries: the count and the page).

    A page past the end is empty rather than an error, as in the other lists of the API.
    """
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    messages = _inbox(user)
    count = messages.count()
    start = (page - 1) * page_size
    items = list(messages.order_by("-created_at", "-id")[start : start + page_size])
    return NotificationPage(count=count, page=page, page_size=page_size, items=items)


def notification_of(user: User, notification_id: int) -> Notification:
    """The person's message ``notification_id``; ``NotFound`` when it is not theirs, so that
    nobody learns whether someone else's message exists."""
    notification = _inbox(user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound(code="notification.not_found", message=_("There is no such message."))
    return notification


def unread_count(user: User | AnonymousUser) -> int:
    """How many of the person's messages are unread; 0 for a visitor who has not signed in."""
    if not isinstance(user, User) or not user.is_authenticated:
        return 0
    return _inbox(user).filter(read_at__isnull=True).count()
