"""The witness protocol: request syntax, the witness's decisions, and the HTTP client."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shanyraq.ledger import merkle
from shanyraq.ledger.checkpoint import Checkpoint
from shanyraq.ledger.cosignature import CosignatureSigner, cosignature_timestamp
from shanyraq.ledger.errors import MalformedRequest, UnknownKey, WitnessConflict, WitnessError
from shanyraq.ledger.log import TiledLog, integrate
from shanyraq.ledger.note import Ed25519Signer, Note, open_note, parse_note, sign_note
from shanyraq.ledger.storage import MemoryStore
from shanyraq.ledger.witness import (
    CONTENT_TYPE_SIZE,
    AddCheckpointRequest,
    Witness,
    WitnessClient,
    WitnessedState,
    format_add_checkpoint,
    parse_add_checkpoint,
)

ORIGIN = "registers.example/ledger"
LOG = Ed25519Signer(ORIGIN, bytes(range(32)))
WITNESS_KEY = CosignatureSigner("witness.example/w1", bytes(range(7, 39)))
NOW = 1_750_000_000

# c2sp.org/tlog-witness, the example request body.
SPEC_REQUEST = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+"
    "49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
).encode()


def test_spec_request_parses_and_formats_back() -> None:
    request = parse_add_checkpoint(SPEC_REQUEST)
    assert request.old_size == 20852014
    assert len(request.proof) == 4
    assert request.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    assert request.checkpoint.startswith(b"example.com/behind-the-sofa\n20852163\n")
    assert request.to_bytes() == SPEC_REQUEST


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 1\n",
        b"old 01\n\ncheckpoint",
        b"old -1\n\ncheckpoint",
        b"new 1\n\ncheckpoint",
        b"old 1\nnot base64!\n\ncheckpoint",
        b"old 1\nAAAA\n\ncheckpoint",  # 3-byte hash
        b"old 1\n\n",  # no checkpoint
        b"old 1\n" + b"A" * 43 + b"=\n" * 64 + b"\ncheckpoint",
        b"old 1\n" + ("A" * 43 + "=\n").encode() * 64 + b"\ncheckpoint",  # 64 proof lines
        b"old \xff\n\ncheckpoint",
    ],
)
def test_malformed_requests(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        parse_add_checkpoint(body)


def test_request_may_carry_63_proof_lines() -> None:
    body = b"old 1\n" + ("A" * 43 + "=\n").encode() * 63 + b"\ncheckpoint"
    assert len(parse_add_checkpoint(body).proof) == 63


class Log:
    """A small log with its tiles in memory and a signed checkpoint per size."""

    def __init__(self, signer: Ed25519Signer = LOG, salt: bytes = b"") -> None:
        self.signer = signer
        self.store = MemoryStore()
        self.size = 0
        self.salt = salt

    def grow(self, n: int) -> bytes:
        entries = [self.salt + b"record %d" % (self.size + i) for i in range(n)]
        result = integrate(self.store, self.size, entries)
        self.size = result.size
        return Checkpoint(ORIGIN, result.size, result.root_hash).sign([self.signer])

    def proof(self, old: int) -> list[bytes]:
        return TiledLog(self.store.read).consistency_proof(old, self.size)


def witness() -> Witness:
    return Witness(WITNESS_KEY, {ORIGIN: [LOG.verifier()]}, clock=lambda: NOW)


def state_of(note: bytes) -> WitnessedState:
    text = parse_note(note).text.split("\n")
    return WitnessedState(int(text[1]), base64.b64decode(text[2]))


def test_first_checkpoint_is_cosigned_and_the_state_returned() -> None:
    log = Log()
    note = log.grow(10)
    answer = witness().add_checkpoint(AddCheckpointRequest(0, (), note), None)
    assert answer.status == 200
    assert answer.new_state == state_of(note)
    sig = parse_note(note + answer.body).signatures[-1]
    assert cosignature_timestamp(sig) == NOW
    cosigned = parse_note(note).with_signatures([sig]).to_bytes()
    assert open_note(cosigned, [WITNESS_KEY.verifier()]).verified == (sig,)


def test_consistent_growth_is_cosigned() -> None:
    log = Log()
    first = log.grow(300)
    second = log.grow(77)
    request = AddCheckpointRequest(300, tuple(log.proof(300)), second)
    answer = witness().add_checkpoint(request, state_of(first))
    assert answer.status == 200, answer.body
    assert answer.new_state == state_of(second)


def test_same_checkpoint_again_is_cosigned_again() -> None:
    log = Log()
    note = log.grow(5)
    answer = witness().add_checkpoint(AddCheckpointRequest(5, (), note), state_of(note))
    assert answer.status == 200


def test_unknown_origin_is_404() -> None:
    other = Ed25519Signer("elsewhere.example/log", bytes(32))
    note = Checkpoint("elsewhere.example/log", 0, merkle.EMPTY_ROOT).sign([other])
    answer = witness().add_checkpoint(AddCheckpointRequest(0, (), note), None)
    assert answer.status == 404
    assert answer.new_state is None


def test_unsigned_or_badly_signed_checkpoint_is_403() -> None:
    stranger = Ed25519Signer(ORIGIN, bytes(32))  # same name, other key
    answer = witness().add_checkpoint(AddCheckpointRequest(0, (), Log(stranger).grow(3)), None)
    assert answer.status == 403
    note = parse_note(Log().grow(3))
    sig = note.signatures[0]
    bad = type(sig)(sig.name, sig.key_id, bytes(64))
    forged = Note(note.text, (bad,)).to_bytes()
    answer = witness().add_checkpoint(AddCheckpointRequest(0, (), forged), None)
    assert answer.status == 403
    assert answer.new_state is None


def test_old_size_above_checkpoint_size_is_400() -> None:
    answer = witness().add_checkpoint(AddCheckpointRequest(11, (), Log().grow(10)), None)
    assert answer.status == 400


def test_old_size_mismatch_is_409_with_the_known_size() -> None:
    log = Log()
    first = log.grow(10)
    second = log.grow(10)
    answer = witness().add_checkpoint(AddCheckpointRequest(0, (), second), state_of(first))
    assert (answer.status, answer.body, answer.content_type) == (409, b"10\n", CONTENT_TYPE_SIZE)
    assert answer.new_state is None


def test_same_size_with_another_root_is_409() -> None:
    honest, fork = Log(), Log(salt=b"fork ")
    seen = honest.grow(10)
    answer = witness().add_checkpoint(AddCheckpointRequest(10, (), fork.grow(10)), state_of(seen))
    assert answer.status == 409
    assert answer.new_state is None


def test_forked_history_is_422() -> None:
    honest, fork = Log(), Log(salt=b"fork ")
    seen = honest.grow(10)
    fork.grow(10)
    forked = fork.grow(5)  # consistent with the fork, not with what the witness saw
    request = AddCheckpointRequest(10, tuple(fork.proof(10)), forked)
    answer = witness().add_checkpoint(request, state_of(seen))
    assert answer.status == 422
    assert answer.new_state is None
    # a proof from the empty tree must be empty
    request = AddCheckpointRequest(0, tuple(fork.proof(10)), forked)
    assert witness().add_checkpoint(request, None).status == 422


def test_handle_maps_syntax_errors_to_400() -> None:
    w = witness()
    assert w.handle(b"garbage", lambda origin: None).status == 400
    assert w.handle(b"old 0\n\nnot a note\n", lambda origin: None).status == 400
    not_a_checkpoint = sign_note(f"{ORIGIN}\nnot a size\n", [LOG])
    assert w.handle(b"old 0\n\n" + not_a_checkpoint, lambda origin: None).status == 400
    unknown = Checkpoint("elsewhere.example/log", 0, merkle.EMPTY_ROOT).sign([LOG])
    assert w.handle(b"old 0\n\n" + unknown, lambda origin: None).status == 404


class _Server:
    """A witness on loopback; its state lives in a dict guarded by one lock."""

    def __init__(self, w: Witness) -> None:
        self.state: dict[str, WitnessedState] = {}
        lock = threading.Lock()
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/add-checkpoint":
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:  # load, decide and store atomically
                    answer = w.handle(body, server_self.state.get)
                    if answer.new_state and answer.origin:
                        server_self.state[answer.origin] = answer.new_state
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server(witness())
    yield s
    s.close()


def test_client_against_a_witness_over_http(server: _Server) -> None:
    client = WitnessClient(server.url, WITNESS_KEY.verifier(), timeout=5)
    log = Log()
    first = log.grow(20)
    sigs = client.add_checkpoint(0, [], first)
    assert [s.name for s in sigs] == ["witness.example/w1"]
    assert server.state[ORIGIN] == state_of(first)

    second = log.grow(300)
    with pytest.raises(WitnessConflict) as conflict:
        client.add_checkpoint(0, [], second)
    assert conflict.value.known_size == 20
    sigs = client.add_checkpoint(20, log.proof(20), second)
    assert cosignature_timestamp(sigs[0]) == NOW

    fork = Log(salt=b"fork ")
    fork.grow(320)
    forked = fork.grow(1)
    with pytest.raises(WitnessError) as refused:
        client.add_checkpoint(320, fork.proof(320), forked)
    assert refused.value.status == 422
    assert server.state[ORIGIN] == state_of(second)  # the fork did not move the witness


def test_client_checks_the_witness_key(server: _Server) -> None:
    other = CosignatureSigner("witness.example/w1", bytes(32)).verifier()
    client = WitnessClient(server.url, other, timeout=5)
    with pytest.raises(WitnessError) as error:
        client.add_checkpoint(0, [], Log().grow(1))
    assert isinstance(error.value.__cause__, UnknownKey)


def test_client_reports_unreachable_witness() -> None:
    client = WitnessClient("http://127.0.0.1:9/", timeout=1)
    with pytest.raises(WitnessError) as error:
        client.add_checkpoint(0, [], Log().grow(1))
    assert error.value.status == 0
    with pytest.raises(ValueError):
        WitnessClient("file:///etc/passwd")


def test_format_refuses_too_long_proofs() -> None:
    with pytest.raises(ValueError):
        format_add_checkpoint(1, [b"\x00" * 32] * 64, b"x")
