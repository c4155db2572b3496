"""Many new rows of one model written at once, with their primary keys set.

``insert_many`` is ``QuerySet.bulk_create`` for loads of thousands of rows. On PostgreSQL it
takes the primary keys from the table's own sequence in one query and sends the rows with
``COPY ... FROM STDIN``, which the server parses and writes several times faster than a
many-row ``INSERT``; every constraint, index and foreign key is checked as for an insert, and
the rows belong to the caller's transaction. Elsewhere (SQLite) it is ``bulk_create``.

Only what ``bulk_create`` would write is written: each concrete field's value as saving it
would prepare it (``auto_now_add`` and defaults included). Models with a primary key that is
not an auto field, multi-table inheritance and deferred fields are left to ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import connections, models, router

__all__ = ["insert_many"]

M = TypeVar("M", bound=models.Model)

# Fewer rows than this gain nothing from COPY's extra query for the keys.
_COPY_FROM = 32


def insert_many(model: type[M], objects: Iterable[M]) -> list[M]:
    """Insert ``objects`` (new instances of ``model``) and return them with their keys set."""
    rows = list(objects)
    alias = router.db_for_write(model)
    connection = connections[alias]
    pk = model._meta.pk
    if (
        connection.vendor != "postgresql"
        or len(rows) < _COPY_FROM
        or not isinstance(pk, models.AutoField | models.BigAutoField | models.SmallAutoField)
        or model._meta.parents
        or any(row.pk is not None for row in rows)
    ):
        return model._default_manager.using(alias).bulk_create(rows)
    for row in rows:
        row._prepare_related_fields_for_save(operation_name="insert_many")  # type: ignore[attr-defined]
    fields = [f for f in model._meta.concrete_fields if f is not pk]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in [pk, *fields])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk.column, len(rows)],
        )
        keys = [key for (key,) in cursor.fetchall()]
        values: list[list[Any]] = []
        for key, row in zip(keys, rows, strict=True):
            line: list[Any] = [key]
            for field in fields:
                value = field.pre_save(row, add=True)
                line.append(field.get_db_prep_save(value, connection=connection))
            values.append(line)
        # The raw cursor's errors become Django's (IntegrityError for a duplicate key).
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for line in values:
                copy.write_row(line)
    for key, row in zip(keys, rows, strict=True):
        row.pk = key
        row._state.adding = False
        row._state.db = alias
    return rows
