"""The audit catches every change made to the registers behind the services' back."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection, transaction

from shanyraq.core.national_id import make_iin
from shanyraq.ledger_django import services as ledger
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
    from shanyraq.ledger_django.models import Entry

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
