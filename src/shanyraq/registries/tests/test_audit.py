"""The audit catches every change made to the registers behind the services' back."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection, transaction

from shanyraq.core.national_id import make_iin
from shanyraq.ledger_django import config
from shanyraq.ledger_django import services as ledger
from shanyraq.ledger_django.models import Entry
from shanyraq.registries import services
from shanyraq.registries.audit import audit
from shanyraq.registries.models import Record, RecordVersion

pytestmark = pytest.mark.django_db(transaction=True)


def iin(n: int) -> str:
    return make_iin(datetime.date(1980, 1, 1) + datetime.timedelta(days=n * 37), "M", serial=n)


@pytest.fixture
def registered(people, ledger_log):
    keys = []
    for n in range(1, 6):
        services.record_create(
            register="people",
            data={
                "iin": iin(n),
                "last_name": f"Ахметов{n}",
                "first_name": "Ерлан",
                "birth_date": "1980-01-01",
            },
            actor=None,
            agency=None,
            basis="test",
        )
        keys.append(iin(n))
    services.record_update(
        register="people",
        key=keys[0],
        data={
            "iin": keys[0],
            "last_name": "Ахметов",
            "first_name": "Ерлан",
            "birth_date": "1980-01-01",
        },
        expected_version=1,
        actor=None,
        agency=None,
        basis="name change",
    )
    ledger.log_integrate(ledger_log)
    return keys


def lines(findings):
    return [f.line() for f in findings]


def test_untouched_database_audits_clean(registered):
    assert audit(log="main") == []


def test_raw_update_of_a_field_is_caught_and_named(registered):
    version = RecordVersion.objects.get(record__key=registered[2], number=1)
    data = dict(version.data, last_name="Forged")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registries_recordversion SET data = %s WHERE id = %s",
            [json.dumps(data), version.pk],
        )
    findings = audit(log="main")
    public_id = str(version.record.public_id)
    assert lines(findings) == [f"altered: people {public_id} v1: changed last_name"]


def test_raw_added_field_is_caught(registered):
    version = RecordVersion.objects.get(record__key=registered[1], number=1)
    data = dict(version.data, nickname="x")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registries_recordversion SET data = %s WHERE id = %s",
            [json.dumps(data), version.pk],
        )
    assert [f.detail for f in audit(log="main")] == ["added nickname"]


def test_raw_delete_of_a_version_is_caught(registered):
    version = RecordVersion.objects.get(record__key=registered[0], number=2)
    public_id = str(version.record.public_id)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registries_recordversion WHERE id = %s", [version.pk])
    found = lines(audit(log="main"))
    assert any(line.startswith(f"missing-version: people {public_id} v2") for line in found)
    assert any(line.startswith(f"inconsistent: people {public_id} v2") for line in found)


def test_raw_insert_of_a_version_is_caught(registered, ledger_log):
    record = Record.objects.get(key=registered[3])
    # A forged version riding on a published entry that records something else.
    with transaction.atomic():
        other = ledger.ledger_append(entry={"v": 1, "type": "test.other"})
    ledger.log_integrate(ledger_log)
    other.refresh_from_db()
    assert other.index is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO registries_recordversion (record_id, number, op, data, schema_version,"
            " salt, commitment, basis, reason, created_at, ledger_entry_id)"
            " VALUES (%s, 2, 'update', %s, 1, %s, 'x', 'forged', '', %s, %s)",
            [
                record.pk,
                json.dumps({"iin": record.key}),
                "00" * 32,
                datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
                other.pk,
            ],
        )
        cursor.execute("UPDATE registries_record SET version = 2 WHERE id = %s", [record.pk])
    found = lines(audit(log="main"))
    assert f"missing-from-ledger: people {record.public_id} v2: no ledger entry" in found
    assert Entry.objects.filter(pk=other.pk).exists()


def test_raw_update_of_a_record_key_is_caught(registered):
    record = Record.objects.get(key=registered[4])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registries_record SET key = %s WHERE id = %s", [iin(99), record.pk])
    assert lines(audit(log="main")) == [
        f"inconsistent: people {record.public_id} v1: the record's key differs from its iin"
    ]


def test_unpublished_versions_are_findings_only_after_the_grace_period(people, ledger_log):
    services.record_create(
        register="people",
        data={"iin": iin(7), "last_name": "А", "first_name": "Б", "birth_date": "1980-01-01"},
        actor=None,
        agency=None,
        basis="test",
    )
    assert audit(log="main") == []
    found = lines(audit(log="main", grace_seconds=-1))
    assert len(found) == 1
    assert found[0].endswith("its ledger entry was never published")


# -- the single pass: headers, order, several registers, values off the fast path ---------------


@pytest.fixture
def things(people, ledger_log):
    """A second register whose records hold numbers and member names JSON sorts unusually."""
    return services.register_define(
        code="things",
        name={"kk": "Заттар", "ru": "Вещи", "en": "Things"},
        description={"kk": "Сынақ", "ru": "Тест", "en": "Test"},
        key_field="code",
        schema={"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}},
        search_fields=[],
        subject_paths=[],
    )


THING = {
    "code": "T-1",
    "weight": 1.0,  # integral: written "1", not "1.0"
    "ratio": 0.1,
    "tiny": 1e-7,
    "limit": 2**53,
    "😀": "a name beyond the BMP",
    "\ue000": "a private-use name, sorted after it in UTF-16",
    "nested": {"\U00010000": [1, 2.5, None], "\uffff": {"b": True, "a": False}},
}


def raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_values_outside_the_fast_path_audit_clean_and_are_checked(things, registered):
    version = services.record_create(
        register="things", data=THING, actor=None, agency=None, basis="test"
    )
    ledger.log_integrate(config.get_log("main"))
    assert audit(log="main") == []

    raw(
        "UPDATE registries_recordversion SET data = %s WHERE id = %s",
        [json.dumps(dict(THING, ratio=0.2)), version.pk],
    )
    public_id = version.record.public_id
    assert lines(audit(log="main")) == [f"altered: things {public_id} v1: changed ratio"]


def test_findings_come_in_record_and_version_order(registered):
    forged = []
    for key, number, field in [
        (registered[3], 1, "first_name"),
        (registered[0], 2, "last_name"),
        (registered[0], 1, "birth_date"),
        (registered[1], 1, "last_name"),
    ]:
        version = RecordVersion.objects.get(record__key=key, number=number)
        data = dict(version.data, **{field: "1999-09-09"})
        raw(
            "UPDATE registries_recordversion SET data = %s WHERE id = %s",
            [json.dumps(data), version.pk],
        )
        forged.append((version.record.public_id, number, field))

    expected = [
        f"altered: people {public_id} v{number}: changed {field}"
        for public_id, number, field in [forged[2], forged[1], forged[3], forged[0]]
    ]
    assert lines(audit(log="main")) == expected


def test_a_changed_operation_is_caught_apart_from_the_data(registered):
    version = RecordVersion.objects.get(record__key=registered[2], number=1)
    raw("UPDATE registries_recordversion SET op = 'update' WHERE id = %s", [version.pk])

    assert lines(audit(log="main")) == [
        f"altered: people {version.record.public_id} v1: operation update, logged create"
    ]


def test_a_record_header_ahead_of_its_versions_is_inconsistent(registered):
    record = Record.objects.get(key=registered[1])
    raw("UPDATE registries_record SET version = 3 WHERE id = %s", [record.pk])

    assert lines(audit(log="main")) == [
        f"inconsistent: people {record.public_id} v3: the record says version 3, "
        "its versions end at 1"
    ]


def test_a_header_pointing_at_an_older_version_is_checked_against_that_version(registered):
    record = Record.objects.get(key=registered[0])
    raw("UPDATE registries_record SET version = 1, key = %s WHERE id = %s", [iin(98), record.pk])

    assert lines(audit(log="main")) == [
        f"inconsistent: people {record.public_id} v1: the record says version 1, "
        "its versions end at 2",
        f"inconsistent: people {record.public_id} v1: the record's key differs from its iin",
    ]


def test_a_raw_deletion_flag_is_caught(registered):
    record = Record.objects.get(key=registered[2])
    raw("UPDATE registries_record SET is_deleted = %s WHERE id = %s", [True, record.pk])

    assert lines(audit(log="main")) == [
        f"inconsistent: people {record.public_id} v1: deletion flag differs"
    ]


def test_a_record_without_any_version_is_inconsistent(registered, people):
    record = Record.objects.create(register=people, key=iin(97), version=1)

    assert lines(audit(log="main")) == [
        f"inconsistent: people {record.public_id} v1: the record says version 1, "
        "its versions end at None"
    ]


def test_a_deleted_record_audits_clean(registered):
    services.record_delete(
        register="people",
        key=registered[4],
        expected_version=1,
        actor=None,
        agency=None,
        basis="test",
    )
    ledger.log_integrate(config.get_log("main"))

    assert audit(log="main") == []


def test_the_audit_of_one_register_reports_that_register_only(things, registered):
    thing = services.record_create(
        register="things", data=THING, actor=None, agency=None, basis="test"
    )
    ledger.log_integrate(config.get_log("main"))
    person = RecordVersion.objects.get(record__key=registered[1], number=1)
    thing_id, entry = thing.record.public_id, Entry.objects.get(pk=thing.ledger_entry_id)
    raw("DELETE FROM registries_recordversion WHERE id = %s", [thing.pk])
    raw(
        "UPDATE registries_recordversion SET data = %s WHERE id = %s",
        [json.dumps(dict(person.data, first_name="X")), person.pk],
    )

    assert lines(audit(log="main", register="things")) == [
        f"missing-version: things {thing_id} v1: ledger entry #{entry.index}",
        f"inconsistent: things {thing_id} v1: the record says version 1, its versions end at None",
    ]
    assert lines(audit(log="main", register="people")) == [
        f"altered: people {person.record.public_id} v1: changed first_name"
    ]
    assert len(audit(log="main")) == 3
    assert audit(log="main", register="nothing") == []
