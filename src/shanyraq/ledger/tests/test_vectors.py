"""The transparency-dev/merkle proof vectors, run through our verifier.

The vectors live outside the project (../shared/testdata/merkle beside the checkout); where
that folder is absent the tests skip and say so.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from shanyraq.ledger.errors import ProofError
from shanyraq.ledger.merkle import EMPTY_ROOT, verify_consistency, verify_inclusion

TESTDATA = Path(__file__).resolve().parents[4] / ".." / "shared" / "testdata" / "merkle"
SKIP_REASON = f"Merkle proof vectors not found at {TESTDATA} (shared/testdata beside the checkout)"

# Cases where our verifier's policy differs from that Go library's, and why.
POLICY_DIFFERENCES = {
    # The Go verifier does not check hash lengths when the sizes are equal; we require every
    # hash to be 32 bytes, so these 12-byte "roots" are rejected.
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": True,
}


def _cases(kind: str) -> list[Any]:
    if not TESTDATA.is_dir():
        return [pytest.param(None, id="vectors-missing", marks=pytest.mark.skip(SKIP_REASON))]
    files = sorted((TESTDATA / kind).rglob("*.json"))
    return [pytest.param(f, id=f.relative_to(TESTDATA).as_posix()) for f in files]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _expect_error(case: Path, data: dict[str, Any]) -> bool:
    key = case.relative_to(TESTDATA).as_posix()
    return POLICY_DIFFERENCES.get(key, bool(data["wantErr"]))


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vector(case: Path) -> None:
    data = json.loads(case.read_text())
    args = (
        _b64(data["leafHash"]),
        data["leafIdx"],
        data["treeSize"],
        [_b64(p) for p in data["proof"] or []],
        _b64(data["root"]),
    )
    if _expect_error(case, data):
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)  # raises on failure


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vector(case: Path) -> None:
    data = json.loads(case.read_text())
    args = (
        data["size1"],
        data["size2"],
        [_b64(p) for p in data["proof"] or []],
        _b64(data["root1"]),
        _b64(data["root2"]),
    )
    if _expect_error(case, data):
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)  # raises on failure


@pytest.mark.skipif(not TESTDATA.is_dir(), reason=SKIP_REASON)
def test_policy_differences_are_the_documented_ones() -> None:
    for key, ours in POLICY_DIFFERENCES.items():
        data = json.loads((TESTDATA / key).read_text())
        assert data["wantErr"] is not ours, key


def test_policy_consistency_from_empty_tree_is_accepted() -> None:
    # The Go library rejects any proof from size 0 as "meaningless"; the C2SP witness protocol
    # sends old size 0 with an empty proof, and we accept it when the old root is the empty hash.
    new_root = bytes(range(32))
    verify_consistency(0, 5, [], EMPTY_ROOT, new_root)  # raises on failure
    with pytest.raises(ProofError):
        verify_consistency(0, 5, [new_root], EMPTY_ROOT, new_root)
    with pytest.raises(ProofError):
        verify_consistency(0, 5, [], new_root, new_root)
