"""``shanyraq totp_code --user NAME``: the current security code of a demo account.

Only in a demo installation: it exists so that people trying the platform can sign in as
staff without setting up an authenticator app.
"""

from __future__ import annotations

from typing import Any

import pyotp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shanyraq.accounts.models import User


class Command(BaseCommand):
    help = "Print the current TOTP code of a staff account (demo installations only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SHANYRAQ_DEMO:
            raise CommandError("Only available in a demo installation.", returncode=1)
        user = User.objects.filter(username=options["user"]).first()
        if user is None or not user.totp_secret:
            raise CommandError("No staff account with that username.", returncode=2)
        self.stdout.write(pyotp.TOTP(user.totp_secret).now())
