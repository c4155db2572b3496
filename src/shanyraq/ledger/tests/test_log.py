"""Integrating entries into tiles, and reading roots, proofs and entries back from them."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shanyraq.ledger import merkle, tiles
from shanyraq.ledger.errors import (
    IndexOutOfRange,
    OversizeEntry,
    StorageConflict,
    StorageError,
    TileError,
)
from shanyraq.ledger.log import TileBuilder, TiledLog, audit, integrate
from shanyraq.ledger.storage import FileSystemStore, MemoryStore
from shanyraq.ledger.tests import reference

ENTRIES = [b"entry %d" % i for i in range(1500)]
LEAVES = merkle.leaf_hashes(ENTRIES)


def grow(store: MemoryStore | FileSystemStore, batches: list[int]) -> list[tuple[int, bytes]]:
    """Integrate ENTRIES in batches of the given sizes; return (size, root) after each."""
    size, root, heads = 0, merkle.EMPTY_ROOT, []
    for n in batches:
        result = integrate(store, size, ENTRIES[size : size + n], old_root=root)
        size, root = result.size, result.root_hash
        heads.append((size, root))
    return heads


batches = st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=6).filter(
    lambda b: sum(b) <= len(ENTRIES)
)


@settings(max_examples=40, deadline=None)
@given(batches, st.data())
def test_roots_and_proofs_from_tiles_verify(sizes: list[int], data: st.DataObject) -> None:
    store = MemoryStore()
    heads = grow(store, sizes)
    log = TiledLog(store.read)
    for size, root in heads:
        assert root == reference.mth(LEAVES[:size])
        assert log.root(size) == root
        if size:
            index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
            proof = log.inclusion_proof(index, size)
            merkle.verify_inclusion(LEAVES[index], index, size, proof, root)
            assert log.entry(index, size) == ENTRIES[index]
    for (old, old_root), (new, new_root) in itertools.pairwise(heads):
        proof = log.consistency_proof(old, new)
        merkle.verify_consistency(old, new, proof, old_root, new_root)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=1500), st.integers(min_value=0, max_value=1500))
def test_tiles_for_a_smaller_tree_are_a_prefix_of_those_for_a_larger_one(a: int, b: int) -> None:
    n, m = min(a, b), max(a, b)
    small, large = MemoryStore(), MemoryStore()
    integrate(small, 0, ENTRIES[:n])
    integrate(large, 0, ENTRIES[:m])
    for tile in tiles.tiles_for_size(n) + tiles.tiles_for_size(n, entries=True):
        mine = small.read(tile.path())
        counterpart = tiles.TileId(tile.level, tile.index, tiles.TILE_WIDTH, tile.entries)
        width = min(
            tiles.TILE_WIDTH,
            tiles.level_width(tile.level, m) - tile.index * tiles.TILE_WIDTH,
        )
        theirs = large.read(tiles.TileId(tile.level, tile.index, width, tile.entries).path())
        if tile.entries:
            assert tiles.decode_bundle(theirs)[: tile.width] == tiles.decode_bundle(mine)
        else:
            assert theirs[: len(mine)] == mine
        if not tile.partial:
            assert large.read(counterpart.path()) == mine
    # exactly the tiles the specification lists exist, nothing else
    expected = {t.path() for t in tiles.tiles_for_size(m) + tiles.tiles_for_size(m, entries=True)}
    assert set(large.objects) == expected


def test_integrating_in_batches_equals_integrating_at_once() -> None:
    once, batched = MemoryStore(), MemoryStore()
    integrate(once, 0, ENTRIES[:1000])
    grow(batched, [1, 254, 1, 1, 300, 443])
    for path, data in once.objects.items():
        assert batched.objects[path] == data
    intermediate = set()
    for size in (1, 255, 256, 257, 557):
        for level in range(3):
            tile = tiles.partial_tile(level, size)
            if tile:
                intermediate.add(tile.path())
        bundle = tiles.partial_tile(0, size, entries=True)
        if bundle:
            intermediate.add(bundle.path())
    assert set(batched.objects) - set(once.objects) == intermediate - set(once.objects)


@pytest.mark.parametrize("chunk", [256, 512, 1 << 16])
def test_chunked_integration_writes_the_same_objects(chunk: int) -> None:
    whole, chunked = MemoryStore(), MemoryStore()
    integrate(whole, 0, ENTRIES[:100])
    integrate(chunked, 0, ENTRIES[:100])
    expected = integrate(whole, 100, ENTRIES[100:1500], chunk_entries=1 << 20)
    result = integrate(chunked, 100, ENTRIES[100:1500], chunk_entries=chunk)
    assert chunked.objects == whole.objects
    assert result.root_hash == expected.root_hash == reference.mth(LEAVES[:1500])
    assert sorted(result.written) == sorted(expected.written)
    assert list(result.leaf_hashes) == LEAVES[100:1500]
    with pytest.raises(ValueError):
        integrate(chunked, 1500, [], chunk_entries=100)


def test_integrating_nothing_writes_nothing() -> None:
    store = MemoryStore()
    integrate(store, 0, ENTRIES[:300])
    before = dict(store.objects)
    result = integrate(store, 300, [])
    assert (result.size, result.written) == (300, ())
    assert store.objects == before


def test_rerunning_an_integration_is_harmless_and_changing_history_conflicts() -> None:
    store = MemoryStore()
    first = integrate(store, 0, ENTRIES[:700])
    again = integrate(store, 0, ENTRIES[:700])
    assert again.root_hash == first.root_hash
    with pytest.raises(StorageConflict):
        integrate(store, 0, [b"forged", *ENTRIES[1:700]])


def test_old_root_must_match_stored_tiles() -> None:
    store = MemoryStore()
    integrate(store, 0, ENTRIES[:10])
    with pytest.raises(TileError, match="do not match"):
        integrate(store, 10, ENTRIES[10:20], old_root=b"\x00" * 32)
    with pytest.raises(TileError, match="missing"):
        integrate(store, 11, ENTRIES[11:20])


def test_oversize_entry_writes_nothing() -> None:
    store = MemoryStore()
    with pytest.raises(OversizeEntry):
        integrate(store, 0, [b"fine", b"\x00" * (tiles.MAX_ENTRY_SIZE + 1)])
    assert store.objects == {}


def test_truncated_and_missing_tiles_raise_tile_error() -> None:
    store = MemoryStore()
    integrate(store, 0, ENTRIES[:300])
    store.objects["tile/0/001.p/44"] = store.objects["tile/0/001.p/44"][:-1]
    log = TiledLog(store.read)
    with pytest.raises(TileError, match="width 44 needs"):
        log.inclusion_proof(299, 300)
    with pytest.raises(TileError):
        integrate(store, 300, [b"more"])
    with pytest.raises(TileError, match="missing"):
        log.inclusion_proof(0, 257)  # no checkpoint at 257: its partial tile was never written
    store.objects["tile/entries/000"] = store.objects["tile/entries/000"][:-3]
    with pytest.raises(TileError):
        log.entry(3, 300)


def test_out_of_range_reads_raise_index_out_of_range() -> None:
    store = MemoryStore()
    integrate(store, 0, ENTRIES[:300])
    log = TiledLog(store.read)
    with pytest.raises(IndexOutOfRange):
        log.inclusion_proof(300, 300)
    with pytest.raises(IndexOutOfRange):
        log.entry(-1, 300)
    with pytest.raises(IndexOutOfRange):
        log.consistency_proof(301, 300)
    with pytest.raises(IndexOutOfRange):
        log.hash_reader(300).read_hashes([(9, 0)])


def test_partial_tiles_fall_back_to_the_full_tile() -> None:
    store = MemoryStore()
    heads = grow(store, [100, 400])
    del store.objects["tile/0/000.p/100"]
    del store.objects["tile/entries/000.p/100"]
    log = TiledLog(store.read)
    assert log.root(100) == heads[0][1]
    assert log.entry(99, 100) == ENTRIES[99]
    assert list(log.entries(100, start=98)) == ENTRIES[98:100]


def test_audit_recomputes_every_tile() -> None:
    store = MemoryStore()
    heads = grow(store, [600, 77])
    assert audit(store.read, 677, batch_bundles=1) == heads[-1][1]
    store.objects["tile/1/000.p/2"] = b"\x00" * 64
    with pytest.raises(TileError, match="differs"):
        audit(store.read, 677)


def test_tile_builder_checks_its_rows() -> None:
    with pytest.raises(TileError):
        TileBuilder(3, [[LEAVES[0]]])
    builder = TileBuilder()
    builder.append(LEAVES[:513])
    assert builder.root() == reference.mth(LEAVES[:513])


def test_file_system_store(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path / "log", durable=True)
    heads = grow(store, [40, 300])  # the second batch is large enough to sync in bulk
    assert (tmp_path / "log" / "tile" / "0" / "001.p" / "84").is_file()
    assert TiledLog(store.read).root(340) == heads[-1][1]
    grow(store, [40, 300])  # rerun: no conflict, nothing rewritten
    with pytest.raises(StorageConflict):
        store.write({"tile/0/000": b"\x00" * 8192})
    assert "tile/0/000" in store
    assert store.read_checkpoint() is None
    store.write_checkpoint(b"one\n")
    store.write_checkpoint(b"two\n")
    assert store.read_checkpoint() == b"two\n"
    leftovers = [p for p in (tmp_path / "log").rglob("*") if ".tmp-" in p.name]
    assert leftovers == []
    paths = set(store.iter_paths())
    assert "checkpoint" not in paths
    assert "tile/entries/001.p/84" in paths
    for bad in ("../escape", "/etc/passwd", "tile//0", "checkpoint", "tile/0/000.tmp-1"):
        with pytest.raises(StorageError):
            store.write({bad: b"x"})


def test_file_system_store_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    store = FileSystemStore(tmp_path, durable=False)
    store.write({"tile/0/000.p/1": b"a" * 32})
    store.write({"tile/0/000.p/1": b"a" * 32})
    with pytest.raises(StorageConflict):
        store.write({"tile/0/000.p/1": b"b" * 32})
    assert store.read("tile/0/000.p/1") == b"a" * 32
