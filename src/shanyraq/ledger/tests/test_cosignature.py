"""Witness cosignatures (tlog-cosignature/v1)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from shanyraq.ledger import cosignature as co
from shanyraq.ledger.errors import InvalidKey, MalformedNote
from shanyraq.ledger.keys import parse_signer_key, parse_verifier_key
from shanyraq.ledger.note import (
    Ed25519Signer,
    parse_ed25519_verifier,
    parse_signature_line,
)

CHECKPOINT_TEXT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)


def test_signed_message_is_the_one_in_the_specification() -> None:
    assert co.cosigned_message(CHECKPOINT_TEXT, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_spec_example_cosignature_carries_its_timestamp() -> None:
    line = (
        "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZ"
        "CB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    )
    sig = parse_signature_line(line)
    assert sig.key_id == 0x8D66CF3F
    assert co.cosignature_timestamp(sig) == 1679315147


def test_reference_implementation_timestamp_vector() -> None:
    # transparency-dev/formats note tests: this cosignature was made at 1727964367.
    raw = base64.b64decode(
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDc"
        "FiEBYJXORmnFBOBA=="
    )
    assert co.cosignature_timestamp(raw[4:]) == 1727964367
    with pytest.raises(MalformedNote):
        co.cosignature_timestamp(raw[4:-1])


def test_cosign_and_verify() -> None:
    signer = co.CosignatureSigner("witness.example/w1", bytes(range(32)))
    verifier = signer.verifier()
    public = verifier.public_key
    expected_id = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert signer.key_id == verifier.key_id == int.from_bytes(expected_id, "big")

    sig = signer.cosign(CHECKPOINT_TEXT, 1700000000)
    assert len(sig.signature) == 72
    assert sig.signature[:8] == (1700000000).to_bytes(8, "big")
    assert co.cosignature_timestamp(sig) == 1700000000
    message = CHECKPOINT_TEXT.encode()
    assert verifier.verify(message, sig.signature)
    assert not verifier.verify(message + b"x\n", sig.signature)
    later = (1700000001).to_bytes(8, "big") + sig.signature[8:]
    assert not verifier.verify(message, later)  # the timestamp is signed
    too_late = (1 << 63).to_bytes(8, "big") + sig.signature[8:]
    assert not verifier.verify(message, too_late)
    assert not verifier.verify(message, sig.signature[:-1])


def test_cosignature_is_not_a_plain_signature() -> None:
    seed = bytes(range(32))
    plain = Ed25519Signer("witness.example/w1", seed)
    cosigner = co.CosignatureSigner("witness.example/w1", seed)
    assert plain.key_id != cosigner.key_id  # different type byte, different key ID
    sig = cosigner.cosign(CHECKPOINT_TEXT, 5)
    assert not plain.verifier().verify(CHECKPOINT_TEXT.encode(), sig.signature[8:])


def test_key_strings_round_trip_and_dispatch_on_type() -> None:
    skey, vkey = co.generate_cosignature_key("witness.example/w9")
    signer = parse_signer_key(skey)
    verifier = parse_verifier_key(vkey)
    assert isinstance(signer, co.CosignatureSigner)
    assert isinstance(verifier, co.CosignatureVerifier)
    assert signer.key_string() == skey
    assert verifier.key_string() == vkey
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04


def test_an_ed25519_key_string_can_serve_as_a_witness_key() -> None:
    vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    converted = co.parse_cosignature_verifier(vkey)
    assert converted.public_key == parse_ed25519_verifier(vkey).public_key
    assert converted.key_string().startswith("PeterNeumann+")
    assert converted.key_string() != vkey  # re-encoded as type 0x04 with its own key ID
    with pytest.raises(InvalidKey):
        co.parse_cosignature_verifier(vkey.replace("c74f20a3", "c74f20a4"))


def test_policy_validation() -> None:
    w = co.CosignatureSigner.generate("witness.example/w1").verifier()
    with pytest.raises(ValueError):
        co.WitnessPolicy((w,), quorum=2)
    with pytest.raises(ValueError):
        co.WitnessPolicy((w, w), quorum=1)
    assert co.WitnessPolicy.from_keys([w.key_string()], 1).witnesses[0].key_id == w.key_id
