"""New rows written at once, with their primary keys set.

``insert_rows`` writes a handful of new rows of several models (an application, its
history, its work item and its message) in one round trip to the database: on PostgreSQL
the keys of every row come from their tables' sequences in one query, then the inserts go
out together in pipeline mode, already knowing each other's keys. Elsewhere each model's
rows are one ``bulk_create``, in the order given.

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

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connections, models, router

__all__ = ["insert_many", "insert_rows"]

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


def _serial(model: type[models.Model]) -> bool:
    return (
        isinstance(model._meta.pk, models.AutoField | models.BigAutoField | models.SmallAutoField)
        and not model._meta.parents
    )


# (database alias, table) -> the name of the sequence its primary keys come from
_SEQUENCES: dict[tuple[str, str], str] = {}


def _sequence(cursor: Any, alias: str, model: type[models.Model]) -> str:
    table = model._meta.db_table
    name = _SEQUENCES.get((alias, table))
    if name is None:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)",
            [table, model._meta.pk.column],
        )
        (name,) = cursor.fetchone()
        _SEQUENCES[(alias, table)] = name
    return name


def insert_rows(objects: Sequence[models.Model]) -> None:
    """Insert ``objects`` (new instances, of one or several models) in the order given.

    An object may refer to one before it (an event to its application): by the time it is
    written that one has its key. Each object gets its primary key; a constraint that fails
    raises Django's ``IntegrityError`` and, as always, spoils the caller's transaction.
    """
    if not objects:
        return
    groups: list[list[models.Model]] = []
    for row in objects:
        if groups and type(groups[-1][0]) is type(row):
            groups[-1].append(row)
        else:
            groups.append([row])
    alias = router.db_for_write(type(objects[0]))
    connection = connections[alias]
    if connection.vendor != "postgresql" or not all(
        _serial(type(group[0])) and all(row.pk is None for row in group) for group in groups
    ):
        for group in groups:
            type(group[0])._default_manager.using(alias).bulk_create(group)
        return
    with connection.cursor() as cursor:
        wanted = [(_sequence(cursor, alias, type(group[0])), len(group)) for group in groups]
        cursor.execute(
            "SELECT " + ", ".join("nextval(%s)" for _name, n in wanted for _ in range(n)),
            [name for name, n in wanted for _ in range(n)],
        )
        keys = iter(cursor.fetchone())
        statements: list[tuple[str, list[Any]]] = []
        for group in groups:
            for row in group:
                row.pk = next(keys)
        for group in groups:
            model = type(group[0])
            fields = list(model._meta.concrete_fields)
            values: list[Any] = []
            for row in group:
                row._prepare_related_fields_for_save(operation_name="insert_rows")  # type: ignore[attr-defined]
                for field in fields:
                    value = field.pre_save(row, add=True)
                    values.append(field.get_db_prep_save(value, connection=connection))
            # Only the model's own table and column names, quoted, are put in the text.
            table = connection.ops.quote_name(model._meta.db_table)
            columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
            marks = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(group))
            statements.append((f"INSERT INTO {table} ({columns}) VALUES {marks}", values))  # noqa: S608
        # One round trip for all; the raw errors become Django's (IntegrityError...).
        with connection.wrap_database_errors, cursor.cursor.connection.pipeline():
            for sql, params in statements:
                cursor.cursor.execute(sql, params)
    for row in objects:
        row._state.adding = False
        row._state.db = alias
