"""Merkle hashing and proofs, against a naive RFC 9162 implementation and by mutation."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shanyraq.ledger import merkle
from shanyraq.ledger.errors import IndexOutOfRange, ProofError
from shanyraq.ledger.tests import reference

LEAVES = [reference.leaf(i) for i in range(600)]


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_leaf_and_node_hash_follow_rfc_6962() -> None:
    assert merkle.leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = b"L" * 32, b"R" * 32
    assert merkle.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_rfc_6962_reference_roots() -> None:
    # The eight test inputs of RFC 6962's reference implementation and its published roots.
    inputs = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ]
    roots = {
        1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    }
    hashes = merkle.leaf_hashes(inputs)
    for size, root in roots.items():
        assert merkle.root_from_leaf_hashes(hashes[:size]).hex() == root
        compact = merkle.CompactRange()
        compact.extend_entries(inputs[:size])
        assert compact.root().hex() == root


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=600))
def test_root_matches_reference(size: int) -> None:
    expected = reference.mth(LEAVES[:size])
    assert merkle.root_from_leaf_hashes(LEAVES[:size]) == expected
    assert merkle.tree_hash(size, merkle.LeafHashReader(LEAVES[:size])) == expected
    compact = merkle.CompactRange()
    compact.extend(LEAVES[:size])
    assert compact.size == size
    assert compact.root() == expected


@settings(deadline=None)
@given(st.data())
def test_inclusion_proofs_match_reference_and_verify(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=600), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    reader = merkle.LeafHashReader(LEAVES[:size])
    proof = merkle.inclusion_proof(index, size, reader)
    assert proof == reference.path(index, LEAVES[:size])
    root = reference.mth(LEAVES[:size])
    merkle.verify_inclusion(LEAVES[index], index, size, proof, root)  # raises on failure


@settings(deadline=None)
@given(st.data())
def test_consistency_proofs_match_reference_and_verify(data: st.DataObject) -> None:
    new = data.draw(st.integers(min_value=1, max_value=600), label="new")
    old = data.draw(st.integers(min_value=1, max_value=new), label="old")
    reader = merkle.LeafHashReader(LEAVES[:new])
    proof = merkle.consistency_proof(old, new, reader)
    assert proof == ([] if old == new else reference.proof(old, LEAVES[:new]))
    old_root, new_root = reference.mth(LEAVES[:old]), reference.mth(LEAVES[:new])
    merkle.verify_consistency(old, new, proof, old_root, new_root)  # raises on failure


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_single_bit_change_in_an_inclusion_proof_is_rejected(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=300), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = merkle.inclusion_proof(index, size, merkle.LeafHashReader(LEAVES[:size]))
    root = reference.mth(LEAVES[:size])
    leaf = LEAVES[index]
    for bit in range(256):
        with pytest.raises(ProofError):
            merkle.verify_inclusion(flip(leaf, bit), index, size, proof, root)
        with pytest.raises(ProofError):
            merkle.verify_inclusion(leaf, index, size, proof, flip(root, bit))
        for i, node in enumerate(proof):
            bad = [*proof[:i], flip(node, bit), *proof[i + 1 :]]
            with pytest.raises(ProofError):
                merkle.verify_inclusion(leaf, index, size, bad, root)
    for bit in range(index.bit_length() + 1):
        other = index ^ (1 << bit)
        if other != index:
            with pytest.raises(ProofError):
                merkle.verify_inclusion(leaf, other, size, proof, root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(leaf, index, size, [*proof, root], root)
    if proof:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(leaf, index, size, proof[:-1], root)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_single_bit_change_in_a_consistency_proof_is_rejected(data: st.DataObject) -> None:
    new = data.draw(st.integers(min_value=2, max_value=300), label="new")
    old = data.draw(st.integers(min_value=1, max_value=new - 1), label="old")
    proof = merkle.consistency_proof(old, new, merkle.LeafHashReader(LEAVES[:new]))
    old_root, new_root = reference.mth(LEAVES[:old]), reference.mth(LEAVES[:new])
    for bit in range(256):
        with pytest.raises(ProofError):
            merkle.verify_consistency(old, new, proof, flip(old_root, bit), new_root)
        with pytest.raises(ProofError):
            merkle.verify_consistency(old, new, proof, old_root, flip(new_root, bit))
        for i, node in enumerate(proof):
            bad = [*proof[:i], flip(node, bit), *proof[i + 1 :]]
            with pytest.raises(ProofError):
                merkle.verify_consistency(old, new, bad, old_root, new_root)
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, new, proof[:-1], old_root, new_root)
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, new, [*proof, new_root], old_root, new_root)
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, new, proof, new_root, old_root)


def test_out_of_range_indices_raise_index_out_of_range() -> None:
    reader = merkle.LeafHashReader(LEAVES[:10])
    with pytest.raises(IndexOutOfRange):
        merkle.inclusion_proof(10, 10, reader)
    with pytest.raises(IndexOutOfRange):
        merkle.inclusion_proof(-1, 10, reader)
    with pytest.raises(IndexOutOfRange):
        merkle.consistency_proof(11, 10, reader)
    with pytest.raises(IndexOutOfRange):
        merkle.tree_hash(11, reader)  # the reader holds only 10 leaves
    with pytest.raises(IndexOutOfRange):
        merkle.verify_inclusion(LEAVES[0], 10, 10, [], LEAVES[0])
    with pytest.raises(IndexOutOfRange):
        merkle.verify_consistency(5, 4, [], LEAVES[0], LEAVES[0])
    # Out-of-range errors are proof errors too, and index errors.
    assert issubclass(IndexOutOfRange, ProofError)
    assert issubclass(IndexOutOfRange, IndexError)


def test_wrong_hash_lengths_are_rejected() -> None:
    root = reference.mth(LEAVES[:2])
    with pytest.raises(ProofError, match="leaf hash"):
        merkle.verify_inclusion(LEAVES[0][:31], 0, 2, [LEAVES[1]], root)
    with pytest.raises(ProofError, match="proof hash 0"):
        merkle.verify_inclusion(LEAVES[0], 0, 2, [LEAVES[1] + b"\x00"], root)
    with pytest.raises(ProofError, match="root"):
        merkle.verify_inclusion(LEAVES[0], 0, 2, [LEAVES[1]], root[:16])


def test_range_nodes_split_into_maximal_subtrees() -> None:
    assert merkle.range_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert merkle.range_nodes(8, 13) == [(2, 2), (0, 12)]
    assert merkle.range_nodes(0, 256) == [(8, 0)]
    assert merkle.range_nodes(5, 5) == []


def test_subtree_root_needs_a_power_of_two() -> None:
    with pytest.raises(ValueError):
        merkle.subtree_root(LEAVES[:3])
    assert merkle.subtree_root(LEAVES[:4]) == reference.mth(LEAVES[:4])
