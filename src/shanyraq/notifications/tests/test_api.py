"""``/api/v1/me/notifications``: one's own messages only, by session or bearer token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shanyraq.accounts import services as account_services
from shanyraq.conftest import client_for
from shanyraq.notifications.models import Notification
from shanyraq.testing import factories

from .support import CONTEXT, notify

pytestmark = pytest.mark.django_db

LIST = "/api/v1/me/notifications"


def read_url(pk: int) -> str:
    return f"{LIST}/{pk}/read"


def message(user, n: int) -> Notification:
    notification = notify(
        user, template="message", key=f"m{n}", context={**CONTEXT, "subject": f"S{n}"}
    )
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - timedelta(hours=1) + timedelta(minutes=n)
    )
    notification.refresh_from_db()
    return notification


def test_the_list_holds_the_callers_messages_newest_first(citizen):
    first, second = message(citizen, 1), message(citizen, 2)
    message(factories.UserFactory(), 3)
    Notification.objects.filter(pk=first.pk).update(read_at=timezone.now())
    response = client_for(citizen).get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["unread"], body["page"], body["page_size"], body["pages"]) == (
        2,
        1,
        1,
        20,
        1,
    )
    assert [item["id"] for item in body["items"]] == [second.pk, first.pk]
    item = body["items"][0]
    assert item == {
        "id": second.pk,
        "template": "message",
        "subject": {"kk": "S2", "ru": "S2", "en": "S2"},
        "body": CONTEXT["text"],
        "link": "/account/applications/2026-000123/",
        "created_at": item["created_at"],
        "read_at": None,
        "unread": True,
    }
    assert body["items"][1]["unread"] is False


def test_the_list_is_paged(citizen):
    for n in range(5):
        message(citizen, n)
    body = client_for(citizen).get(LIST, {"page": 2, "page_size": 2}).json()
    assert (body["count"], body["pages"], [i["subject"]["en"] for i in body["items"]]) == (
        5,
        3,
        ["S2", "S1"],
    )
    past = client_for(citizen).get(LIST, {"page": 9, "page_size": 2}).json()
    assert past["items"] == [] and past["count"] == 5


@pytest.mark.parametrize("query", [{"page": 0}, {"page_size": 101}, {"page": "x"}])
def test_bad_paging_is_a_problem(citizen, query):
    response = client_for(citizen).get(LIST, query)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_the_list_takes_the_same_queries_for_one_message_or_many(citizen):
    message(citizen, 0)
    client = client_for(citizen)
    client.get(LIST)
    with CaptureQueriesContext(connection) as one:
        client.get(LIST)
    for n in range(1, 15):
        message(citizen, n)
    with CaptureQueriesContext(connection) as many:
        client.get(LIST)
    assert len(many) == len(one) <= 5


def test_a_bearer_token_reads_its_users_messages(citizen):
    mine = message(citizen, 1)
    message(factories.UserFactory(), 2)
    _token, secret = account_services.token_create(user=citizen, name="test")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = client.get(LIST).json()
    assert [i["id"] for i in body["items"]] == [mine.pk]
    assert client.post(read_url(mine.pk)).status_code == 200


def test_officials_read_their_own_messages_only(clerk, citizen):
    mine = notify(clerk, template="application.step_overdue", key="overdue")
    theirs = message(citizen, 1)
    client = client_for(clerk)
    assert [i["id"] for i in client.get(LIST).json()["items"]] == [mine.pk]
    assert client.post(read_url(theirs.pk)).status_code == 404


def test_marking_read_once_keeps_the_first_time(citizen):
    notification = message(citizen, 1)
    client = client_for(citizen)
    response = client.post(read_url(notification.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == notification.pk and body["unread"] is False
    first = body["read_at"]
    assert first is not None
    again = client.post(read_url(notification.pk)).json()
    assert again["read_at"] == first
    assert client.get(LIST).json()["unread"] == 0


def test_someone_elses_message_cannot_be_marked_read(citizen):
    theirs = message(factories.UserFactory(), 1)
    response = client_for(citizen).post(read_url(theirs.pk))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "notification.not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_an_unknown_message_is_not_found(citizen):
    assert client_for(citizen).post(read_url(10**12)).status_code == 404


@pytest.mark.parametrize(("method", "path"), [("get", LIST), ("post", f"{LIST}/1/read")])
def test_anonymous_callers_must_authenticate(citizen, method, path):
    message(citizen, 1)
    response = getattr(Client(), method)(path)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert Notification.objects.get().read_at is None


def test_a_session_must_send_the_csrf_token_to_mark_read(citizen):
    notification = message(citizen, 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    assert client.post(read_url(notification.pk)).status_code == 403
    notification.refresh_from_db()
    assert notification.read_at is None
