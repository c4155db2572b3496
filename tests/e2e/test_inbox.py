"""A person reads their messages: the inbox, one message, and the unread count in the header."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.utils import translation

pytestmark = pytest.mark.e2e

SERVICE = {"kk": "Неке қию", "ru": "Регистрация брака", "en": "Marriage registration"}


def unread_link_name(lang: str, count: int) -> str:
    """The inbox link as a screen reader announces it: "Messages (2 unread)"."""
    with translation.override(lang):
        unread = translation.ngettext("%(counter)s unread", "%(counter)s unread", count)
        return f"{translation.gettext('Messages')} ({unread % {'counter': count}})"


def check_inbox_link(link, lang: str, count: int) -> None:
    from playwright.sync_api import expect

    expect(link).to_have_accessible_name(unread_link_name(lang, count))
    assert link.locator("span[aria-hidden='true']").inner_text() == f"({count})"


@pytest.fixture
def person(transactional_db, live_server):
    """A citizen with two unread messages from their application."""
    from shanyraq.notifications import services
    from shanyraq.testing import factories

    user = factories.UserFactory(preferred_language="kk", email="aigerim@example.kz")
    context = {
        "number": "2026-000123",
        "service": SERVICE,
        "link": "/account/",
        "reason": "The birth certificate is missing.",
        "deadline": datetime.date(2026, 3, 12),
    }
    with transaction.atomic():
        services.notify(
            recipient=user,
            template="application.submitted",
            context=context,
            dedupe_key="application:2026-000123:submitted",
        )
    with transaction.atomic():
        services.notify(
            recipient=user,
            template="application.info_requested",
            context=context,
            dedupe_key="application:2026-000123:info:1",
        )
    return user


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_person_reads_a_message_and_it_is_no_longer_unread(open_site, person, tr, lang):
    from shanyraq.notifications.models import Notification
    from shanyraq.testing import factories

    site = open_site(lang)
    site.sign_in_citizen(str(person.iin), factories.PASSWORD)
    header = site.page.locator("header")
    inbox_link = header.locator("a[href='/account/messages/']")
    check_inbox_link(inbox_link, lang, 2)

    site.submit(inbox_link)
    assert site.path() == "/account/messages/"
    assert site.lang() == lang
    assert site.heading() == tr(lang, "Messages")
    rows = site.page.locator("main tbody tr")
    assert rows.count() == 2
    assert site.page.locator("main tbody .govuk-tag").count() == 2
    newest = Notification.objects.filter(recipient=person).order_by("-created_at", "-id").first()
    assert newest is not None
    assert rows.first.locator("a").inner_text() == newest.subject.get(lang)

    site.submit(rows.first.locator("a"))
    assert site.path() == f"/account/messages/{newest.pk}/"
    assert site.heading() == newest.subject.get(lang)
    main = site.page.locator("main").inner_text()
    assert "The birth certificate is missing." in main
    assert SERVICE[lang] in main
    check_inbox_link(inbox_link, lang, 1)

    site.submit(site.page.locator("a.govuk-back-link"))
    assert site.page.locator("main tbody .govuk-tag").count() == 1


def test_someone_elses_message_is_not_found(open_site, person, tr):
    from shanyraq.notifications.models import Notification
    from shanyraq.testing import factories

    other = factories.UserFactory()
    theirs = Notification.objects.filter(recipient=person).first()
    assert theirs is not None
    site = open_site("en")
    site.sign_in_citizen(str(other.iin), factories.PASSWORD)
    site.goto(f"/account/messages/{theirs.pk}/", status=404)
    assert site.heading() == tr("en", "Page not found")
    site.goto("/account/messages/")
    assert site.page.locator("main").get_by_text("You have no messages yet.").count() == 1
