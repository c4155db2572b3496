"""Values every page template needs: the navigation and the signed-in person's roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from shanyraq.accounts import selectors as account_selectors


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "is_staff_member": account_selectors.is_staff_member(user),
        "language_names": [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")],
    }
