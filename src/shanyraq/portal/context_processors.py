"""Values every page template needs: the navigation and the signed-in person's roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import User
from shanyraq.proactive import selectors as proactive_selectors


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None:
        return {}
    values: dict[str, Any] = {
        "is_staff_member": account_selectors.is_staff_member(user),
        "language_names": [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")],
    }
    if isinstance(user, User) and user.iin:
        # Counted only when a page shows it (templates call callables).
        values["offers_open"] = lambda: proactive_selectors.open_offers_count(user)
    return values
