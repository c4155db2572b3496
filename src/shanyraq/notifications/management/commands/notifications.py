"""``shanyraq notifications send [--loop]`` and ``shanyraq notifications phone``.

``send`` sends the email and SMS messages that are due, once or until stopped; the platform's
worker does the same through ``services.work_once``, so this is for operators and for
installations that run no worker. ``phone`` sets the number a person receives SMS on.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from shanyraq.accounts.models import User
from shanyraq.core.errors import ValidationError
from shanyraq.notifications import services


class Command(BaseCommand):
    help = "Send due email and SMS messages; set a person's phone number for SMS."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser("send", help="Send the deliveries that are due.")
        send.add_argument("--loop", action="store_true", help="Keep sending until stopped.")
        send.add_argument(
            "--interval", type=float, default=5.0, help="Seconds to wait when nothing is due."
        )
        send.add_argument("--limit", type=int, default=services.BATCH, help="Batch size.")
        phone = sub.add_parser("phone", help="Set or remove a person's phone number for SMS.")
        phone.add_argument("--user", required=True, help="Username or IIN.")
        phone.add_argument("number", nargs="?", default="", help="E.g. +77011234567.")
        phone.add_argument("--remove", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "phone":
            self._phone(options)
            return
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.", returncode=2)
        while True:
            report = services.deliveries_send(limit=options["limit"])
            if report.handled or report.skipped or not options["loop"]:
                self.stdout.write(
                    f"sent {report.sent}, retried {report.retried}, failed {report.failed}, "
                    f"skipped {report.skipped}"
                )
            if not options["loop"]:
                return
            if report.handled + report.skipped < options["limit"]:
                time.sleep(options["interval"])

    def _phone(self, options: dict[str, Any]) -> None:
        ident = options["user"]
        user = User.objects.filter(Q(username=ident) | Q(iin=ident)).first()
        if user is None:
            raise CommandError(f"No user with username or IIN {ident!r}.", returncode=2)
        if options["remove"] == bool(options["number"]):
            raise CommandError("Give a number, or --remove.", returncode=2)
        try:
            contact = services.contact_phone_set(user=user, phone=options["number"])
        except ValidationError as error:
            raise CommandError(str(error.message), returncode=2) from error
        self.stdout.write(f"{user.username}: {contact.phone if contact else 'no phone'}")
