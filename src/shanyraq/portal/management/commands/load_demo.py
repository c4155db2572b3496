"""Load the demo catalog and accounts (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shanyraq.portal.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo agencies, services and accounts; safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--persons",
            type=int,
            default=2000,
            help="Synthetic people to put in the registers (0: none).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SHANYRAQ_DEMO:
            raise CommandError(
                "Demo data is loaded only into a demo installation (SHANYRAQ_DEMO=true).",
                returncode=1,
            )
        report = demo_load(persons=options["persons"])
        self.stdout.write(
            f"Demo data: {report.agencies} agencies, {report.categories} categories, "
            f"{report.life_events} life events, {report.services_created} services created, "
            f"{report.services_unchanged} already present."
        )
