#!/usr/bin/env python3
"""The verifiable ledger: integration throughput, append-to-publication latency, proof time.

    .venv/bin/python bench/ledger.py [--quick] [--only integration|latency|proofs] [--check]
                                     [--profile] [--postgres URL]

1. **Integration throughput** on one core (the process is pinned to one CPU): entries of 300
   bytes integrated with ``shanyraq.ledger.log.integrate`` in batches of 50,000, as the
   integrator does, into a durable ``FileSystemStore`` in a temporary directory (tiles and
   bundles written and flushed to disk). In the same run, a plain Python loop SHA-256-hashes
   the same leaves (0x00 || entry) and the n - 1 interior nodes of the tree (the roots must
   agree). Every integration run sits between two hashing-only runs, and its ratio is its rate
   over their mean rate, so that both see the same load on a shared machine; the judged
   ``ratio_vs_hashing`` is the median of those ratios over the rounds (target >= 0.5). For
   comparison the same integration runs with the objects kept in memory and on tmpfs, and the
   cost of creating one file in the temporary directory is probed: together they show how much
   of the time is the filesystem's. The bytes on disk of tiles and bundles per entry are
   printed. ``--profile`` adds a cProfile of the integration and of the proof selector.
2. **Append latency** against PostgreSQL (a database of its own, created and dropped): appends
   at a steady rate (1,000/s for 20 s; quick: 300/s for 5 s), each in its own transaction,
   while the integrator runs in another process (``ledger integrate --loop --interval 0.1``)
   with two witness processes (quorum 2). For each entry: the time from its commit to the
   first moment the served checkpoint covers it (the checkpoint file is polled every 2 ms;
   every checkpoint seen is checked afterwards: log signature, both cosignatures, consistency
   with the previous one). Target p99 < 2 s.
3. **Inclusion proofs** in a log of 10,000,000 entries (quick: 1,000,000) built with
   ``integrate`` directly into the log's storage directory, with its state and signed
   checkpoint recorded through the ORM. Timed, for random entries: ``selectors.inclusion_by_index``
   in process (what the API view calls: two small queries and the tiles) and, apart, the tile
   reads and hashing alone; the API view through the whole Django stack in process (test
   client); and ``GET /api/v1/ledger/<log>/inclusion?index=<random>`` through the production
   server (gunicorn, sync workers, loopback), beside ``GET /bench/constant``, a view that
   returns a constant, so the share of the HTTP and request overhead is visible. Target p95
   < 2 ms (``proof_p95_ms`` is the selector's).

Needs a PostgreSQL server on loopback that the ``postgres`` role can create databases on
(``--postgres`` or ``BENCH_POSTGRES_URL``; default ``postgres://postgres@127.0.0.1:5432/``).
Bounded in time and count; loopback only. Every process started is killed, the temporary
directory removed and the database dropped on the way out, whatever happened. The last line
printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import contextlib
import ctypes
import gc
import http.client
import itertools
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path[:0] = [str(PROJECT_DIR / "src"), str(BENCH_DIR)]

from shanyraq.ledger.checkpoint import Checkpoint, open_checkpoint  # noqa: E402
from shanyraq.ledger.log import TiledLog, integrate  # noqa: E402
from shanyraq.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion  # noqa: E402
from shanyraq.ledger.storage import FileSystemStore, MemoryStore  # noqa: E402

HOST = "127.0.0.1"
INTEGRATOR_BATCH = 50_000  # entries per integrate() call, as the integrator's DEFAULT_BATCH
ENTRY_SIZE = 300
PROFILE = False  # set by --profile
RATIO_TARGET = 0.5
LATENCY_P99_TARGET_S = 2.0
PROOF_P95_TARGET_MS = 2.0
START_TIMEOUT_S = 60.0
STEP_TIMEOUT_S = 600.0
LATENCY_LOG = "latency"
PROOF_LOG = "proofs"
ORIGIN_PREFIX = "bench.shanyraq.example/ledger"


@dataclass(frozen=True)
class Mode:
    name: str
    entries: int  # integration throughput
    rate: int  # appends per second
    seconds: float  # of appending
    appenders: int  # threads
    proof_log: int  # entries in the proof log
    proof_requests: int  # per measurement
    rounds: int  # integration runs per kind of store, each between two hashing-only runs


FULL = Mode("full", 1_000_000, 1_000, 20.0, 6, 10_000_000, 2_000, 3)
QUICK = Mode("quick", 200_000, 300, 5.0, 3, 1_000_000, 400, 2)


def profiled(what: str, work: Callable[[], object], top: int = 14) -> None:
    """Run ``work`` under cProfile and print where its time went (``--profile``)."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.runcall(work)
    print(f"    profile of {what} (main thread), by own time:")
    stats = pstats.Stats(profile, stream=sys.stdout).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# --- processes ------------------------------------------------------------------------------


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Processes:
    """Processes started by the benchmark, each in its own session; all killed on close."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen:
        with open(self.log_dir / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                list(args),
                env=dict(env),
                cwd=PROJECT_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.running.append((name, process))
        return process

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def wait_http(self, name: str, process: subprocess.Popen, port: int, path: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{self.log(name)}")
            with contextlib.suppress(OSError):
                if http_get(port, path, timeout=2)[0] == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer on port {port}:\n{self.log(name)}")
            time.sleep(0.05)

    def stop(self, process: subprocess.Popen) -> None:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):  # children left behind (gunicorn workers)
            os.killpg(process.pid, signal.SIGKILL)
        self.running = [(n, p) for n, p in self.running if p is not process]

    def close(self) -> None:
        for _name, process in reversed(self.running):
            self.stop(process)


def run_step(env: Mapping[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        env=dict(env),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"`{' '.join(args)}` failed ({done.returncode})")
    return done.stdout


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
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(drop)


# --- 1. integration throughput ----------------------------------------------------------------


def hashing_only(entries: Sequence[bytes]) -> bytes:
    """SHA-256 of every leaf (0x00 || entry) and of the n - 1 interior nodes; the root.

    Bottom-up, level by level; an odd node at the end of a level moves up unchanged, which
    gives the RFC 6962 tree.
    """
    h = sha256
    level = [h(b"\x00" + e).digest() for e in entries]
    while len(level) > 1:
        pairs = iter(level[: len(level) & ~1])
        up = [h(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs, strict=True)]
        if len(level) & 1:
            up.append(level[-1])
        level = up
    return level[0]


class TimedStore:
    """A FileSystemStore whose writes and filesystem syncs are timed."""

    def __init__(self, store: FileSystemStore) -> None:
        self.store = store
        self.write_s = 0.0
        self.sync_s = 0.0
        self.writes = 0
        self.objects = 0
        sync = getattr(store, "_sync_all", None)  # FileSystemStore's batch flush (syncfs)
        if sync is None:
            return

        def timed_sync() -> None:
            started = time.perf_counter()
            try:
                sync()
            finally:
                self.sync_s += time.perf_counter() - started

        store._sync_all = timed_sync  # type: ignore[method-assign]

    def read(self, path: str) -> bytes:
        return self.store.read(path)

    def write(self, objects: Mapping[str, bytes]) -> None:
        started = time.perf_counter()
        try:
            self.store.write(objects)
        finally:
            self.write_s += time.perf_counter() - started
            self.writes += 1
            self.objects += len(objects)

    def read_checkpoint(self) -> bytes | None:
        return self.store.read_checkpoint()

    def write_checkpoint(self, data: bytes) -> None:
        self.store.write_checkpoint(data)


@contextlib.contextmanager
def one_cpu() -> Iterator[int]:
    """Pin this thread (and the threads it starts) to one CPU; restore afterwards."""
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, before)


def disk_usage(root: Path) -> dict[str, int]:
    usage = {"bundles": 0, "tiles": 0, "partial": 0, "files": 0, "allocated": 0}
    for directory, _dirs, files in os.walk(root / "tile"):
        for name in files:
            path = Path(directory, name)
            st = path.stat()
            rel = path.relative_to(root).as_posix()
            usage["files"] += 1
            usage["allocated"] += st.st_blocks * 512
            if ".p/" in rel:
                usage["partial"] += st.st_size
            elif rel.startswith("tile/entries/"):
                usage["bundles"] += st.st_size
            else:
                usage["tiles"] += st.st_size
    return usage


def integrate_all(store: Any, entries: Sequence[bytes]) -> tuple[bytes, float, float]:
    """Integrate ``entries`` in the integrator's batches; return (root, seconds, CPU seconds)."""
    size, root = 0, None
    cpu_started = time.process_time()
    started = time.perf_counter()
    for start in range(0, len(entries), INTEGRATOR_BATCH):
        result = integrate(store, size, entries[start : start + INTEGRATOR_BATCH], old_root=root)
        size, root = result.size, result.root_hash
    elapsed = time.perf_counter() - started
    assert root is not None
    return root, elapsed, time.process_time() - cpu_started


def file_creation_ms(directory: Path, count: int = 400) -> float:
    """CPU-and-wall cost of creating and filling one 8 KiB file here (no flush), in ms."""
    directory.mkdir(parents=True, exist_ok=True)
    data = bytes(8192)
    started = time.perf_counter()
    for i in range(count):
        fd = os.open(directory / f"probe-{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    elapsed = time.perf_counter() - started
    shutil.rmtree(directory, ignore_errors=True)
    return 1000 * elapsed / count


def bench_integration(mode: Mode, work: Path) -> dict[str, Any]:
    n = mode.entries
    rng = random.Random(1)
    print(
        f"\n[1] integration: {n:,} entries of {ENTRY_SIZE} bytes, batches of {INTEGRATOR_BATCH:,}"
    )
    entries = [rng.randbytes(ENTRY_SIZE) for _ in range(n)]
    shm = Path("/dev/shm")
    use_tmpfs = shm.is_dir() and os.access(shm, os.W_OK)
    kinds = ["disk", "memory", *(["tmpfs"] if use_tmpfs else [])]
    # Each integration run is bracketed by two hashing-only runs (H D H M H T H D ...); its
    # ratio is its rate over the mean rate of those two, so both see the same machine load.
    hashing_s: list[float] = []
    runs: dict[str, list[float]] = {kind: [] for kind in kinds}
    paired: dict[str, list[float]] = {kind: [] for kind in kinds}
    directory = work / "integration"
    roots: set[bytes] = set()

    def hash_once() -> None:
        started = time.perf_counter()
        roots.add(hashing_only(entries))
        hashing_s.append(time.perf_counter() - started)

    def integrate_once(kind: str) -> None:
        nonlocal store, best_cpu_s
        if kind == "disk":
            shutil.rmtree(directory, ignore_errors=True)
            timed = TimedStore(FileSystemStore(directory))  # durable: flushed to disk
            root, elapsed, cpu_s = integrate_all(timed, entries)
            if not runs["disk"] or elapsed < min(runs["disk"]):
                store, best_cpu_s = timed, cpu_s
        elif kind == "memory":
            root, elapsed, _cpu = integrate_all(MemoryStore(), entries)
        else:
            tmpfs = Path(tempfile.mkdtemp(prefix="shanyraq-bench-ledger-", dir=shm))
            try:
                root, elapsed, _cpu = integrate_all(FileSystemStore(tmpfs), entries)
            finally:
                shutil.rmtree(tmpfs, ignore_errors=True)
        roots.add(root)
        runs[kind].append(elapsed)

    store: TimedStore | None = None
    best_cpu_s = 0.0
    gc.collect()
    gc.disable()  # none of the loops allocates cycles; keep the collector out of the timings
    try:
        with one_cpu() as cpu:
            hash_once()
            for _round in range(mode.rounds):
                for kind in kinds:
                    integrate_once(kind)
                    hash_once()
                    before, after = hashing_s[-2], hashing_s[-1]
                    paired[kind].append((before + after) / 2 / runs[kind][-1])
            probe_ms = file_creation_ms(work / "probe")
            if PROFILE:
                shutil.rmtree(directory)
                profiled(
                    "integrate() to disk",
                    lambda: integrate_all(FileSystemStore(directory), entries),
                )
                integrate_once("disk")  # leave the best-measured layout for the usage figures
    finally:
        gc.enable()
    if len(roots) != 1 or store is None:
        raise RuntimeError("integrate() and the hashing loop disagree on the root")
    ratio = {kind: statistics.median(values) for kind, values in paired.items()}
    best = {kind: n / min(times) for kind, times in runs.items()}
    hashing = n / min(hashing_s)
    rate, elapsed, cpu_s = best["disk"], min(runs["disk"]), best_cpu_s
    usage = disk_usage(directory)
    stored = usage["bundles"] + usage["tiles"] + usage["partial"]
    figures: dict[str, Any] = {
        "entries": n,
        "cpu": cpu,
        "entries_per_s": round(rate),
        "hashing_only_entries_per_s": round(hashing),
        "ratio_vs_hashing": round(ratio["disk"], 3),
        "ratio_runs": [round(r, 3) for r in paired["disk"]],
        "ratio_best_vs_best": round(rate / hashing, 3),
        "rounds": mode.rounds,
        "runs_entries_per_s": {
            "hashing": [round(n / t) for t in hashing_s],
            **{kind: [round(n / t) for t in times] for kind, times in runs.items()},
        },
        "integration_s": round(elapsed, 3),
        "integration_cpu_s": round(cpu_s, 3),
        "storage_write_s": round(store.write_s, 3),
        "storage_sync_s": round(store.sync_s, 3),
        "storage_objects": store.objects,
        "file_create_ms": round(probe_ms, 3),
        "memory_store_entries_per_s": round(best["memory"]),
        "memory_store_ratio": round(ratio["memory"], 3),
        "tmpfs_entries_per_s": round(best["tmpfs"]) if "tmpfs" in best else None,
        "tmpfs_ratio": round(ratio["tmpfs"], 3) if "tmpfs" in ratio else None,
        "bytes_per_entry": round(stored / n, 1),
        "allocated_bytes_per_entry": round(usage["allocated"] / n, 1),
        "storage": usage,
    }
    print(
        f"    on CPU {cpu}, {mode.rounds} rounds: hashing only {hashing:,.0f} entries/s at best "
        f"(runs: {', '.join(f'{n / t:,.0f}' for t in hashing_s)})"
    )
    print(
        f"    integrate {rate:,.0f} entries/s at best ({elapsed:.2f} s, {cpu_s:.2f} s CPU; "
        f"{store.write_s:.2f} s in storage.write of which {store.sync_s:.2f} s in syncfs, "
        f"{store.objects:,} objects in {store.writes} writes)"
    )
    print(
        f"    ratio {ratio['disk']:.3f} (median of the rounds' paired ratios "
        f"{', '.join(f'{r:.3f}' for r in paired['disk'])}; target >= {RATIO_TARGET})\n"
        f"    on disk "
        f"{stored / n:.1f} bytes/entry ({usage['bundles'] / n:.1f} bundles, "
        f"{usage['tiles'] / n:.1f} tiles, {usage['partial'] / n:.2f} partial tiles left by "
        f"batches; {usage['allocated'] / n:.1f} allocated, {usage['files']:,} files)"
    )
    print(
        f"    for comparison: objects kept in memory {figures['memory_store_entries_per_s']:,}/s "
        f"(ratio {figures['memory_store_ratio']}), on tmpfs {figures['tmpfs_entries_per_s']:,}/s "
        f"(ratio {figures['tmpfs_ratio']}); creating one 8 KiB file in the temporary "
        f"directory costs {probe_ms:.3f} ms here"
    )
    shutil.rmtree(directory, ignore_errors=True)
    return figures


# --- the Django side: database, keys, witnesses -------------------------------------------------


def django_env(database_url: str, var_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchsite.settings",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(BENCH_DIR), str(PROJECT_DIR / "src"), os.environ.get("PYTHONPATH")) if p
        ),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SHANYRAQ_VAR_DIR": str(var_dir),
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "LEDGER_LOGS": f"{LATENCY_LOG},{PROOF_LOG}",
        "LEDGER_ORIGIN_PREFIX": ORIGIN_PREFIX,
        "LEDGER_KEY_DIR": str(var_dir / "keys"),
        "LEDGER_STORAGE_DIR": str(var_dir / "ledger"),
        "LEDGER_WITNESSES_FILE": str(var_dir / "keys" / "witnesses.json"),
    }
    env.pop("SHANYRAQ_ACCESS_LOG", None)
    return env


def start_witnesses(
    processes: Processes, env: Mapping[str, str], var_dir: Path, logs: Mapping[str, str]
) -> list[dict[str, str]]:
    """Two witness processes following ``logs`` (origin -> vkey); the policy file (quorum 2)."""
    cli = [sys.executable, "-m", "shanyraq.config.cli", "witness"]
    witnesses: list[dict[str, str]] = []
    for i in (1, 2):
        name = f"witness-{i}.bench.example"
        directory = var_dir / "witnesses" / name
        vkey = run_step(env, *cli[1:], "keygen", "--name", name, "--out", str(directory / "key"))
        port = free_port()
        process = processes.start(
            f"witness-{i}",
            [
                *cli,
                "serve",
                "--key",
                str(directory / "key"),
                "--state",
                str(directory / "state"),
                "--host",
                HOST,
                "--port",
                str(port),
                *(f"--log={origin}={key}" for origin, key in logs.items()),
            ],
            env,
        )
        processes.wait_http(f"witness-{i}", process, port, "/")
        witnesses.append({"name": name, "vkey": vkey.strip(), "url": f"http://{HOST}:{port}/"})
    policy = Path(env["LEDGER_WITNESSES_FILE"])
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(json.dumps({"quorum": 2, "witnesses": witnesses}, indent=2) + "\n")
    return witnesses


# --- 2. append latency ------------------------------------------------------------------------


class CheckpointWatcher(threading.Thread):
    """Polls the served checkpoint file; records (time first seen, note) for every new one."""

    def __init__(self, path: Path, interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.interval = interval
        self.seen: list[tuple[float, int, bytes]] = []
        self.stopping = threading.Event()

    @property
    def size(self) -> int:
        return self.seen[-1][1] if self.seen else 0

    def run(self) -> None:
        last = b""
        while not self.stopping.is_set():
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                data = b""
            now = time.monotonic()
            if data and data != last:
                last = data
                size = int(data.split(b"\n", 2)[1])
                self.seen.append((now, size, data))
            self.stopping.wait(self.interval)


def append_steadily(
    mode: Mode, log: str, payload: Callable[[int], bytes]
) -> tuple[list[float], list[float]]:
    """Append ``rate * seconds`` entries, entry k due at start + k / rate, one transaction
    each, from ``mode.appenders`` threads. Returns the commit times and how late each was."""
    from django.db import connections, transaction

    from shanyraq.ledger_django import services

    total = int(mode.rate * mode.seconds)
    commits = [0.0] * total
    late = [0.0] * total
    counter = itertools.count()
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = time.monotonic() + 0.2

    def appender() -> None:
        try:
            while True:
                with lock:
                    k = next(counter)
                if k >= total:
                    return
                due = start + k / mode.rate
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                data = payload(k)
                with transaction.atomic():
                    services.ledger_append_bytes(log=log, data=data, kind="bench.latency")
                commits[k] = time.monotonic()
                late[k] = commits[k] - due
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=appender, daemon=True) for _ in range(mode.appenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=mode.seconds + 120)
    if errors:
        raise RuntimeError(f"an appender failed: {errors[0]!r}") from errors[0]
    return commits, late


def bench_latency(mode: Mode, env: Mapping[str, str], processes: Processes) -> dict[str, Any]:
    from shanyraq.core.canonical_json import canonicalize
    from shanyraq.ledger_django import config
    from shanyraq.ledger_django.models import Entry

    log = config.get_log(LATENCY_LOG)
    total = int(mode.rate * mode.seconds)
    print(
        f"\n[2] append latency: {total:,} appends at {mode.rate:,}/s from {mode.appenders} "
        f"threads, integrator loop (interval 0.1 s) in another process, 2 witnesses, quorum 2"
    )
    integrator = processes.start(
        "integrator",
        [
            sys.executable,
            "-m",
            "django",
            "ledger",
            "integrate",
            "--log",
            LATENCY_LOG,
            "--loop",
            "--interval",
            "0.1",
        ],
        env,
    )
    watcher = CheckpointWatcher(log.storage_dir / "checkpoint")
    watcher.start()
    pad = "x" * 120

    def payload(k: int) -> bytes:
        return canonicalize(
            {
                "v": 1,
                "type": "bench.latency",
                "k": k,
                "registry": "real_estate",
                "record": f"{k:012d}",
                "commitment": base64.b64encode(sha256(b"%d" % k).digest()).decode(),
                "pad": pad,
            }
        )

    try:
        commits, late = append_steadily(mode, LATENCY_LOG, payload)
        appended = time.monotonic()
        deadline = appended + 60
        while watcher.size < total and time.monotonic() < deadline:
            if integrator.poll() is not None:
                raise RuntimeError(f"the integrator exited:\n{processes.log('integrator')}")
            time.sleep(0.01)
        if watcher.size < total:
            raise RuntimeError(
                f"only {watcher.size} of {total} entries published after 60 s:\n"
                f"{processes.log('integrator')}"
            )
    finally:
        watcher.stopping.set()
        watcher.join(timeout=5)
        processes.stop(integrator)

    # Which index each entry got, and when a checkpoint first covered it.
    index_of = [0] * total
    rows = Entry.objects.filter(log=LATENCY_LOG).values_list("index", "data").iterator()
    for index, data in rows:
        index_of[json.loads(bytes(data))["k"]] = index
    seen_at = [t for t, _size, _note in watcher.seen]
    sizes = [size for _t, size, _note in watcher.seen]
    latencies = []
    for k in range(total):
        first = bisect.bisect_right(sizes, index_of[k])  # first checkpoint with size > index
        latencies.append(seen_at[first] - commits[k])

    # Every checkpoint seen: signed by the log, cosigned by both witnesses, consistent.
    policy = log.policy()
    tiles = TiledLog(log.storage().read)
    previous: Checkpoint | None = None
    for _t, _size, note in watcher.seen:
        cp = open_checkpoint(
            note, origin=log.origin, log_verifiers=[log.verifier()], policy=policy
        ).checkpoint
        if previous is not None:
            proof = tiles.consistency_proof(previous.size, cp.size)
            verify_consistency(previous.size, cp.size, proof, previous.root_hash, cp.root_hash)
        previous = cp
    intervals = [b - a for a, b in itertools.pairwise(seen_at)]
    span = max(commits) - min(commits)
    figures = {
        "appends": total,
        "append_rate_target": mode.rate,
        "append_rate_achieved": round(total / span, 1) if span else None,
        "append_late_p99_s": round(percentile(late, 0.99), 4),
        "append_p50_s": round(percentile(latencies, 0.50), 4),
        "append_p99_s": round(percentile(latencies, 0.99), 4),
        "append_max_s": round(max(latencies), 4),
        "checkpoints_published": len(watcher.seen),
        "checkpoint_interval_mean_s": round(statistics.fmean(intervals), 4) if intervals else None,
        "entries_per_checkpoint_mean": round(total / len(watcher.seen), 1),
    }
    print(
        f"    achieved {figures['append_rate_achieved']}/s (p99 start delay "
        f"{figures['append_late_p99_s']} s); commit -> cosigned checkpoint: p50 "
        f"{figures['append_p50_s']} s, p99 {figures['append_p99_s']} s, max "
        f"{figures['append_max_s']} s (target p99 < {LATENCY_P99_TARGET_S} s)"
    )
    print(
        f"    {len(watcher.seen)} checkpoints, each with both cosignatures and consistent with "
        f"the one before; one every {figures['checkpoint_interval_mean_s']} s on average"
    )
    return figures


# --- 3. inclusion proofs ----------------------------------------------------------------------


def build_proof_log(size: int) -> tuple[int, bytes, float]:
    """Fill the proof log's storage with ``size`` entries by integrate(); record its state."""
    from django.db import transaction

    from shanyraq.ledger_django import config
    from shanyraq.ledger_django.models import LogState, PublishedCheckpoint

    log = config.get_log(PROOF_LOG)
    store = FileSystemStore(log.storage_dir, durable=False)  # set-up only: no need to flush
    started = time.perf_counter()
    done, root = 0, None
    step = 1 << 19
    while done < size:
        count = min(step, size - done)
        batch = [b'{"n":%d,"type":"bench.proof","v":1}' % i for i in range(done, done + count)]
        result = integrate(store, done, batch, old_root=root)
        done, root = result.size, result.root_hash
    assert root is not None
    elapsed = time.perf_counter() - started
    note = Checkpoint(log.origin, size, root).sign([log.signer()])
    store.write_checkpoint(note)
    with transaction.atomic():
        LogState.objects.update_or_create(
            log=PROOF_LOG,
            defaults={
                "sequenced_size": size,
                "integrated_size": size,
                "integrated_root": root.hex(),
                "published_size": size,
            },
        )
        PublishedCheckpoint.objects.create(
            log=PROOF_LOG, size=size, root_hash=root.hex(), note=note.decode(), cosigners=[]
        )
    return size, root, elapsed


def bench_proofs(
    mode: Mode, env: Mapping[str, str], processes: Processes, var_dir: Path
) -> dict[str, Any]:
    from shanyraq.ledger_django import selectors

    print(f"\n[3] inclusion proofs in a log of {mode.proof_log:,} entries")
    size, root, build_s = build_proof_log(mode.proof_log)
    usage = disk_usage(var_dir / "ledger" / PROOF_LOG)
    print(
        f"    built with integrate() in {build_s:.1f} s ({size / build_s:,.0f} entries/s; "
        f"{usage['files']:,} files)"
    )
    rng = random.Random(7)

    def check(index: int, leaf: bytes, proof: Sequence[bytes]) -> None:
        expected = leaf_hash(b'{"n":%d,"type":"bench.proof","v":1}' % index)
        if leaf != expected:
            raise RuntimeError(f"entry {index}: wrong leaf hash")
        verify_inclusion(leaf, index, size, list(proof), root)

    # In process, through the selector the API view calls (fresh tile cache, random entries).
    in_process: list[float] = []
    for i in range(mode.proof_requests):
        index = rng.randrange(size)
        started = time.perf_counter()
        answer = selectors.inclusion_by_index(PROOF_LOG, index)
        in_process.append(time.perf_counter() - started)
        if i % 50 == 0:
            check(index, answer.leaf_hash, answer.proof)
    proof_hashes = len(answer.proof)
    if PROFILE:
        profiled(
            "selectors.inclusion_by_index",
            lambda: [
                selectors.inclusion_by_index(PROOF_LOG, rng.randrange(size))
                for _ in range(mode.proof_requests)
            ],
        )

    # The tile part alone (a fresh reader over the same files, the same kind of indices): the
    # rest of the selector's time is its two database queries and Django's ORM.
    from shanyraq.ledger_django import config

    tiles = TiledLog(config.get_log(PROOF_LOG).storage().read, cache_tiles=4096)
    tiles_only: list[float] = []
    for _ in range(mode.proof_requests):
        index = rng.randrange(size)
        started = time.perf_counter()
        tiles.leaf_hash(index, size)
        tiles.inclusion_proof(index, size)
        tiles_only.append(time.perf_counter() - started)

    # Through the whole Django stack in process (middleware, URL resolver, the API's query
    # validation and JSON schema), without sockets or the server.
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    path = f"/api/v1/ledger/{PROOF_LOG}/inclusion?index="
    through_django: list[float] = []
    for _ in range(mode.proof_requests):
        index = rng.randrange(size)
        started = time.perf_counter()
        response = client.get(path + str(index))
        through_django.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}{index} in process: {response.status_code}")
    if PROFILE:
        profiled(
            "the API view through Django (test client)",
            lambda: [
                client.get(path + str(rng.randrange(size))) for _ in range(mode.proof_requests)
            ],
        )

    # Over HTTP, through the production server, beside a constant view.
    port = free_port()
    server = processes.start(
        "server",
        [sys.executable, "-m", "shanyraq.config.cli", "serve"],
        {**env, "BIND": f"{HOST}:{port}"},
    )
    processes.wait_http("server", server, port, "/bench/constant")
    workers = max(1, len(_group_pids(server.pid)) - 1)
    for _ in range(100):  # warm up every worker a little (imports, connections)
        http_get(port, "/bench/constant")
        http_get(port, path + str(rng.randrange(size)))
    over_http: list[float] = []
    baseline: list[float] = []
    for i in range(mode.proof_requests):
        index = rng.randrange(size)
        started = time.perf_counter()
        status, body = http_get(port, path + str(index))
        over_http.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"GET {path}{index}: {status} {body[:300]!r}")
        if i % 50 == 0:
            data = json.loads(body)
            check(
                index,
                base64.b64decode(data["leaf_hash"]),
                [base64.b64decode(h) for h in data["proof"]],
            )
        started = time.perf_counter()
        status, _body = http_get(port, "/bench/constant")
        baseline.append(time.perf_counter() - started)
    processes.stop(server)

    def ms(values: Sequence[float], q: float) -> float:
        return round(1000 * percentile(values, q), 3)

    figures = {
        "proof_log_entries": size,
        "proof_hashes": proof_hashes,
        "proof_requests": mode.proof_requests,
        "proof_p50_ms": ms(in_process, 0.50),
        "proof_p95_ms": ms(in_process, 0.95),
        "proof_tiles_p50_ms": ms(tiles_only, 0.50),
        "proof_tiles_p95_ms": ms(tiles_only, 0.95),
        "proof_view_p50_ms": ms(through_django, 0.50),
        "proof_view_p95_ms": ms(through_django, 0.95),
        "proof_http_p50_ms": ms(over_http, 0.50),
        "proof_http_p95_ms": ms(over_http, 0.95),
        "http_constant_p50_ms": ms(baseline, 0.50),
        "http_constant_p95_ms": ms(baseline, 0.95),
        "proof_http_p95_over_constant_ms": round(ms(over_http, 0.95) - ms(baseline, 0.95), 3),
        "server_workers": workers,
    }
    print(
        f"    selector in process: p50 {figures['proof_p50_ms']} ms, p95 "
        f"{figures['proof_p95_ms']} ms ({proof_hashes} hashes per proof); of which tiles "
        f"alone: p50 {figures['proof_tiles_p50_ms']} ms, p95 {figures['proof_tiles_p95_ms']} ms"
    )
    print(
        f"    the API view in process (Django test client, no server): p50 "
        f"{figures['proof_view_p50_ms']} ms, p95 {figures['proof_view_p95_ms']} ms"
    )
    print(
        f"    HTTP (gunicorn, {workers} sync workers, new connection per request): p50 "
        f"{figures['proof_http_p50_ms']} ms, p95 {figures['proof_http_p95_ms']} ms; a constant "
        f"view: p50 {figures['http_constant_p50_ms']} ms, p95 {figures['http_constant_p95_ms']} ms"
    )
    return figures


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                    pids.append(int(entry))
    return pids


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    parser.add_argument("--only", choices=["integration", "latency", "proofs"], action="append")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/"),
        help="PostgreSQL server to create the benchmark database on (loopback only)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    global PROFILE
    PROFILE = args.profile
    parts = set(args.only or ["integration", "latency", "proofs"])

    def terminate(signum: int, frame: Any) -> None:
        print("stopped: killing processes, dropping the database", file=sys.stderr)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    started = time.monotonic()
    summary: dict[str, Any] = {"bench": "ledger", "mode": mode.name}
    work = Path(tempfile.mkdtemp(prefix="shanyraq-bench-ledger-"))
    try:
        if "integration" in parts:
            summary.update(bench_integration(mode, work))
        if parts & {"latency", "proofs"}:
            var_dir = work / "var"
            (var_dir / "static").mkdir(parents=True)  # STATIC_ROOT: nothing to collect here
            processes = Processes(work)
            database = f"shanyraq_bench_ledger_{os.getpid()}"
            try:
                with temporary_database(args.postgres, database) as database_url:
                    env = django_env(database_url, var_dir)
                    os.environ.update(env)
                    run_step(env, "-m", "django", "migrate", "--no-input", "-v", "0")
                    keys = run_step(env, "-m", "django", "ledger", "keygen").split()
                    import django

                    django.setup()
                    from django.db import connections

                    from shanyraq.ledger_django import config

                    try:
                        if "latency" in parts:
                            origin = config.get_log(LATENCY_LOG).origin
                            vkey = keys[keys.index(LATENCY_LOG) + 1]
                            start_witnesses(processes, env, var_dir, {origin: vkey})
                            config.reset()
                            summary.update(bench_latency(mode, env, processes))
                        if "proofs" in parts:
                            summary.update(bench_proofs(mode, env, processes, var_dir))
                    finally:
                        processes.close()
                        connections.close_all()
            finally:
                processes.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    targets = {
        "ratio_vs_hashing": lambda v: v >= RATIO_TARGET,
        "append_p99_s": lambda v: v < LATENCY_P99_TARGET_S,
        "proof_p95_ms": lambda v: v < PROOF_P95_TARGET_MS,
    }
    checks = {name: ok(summary[name]) for name, ok in targets.items() if name in summary}
    summary["targets_met"] = checks
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(
        "\ntargets: "
        + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks.items())
        + f"; {summary['seconds']} s in all"
    )
    print(json.dumps(summary))
    return 1 if args.check and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
