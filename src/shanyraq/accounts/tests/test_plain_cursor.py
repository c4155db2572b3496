"""``core.sql.plain_cursor``: plain queries with their parameters apart, prepared on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from shanyraq.accounts.models import User
from shanyraq.core.sql import plain_cursor

pytestmark = pytest.mark.django_db

QUERY = "SELECT username FROM accounts_user WHERE username = %s /* plain-cursor-test */"


def test_a_query_is_answered_and_logged_as_written() -> None:
    User.objects.create(username="aigerim")
    with CaptureQueriesContext(connection) as queries, plain_cursor() as cursor:
        cursor.execute(QUERY, ["aigerim"])
        assert cursor.fetchall() == [("aigerim",)]
        cursor.execute(QUERY, ["nobody"])
        assert cursor.fetchone() is None
    assert len(queries) == 2
    if connection.vendor == "postgresql":  # the text as written: its parameters went apart
        assert [query["sql"] for query in queries] == [QUERY, QUERY]


def test_errors_are_djangos() -> None:
    User.objects.create(username="taken")
    with pytest.raises(IntegrityError), transaction.atomic(), plain_cursor() as cursor:
        cursor.execute("INSERT INTO accounts_user (username) VALUES (%s)", ["taken"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepares queries")
def test_on_postgresql_a_query_run_again_and_again_is_prepared() -> None:
    for _ in range(6):
        with plain_cursor() as cursor:
            cursor.execute(QUERY, ["aigerim"])
            cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%plain-cursor-test%"],
        )
        assert cursor.fetchone() == (1,)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's placeholders")
def test_numbered_parameters_go_as_written() -> None:
    with plain_cursor(numbered=True) as cursor:
        cursor.execute("SELECT $2::text || $1::text", ["a", "%s"])
        assert cursor.fetchone() == ("%sa",)
