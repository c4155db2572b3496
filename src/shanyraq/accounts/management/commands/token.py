"""``shanyraq token create --user <username or IIN>``: print a bearer token for the API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from shanyraq.accounts import services
from shanyraq.accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Create, list or revoke API bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it once.")
        create.add_argument("--user", required=True, help="Username or IIN.")
        create.add_argument("--name", default="cli", help="What the token is for.")
        listing = sub.add_parser("list", help="List a user's active tokens.")
        listing.add_argument("--user", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")

    def _user(self, ident: str) -> User:
        user = User.objects.filter(Q(username=ident) | Q(iin=ident)).first()
        if user is None:
            raise CommandError(f"No user with username or IIN {ident!r}.", returncode=2)
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            _token, secret = services.token_create(
                user=self._user(options["user"]), name=options["name"]
            )
            self.stdout.write(secret)
        elif action == "list":
            for token in ApiToken.objects.filter(
                user=self._user(options["user"]), revoked_at__isnull=True
            ):
                self.stdout.write(f"{token.prefix}\t{token.name}\t{token.created_at:%Y-%m-%d}")
        else:
            found = ApiToken.objects.filter(prefix=options["prefix"]).first()
            if found is None:
                raise CommandError("No token with that prefix.", returncode=1)
            services.token_revoke(token=found)
            self.stdout.write("Revoked.")
