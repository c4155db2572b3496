from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from shanyraq.core.bulk import insert_many
from shanyraq.ledger_django.models import Entry
from shanyraq.registries.definitions import registers_define_all
from shanyraq.registries.models import Record, Register

pytestmark = pytest.mark.django_db


def entries(count: int, start: int = 0) -> list[Entry]:
    return [
        Entry(
            log="test", data=bytes([n % 256, 0, 10, 255]) + b"\\x", kind="k", leaf_hash=f"{n:064x}"
        )
        for n in range(start, start + count)
    ]


def test_many_rows_arrive_whole_with_their_keys() -> None:
    made = insert_many(Entry, entries(100))
    assert len({e.pk for e in made}) == 100 and all(e.pk for e in made)
    stored = {e.pk: e for e in Entry.objects.filter(pk__in=[e.pk for e in made])}
    for entry in made:
        again = stored[entry.pk]
        assert bytes(again.data) == bytes(entry.data)  # binary data, escapes and all
        assert (again.log, again.kind, again.leaf_hash) == (entry.log, entry.kind, entry.leaf_hash)
        assert again.index is None  # a null stays null
        assert isinstance(again.created_at, datetime.datetime)  # auto_now_add applied
    # The keys came from the table's own sequence: the next ordinary insert follows them.
    later = Entry.objects.create(log="test", data=b"z", kind="k", leaf_hash="f" * 64)
    assert later.pk > max(e.pk for e in made)


def test_json_and_foreign_keys_are_written_as_saving_would() -> None:
    registers_define_all()
    register = Register.objects.get(code="population")
    records = insert_many(
        Record, [Record(register=register, key=f"k{n}", version=1) for n in range(40)]
    )
    assert list(
        Record.objects.filter(pk__in=[r.pk for r in records])
        .order_by("pk")
        .values_list("key", "register_id")
    ) == [(f"k{n}", register.pk) for n in range(40)]


def test_a_duplicate_key_is_djangos_integrity_error_and_writes_nothing() -> None:
    registers_define_all()
    register = Register.objects.get(code="population")
    Record.objects.create(register=register, key="k7", version=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many(Record, [Record(register=register, key=f"k{n}", version=1) for n in range(40)])
    assert list(Record.objects.values_list("key", flat=True)) == ["k7"]


def test_few_rows_and_other_databases_use_bulk_create(django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(1):
        made = insert_many(Entry, entries(3))
    assert all(e.pk for e in made) and Entry.objects.count() == 3
    if connection.vendor == "postgresql":
        with django_assert_max_num_queries(1):  # COPY is not a query Django counts
            insert_many(Entry, entries(50, start=3))
        assert Entry.objects.count() == 53
