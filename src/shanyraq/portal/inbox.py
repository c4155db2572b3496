"""A person's messages from the platform: the inbox and one message (opening it marks it read)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from shanyraq.accounts.models import User
from shanyraq.core.errors import NotFound
from shanyraq.notifications import selectors, services

PAGE_SIZE = 20


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


@never_cache
@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    page = selectors.inbox_of(_person(request), page=_page_number(request), page_size=PAGE_SIZE)
    return render(request, "portal/inbox.html", {"page": page})


@never_cache
@login_required
@require_GET
def message(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        notification = services.notification_mark_read(
            recipient=_person(request), notification_id=notification_id
        )
    except NotFound as error:
        return render(
            request, "portal/error.html", {"status": 404, "message": error.message}, status=404
        )
    paragraphs = [p.strip() for p in str(notification.body).split("\n\n") if p.strip()]
    return render(
        request,
        "portal/inbox_message.html",
        {"notification": notification, "paragraphs": paragraphs},
    )
