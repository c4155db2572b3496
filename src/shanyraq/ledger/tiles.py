"""Tiles and entry bundles of a tiled transparency log (c2sp.org/tlog-tiles).

A tile at level ``L`` holds up to 256 consecutive hashes of the tree at height ``8 * L``;
level 0 holds leaf hashes. An entry bundle holds the entries behind a level-0 tile, each
prefixed by its length as a big-endian 2-byte integer. Resources live at::

    tile/<L>/<N>[.p/<W>]        tile/entries/<N>[.p/<W>]

where ``N`` is written in 3-digit groups, all but the last prefixed with ``x``
(1234067 -> ``x001/x234/067``), and ``.p/<W>`` marks a partial tile of width ``W`` < 256.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from shanyraq.ledger.errors import InvalidTilePath, MalformedBundle, OversizeEntry, TileError
from shanyraq.ledger.merkle import HASH_SIZE

TILE_HEIGHT = 8
"""Tree levels covered by one tile level."""

TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile (256)."""

FULL_TILE_SIZE = TILE_WIDTH * HASH_SIZE
"""Bytes in a full tile (8,192)."""

MAX_TILE_LEVEL = 63
"""Highest tile level a path may name."""

MAX_ENTRY_SIZE = 0xFFFF
"""Longest entry, in bytes: the most a 2-byte length prefix can express (64 KiB - 1)."""

CONTENT_TYPE_TILE = "application/octet-stream"
"""Content type of tiles and entry bundles."""

CONTENT_TYPE_CHECKPOINT = "text/plain; charset=utf-8"
"""Content type of the checkpoint."""

CACHE_CONTROL_IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache-Control for tiles and bundles, which never change once written."""

CACHE_CONTROL_CHECKPOINT = "public, max-age=2"
"""Cache-Control for the checkpoint, which changes as the log grows."""

_U16 = struct.Struct(">H").pack


@dataclass(frozen=True, order=True)
class TileId:
    """A tile (``entries=False``) or an entry bundle (``entries=True``, level 0)."""

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_TILE_LEVEL or (self.entries and self.level):
            raise InvalidTilePath(f"tile level {self.level} is out of range")
        if self.index < 0:
            raise InvalidTilePath(f"negative tile index {self.index}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise InvalidTilePath(f"tile width {self.width} is out of range")

    @property
    def partial(self) -> bool:
        """Whether this is a partial tile (fewer than 256 hashes or entries)."""
        return self.width < TILE_WIDTH

    @property
    def start(self) -> int:
        """Index of the first leaf this tile spans."""
        return self.index << (TILE_HEIGHT * (self.level + 1))

    def path(self) -> str:
        """Return the resource path of this tile or bundle."""
        level = "entries" if self.entries else str(self.level)
        suffix = f".p/{self.width}" if self.partial else ""
        return f"tile/{level}/{format_index(self.index)}{suffix}"

    def full(self) -> TileId:
        """Return the full tile at the same place."""
        return TileId(self.level, self.index, TILE_WIDTH, self.entries)


def format_index(index: int) -> str:
    """Encode a tile index in 3-digit path groups: 1234067 -> ``x001/x234/067``."""
    if index < 0:
        raise InvalidTilePath(f"negative tile index {index}")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """Return ``tile/<level>/<index>[.p/<width>]``."""
    return TileId(level, index, width).path()


def bundle_path(index: int, width: int = TILE_WIDTH) -> str:
    """Return ``tile/entries/<index>[.p/<width>]``."""
    return TileId(0, index, width, entries=True).path()


def parse_tile_path(path: str) -> TileId:
    """Parse a canonical tile or bundle path; raise :class:`InvalidTilePath` otherwise."""
    parts = path.split("/")
    if len(path) > 128 or len(parts) < 3 or parts[0] != "tile":
        raise InvalidTilePath(f"not a tile path: {path[:80]!r}")
    entries = parts[1] == "entries"
    groups = parts[2:]
    width = TILE_WIDTH
    if len(groups) >= 2 and groups[-2].endswith(".p"):
        width_text = groups[-1]
        groups = [*groups[:-2], groups[-2][:-2]]
        if not width_text.isascii() or not width_text.isdigit() or len(width_text) > 3:
            raise InvalidTilePath(f"bad partial width in {path[:80]!r}")
        width = int(width_text)
    digits = ""
    for i, group in enumerate(groups):
        body = group[1:] if i < len(groups) - 1 and group.startswith("x") else group
        if len(body) != 3 or not body.isascii() or not body.isdigit():
            raise InvalidTilePath(f"bad index group {group!r} in {path[:80]!r}")
        digits += body
    if entries:
        level = 0
    elif parts[1].isascii() and parts[1].isdigit() and len(parts[1]) <= 2:
        level = int(parts[1])
    else:
        raise InvalidTilePath(f"bad tile level in {path[:80]!r}")
    tile = TileId(level, int(digits), width, entries)
    if tile.path() != path:  # rejects leading zeroes, stray 'x', width 256, ...
        raise InvalidTilePath(f"non-canonical tile path {path[:80]!r}")
    return tile


def level_width(level: int, size: int) -> int:
    """Return how many hashes the tree of ``size`` leaves has at tile level ``level``."""
    return size >> (TILE_HEIGHT * level)


def partial_tile(level: int, size: int, *, entries: bool = False) -> TileId | None:
    """Return the partial tile at ``level`` for a tree of ``size``, or ``None`` if there is none."""
    count = level_width(level, size)
    width = count % TILE_WIDTH
    if not width:
        return None
    return TileId(level, count // TILE_WIDTH, width, entries)


def tile_levels(size: int) -> int:
    """Return the number of tile levels a tree of ``size`` leaves has (0 for the empty tree)."""
    levels = 0
    while level_width(levels, size):
        levels += 1
    return levels


def tiles_for_size(size: int, *, entries: bool = False) -> list[TileId]:
    """Return every tile (or, with ``entries``, every bundle) of the tree of ``size`` leaves."""
    if size < 0:
        raise TileError(f"negative tree size {size}")
    out: list[TileId] = []
    for level in range(1 if entries else tile_levels(size)):
        count = level_width(level, size)
        out.extend(TileId(level, i, TILE_WIDTH, entries) for i in range(count // TILE_WIDTH))
        part = partial_tile(level, size, entries=entries)
        if part:
            out.append(part)
    return out


def tile_for_node(level: int, index: int, size: int) -> TileId:
    """Return the tile of the tree of ``size`` that stores node (``level``, ``index``).

    The node must be a multiple of 8 levels high; its tile is full or the partial one.
    """
    if level % TILE_HEIGHT:
        raise TileError(f"level {level} hashes are not stored in tiles")
    tile_level = level // TILE_HEIGHT
    tile_index = index // TILE_WIDTH
    count = level_width(tile_level, size)
    if index >= count:
        raise TileError(f"node ({level}, {index}) is outside a tree of size {size}")
    width = min(TILE_WIDTH, count - tile_index * TILE_WIDTH)
    return TileId(tile_level, tile_index, width)


def split_hashes(data: bytes, width: int) -> list[bytes]:
    """Split tile bytes into ``width`` hashes; raise :class:`TileError` on a wrong length."""
    if len(data) != width * HASH_SIZE:
        raise TileError(f"tile is {len(data)} bytes; width {width} needs {width * HASH_SIZE}")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def check_entry_sizes(entries: Sequence[bytes]) -> None:
    """Raise :class:`OversizeEntry` if an entry is longer than :data:`MAX_ENTRY_SIZE`."""
    if entries and max(map(len, entries)) > MAX_ENTRY_SIZE:
        for i, entry in enumerate(entries):
            if len(entry) > MAX_ENTRY_SIZE:
                raise OversizeEntry(
                    f"entry {i} is {len(entry)} bytes; the limit is {MAX_ENTRY_SIZE}"
                )


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """Serialise entries as a bundle: each one prefixed by its 2-byte big-endian length."""
    check_entry_sizes(entries)
    parts: list[bytes] = [b""] * (2 * len(entries))
    parts[0::2] = [_U16(len(e)) for e in entries]
    parts[1::2] = entries
    return b"".join(parts)


def decode_bundle(data: bytes, count: int | None = None) -> list[bytes]:
    """Parse a bundle strictly; with ``count``, require exactly that many entries."""
    entries: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise MalformedBundle(f"bundle ends inside a length prefix at byte {pos}")
        length = (data[pos] << 8) | data[pos + 1]
        pos += 2
        if pos + length > end:
            raise MalformedBundle(f"entry {len(entries)} runs past the end of the bundle")
        entries.append(data[pos : pos + length])
        pos += length
        if count is not None and len(entries) > count:
            raise MalformedBundle(f"bundle has more than {count} entries")
    if count is not None and len(entries) != count:
        raise MalformedBundle(f"bundle has {len(entries)} entries, not {count}")
    return entries
