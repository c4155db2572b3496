"""Staff security codes (TOTP, RFC 6238): each code signs in once, within a step of drift."""

from __future__ import annotations

import io
import time

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from shanyraq.accounts import services
from shanyraq.accounts.models import User
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db


def sign_in(user: User, code: str, password: str = factories.PASSWORD) -> int:
    response = Client().post(
        "/staff/login/", {"username": user.username, "password": password, "totp": code}
    )
    return response.status_code


def step_now() -> int:
    return int(time.time() // 30)


def test_a_code_signs_in_once(clerk):
    code = pyotp.TOTP(clerk.totp_secret).now()
    assert sign_in(clerk, code) == 302
    clerk.refresh_from_db()
    assert clerk.totp_last_step is not None and abs(clerk.totp_last_step - step_now()) <= 1
    assert sign_in(clerk, code) == 401  # replayed


def test_an_earlier_code_is_refused_after_a_later_one(clerk):
    totp = pyotp.TOTP(clerk.totp_secret)
    now = step_now()
    assert sign_in(clerk, totp.generate_otp(now + 1)) == 302  # a clock a little ahead
    assert sign_in(clerk, totp.generate_otp(now)) == 401
    assert sign_in(clerk, totp.generate_otp(now - 1)) == 401


def test_a_wrong_password_does_not_spend_the_code(clerk):
    code = pyotp.TOTP(clerk.totp_secret).now()
    assert sign_in(clerk, code, password="wrong") == 401
    clerk.refresh_from_db()
    assert clerk.totp_last_step is None
    assert sign_in(clerk, code) == 302


def test_codes_out_of_the_drift_window_are_refused(clerk):
    totp = pyotp.TOTP(clerk.totp_secret)
    now = step_now()
    for step in (now - 3, now + 3):
        assert services.totp_step(clerk, totp.generate_otp(step), at=now * 30 + 15) is None
    assert services.totp_step(clerk, totp.generate_otp(now - 1), at=now * 30 + 15) == now - 1
    for malformed in ("", "12345", "1234567", "12a456", None):
        assert services.totp_step(clerk, malformed) is None


def test_the_next_unused_code_follows_the_last_one_used(clerk):
    now = step_now()
    at = now * 30 + 10
    totp = pyotp.TOTP(clerk.totp_secret)
    assert services.totp_unused_code(clerk, at=at) == totp.generate_otp(now)
    assert services.totp_consume(user=clerk, step=now)
    assert services.totp_unused_code(clerk, at=at) == totp.generate_otp(now + 1)
    assert services.totp_consume(user=clerk, step=now + 1)
    assert services.totp_unused_code(clerk, at=at) is None  # wait for the next step
    assert not services.totp_consume(user=clerk, step=now + 1)


def test_a_new_secret_forgets_the_last_step(clerk):
    services.totp_consume(user=clerk, step=step_now())
    services.totp_enrol(user=clerk)
    clerk.refresh_from_db()
    assert clerk.totp_last_step is None


def test_the_demo_command_prints_a_code_that_signs_in(clerk, settings):
    settings.SHANYRAQ_DEMO = True
    out = io.StringIO()
    call_command("totp_code", "--user", clerk.username, stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    assert sign_in(clerk, code) == 302
    again = io.StringIO()
    call_command("totp_code", "--user", clerk.username, stdout=again)
    assert again.getvalue().strip() != code
    assert sign_in(clerk, again.getvalue().strip()) == 302


def test_the_demo_command_refuses_outside_a_demo(clerk, settings):
    settings.SHANYRAQ_DEMO = False
    with pytest.raises(CommandError):
        call_command("totp_code", "--user", clerk.username, stdout=io.StringIO())
