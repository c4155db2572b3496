"""A cursor for the plain queries every API request or submission makes.

Django's cursor merges the parameters into the text of each query on the client (psycopg's
client-side binding), so PostgreSQL parses and plans every query anew, and planning a small
join costs more than running it. ``plain_cursor`` gives, on PostgreSQL, a cursor that sends
the parameters apart from the text: psycopg then prepares a query on its connection once it
has run a few times (``prepare_threshold``, set in the settings) and later runs skip the
planning. The ORM's own queries keep Django's cursor and are never prepared.

The cursor is Django's wrapper around psycopg's: the connection's health check, error
translation (``IntegrityError``...), execute wrappers and query logging all apply. Elsewhere
(SQLite) it is Django's usual cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

__all__ = ["plain_cursor"]


class _LoggedCursor(CursorDebugWrapper):
    """Django's logging cursor, logging each query's text as given: with the parameters
    sent apart, the driver has no text with the values in to report."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


@contextmanager
def plain_cursor(
    using: str = DEFAULT_DB_ALIAS, *, numbered: bool = False
) -> Iterator[CursorWrapper]:
    """A cursor for plain SQL with ``%s`` parameters, closed on leaving the block.

    ``numbered``: the text names its parameters ``$1``, ``$2``... as PostgreSQL does, and the
    driver sends it as it is instead of looking through it for ``%s``, which for a long
    statement with many parameters costs more than the rest of sending it (PostgreSQL only).
    """
    connection: Any = connections[using]
    if connection.vendor != "postgresql":
        if numbered:
            raise ValueError("numbered parameters are PostgreSQL's")
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg
    from django.db.backends.postgresql import base as postgresql

    # What ``connection.cursor()`` does, with one of psycopg's server-side binding cursors.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        binding: Any = psycopg.RawCursor if numbered else postgresql.ServerBindingCursor
        raw = binding(connection.connection)
    wrapper = _LoggedCursor if connection.queries_logged else CursorWrapper
    with wrapper(raw, connection) as cursor:
        yield cursor
