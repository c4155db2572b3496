"""New rows written at once, with their primary keys set.

``insert_rows`` writes a handful of new rows of several models (an application, its
history, its work item and its message) in one round trip to the database: on PostgreSQL
one statement, an ``INSERT ... RETURNING`` per model in a ``WITH`` of its own, each row
taking its key from its table's sequence and naming a new row it refers to by the key that
row's ``INSERT`` returns; the statement is prepared on the connection (``core.sql``).
Elsewhere each model's rows are one ``bulk_create``, in the order given.

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

from django.db import connections, models, router, transaction

from .sql import plain_cursor

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


class _Table:
    """How ``insert_rows`` writes a model's rows: every concrete field but the key, which the
    table's own default (its sequence) gives and ``RETURNING`` reports."""

    __slots__ = ("fields", "head", "key", "relations")

    def __init__(self, model: type[models.Model], connection: Any) -> None:
        opts = model._meta
        pk = opts.pk
        assert pk is not None
        quote = connection.ops.quote_name
        self.fields = [f for f in opts.concrete_fields if f is not pk]
        columns = ", ".join(quote(str(f.column)) for f in self.fields)
        # Only the model's own table and column names, quoted, are put in the text.
        self.head = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES "  # noqa: S608
        self.key = quote(str(pk.column))
        # Foreign keys and one-to-one fields (``ForeignObject``, typed loosely here).
        self.relations: list[tuple[int, Any]] = [
            (index, f) for index, f in enumerate(self.fields) if f.is_relation
        ]


# (database alias, model) -> how its rows are written
_TABLES: dict[tuple[str, type[models.Model]], _Table] = {}


def _table(alias: str, model: type[models.Model], connection: Any) -> _Table:
    table = _TABLES.get((alias, model))
    if table is None:
        table = _TABLES[(alias, model)] = _Table(model, connection)
    return table


class _Unlinkable(Exception):
    """A row refers to a new row that the statement cannot name."""


def insert_rows(objects: Sequence[models.Model]) -> None:
    """Insert ``objects`` (new instances, of one or several models) in the order given.

    An object may refer to one before it (an event to its application): by the time it is
    written that one has its key. Each object gets its primary key. The rows are written all
    or none, even outside a transaction; a constraint that fails raises Django's
    ``IntegrityError`` and, as always, spoils the caller's transaction if there is one.

    On PostgreSQL the rows go as one statement: an ``INSERT ... RETURNING`` per run of rows
    of one model, each in a ``WITH`` of its own, and a reference to a new row written as the
    key its ``INSERT`` returns (``(SELECT id FROM w0)``): one statement, all or nothing by
    itself. The row referred to must be alone in its run (one application, then its
    events); rows that refer to each other otherwise are written run by run
    (``bulk_create``) in a transaction, as on other databases.
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
    if connection.vendor == "postgresql" and all(
        _serial(type(group[0])) and all(row.pk is None for row in group) for group in groups
    ):
        try:
            sql, params, linked = _statement(groups, alias, connection)
        except _Unlinkable:
            pass
        else:
            with plain_cursor(alias, numbered=True) as cursor:
                cursor.execute(sql, params)
                returned = cursor.fetchall()
            keys: dict[int, list[Any]] = {number: [] for number in range(len(groups))}
            for number, key in returned:  # each run's keys in the order of its rows
                keys[number].append(key)
            for number, group in enumerate(groups):
                for row, key in zip(group, keys[number], strict=True):
                    row.pk = key
            for row, field, target in linked:
                setattr(row, field.name, target)
            for row in objects:
                row._state.adding = False
                row._state.db = alias
            return
    with transaction.atomic(using=alias):
        for group in groups:
            type(group[0])._default_manager.using(alias).bulk_create(group)


def _statement(
    groups: list[list[models.Model]], alias: str, connection: Any
) -> tuple[str, list[Any], list[tuple[models.Model, Any, models.Model]]]:
    """The one statement that writes every run of rows and returns their keys in order, its
    parameters, and the references to new rows to set once their keys are known."""
    written: dict[int, int] = {}  # id() of a new row alone in its run -> the run's number
    shape: list[tuple[type[models.Model], tuple[tuple[tuple[int, int], ...], ...]]] = []
    params: list[Any] = []
    linked: list[tuple[models.Model, Any, models.Model]] = []
    for number, group in enumerate(groups):
        model = type(group[0])
        table = _table(alias, model, connection)
        rows: list[tuple[tuple[int, int], ...]] = []
        for row in group:
            new: dict[int, int] = {}  # the field's position -> the run of the row it names
            for index, field in table.relations:
                if not field.is_cached(row):
                    continue
                target: Any = field.get_cached_value(row)
                if target is None:
                    continue
                if target.pk is not None:
                    if getattr(row, field.attname) in field.empty_values:
                        setattr(row, field.name, target)  # saved after it was assigned
                    continue
                run = written.get(id(target))
                if run is None or field.target_field is not target._meta.pk:
                    raise _Unlinkable
                new[index] = run
                linked.append((row, field, target))
            for index, field in enumerate(table.fields):
                if index not in new:
                    value = field.pre_save(row, add=True)
                    params.append(field.get_db_prep_save(value, connection=connection))
            rows.append(tuple(new.items()))
        shape.append((model, tuple(rows)))
        if len(group) == 1:
            written[id(group[0])] = number
    key = (alias, tuple(shape))
    sql = _STATEMENTS.get(key)
    if sql is None:
        if len(_STATEMENTS) >= _STATEMENTS_KEPT:
            _STATEMENTS.clear()
        sql = _STATEMENTS[key] = _text(alias, shape, connection)
    return sql, params, linked


def _text(
    alias: str,
    shape: list[tuple[type[models.Model], tuple[tuple[tuple[int, int], ...], ...]]],
    connection: Any,
) -> str:
    """The statement for runs of rows of this shape: each run's model, and for each of its
    rows the fields that name a new row of an earlier run (by the run's number)."""
    parameter = 0
    parts: list[str] = []
    for number, (model, rows) in enumerate(shape):
        table = _table(alias, model, connection)
        values: list[str] = []
        for links in rows:
            named = dict(links)
            marks: list[str] = []
            for index in range(len(table.fields)):
                if index in named:
                    marks.append(f"(SELECT {_KEY} FROM w{named[index]})")  # noqa: S608
                else:
                    parameter += 1
                    marks.append(f"${parameter}")
            values.append("(" + ", ".join(marks) + ")")
        parts.append(
            f"w{number} AS ({table.head}{', '.join(values)} RETURNING {table.key} AS {_KEY})"
        )
    # Only names of this module's making and the models' own are put in the text.
    returned = " UNION ALL ".join(
        f"SELECT {n}, {_KEY} FROM w{n}"  # noqa: S608
        for n in range(len(shape))
    )
    return f"WITH {', '.join(parts)} {returned}"


# The name each run's returned keys go by.
_KEY = "k"
# Statements by the shape of what they write (few: one per kind of caller).
_STATEMENTS: dict[tuple[Any, ...], str] = {}
_STATEMENTS_KEPT = 256
