"""``shanyraq documents``: operators' commands for issued documents.

``documents sample --out FILE [--agency CODE] [--language kk|ru|en]`` issues a specimen
certificate through the same rendering and signing as real documents, marked as a specimen,
and writes its signed PDF: a check of the PKI set-up before the first real document.
``documents issue`` issues the documents waiting (the worker does this by itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shanyraq.catalog.models import Agency
from shanyraq.core.text import LANGUAGES
from shanyraq.documents import services


class Command(BaseCommand):
    help = "Issue a specimen document to check the PKI set-up, or issue waiting documents."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        sample = commands.add_parser("sample", help="issue a specimen certificate as a PDF")
        sample.add_argument("--out", required=True, help="where to write the signed PDF")
        sample.add_argument("--agency", help="the issuing agency's code (default: the first)")
        sample.add_argument("--language", default="kk", choices=LANGUAGES)
        commands.add_parser("issue", help="issue the documents waiting to be issued")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "issue":
            report = services.documents_issue_pending(limit=1000)
            self.stdout.write(f"issued {report.issued}, failed {report.failed}")
            if report.failed:
                raise CommandError("some documents could not be issued", returncode=1)
            return
        agencies = Agency.objects.order_by("id")
        agency = (
            agencies.filter(code=options["agency"]).first()
            if options["agency"]
            else agencies.first()
        )
        if agency is None:
            raise CommandError("no such agency", returncode=2)
        document, pdf = services.specimen_issue(agency=agency, language=options["language"])
        out = Path(options["out"])
        out.write_bytes(pdf)
        self.stdout.write(
            f"specimen {document.number} signed by {agency.code}: {out} ({len(pdf)} bytes)"
        )
