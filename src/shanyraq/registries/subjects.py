"""Where in a record the people it is about are named: paths such as ``owners[].iin``.

A path is a dot-separated list of field names; a name ending in ``[]`` steps into every item
of a list. The writing services index the IINs found this way, the selectors check them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

__all__ = ["subject_iins_at", "values_at"]


def values_at(value: Any, parts: Sequence[str]) -> Iterator[Any]:
    """Every value found at the path ``parts`` in ``value``."""
    if not parts:
        yield value
        return
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    name = head[:-2] if many else head
    if name:
        if not isinstance(value, Mapping) or name not in value:
            return
        value = value[name]
    if not many:
        yield from values_at(value, rest)
    elif isinstance(value, list):
        for item in value:
            yield from values_at(item, rest)


def subject_iins_at(paths: Iterable[str], data: Mapping[str, Any]) -> list[str]:
    """The non-empty texts found in ``data`` at ``paths``, once each, in order."""
    found: dict[str, None] = {}
    for path in paths:
        for value in values_at(data, path.split(".")):
            if isinstance(value, str) and value:
                found.setdefault(value)
    return list(found)
