#!/usr/bin/env python3
"""Catalog throughput under the production server, relative to a constant Django view.

    .venv/bin/python bench/catalog.py [--quick] [--check]

Creates a PostgreSQL database of its own (dropped at the end), migrates it and loads the demo
catalog, then starts the production server the way ``shanyraq serve`` does (gunicorn, sync
workers) on a free loopback port, with the settings in bench/benchsite: the production ones
plus ``/bench/constant``, a view that returns a constant. Sixteen concurrent clients then
request, in interleaved rounds:

    baseline  /bench/constant
    list      /services/                      the catalog list page
    search    /search/?q=...                  the search page (a Kazakh, a Russian and an
                                              English word in turn)
    api       /api/v1/services                the API list

and the figures are printed: requests per second, latency percentiles (connect to last byte),
and each endpoint's throughput as a ratio to the baseline. The last line is one JSON object.
Targets: api_ratio >= 0.35, page_ratio (the lower of list and search) >= 0.25, p95 < 100 ms.

The load generator is a few processes of asyncio raw-socket clients (no HTTP library):
gunicorn's sync workers close the connection after each response, so every request opens a
new loopback connection; a server that keeps connections alive would get them reused. The
client processes' CPU time is reported, to show they are not what limits the figures.

Everything is bounded: each measurement stops after its duration (or a request cap), a stuck
request is abandoned after a grace period, and the server's process group is killed and the
database dropped on the way out, whatever happened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
HOST = "127.0.0.1"

ENDPOINTS: dict[str, list[str]] = {
    "baseline": ["/bench/constant"],
    "list": ["/services/"],
    "search": ["/search/?q=жәрдемақы", "/search/?q=регистрация", "/search/?q=birth"],
    "api": ["/api/v1/services"],
}
API_TARGET = 0.35
PAGE_TARGET = 0.25
P95_TARGET_MS = 100.0

REQUEST_CAP = 2_000_000  # per measurement, across all clients
GRACE_S = 10.0  # how long a request may still run after the measurement's end
STEP_TIMEOUT_S = 600  # migrate, collectstatic, demo load
START_TIMEOUT_S = 60  # until the server answers


@dataclass(frozen=True)
class Mode:
    name: str
    warmup_s: float  # per endpoint, before the measured rounds
    round_s: float  # per endpoint and round
    rounds: int


QUICK = Mode("quick", warmup_s=1.0, round_s=3.0, rounds=1)
FULL = Mode("full", warmup_s=3.0, round_s=6.0, rounds=3)


# --- the load generator (runs in child processes) ------------------------------------------


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; a response ends at Content-Length or when the server closes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[int] | None = None
        self.buffer = bytearray()
        self.header_end = -1
        self.expected = -1
        self.keep_alive = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.buffer.clear()
        self.header_end = self.expected = -1
        self.transport.write(request)
        return self.done

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if self.header_end < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.header_end = end + 4
            head = bytes(buffer[:end]).lower()
            start = head.find(b"\r\ncontent-length:")
            if start >= 0:
                stop = head.find(b"\r\n", start + 2)
                length = head[start + 17 : stop if stop >= 0 else None]
                self.expected = self.header_end + int(length)
            self.keep_alive = head.startswith(b"http/1.1") and b"connection: close" not in head
        if 0 <= self.expected <= len(buffer) and self.done is not None and not self.done.done():
            self.done.set_result(int(buffer[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.done is not None and not self.done.done():
            if exc is None and self.header_end >= 0 and self.expected < 0:
                self.done.set_result(int(self.buffer[9:12]))  # body ended by the close
            else:
                self.done.set_exception(exc or ConnectionError("closed before the response"))


@dataclass
class _Tally:
    requests: int = 0
    bad_status: int = 0
    errors: int = 0
    last: float = 0.0
    latencies: array[float] = field(default_factory=lambda: array("d"))


async def _client(
    requests: list[bytes],
    offset: int,
    port: int,
    deadline: float,
    cap: int,
    tally: _Tally,
    pace_s: float = 0.0,
) -> None:
    """Send requests one after another; with ``pace_s``, start one every ``pace_s`` seconds
    (when the previous answer came in time) instead of as fast as the server answers."""
    loop = asyncio.get_running_loop()
    connection: _Connection | None = None
    index = offset
    clock = time.perf_counter
    next_send = clock() + pace_s * (offset % 97) / 97  # spread the clients' first sends
    while loop.time() < deadline and tally.requests < cap:
        request = requests[index % len(requests)]
        index += 1
        if pace_s:
            await asyncio.sleep(max(0.0, next_send - clock()))
            next_send = max(next_send + pace_s, clock())
        started = clock()
        try:
            if connection is None or connection.closed:
                _, connection = await loop.create_connection(_Connection, HOST, port)
            status = await connection.send(request)
        except (OSError, ValueError):
            tally.errors += 1
            if connection is not None and connection.transport is not None:
                connection.transport.close()
            connection = None
            await asyncio.sleep(0.01)
            continue
        finished = clock()
        tally.latencies.append(finished - started)
        tally.requests += 1
        tally.last = finished
        if status != 200:
            tally.bad_status += 1
        if not connection.keep_alive and connection.transport is not None:
            connection.transport.close()
            connection = None
    if connection is not None and connection.transport is not None:
        connection.transport.close()


async def _client_group(
    requests: list[bytes],
    clients: int,
    first: int,
    port: int,
    start_at: float,
    seconds: float,
    cap: int,
    pace_s: float = 0.0,
) -> tuple[_Tally, float]:
    loop = asyncio.get_running_loop()
    # time.monotonic() is the same clock in every process, so all groups start together.
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    deadline = loop.time() + seconds
    began = time.perf_counter()
    tally = _Tally()
    tasks = [
        asyncio.create_task(_client(requests, first + i, port, deadline, cap, tally, pace_s))
        for i in range(clients)
    ]
    _, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_S)
    for task in pending:  # a request stuck past the grace period is abandoned
        task.cancel()
        tally.errors += 1
    if pending:
        await asyncio.wait(pending)
    return tally, began


def run_client_group(
    paths: list[str],
    clients: int,
    first: int,
    port: int,
    start_at: float,
    seconds: float,
    cap: int,
    headers: str = "",
    pace_s: float = 0.0,
) -> dict[str, Any]:
    """Entry point of a client process: ``clients`` concurrent connections for ``seconds``.

    ``headers`` are extra header lines (each ending in CRLF) sent with every request.
    """
    requests = [
        (
            f"GET {quote(path, safe='/?=&%')} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"User-Agent: shanyraq-bench\r\nAccept: */*\r\n{headers}\r\n"
        ).encode("ascii")
        for path in paths
    ]
    cpu = time.process_time()
    tally, began = asyncio.run(
        _client_group(requests, clients, first, port, start_at, seconds, cap, pace_s)
    )
    return {
        "requests": tally.requests,
        "bad_status": tally.bad_status,
        "errors": tally.errors,
        "elapsed": max(tally.last - began, 1e-9),
        "cpu": time.process_time() - cpu,
        "latencies": tally.latencies.tobytes(),
    }


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Result:
    requests: int = 0
    bad_status: int = 0
    errors: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    db_cpu: float = 0.0
    latencies: array[float] = field(default_factory=lambda: array("d"))

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """Server and database CPU per request: what the endpoint costs the machine."""
        if not self.requests:
            return float("nan")
        return 1000 * (self.server_cpu + self.db_cpu) / self.requests

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system) used so far by each of the processes still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def _cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used in between; a process that ended in between is not counted (an underestimate)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[2]) == pgid:
                    pids.append(int(entry.name))
    return pids


def _database_pids(database: str) -> list[int]:
    """PostgreSQL backends serving the benchmark's database (when they are on this machine)."""
    pids = []
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
    return pids


class LoadGenerator:
    def __init__(self, port: int, clients: int, processes: int, pgid: int, database: str):
        self.port = port
        self.clients = clients
        self.processes = max(1, min(processes, clients))
        self.pgid = pgid
        self.database = database
        self.pool = ProcessPoolExecutor(
            max_workers=self.processes, mp_context=multiprocessing.get_context("spawn")
        )

    def close(self, *, failed: bool = False) -> None:
        if failed:  # do not wait for a client that may be stuck: end it
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.kill()
        self.pool.shutdown(wait=not failed, cancel_futures=True)

    def run(
        self,
        paths: list[str],
        seconds: float,
        into: Result | None = None,
        *,
        headers: str = "",
        pace_s: float = 0.0,
    ) -> Result:
        result = into if into is not None else Result()
        share, extra = divmod(self.clients, self.processes)
        start_at = time.monotonic() + 0.5
        server_cpu = _cpu_seconds(_group_pids(self.pgid))
        db_cpu = _cpu_seconds(_database_pids(self.database))
        futures, first = [], 0
        for index in range(self.processes):
            clients = share + (1 if index < extra else 0)
            futures.append(
                self.pool.submit(
                    run_client_group,
                    paths,
                    clients,
                    first,
                    self.port,
                    start_at,
                    seconds,
                    REQUEST_CAP // self.processes,
                    headers,
                    pace_s,
                )
            )
            first += clients
        parts = [f.result(timeout=seconds + GRACE_S + 30) for f in futures]
        result.server_cpu += _cpu_delta(server_cpu, _cpu_seconds(_group_pids(self.pgid)))
        result.db_cpu += _cpu_delta(db_cpu, _cpu_seconds(_database_pids(self.database)))
        result.requests += sum(p["requests"] for p in parts)
        result.bad_status += sum(p["bad_status"] for p in parts)
        result.errors += sum(p["errors"] for p in parts)
        result.seconds += max(p["elapsed"] for p in parts)
        result.client_cpu += sum(p["cpu"] for p in parts)
        for part in parts:
            latencies = array("d")
            latencies.frombytes(part["latencies"])
            result.latencies.extend(latencies)
        return result


# --- the server and its database ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _admin_dsn(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"the benchmark runs on loopback only; got {parts.hostname!r}")
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def _database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


@contextlib.contextmanager
def temporary_database(base_url: str, name: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    admin = _admin_dsn(base_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _database_url(base_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _manage(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "-m", "shanyraq.config.cli", "manage", *args]
    done = subprocess.run(
        command,
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"`shanyraq manage {' '.join(args)}` failed ({done.returncode})")


def _get(port: int, path: str) -> tuple[int, bytes]:
    return _get_with(port, path, "")


def _get_with(port: int, path: str, headers: str) -> tuple[int, bytes]:
    """GET ``path`` with extra header lines (``Name: value`` each ending in CRLF)."""
    extra = dict(line.split(": ", 1) for line in headers.split("\r\n") if line)
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", quote(path, safe="/?=&%"), headers=extra)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextlib.contextmanager
def production_server(env: dict[str, str], port: int, log_path: Path) -> Iterator[int]:
    """``shanyraq serve`` bound to loopback; yields its process group id; always killed."""
    server_env = {**env, "BIND": f"{HOST}:{port}"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "shanyraq.config.cli", "serve"],
            env=server_env,
            cwd=PROJECT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server exited ({process.returncode}):\n{log_path.read_text()[-3000:]}"
                )
            with contextlib.suppress(OSError):
                if _get(port, "/bench/constant")[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield process.pid
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # workers left behind by the master
        os.killpg(process.pid, signal.SIGKILL)


def _sanity_check(port: int) -> None:
    """Each endpoint answers 200 with the real content, so the figures measure real work."""
    status, body = _get(port, "/api/v1/services")
    data = json.loads(body)
    if status != 200 or data.get("count", 0) < 20 or len(data.get("items", [])) != 20:
        raise RuntimeError(f"/api/v1/services: {status}, {body[:300]!r}")
    for path in ENDPOINTS["list"] + ENDPOINTS["search"]:
        status, body = _get(port, path)
        cards = body.count(b'<h3 class="govuk-heading-s')
        if status != 200 or cards == 0:
            raise RuntimeError(f"{path}: status {status}, {cards} services listed")


# --- main -----------------------------------------------------------------------------------


def _print_table(results: dict[str, Result], baseline: float) -> None:
    print(
        f"{'endpoint':<10}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'ratio':>8}"
        f"{'server ms/req':>15}{'db ms/req':>11}  path"
    )
    for name, result in results.items():
        per = 1000 / result.requests if result.requests else float("nan")
        print(
            f"{name:<10}{result.rps:>10.1f}{result.percentile_ms(0.50):>9.1f}"
            f"{result.percentile_ms(0.95):>9.1f}{result.percentile_ms(0.99):>9.1f}"
            f"{result.rps / baseline if baseline else 0:>8.3f}"
            f"{result.server_cpu * per:>15.2f}{result.db_cpu * per:>11.2f}"
            f"  {' | '.join(ENDPOINTS[name])}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (under a minute)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument(
        "--client-processes",
        type=int,
        default=max(2, (os.cpu_count() or 2) // 2),
        help="processes the clients are spread over",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers (default: what `shanyraq serve` picks, 2 x CPUs + 1)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/"),
        help="PostgreSQL server to create the benchmark database on (loopback only)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 256:
        parser.error("--clients must be between 1 and 256")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        parser.error("run it with the project's environment: .venv/bin/python bench/catalog.py")
    mode = QUICK if args.quick else FULL

    def terminate(signum: int, frame: Any) -> None:
        print("stopped: shutting the server down and dropping the database", file=sys.stderr)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)

    var_dir = Path(tempfile.mkdtemp(prefix="shanyraq-bench-"))
    database = f"shanyraq_bench_{os.getpid()}"
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    try:
        with temporary_database(args.postgres, database) as database_url:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "benchsite.settings",
                "PYTHONPATH": os.pathsep.join(
                    [str(BENCH_DIR), str(PROJECT_DIR / "src"), os.environ.get("PYTHONPATH", "")]
                ),
                "DATABASE_URL": database_url,
                "SECRET_KEY": secrets.token_urlsafe(64),
                "ALLOWED_HOSTS": f"{HOST},localhost",
                "SHANYRAQ_VAR_DIR": str(var_dir),
                "SECURE_SSL_REDIRECT": "false",
                "LOG_LEVEL": "WARNING",
                "SMS_GATEWAY": "shanyraq.notifications.sms.FakeSmsGateway",
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            }
            env.pop("SHANYRAQ_ACCESS_LOG", None)
            if args.workers:
                env["WEB_CONCURRENCY"] = str(args.workers)
            print(f"setting up: database {database}, migrate, static files, demo catalog")
            _manage(env, "migrate", "--no-input", "-v", "0")
            _manage(env, "collectstatic", "--no-input", "-v", "0")
            _manage({**env, "SHANYRAQ_DEMO": "true"}, "load_demo")
            print(f"set up in {time.monotonic() - started:.0f} s")
            port = _free_port()
            with production_server(env, port, var_dir / "server.log") as pgid:
                workers = len(_group_pids(pgid)) - 1
                _sanity_check(port)
                print(
                    f"server: gunicorn sync, {workers} workers, {HOST}:{port}; "
                    f"{args.clients} clients in {args.client_processes} processes; "
                    f"{mode.name} run: {mode.rounds} x {mode.round_s:.0f} s per endpoint"
                )
                load = LoadGenerator(port, args.clients, args.client_processes, pgid, database)
                failed = True
                try:
                    for paths in ENDPOINTS.values():
                        load.run(paths, mode.warmup_s)
                    results = {name: Result() for name in ENDPOINTS}
                    for _ in range(mode.rounds):
                        for name, paths in ENDPOINTS.items():
                            load.run(paths, mode.round_s, into=results[name])
                    failed = False
                finally:
                    load.close(failed=failed)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)

    baseline = results["baseline"].rps
    ratios = {name: r.rps / baseline if baseline else 0.0 for name, r in results.items()}
    _print_table(results, baseline)
    total_time = sum(r.seconds for r in results.values())
    client_share = sum(r.client_cpu for r in results.values()) / total_time / (os.cpu_count() or 1)
    errors = sum(r.errors + r.bad_status for r in results.values())
    p95 = {name: round(r.percentile_ms(0.95), 2) for name, r in results.items()}
    page_ratio = min(ratios["list"], ratios["search"])
    meets = (
        ratios["api"] >= API_TARGET
        and page_ratio >= PAGE_TARGET
        and all(v < P95_TARGET_MS for v in p95.values())
        and errors == 0
    )
    print(
        f"clients used {client_share:.0%} of the machine's CPU; load average before: "
        f"{load_before:.2f}; errors: {errors}; {time.monotonic() - started:.0f} s in all"
    )
    print(
        f"api_ratio {ratios['api']:.3f} (target >= {API_TARGET}), page_ratio {page_ratio:.3f} "
        f"(target >= {PAGE_TARGET}), p95 under {P95_TARGET_MS:.0f} ms: "
        f"{all(v < P95_TARGET_MS for v in p95.values())} -> {'met' if meets else 'MISSED'}"
    )
    summary = {
        "bench": "catalog",
        "mode": mode.name,
        "clients": args.clients,
        "workers": workers,
        "baseline_rps": round(baseline, 1),
        "list_rps": round(results["list"].rps, 1),
        "search_rps": round(results["search"].rps, 1),
        "api_rps": round(results["api"].rps, 1),
        "list_ratio": round(ratios["list"], 3),
        "search_ratio": round(ratios["search"], 3),
        "api_ratio": round(ratios["api"], 3),
        "page_ratio": round(page_ratio, 3),
        "p50_ms": {name: round(r.percentile_ms(0.50), 2) for name, r in results.items()},
        "p95_ms": p95,
        "p99_ms": {name: round(r.percentile_ms(0.99), 2) for name, r in results.items()},
        "server_cpu_ms_per_request": {
            name: round(1000 * r.server_cpu / r.requests, 3) if r.requests else None
            for name, r in results.items()
        },
        "db_cpu_ms_per_request": {
            name: round(1000 * r.db_cpu / r.requests, 3) if r.requests else None
            for name, r in results.items()
        },
        # Baseline CPU per request over the endpoint's: a cross-check of the ratios that
        # depends less on whatever else the machine is running.
        "cpu_cost_ratio": {
            name: round(results["baseline"].cpu_ms_per_request / r.cpu_ms_per_request, 3)
            for name, r in results.items()
            if name != "baseline" and r.requests
        },
        "client_cpu_share": round(client_share, 3),
        "errors": errors,
        "meets_targets": meets,
    }
    print(json.dumps(summary, ensure_ascii=False))
    if errors:
        return 1
    return 1 if args.check and not meets else 0


if __name__ == "__main__":
    sys.exit(main())
