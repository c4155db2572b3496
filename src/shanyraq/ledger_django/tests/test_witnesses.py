"""The log and two witness processes on loopback: cosigned checkpoints, and a refused fork.

Each witness is a separate process started with ``shanyraq witness serve``, with its own key,
its own state directory and its own port. The Django integrator talks to them over HTTP, as in
production. A forked log (the same origin and signing key, another history) is then shown to
the witnesses, which must refuse it with the status codes of c2sp.org/tlog-witness and keep
their state, so that the genuine log goes on being cosigned.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client

from shanyraq.core.canonical_json import canonicalize
from shanyraq.ledger.checkpoint import Checkpoint, open_checkpoint
from shanyraq.ledger.cosignature import WitnessPolicy, generate_cosignature_key
from shanyraq.ledger.errors import InsufficientCosignatures, WitnessConflict, WitnessError
from shanyraq.ledger.keys import parse_signer_key
from shanyraq.ledger.log import TiledLog, integrate
from shanyraq.ledger.merkle import (
    leaf_hash,
    leaf_hashes,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from shanyraq.ledger.note import Ed25519Signer, generate_key, parse_note
from shanyraq.ledger.storage import MemoryStore
from shanyraq.ledger.witness import WitnessClient
from shanyraq.ledger_django import config, services
from shanyraq.ledger_django.models import LogState, PublishedCheckpoint, WitnessProgress

pytestmark = pytest.mark.django_db(transaction=True)

SRC_DIR = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"
START_TIMEOUT_S = 15.0


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def subprocess_env(**extra: str) -> dict[str, str]:
    """This process's environment, with the project's sources importable, plus ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC_DIR), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def die_with_parent() -> None:
    """In a child before exec: get SIGKILL if the test process dies (Linux), so none leak."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Kill a process we started and reap it (no-op if it already ended)."""
    if process is None:
        return
    if process.poll() is None:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


class WitnessProcess:
    """One witness: its key (made with ``witness keygen``), state directory and process."""

    def __init__(self, directory: Path, name: str, logs: dict[str, str]) -> None:
        self.directory = directory
        self.name = name
        self.logs = dict(logs)  # origin -> log verifier key
        self.key_file = directory / "key"
        self.state_dir = directory / "state"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        made = subprocess.run(
            [*self.cli(), "keygen", "--name", name, "--out", str(self.key_file)],
            env=subprocess_env(),
            capture_output=True,
            check=True,
            timeout=60,
        )
        self.vkey = made.stdout.decode().strip()

    @staticmethod
    def cli() -> list[str]:
        return [sys.executable, "-m", "shanyraq.config.cli", "witness"]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def config(self) -> dict[str, str]:
        return {"name": self.name, "vkey": self.vkey, "url": self.url}

    def start(self) -> None:
        """Start serving (on the same port as before, if it ran already) and wait until ready."""
        keep_port = bool(self.port)
        for _attempt in range(20):
            if not keep_port:
                self.port = free_port()
            args = [
                *self.cli(),
                "serve",
                "--key",
                str(self.key_file),
                "--state",
                str(self.state_dir),
                "--host",
                HOST,
                "--port",
                str(self.port),
                *(f"--log={origin}={vkey}" for origin, vkey in self.logs.items()),
            ]
            with open(self.directory / "stderr.log", "ab") as errors:
                self.process = subprocess.Popen(
                    args,
                    env=subprocess_env(),
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    preexec_fn=die_with_parent,
                )
            if self._wait_ready():
                return
            stop_process(self.process)
            self.process = None
            time.sleep(0.2)  # the port was taken: another one, or the same one a bit later
        raise RuntimeError(f"witness {self.name} did not start; see {self.directory}")

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                status, _type, body = http_request(self.port, "GET", "/")
                if status == 200 and body.startswith(b"witness "):
                    return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def state(self) -> dict[str, dict[str, object]]:
        """What the witness has on disk: ``{origin: {"size": N, "root": base64}}``."""
        path = self.state_dir / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def state_bytes(self) -> bytes:
        path = self.state_dir / "state.json"
        return path.read_bytes() if path.exists() else b""

    def client(self) -> WitnessClient:
        verifier = WitnessPolicy.from_keys([self.vkey], 1).witnesses[0]
        return WitnessClient(self.url, verifier, timeout=10.0)


@contextlib.contextmanager
def running_witnesses(
    directory: Path, logs: dict[str, str], count: int = 2
) -> Iterator[list[WitnessProcess]]:
    """``count`` witness processes following ``logs``; all killed on the way out."""
    witnesses: list[WitnessProcess] = []
    try:
        for i in range(1, count + 1):
            witness = WitnessProcess(directory / f"witness-{i}", f"witness-{i}.test.example", logs)
            witnesses.append(witness)
            witness.start()
        yield witnesses
    finally:
        for witness in witnesses:
            witness.stop()


def write_policy(path: Path, witnesses: Sequence[WitnessProcess], quorum: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    policy = {"quorum": quorum, "witnesses": [w.config for w in witnesses]}
    path.write_text(json.dumps(policy, indent=2) + "\n")


def http_request(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        headers = {"Content-Type": "text/plain; charset=utf-8"} if method == "POST" else {}
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def witnesses(ledger_dirs: Path, settings) -> Iterator[list[WitnessProcess]]:
    """Two witness processes following the test log; the policy requires both."""
    log = config.get_log("registers")
    with running_witnesses(ledger_dirs / "witnesses", {log.origin: log.verifier_key()}) as ws:
        write_policy(Path(settings.LEDGER_WITNESSES_FILE), ws, quorum=2)
        config.reset()
        yield ws
    config.reset()


def policy_of(witnesses: Sequence[WitnessProcess], quorum: int) -> WitnessPolicy:
    return WitnessPolicy.from_keys([w.vkey for w in witnesses], quorum)


def entry(n: int, **extra: object) -> dict[str, object]:
    return {"v": 1, "type": "test.entry", "n": n, **extra}


def append(start: int, count: int) -> list[bytes]:
    with transaction.atomic():
        for n in range(start, start + count):
            services.ledger_append(log="registers", entry=entry(n))
    return [canonicalize(entry(n)) for n in range(start, start + count)]


def published(log: config.LogConfig, witnesses: Sequence[WitnessProcess]) -> Checkpoint:
    """The served checkpoint, checked against the log key and both witnesses (quorum 2)."""
    note = log.storage().read_checkpoint()
    assert note is not None
    checked = open_checkpoint(
        note, origin=log.origin, log_verifiers=[log.verifier()], policy=policy_of(witnesses, 2)
    )
    assert sorted(w.name for w in checked.witnesses) == sorted(w.name for w in witnesses)
    return checked.checkpoint


def witnessed(witness: WitnessProcess, origin: str) -> tuple[int, str]:
    state = witness.state()[origin]
    return int(str(state["size"])), str(state["root"])


def b64root(checkpoint: Checkpoint) -> str:
    return base64.b64encode(checkpoint.root_hash).decode()


def integrate_ok(log: config.LogConfig, witnesses: Sequence[WitnessProcess], size: int) -> None:
    outcome = services.log_integrate(log)
    assert outcome.witness_errors == []
    assert sorted(outcome.cosigned_by) == sorted(w.name for w in witnesses)
    assert outcome.published_size == size


def sign(
    log: config.LogConfig, size: int, root: bytes, signer: Ed25519Signer | None = None
) -> bytes:
    return Checkpoint(log.origin, size, root).sign([signer or log.signer()])


# --- tests ------------------------------------------------------------------------------------


def test_published_checkpoints_carry_both_cosignatures(witnesses):
    log = config.get_log("registers")
    append(0, 300)
    integrate_ok(log, witnesses, 300)
    first = published(log, witnesses)
    assert first.size == 300
    row = PublishedCheckpoint.objects.get(log="registers", size=300)
    assert sorted(row.cosigners) == sorted(w.name for w in witnesses)
    assert row.note.encode() == log.storage().read_checkpoint()
    for witness in witnesses:
        assert witnessed(witness, log.origin) == (300, b64root(first))
    # A policy that asks for a witness that did not cosign is not met.
    with pytest.raises(InsufficientCosignatures):
        open_checkpoint(
            log.storage().read_checkpoint() or b"",
            origin=log.origin,
            log_verifiers=[log.verifier()],
            policy=WitnessPolicy.from_keys(
                [witnesses[0].vkey, generate_cosignature_key("stranger.test.example")[1]], 2
            ),
        )

    # A consistent extension: each witness gets a proof from 300 and accepts it.
    append(300, 700)
    integrate_ok(log, witnesses, 1000)
    second = published(log, witnesses)
    assert second.size == 1000
    proof = TiledLog(log.storage().read).consistency_proof(300, 1000)
    verify_consistency(300, 1000, proof, first.root_hash, second.root_hash)
    for witness in witnesses:
        assert witnessed(witness, log.origin) == (1000, b64root(second))
    progress = WitnessProgress.objects.filter(log="registers").values_list("witness", "size")
    assert sorted(progress) == sorted((w.name, 1000) for w in witnesses)

    # An outside verifier with the same policy agrees.
    out = io.StringIO()
    call_command(
        "ledger",
        "verify",
        str(log.storage_dir),
        "--origin",
        log.origin,
        "--key",
        log.verifier_key(),
        *(f"--witness={w.vkey}" for w in witnesses),
        "--quorum",
        "2",
        "--full",
        stdout=out,
    )
    assert out.getvalue().startswith(f"OK {log.origin} size 1000")
    assert all(w.name in out.getvalue() for w in witnesses)


def test_a_forked_log_is_refused_and_the_witnesses_keep_their_state(witnesses):
    log = config.get_log("registers")
    genuine = append(0, 100)
    integrate_ok(log, witnesses, 100)
    cp100 = published(log, witnesses)
    before = [w.state_bytes() for w in witnesses]
    assert all(before)

    # The fork: same origin, same key, the first 60 entries shared, then another history.
    forged = genuine[:60] + [canonicalize(entry(n, forged=True)) for n in range(60, 160)]
    store = MemoryStore()
    at60 = integrate(store, 0, forged[:60])
    at100 = integrate(store, 60, forged[60:100], old_root=at60.root_hash)
    at160 = integrate(store, 100, forged[100:], old_root=at100.root_hash)
    assert at60.root_hash == root_from_leaf_hashes(leaf_hashes(genuine[:60]))  # shared
    assert at100.root_hash != cp100.root_hash
    fork = TiledLog(store.read)
    fork160 = sign(log, 160, at160.root_hash)
    fork100 = sign(log, 100, at100.root_hash)
    genuine60 = sign(log, 60, at60.root_hash)

    for witness in witnesses:
        client = witness.client()
        # From the size the witness has, with a proof that holds only inside the fork: 422.
        with pytest.raises(WitnessError) as bad_proof:
            client.add_checkpoint(100, fork.consistency_proof(100, 160), fork160)
        assert bad_proof.value.status == 422
        # Sizes that disagree with what the witness saw: 409, with the size it has.
        for old, proof in ((0, []), (60, fork.consistency_proof(60, 160))):
            with pytest.raises(WitnessConflict) as conflict:
                client.add_checkpoint(old, proof, fork160)
            assert conflict.value.status == 409
            assert conflict.value.known_size == 100
        # The same size as the witness's checkpoint, another root: 409.
        with pytest.raises(WitnessConflict) as same_size:
            client.add_checkpoint(100, [], fork100)
        assert same_size.value.status == 409
        # Rolling back to an older genuine checkpoint: 409 (from its size), 400 (old > size).
        with pytest.raises(WitnessConflict) as rollback:
            client.add_checkpoint(60, [], genuine60)
        assert rollback.value.known_size == 100
        with pytest.raises(WitnessError) as backwards:
            client.add_checkpoint(100, [], genuine60)
        assert backwards.value.status == 400

    assert [w.state_bytes() for w in witnesses] == before

    # The genuine log goes on: its next checkpoint is cosigned by both.
    append(100, 50)
    integrate_ok(log, witnesses, 150)
    cp150 = published(log, witnesses)
    proof = TiledLog(log.storage().read).consistency_proof(100, 150)
    verify_consistency(100, 150, proof, cp100.root_hash, cp150.root_hash)
    for witness in witnesses:
        assert witnessed(witness, log.origin) == (150, b64root(cp150))
        # ...and the fork stays refused from the new size too.
        with pytest.raises(WitnessError) as refused:
            witness.client().add_checkpoint(150, fork.consistency_proof(150, 160), fork160)
        assert refused.value.status == 422


def test_no_quorum_no_publication_until_the_witness_is_back(witnesses):
    log = config.get_log("registers")
    append(0, 10)
    integrate_ok(log, witnesses, 10)
    served = log.storage().read_checkpoint()

    witnesses[1].stop()
    append(10, 5)
    outcome = services.log_integrate(log)
    assert outcome.cosigned_by == [witnesses[0].name]
    assert len(outcome.witness_errors) == 1
    assert witnesses[1].name in outcome.witness_errors[0]
    assert outcome.published_size == 10
    state = LogState.objects.get(log="registers")
    assert (state.integrated_size, state.published_size) == (15, 10)
    assert log.storage().read_checkpoint() == served
    assert list(PublishedCheckpoint.objects.values_list("size", flat=True)) == [10]
    # The command says so and fails.
    with pytest.raises(CommandError) as failed:
        call_command("ledger", "integrate", stdout=io.StringIO(), stderr=io.StringIO())
    assert failed.value.returncode == 1
    assert "too few cosignatures" in str(failed.value)
    assert log.storage().read_checkpoint() == served

    witnesses[1].start()  # same port, same state directory
    integrate_ok(log, witnesses, 15)
    checkpoint = published(log, witnesses)
    assert checkpoint.size == 15
    assert LogState.objects.get(log="registers").published_size == 15
    for witness in witnesses:
        assert witnessed(witness, log.origin) == (15, b64root(checkpoint))


def test_witness_status_codes_for_bad_requests(witnesses):
    log = config.get_log("registers")
    append(0, 10)
    integrate_ok(log, witnesses, 10)
    root = published(log, witnesses).root_hash
    before = [w.state_bytes() for w in witnesses]

    stranger = parse_signer_key(generate_key(log.origin)[0])
    assert isinstance(stranger, Ed25519Signer)
    other_origin = parse_signer_key(generate_key("elsewhere.example/log")[0])
    assert isinstance(other_origin, Ed25519Signer)
    good = sign(log, 10, root)
    malformed = [
        b"",
        b"garbage",
        b"old 10\n",  # no empty line
        b"old 010\n\n" + good,  # leading zero
        b"old -1\n\n" + good,
        b"new 10\n\n" + good,
        b"old 10\nnot base64!\n\n" + good,
        b"old 10\nAAAA\n\n" + good,  # a 3-byte hash
        b"old 10\n\n",  # no checkpoint
        b"old 10\n\n" + good.split(b"\n\n")[0] + b"\n\n",  # no signature line
        b"old 10\n\n" + b"registers\nten\nAAAA\n\n" + good.split(b"\n\n")[1],
        b"old 10\n\xff\n\n" + good,
    ]
    for witness in witnesses:
        client = witness.client()
        with pytest.raises(WitnessError) as unknown_key:
            client.add_checkpoint(10, [], sign(log, 10, root, stranger))
        assert unknown_key.value.status == 403
        with pytest.raises(WitnessError) as unknown_origin:
            client.add_checkpoint(
                0, [], Checkpoint(other_origin.name, 1, root).sign([other_origin])
            )
        assert unknown_origin.value.status == 404
        # A signature line with the log's name and key ID but a wrong signature: 403.
        note = parse_note(good)
        tampered = note.text.replace("\n10\n", "\n11\n") + "\n" + good.decode().split("\n\n")[1]
        with pytest.raises(WitnessError) as bad_signature:
            client.add_checkpoint(10, [], tampered.encode())
        assert bad_signature.value.status == 403
        for body in malformed:
            status, _type, text = http_request(witness.port, "POST", "/add-checkpoint", body)
            assert (status, body) == (400, body), text
        assert http_request(witness.port, "POST", "/elsewhere", good)[0] == 404
        # The genuine checkpoint the witness already cosigned is cosigned again.
        assert len(client.add_checkpoint(10, [], good)) == 1

    assert [w.state_bytes() for w in witnesses] == before


def test_proofs_against_an_earlier_cosigned_checkpoint(witnesses):
    """A verifier holding an older cosigned checkpoint gets proofs that hold against it, and
    a proof request for a size between two checkpoints gets an answer, never a server error."""
    log = config.get_log("registers")
    datas = append(0, 300)
    integrate_ok(log, witnesses, 300)
    old = published(log, witnesses)
    datas += append(300, 200)
    integrate_ok(log, witnesses, 500)
    new = published(log, witnesses)
    client = Client(raise_request_exception=False)

    body = client.get("/api/v1/ledger/registers/inclusion", {"index": 123, "size": 300}).json()
    assert body["tree_size"] == 300
    proof = [base64.b64decode(h) for h in body["proof"]]
    verify_inclusion(leaf_hash(datas[123]), 123, 300, proof, old.root_hash)
    held = open_checkpoint(
        body["checkpoint"].encode(),
        origin=log.origin,
        log_verifiers=[log.verifier()],
        policy=policy_of(witnesses, 2),
    )
    assert held.checkpoint == old
    body = client.get("/api/v1/ledger/registers/consistency", {"old": 300, "new": 500}).json()
    proof = [base64.b64decode(h) for h in body["proof"]]
    verify_consistency(300, 500, proof, old.root_hash, new.root_hash)

    # Sizes that were never a checkpoint: the API accepts any size up to the published one.
    for path, query in [
        ("/api/v1/ledger/registers/inclusion", {"index": 5, "size": 280}),
        ("/api/v1/ledger/registers/consistency", {"old": 300, "new": 400}),
    ]:
        response = client.get(path, query)
        assert response.status_code != 500, (
            f"BUG: GET {path} {query} fails with a server error (TileError: the partial tile "
            "of that size was never written). selectors.inclusion_by_index/consistency_proof "
            "read the tiles of the requested size; they should read through the published "
            "size's tiles (TiledLog.hash_reader(published)), or refuse sizes that are not "
            "published checkpoints with a 422."
        )
        assert response.status_code in (200, 422)
