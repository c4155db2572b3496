"""Growing a tiled log and reading proofs back from its tiles.

:func:`integrate` appends a batch of entries: it reads the partial tiles and bundle at the
current size, writes every new full and partial tile and bundle, and returns the new size and
root. It never writes the checkpoint: the caller signs and publishes one only after this
returns, when every object it covers is durable.

:class:`TileHashReader` answers :class:`~shanyraq.ledger.merkle.HashReader` queries from tiles,
so :class:`TiledLog` can compute roots and proofs reading only the few tiles it needs. Hashes
read from a store the caller does not control are not trusted by themselves: a proof computed
from them is only as good as its verification against a signed checkpoint.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from hashlib import sha256

from shanyraq.ledger.errors import IndexOutOfRange, ObjectNotFound, TileError
from shanyraq.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Node,
    consistency_proof,
    fold_right,
    inclusion_proof,
    leaf_hash,
    subtree_root,
    tree_hash,
)
from shanyraq.ledger.storage import Storage
from shanyraq.ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileId,
    check_entry_sizes,
    decode_bundle,
    encode_bundle,
    level_width,
    partial_tile,
    split_hashes,
    tile_levels,
)

Reader = Callable[[str], bytes]
"""A function returning the bytes stored at a path (``Storage.read`` or an HTTP fetch)."""


def _tile_roots(row: Sequence[bytes], full_tiles: int) -> list[bytes]:
    """Return the subtree root of each of the first ``full_tiles`` groups of 256 hashes."""
    h = sha256
    roots: list[bytes] = []
    for t in range(full_tiles):
        level = row[t * TILE_WIDTH : (t + 1) * TILE_WIDTH]
        while len(level) > 1:
            it = iter(level)
            level = [h(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=True)]
        roots.append(level[0])
    return roots


def _compact_hashes(row: Sequence[bytes]) -> list[bytes]:
    """Split a partial tile's hashes into power-of-two runs, largest first, and hash each."""
    out: list[bytes] = []
    start = 0
    for bit in range(TILE_HEIGHT - 1, -1, -1):
        if len(row) >> bit & 1:
            out.append(subtree_root(row[start : start + (1 << bit)]))
            start += 1 << bit
    return out


class TileBuilder:
    """The right edge of a tiled tree (its partial tile at each level), able to grow it.

    ``rows[level]`` holds the hashes of the partial tile at that level (fewer than 256).
    """

    def __init__(self, size: int = 0, rows: Sequence[Sequence[bytes]] = ()) -> None:
        self.size = size
        self.rows: list[list[bytes]] = [list(r) for r in rows]
        for level in range(tile_levels(size)):
            if len(self.rows) <= level:
                self.rows.append([])
            if len(self.rows[level]) != level_width(level, size) % TILE_WIDTH:
                raise TileError(f"level {level} partial tile does not match size {size}")

    @classmethod
    def load(cls, read: Reader, size: int) -> TileBuilder:
        """Read the partial tiles of the tree of ``size`` leaves."""
        rows: list[list[bytes]] = []
        for level in range(tile_levels(size)):
            tile = partial_tile(level, size)
            rows.append(split_hashes(read(tile.path()), tile.width) if tile else [])
        return cls(size, rows)

    def append(self, leaves: Sequence[bytes]) -> list[tuple[TileId, bytes]]:
        """Append leaf hashes; return the tiles that became full, as ``(tile, bytes)``."""
        full: list[tuple[TileId, bytes]] = []
        new: Sequence[bytes] = leaves
        level = 0
        old_size = self.size
        while new:
            if len(self.rows) <= level:
                self.rows.append([])
            row = self.rows[level]
            first_tile = level_width(level, old_size) // TILE_WIDTH
            row.extend(new)
            count = len(row) // TILE_WIDTH
            join = b"".join
            for t in range(count):
                data = join(row[t * TILE_WIDTH : (t + 1) * TILE_WIDTH])
                full.append((TileId(level, first_tile + t), data))
            new = _tile_roots(row, count)
            del row[: count * TILE_WIDTH]
            level += 1
        self.size += len(leaves)
        return full

    def partial_tiles(self) -> list[tuple[TileId, bytes]]:
        """Return the partial tile of every level that has one, as ``(tile, bytes)``."""
        out: list[tuple[TileId, bytes]] = []
        for level, row in enumerate(self.rows):
            tile = partial_tile(level, self.size)
            if tile:
                out.append((tile, b"".join(row)))
        return out

    def root(self) -> bytes:
        """Return the root hash of the tree."""
        if self.size == 0:
            return EMPTY_ROOT
        hashes: list[bytes] = []
        for row in reversed(self.rows):
            hashes.extend(_compact_hashes(row))
        return fold_right(hashes)


@dataclass(frozen=True)
class IntegrationResult:
    """What one call to :func:`integrate` did."""

    old_size: int
    size: int
    root_hash: bytes
    leaf_hashes: Sequence[bytes]
    written: tuple[str, ...]


def _bundles(entries: Sequence[bytes], start: int, head: bytes) -> Iterator[tuple[TileId, bytes]]:
    """Yield the bundles for ``entries`` placed at index ``start``; ``head`` opens the first."""
    index, pos, end = start, 0, start + len(entries)
    while index < end:
        tile_index = index // TILE_WIDTH
        tile_end = min((tile_index + 1) * TILE_WIDTH, end)
        chunk = entries[pos : pos + tile_end - index]
        bundle = TileId(0, tile_index, tile_end - tile_index * TILE_WIDTH, entries=True)
        yield bundle, head + encode_bundle(chunk) if head else encode_bundle(chunk)
        head = b""
        pos += tile_end - index
        index = tile_end


def integrate(
    storage: Storage,
    old_size: int,
    entries: Sequence[bytes],
    *,
    old_root: bytes | None = None,
    chunk_entries: int = 1 << 16,
) -> IntegrationResult:
    """Append ``entries`` to the log of ``old_size`` entries in ``storage``.

    Writes every new full tile and bundle, and the partial ones for the new size. Large batches
    are processed ``chunk_entries`` at a time, and each chunk's objects are written by a helper
    thread (one :meth:`Storage.write` call at a time) while the next chunk is hashed; all
    writes have returned when this function does. If ``old_root`` is given, the stored partial
    tiles must reproduce it, otherwise :class:`TileError` is raised and nothing is written.
    Running the same call again (after a crash) writes nothing new and returns the same result.
    """
    if old_size < 0:
        raise IndexOutOfRange(f"negative tree size {old_size}")
    if chunk_entries <= 0 or chunk_entries % TILE_WIDTH:
        raise ValueError("chunk_entries must be a positive multiple of 256")
    check_entry_sizes(entries)
    try:
        builder = TileBuilder.load(storage.read, old_size)
    except ObjectNotFound as exc:
        raise TileError(f"partial tile {exc} of size {old_size} is missing") from exc
    if old_root is not None and builder.root() != old_root:
        raise TileError(f"stored tiles do not match the root of size {old_size}")
    head = b""
    old_bundle = partial_tile(0, old_size, entries=True)
    if old_bundle and entries:
        try:
            head = storage.read(old_bundle.path())
        except ObjectNotFound as exc:
            raise TileError(f"partial bundle {exc} of size {old_size} is missing") from exc
        decode_bundle(head, old_bundle.width)

    new_size = old_size + len(entries)
    hashes: list[bytes] = []
    written: list[str] = []
    h = sha256
    base = old_size - old_size % TILE_WIDTH  # chunks end on bundle boundaries
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-write") as writer:
        pending: Future[None] | None = None
        begin = old_size
        while True:
            end = min(new_size, base + ((begin - base) // chunk_entries + 1) * chunk_entries)
            chunk = entries[begin - old_size : end - old_size]
            chunk_hashes = [h(b"\x00" + e).digest() for e in chunk]
            hashes.extend(chunk_hashes)
            objects = {tile.path(): data for tile, data in builder.append(chunk_hashes)}
            objects.update((b.path(), data) for b, data in _bundles(chunk, begin, head))
            head = b""
            if end == new_size:
                for tile, data in builder.partial_tiles():
                    if tile != partial_tile(tile.level, old_size):
                        objects[tile.path()] = data
            if pending is not None:
                pending.result()  # at most one write in flight: bounded memory
            pending = writer.submit(storage.write, objects) if objects else None
            written.extend(objects)
            if end == new_size:
                break
            begin = end
        if pending is not None:
            pending.result()
    return IntegrationResult(
        old_size=old_size,
        size=new_size,
        root_hash=builder.root(),
        leaf_hashes=hashes,
        written=tuple(written),
    )


class TileCache:
    """Tiles read from a log, kept with the tree levels inside them (least recently used out).

    Tiles are immutable (a partial tile's width is part of its path), so cached tiles never go
    stale. Safe to share between threads and between readers of different tree sizes.
    """

    def __init__(self, read: Reader, *, max_tiles: int = 256) -> None:
        self._read = read
        self._max_tiles = max_tiles
        self._tiles: OrderedDict[TileId, list[list[bytes]]] = OrderedDict()
        self._lock = threading.Lock()

    def _fetch(self, tile: TileId) -> bytes:
        try:
            data = self._read(tile.path())
        except ObjectNotFound as exc:
            if not tile.partial:
                raise TileError(f"tile {tile.path()} is missing") from exc
            # a partial tile may be gone once the full one exists; its prefix is the same
            try:
                data = self._read(tile.full().path())[: tile.width * HASH_SIZE]
            except ObjectNotFound:
                raise TileError(f"tile {tile.path()} is missing") from exc
        return data

    def levels(self, tile: TileId, height: int) -> list[list[bytes]]:
        """Return the tile's hashes (``[0]``) and the complete levels above, up to ``height``."""
        with self._lock:
            levels = self._tiles.get(tile)
            if levels is not None:
                self._tiles.move_to_end(tile)
        if levels is None:
            levels = [split_hashes(self._fetch(tile), tile.width)]
        if len(levels) <= height:
            levels = list(levels)
            h = sha256
            while len(levels) <= height:
                below = levels[-1]
                it = iter(below[: len(below) & ~1])
                levels.append([h(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=True)])
        with self._lock:
            self._tiles[tile] = levels
            self._tiles.move_to_end(tile)
            while len(self._tiles) > self._max_tiles:
                self._tiles.popitem(last=False)
        return levels


class TileHashReader:
    """A :class:`~shanyraq.ledger.merkle.HashReader` over the tiles of a tree of ``size``."""

    def __init__(self, read: Reader, size: int, *, cache: TileCache | None = None) -> None:
        if size < 0:
            raise IndexOutOfRange(f"negative tree size {size}")
        self.size = size
        self._cache = cache if cache is not None else TileCache(read)

    def _tile_of(self, tile_level: int, tile_index: int) -> TileId:
        count = level_width(tile_level, self.size)
        width = min(TILE_WIDTH, count - tile_index * TILE_WIDTH)
        return TileId(tile_level, tile_index, width)

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """Return the hash of each complete ``(level, index)`` node of the tree."""
        out: list[bytes] = []
        for level, index in nodes:
            if level < 0 or index < 0 or (index + 1) << level > self.size:
                raise IndexOutOfRange(f"node ({level}, {index}) is outside a tree of {self.size}")
            tile_level, rel = divmod(level, TILE_HEIGHT)
            first = index << rel  # position of the node's first hash in its tile level
            tile = self._tile_of(tile_level, first // TILE_WIDTH)
            out.append(self._cache.levels(tile, rel)[rel][(first % TILE_WIDTH) >> rel])
        return out


class TiledLog:
    """Read access to a tiled log: roots, proofs and entries, from its tiles and bundles."""

    def __init__(self, read: Reader, *, cache_tiles: int = 256) -> None:
        self._read = read
        self._cache = TileCache(read, max_tiles=cache_tiles)

    def hash_reader(self, size: int) -> TileHashReader:
        """Return a hash reader for the tree of ``size`` leaves (sharing this log's cache)."""
        return TileHashReader(self._read, size, cache=self._cache)

    def root(self, size: int) -> bytes:
        """Return the root hash of the tree of ``size`` leaves."""
        return tree_hash(size, self.hash_reader(size))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Return the inclusion proof of entry ``index`` in the tree of ``size``."""
        return inclusion_proof(index, size, self.hash_reader(size))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Return the consistency proof from ``old_size`` to ``new_size``."""
        return consistency_proof(old_size, new_size, self.hash_reader(new_size))

    def leaf_hash(self, index: int, size: int) -> bytes:
        """Return the leaf hash of entry ``index`` (read from its level-0 tile)."""
        return self.hash_reader(size).read_hashes([(0, index)])[0]

    def bundle(self, tile_index: int, size: int) -> list[bytes]:
        """Return the entries of bundle ``tile_index`` as it stands in the tree of ``size``."""
        count = size - tile_index * TILE_WIDTH
        if tile_index < 0 or count <= 0:
            raise IndexOutOfRange(f"bundle {tile_index} is outside a tree of size {size}")
        tile = TileId(0, tile_index, min(TILE_WIDTH, count), entries=True)
        try:
            return decode_bundle(self._read(tile.path()), tile.width)
        except ObjectNotFound as exc:
            if not tile.partial:
                raise TileError(f"bundle {tile.path()} is missing") from exc
            try:  # fall back to the full bundle, whose first entries are the same
                data = self._read(tile.full().path())
            except ObjectNotFound:
                raise TileError(f"bundle {tile.path()} is missing") from exc
            return decode_bundle(data, TILE_WIDTH)[: tile.width]

    def entry(self, index: int, size: int) -> bytes:
        """Return entry ``index`` of the tree of ``size``, checked against its leaf hash."""
        if not 0 <= index < size:
            raise IndexOutOfRange(f"index {index} is outside a tree of size {size}")
        entry = self.bundle(index // TILE_WIDTH, size)[index % TILE_WIDTH]
        if leaf_hash(entry) != self.leaf_hash(index, size):
            raise TileError(f"entry {index} does not match its leaf hash")
        return entry

    def entries(self, size: int, start: int = 0) -> Iterator[bytes]:
        """Yield the entries from ``start`` to ``size``, bundle by bundle."""
        if not 0 <= start <= size:
            raise IndexOutOfRange(f"start {start} is outside a tree of size {size}")
        tile_index = start // TILE_WIDTH
        skip = start % TILE_WIDTH
        while tile_index * TILE_WIDTH < size:
            yield from self.bundle(tile_index, size)[skip:]
            skip = 0
            tile_index += 1


def audit(read: Reader, size: int, *, batch_bundles: int = 64) -> bytes:
    """Recompute every tile of the tree of ``size`` from the bundles and compare; return the root.

    Raises :class:`TileError` on the first tile or bundle that is missing, malformed or differs
    from what the entries imply. Memory stays bounded: bundles are read ``batch_bundles`` at a
    time.
    """
    log = TiledLog(read)
    builder = TileBuilder()

    def check(tile: TileId, data: bytes) -> None:
        try:
            stored = read(tile.path())
        except ObjectNotFound as exc:
            raise TileError(f"tile {tile.path()} is missing") from exc
        if stored != data:
            raise TileError(f"tile {tile.path()} differs from the one its entries imply")

    tile_index = 0
    while tile_index * TILE_WIDTH < size:
        hashes: list[bytes] = []
        for _ in range(batch_bundles):
            if tile_index * TILE_WIDTH >= size:
                break
            hashes.extend(leaf_hash(e) for e in log.bundle(tile_index, size))
            tile_index += 1
        for tile, data in builder.append(hashes):
            check(tile, data)
    for tile, data in builder.partial_tiles():
        check(tile, data)
    return builder.root()
