#!/usr/bin/env python3
"""Online applications: submissions over HTTP, time to an automatic decision, the queue page.

    .venv/bin/python bench/casework.py [--quick] [--check] [--postgres URL]

On PostgreSQL, in a database of its own (created and dropped), with the production server
(gunicorn sync workers, as ``shanyraq serve`` runs it) on a free loopback port:

1. **Submissions.** A service with a 20-field form and automatic decision rules. Sixteen
   clients, each signed in as a different citizen with a bearer token, submit applications
   with ``POST /api/v1/applications`` (``"submit": true``, a fresh ``Idempotency-Key`` each):
   every request authenticates the token, checks that the key is new, finds the service's
   current version, checks the 20 answers against the form, numbers the application, writes
   it submitted with its history, starts the case and queues its automatic decision and a
   notification (the form has no register prefill, so nothing is read from the registers).
   In alternating rounds the same clients post the same JSON to ``/bench/insert``, a minimal
   Django view that stores it as one row.
   ``ratio_vs_insert`` = submissions per second / inserts per second (target >= 0.4).
2. **Decisions.** ``shanyraq worker`` is started; applications are submitted at a steady rate
   and the time from each submission's commit to its automatic decision is read from the
   database (target p95 < 2 s with one worker).
3. **Queue.** The database is filled with 1,000,000 applications (quick: 20,000) of one
   agency in various steps and deadlines, and a reviewer's queue page
   (``/backoffice/cases/``, and filtered by "overdue") is requested over HTTP by one client:
   p50/p95 (target p95 < 150 ms).

``--quick`` is a smoke test of a minute or two, not a measurement. The last line printed is
one JSON object with every figure. Everything is bounded in time and count, traffic stays on
loopback, and the server, the worker and the database are removed on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gc
import json
import math
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path[:0] = [str(PROJECT_DIR / "src"), str(BENCH_DIR)]

import catalog as http_bench  # noqa: E402  (the catalog benchmark's server helpers)
import registries as register_bench  # noqa: E402  (its database and settings helpers)

HOST = "127.0.0.1"
CLIENTS = 16
SERVICE = "bench-household-benefit"
RATIO_TARGET = 0.4
DECISION_P95_TARGET_S = 2.0
QUEUE_P95_TARGET_MS = 150.0


@dataclass(frozen=True)
class Mode:
    name: str
    round_s: float
    rounds: int
    decisions: int
    decision_rate: float  # submissions per second while the worker runs
    applications: int  # in the database for the queue measurement
    queue_requests: int


FULL = Mode("full", 10.0, 3, 400, 20.0, 1_000_000, 400)
QUICK = Mode("quick", 3.0, 1, 40, 10.0, 20_000, 60)


def say(text: str) -> None:
    print(text, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _label(en: str, ru: str, kk: str) -> dict[str, str]:
    return {"kk": kk, "ru": ru, "en": en}


# --- the service ------------------------------------------------------------------------------

FIELDS: list[tuple[str, dict[str, Any], Any]] = [
    ("last_name", {"type": "string", "minLength": 1, "maxLength": 100}, "Сейітқали"),
    ("first_name", {"type": "string", "minLength": 1, "maxLength": 100}, "Әлия"),
    ("birth_date", {"type": "string", "format": "date"}, "1988-04-12"),
    ("phone", {"type": "string", "pattern": "^\\+7[0-9]{10}$"}, "+77011234567"),
    ("email", {"type": "string", "format": "email"}, "aliya@example.kz"),
    ("region", {"type": "string", "enum": ["almaty", "astana", "shymkent"]}, "almaty"),
    ("locality", {"type": "string", "minLength": 1, "maxLength": 100}, "Алматы"),
    ("street", {"type": "string", "minLength": 1, "maxLength": 100}, "Абай даңғылы"),
    ("building", {"type": "string", "minLength": 1, "maxLength": 20}, "150"),
    ("flat", {"type": "string", "maxLength": 20}, "12"),
    ("household_size", {"type": "integer", "minimum": 1, "maximum": 20}, 4),
    ("children", {"type": "integer", "minimum": 0, "maximum": 15}, 2),
    ("monthly_income", {"type": "integer", "minimum": 0, "maximum": 100000000}, 180000),
    ("employment", {"type": "string", "enum": ["employed", "self", "none"]}, "employed"),
    ("employer", {"type": "string", "maxLength": 200}, "ЖШС «Алатау»"),
    ("bank_iban", {"type": "string", "pattern": "^KZ[0-9A-Z]{18}$"}, "KZ123456789012345678"),
    ("disability", {"type": "boolean"}, False),
    ("owns_housing", {"type": "boolean"}, False),
    ("comment", {"type": "string", "maxLength": 1000}, "Өтінішті қарауыңызды сұраймын."),
    ("consent", {"type": "boolean", "enum": [True]}, True),
]
ANSWERS = {name: value for name, _spec, value in FIELDS}


def service_definition() -> dict[str, Any]:
    names = [name for name, _spec, _value in FIELDS]
    form = {
        "schema": {
            "type": "object",
            "required": [n for n in names if n not in {"flat", "employer", "comment"}],
            "properties": {name: spec for name, spec, _value in FIELDS},
        },
        "ui": {
            "steps": [
                {"key": "person", "title": _label("You", "Вы", "Сіз"), "fields": names[:10]},
                {
                    "key": "household",
                    "title": _label("Household", "Семья", "Отбасы"),
                    "fields": names[10:],
                },
            ],
            "labels": {n: _label(n, n, n) for n in names},
        },
    }
    process = {
        "start": "check",
        "steps": [
            {"id": "check", "kind": "auto"},
            {
                "id": "review",
                "kind": "task",
                "role": "reviewer",
                "deadline_days": 5,
                "label": _label("Review", "Рассмотрение", "Қарау"),
            },
        ],
        "transitions": [
            {"from": "check", "action": "approve", "to": "approved"},
            {"from": "check", "action": "reject", "to": "rejected"},
            {"from": "check", "action": "undecided", "to": "review"},
            {"from": "review", "action": "approve", "to": "approved"},
            {"from": "review", "action": "reject", "to": "rejected"},
        ],
    }
    rules = {
        "conditions": [
            {
                "id": "adult",
                "label": _label(
                    "The applicant is an adult",
                    "Заявитель совершеннолетний",
                    "Өтініш беруші кәмелетке толған",
                ),
                "rule": {">=": [{"age": [{"var": "answers.birth_date"}, {"var": "today"}]}, 18]},
            },
            {
                "id": "income",
                "label": _label(
                    "Income per person is under the threshold",
                    "Доход на человека ниже порога",
                    "Бір адамға шаққандағы табыс шектен төмен",
                ),
                "rule": {
                    "<": [
                        {
                            "/": [
                                {"var": "answers.monthly_income"},
                                {"var": "answers.household_size"},
                            ]
                        },
                        70000,
                    ]
                },
            },
            {
                "id": "no_housing",
                "label": _label("Owns no housing", "Не владеет жильём", "Тұрғын үйі жоқ"),
                "rule": {"!": {"var": "answers.owns_housing"}},
            },
            {
                "id": "consent",
                "label": _label("Consent given", "Согласие дано", "Келісім берілді"),
                "rule": {"==": [{"var": "answers.consent"}, True]},
            },
        ],
        "decide": "all",
    }
    return {"form": form, "process": process, "rules": rules}


def set_up(persons: int) -> dict[str, Any]:
    """The agency, the service, citizens with population records and tokens, a reviewer."""
    from django.db import connection

    from shanyraq.accounts.models import Membership, Role, User
    from shanyraq.accounts.services import token_create
    from shanyraq.catalog import services as catalog
    from shanyraq.catalog.models import Agency, Category
    from shanyraq.registries import generator
    from shanyraq.registries.definitions import registers_define_all
    from shanyraq.registries.services import records_create_many

    registers_define_all()
    agency = Agency.objects.create(
        code="bench-social",
        kind="committee",
        name=_label("Social committee", "Комитет соцзащиты", "Әлеуметтік комитет"),
        short_name=_label("SC", "КС", "ӘК"),
        description=_label("Benchmark", "Бенчмарк", "Бенчмарк"),
    )
    Category.objects.create(code="bench", name=_label("Benefits", "Пособия", "Жәрдемақылар"))
    definition = service_definition()
    content = catalog.ServiceContent(
        category="bench",
        name=_label("Household benefit", "Пособие семье", "Отбасыға жәрдемақы"),
        description=_label("Benchmark service", "Сервис бенчмарка", "Бенчмарк қызметі"),
        who_may_apply=_label("Adults", "Взрослые", "Ересектер"),
        result=_label("A decision", "Решение", "Шешім"),
        legal_basis=_label("Bench law", "Закон бенчмарка", "Бенчмарк заңы"),
        deadline_days=5,
        fully_online=True,
        **definition,
    )
    version = catalog.service_create(actor=None, agency=agency, code=SERVICE, content=content)
    catalog.service_version_publish(actor=None, version=version)
    people = [d for c, d in generator.records(persons * 3, seed=3) if c == "population"]
    people = people[:persons]
    records_create_many(register="population", items=people, actor=None, agency=None, basis="bench")
    tokens = []
    for data in people:
        user = User.objects.create(username=f"citizen-{data['iin']}", iin=data["iin"])
        tokens.append(token_create(user=user, name="bench")[1])
    reviewer = User.objects.create(username="bench-reviewer")
    Membership.objects.create(user=reviewer, agency=agency, role=Role.REVIEWER)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_row (id bigserial PRIMARY KEY, payload text NOT NULL)")
    return {"agency": agency, "tokens": tokens, "reviewer": reviewer, "people": people}


# --- the load ---------------------------------------------------------------------------------


def _post(path: str, token: str, body: bytes, key: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: shanyraq-bench\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _client(
    port: int, path: str, token: str, body: bytes, deadline: float, out: dict[str, Any]
) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        request = _post(path, token, body, secrets.token_hex(12))
        started = time.perf_counter()
        try:
            _transport, connection = await loop.create_connection(
                http_bench._Connection, HOST, port
            )
            status = await asyncio.wait_for(connection.send(request), timeout=30)
        except (TimeoutError, OSError, ValueError):
            out["errors"] += 1
            await asyncio.sleep(0.05)
            continue
        finally:
            with contextlib.suppress(Exception):
                connection.transport.close()  # type: ignore[union-attr]
        out["latencies"].append(time.perf_counter() - started)
        if status not in (200, 201):
            out["bad"] += 1
            if out["bad"] <= 3:
                out["samples"].append(bytes(connection.buffer[:600]))
        else:
            out["ok"] += 1


async def _load(port: int, path: str, tokens: Sequence[str], body: bytes, seconds: float) -> dict:
    out: dict[str, Any] = {"ok": 0, "bad": 0, "errors": 0, "latencies": [], "samples": []}
    deadline = asyncio.get_running_loop().time() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(port, path, tokens[i % len(tokens)], body, deadline, out) for i in range(CLIENTS))
    )
    out["seconds"] = time.perf_counter() - started
    return out


def run_load(port: int, path: str, tokens: Sequence[str], body: bytes, seconds: float) -> dict:
    return asyncio.run(_load(port, path, tokens, body, seconds))


def bench_submissions(mode: Mode, port: int, tokens: Sequence[str]) -> dict[str, Any]:
    body = json.dumps({"service": SERVICE, "answers": ANSWERS, "submit": True}).encode()
    api, insert = "/api/v1/applications", "/bench/insert"
    for path in (api, insert):  # warm up every worker
        run_load(port, path, tokens, body, 1.0)
    totals = {"api": [0, 0.0, []], "insert": [0, 0.0, []]}
    bad: list[bytes] = []
    errors = 0
    for number in range(mode.rounds):
        order = ("api", "insert") if number % 2 == 0 else ("insert", "api")
        for name in order:
            gc.collect()
            out = run_load(port, api if name == "api" else insert, tokens, body, mode.round_s)
            totals[name][0] += out["ok"]
            totals[name][1] += out["seconds"]
            totals[name][2].extend(out["latencies"])
            errors += out["errors"] + out["bad"]
            bad.extend(out["samples"])
            say(f"  round {number + 1}: {name} {out['ok'] / out['seconds']:,.1f}/s")
    for sample in bad[:3]:
        say(f"  unexpected answer: {sample!r}")
    api_rps = totals["api"][0] / totals["api"][1]
    insert_rps = totals["insert"][0] / totals["insert"][1]
    return {
        "submissions_per_s": round(api_rps, 1),
        "inserts_per_s": round(insert_rps, 1),
        "ratio_vs_insert": round(api_rps / insert_rps, 3) if insert_rps else 0.0,
        "submission_p50_ms": round(percentile(totals["api"][2], 0.5) * 1000, 1),
        "submission_p95_ms": round(percentile(totals["api"][2], 0.95) * 1000, 1),
        "insert_p95_ms": round(percentile(totals["insert"][2], 0.95) * 1000, 1),
        "submission_errors": errors,
    }


# --- decisions --------------------------------------------------------------------------------


@contextlib.contextmanager
def worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "shanyraq.config.cli", "worker", "--interval", "0.1"],
            env=env,
            cwd=PROJECT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def bench_decisions(mode: Mode, port: int, tokens: Sequence[str], env: dict, var: Path) -> dict:
    from django.db.models import Count

    from shanyraq.casework.models import Application, WorkItem

    with worker(env, var / "worker.log"):
        # The load's backlog first: every submission of step 1 waits for its decision.
        backlog = WorkItem.objects.filter(done_at__isnull=True).count()
        allowed = 120 + backlog / 10  # one worker decides far more than 10 a second
        deadline = time.monotonic() + allowed
        started = time.monotonic()
        while WorkItem.objects.filter(done_at__isnull=True).exists():
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the worker did not catch up with a backlog of {backlog} in {allowed:.0f} s"
                )
            time.sleep(0.5)
        say(f"   the worker decided a backlog of {backlog} in {time.monotonic() - started:.0f} s")
        started_at = datetime.datetime.now(datetime.UTC)
        body = json.dumps({"service": SERVICE, "answers": ANSWERS, "submit": True}).encode()
        interval = 1.0 / mode.decision_rate
        numbers = []
        next_send = time.monotonic()
        for index in range(mode.decisions):
            time.sleep(max(0.0, next_send - time.monotonic()))
            next_send += interval
            status, answer = _send(port, tokens[index % len(tokens)], body)
            if status in (200, 201):
                numbers.append(json.loads(answer)["number"])
        deadline = time.monotonic() + 60
        while Application.objects.filter(number__in=numbers, decided_at__isnull=True).exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    rows = Application.objects.filter(number__in=numbers, submitted_at__gte=started_at)
    waits = [
        (decided - submitted).total_seconds()
        for submitted, decided in rows.values_list("submitted_at", "decided_at")
        if decided is not None
    ]
    outcomes = dict(rows.values_list("status").annotate(n=Count("id")))
    return {
        "decisions": len(waits),
        "undecided_after_60_s": len(numbers) - len(waits),
        "decision_p50_s": round(percentile(waits, 0.5), 3),
        "decision_p95_s": round(percentile(waits, 0.95), 3),
        "decision_outcomes": outcomes,
    }


def _send(port: int, token: str, body: bytes) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/v1/applications",
            body=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": secrets.token_hex(12),
            },
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- the queue --------------------------------------------------------------------------------


def fill_applications(count: int, setup: dict[str, Any]) -> None:
    """``count`` applications of the agency, in steps and deadlines like a busy office's."""
    from django.db import transaction
    from django.utils import timezone

    from shanyraq.accounts.models import User
    from shanyraq.casework.models import Application, Status
    from shanyraq.catalog.models import Service
    from shanyraq.core.bulk import insert_many

    version = Service.objects.get(code=SERVICE).current_version
    applicants = list(User.objects.filter(iin__isnull=False).exclude(iin="")[:50])
    rng = random.Random(9)
    today = timezone.localdate()
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        rows = []
        for index in range(start, min(count, start + batch)):
            status = rng.choices(
                [Status.ACTIVE, Status.PAUSED, Status.APPROVED, Status.REJECTED], [5, 1, 3, 1]
            )[0]
            open_case = status in (Status.ACTIVE, Status.PAUSED)
            rows.append(
                Application(
                    number=f"B{index:010d}",
                    service_version=version,
                    agency=setup["agency"],
                    applicant=applicants[index % len(applicants)],
                    status=status,
                    step="review" if open_case else "",
                    deadline=today + datetime.timedelta(days=rng.randint(-10, 10))
                    if open_case
                    else None,
                    answers=ANSWERS,
                    submitted_at=now - datetime.timedelta(minutes=rng.randint(0, 100000)),
                )
            )
        with transaction.atomic():
            insert_many(Application, rows)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE casework_application")


def bench_queue(mode: Mode, port: int, setup: dict[str, Any], log: Path) -> dict[str, Any]:
    import http.client

    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(setup["reviewer"])
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    paths = ["/backoffice/cases/", "/backoffice/cases/?state=overdue", "/backoffice/cases/?page=3"]
    timings: dict[str, list[float]] = {p: [] for p in paths}
    for index in range(mode.queue_requests + len(paths) * 3):
        path = paths[index % len(paths)]
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        started = time.perf_counter()
        connection.request(
            "GET", path, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}
        )
        response = connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        connection.close()
        if response.status != 200 or b"B00" not in body:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{path}: {response.status} {body[:300]!r}\n{tail}")
        if index >= len(paths) * 3:  # after a warm-up
            timings[path].append(elapsed * 1000)
    every = [t for values in timings.values() for t in values]
    return {
        "queue_requests": len(every),
        "queue_p50_ms": round(percentile(every, 0.5), 1),
        "queue_p95_ms": round(percentile(every, 0.95), 1),
        "queue_p95_ms_by_page": {p: round(percentile(v, 0.95), 1) for p, v in timings.items()},
    }


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test of a minute or two")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/"),
    )
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    started = time.monotonic()
    summary: dict[str, Any] = {"bench": "casework", "mode": mode.name, "clients": CLIENTS}
    work = Path(tempfile.mkdtemp(prefix="shanyraq-bench-casework-"))
    try:
        name = f"shanyraq_bench_casework_{os.getpid()}"
        with register_bench.temporary_database(args.postgres, name) as url:
            register_bench.configure(url, work / "var")
            from django.core.management import call_command

            call_command("collectstatic", "--no-input", verbosity=0)  # pages need the manifest
            say("setting up: registers, the service, 16 citizens with tokens")
            setup = set_up(CLIENTS)
            env = register_bench.server_env(url, work / "var")
            port = http_bench._free_port()
            with http_bench.production_server(env, port, work / "server.log"):
                say(f"1. submissions vs one-row inserts, {CLIENTS} clients")
                summary.update(bench_submissions(mode, port, setup["tokens"]))
                say(
                    f"   {summary['submissions_per_s']}/s vs {summary['inserts_per_s']}/s: "
                    f"ratio {summary['ratio_vs_insert']}"
                )
                say("2. time from submission to the automatic decision, one worker")
                summary.update(bench_decisions(mode, port, setup["tokens"], env, work / "var"))
                say(
                    f"   p50 {summary['decision_p50_s']} s, p95 {summary['decision_p95_s']} s "
                    f"({summary['decisions']} decisions)"
                )
                say(f"3. the queue page with {mode.applications:,} applications")
                fill_applications(mode.applications, setup)
                summary.update(bench_queue(mode, port, setup, work / "server.log"))
                say(f"   p50 {summary['queue_p50_ms']} ms, p95 {summary['queue_p95_ms']} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    checks = {
        "ratio_vs_insert": summary.get("ratio_vs_insert", 0) >= RATIO_TARGET,
        "decision_p95_s": summary.get("decision_p95_s", 99) < DECISION_P95_TARGET_S,
        "queue_p95_ms": summary.get("queue_p95_ms", 1e9) < QUEUE_P95_TARGET_MS,
    }
    summary["targets_met"] = checks
    summary["seconds"] = round(time.monotonic() - started, 1)
    say(
        "\ntargets: "
        + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in checks.items())
        + f"; {summary['seconds']} s in all"
    )
    print(json.dumps(summary, ensure_ascii=False, default=str))
    return 1 if args.check and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
