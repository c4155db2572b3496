"""The platform's own registers: population, real estate and business.

Each is described by a JSON file in ``schemas/``: its code, its name and description in three
languages, the key field, the fields records are searched by, where the IINs of the people a
record is about are (for the data tracker), and its JSON Schema (draft 2020-12). Defining them
is idempotent: an unchanged file changes nothing, a changed schema becomes the next version.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from .models import Register
from .services import register_define

__all__ = ["REGISTER_FILES", "register_definitions", "registers_define_all"]

REGISTER_FILES = ("population.json", "real_estate.json", "business.json")


def register_definitions() -> list[dict[str, Any]]:
    """The definitions of the platform's registers, as read from the package."""
    folder = resources.files("shanyraq.registries").joinpath("schemas")
    return [
        json.loads(folder.joinpath(name).read_text(encoding="utf-8")) for name in REGISTER_FILES
    ]


def registers_define_all() -> list[Register]:
    """Create the registers, or give each a new schema version where its schema changed."""
    return [
        register_define(
            code=definition["code"],
            name=definition["name"],
            description=definition["description"],
            key_field=definition["key_field"],
            schema=definition["schema"],
            search_fields=list(definition["search_fields"]),
            subject_paths=list(definition["subject_paths"]),
        )
        for definition in register_definitions()
    ]
