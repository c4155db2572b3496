"""Write or check the committed OpenAPI document (docs/api/openapi.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from shanyraq.api.api import api


def render() -> str:
    schema = api.get_openapi_schema(path_prefix="/api/v1")
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = "Write the OpenAPI document, or with --check exit 1 if the committed one differs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true")
        parser.add_argument("--path", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from shanyraq.config.settings.base import PROJECT_DIR

        path = Path(options["path"] or PROJECT_DIR / "docs" / "api" / "openapi.json")
        text = render()
        if options["check"]:
            if not path.exists() or path.read_text() != text:
                self.stderr.write(
                    f"{path} differs from the served document; run `shanyraq openapi`."
                )
                raise SystemExit(1)
            self.stdout.write("OpenAPI document is up to date.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.stdout.write(f"Wrote {path}")
