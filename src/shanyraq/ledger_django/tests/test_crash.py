"""Crash consistency: the integrator killed with SIGKILL at random points, again and again.

A worker process (the test settings, a database of its own, two witness processes, quorum 2)
appends small batches of entries and runs the integrator in a loop. The test kills it with
SIGKILL after a random delay (seeded), reads the served checkpoint, and starts it again, at
least 50 times. Then it lets the integrator finish and checks, with ``ledger fsck``,
``ledger verify --full`` and its own reading of the database and the tiles, that no committed
entry was lost, duplicated or reordered, that every checkpoint ever published or seen is
consistent with every later one, and that the witnesses hold the final checkpoint.

The worker is a small fork server: it imports Django once and forks a fresh process for each
life, so a restart costs milliseconds rather than a second of start-up. Each life connects to
the database anew, as a restarted process would; the parent never opens a connection until
the last life is over.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from shanyraq.core.canonical_json import canonicalize
from shanyraq.ledger.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint
from shanyraq.ledger.cosignature import WitnessPolicy
from shanyraq.ledger.keys import parse_verifier_key
from shanyraq.ledger.log import TiledLog
from shanyraq.ledger.merkle import verify_consistency
from shanyraq.ledger.note import Ed25519Verifier, parse_note
from shanyraq.ledger.storage import FileSystemStore

from .test_witnesses import die_with_parent, running_witnesses, stop_process, write_policy

SEED = 20250611
KILLS = 60  # lives ended by SIGKILL (at least 50)
DELAY_S = (0.0, 0.3)  # how long a life runs before it is killed
LIFE_TIMEOUT_S = 30.0
LOG = "registers"
ORIGIN_PREFIX = "crash.test.example/ledger"
ORIGIN = f"{ORIGIN_PREFIX}/{LOG}"
SRC_DIR = Path(__file__).resolve().parents[3]

PHASES = {
    "A": "appending (transaction open)",
    "Q": "sequencing",
    "T": "writing tiles",
    "W": "asking the witnesses",
    "P": "publishing the checkpoint",
    "-": "between steps",
}

WORKER = r'''
"""Fork server: one child per life; commands on stdin, answers on stdout (one line each)."""
import json, os, random, sys, time, traceback

import django

django.setup()

from django.db import connections, transaction

from shanyraq.core.canonical_json import canonicalize
from shanyraq.ledger_django import config, integrator, services
from shanyraq.ledger_django.models import Entry, LogState, PublishedCheckpoint

LOG = "registers"
JOURNAL, PHASE = sys.argv[1], sys.argv[2]


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def life(number, seed):
    """Append and integrate until killed. Journal: 'I <payload>' before the commit of a
    batch, 'C <payload>' after it. The phase file holds one letter: where this life is."""
    rng = random.Random(seed)
    journal = os.open(JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    phase = os.open(PHASE, os.O_WRONLY | os.O_CREAT, 0o644)

    def mark(letter):
        os.pwrite(phase, letter, 0)

    def wrap(name, letter):
        inner = getattr(integrator, name)

        def wrapped(*args, **kwargs):
            mark(letter)
            try:
                return inner(*args, **kwargs)
            finally:
                mark(b"P" if name == "_cosign" else b"-")

        setattr(integrator, name, wrapped)

    for name, letter in [("sequence", b"Q"), ("integrate_tiles", b"T"), ("publish", b"P"),
                         ("_cosign", b"W")]:
        wrap(name, letter)
    log = config.get_log(LOG)
    # A write cut short by SIGKILL (the kernel stops at a page boundary) leaves a torn last
    # line: end it, so that this life's first line starts on a line of its own.
    os.write(journal, b"\n")
    n = 0
    while True:
        batch = [
            canonicalize({"type": "crash.test", "life": number, "n": n + i})
            for i in range(rng.randint(1, 12))
        ]
        n += len(batch)
        os.write(journal, b"".join(b"I " + p + b"\n" for p in batch))
        mark(b"A")
        with transaction.atomic():
            for payload in batch:
                services.ledger_append_bytes(log=LOG, data=payload, kind="crash.test")
        mark(b"-")
        os.write(journal, b"".join(b"C " + p + b"\n" for p in batch))
        if rng.random() < 0.3:
            continue  # sometimes let a few batches wait
        try:
            services.log_integrate(log, batch=rng.choice([4, 16, 50_000]))
        except integrator.IntegratorBusy:
            time.sleep(0.005)  # the killed life's session may still hold the lock


def finish():
    log = config.get_log(LOG)
    for _ in range(100):
        try:
            outcome = services.log_integrate(log)
        except integrator.IntegratorBusy:
            time.sleep(0.1)
            continue
        state = LogState.objects.get(log=LOG)
        pending = Entry.objects.filter(log=LOG, index__isnull=True).count()
        if not pending and state.published_size == state.sequenced_size:
            return {"size": state.published_size, "errors": outcome.witness_errors}
        time.sleep(0.1)
    raise RuntimeError("the integrator did not finish")


def report():
    entries = list(Entry.objects.filter(log=LOG).order_by("index", "id").values_list("index", "data"))
    state = LogState.objects.get(log=LOG)
    return {
        "entries": [[i, bytes(d).decode()] for i, d in entries],
        "state": [state.sequenced_size, state.integrated_size, state.integrated_root,
                  state.published_size],
        "checkpoints": list(
            PublishedCheckpoint.objects.filter(log=LOG).order_by("size").values_list("note", flat=True)
        ),
    }


answer({"ready": os.getpid()})
for line in sys.stdin:
    command, *args = line.split()
    if command == "spawn":
        with open(PHASE, "wb") as phase_file:
            phase_file.write(b"-")
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                life(int(args[0]), int(args[1]))
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        answer({"pid": pid})
    elif command == "reap":
        _pid, status = os.waitpid(int(args[0]), 0)
        answer({"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None})
    elif command == "finish":
        answer(finish())
    elif command == "report":
        answer(report())
        connections.close_all()
    elif command == "quit":
        connections.close_all()
        break
'''


# --- the database and the environment of the worker ------------------------------------------


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@contextlib.contextmanager
def own_database(tmp_path: Path) -> Iterator[str]:
    """A database for the worker (not the test database): SQLite file or PostgreSQL DB."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    name = f"ledger_crash_{worker_id()}_{os.getpid()}"
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))
    admin = urlunsplit(base._replace(path="/postgres"))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(drop)
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(base._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(drop)


def worker_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(p for p in (str(SRC_DIR), env.get("PYTHONPATH")) if p),
            "DJANGO_SETTINGS_MODULE": "shanyraq.config.settings.test",
            "DATABASE_URL": database_url,
            "SHANYRAQ_VAR_DIR": str(tmp_path / "var"),
            "LEDGER_LOGS": LOG,
            "LEDGER_ORIGIN_PREFIX": ORIGIN_PREFIX,
            "LEDGER_KEY_DIR": str(tmp_path / "keys"),
            "LEDGER_STORAGE_DIR": str(tmp_path / "tiles"),
            "LEDGER_WITNESSES_FILE": str(tmp_path / "keys" / "witnesses.json"),
            "LOG_LEVEL": "ERROR",
        }
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Worker:
    """The fork server, spoken to line by line (every read has a deadline)."""

    def __init__(self, script: Path, env: dict[str, str], directory: Path) -> None:
        self.stderr_path = directory / "worker.stderr"
        self.journal = directory / "journal"
        self.phase = directory / "phase"
        with open(self.stderr_path, "wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, str(script), str(self.journal), str(self.phase)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                preexec_fn=die_with_parent,
            )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.children: set[int] = set()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def ask(self, command: str, timeout: float = LIFE_TIMEOUT_S) -> dict:
        assert self.process.stdin is not None
        if command:
            self.process.stdin.write(command.encode() + b"\n")
            self.process.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer to {command!r}: {self.errors()}") from None
        assert line, f"the worker ended: {self.errors()}"
        return json.loads(line)

    def errors(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        for pid in self.children:  # only lives we forked and have not reaped
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        stop_process(self.process)


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Run:
    kills: int = 0
    phases: Counter[str] = field(default_factory=Counter)
    seen: dict[bytes, None] = field(default_factory=dict)  # checkpoint notes, in order seen


def watch_checkpoint(path: Path, run: Run) -> None:
    with contextlib.suppress(FileNotFoundError):
        run.seen.setdefault(path.read_bytes(), None)


def kill_and_restart(worker: Worker, checkpoint: Path, rng: random.Random, run: Run) -> None:
    """Start lives and kill each after a random delay, until KILLS of them died by SIGKILL."""
    life = 0
    while run.kills < KILLS:
        life += 1
        assert life < 3 * KILLS, "too many lives ended on their own"
        pid = worker.ask(f"spawn {life} {rng.randrange(2**32)}")["pid"]
        worker.children.add(pid)
        deadline = time.monotonic() + rng.uniform(*DELAY_S)
        while (left := deadline - time.monotonic()) > 0:
            watch_checkpoint(checkpoint, run)
            time.sleep(min(left, 0.02))
        os.kill(pid, signal.SIGKILL)
        phase = worker.phase.read_bytes()[:1].decode() if worker.phase.exists() else "-"
        status = worker.ask(f"reap {pid}")
        worker.children.discard(pid)
        assert status["code"] is None, f"life {life} failed by itself: {worker.errors()}"
        assert status["signal"] == signal.SIGKILL
        run.kills += 1
        run.phases[phase or "-"] += 1
        watch_checkpoint(checkpoint, run)


def read_journal(path: Path) -> tuple[set[str], set[str]]:
    """The payloads the worker was about to commit, and those it saw committed.

    A line torn by a kill is not a payload (it does not parse back to one) and is skipped.
    """
    intended: set[str] = set()
    committed: set[str] = set()
    for line in path.read_bytes().decode(errors="replace").split("\n"):
        kind, _, text = line.partition(" ")
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if not isinstance(value, dict) or canonicalize(value).decode() != text:
            continue
        if kind == "I":
            intended.add(text)
        elif kind == "C":
            committed.add(text)
    return intended, committed


def checked(note: bytes, log_key: Ed25519Verifier, policy: WitnessPolicy) -> Checkpoint:
    return open_checkpoint(note, origin=ORIGIN, log_verifiers=[log_key], policy=policy).checkpoint


def test_kill_the_integrator_at_random_points(tmp_path: Path) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    with own_database(tmp_path) as database_url:
        env = worker_env(tmp_path, database_url)
        migrated = manage(env, "migrate", "--no-input", "-v", "0")
        assert migrated.returncode == 0, migrated.stderr
        made = manage(env, "ledger", "keygen")
        assert made.returncode == 0, made.stderr
        log_vkey = made.stdout.split()[1]
        logs = {ORIGIN: log_vkey}
        with running_witnesses(tmp_path / "witnesses", logs) as witnesses:
            write_policy(Path(env["LEDGER_WITNESSES_FILE"]), witnesses, quorum=2)
            policy = WitnessPolicy.from_keys([w.vkey for w in witnesses], 2)
            script = tmp_path / "worker.py"
            script.write_text(WORKER)
            worker = Worker(script, env, tmp_path)
            run = Run()
            checkpoint_file = tmp_path / "tiles" / LOG / "checkpoint"
            try:
                worker.ask("", timeout=60)  # ready
                kill_and_restart(worker, checkpoint_file, rng, run)
                finished = worker.ask("finish", timeout=120)
                watch_checkpoint(checkpoint_file, run)
                report = worker.ask("report", timeout=120)
            finally:
                worker.close()
            witness_states = [w.state() for w in witnesses]

        # The operator's checks: fsck against the database, verify --full from the directory.
        fsck = manage(env, "ledger", "fsck")
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        verify = manage(
            env,
            "ledger",
            "verify",
            str(tmp_path / "tiles" / LOG),
            "--origin",
            ORIGIN,
            "--key",
            log_vkey,
            *(f"--witness={w.vkey}" for w in witnesses),
            "--quorum",
            "2",
            "--full",
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr

    size = finished["size"]
    assert finished["errors"] == []
    assert verify.stdout.startswith(f"OK {ORIGIN} size {size} ")
    assert f"published {size}," in fsck.stdout

    # No entry lost, duplicated or reordered.
    indices = [index for index, _data in report["entries"]]
    assert indices == list(range(size)), "indices are not 0..n-1 (or an entry was left pending)"
    payloads = [data for _index, data in report["entries"]]
    assert len(set(payloads)) == size, "an entry appears twice"
    intended, committed = read_journal(worker.journal)
    assert committed <= set(payloads), f"lost: {sorted(committed - set(payloads))[:5]}"
    assert set(payloads) <= intended, "an entry nobody appended"
    order = [(json.loads(p)["life"], json.loads(p)["n"]) for p in payloads]
    assert order == sorted(order), "entries are not in the order they were committed"
    storage = FileSystemStore(tmp_path / "tiles" / LOG, durable=False)
    tiles = TiledLog(storage.read)
    assert [e.decode() for e in tiles.entries(size)] == payloads

    # Every checkpoint published (database rows) or seen (served file) is signed by the log,
    # cosigned by both witnesses, and consistent with every later one.
    log_key = parse_verifier_key(log_vkey)
    assert isinstance(log_key, Ed25519Verifier)
    notes = [n.encode() for n in report["checkpoints"]] + list(run.seen)
    points = sorted(
        {(cp.size, cp.root_hash) for cp in (checked(n, log_key, policy) for n in notes)}
    )
    assert len({s for s, _r in points}) == len(points), "two roots for one size"
    assert points[-1][0] == size
    # Each checkpoint's root is the root of the final tree at its size, so every checkpoint is a
    # prefix of the final log and hence consistent with every later one. The consistency proofs
    # an auditor would use are checked too: between neighbours, from each to the final one, and
    # for a seeded sample of the other pairs.
    pairs_started = time.monotonic()
    for checkpoint_size, checkpoint_root in points:
        assert tiles.root(checkpoint_size) == checkpoint_root
    pairs = list(itertools.combinations(points, 2))
    chosen = set(itertools.pairwise(points)) | {(p, points[-1]) for p in points[:-1]}
    chosen.update(rng.sample(pairs, min(len(pairs), 2000)))
    for (old, old_root), (new, new_root) in chosen:
        proof = tiles.consistency_proof(old, new)
        verify_consistency(old, new, proof, old_root, new_root)
    pairs_s = time.monotonic() - pairs_started

    # The witnesses hold the final checkpoint.
    final = parse_checkpoint(parse_note(storage.read_checkpoint() or b"").text)
    assert (final.size, final.root_hash) == points[-1]
    for state in witness_states:
        assert state[ORIGIN] == {"size": size, "root": base64.b64encode(final.root_hash).decode()}

    elapsed = time.monotonic() - started
    summary = ", ".join(f"{PHASES[p]}: {c}" for p, c in sorted(run.phases.items()))
    print(
        f"\n{run.kills} kills ({summary}); {size} entries, {len(points)} distinct checkpoints, "
        f"{len(run.seen)} seen between kills, {len(chosen)} pairs proved in {pairs_s:.1f} s; "
        f"{elapsed:.1f} s in all"
    )
    assert run.kills >= 50
    assert len(run.seen) >= 10, "the run published too few checkpoints to show anything"
