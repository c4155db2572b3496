"""Compile the interface translations (.po -> .mo) without GNU gettext being installed."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


def compile_all(locale_dir: Path = LOCALE_DIR) -> int:
    count = 0
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parts[-3])
        errors = list(catalog.check())
        if errors:
            for message, problems in errors:
                print(f"{po_path}: {message.id!r}: {problems}", file=sys.stderr)
            raise SystemExit(1)
        with po_path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        count += 1
    return count


if __name__ == "__main__":
    print(f"compiled {compile_all()} message catalogs")
