"""The inbox in the portal: only one's own messages, newest first, opening one marks it read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shanyraq.conftest import client_for
from shanyraq.notifications.models import Notification
from shanyraq.testing import factories

from .support import CONTEXT, notify

pytestmark = pytest.mark.django_db


def in_language(client: Client, lang: str) -> Client:
    client.cookies["shanyraq_language"] = lang
    return client


def message(user, n: int, **extra) -> Notification:
    context = {
        **CONTEXT,
        "subject": {"kk": f"Тақырып {n}", "ru": f"Тема {n}", "en": f"Subject {n}"},
    }
    notification = notify(user, template="message", key=f"m{n}", context=context, **extra)
    # Distinct times, one minute apart, the later n the newer.
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - timedelta(hours=1) + timedelta(minutes=n)
    )
    return notification


@pytest.mark.parametrize("path", ["/account/messages/", "/account/messages/1/"])
def test_anonymous_visitors_are_sent_to_sign_in(citizen, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_inbox_lists_the_persons_messages_newest_first(citizen, lang):
    first, second = message(citizen, 1), message(citizen, 2)
    message(factories.UserFactory(), 3)  # someone else's
    response = in_language(client_for(citizen), lang).get("/account/messages/")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    html = response.content.decode()
    assert f'<html lang="{lang}"' in html
    subjects = {"kk": "Тақырып", "ru": "Тема", "en": "Subject"}[lang]
    assert html.index(f"{subjects} 2") < html.index(f"{subjects} 1")
    assert f"{subjects} 3" not in html
    assert f'href="/account/messages/{second.pk}/"' in html
    assert f'href="/account/messages/{first.pk}/"' in html
    assert "<caption" in html and 'scope="col"' in html


def test_unread_messages_are_marked(citizen):
    read, unread = message(citizen, 1), message(citizen, 2)
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    html = in_language(client_for(citizen), "en").get("/account/messages/").content.decode()
    assert html.count(">Unread</strong>") == 1
    row = html[html.index(f"/account/messages/{unread.pk}/") - 300 :]
    assert ">Unread</strong>" in row[:300]


def test_the_inbox_is_paged(citizen):
    for n in range(21):
        message(citizen, n)
    client = in_language(client_for(citizen), "en")
    first = client.get("/account/messages/").content.decode()
    assert "21 messages, newest first" in first
    assert first.count('<tr class="govuk-table__row">') == 21  # header + 20
    assert 'href="?page=2"' in first and "Older messages" in first
    assert "Newer messages" not in first
    second = client.get("/account/messages/?page=2").content.decode()
    assert second.count('<tr class="govuk-table__row">') == 2
    assert "Subject 0" in second and "Newer messages" in second
    assert "Page 2 of 2" in second


def test_an_empty_inbox_says_so(citizen):
    html = in_language(client_for(citizen), "en").get("/account/messages/").content.decode()
    assert "You have no messages yet." in html
    assert "<table" not in html


def test_the_inbox_takes_the_same_queries_for_one_message_or_many(citizen):
    message(citizen, 0)
    client = client_for(citizen)
    client.get("/account/messages/")
    with CaptureQueriesContext(connection) as one:
        client.get("/account/messages/")
    for n in range(1, 20):
        message(citizen, n)
    with CaptureQueriesContext(connection) as many:
        client.get("/account/messages/")
    assert len(many) == len(one) <= 7


def test_opening_a_message_shows_it_in_the_readers_language_and_marks_it_read(citizen):
    notification = notify(citizen, template="application.info_requested")
    client = in_language(client_for(citizen), "ru")
    response = client.get(f"/account/messages/{notification.pk}/")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    html = response.content.decode()
    assert "По заявке 2026-000123 нужны дополнительные сведения</h1>" in html
    assert "Что требуется: The birth certificate is missing." in html
    assert 'href="/account/applications/2026-000123/"' in html
    assert 'href="/account/messages/"' in html
    notification.refresh_from_db()
    read_at = notification.read_at
    assert read_at is not None
    # Opening it again keeps the first reading.
    client.get(f"/account/messages/{notification.pk}/")
    notification.refresh_from_db()
    assert notification.read_at == read_at


def test_message_text_is_escaped(citizen):
    context = {**CONTEXT, "subject": "<script>alert(1)</script>", "text": "<b>bold</b>"}
    notification = notify(citizen, template="message", context=context)
    html = client_for(citizen).get(f"/account/messages/{notification.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_someone_elses_message_is_not_found_and_stays_unread(citizen):
    other = factories.UserFactory()
    theirs = message(other, 1)
    response = in_language(client_for(citizen), "en").get(f"/account/messages/{theirs.pk}/")
    assert response.status_code == 404
    assert "There is no such message." in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_message_sent_only_by_sms_is_not_in_the_inbox(citizen):
    notification = notify(citizen, channels=["sms"])
    assert client_for(citizen).get(f"/account/messages/{notification.pk}/").status_code == 404
    html = in_language(client_for(citizen), "en").get("/account/messages/").content.decode()
    assert "You have no messages yet." in html


def test_a_missing_message_is_not_found(citizen):
    assert client_for(citizen).get("/account/messages/999999/").status_code == 404


def test_officials_have_an_inbox_of_their_own(clerk, citizen):
    mine = notify(clerk, template="application.step_overdue", key="overdue")
    theirs = message(citizen, 1)
    client = in_language(client_for(clerk), "en")
    html = client.get("/account/messages/").content.decode()
    assert "Overdue: application 2026-000123" in html
    assert client.get(f"/account/messages/{mine.pk}/").status_code == 200
    assert client.get(f"/account/messages/{theirs.pk}/").status_code == 404


def test_the_header_links_to_the_inbox_with_the_unread_count(citizen, clerk):
    message(citizen, 1)
    read = message(citizen, 2)
    message(citizen, 3)
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    html = in_language(client_for(citizen), "en").get("/").content.decode()
    assert (
        '<a class="govuk-link" href="/account/messages/">Messages <span aria-hidden="true">(2)'
        '</span><span class="govuk-visually-hidden"> (2 unread)</span></a>'
    ) in html
    # Nothing unread: the link without a count; staff see it too.
    html = in_language(client_for(clerk), "en").get("/").content.decode()
    assert '<a class="govuk-link" href="/account/messages/">Messages</a>' in html
    # Visitors who have not signed in have no inbox.
    assert "/account/messages/" not in Client().get("/").content.decode()
