from __future__ import annotations

import datetime
import json

import pytest

from shanyraq.accounts.models import Role
from shanyraq.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from shanyraq.core.national_id import make_iin
from shanyraq.events.models import Event
from shanyraq.ledger_django.models import Entry
from shanyraq.registries import commitments, services
from shanyraq.registries.models import Grant, Record, RecordVersion, SearchValue
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

IIN = make_iin(datetime.date(1990, 5, 17), "F", serial=77)
PARENT = make_iin(datetime.date(1962, 1, 9), "M", serial=12)


def person(**overrides):
    data = {
        "iin": IIN,
        "last_name": "Сәрсенова",
        "first_name": "Әйгерім",
        "birth_date": "1990-05-17",
    }
    data.update(overrides)
    return data


def create(**overrides):
    return services.record_create(
        register="people", data=person(**overrides), actor=None, agency=None, basis="test"
    )


def test_create_writes_version_ledger_entry_event_and_search_values(people):
    version = create()
    assert (version.number, version.op) == (1, "create")
    entry = json.loads(bytes(version.ledger_entry.data))
    assert entry["type"] == "registry.record"
    assert entry["registry"] == "people"
    assert entry["record"] == str(version.record.public_id)
    assert entry["commitment"] == commitments.commit(version.salt, person())
    assert set(entry["fields"]) == set(person())
    # No personal data in the public entry.
    raw = bytes(version.ledger_entry.data).decode()
    for value in person().values():
        assert value not in raw
    assert Event.objects.get().type == "registry.record_created"
    assert list(SearchValue.objects.values_list("field", "value")) == [("last_name", "Сәрсенова")]


def test_update_and_delete_make_new_versions(people):
    create()
    updated = services.record_update(
        register="people",
        key=IIN,
        data=person(last_name="Нұрланова"),
        expected_version=1,
        actor=None,
        agency=None,
        basis="marriage certificate 123",
    )
    assert updated.number == 2
    deleted = services.record_delete(
        register="people", key=IIN, expected_version=2, actor=None, agency=None, basis="court 7"
    )
    assert (deleted.number, deleted.op, deleted.data) == (3, "delete", {})
    record = Record.objects.get()
    assert (record.version, record.is_deleted) == (3, True)
    assert RecordVersion.objects.filter(record=record).count() == 3
    assert Entry.objects.count() == 3
    assert SearchValue.objects.count() == 0
    with pytest.raises(Conflict) as info:
        services.record_update(
            register="people",
            key=IIN,
            data=person(),
            expected_version=3,
            actor=None,
            agency=None,
            basis="x",
        )
    assert info.value.code == "record_deleted"


def test_stale_update_is_refused_and_changes_nothing(people):
    create()
    services.record_update(
        register="people",
        key=IIN,
        data=person(first_name="А"),
        expected_version=1,
        actor=None,
        agency=None,
        basis="x",
    )
    with pytest.raises(Conflict) as info:
        services.record_update(
            register="people",
            key=IIN,
            data=person(first_name="Б"),
            expected_version=1,
            actor=None,
            agency=None,
            basis="x",
        )
    assert info.value.code == "stale_version"
    assert info.value.details == {"current_version": 2}
    assert RecordVersion.objects.count() == 2
    assert Entry.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"iin": "123456789012"}, "iin", "Expected an IIN."),
        ({"birth_date": "17.05.1990"}, "birth_date", "Expected a date (YYYY-MM-DD)."),
        ({"parents": [{"iin": "000000000000"}]}, "parents.0.iin", "Expected an IIN."),
        ({"nickname": "Әйка"}, "$", "Unknown fields are not allowed."),
        ({"last_name": ""}, "last_name", "At least 1 needed."),
    ],
)
def test_schema_errors_are_specific_and_nothing_is_written(people, overrides, field, message):
    with pytest.raises(ValidationError) as info:
        create(**overrides)
    problems = info.value.details["problems"]
    assert {"field": field, "message": message} in problems
    assert Record.objects.count() == RecordVersion.objects.count() == Entry.objects.count() == 0
    assert Event.objects.count() == 0


def test_missing_required_field_is_named(people):
    data = person()
    del data["first_name"]
    with pytest.raises(ValidationError) as info:
        services.record_create(register="people", data=data, actor=None, agency=None, basis="x")
    assert info.value.details["problems"] == [
        {"field": "first_name", "message": "This field is required."}
    ]


def test_basis_is_required(people):
    with pytest.raises(ValidationError) as info:
        services.record_create(register="people", data=person(), actor=None, agency=None, basis=" ")
    assert info.value.code == "basis_required"


def test_oversize_record_is_refused(people):
    with pytest.raises(ValidationError) as info:
        create(last_name="x" * 300_000)
    assert info.value.code == "record_too_large"


def test_unknown_register_and_record(people):
    with pytest.raises(NotFound):
        services.record_create(register="nope", data=person(), actor=None, agency=None, basis="x")
    with pytest.raises(NotFound):
        services.record_update(
            register="people",
            key=IIN,
            data=person(),
            expected_version=1,
            actor=None,
            agency=None,
            basis="x",
        )


def test_duplicate_key_is_a_conflict(people):
    create()
    with pytest.raises(Conflict) as info:
        create()
    assert info.value.code == "record_exists"
    assert RecordVersion.objects.count() == 1


def test_officials_need_a_writing_grant(people, agency):
    clerk = factories.member(agency, Role.CLERK)
    with pytest.raises(PermissionDenied):
        services.record_create(
            register="people", data=person(), actor=clerk, agency=agency, basis="x"
        )
    assert Record.objects.count() == 0
    Grant.objects.create(
        agency=agency,
        register=people,
        role="clerk",
        fields=["*"],
        may_write=True,
        legal_basis="law",
    )
    version = services.record_create(
        register="people", data=person(), actor=clerk, agency=agency, basis="x"
    )
    entry = json.loads(bytes(version.ledger_entry.data))
    assert entry["agency"] == "justice"
    assert entry["actor"] == services.actor_pseudonym(clerk)
    assert entry["actor"] != services.actor_pseudonym(factories.StaffFactory())


def test_a_new_schema_version_is_added_only_when_the_schema_changes(people):
    from shanyraq.registries.tests.conftest import PEOPLE_SCHEMA

    same = services.register_define(
        code="people",
        name=people.name.to_dict(),
        description=people.description.to_dict(),
        key_field="iin",
        schema=PEOPLE_SCHEMA,
        search_fields=["last_name"],
        subject_paths=["iin"],
    )
    assert same.current_schema == 1
    changed = dict(PEOPLE_SCHEMA, required=["iin"])
    again = services.register_define(
        code="people",
        name=people.name.to_dict(),
        description=people.description.to_dict(),
        key_field="iin",
        schema=changed,
        search_fields=["last_name"],
        subject_paths=["iin"],
    )
    assert again.current_schema == 2
    assert again.schemas.count() == 2
