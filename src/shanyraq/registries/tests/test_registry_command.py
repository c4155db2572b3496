"""``shanyraq registry define | generate | audit``: output and exit status."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from shanyraq.ledger_django import services as ledger_services
from shanyraq.ledger_django.models import Entry
from shanyraq.registries.models import Record, RecordVersion, Register, RegisterSchema

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> tuple[int, str]:
    """Run the command as the console would; return its exit status and its output."""
    out = io.StringIO()
    try:
        call_command("registry", *args, stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue() + f"error: {error}"
    return 0, out.getvalue()


def test_define_creates_the_registers_once():
    assert run("define") == (
        0,
        "population\tschema v1\nreal_estate\tschema v1\nbusiness\tschema v1\n",
    )
    assert run("define")[0] == 0
    assert Register.objects.count() == 3
    assert RegisterSchema.objects.count() == 3


def test_generate_writes_and_a_rerun_skips_everything(ledger_log):
    status, output = run("generate", "--persons", "40", "--seed", "3")
    assert status == 0
    written = Record.objects.count()
    assert output.startswith("written: population 40, real_estate ")
    assert "skipped (already there): 0;" in output
    status, output = run("generate", "--persons", "40", "--seed", "3", "--batch", "7")
    assert status == 0
    assert output.startswith("written: population 0, real_estate 0, business 0; ")
    assert f"skipped (already there): {written};" in output
    assert Record.objects.count() == RecordVersion.objects.count() == written


@pytest.mark.parametrize(
    "args",
    [
        ("generate", "--persons", "-1"),
        ("generate", "--persons", "5", "--batch", "0"),
        ("audit", "--register", "cattle"),
        ("audit", "--log", "nonexistent"),
    ],
)
def test_bad_usage_exits_2_and_writes_nothing(ledger_log, args):
    run("define")
    status, output = run(*args)
    assert status == 2
    assert "error: " in output
    assert Record.objects.count() == 0
    assert Entry.objects.count() == 0


def test_a_missing_argument_exits_2_from_the_console():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shanyraq.config.settings.test"}
    done = subprocess.run(
        [sys.executable, "-m", "django", "registry", "generate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--persons" in done.stderr


def test_an_untouched_database_audits_clean(ledger_log):
    run("generate", "--persons", "30", "--seed", "8")
    outcome = ledger_services.log_integrate(ledger_log)
    versions = RecordVersion.objects.count()
    assert outcome.published_size == versions
    status, output = run("audit")
    assert status == 0
    assert output.startswith(
        f"audit of all registers against log main ({versions} entries published): "
        f"{versions} versions, 0 findings, "
    )
    people = Record.objects.filter(register__code="population").count()
    assert run("audit", "--register", "population")[1].startswith(
        f"audit of register population against log main ({versions} entries published): "
        f"{people} versions, 0 findings, "
    )


def test_a_version_changed_behind_the_services_back_is_reported(ledger_log):
    run("generate", "--persons", "30", "--seed", "8")
    ledger_services.log_integrate(ledger_log)
    version = (
        RecordVersion.objects.filter(record__register__code="population")
        .select_related("record")
        .order_by("pk")
        .first()
    )
    data = dict(version.data, last_name="Басқаұлы")
    table = connection.ops.quote_name(RecordVersion._meta.db_table)
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET data = %s{cast} WHERE id = %s",
            [json.dumps(data, ensure_ascii=False), version.pk],
        )
    status, output = run("audit")
    assert status == 1
    lines = output.splitlines()
    assert lines[0] == f"altered: population {version.record.public_id} v1: changed last_name"
    assert ", 1 finding, " in lines[1]
    assert lines[2] == "error: the registers differ from the ledger: 1 finding"
    # The other registers are untouched.
    assert run("audit", "--register", "business")[0] == 0
