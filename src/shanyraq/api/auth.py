"""API authentication: a browser session for people, a bearer token for programs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from shanyraq.accounts import services as account_services


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = account_services.token_authenticate(token)
        if user is not None:
            request.user = user
        return user


session_or_token = [BearerToken(), django_auth]
