"""``shanyraq totp_code --user NAME``: the security code a demo account can sign in with.

Only in a demo installation: it exists so that people trying the platform can sign in as
staff without setting up an authenticator app.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shanyraq.accounts.models import User
from shanyraq.accounts.services import totp_unused_code


class Command(BaseCommand):
    help = "Print a TOTP code a staff account can sign in with (demo installations only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SHANYRAQ_DEMO:
            raise CommandError("Only available in a demo installation.", returncode=1)
        user = User.objects.filter(username=options["user"]).first()
        if user is None or not user.totp_secret:
            raise CommandError("No staff account with that username.", returncode=2)
        code = totp_unused_code(user)
        if code is None:
            raise CommandError(
                "This account's codes for now are used; ask again in 30 seconds.", returncode=3
            )
        self.stdout.write(code)
