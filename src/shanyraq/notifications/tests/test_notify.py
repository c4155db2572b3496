"""Writing a message: in the caller's transaction, once per occasion, to the right channels."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from shanyraq.core.errors import ValidationError
from shanyraq.notifications import services
from shanyraq.notifications.models import ContactPoint, Delivery, Notification
from shanyraq.testing import factories

from .support import CONTEXT, notify

pytestmark = pytest.mark.django_db


def test_a_message_goes_to_the_inbox_and_to_each_channel_the_person_has(person):
    notification = notify(person)
    assert notification.recipient == person
    assert notification.template == "application.submitted"
    assert notification.link == "/account/applications/2026-000123/"
    assert notification.in_inbox is True
    assert notification.read_at is None
    assert notification.subject.to_dict() == {
        "kk": "2026-000123 өтінімі қабылданды",
        "ru": "Заявка 2026-000123 принята",
        "en": "Application 2026-000123 received",
    }
    deliveries = {d.channel: d for d in Delivery.objects.filter(notification=notification)}
    assert set(deliveries) == {"email", "sms"}
    assert deliveries["email"].address == "aigerim@example.kz"
    assert deliveries["sms"].address == "+77011234567"
    assert {d.status for d in deliveries.values()} == {"pending"}
    assert {d.language for d in deliveries.values()} == {"ru"}


def test_without_an_email_or_a_phone_only_the_inbox_gets_it(db):
    person = factories.UserFactory(email="")
    notification = notify(person)
    assert Notification.objects.filter(pk=notification.pk).exists()
    assert Delivery.objects.count() == 0


def test_the_caller_chooses_the_channels(person):
    only_sms = notify(person, key="a", channels=["sms"])
    assert only_sms.in_inbox is False
    assert list(only_sms.deliveries.values_list("channel", flat=True)) == ["sms"]
    only_inbox = notify(person, key="b", channels=("inbox",))
    assert only_inbox.in_inbox is True
    assert only_inbox.deliveries.count() == 0


def test_a_rolled_back_transaction_leaves_nothing(person):
    class Abandoned(Exception):
        pass

    def change_that_fails() -> None:
        with transaction.atomic():
            services.notify(
                recipient=person,
                template="application.submitted",
                context=CONTEXT,
                dedupe_key="application:1:submitted",
            )
            assert Notification.objects.count() == 1  # visible inside the transaction
            raise Abandoned

    with pytest.raises(Abandoned):
        change_that_fails()
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_notify_needs_the_callers_transaction():
    person = factories.UserFactory(email="x@example.kz")
    with pytest.raises(RuntimeError):
        services.notify(recipient=person, template="message", context=CONTEXT, dedupe_key="outside")
    assert Notification.objects.count() == 0


def test_the_same_occasion_is_written_once(person):
    first = notify(person, key="application:1:decided")
    again = notify(person, key="application:1:decided", template="application.decided.approved")
    assert again.pk == first.pk
    assert again.template == "application.submitted"  # the first message stands
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 2


def test_a_duplicate_leaves_the_callers_transaction_usable(person):
    notify(person, key="k")
    with transaction.atomic():
        services.notify(recipient=person, template="message", context=CONTEXT, dedupe_key="k")
        factories.UserFactory()  # the transaction goes on after the duplicate
        services.notify(recipient=person, template="message", context=CONTEXT, dedupe_key="k2")
    assert sorted(Notification.objects.values_list("dedupe_key", flat=True)) == ["k", "k2"]


def test_the_same_key_for_another_person_is_another_message(person):
    other = factories.UserFactory(email="other@example.kz")
    notify(person, key="application:1:party")
    notify(other, key="application:1:party")
    assert Notification.objects.count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_transactions_writing_the_same_occasion_make_one_message():
    person = factories.UserFactory(email="x@example.kz")
    first_inserted = threading.Event()
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                n = services.notify(
                    recipient=person, template="message", context=CONTEXT, dedupe_key="race"
                )
                first_inserted.set()
                time.sleep(0.5)  # the second writer now waits on the unique index
            results["first"] = n.pk
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def second() -> None:
        try:
            first_inserted.wait(5)
            with transaction.atomic():
                n = services.notify(
                    recipient=person, template="message", context=CONTEXT, dedupe_key="race"
                )
            results["second"] = n.pk
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert results["first"] == results["second"]
    assert Notification.objects.filter(dedupe_key="race").count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"template": "application.unknown"}, "notification.unknown_template"),
        ({"context": {"number": "1"}}, "notification.context_missing"),
        (
            {"context": {**CONTEXT, "service": {"kk": "", "ru": "", "en": ""}}},
            "notification.context_missing",
        ),
        ({"context": {**CONTEXT, "link": "https://evil.example/"}}, "notification.bad_link"),
        ({"context": {**CONTEXT, "link": "//evil.example/"}}, "notification.bad_link"),
        ({"context": {**CONTEXT, "link": "/a b"}}, "notification.bad_link"),
        ({"channels": ["pigeon"]}, "notification.unknown_channel"),
        ({"channels": []}, "notification.unknown_channel"),
        (
            {
                "template": "message",
                "context": {**CONTEXT, "text": {"kk": " ", "ru": "Текст", "en": "Text"}},
            },
            "notification.bad_text",
        ),
        (
            {"template": "message", "context": {**CONTEXT, "text": "x" * 10_001}},
            "notification.bad_text",
        ),
        ({"key": "  "}, "notification.bad_dedupe_key"),
        ({"key": "x" * 201}, "notification.bad_dedupe_key"),
    ],
)
def test_bad_calls_are_refused_and_write_nothing(person, kwargs, code):
    with pytest.raises(ValidationError) as caught:
        notify(person, **kwargs)
    assert caught.value.code == code
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0


def test_missing_context_keys_are_named(person):
    with pytest.raises(ValidationError) as caught:
        notify(person, template="application.decided.rejected", context={"number": "1"})
    assert caught.value.details == {
        "template": "application.decided.rejected",
        "missing": ["reason", "service"],
    }


def test_a_message_keeps_the_address_it_was_sent_to(person):
    notification = notify(person)
    services.contact_phone_set(user=person, phone="87771234567")
    assert ContactPoint.objects.get(user=person).phone == "+77771234567"
    sms = notification.deliveries.get(channel="sms")
    assert sms.address == "+77011234567"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("+77011234567", "+77011234567"),
        ("+7 (701) 123-45-67", "+77011234567"),
        ("8 701 123 45 67", "+77011234567"),
        ("+4915112345678", "+4915112345678"),
    ],
)
def test_phone_numbers_are_stored_in_e164(person, given, stored):
    assert services.contact_phone_set(user=person, phone=given).phone == stored


@pytest.mark.parametrize("given", ["701", "+0123456789", "phone", "+7701123456789012"])
def test_impossible_phone_numbers_are_refused(person, given):
    with pytest.raises(ValidationError) as caught:
        services.contact_phone_set(user=person, phone=given)
    assert caught.value.code == "notification.bad_phone"
    assert ContactPoint.objects.get(user=person).phone == "+77011234567"


def test_removing_the_phone_stops_sms(person):
    assert services.contact_phone_set(user=person, phone="") is None
    notification = notify(person)
    assert list(notification.deliveries.values_list("channel", flat=True)) == ["email"]
