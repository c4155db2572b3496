"""The number of unread messages, for the inbox link in the header of every page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from . import selectors


def inbox(request: HttpRequest) -> dict[str, Any]:
    """``inbox_unread`` for a signed-in person: a callable, which the template engine calls
    when the page uses it, so the count (one indexed query) is made once and only if shown."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    count: Callable[[], int] = functools.cache(lambda: selectors.unread_count(user))
    return {"inbox_unread": count}
