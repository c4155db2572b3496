"""Tile paths, tile geometry and entry bundles (tlog-tiles)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shanyraq.ledger import tiles
from shanyraq.ledger.errors import InvalidTilePath, MalformedBundle, OversizeEntry, TileError


def test_spec_index_encoding() -> None:
    assert tiles.format_index(1234067) == "x001/x234/067"
    assert tiles.tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tiles.format_index(0) == "000"
    assert tiles.format_index(999) == "999"
    assert tiles.format_index(1000) == "x001/000"


def test_spec_tree_of_70000_entries() -> None:
    # "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile,
    # one partial level 1 tile of width 17, and one partial level 2 tile of width 1."
    paths = [t.path() for t in tiles.tiles_for_size(70000)]
    level0 = [f"tile/0/{i:03d}" for i in range(273)]
    assert paths == [*level0, "tile/0/273.p/112", "tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1"]
    bundles = [t.path() for t in tiles.tiles_for_size(70000, entries=True)]
    assert bundles[-2:] == ["tile/entries/272", "tile/entries/273.p/112"]
    assert len(bundles) == 274


def test_spec_tree_of_256_entries() -> None:
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile
    # of width 1."
    assert [t.path() for t in tiles.tiles_for_size(256)] == ["tile/0/000", "tile/1/000.p/1"]
    assert tiles.tiles_for_size(0) == []


def test_partial_entry_bundle_paths() -> None:
    assert tiles.bundle_path(1234067, 17) == "tile/entries/x001/x234/067.p/17"
    assert tiles.bundle_path(5) == "tile/entries/005"


@settings(deadline=None)
@given(
    st.integers(min_value=0, max_value=tiles.MAX_TILE_LEVEL),
    st.integers(min_value=0, max_value=10**15),
    st.integers(min_value=1, max_value=256),
    st.booleans(),
)
def test_paths_parse_back(level: int, index: int, width: int, entries: bool) -> None:
    tile = tiles.TileId(0 if entries else level, index, width, entries)
    assert tiles.parse_tile_path(tile.path()) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/0001",
        "tile/00/001",
        "tile/64/000",
        "tile/0/x000/001",  # leading zero group
        "tile/0/001/002",  # missing x
        "tile/0/x001",  # x on the last group
        "tile/0/001.p/0",
        "tile/0/001.p/256",
        "tile/0/001.p/017",
        "tile/0/001.p",
        "tile/0/001.p/",
        "tile/entries/001.p/",
        "tile/0/../../etc/passwd",
        "tiles/0/000",
        "tile/-1/000",
        "tile/0/٠٠١",
        "tile/+1/000",
        "tile/x/000",
        "tile",
    ],
)
def test_non_canonical_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidTilePath):
        tiles.parse_tile_path(path)


def test_bundles_round_trip_and_are_strict() -> None:
    entries = [b"", b"a", b"x" * 300, b"\x00" * tiles.MAX_ENTRY_SIZE]
    data = tiles.encode_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert tiles.decode_bundle(data) == entries
    assert tiles.decode_bundle(data, 4) == entries
    with pytest.raises(MalformedBundle):
        tiles.decode_bundle(data, 3)
    with pytest.raises(MalformedBundle):
        tiles.decode_bundle(data, 5)
    with pytest.raises(MalformedBundle, match="runs past"):
        tiles.decode_bundle(data[:-1])
    with pytest.raises(MalformedBundle, match="length prefix"):
        tiles.decode_bundle(b"\x00")


def test_oversize_entries_are_refused() -> None:
    with pytest.raises(OversizeEntry, match="entry 1 is 65536 bytes"):
        tiles.encode_bundle([b"ok", b"\x00" * (tiles.MAX_ENTRY_SIZE + 1)])


def test_truncated_tiles_are_refused() -> None:
    data = bytes(range(32)) * 3
    assert len(tiles.split_hashes(data, 3)) == 3
    with pytest.raises(TileError, match="width 3"):
        tiles.split_hashes(data[:-1], 3)
    with pytest.raises(TileError):
        tiles.split_hashes(data + b"\x00", 3)


def test_tile_for_node() -> None:
    assert tiles.tile_for_node(0, 300, 70000) == tiles.TileId(0, 1)
    assert tiles.tile_for_node(0, 69999, 70000) == tiles.TileId(0, 273, 112)
    assert tiles.tile_for_node(8, 272, 70000) == tiles.TileId(1, 1, 17)
    with pytest.raises(TileError):
        tiles.tile_for_node(3, 0, 70000)
    with pytest.raises(TileError):
        tiles.tile_for_node(0, 70000, 70000)
