from __future__ import annotations

import base64
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client

from shanyraq.core.canonical_json import canonicalize
from shanyraq.core.errors import ValidationError
from shanyraq.ledger.checkpoint import open_checkpoint
from shanyraq.ledger.merkle import leaf_hash, verify_inclusion
from shanyraq.ledger.proof import verify_proof
from shanyraq.ledger_django import config, services
from shanyraq.ledger_django.fsck import fsck
from shanyraq.ledger_django.models import Entry, LogState, PublishedCheckpoint

pytestmark = pytest.mark.django_db(transaction=True)


def append(n: int, start: int = 0) -> list[bytes]:
    datas = []
    with transaction.atomic():
        for i in range(start, start + n):
            entry = {"v": 1, "type": "test.entry", "n": i}
            services.ledger_append(log="registers", entry=entry)
            datas.append(canonicalize(entry))
    return datas


def test_append_needs_the_callers_transaction(ledger_dirs):
    with pytest.raises(RuntimeError):
        services.ledger_append(log="registers", entry={"type": "x"})
    assert Entry.objects.count() == 0


def test_a_rolled_back_change_leaves_no_entry(ledger_dirs):
    def change_then_fail() -> None:
        with transaction.atomic():
            services.ledger_append(log="registers", entry={"type": "x"})
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        change_then_fail()
    assert Entry.objects.count() == 0


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        ({"no": "type"}, "ledger_entry_type"),
        ({"type": "x", "bad": float("nan")}, "ledger_entry_json"),
        ({"type": "x", "blob": "a" * 70_000}, "ledger_entry_too_large"),
    ],
)
def test_bad_entries_are_refused(ledger_dirs, entry, code):
    with pytest.raises(ValidationError) as info, transaction.atomic():
        services.ledger_append(log="registers", entry=entry)
    assert info.value.code == code
    assert Entry.objects.count() == 0


def test_integrate_sequences_writes_tiles_and_publishes(ledger_dirs):
    datas = append(300)
    log = config.get_log("registers")
    outcome = services.log_integrate(log)
    assert (outcome.sequenced, outcome.integrated_size, outcome.published_size) == (300, 300, 300)
    assert list(Entry.objects.order_by("id").values_list("index", flat=True)) == list(range(300))
    note = log.storage().read_checkpoint()
    checked = open_checkpoint(note, origin=log.origin, log_verifiers=[log.verifier()])
    assert checked.checkpoint.size == 300
    # Running again with nothing new changes nothing.
    again = services.log_integrate(log)
    assert (again.sequenced, again.published_size) == (0, 300)
    assert PublishedCheckpoint.objects.count() == 1
    more = append(5, start=300)
    services.log_integrate(log)
    assert LogState.objects.get().published_size == 305
    assert fsck(log).ok
    assert len(datas + more) == 305


def test_tiles_are_served_as_tlog_tiles_says(ledger_dirs):
    datas = append(257)
    services.log_integrate(config.get_log("registers"))
    client = Client()
    checkpoint = client.get("/ledger/registers/checkpoint")
    assert checkpoint.status_code == 200
    assert checkpoint["Content-Type"] == "text/plain; charset=utf-8"
    assert "max-age=2" in checkpoint["Cache-Control"]
    full = client.get("/ledger/registers/tile/0/000")
    assert full.status_code == 200
    assert full["Content-Type"] == "application/octet-stream"
    assert full["Cache-Control"] == "public, max-age=31536000, immutable"
    assert len(full.content) == 256 * 32
    assert full.content[:32] == leaf_hash(datas[0])
    partial = client.get("/ledger/registers/tile/0/001.p/1")
    assert partial.content == leaf_hash(datas[256])
    bundle = client.get("/ledger/registers/tile/entries/001.p/1")
    assert bundle.content == len(datas[256]).to_bytes(2, "big") + datas[256]
    gz = client.get("/ledger/registers/tile/entries/000", HTTP_ACCEPT_ENCODING="gzip")
    assert gz["Content-Encoding"] == "gzip"
    assert client.get("/ledger/registers/tile/0/002").status_code == 404
    assert client.get("/ledger/registers/tile/0/../../keys/registers.key").status_code == 404
    assert client.get("/ledger/nosuchlog/checkpoint").status_code == 404


def test_proof_api(ledger_dirs):
    datas = append(1000)
    log = config.get_log("registers")
    services.log_integrate(log)
    client = Client()
    body = client.get("/api/v1/ledger/registers/inclusion", {"index": 777}).json()
    assert body["tree_size"] == 1000
    proof = [base64.b64decode(h) for h in body["proof"]]
    root = open_checkpoint(
        body["checkpoint"].encode(), origin=log.origin, log_verifiers=[log.verifier()]
    ).checkpoint.root_hash
    verify_inclusion(leaf_hash(datas[777]), 777, 1000, proof, root)

    by_hash = client.get(
        "/api/v1/ledger/registers/inclusion-by-hash", {"hash": leaf_hash(datas[5]).hex()}
    ).json()
    assert by_hash["index"] == 5

    entry = client.get("/api/v1/ledger/registers/entries/42").json()
    assert base64.b64decode(entry["entry"]) == datas[42]
    checked = verify_proof(
        entry["proof_file"].encode(), datas[42], origin=log.origin, log_verifiers=[log.verifier()]
    )
    assert checked.checkpoint.size == 1000

    consistency = client.get("/api/v1/ledger/registers/consistency", {"old": 10, "new": 1000})
    assert consistency.status_code == 200
    assert len(consistency.json()["proof"]) > 0


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/ledger/registers/inclusion?index=10", 422, "index_out_of_range"),
        ("/api/v1/ledger/registers/inclusion?index=-1", 422, "invalid_parameters"),
        ("/api/v1/ledger/registers/inclusion?index=1&size=99", 422, "size_out_of_range"),
        ("/api/v1/ledger/registers/inclusion-by-hash?hash=zz", 422, "invalid_parameters"),
        ("/api/v1/ledger/registers/inclusion-by-hash?hash=" + "0" * 64, 404, "entry_not_found"),
        ("/api/v1/ledger/registers/consistency?old=5&new=3", 422, "size_out_of_range"),
        ("/api/v1/ledger/nope/inclusion?index=0", 404, "log_not_found"),
        ("/api/v1/ledger/registers/entries/99", 422, "index_out_of_range"),
    ],
)
def test_proof_api_bad_input(ledger_dirs, path, status, code):
    append(10)
    services.log_integrate(config.get_log("registers"))
    response = Client().get(path)
    assert response.status_code == status
    assert response.json()["code"] == code


def test_fsck_detects_tampering_with_the_database(ledger_dirs):
    append(20)
    log = config.get_log("registers")
    services.log_integrate(log)
    Entry.objects.filter(index=7).update(data=b'{"type":"forged"}')
    report = fsck(log)
    assert not report.ok
    assert "entry 7 differs between tiles and database" in report.problems


def test_fsck_detects_a_lost_index(ledger_dirs):
    append(20)
    log = config.get_log("registers")
    services.log_integrate(log)
    Entry.objects.filter(index=19).delete()
    report = fsck(log)
    assert any("a gap or a lost index" in p for p in report.problems)


def test_commands_verify_prove_and_check_proof(ledger_dirs, tmp_path):
    append(600)
    log = config.get_log("registers")
    out = io.StringIO()
    call_command("ledger", "integrate", stdout=out)
    assert "published 600" in out.getvalue()
    vkey = log.verifier_key()
    state = tmp_path / "seen.json"
    out = io.StringIO()
    call_command(
        "ledger",
        "verify",
        str(log.storage_dir),
        "--origin",
        log.origin,
        "--key",
        vkey,
        "--state",
        str(state),
        "--full",
        stdout=out,
    )
    assert out.getvalue().startswith(f"OK {log.origin} size 600")
    assert json.loads(state.read_text())["size"] == 600
    proof_file, entry_file = tmp_path / "p.proof", tmp_path / "e.json"
    call_command(
        "ledger",
        "prove",
        "--index",
        "123",
        "--out",
        str(proof_file),
        "--entry-out",
        str(entry_file),
        stdout=io.StringIO(),
    )
    out = io.StringIO()
    call_command(
        "ledger",
        "check-proof",
        str(proof_file),
        "--origin",
        log.origin,
        "--key",
        vkey,
        "--entry",
        str(entry_file),
        stdout=out,
    )
    assert "OK: included" in out.getvalue()
    entry_file.write_bytes(b'{"n":124,"type":"test.entry","v":1}')
    with pytest.raises(CommandError) as failed:
        call_command(
            "ledger",
            "check-proof",
            str(proof_file),
            "--origin",
            log.origin,
            "--key",
            vkey,
            "--entry",
            str(entry_file),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert failed.value.returncode == 1
    assert "does not lead to the root" in str(failed.value)


def test_info_json(ledger_dirs, capsys):
    call_command("ledger", "info", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["origin"] == "test.example/ledger/registers"
    assert rows[0]["prefix"] == "/ledger/registers/"
    assert rows[0]["verifier_key"].startswith("test.example/ledger/registers+")
    assert rows[0]["quorum"] == 0
