"""The ``shanyraq`` console command.

``shanyraq demo``           migrate an SQLite database under var/, load the demo data, serve it
``shanyraq serve``          run the production WSGI server (gunicorn, sync workers)
``shanyraq manage ARGS``    any Django management command
``shanyraq COMMAND ARGS``   shorthand for a Shanyraq management command (``token``, ...)
"""

from __future__ import annotations

import os
import sys

DEMO_SETTINGS = "shanyraq.config.settings.demo"
PRODUCTION_SETTINGS = "shanyraq.config.settings.production"


def _run_management(argv: list[str]) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["shanyraq", *argv])


def _serve(bind: str, workers: int, threads: int) -> None:
    """Replace this process with gunicorn serving the WSGI application."""
    args = [
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
    os.execv(sys.executable, args)  # noqa: S606


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        raise SystemExit(0 if args else 2)
    command, rest = args[0], args[1:]
    if command == "demo":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEMO_SETTINGS)
        port = os.environ.get("PORT", "8000")
        _run_management(["migrate", "--no-input", "-v", "0"])
        _run_management(["collectstatic", "--no-input", "-v", "0"])
        _run_management(["load_demo"])
        if "--no-serve" in rest:
            return
        print(f"Shanyraq demo: http://127.0.0.1:{port}/  (stop with Ctrl+C)", flush=True)
        _serve(f"127.0.0.1:{port}", workers=2, threads=4)
    elif command == "serve":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS)
        bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
        workers = int(os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) * 2 + 1)))
        _serve(bind, workers=workers, threads=int(os.environ.get("WEB_THREADS", "1")))
    elif command == "manage":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEMO_SETTINGS)
        _run_management(rest)
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEMO_SETTINGS)
        _run_management([command, *rest])


if __name__ == "__main__":
    main()
