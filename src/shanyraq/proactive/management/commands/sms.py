"""``shanyraq sms``: the fake SMS gateway's side of the conversation, for the demo and tests.

``shanyraq sms outbox`` prints the messages the fake gateway "sent"; ``shanyraq sms reply
--from +77011234567 "YES 123456"`` does what an operator's gateway does with a reply: it signs
the message with the shared secret and posts it to the platform's ``/api/v1/sms/inbound``
(``--url``, by default the demo server on this machine), then prints the outcome.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shanyraq.notifications.sms import FakeSmsGateway
from shanyraq.proactive.services import sms_signature


class Command(BaseCommand):
    help = "The fake SMS gateway: show what it sent, or forward a reply to the platform."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        commands.add_parser("outbox", help="Print the messages the fake gateway sent.")
        reply = commands.add_parser("reply", help="Forward a reply, signed, to the platform.")
        reply.add_argument("--from", dest="sender", required=True, help="E.164, +7...")
        reply.add_argument("text", help='The reply, e.g. "YES 123456".')
        port = os.environ.get("PORT", "8000")
        reply.add_argument(
            "--url",
            default=f"http://127.0.0.1:{port}/api/v1/sms/inbound",
            help="Where the platform takes replies (the demo server by default).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "outbox":
            for message in FakeSmsGateway().messages():
                self.stdout.write(f"{message['sent_at']}  {message['to']}  {message['text']}")
            return
        body = json.dumps(
            {
                "id": f"fake-{secrets.token_hex(8)}",
                "from": options["sender"],
                "text": options["text"],
            }
        ).encode()
        url = str(options["url"])
        if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise CommandError("The fake gateway talks to this machine only.")
        request = urllib.request.Request(  # noqa: S310 (loopback only, checked above)
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "X-Signature": sms_signature(body)},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
                self.stdout.write(json.loads(response.read())["outcome"])
        except urllib.error.HTTPError as error:
            raise CommandError(f"{error.code}: {error.read().decode()[:500]}") from error
        except urllib.error.URLError as error:
            raise CommandError(f"The platform is not reachable at {url}: {error.reason}") from error
