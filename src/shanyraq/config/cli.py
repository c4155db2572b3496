"""The ``shanyraq`` console command.

``shanyraq demo``           migrate an SQLite database under var/, load the demo data, serve it
``shanyraq serve``          run the production WSGI server (gunicorn, sync workers)
``shanyraq witness ...``    run an independent witness (see ``shanyraq witness --help``)
``shanyraq worker``         run background work: events, automatic casework, notifications
``shanyraq manage ARGS``    any Django management command
``shanyraq COMMAND ARGS``   shorthand for a Shanyraq management command (``token``, ...)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

DEMO_SETTINGS = "shanyraq.config.settings.demo"
PRODUCTION_SETTINGS = "shanyraq.config.settings.production"


def _run_management(argv: list[str]) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["shanyraq", *argv])


def _gunicorn_args(bind: str, workers: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "shanyraq.config.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--access-logfile",
        "-" if os.environ.get("SHANYRAQ_ACCESS_LOG") else "/dev/null",
        "--graceful-timeout",
        "10",
    ]


def _serve(bind: str, workers: int, threads: int) -> None:
    """Replace this process with gunicorn serving the WSGI application."""
    args = _gunicorn_args(bind, workers, threads)
    os.execv(sys.executable, args)  # noqa: S606


def _demo_witnesses(port: int) -> list[dict[str, object]]:
    """Two local witnesses for the demo log: keys under var/witnesses, policy file written."""
    import json

    from django.conf import settings

    from .witness_cli import keygen

    witnesses: list[dict[str, object]] = []
    for offset, name in enumerate(["witness-a.shanyraq.demo", "witness-b.shanyraq.demo"], 1):
        directory = Path(settings.VAR_DIR) / "witnesses" / name
        vkey = keygen(name, directory / "key")
        witnesses.append(
            {
                "name": name,
                "vkey": vkey,
                "url": f"http://127.0.0.1:{port + offset}/",
                "port": port + offset,
                "dir": str(directory),
            }
        )
    policy = {
        "quorum": len(witnesses),
        "witnesses": [{k: w[k] for k in ("name", "vkey", "url")} for w in witnesses],
    }
    path = Path(settings.LEDGER_WITNESSES_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(policy, indent=2) + "\n")
    return witnesses


def _demo(rest: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEMO_SETTINGS)
    port = int(os.environ.get("PORT", "8000"))
    _run_management(["migrate", "--no-input", "-v", "0"])
    _run_management(["collectstatic", "--no-input", "-v", "0"])
    _run_management(["load_demo"])
    _run_management(["ledger", "keygen"])
    _run_management(["pki", "init"])
    if "--no-serve" in rest:
        return
    from shanyraq.ledger_django import config as ledger_config

    witnesses = _demo_witnesses(port)
    ledger_config.reset()
    log_keys = [f"--log={log.origin}={log.verifier_key()}" for log in ledger_config.logs().values()]
    me = [sys.executable, "-m", "shanyraq.config.cli"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for w in witnesses:
            processes.append(
                subprocess.Popen(  # noqa: S603
                    [
                        *me,
                        "witness",
                        "serve",
                        "--key",
                        f"{w['dir']}/key",
                        "--state",
                        f"{w['dir']}/state",
                        "--port",
                        str(w["port"]),
                        *log_keys,
                    ]
                )
            )
        processes.append(
            subprocess.Popen([*me, "ledger", "integrate", "--loop", "--interval", "1"])  # noqa: S603
        )
        processes.append(subprocess.Popen([*me, "worker"]))  # noqa: S603
        processes.append(
            subprocess.Popen(_gunicorn_args(f"127.0.0.1:{port}", workers=2, threads=4))  # noqa: S603
        )
        print(
            f"Shanyraq demo: http://127.0.0.1:{port}/  (witnesses on ports {port + 1} and "
            f"{port + 2}; stop with Ctrl+C)",
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in processes:
            if p.poll() is None:
                p.terminate()
        for p in processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        raise SystemExit(0 if args else 2)
    command, rest = args[0], args[1:]
    if command == "demo":
        _demo(rest)
    elif command == "serve":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS)
        bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
        workers = int(os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) * 2 + 1)))
        _serve(bind, workers=workers, threads=int(os.environ.get("WEB_THREADS", "1")))
    elif command == "witness":
        from .witness_cli import main as witness_main

        raise SystemExit(witness_main(rest))
    elif command == "manage":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEMO_SETTINGS)
        _run_management(rest)
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEMO_SETTINGS)
        _run_management([command, *rest])


if __name__ == "__main__":
    main()
