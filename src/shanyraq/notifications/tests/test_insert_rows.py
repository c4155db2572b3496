"""``core.bulk.insert_rows``: new rows of several models, referring to each other, written at once."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from shanyraq.accounts.models import ApiToken, User
from shanyraq.core.bulk import insert_rows
from shanyraq.core.text import TranslatedText
from shanyraq.notifications.models import Channel, Delivery, Notification

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="one statement on PostgreSQL only"
)


def token(user: User, key: str) -> ApiToken:
    return ApiToken(user=user, name="t", prefix=key[:12], key_hash=key)


def test_rows_referring_to_new_rows_are_written_with_their_keys() -> None:
    user = User(username="aigerim", iin="900315412348")
    first, second = token(user, "a" * 64), token(user, "b" * 64)
    text = TranslatedText(kk="Сәлем", ru="Привет", en="Hello")
    message = Notification(
        recipient=user, template="message", dedupe_key="k", subject=text, body=text, link=""
    )
    sms = Delivery(notification=message, channel=Channel.SMS, address="+77011234567", body="Hi")

    insert_rows([user, first, second, message, sms])

    assert user.pk is not None and not user._state.adding
    assert (first.user_id, second.user_id, message.recipient_id) == (user.pk,) * 3
    assert sms.notification_id == message.pk
    stored = ApiToken.objects.filter(user=user).order_by("pk")
    assert [(t.pk, t.key_hash) for t in stored] == [(first.pk, "a" * 64), (second.pk, "b" * 64)]
    assert stored[0].created_at is not None  # auto_now_add applied
    assert Delivery.objects.get(pk=sms.pk).notification_id == message.pk
    assert Notification.objects.get(pk=message.pk).subject == text  # JSON as saving writes it
    assert User.objects.get(pk=user.pk).iin == "900315412348"


def test_rows_referring_to_saved_rows_keep_those_keys() -> None:
    user = User.objects.create(username="daulet")
    made = token(user, "c" * 64)
    insert_rows([made])
    assert ApiToken.objects.get(pk=made.pk).user_id == user.pk


def test_a_reference_to_a_row_not_alone_in_its_run_is_written_run_by_run() -> None:
    first, second = User(username="one"), User(username="two")
    made = token(second, "d" * 64)
    insert_rows([first, second, made])
    assert first.pk != second.pk
    assert ApiToken.objects.get(pk=made.pk).user_id == second.pk


def test_a_broken_constraint_writes_nothing_and_raises() -> None:
    User.objects.create(username="taken")
    user = User(username="new")
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows([user, token(user, "e" * 64), User(username="taken")])
    assert not User.objects.filter(username="new").exists()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_rows_are_written_all_or_none() -> None:
    taken = User.objects.create(username="first")
    ApiToken.objects.create(user=taken, name="t", prefix="g" * 12, key_hash="g" * 64)
    user = User(username="second")
    with pytest.raises(IntegrityError):
        insert_rows([user, token(user, "h" * 64), token(user, "g" * 64)])
    assert not User.objects.filter(username="second").exists()
    assert ApiToken.objects.count() == 1


@postgresql_only
def test_on_postgresql_the_rows_go_in_one_statement() -> None:
    user = User(username="once")
    with CaptureQueriesContext(connection) as queries:
        insert_rows([user, token(user, "f" * 64), token(user, "0" * 64)])
    assert len(queries) == 1
    assert queries[0]["sql"].startswith('WITH w0 AS (INSERT INTO "accounts_user"')
