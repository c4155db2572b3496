"""``shanyraq events dispatch [--loop]``: deliver domain events to their handlers."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shanyraq.events import services


class Command(BaseCommand):
    help = "Deliver pending domain events to their handlers."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        dispatch = sub.add_parser("dispatch")
        dispatch.add_argument("--loop", action="store_true")
        dispatch.add_argument("--interval", type=float, default=1.0)
        dispatch.add_argument("--batch", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            report = services.events_dispatch(batch=options["batch"])
            if report.events or not options["loop"]:
                self.stdout.write(
                    f"events {report.events}, handled {report.handled}, failed {report.failed}"
                )
            if not options["loop"]:
                return
            if report.events < options["batch"]:
                time.sleep(options["interval"])
