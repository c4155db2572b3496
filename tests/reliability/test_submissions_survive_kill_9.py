"""No submission that got a success response is lost, and each is processed exactly once,
when the web server and the worker are killed with SIGKILL during a stream of submissions
(docs/adr/0007-background-work-through-outbox-tables.md).

PostgreSQL only: the server and the worker are processes of their own that share the test's
database (pytest-django's, e.g. ``test_<name>_gw0``); on SQLite the test is skipped.

1. The test database gets a service whose rules decide automatically, and citizens with API
   tokens (a few also with a phone number, so that their messages go by SMS too).
2. The production server (``shanyraq serve``: gunicorn, sync workers, the production settings,
   the fake SMS gateway) listens on a free loopback port, and ``shanyraq worker`` runs (with
   shorter leases, see ``short_lease_worker.py``).
3. Client threads submit ``SUBMISSIONS`` applications at a steady rate
   (``POST /api/v1/applications`` with ``"submit": true``, a new Idempotency-Key each). A
   request that fails or gets no answer is sent again with the same key, as a real client
   would; one first attempt in ten is abandoned as soon as it is sent (its answer is lost),
   so repeated keys also reach the server while the first request is still running.
4. A quarter of the way through, the server's process group (master and workers) and the
   worker's are killed with SIGKILL. The server is started again at once, the worker only
   half way through, so that work piles up.
5. The worker is killed again in the middle of a batch, while it holds leases on items it has
   not finished, and started again; at three quarters the server is killed and started again.
6. When the stream is over the worker drains the queue, within a time limit.

Then every acknowledged submission exists, submitted, with the answers sent, under the number
it was acknowledged with; no key has two applications and there are no others; each
application has exactly one decision in its history (the one its answers call for), one
``casework.decision`` ledger entry, one notification of the decision (and, with a phone
number, one text message of it at the gateway) and one work item, done.

Everything is bounded in time; the processes are killed (their whole process groups) on the
way out, whatever happened; all traffic stays on loopback.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import json
import os
import queue
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parent
PROJECT_DIR = HERE.parents[1]
SERVICE = "reliability-benefit"

SUBMISSIONS = 300
CLIENTS = 8
CITIZENS = 12
TEXTED = 3  # citizens (of CITIZENS) with a phone number: their messages also go by SMS
RATE = 30.0  # submissions started per second, all clients together
ABANDONED_SHARE = 0.1  # of first attempts, whose answer the client does not wait for
SERVER_WORKERS = 3
LEASE_S = 4.0  # the worker's leases on items and deliveries (the platform's are 60 s)
SEED = 20250612

REQUEST_TIMEOUT_S = 10.0
START_TIMEOUT_S = 60.0  # until a started server answers
STREAM_TIMEOUT_S = 240.0  # for the whole stream of submissions, restarts included
MID_BATCH_TIMEOUT_S = 30.0  # until the worker is caught in the middle of a batch
DRAIN_TIMEOUT_S = 60.0  # for the worker to finish after the stream

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: the server and the worker run in processes of their own "
        "and share the test database (set DATABASE_URL=postgres://...)",
    ),
]


# --- the service and the people -------------------------------------------------------------


def _label(en: str) -> dict[str, str]:
    return {"kk": f"{en} (kk)", "ru": f"{en} (ru)", "en": en}


FIELDS = ["household_size", "monthly_income", "owns_housing", "consent", "comment"]
FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["household_size", "monthly_income", "owns_housing", "consent"],
        "properties": {
            "household_size": {"type": "integer", "minimum": 1, "maximum": 20},
            "monthly_income": {"type": "integer", "minimum": 0, "maximum": 100_000_000},
            "owns_housing": {"type": "boolean"},
            "consent": {"type": "boolean", "enum": [True]},
            "comment": {"type": "string", "maxLength": 200},
        },
    },
    "ui": {
        "steps": [{"key": "household", "title": _label("Household"), "fields": FIELDS}],
        "labels": {name: _label(name) for name in FIELDS},
    },
}
PROCESS: dict[str, Any] = {
    "start": "check",
    "steps": [
        {"id": "check", "kind": "auto"},
        {
            "id": "review",
            "kind": "task",
            "role": "reviewer",
            "deadline_days": 5,
            "label": _label("Review"),
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
THRESHOLD = 70_000  # income per person under which the benefit is granted
RULES: dict[str, Any] = {
    "conditions": [
        {
            "id": "income",
            "label": _label("Income per person is under the threshold"),
            "rule": {
                "<": [
                    {"/": [{"var": "answers.monthly_income"}, {"var": "answers.household_size"}]},
                    THRESHOLD,
                ]
            },
        },
        {
            "id": "no_housing",
            "label": _label("Owns no housing"),
            "rule": {"!": {"var": "answers.owns_housing"}},
        },
        {
            "id": "consent",
            "label": _label("Consent given"),
            "rule": {"==": [{"var": "answers.consent"}, True]},
        },
    ],
    "decide": "all",
}


def answers_for(index: int, rng: random.Random) -> dict[str, Any]:
    """The answers of submission ``index``: about half are approved, half rejected."""
    return {
        "household_size": 1 + index % 5,
        "monthly_income": rng.randrange(0, 400_000, 1000),
        "owns_housing": index % 7 == 0,
        "consent": True,
        "comment": f"submission {index}",
    }


def expected_decision(answers: dict[str, Any]) -> str:
    approved = (
        answers["monthly_income"] / answers["household_size"] < THRESHOLD
        and not answers["owns_housing"]
    )
    return "approved" if approved else "rejected"


@dataclass(frozen=True)
class Citizen:
    user_id: int
    token: str
    texted: bool


def prepare() -> list[Citizen]:
    """The agency's service with automatic rules, and citizens who can use the API (some
    of them also get text messages)."""
    from shanyraq.accounts.services import token_create
    from shanyraq.notifications.services import contact_phone_set
    from shanyraq.testing import factories

    factories.published_service(
        agency=factories.AgencyFactory(code="reliability-social"),
        code=SERVICE,
        fully_online=True,
        form=FORM,
        process=PROCESS,
        rules=RULES,
    )
    citizens = []
    for n in range(CITIZENS):
        user = factories.UserFactory()
        if n < TEXTED:
            contact_phone_set(user=user, phone=f"+7701{n:07d}")
        token = token_create(user=user, name="reliability")[1]
        citizens.append(Citizen(user.pk, token, texted=n < TEXTED))
    return citizens


# --- the clients ----------------------------------------------------------------------------


@dataclass
class Submission:
    index: int
    citizen: Citizen
    key: str
    answers: dict[str, Any]
    attempts: int = 0
    http_status: int = 0  # of the acknowledgement: 201 created, 200 the earlier one again
    number: str = ""
    failure: str = ""


class Stream:
    """Client threads submitting a fixed list of applications, each until it is acknowledged.

    Submissions start at ``RATE`` per second across all clients, so that the stream lasts
    long enough to be killed in; a submission that failed is retried at once (with a short
    backoff), not paced.
    """

    def __init__(self, port: int, submissions: list[Submission], deadline: float) -> None:
        self.port = port
        self.deadline = deadline
        self.todo: queue.SimpleQueue[Submission] = queue.SimpleQueue()
        for submission in submissions:
            self.todo.put(submission)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.acknowledged = 0
        self.in_flight = 0
        self.started = self.next_start = time.monotonic()
        self.refusals: list[str] = []  # answers other than success, to be retried
        self.threads = [
            threading.Thread(target=self._client, args=(SEED + n,), name=f"client-{n}")
            for n in range(CLIENTS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT_S + 5)

    def _count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def _client(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            try:
                submission = self.todo.get_nowait()
            except queue.Empty:
                return
            with self.lock:
                start = max(time.monotonic(), self.next_start)
                self.next_start = start + 1 / RATE
            time.sleep(max(0.0, start - time.monotonic()))
            self._submit(submission, rng)

    def _submit(self, submission: Submission, rng: random.Random) -> None:
        backoff = 0.05
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            submission.attempts += 1
            if submission.attempts > 1:
                self._count("retries")
            abandon = submission.attempts == 1 and rng.random() < ABANDONED_SHARE
            try:
                status, body = self._post(submission, abandon=abandon)
            except (OSError, http.client.HTTPException):  # refused, reset, timed out
                status, body = 0, b""
                self._count("unanswered")
            else:
                if abandon:
                    self._count("abandoned")
            if status in (200, 201):
                submission.http_status = status
                submission.number = json.loads(body)["number"]
                with self.lock:
                    self.acknowledged += 1
                    self.counts["created" if status == 201 else "earlier_returned"] += 1
                return
            elif status == 409 or status >= 500:  # still being handled, or a server error
                code = json.loads(body).get("code", "") if status == 409 else ""
                self._count(f"http_{status}{' ' + code if code else ''}")
                with self.lock:
                    self.refusals.append(
                        f"{time.monotonic() - self.started:.1f} s: #{submission.index} "
                        f"attempt {submission.attempts}: {status} {body[:200]!r}"
                    )
            elif status:  # anything else is final: the test reports it
                submission.failure = f"{status}: {body[:500]!r}"
                return
            time.sleep(backoff)
            backoff = min(backoff * 2, 0.5)
        submission.failure = submission.failure or "not acknowledged before the deadline"

    def _post(self, submission: Submission, *, abandon: bool) -> tuple[int, bytes]:
        body = json.dumps({"service": SERVICE, "answers": submission.answers, "submit": True})
        client = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT_S)
        with self.lock:
            self.in_flight += 1
        try:
            client.request(
                "POST",
                "/api/v1/applications",
                body=body.encode(),
                headers={
                    "Authorization": f"Bearer {submission.citizen.token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": submission.key,
                },
            )
            if abandon:
                return 0, b""  # the request is on its way; its answer is never read
            response = client.getresponse()
            return response.status, response.read()
        finally:
            client.close()
            with self.lock:
                self.in_flight -= 1


# --- the processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def database_url() -> str:
    """The test database (pytest-django's, named after DATABASE_URL's) as a URL."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


def environment(tmp_path: Path, port: int) -> dict[str, str]:
    """The production settings on loopback: mail to memory, text messages to the fake gateway."""
    env = dict(os.environ)
    for name in ("SHANYRAQ_ACCESS_LOG", "REDIS_URL"):  # no access log; a cache of its own
        env.pop(name, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "shanyraq.config.settings.production",
            "DATABASE_URL": database_url(),
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": HOST,
            "SECURE_SSL_REDIRECT": "false",
            "SMS_GATEWAY": "shanyraq.notifications.sms.FakeSmsGateway",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "SHANYRAQ_VAR_DIR": str(tmp_path / "var"),
            "LOG_LEVEL": "WARNING",
            "BIND": f"{HOST}:{port}",
            "WEB_CONCURRENCY": str(SERVER_WORKERS),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(PROJECT_DIR / "src"), os.environ.get("PYTHONPATH")) if p
            ),
        }
    )
    return env


@dataclass
class Child:
    """A process started in a session of its own, so that its whole group can be killed."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None, f"{self.name} is already running"
        with self.log.open("ab") as log:
            log.write(f"--- started at {time.strftime('%H:%M:%S')}\n".encode())
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=PROJECT_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill_now(self) -> None:
        """SIGKILL to every process of the group (gunicorn's master and its workers)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def kill(self) -> None:
        """``kill_now``, then wait until the group's processes are gone."""
        if self.process is None:
            return
        group = self.process.pid
        self.kill_now()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self.process = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the workers, reaped by whoever inherits them
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, watch: list[Child] | None = None
) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` or when a watched child dies."""
    deadline = time.monotonic() + timeout
    while not condition():
        for child in watch or []:
            if not child.alive():
                raise AssertionError(
                    f"{child.name} exited while waiting for {what}:\n{child.tail()}"
                )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def answers_ok(port: int, token: str) -> bool:
    client = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        client.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        return client.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        client.close()


# --- the run --------------------------------------------------------------------------------


@dataclass
class Run:
    """What was done to the processes, and when."""

    started: float = field(default_factory=time.monotonic)
    server_kills: int = 0
    server_kills_with_requests_in_flight: int = 0
    worker_kills: int = 0
    orphaned_leases: int = 0  # items the worker held, unfinished, when killed mid-batch
    timeline: list[str] = field(default_factory=list)

    def mark(self, what: str) -> None:
        self.timeline.append(f"{time.monotonic() - self.started:6.1f} s  {what}")


def leased_unfinished(since: datetime.datetime) -> int:
    """Items claimed since ``since`` (their lease ends a lease after), still held, not done."""
    from shanyraq.casework.models import WorkItem

    return WorkItem.objects.filter(
        done_at__isnull=True,
        claimed_until__gte=since + datetime.timedelta(seconds=LEASE_S),
        claimed_until__gt=timezone.now(),
    ).count()


def start_server(server: Child, run: Run, port: int, token: str) -> None:
    server.start()
    wait_for(lambda: answers_ok(port, token), START_TIMEOUT_S, "the server", [server])
    run.mark("the server answers")


def kill_server(server: Child, stream: Stream, run: Run, worker: Child | None = None) -> None:
    """Kill the server (and the worker, if given) while requests are in flight, if any arrive
    within a second."""
    with contextlib.suppress(AssertionError):
        wait_for(lambda: stream.in_flight >= 2, 1.0, "requests in flight")
    in_flight = stream.in_flight
    for child in [server] if worker is None else [server, worker]:
        child.kill_now()
    server.kill()
    run.server_kills += 1
    run.server_kills_with_requests_in_flight += in_flight > 0
    run.mark(f"server killed: {stream.acknowledged} acknowledged, {in_flight} requests in flight")
    if worker is not None:
        kill_worker(worker, stream, run)


def kill_worker(worker: Child, stream: Stream, run: Run) -> None:
    worker.kill()
    run.worker_kills += 1
    run.mark(f"worker killed: {stream.acknowledged} acknowledged")


def kill_worker_mid_batch(worker: Child, stream: Stream, run: Run) -> None:
    """Start the worker and kill it after it finished an item of a batch and before it
    finished the batch; again, if it was not caught holding unfinished items."""
    from shanyraq.casework.models import WorkItem

    for _ in range(3):
        since = timezone.now()
        worker.start()
        run.mark("worker started")

        def mid_batch(since: datetime.datetime = since) -> bool:
            return (
                leased_unfinished(since) > 0
                and WorkItem.objects.filter(done_at__gte=since).exists()
            )

        wait_for(mid_batch, MID_BATCH_TIMEOUT_S, "the worker in the middle of a batch", [worker])
        kill_worker(worker, stream, run)
        orphaned = leased_unfinished(since)
        run.mark(f"  ...in the middle of a batch, holding {orphaned} unfinished items")
        if orphaned:
            run.orphaned_leases += orphaned
            return
    raise AssertionError("the worker was never caught in the middle of a batch")


@pytest.mark.django_db(transaction=True)
def test_acknowledged_submissions_survive_kill_9_of_server_and_worker(tmp_path: Path) -> None:
    from shanyraq.casework.models import Application, CaseEvent, WorkItem
    from shanyraq.ledger_django.models import Entry
    from shanyraq.notifications.models import Delivery, DeliveryStatus, Notification
    from shanyraq.notifications.sms import FakeSmsGateway

    run = Run()
    citizens = prepare()
    rng = random.Random(SEED)
    submissions = [
        Submission(i, citizens[i % CITIZENS], uuid.uuid4().hex, answers_for(i, rng))
        for i in range(SUBMISSIONS)
    ]
    port = free_port()
    env = environment(tmp_path, port)
    python = sys.executable
    server = Child(
        "the server", [python, "-m", "shanyraq.config.cli", "serve"], env, tmp_path / "server.log"
    )
    worker = Child(
        "the worker",
        [python, str(HERE / "short_lease_worker.py"), str(LEASE_S), "--interval", "0.1"],
        env,
        tmp_path / "worker.log",
    )
    token = citizens[0].token
    run.mark(f"database prepared; server on {HOST}:{port}")
    stream: Stream | None = None
    try:
        start_server(server, run, port, token)
        worker.start()
        stream = Stream(port, submissions, deadline=time.monotonic() + STREAM_TIMEOUT_S)
        stream.start()
        run.mark("worker and clients started")

        def reached(share: float) -> Callable[[], bool]:
            assert stream is not None
            return lambda: stream.acknowledged >= share * SUBMISSIONS

        # A quarter through: the server and the worker together.
        wait_for(reached(0.25), STREAM_TIMEOUT_S, "25% acknowledged", [server, worker])
        kill_server(server, stream, run, worker)
        start_server(server, run, port, token)

        # Half way: the worker comes back to a backlog and is killed in the middle of a batch.
        wait_for(reached(0.5), STREAM_TIMEOUT_S, "50% acknowledged", [server])
        kill_worker_mid_batch(worker, stream, run)
        worker.start()
        run.mark("worker started")

        # Three quarters: the server again.
        wait_for(reached(0.75), STREAM_TIMEOUT_S, "75% acknowledged", [server, worker])
        kill_server(server, stream, run)
        start_server(server, run, port, token)

        wait_for(lambda: not stream.running(), STREAM_TIMEOUT_S, "the clients", [server, worker])
        run.mark(f"stream over: {stream.acknowledged} acknowledged")

        def drained() -> bool:
            return (
                not WorkItem.objects.filter(done_at__isnull=True).exists()
                and not Application.objects.filter(decided_at__isnull=True).exists()
                and not Delivery.objects.filter(status=DeliveryStatus.PENDING).exists()
            )

        try:
            wait_for(drained, DRAIN_TIMEOUT_S, "the worker to drain the queue", [worker])
        except AssertionError as failure:
            left = {
                "work items (attempts, last error)": list(
                    WorkItem.objects.filter(done_at__isnull=True).values_list(
                        "attempts", "last_error"
                    )[:10]
                ),
                "undecided": Application.objects.filter(decided_at__isnull=True).count(),
                "deliveries (attempts, last error)": list(
                    Delivery.objects.filter(status=DeliveryStatus.PENDING).values_list(
                        "attempts", "last_error"
                    )[:10]
                ),
            }
            raise AssertionError(f"{failure}; left: {left}\n{worker.tail()}") from None
        run.mark("queue drained")
    finally:
        if stream is not None:
            stream.stop()
        worker.kill()
        server.kill()
    counts_of_clients = dict(sorted(stream.counts.items()))

    # --- what the clients were told, against what the database holds -------------------------
    acknowledged = [s for s in submissions if s.number]
    failed = [(s.index, s.failure) for s in submissions if not s.number]
    applications = {(a.applicant_id, a.idempotency_key): a for a in Application.objects.all()}
    history: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for application_id, action, to_step, actor_kind in CaseEvent.objects.order_by(
        "at", "id"
    ).values_list("application_id", "action", "to_step", "actor_kind"):
        history[application_id].append((action, to_step, actor_kind))
    ledger: Counter[str] = Counter()
    ledger_decisions: dict[str, set[str]] = defaultdict(set)
    for data in Entry.objects.filter(kind="casework.decision").values_list("data", flat=True):
        entry = json.loads(bytes(data))
        ledger[entry["application"]] += 1
        ledger_decisions[entry["application"]].add(entry["decision"])
    notices = Counter(
        Notification.objects.filter(dedupe_key__endswith=":decided").values_list(
            "recipient_id", "dedupe_key", "template"
        )
    )
    outbox = FakeSmsGateway(tmp_path / "var" / "sms-outbox.jsonl").messages()
    texted = Counter(message["idempotency_key"] for message in outbox)
    sms: dict[str, list[tuple[str, int]]] = defaultdict(list)  # by the notification's occasion
    for occasion, status, key in Delivery.objects.filter(channel="sms").values_list(
        "notification__dedupe_key", "status", "idempotency_key"
    ):
        sms[occasion].append((status, texted[str(key)]))
    items: dict[int, list[tuple[Any, int]]] = defaultdict(list)
    for application_id, done_at, attempts in WorkItem.objects.values_list(
        "application_id", "done_at", "attempts"
    ):
        items[application_id].append((done_at, attempts))

    problems: list[str] = []
    for s in acknowledged:
        application = applications.get((s.citizen.user_id, s.key))
        if application is None:
            problems.append(f"#{s.index}: acknowledged as {s.number}, not in the database")
            continue
        decision = expected_decision(s.answers)
        action = "approve" if decision == "approved" else "reject"
        found = {
            "number": application.number,
            "answers": application.answers,
            "submitted": application.submitted_at is not None,
            "status": application.status,
            "history": history[application.pk],
            "ledger": ledger[str(application.public_id)],
            "ledger_decision": ledger_decisions[str(application.public_id)],
            "notices": notices[
                (
                    s.citizen.user_id,
                    f"application:{application.number}:decided",
                    f"application.decided.{decision}",
                )
            ],
            "work_items_done": [done_at is not None for done_at, _n in items[application.pk]],
            "decision_sms_sent_texted": sms[f"application:{application.number}:decided"],
        }
        wanted = {
            "number": s.number,
            "answers": s.answers,
            "submitted": True,
            "status": decision,
            "history": [
                ("created", "", "applicant"),
                ("submit", "check", "applicant"),
                (action, decision, "system"),
            ],
            "ledger": 1,
            "ledger_decision": {decision},
            "notices": 1,
            "work_items_done": [True],
            "decision_sms_sent_texted": [("sent", 1)] if s.citizen.texted else [],
        }
        for name, value in wanted.items():
            if found[name] != value:
                problems.append(f"#{s.index} {s.number} {name}: {found[name]!r} != {value!r}")
    keys = Counter(key for _applicant, key in applications)
    counts = {
        "applications": len(applications),
        "keys_used_twice": sum(1 for n in keys.values() if n > 1),
        "decision_events": sum(
            1 for events in history.values() for _a, to, kind in events if kind == "system"
        ),
        "ledger_decisions": sum(ledger.values()),
        "decision_notices": sum(notices.values()),
        "work_items": sum(len(v) for v in items.values()),
        "work_items_pending": WorkItem.objects.filter(done_at__isnull=True).count(),
        "text_messages": len(outbox),  # one when submitted, one when decided
        "text_messages_to_unknown_keys": len(
            set(texted)
            - {str(k) for k in Delivery.objects.values_list("idempotency_key", flat=True)}
        ),
        "text_messages_sent_twice": sum(1 for n in texted.values() if n > 1),
    }
    wanted_counts = {
        "applications": SUBMISSIONS,
        "keys_used_twice": 0,
        "decision_events": SUBMISSIONS,
        "ledger_decisions": SUBMISSIONS,
        "decision_notices": SUBMISSIONS,
        "work_items": SUBMISSIONS,
        "work_items_pending": 0,
        "text_messages": 2 * sum(1 for s in submissions if s.citizen.texted),
        "text_messages_to_unknown_keys": 0,
        "text_messages_sent_twice": 0,
    }
    summary = {
        "submissions": SUBMISSIONS,
        "acknowledged": len(acknowledged),
        "attempts": sum(s.attempts for s in submissions),
        **counts_of_clients,
        "server_kills": run.server_kills,
        "server_kills_with_requests_in_flight": run.server_kills_with_requests_in_flight,
        "worker_kills": run.worker_kills,
        "orphaned_leases": run.orphaned_leases,
        "items_taken_again": sum(1 for v in items.values() for _d, n in v if n > 1),
        "approved": sum(1 for a in applications.values() if a.status == "approved"),
        "rejected": sum(1 for a in applications.values() if a.status == "rejected"),
        "text_messages": len(outbox),
        "seconds": round(time.monotonic() - run.started, 1),
    }
    print("\n" + "\n".join(run.timeline))
    print("\n".join(["answers retried:", *stream.refusals[:10]]))
    print(json.dumps(summary))

    assert not failed, f"submissions never acknowledged: {failed[:10]}"
    assert len(acknowledged) == SUBMISSIONS
    assert run.server_kills >= 2 and run.worker_kills >= 2 and run.orphaned_leases > 0, run
    assert counts == wanted_counts, (counts, summary)
    assert not problems, "\n".join(problems[:30])
