"""Email and SMS settings: production names its SMS gateway; a bad one is reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from shanyraq.notifications import sms
from shanyraq.notifications.apps import check_sms_gateway

SRC = Path(__file__).resolve().parents[3]
PRODUCTION = {"SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "example.kz"}


def start_production(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(SRC),
            "DJANGO_SETTINGS_MODULE": "shanyraq.config.settings.production",
            **PRODUCTION,
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_an_sms_gateway():
    result = start_production()
    assert result.returncode != 0
    assert "SMS_GATEWAY must name the SMS gateway class" in result.stderr


def test_production_starts_with_the_fake_gateway_named_on_purpose():
    result = start_production(SMS_GATEWAY="shanyraq.notifications.sms.FakeSmsGateway")
    assert result.returncode == 0, result.stderr


def test_the_test_settings_keep_mail_in_memory(settings):
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "SMS_GATEWAY must name"),
        ("shanyraq.notifications.sms.NoSuchGateway", "cannot import"),
        ("shanyraq.notifications.services.notify", "is not an SmsGateway"),
    ],
)
def test_a_gateway_that_is_not_one_is_reported(settings, path, message):
    settings.SMS_GATEWAY = path
    with pytest.raises(ImproperlyConfigured, match=message):
        sms.sms_gateway()
    [error] = check_sms_gateway()
    assert error.id == "notifications.E001"
    assert message in error.msg


def test_the_configured_gateway_passes_the_check(settings):
    settings.SMS_GATEWAY = "shanyraq.notifications.sms.FakeSmsGateway"
    assert check_sms_gateway() == []
    assert isinstance(sms.sms_gateway(), sms.FakeSmsGateway)
