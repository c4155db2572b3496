"""The configuration documentation and the production safeguards follow the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
CONFIG = ROOT / "src" / "shanyraq" / "config"


def variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in [*CONFIG.glob("settings/*.py"), CONFIG / "cli.py"]:
        text = path.read_text()
        names |= set(re.findall(r'env\.(?:str|bool|int|list|db_url)\(\s*"([A-Z_]+)"', text))
        names |= set(re.findall(r'environ\.get\("([A-Z_]+)"', text))
    return names


def test_every_variable_is_documented():
    documented = set(
        re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "docs" / "configuration.md").read_text(), re.M)
    )
    read = variables_read_by_the_code()
    assert read, "no variables found: the pattern is out of date"
    assert read - documented == set()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALLOWED_HOSTS": "example.kz"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "x" * 60}, "ALLOWED_HOSTS must list"),
    ],
)
def test_production_settings_refuse_to_start_without_secrets(env, message):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT / "src"),
            "DJANGO_SETTINGS_MODULE": "shanyraq.config.settings.production",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_readme_lists_the_demo_accounts():
    from shanyraq.portal.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    readme = (ROOT / "README.md").read_text()
    assert f"`{DEMO_PASSWORD}`" in readme
    for account in DEMO_ACCOUNTS:
        shown = f"IIN `{account.iin}`" if account.iin else f"`{account.username}`"
        assert shown in readme, account.username
        if account.totp_secret:
            assert f"`{account.totp_secret}`" in readme


@pytest.mark.parametrize(("given", "expected"), [(None, "5"), ("0", "None"), ("2", "2")])
def test_postgresql_prepares_the_plain_queries_after_the_threshold(given, expected):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold', 'unset'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT / "src"),
            "DJANGO_SETTINGS_MODULE": "shanyraq.config.settings.production",
            "SECRET_KEY": "x" * 60,
            "ALLOWED_HOSTS": "example.kz",
            "SMS_GATEWAY": "shanyraq.notifications.sms.FakeSmsGateway",
            "DATABASE_URL": "postgres://shanyraq@db.example.kz:5432/shanyraq",
            **({"DATABASE_PREPARE_THRESHOLD": given} if given is not None else {}),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
