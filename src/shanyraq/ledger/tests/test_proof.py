"""Offline proof files (tlog-proof)."""

from __future__ import annotations

import pytest

from shanyraq.ledger.checkpoint import Checkpoint
from shanyraq.ledger.cosignature import CosignatureSigner, WitnessPolicy
from shanyraq.ledger.errors import (
    BadSignature,
    InsufficientCosignatures,
    MalformedProof,
    OriginMismatch,
    ProofError,
    UnknownKey,
)
from shanyraq.ledger.log import TiledLog, integrate
from shanyraq.ledger.note import Ed25519Signer, parse_note
from shanyraq.ledger.proof import TlogProof, build_proof, parse_proof, verify_proof
from shanyraq.ledger.storage import MemoryStore

ORIGIN = "registers.example/ledger"
LOG = Ed25519Signer(ORIGIN, bytes(range(32)))
W1 = CosignatureSigner("witness.example/w1", bytes(range(1, 33)))
W2 = CosignatureSigner("witness.example/w2", bytes(range(2, 34)))
POLICY = WitnessPolicy((W1.verifier(), W2.verifier()), quorum=2)
ENTRIES = [b'{"v":1,"n":%d}' % i for i in range(1000)]

# c2sp.org/tlog-proof, the example (its signatures are elided there, so only the frame is real).
SPEC_HEAD = (
    "c2sp.org/tlog-proof@v1\n"
    "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
    "index 73894\n"
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
    "\n"
)


def test_spec_example_frame_parses() -> None:
    checkpoint = b"example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
    data = SPEC_HEAD.encode() + checkpoint
    proof = parse_proof(data)
    assert proof.index == 73894
    assert len(proof.inclusion_proof) == 5
    assert proof.extra is not None and proof.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert proof.checkpoint == checkpoint
    assert proof.to_bytes() == data


def make_log() -> tuple[TiledLog, bytes]:
    store = MemoryStore()
    result = integrate(store, 0, ENTRIES)
    signed = parse_note(Checkpoint(ORIGIN, result.size, result.root_hash).sign([LOG]))
    cosigned = signed.with_signatures(w.cosign(signed.text, 1_750_000_000) for w in (W1, W2))
    return TiledLog(store.read), cosigned.to_bytes()


def test_proof_round_trip_and_offline_verification() -> None:
    log, checkpoint = make_log()
    for index in (0, 1, 255, 256, 511, 999):
        proof = build_proof(index, 1000, log.hash_reader(1000), checkpoint)
        data = proof.to_bytes()
        assert parse_proof(data) == proof
        verified = verify_proof(
            data, ENTRIES[index], origin=ORIGIN, log_verifiers=[LOG.verifier()], policy=POLICY
        )
        assert verified.checkpoint.size == 1000
        assert len(verified.witnesses) == 2


def test_self_contained_proof_carries_the_entry_in_extra() -> None:
    log, checkpoint = make_log()
    proof = build_proof(7, 1000, log.hash_reader(1000), checkpoint, extra=ENTRIES[7])
    verify_proof(proof.to_bytes(), origin=ORIGIN, log_verifiers=[LOG.verifier()])
    forged = TlogProof(7, proof.inclusion_proof, checkpoint, extra=ENTRIES[8])
    with pytest.raises(ProofError):
        verify_proof(forged, origin=ORIGIN, log_verifiers=[LOG.verifier()])
    with pytest.raises(MalformedProof, match="no entry"):
        verify_proof(TlogProof(7, proof.inclusion_proof, checkpoint), log_verifiers=[], origin="o")


def test_wrong_entry_index_keys_and_quorum_are_rejected() -> None:
    log, checkpoint = make_log()
    proof = build_proof(42, 1000, log.hash_reader(1000), checkpoint)
    keys = [LOG.verifier()]
    with pytest.raises(ProofError):
        verify_proof(proof, ENTRIES[43], origin=ORIGIN, log_verifiers=keys)
    with pytest.raises(ProofError):
        verify_proof(
            TlogProof(43, proof.inclusion_proof, checkpoint),
            ENTRIES[42],
            origin=ORIGIN,
            log_verifiers=keys,
        )
    with pytest.raises(ProofError):
        verify_proof(
            TlogProof(4200, proof.inclusion_proof, checkpoint),
            ENTRIES[42],
            origin=ORIGIN,
            log_verifiers=keys,
        )
    with pytest.raises(UnknownKey):
        verify_proof(
            proof,
            ENTRIES[42],
            origin=ORIGIN,
            log_verifiers=[Ed25519Signer(ORIGIN, bytes(32)).verifier()],
        )
    other = Ed25519Signer("other.example/log", bytes(range(32)))
    bad = TlogProof(
        42,
        proof.inclusion_proof,
        Checkpoint("other.example/log", 1000, bytes(32)).sign([other]),
    )
    with pytest.raises(OriginMismatch):
        verify_proof(bad, ENTRIES[42], origin=ORIGIN, log_verifiers=[other.verifier()])
    only_w1 = WitnessPolicy(
        (W1.verifier(), CosignatureSigner("w.example/x", bytes(32)).verifier()), 2
    )
    with pytest.raises(InsufficientCosignatures):
        verify_proof(proof, ENTRIES[42], origin=ORIGIN, log_verifiers=keys, policy=only_w1)
    tampered = proof.checkpoint.replace(b"\n1000\n", b"\n1001\n")
    with pytest.raises(BadSignature):
        verify_proof(
            TlogProof(42, proof.inclusion_proof, tampered),
            ENTRIES[42],
            origin=ORIGIN,
            log_verifiers=keys,
        )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"c2sp.org/tlog-proof@v2\nindex 0\n\ncp",
        b"c2sp.org/tlog-proof@v1\n\ncp",
        b"c2sp.org/tlog-proof@v1\nindex 01\n\ncp",
        b"c2sp.org/tlog-proof@v1\nindex -1\n\ncp",
        b"c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\ncp",
        b"c2sp.org/tlog-proof@v1\nindex 0\nextra AA==\n\ncp",
        b"c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\ncp",
        b"c2sp.org/tlog-proof@v1\nindex 0\n",
        b"c2sp.org/tlog-proof@v1\nindex 0\n\n",
        b"c2sp.org/tlog-proof@v1\nindex 0\n" + ("A" * 43 + "=\n").encode() * 64 + b"\ncp",
    ],
)
def test_malformed_proof_files(data: bytes) -> None:
    with pytest.raises(MalformedProof):
        parse_proof(data)
