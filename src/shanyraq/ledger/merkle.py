"""RFC 6962 / RFC 9162 Merkle tree hashing, proof generation and proof verification.

Nodes of the tree are named by ``(level, index)``: the complete subtree of ``2**level`` leaves
that starts at leaf ``index * 2**level``. Proofs are computed from a :class:`HashReader`, which
returns the hashes of such complete subtrees; a reader can be backed by tiles (see
:mod:`shanyraq.ledger.log`), by a list of leaf hashes (:class:`LeafHashReader`) or by anything
else. Verification follows RFC 9162 section 2.1.3.2 and 2.1.4.2 and raises :class:`ProofError`.

Policy, stated once: a consistency proof from size 0 is the empty proof (as the C2SP witness
protocol uses it), and every hash must be exactly 32 bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256
from typing import Protocol

from shanyraq.ledger.errors import IndexOutOfRange, ProofError

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = sha256(b"").digest()
"""Root hash of the empty tree: SHA-256 of the empty string."""

Node = tuple[int, int]
"""A complete subtree, as ``(level, index)``."""


def leaf_hash(entry: bytes) -> bytes:
    """Return the leaf hash of an entry: SHA-256(0x00 || entry)."""
    return sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the hash of an interior node: SHA-256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    """Return the leaf hashes of many entries (one pass, no per-hash object kept)."""
    h = sha256
    return [h(b"\x00" + e).digest() for e in entries]


def subtree_root(hashes: Sequence[bytes]) -> bytes:
    """Return the root of a complete subtree whose leaves (or lower nodes) are ``hashes``.

    ``len(hashes)`` must be a power of two; the hashes are combined pairwise, level by level.
    """
    n = len(hashes)
    if n == 0 or n & (n - 1):
        raise ValueError(f"a complete subtree needs a power-of-two number of hashes, not {n}")
    h = sha256
    row = list(hashes)
    while len(row) > 1:
        it = iter(row)
        row = [h(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=True)]
    return row[0]


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Combine subtree roots of decreasing size (left to right) into the root they span."""
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash (RFC 9162 MTH) of a sequence of leaf hashes."""
    chunks: list[bytes] = []
    start = 0
    n = len(hashes)
    while start < n:
        width = 1 << ((n - start).bit_length() - 1)
        chunks.append(subtree_root(hashes[start : start + width]))
        start += width
    return fold_right(chunks)


def range_nodes(start: int, end: int) -> list[Node]:
    """Split the leaf range ``[start, end)`` into maximal complete subtrees, left to right.

    For the ranges that appear in RFC 9162 proofs (``start`` aligned to the enclosing power of
    two) the subtrees come out in decreasing size, so :func:`fold_right` of their hashes is the
    range's Merkle tree hash.
    """
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def _largest_power_below(n: int) -> int:
    """Return the largest power of two strictly less than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class HashReader(Protocol):
    """Source of the hashes of complete subtrees of one tree."""

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """Return the hash of each ``(level, index)`` node, in the order asked."""
        ...


def _range_hashes(ranges: Sequence[tuple[int, int]], reader: HashReader) -> list[bytes]:
    """Return the Merkle tree hash of every leaf range, reading all nodes in one batch."""
    split = [range_nodes(lo, hi) for lo, hi in ranges]
    flat = [node for nodes in split for node in nodes]
    hashes = reader.read_hashes(flat)
    if len(hashes) != len(flat):
        raise ProofError(f"hash reader returned {len(hashes)} hashes for {len(flat)} nodes")
    out: list[bytes] = []
    pos = 0
    for nodes in split:
        out.append(fold_right(hashes[pos : pos + len(nodes)]))
        pos += len(nodes)
    return out


def tree_hash(size: int, reader: HashReader) -> bytes:
    """Return the root hash of the tree of ``size`` leaves."""
    if size < 0:
        raise IndexOutOfRange(f"negative tree size {size}")
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, size)], reader)[0]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose hashes form the inclusion proof of ``index`` (bottom up)."""
    if not 0 <= index < size:
        raise IndexOutOfRange(f"index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_below(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges whose hashes form the consistency proof old -> new."""
    if not 0 <= old_size <= new_size:
        raise IndexOutOfRange(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, new_size
    complete = True  # RFC 9162 SUBPROOF's flag b: the old tree is a prefix of this subtree
    while old_size != hi:
        k = _largest_power_below(hi - lo)
        if old_size <= lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            complete = False
    if not complete:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    return _range_hashes(inclusion_ranges(index, size), reader)


def consistency_proof(old_size: int, new_size: int, reader: HashReader) -> list[bytes]:
    """Return the RFC 9162 consistency proof from ``old_size`` to ``new_size``."""
    return _range_hashes(consistency_ranges(old_size, new_size), reader)


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Return the root that ``proof`` binds leaf hash ``leaf`` at ``index`` to.

    Raises :class:`ProofError` if the proof has the wrong shape for ``(index, size)``.
    """
    if not 0 <= index < size:
        raise IndexOutOfRange(f"index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    h = sha256
    for i, p in enumerate(proof):
        _check_hash(p, f"proof hash {i}")
        if sn == 0:
            raise ProofError(f"inclusion proof is too long ({len(proof)} hashes)")
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r).digest()
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = h(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof is too short ({len(proof)} hashes)")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf hash ``leaf`` is at ``index`` in the tree of ``size`` with ``root``.

    Returns ``None`` on success and raises :class:`ProofError` otherwise.
    """
    _check_hash(root, "root hash")
    if root_from_inclusion_proof(leaf, index, size, proof) != root:
        raise ProofError(f"inclusion proof for index {index} does not lead to the root")


def verify_consistency(
    old_size: int,
    new_size: int,
    proof: Sequence[bytes],
    old_root: bytes,
    new_root: bytes,
) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    Returns ``None`` on success and raises :class:`ProofError` otherwise. From size 0 the proof
    must be empty and ``old_root`` must be the empty-tree hash (C2SP witness semantics).
    """
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    if old_size < 0 or new_size < old_size:
        raise IndexOutOfRange(f"no consistency proof from size {old_size} to {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("equal sizes need an empty consistency proof")
        if old_root != new_root:
            raise ProofError("equal sizes but different roots")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("the empty tree has another root")
        return
    if old_size == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        if old_root != EMPTY_ROOT:
            raise ProofError("the empty tree has another root")
        return
    if not proof:
        raise ProofError("empty consistency proof for different sizes")
    for i, p in enumerate(proof):
        _check_hash(p, f"proof hash {i}")

    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a complete subtree: its root leads
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    h = sha256
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof is too long ({len(proof)} hashes)")
        if fn & 1 or fn == sn:
            fr = h(b"\x01" + c + fr).digest()
            sr = h(b"\x01" + c + sr).digest()
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = h(b"\x01" + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof is too short ({len(proof)} hashes)")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")


class CompactRange:
    """An append-only tree kept as the roots of its maximal complete subtrees.

    Appending a leaf costs one hash per trailing one bit of the size (amortised: one), and
    memory is one hash per set bit of the size. Used to compute roots of large trees quickly.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        self._stack: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        self.extend((leaf,))

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append many leaf hashes."""
        h = sha256
        stack = self._stack
        pop = stack.pop
        push = stack.append
        size = self._size
        for node in leaves:
            n = size
            while n & 1:
                node = h(b"\x01" + pop() + node).digest()
                n >>= 1
            push(node)
            size += 1
        self._size = size

    def extend_entries(self, entries: Iterable[bytes]) -> None:
        """Append the leaf hashes of many entries."""
        self.extend(leaf_hashes(entries))

    def root(self) -> bytes:
        """Return the root hash of the tree appended so far."""
        return fold_right(self._stack)


class LeafHashReader:
    """A :class:`HashReader` over leaf hashes held in memory (levels computed on demand)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self._levels: list[list[bytes]] = [list(leaves)]

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def _level(self, level: int) -> list[bytes]:
        h = sha256
        while len(self._levels) <= level:
            below = self._levels[-1]
            it = iter(below[: len(below) & ~1])
            self._levels.append([h(b"\x01" + a + b).digest() for a, b in zip(it, it, strict=True)])
        return self._levels[level]

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        """Return the hash of each complete ``(level, index)`` node."""
        out: list[bytes] = []
        for level, index in nodes:
            if level < 0 or index < 0 or (index + 1) << level > self.size:
                raise IndexOutOfRange(f"node ({level}, {index}) is outside a tree of {self.size}")
            out.append(self._level(level)[index])
        return out
