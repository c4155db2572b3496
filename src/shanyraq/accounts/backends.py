"""Authentication backend: citizens by IIN + password, staff by username + password + TOTP."""

from __future__ import annotations

from typing import Any

import pyotp
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .models import User


def verify_totp(user: User, code: str | None) -> bool:
    """Check a six-digit code against the user's secret, allowing one step of clock drift."""
    if not user.totp_secret or not code:
        return False
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return False
    return bool(pyotp.TOTP(user.totp_secret).verify(code, valid_window=1))


class ShanyraqBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        *,
        iin: str | None = None,
        totp: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if password is None:
            return None
        user: User | None
        if iin is not None:
            user = User.objects.filter(iin=iin).first()
            # The citizen sign-in is for citizens only: staff must pass the second factor.
            if user is None or user.requires_second_factor:
                User().set_password(password)  # same work either way: no timing oracle
                return None
        elif username is not None:
            user = User.objects.filter(username=username).first()
            if user is None:
                User().set_password(password)
                return None
            if user.requires_second_factor and not verify_totp(user, totp):
                user.check_password(password)
                return None
        else:
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
