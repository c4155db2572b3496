"""Creating many records at once, and the index of the people each record names."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shanyraq.accounts.models import Role
from shanyraq.core.errors import Conflict, PermissionDenied, ValidationError
from shanyraq.core.national_id import make_iin
from shanyraq.events.models import Event
from shanyraq.ledger_django.models import Entry
from shanyraq.registries import commitments, selectors, services
from shanyraq.registries.models import Grant, Record, RecordVersion, SearchValue
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

OWNER = make_iin(datetime.date(1985, 3, 2), "M", serial=41)
CO_OWNER = make_iin(datetime.date(1987, 11, 30), "F", serial=42)
STRANGER = make_iin(datetime.date(1979, 6, 6), "F", serial=43)

DEEDS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["number", "owners"],
    "additionalProperties": False,
    "properties": {
        "number": {"type": "string", "pattern": "^[0-9]{4}$"},
        "area": {"type": "number", "exclusiveMinimum": 0},
        "owners": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["iin"],
                "additionalProperties": False,
                "properties": {"iin": {"type": "string", "format": "iin"}},
            },
        },
    },
}


@pytest.fixture
def deeds(ledger_log):
    return services.register_define(
        code="deeds",
        name={"kk": "Құжаттар", "ru": "Акты", "en": "Deeds"},
        description={"kk": "Сынақ", "ru": "Тест", "en": "Test"},
        key_field="number",
        schema=DEEDS_SCHEMA,
        search_fields=["number"],
        subject_paths=["owners[].iin"],
    )


def deed(number: int, *owners: str, area: float = 54.5) -> dict:
    return {"number": f"{number:04d}", "area": area, "owners": [{"iin": o} for o in owners]}


def create_many(items, **kwargs):
    return services.records_create_many(
        register="deeds", items=items, actor=None, agency=None, basis="test", **kwargs
    )


def test_batch_writes_every_version_entry_event_and_search_value(deeds):
    items = [deed(n, OWNER, CO_OWNER if n % 2 else OWNER) for n in range(1, 41)]
    versions = create_many(items)
    assert [v.record.key for v in versions] == [item["number"] for item in items]
    assert RecordVersion.objects.count() == Record.objects.count() == 40
    assert set(Record.objects.values_list("version", flat=True)) == {1}
    for version, item in zip(versions, items, strict=True):
        stored = RecordVersion.objects.get(pk=version.pk)
        assert stored.data == item
        entry = json.loads(bytes(stored.ledger_entry.data))
        assert entry["record"] == str(version.record.public_id)
        assert entry["version"] == 1
        assert entry["commitment"] == commitments.commit(stored.salt, item) == stored.commitment
        assert entry["fields"] == commitments.field_commitments(stored.salt, item)
    assert Entry.objects.count() == 40
    # A load is one event listing the records, not forty "record created" events.
    (event,) = Event.objects.all()
    assert event.type == services.LOADED_EVENT
    assert event.payload == {
        "register": "deeds",
        "records": [str(v.record.public_id) for v in versions],
    }
    odd = versions[0].record  # deed 1: both owners
    assert sorted(SearchValue.objects.filter(record=odd).values_list("field", "value")) == sorted(
        [("number", "0001"), (services.SUBJECT_FIELD, OWNER), (services.SUBJECT_FIELD, CO_OWNER)]
    )
    even = versions[1].record  # deed 2: one owner named twice, indexed once
    assert SearchValue.objects.filter(record=even, field=services.SUBJECT_FIELD).count() == 1


def test_batch_costs_a_fixed_number_of_queries(deeds):
    def queries(count: int, first: int) -> int:
        items = [deed(n, OWNER) for n in range(first, first + count)]
        with CaptureQueriesContext(connection) as captured:
            create_many(items)
        return len(captured.captured_queries)

    queries(1, 9000)  # the schema's text is read once, then kept
    few = queries(5, 1)
    assert few <= 11
    assert queries(20, 100) == few
    # Large batches split only where the database limits the parameters of one statement.
    assert queries(400, 1000) < few + 20


@pytest.mark.parametrize(
    ("broken", "field", "code"),
    [
        ({"number": "12", "owners": [{"iin": OWNER}]}, "3.number", "schema_violation"),
        (
            {"number": "0777", "owners": [{"iin": "900315412349"}]},
            "3.owners.0.iin",
            "schema_violation",
        ),
        ({"number": "0777", "owners": []}, "3.owners", "schema_violation"),
        (
            {"number": "0777", "owners": [{"iin": OWNER}], "area": float("nan")},
            "3",
            "invalid_record",
        ),
    ],
)
def test_one_bad_record_refuses_the_whole_batch(deeds, broken, field, code):
    items = [deed(1, OWNER), deed(2, OWNER), deed(3, OWNER), broken, deed(5, OWNER)]
    with pytest.raises(ValidationError) as caught:
        create_many(items)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert caught.value.details["index"] == 3
    assert not Record.objects.exists()
    assert not Entry.objects.exists()
    assert not Event.objects.exists()


def test_a_key_twice_in_a_batch_is_refused(deeds):
    with pytest.raises(Conflict) as caught:
        create_many([deed(1, OWNER), deed(2, OWNER), deed(1, CO_OWNER)])
    assert caught.value.code == "record_repeated"
    assert caught.value.details["keys"] == ["0001"]
    assert not Record.objects.exists() and not Entry.objects.exists()


def test_existing_keys_are_named_and_nothing_is_written(deeds):
    create_many([deed(7, OWNER)])
    with pytest.raises(Conflict) as caught:
        create_many([deed(6, OWNER), deed(7, OWNER), deed(8, OWNER)])
    assert caught.value.code == "record_exists"
    assert caught.value.details["keys"] == ["0007"]
    assert Record.objects.count() == Entry.objects.count() == Event.objects.count() == 1


def test_single_create_keeps_its_plain_errors_and_its_own_event(deeds):
    create_many([deed(7, OWNER)])
    with pytest.raises(Conflict) as caught:
        services.record_create(
            register="deeds", data=deed(7, OWNER), actor=None, agency=None, basis="test"
        )
    assert caught.value.details == {}
    with pytest.raises(ValidationError) as invalid:
        services.record_create(
            register="deeds", data={"number": "1"}, actor=None, agency=None, basis="test"
        )
    assert invalid.value.field in {"number", "owners"}
    assert "index" not in invalid.value.details
    created = services.record_create(
        register="deeds", data=deed(8, OWNER), actor=None, agency=None, basis="test"
    )
    event = Event.objects.latest("pk")
    assert event.type == "registry.record_created"
    assert event.payload == {
        "register": "deeds",
        "record": str(created.record.public_id),
        "version": 1,
    }


def test_oversize_batch_is_refused(deeds):
    with pytest.raises(ValidationError) as caught:
        create_many([deed(1, OWNER)] * (services.MAX_BATCH + 1))
    assert caught.value.code == "batch_too_large"
    assert not Record.objects.exists()


def test_writing_a_batch_needs_a_writing_grant(deeds):
    agency = factories.AgencyFactory()
    clerk = factories.member(agency, Role.CLERK)
    with pytest.raises(PermissionDenied):
        services.records_create_many(
            register="deeds", items=[deed(1, OWNER)], actor=clerk, agency=agency, basis="test"
        )
    assert not Record.objects.exists()
    Grant.objects.create(
        agency=agency, register=deeds, role=Role.CLERK, may_write=True, legal_basis="test"
    )
    (version,) = services.records_create_many(
        register="deeds", items=[deed(1, OWNER)], actor=clerk, agency=agency, basis="test"
    )
    assert version.actor == clerk and version.agency == agency


def test_the_subject_index_follows_every_version(deeds):
    owner = factories.UserFactory(iin=OWNER)
    co_owner = factories.UserFactory(iin=CO_OWNER)
    stranger = factories.UserFactory(iin=STRANGER)
    create_many([deed(1, OWNER), deed(2, CO_OWNER), deed(3, OWNER, CO_OWNER)])

    def keys(user) -> list[str]:
        return [r.key for r in selectors.records_of_person(user) if r.register.code == "deeds"]

    assert keys(owner) == ["0001", "0003"]
    assert keys(co_owner) == ["0002", "0003"]
    assert keys(stranger) == []
    services.record_update(
        register="deeds",
        key="0003",
        data=deed(3, CO_OWNER, STRANGER),
        expected_version=1,
        actor=None,
        agency=None,
        basis="sale",
    )
    assert keys(owner) == ["0001"]
    assert keys(stranger) == ["0003"]
    services.record_delete(
        register="deeds", key="0003", expected_version=2, actor=None, agency=None, basis="merge"
    )
    assert keys(stranger) == []
    assert keys(co_owner) == ["0002"]
    assert not SearchValue.objects.filter(record__key="0003").exists()


def test_the_migration_indexes_records_written_before_the_index(deeds):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("shanyraq.registries.migrations.0002_subject_index")
    create_many([deed(1, OWNER, CO_OWNER), deed(2, CO_OWNER)])
    services.record_delete(
        register="deeds", key="0002", expected_version=1, actor=None, agency=None, basis="merge"
    )
    expected = sorted(SearchValue.objects.values_list("record__key", "field", "value"))
    SearchValue.objects.filter(field=services.SUBJECT_FIELD).delete()
    migration.index_subjects(apps, None)
    assert sorted(SearchValue.objects.values_list("record__key", "field", "value")) == expected
    assert (("0001", services.SUBJECT_FIELD, CO_OWNER)) in expected
