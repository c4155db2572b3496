from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from shanyraq.ledger_django import config
from shanyraq.registries import services

PEOPLE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["iin", "last_name", "first_name", "birth_date"],
    "additionalProperties": False,
    "properties": {
        "iin": {"type": "string", "format": "iin"},
        "last_name": {"type": "string", "minLength": 1, "maxLength": 100},
        "first_name": {"type": "string", "minLength": 1, "maxLength": 100},
        "birth_date": {"type": "string", "format": "date"},
        "parents": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["iin"],
                "properties": {"iin": {"type": "string", "format": "iin"}},
            },
        },
    },
}


@pytest.fixture
def ledger_log(settings, tmp_path: Path) -> Iterator[config.LogConfig]:
    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    settings.LEDGER_STORAGE_DIR = tmp_path / "tiles"
    settings.LEDGER_WITNESSES_FILE = tmp_path / "keys" / "witnesses.json"
    settings.LEDGER_LOGS = ["main"]
    settings.LEDGER_ORIGIN_PREFIX = "test.example/ledger"
    config.reset()
    call_command("ledger", "keygen", stdout=io.StringIO())
    yield config.get_log("main")
    config.reset()


@pytest.fixture
def people(db: None):
    return services.register_define(
        code="people",
        name={"kk": "Адамдар", "ru": "Люди", "en": "People"},
        description={"kk": "Сынақ", "ru": "Тест", "en": "Test"},
        key_field="iin",
        schema=PEOPLE_SCHEMA,
        search_fields=["last_name"],
        subject_paths=["iin", "parents[].iin"],
    )


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English, the source language."""
    from django.utils import translation

    with translation.override("en"):
        yield
