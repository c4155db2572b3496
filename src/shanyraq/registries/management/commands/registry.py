"""``shanyraq registry ...``: define the registers, fill them with synthetic data, audit them.

    shanyraq registry define
    shanyraq registry generate --persons N [--seed S] [--batch B]
    shanyraq registry audit [--register CODE] [--log NAME]

Exit status: 0 on success (an audit with no findings), 1 when the audit finds something (one
line per finding), 2 on bad usage (an unknown register or log, a negative size).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shanyraq.core.errors import NotFound
from shanyraq.ledger_django import selectors as ledger_selectors
from shanyraq.ledger_django import services as ledger_services

from ...audit import audit
from ...definitions import registers_define_all
from ...generator import generate
from ...models import RecordVersion, Register


def _usage(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _findings(n: int) -> str:
    return f"{n} finding" if n == 1 else f"{n} findings"


class Command(BaseCommand):
    help = "Define the registers, fill them with synthetic data, or audit them against the ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("define", help="Create the registers or update their schemas.")
        make = sub.add_parser(
            "generate", help="Write consistent synthetic people, homes, companies."
        )
        make.add_argument("--persons", type=int, required=True, help="How many people.")
        make.add_argument("--seed", type=int, default=1, help="The same seed, the same data.")
        make.add_argument("--batch", type=int, default=1000, help="Records per transaction.")
        check = sub.add_parser("audit", help="Replay the published ledger against the registers.")
        check.add_argument("--register", help="Only this register (its code).")
        check.add_argument("--log", help="The ledger log (default: the platform's log).")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"do_{options['action']}")(options)

    def do_define(self, options: dict[str, Any]) -> None:
        for register in registers_define_all():
            self.stdout.write(f"{register.code}\tschema v{register.current_schema}")

    def do_generate(self, options: dict[str, Any]) -> None:
        if options["persons"] < 0:
            raise _usage("--persons must not be negative")
        if options["batch"] < 1:
            raise _usage("--batch must be at least 1")
        started = time.monotonic()
        counts = generate(options["persons"], seed=options["seed"], batch=options["batch"])
        written = ", ".join(f"{code} {n}" for code, n in counts.items() if code != "skipped")
        self.stdout.write(
            f"written: {written}; skipped (already there): {counts['skipped']}; "
            f"{time.monotonic() - started:.1f} s"
        )

    def do_audit(self, options: dict[str, Any]) -> None:
        code = options["register"]
        if code and not Register.objects.filter(code=code).exists():
            raise _usage(f"there is no register {code!r}")
        log = options["log"] or ledger_services.default_log()
        try:
            published = ledger_selectors.published_size(log)
        except NotFound:
            raise _usage(f"there is no ledger log {log!r}") from None
        started = time.monotonic()
        findings = audit(log=log, register=code)
        for finding in findings:
            self.stdout.write(finding.line())
        versions = RecordVersion.objects.all()
        if code:
            versions = versions.filter(record__register__code=code)
        scope = f"register {code}" if code else "all registers"
        summary = (
            f"audit of {scope} against log {log} ({published} entries published): "
            f"{versions.count()} versions, {_findings(len(findings))}, "
            f"{time.monotonic() - started:.1f} s"
        )
        self.stdout.write(summary)
        if findings:
            raise CommandError(
                f"the registers differ from the ledger: {_findings(len(findings))}", returncode=1
            )
