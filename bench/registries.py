#!/usr/bin/env python3
"""Registers: loading people through the services, lookups with access logging, audit replay.

    .venv/bin/python bench/registries.py [--quick] [--persons N] [--profile] [--check]
                                         [--postgres URL]

On PostgreSQL, in a database of its own (created and dropped):

1. **Load.** 1,000,000 synthetic people (quick: 3,000) from ``registries.generator`` are
   written through ``registries.services.records_create_many``, 1,000 per call (one
   transaction): each record is validated against the register's schema and gets its version,
   its ledger entry (salted commitment, per-field commitments), its search values and its
   domain event. In the same run the same rows are bulk-inserted
   (``bulk_create``, 1,000 per transaction) into a scratch table shaped like ``Record`` plus
   the data (same unique indexes), with no versioning and no ledger. The two alternate in
   rounds, so both see the same database and machine state; ``ratio_vs_bulk_insert`` is the
   service rate over the bulk rate (target >= 0.3). The services send their rows with COPY
   (``core.bulk.insert_many``); so that this is not mistaken for less work, the same rows are
   also sent to the scratch table with COPY (and rolled back): ``ratio_vs_copy``. Apart from
   the timed load, a few records are written with their SQL queries counted, and the costs of
   the steps a service call takes (schema validation, commitments, canonical JSON of the
   ledger entry) are timed alone;
   ``--profile`` adds a cProfile of 2,000 service calls (and of the audit, below).
2. **Lookup.** A person by IIN through ``registries.selectors.record_read`` as an official of
   an agency with a grant, with a purpose and a legal basis: each read also writes its access
   record (the data tracker). One client, in process; p50/p95/p99 (target p95 < 10 ms).
3. **Audit.** The ledger is integrated (tiles written, checkpoint signed) and
   ``registries.audit.audit`` replays every published entry against every version; the time
   of each is reported (target for the audit: < 60 s for 1,000,000 versions) and the audit
   must find nothing.

``--quick`` ends within about a minute (3,000 people) and is a smoke test, not a measurement.

Needs a PostgreSQL server on loopback that the ``postgres`` role can create databases on
(``--postgres`` or ``BENCH_POSTGRES_URL``; default ``postgres://postgres@127.0.0.1:5432/``).
The database is dropped and the temporary directory removed on the way out, whatever
happened. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import io
import json
import math
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path[:0] = [str(PROJECT_DIR / "src"), str(BENCH_DIR)]

BATCH = 1000
LOG = "registers"
RATIO_TARGET = 0.3
LOOKUP_P95_TARGET_MS = 10.0
AUDIT_TARGET_S_PER_MILLION = 60.0
BASIS = "bench: synthetic data"


CLIENTS = 16


@dataclass(frozen=True)
class Mode:
    name: str
    persons: int
    rounds: int  # the load alternates bulk insert and services this many times
    lookups: int
    http_warmup_s: float
    http_round_s: float


FULL = Mode("full", 1_000_000, 10, 5000, 3.0, 15.0)
QUICK = Mode("quick", 3_000, 2, 500, 1.0, 3.0)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def say(text: str) -> None:
    print(text, flush=True)


@contextlib.contextmanager
def temporary_database(base_url: str, name: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    parts = urlsplit(base_url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"the benchmark runs on loopback only; got {parts.hostname!r}")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(drop)
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(drop)


def server_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production server started for a benchmark: this process's
    settings, the benchmark's database and directories, no access log on standard output."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(BENCH_DIR), str(PROJECT_DIR / "src"), os.environ.get("PYTHONPATH", "")]
        ),
        "DATABASE_URL": database_url,
        "SHANYRAQ_VAR_DIR": str(var_dir),
        **extra,
    }
    env.pop("SHANYRAQ_ACCESS_LOG", None)
    return env


def configure_with_pki(database_url: str, work: Path) -> dict[str, str]:
    """``configure`` (``work / "var"``), with a PKI and a folder of issued documents of the
    run's own under ``work``. Returns those variables: a server started later needs them."""
    pki_env = {
        "PKI_DIR": str(work / "pki"),
        "PKI_PASSPHRASE": "bench-only-passphrase",
        "DOCUMENTS_ROOT": str(work / "documents"),
    }
    os.environ.update(pki_env)
    configure(database_url, work / "var")
    return pki_env


def configure(database_url: str, var_dir: Path) -> None:
    """The production settings, pointed at the benchmark's database and directories."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "benchsite.settings",
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SHANYRAQ_VAR_DIR": str(var_dir),
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            "LEDGER_LOGS": LOG,
            "LEDGER_ORIGIN_PREFIX": "bench.shanyraq.example/ledger",
            "LEDGER_KEY_DIR": str(var_dir / "keys"),
            "LEDGER_STORAGE_DIR": str(var_dir / "ledger"),
            "LEDGER_WITNESSES_FILE": str(var_dir / "keys" / "witnesses.json"),
            # Loopback only: messages to citizens go to the fake gateway's file.
            "SMS_GATEWAY": "shanyraq.notifications.sms.FakeSmsGateway",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    (var_dir / "static").mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("ledger", "keygen", stdout=io.StringIO())


def profiled(what: str, work: Callable[[], object], top: int = 25) -> None:
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.runcall(work)
    say(f"    profile of {what}, by own time:")
    stats = pstats.Stats(profile, stream=sys.stdout).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    say(f"    profile of {what}, by cumulative time:")
    stats.sort_stats("cumulative").print_stats(top)


# --- 1. load ----------------------------------------------------------------------------------


def scratch_model() -> Any:
    """A table shaped like ``Record`` plus the data, for the plain bulk insert."""
    import uuid

    from django.db import connection, models

    class ScratchRecord(models.Model):
        register_id = models.BigIntegerField()
        key = models.CharField(max_length=80)
        public_id = models.UUIDField(default=uuid.uuid4, unique=True)
        version = models.PositiveIntegerField(default=1)
        data = models.JSONField()
        created_at = models.DateTimeField()

        class Meta:
            app_label = "registries"
            db_table = "bench_scratch_record"
            managed = False
            constraints = [  # the same unique indexes as Record's
                models.UniqueConstraint(fields=["register_id", "key"], name="bench_scratch_key")
            ]

        def __str__(self) -> str:
            return str(self.key)

    with connection.schema_editor() as editor:
        editor.create_model(ScratchRecord)
    return ScratchRecord


def bulk_insert(model: Any, register_id: int, rows: Sequence[dict[str, Any]]) -> None:
    from django.db import transaction
    from django.utils import timezone

    for start in range(0, len(rows), BATCH):
        now = timezone.now()
        with transaction.atomic():
            model.objects.bulk_create(
                [
                    model(register_id=register_id, key=d["iin"], data=d, created_at=now)
                    for d in rows[start : start + BATCH]
                ],
                batch_size=BATCH,
            )


def copy_insert(model: Any, register_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """The same rows as ``bulk_insert``, sent with COPY as the services send theirs."""
    from django.db import transaction
    from django.utils import timezone

    from shanyraq.core.bulk import insert_many

    for start in range(0, len(rows), BATCH):
        now = timezone.now()
        with transaction.atomic():
            insert_many(
                model,
                [
                    model(register_id=register_id, key=d["iin"], data=d, created_at=now)
                    for d in rows[start : start + BATCH]
                ],
            )


def through_services(rows: Sequence[dict[str, Any]]) -> None:
    from shanyraq.registries.services import records_create_many

    for start in range(0, len(rows), BATCH):
        records_create_many(
            register="population",
            items=rows[start : start + BATCH],
            actor=None,
            agency=None,
            basis=BASIS,
        )


def step_costs(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Microseconds per record of the pure-Python steps a service call takes, timed alone."""
    from shanyraq.core.canonical_json import canonicalize
    from shanyraq.registries import commitments
    from shanyraq.registries.models import Register
    from shanyraq.registries.validation import schema_problems

    register = Register.objects.get(code="population")
    schema = json.dumps(
        register.schemas.get(version=register.current_schema).schema, sort_keys=True
    )
    costs: dict[str, float] = {}

    def timed(name: str, step: Callable[[dict[str, Any]], object]) -> None:
        started = time.perf_counter()
        for data in rows:
            step(data)
        costs[name] = round((time.perf_counter() - started) / len(rows) * 1e6, 1)

    salt = commitments.new_salt()
    timed("validate_us", lambda d: schema_problems(schema, d))
    timed("size_check_us", lambda d: len(canonicalize(d)))
    timed("commit_us", lambda d: commitments.commit(salt, d))
    timed("field_commitments_us", lambda d: commitments.field_commitments(salt, d))
    fields = commitments.field_commitments(salt, rows[0])
    timed(
        "ledger_entry_jcs_us",
        lambda d: canonicalize(
            {"v": 1, "type": "registry.record", "fields": fields, "x": d["iin"]}
        ),
    )
    return costs


def count_queries(rows: Sequence[dict[str, Any]]) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        through_services(rows)
    return len(queries.captured_queries) / len(rows)


def bench_load(mode: Mode, rows: list[dict[str, Any]], extra: list[dict[str, Any]]) -> dict:
    from django.db import connection, transaction

    from shanyraq.registries.models import Register

    register_id = Register.objects.get(code="population").pk
    model = scratch_model()
    per_round = -(-len(rows) // mode.rounds)
    bulk_s = services_s = copy_s = 0.0
    ratios = []
    for number in range(mode.rounds):
        part = rows[number * per_round : (number + 1) * per_round]
        if not part:
            break
        # COPY before the bulk insert of the same rows, which it would otherwise collide with.
        order = ("copy", "bulk", "services") if number % 2 == 0 else ("services", "copy", "bulk")
        took = {}
        for what in order:
            gc.collect()
            started = time.perf_counter()
            if what == "bulk":
                bulk_insert(model, register_id, part)
            elif what == "copy":
                with transaction.atomic():  # measured, then taken out again
                    copy_insert(model, register_id, part)
                    took[what] = time.perf_counter() - started
                    transaction.set_rollback(True)
                continue
            else:
                through_services(part)
            took[what] = time.perf_counter() - started
        bulk_s += took["bulk"]
        services_s += took["services"]
        copy_s += took["copy"]
        ratios.append(took["bulk"] / took["services"])
        say(
            f"  round {number + 1}/{mode.rounds}: {len(part)} rows, services "
            f"{len(part) / took['services']:,.0f}/s, bulk {len(part) / took['bulk']:,.0f}/s"
        )
    n = len(rows)
    figures: dict[str, Any] = {
        "records": n,
        "records_per_s": round(n / services_s),
        "bulk_rows_per_s": round(n / bulk_s),
        "load_s": round(services_s, 1),
        "bulk_s": round(bulk_s, 1),
        "ratio_vs_bulk_insert": round(bulk_s / services_s, 4),
        "copy_rows_per_s": round(n / copy_s),
        "ratio_vs_copy": round(copy_s / services_s, 4),
        "ratio_per_round": [round(r, 4) for r in ratios],
    }
    figures["queries_per_record"] = round(count_queries(extra[:1000]), 3)
    figures["step_costs_us"] = step_costs(extra[:2000])
    figures["step_costs_us"]["service_call_us"] = round(services_s / n * 1e6, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        figures["database_bytes_per_record"] = round(cursor.fetchone()[0] / n)
    if PROFILE:
        profiled("2 x 1,000 records", lambda: through_services(extra[1000:3000]))
    with connection.schema_editor() as editor:
        editor.delete_model(model)
    return figures


# --- 2. lookup --------------------------------------------------------------------------------

LOOKUP_ACTOR: dict[str, Any] = {}  # the official bench_lookup set up, for the HTTP lookups
PURPOSE = "bench: checking an applicant's identity"
LEGAL_BASIS = "Law on population migration, art. 1"


def bench_lookup(mode: Mode, iins: Sequence[str]) -> dict[str, Any]:
    try:
        from shanyraq.registries import selectors
    except (ImportError, RuntimeError) as exc:  # the data tracker is not installed
        return bench_orm_lookup(mode, iins, f"{type(exc).__name__}: {exc}")
    from shanyraq.accounts.models import Membership, Role, User
    from shanyraq.catalog.models import Agency
    from shanyraq.registries.models import Grant, Register

    agency = Agency.objects.create(
        code="bench-migration",
        kind="committee",
        name={"kk": "Көші-қон комитеті", "ru": "Комитет миграции", "en": "Migration committee"},
        short_name={"kk": "КҚК", "ru": "КМ", "en": "MC"},
        description={"kk": "Бенчмарк", "ru": "Бенчмарк", "en": "Benchmark"},
    )
    clerk = User.objects.create(username="bench-clerk")
    Membership.objects.create(user=clerk, agency=agency, role=Role.CLERK)
    Grant.objects.create(
        agency=agency,
        register=Register.objects.get(code="population"),
        role=Role.CLERK,
        fields=["iin", "last_name", "first_name", "middle_name", "birth_date", "sex"],
        legal_basis=LEGAL_BASIS,
    )
    LOOKUP_ACTOR.update(clerk=clerk, agency=agency)
    rng = random.Random(5)
    chosen = [rng.choice(iins) for _ in range(mode.lookups + 100)]

    def read(iin: str) -> None:
        view = selectors.record_read(
            register="population",
            key=iin,
            actor=clerk,
            agency=agency,
            purpose=PURPOSE,
            basis=LEGAL_BASIS,
        )
        assert view.key == iin

    return timed_lookups(
        chosen,
        read,
        "selectors.record_read (an official with a grant, a purpose and a basis; "
        "writes an access record)",
    )


def timed_lookups(chosen: Sequence[str], read: Callable[[str], None], path: str) -> dict:
    for iin in chosen[:100]:  # warm-up
        read(iin)
    timings = []
    for iin in chosen[100:]:
        started = time.perf_counter()
        read(iin)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "lookup_path": path,
        "lookups": len(timings),
        "lookup_p50_ms": round(percentile(timings, 0.50), 3),
        "lookup_p95_ms": round(percentile(timings, 0.95), 3),
        "lookup_p99_ms": round(percentile(timings, 0.99), 3),
    }


def bench_orm_lookup(mode: Mode, iins: Sequence[str], why: str) -> dict[str, Any]:
    """The current version of a person's record by IIN, straight from the ORM (no access
    record): what the selector would read, without the data tracker it could not load."""
    from django.db.models import F

    from shanyraq.registries.models import RecordVersion, Register

    say(f"   selectors.record_read cannot be used ({why}); timing a direct ORM lookup instead")
    register = Register.objects.get(code="population")
    rng = random.Random(5)
    chosen = [rng.choice(iins) for _ in range(mode.lookups + 100)]

    def read(iin: str) -> None:
        version = (
            RecordVersion.objects.select_related("record")
            .filter(record__register=register, record__key=iin, number=F("record__version"))
            .get()
        )
        assert version.data["iin"] == iin

    return timed_lookups(chosen, read, f"direct ORM lookup, no access record ({why})")


def bench_http_lookup(mode: Mode, iins: Sequence[str], database_url: str, var_dir: Path) -> dict:
    """The same lookup through ``GET /api/v1/registries/population/records/{iin}`` under the
    production server (gunicorn, as ``shanyraq serve`` runs it), 16 clients on loopback.

    Two loads: as fast as the server answers (closed loop: each client sends its next request
    when the previous answer arrives, so latency is mostly waiting in line), and paced at half
    the throughput that found (each client starts a request at fixed intervals), the way a
    server runs with room to spare. Every request is a real read: token, grant, purpose and
    basis checked, the record read and an access record written.
    """
    import urllib.parse

    import catalog as load  # the catalog benchmark's server and load generator
    from shanyraq.access_log.models import AccessRecord
    from shanyraq.accounts.services import token_create

    clerk, agency = LOOKUP_ACTOR["clerk"], LOOKUP_ACTOR["agency"]
    _token, secret = token_create(user=clerk, name="bench")
    query = urllib.parse.urlencode(
        {"agency": agency.code, "purpose": PURPOSE, "basis": LEGAL_BASIS}
    )
    rng = random.Random(11)
    paths = [
        f"/api/v1/registries/population/records/{rng.choice(iins)}?{query}" for _ in range(2000)
    ]
    headers = f"Authorization: Bearer {secret}\r\n"
    env = server_env(database_url, var_dir)
    port = load._free_port()
    before = AccessRecord.objects.count()
    with load.production_server(env, port, var_dir / "server.log") as pgid:
        status, body = load._get_with(port, paths[0], headers)
        if status != 200 or json.loads(body)["key"] not in paths[0]:
            raise RuntimeError(f"lookup over HTTP: {status} {body[:300]!r}")
        if AccessRecord.objects.count() != before + 1:
            raise RuntimeError("a lookup over HTTP did not write exactly one access record")
        workers = len(load._group_pids(pgid)) - 1
        generator = load.LoadGenerator(port, CLIENTS, 2, pgid, urlsplit(database_url).path[1:])
        failed = True
        try:
            generator.run(paths, mode.http_warmup_s, headers=headers)
            saturated = generator.run(paths, mode.http_round_s, headers=headers)
            pace = CLIENTS / max(1.0, saturated.rps / 2)
            paced = generator.run(paths, mode.http_round_s, headers=headers, pace_s=pace)
            failed = False
        finally:
            generator.close(failed=failed)
    errors = sum(r.errors + r.bad_status for r in (saturated, paced))
    return {
        "http_lookup_path": "GET /api/v1/registries/population/records/{iin} with a bearer "
        f"token, {CLIENTS} clients, gunicorn {workers} sync workers",
        "http_lookup_saturated_rps": round(saturated.rps, 1),
        "http_lookup_saturated_p50_ms": round(saturated.percentile_ms(0.50), 2),
        "http_lookup_saturated_p95_ms": round(saturated.percentile_ms(0.95), 2),
        "http_lookup_paced_rps": round(paced.rps, 1),
        "http_lookup_paced_p50_ms": round(paced.percentile_ms(0.50), 2),
        "http_lookup_paced_p95_ms": round(paced.percentile_ms(0.95), 2),
        "http_lookup_paced_p99_ms": round(paced.percentile_ms(0.99), 2),
        "http_lookup_errors": errors,
        "access_records_written": AccessRecord.objects.count() - before,
    }


# --- 3. audit ---------------------------------------------------------------------------------


def bench_audit() -> dict[str, Any]:
    from shanyraq.ledger_django import config
    from shanyraq.ledger_django import services as ledger
    from shanyraq.registries.audit import audit
    from shanyraq.registries.models import RecordVersion

    started = time.perf_counter()
    outcome = ledger.log_integrate(config.get_log(LOG))
    integrate_s = time.perf_counter() - started
    versions = RecordVersion.objects.count()
    gc.collect()
    started = time.perf_counter()
    findings = audit(log=LOG)
    audit_s = time.perf_counter() - started
    for finding in findings[:10]:
        say("  " + finding.line())
    if PROFILE:
        profiled("the audit", lambda: audit(log=LOG))
    return {
        "ledger_entries": outcome.published_size,
        "integrate_s": round(integrate_s, 1),
        "audit_versions": versions,
        "audit_s": round(audit_s, 1),
        "audit_versions_per_s": round(versions / audit_s),
        "audit_s_per_million_estimate": round(1_000_000 / (versions / audit_s), 1),
        "audit_findings": len(findings),
    }


# --- main -------------------------------------------------------------------------------------

PROFILE = False


def main() -> int:
    global PROFILE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3,000 people instead of 1,000,000")
    parser.add_argument("--persons", type=int, help="Override the number of people.")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile 2,000 service calls and the audit."
    )
    parser.add_argument("--check", action="store_true", help="Exit 1 when a target is missed.")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/"),
    )
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL
    if args.persons:
        mode = dataclasses.replace(mode, name=f"{mode.name}, {args.persons} persons")
        mode = dataclasses.replace(mode, persons=args.persons)
    PROFILE = args.profile

    def terminate(signum: int, frame: Any) -> None:
        print("stopped: dropping the database", file=sys.stderr)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    started = time.monotonic()
    summary: dict[str, Any] = {"bench": "registries", "mode": mode.name}
    work = Path(tempfile.mkdtemp(prefix="shanyraq-bench-registries-"))
    try:
        database = f"shanyraq_bench_registries_{os.getpid()}"
        with temporary_database(args.postgres, database) as url:
            configure(url, work / "var")
            from shanyraq.registries import generator
            from shanyraq.registries.definitions import registers_define_all

            registers_define_all()
            say(f"making {mode.persons:,} people (+3,000 for the cost breakdown) ...")
            t0 = time.perf_counter()
            people = [
                d for c, d in generator.records(mode.persons + 3000, seed=1) if c == "population"
            ]
            rows, extra = people[: mode.persons], people[mode.persons :]
            summary["generate_s"] = round(time.perf_counter() - t0, 1)
            gc.collect()
            gc.freeze()  # the rows live to the end; keep the collector off them
            say(f"1. load: services vs bulk insert, {mode.rounds} rounds")
            summary.update(bench_load(mode, rows, extra))
            say(
                f"   services {summary['records_per_s']:,}/s, "
                f"bulk {summary['bulk_rows_per_s']:,}/s, "
                f"ratio {summary['ratio_vs_bulk_insert']}; "
                f"{summary['queries_per_record']} queries per record; "
                f"step costs (us): {summary['step_costs_us']}"
            )
            iins = [d["iin"] for d in rows]
            del rows, people
            say("2. lookup by IIN through selectors.record_read")
            summary.update(bench_lookup(mode, iins))
            say(
                f"   p50 {summary['lookup_p50_ms']} ms, p95 {summary['lookup_p95_ms']} ms, "
                f"p99 {summary['lookup_p99_ms']} ms"
            )
            say(f"   over HTTP: {CLIENTS} clients, as fast as answered, then paced at half that")
            summary.update(bench_http_lookup(mode, iins, url, work / "var"))
            say(
                f"   saturated {summary['http_lookup_saturated_rps']} req/s, "
                f"p95 {summary['http_lookup_saturated_p95_ms']} ms; paced "
                f"{summary['http_lookup_paced_rps']} req/s, "
                f"p95 {summary['http_lookup_paced_p95_ms']} ms; "
                f"errors {summary['http_lookup_errors']}"
            )
            say("3. integrate the ledger, then audit every version")
            summary.update(bench_audit())
            say(
                f"   integrate {summary['integrate_s']} s; audit of "
                f"{summary['audit_versions']:,} versions {summary['audit_s']} s "
                f"({summary['audit_findings']} findings)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    audit_target = AUDIT_TARGET_S_PER_MILLION * max(1, summary["audit_versions"]) / 1_000_000
    checks = {
        "ratio_vs_bulk_insert": summary["ratio_vs_bulk_insert"] >= RATIO_TARGET,
        "lookup_p95_ms": summary["lookup_p95_ms"] < LOOKUP_P95_TARGET_MS,
        "http_lookup_paced_p95_ms": summary["http_lookup_paced_p95_ms"] < LOOKUP_P95_TARGET_MS
        and summary["http_lookup_errors"] == 0,
        "audit_s": summary["audit_s"] < audit_target and summary["audit_findings"] == 0,
    }
    summary["targets_met"] = checks
    summary["seconds"] = round(time.monotonic() - started, 1)
    say(
        "\ntargets: "
        + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks.items())
        + f"; {summary['seconds']} s in all"
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 1 if args.check and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
