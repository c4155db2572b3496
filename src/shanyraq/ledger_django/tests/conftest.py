from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from shanyraq.ledger_django import config


@pytest.fixture
def ledger_dirs(settings, tmp_path: Path) -> Iterator[Path]:
    """A fresh log with its own key and storage, and no witnesses."""
    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    settings.LEDGER_STORAGE_DIR = tmp_path / "tiles"
    settings.LEDGER_WITNESSES_FILE = tmp_path / "keys" / "witnesses.json"
    settings.LEDGER_LOGS = ["registers"]
    settings.LEDGER_ORIGIN_PREFIX = "test.example/ledger"
    config.reset()
    call_command("ledger", "keygen", stdout=io.StringIO())
    yield tmp_path
    config.reset()
