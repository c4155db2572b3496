"""Authentication backend: citizens by IIN + password, staff by username + password + TOTP."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from . import services
from .models import User


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
            if user.requires_second_factor:
                # The code is spent only when the password is right too: a wrong password
                # does not use up the code the person is about to type again.
                step = services.totp_step(user, totp)
                if not user.check_password(password) or step is None:
                    return None
                if not self.user_can_authenticate(user):
                    return None
                return user if services.totp_consume(user=user, step=step) else None
        else:
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
