"""Signed notes: the specification's example, the reference example keys, and bad input."""

from __future__ import annotations

import base64

import pytest

from shanyraq.ledger import note
from shanyraq.ledger.errors import BadSignature, InvalidKey, MalformedNote, UnknownKey

# c2sp.org/signed-note, "Verifier keys" and "Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mF"
    "XmRKuwHjG1Yu72IneyaQM=\n"
).encode()

# The example key pair and note of the Go reference implementation (golang.org/x/mod/sumdb/note).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
    "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
).encode()


def test_spec_example_key_and_note_reproduce_exactly() -> None:
    verifier = note.parse_ed25519_verifier(SPEC_VKEY)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id == 0x530D903A
    assert note.key_id("example.com/foo", 0x01, verifier.public_key) == 0x530D903A
    assert verifier.key_string() == SPEC_VKEY

    parsed = note.parse_note(SPEC_NOTE)
    assert parsed.text == "This is an example message.\n"
    assert parsed.to_bytes() == SPEC_NOTE
    opened = note.open_note(SPEC_NOTE, [verifier])
    assert opened.text == "This is an example message.\n"
    assert [s.name for s in opened.verified] == ["example.com/foo"]
    assert opened.unverified == ()


def test_reference_signer_key_signs_the_reference_note_byte_for_byte() -> None:
    signer = note.parse_ed25519_signer(GO_SKEY)
    assert signer.key_string() == GO_SKEY
    assert signer.verifier().key_string() == GO_VKEY
    assert note.sign_note(GO_TEXT, [signer]) == GO_NOTE
    opened = note.open_note(GO_NOTE, [note.parse_ed25519_verifier(GO_VKEY)])
    assert opened.text == GO_TEXT


def test_spec_quasimodo_note_parses_with_blank_line_in_text() -> None:
    data = (
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
        "\n\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJ"
        "KONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
    ).encode()
    parsed = note.parse_note(data)
    assert parsed.text.endswith("\n\ned è subito sera.\n")
    assert parsed.signatures[0].name == "quasimodo.example/salvatore"
    assert parsed.to_bytes() == data
    with pytest.raises(UnknownKey):
        note.open_note(data, [note.parse_ed25519_verifier(SPEC_VKEY)])


def test_generated_keys_round_trip() -> None:
    skey, vkey = note.generate_key("log.example/test")
    signer = note.parse_ed25519_signer(skey)
    verifier = note.parse_ed25519_verifier(vkey)
    assert signer.key_id == verifier.key_id
    signed = note.sign_note("hello\n", [signer])
    assert note.open_note(signed, [verifier]).text == "hello\n"
    assert "PRIVATE" not in repr(signer)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # uppercase ID
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # short ID
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # bad base64
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # length
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown type
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space in name
    ],
)
def test_bad_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(InvalidKey):
        note.parse_ed25519_verifier(bad)


def test_every_mangling_of_the_signer_key_is_refused() -> None:
    raw = GO_SKEY.encode()
    for i in range(len(raw)):
        mangled = bytearray(raw)
        mangled[i] = (mangled[i] + 1) % 128
        with pytest.raises((InvalidKey, UnicodeDecodeError)):
            note.parse_ed25519_signer(mangled.decode())
    for cut in range(1, len(GO_SKEY)):
        with pytest.raises(InvalidKey):
            note.parse_ed25519_signer(GO_SKEY[:cut])
    with pytest.raises(InvalidKey):
        note.parse_ed25519_signer(GO_VKEY)  # a verifier key is not a signer key


def _other_signer(name: str = "other.example/log") -> note.Ed25519Signer:
    return note.Ed25519Signer(name, bytes(range(32)))


def test_unknown_signatures_are_ignored_when_a_known_one_verifies() -> None:
    known = note.parse_ed25519_signer(GO_SKEY)
    other = _other_signer()
    signed = note.sign_note(GO_TEXT, [other, known])
    opened = note.open_note(signed, [known.verifier()])
    assert [s.name for s in opened.verified] == ["PeterNeumann"]
    assert [s.name for s in opened.unverified] == ["other.example/log"]


def test_same_name_with_another_key_id_is_an_unknown_key() -> None:
    impostor = note.Ed25519Signer("PeterNeumann", bytes(32))
    signed = note.sign_note(GO_TEXT, [impostor])
    with pytest.raises(UnknownKey):
        note.open_note(signed, [note.parse_ed25519_verifier(GO_VKEY)])


def test_bad_signature_from_a_known_key_rejects_the_note() -> None:
    verifier = note.parse_ed25519_verifier(GO_VKEY)
    tampered = GO_NOTE.replace(b"answer", b"Answer")
    with pytest.raises(BadSignature):
        note.open_note(tampered, [verifier])
    # ... even if another trusted key signed correctly.
    other = _other_signer()
    parsed = note.parse_note(tampered)
    both = parsed.with_signatures(note.sign_text(parsed.text, [other]).signatures)
    with pytest.raises(BadSignature):
        note.verify_note(both, [verifier, other.verifier()])


def test_no_signatures_at_all_from_trusted_keys_is_rejected() -> None:
    with pytest.raises(UnknownKey):
        note.open_note(GO_NOTE, [])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"no blank line\n\xe2\x80\x94 a AAAAAAA=\n", "blank line"),
        (GO_TEXT.encode() + b"\n", "no signatures"),
        (GO_NOTE[:-1], "newline"),
        (GO_NOTE.replace(b"\xe2\x80\x94 ", b"-- "), "em dash"),
        (GO_NOTE.replace(b"PeterNeumann ", b"Peter+Neumann "), "malformed"),
        (GO_NOTE.replace(b"x08go", b"x08go!"), "base64"),
        (b"text\n\n\xe2\x80\x94 name AAAA\n", "at least one byte"),
        (b"te\x01xt\n\n\xe2\x80\x94 name AAAAAAA=\n", "control character"),
        (b"text\n\n\xe2\x80\x94 name AAAAAAA=\r\n", "control character"),
        (b"\xff\n\n\xe2\x80\x94 name AAAAAAA=\n", "UTF-8"),
        (b"text\n\n\xe2\x80\x94 name AAAAAAA=\n\n", "no signatures"),
    ],
)
def test_malformed_notes_raise_malformed_note(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedNote, match=reason):
        note.parse_note(data)


def test_size_limits() -> None:
    line = "\u2014 a " + base64.b64encode(b"\x00" * 68).decode() + "\n"
    many = ("text\n\n" + line * (note.MAX_SIGNATURES + 1)).encode()
    with pytest.raises(MalformedNote, match="more than"):
        note.parse_note(many)
    sixteen = ("text\n\n" + line * 16).encode()
    assert len(note.parse_note(sixteen).signatures) == 16  # the specification's minimum
    with pytest.raises(MalformedNote, match="larger"):
        note.parse_note(b"x" * (note.MAX_NOTE_SIZE + 1))
    with pytest.raises(MalformedNote, match="larger"):
        note.parse_note(GO_NOTE, max_size=10)


def test_signing_refuses_bad_text() -> None:
    signer = note.parse_ed25519_signer(GO_SKEY)
    with pytest.raises(MalformedNote):
        note.sign_note("no final newline", [signer])
    with pytest.raises(MalformedNote):
        note.sign_note("tab\there\n", [signer])


def test_verifier_set_refuses_two_keys_with_one_identity() -> None:
    a = note.parse_ed25519_verifier(GO_VKEY)
    b = note.parse_ed25519_verifier(GO_VKEY)
    with pytest.raises(InvalidKey):
        note.VerifierSet([a, b])
