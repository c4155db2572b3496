"""Checkpoints: the specification's example, strict parsing, and verification with witnesses."""

from __future__ import annotations

import base64

import pytest

from shanyraq.ledger import checkpoint as cp
from shanyraq.ledger.cosignature import CosignatureSigner, WitnessPolicy
from shanyraq.ledger.errors import (
    BadSignature,
    InsufficientCosignatures,
    MalformedCheckpoint,
    OriginMismatch,
    UnknownKey,
)
from shanyraq.ledger.note import Ed25519Signer, parse_note

# c2sp.org/tlog-checkpoint, the example's note text.
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")


def test_spec_example_parses_and_formats_back() -> None:
    parsed = cp.parse_checkpoint(SPEC_TEXT)
    assert parsed == cp.Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)
    assert parsed.text() == SPEC_TEXT


def test_extension_lines_round_trip() -> None:
    text = SPEC_TEXT + "ext one\next two\n"
    parsed = cp.parse_checkpoint(text)
    assert parsed.extensions == ("ext one", "ext two")
    assert parsed.text() == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "example.com/log\n1\n",  # two lines
        "example.com/log\n1\n" + "A" * 44,  # no final newline
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # empty origin
        "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # leading zero
        "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # sign
        "o\n+1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # sign
        "o\n 1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # space
        "o\n١\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # non-ASCII digit
        "o\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # too large
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",  # no padding
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",  # non-canonical base64
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",  # 30 bytes
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",  # empty extension line
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(MalformedCheckpoint):
        cp.parse_checkpoint(text)


def test_checkpoint_constructor_validates() -> None:
    with pytest.raises(MalformedCheckpoint):
        cp.Checkpoint("o", 1, b"short")
    with pytest.raises(MalformedCheckpoint):
        cp.Checkpoint("two\nlines", 1, ROOT)
    with pytest.raises(MalformedCheckpoint):
        cp.Checkpoint("o", -1, ROOT)


LOG = Ed25519Signer("example.com/behind-the-sofa", bytes(range(32)))
W1 = CosignatureSigner("witness.example/w1", bytes(range(1, 33)))
W2 = CosignatureSigner("witness.example/w2", bytes(range(2, 34)))
W3 = CosignatureSigner("witness.example/w3", bytes(range(3, 35)))
POLICY = WitnessPolicy((W1.verifier(), W2.verifier(), W3.verifier()), quorum=2)


def _cosigned(*witnesses: CosignatureSigner) -> bytes:
    signed = parse_note(cp.parse_checkpoint(SPEC_TEXT).sign([LOG]))
    return signed.with_signatures(w.cosign(signed.text, 1700000000) for w in witnesses).to_bytes()


def test_open_checkpoint_with_a_quorum_of_cosignatures() -> None:
    verified = cp.open_checkpoint(
        _cosigned(W1, W3), origin=LOG.name, log_verifiers=[LOG.verifier()], policy=POLICY
    )
    assert verified.checkpoint.size == 20852163
    assert [w.name for w in verified.witnesses] == ["witness.example/w1", "witness.example/w3"]


def test_open_checkpoint_below_quorum_is_refused() -> None:
    with pytest.raises(InsufficientCosignatures):
        cp.open_checkpoint(
            _cosigned(W2), origin=LOG.name, log_verifiers=[LOG.verifier()], policy=POLICY
        )


def test_open_checkpoint_needs_the_log_signature() -> None:
    text = parse_note(_cosigned(W1, W2)).text
    only_witnesses = parse_note(_cosigned(W1, W2))
    stripped = type(only_witnesses)(text, only_witnesses.signatures[1:]).to_bytes()
    with pytest.raises(UnknownKey):
        cp.open_checkpoint(stripped, origin=LOG.name, log_verifiers=[LOG.verifier()], policy=POLICY)


def test_open_checkpoint_refuses_another_origin_and_bad_cosignatures() -> None:
    with pytest.raises(OriginMismatch):
        cp.open_checkpoint(_cosigned(), origin="example.com/other", log_verifiers=[LOG.verifier()])
    good = parse_note(_cosigned(W1, W2))
    w2 = good.signatures[-1]
    forged = type(w2)(w2.name, w2.key_id, w2.signature[:-1] + bytes([w2.signature[-1] ^ 1]))
    bad = type(good)(good.text, (*good.signatures[:-1], forged)).to_bytes()
    with pytest.raises(BadSignature):
        cp.open_checkpoint(bad, origin=LOG.name, log_verifiers=[LOG.verifier()], policy=POLICY)
