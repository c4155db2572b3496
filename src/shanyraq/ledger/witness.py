"""The witness protocol (c2sp.org/tlog-witness): ``add-checkpoint`` requests and answers.

A log asks a witness to cosign a new checkpoint by POSTing to ``<prefix>/add-checkpoint``::

    old <size the witness last cosigned>
    <consistency proof hashes, one base64 line each, at most 63>
    <empty line>
    <the signed checkpoint note>

:class:`Witness` holds the decision logic. It is pure: the caller loads the witness's stored
state for the origin, calls :meth:`Witness.add_checkpoint`, and on status 200 stores
:attr:`WitnessResponse.new_state` before answering. The load, check and store must happen
under one lock or database transaction per origin, so two concurrent requests cannot roll the
state back. :class:`WitnessClient` is the log's side, over HTTP.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from shanyraq.ledger.checkpoint import Checkpoint, parse_checkpoint, parse_decimal
from shanyraq.ledger.cosignature import CosignatureSigner, CosignatureVerifier
from shanyraq.ledger.errors import (
    BadSignature,
    LedgerError,
    MalformedCheckpoint,
    MalformedNote,
    MalformedRequest,
    ProofError,
    UnknownKey,
    WitnessConflict,
    WitnessError,
)
from shanyraq.ledger.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from shanyraq.ledger.note import (
    Note,
    NoteSignature,
    Verifier,
    b64decode_strict,
    b64encode,
    parse_note,
    parse_signature_lines,
    verify_note,
)

ADD_CHECKPOINT = "add-checkpoint"
"""Path of the add-checkpoint endpoint below the witness's submission prefix."""

CONTENT_TYPE_SIZE = "text/x.tlog.size"
"""Content type of a 409 answer, whose body is the witness's latest cosigned size."""

CONTENT_TYPE_TEXT = "text/plain; charset=utf-8"
"""Content type of the other answers."""

MAX_PROOF_LINES = 63
"""Most consistency proof lines a request may carry."""

MAX_REQUEST_SIZE = 256 * 1024
"""Largest request body a witness accepts, in bytes."""


@dataclass(frozen=True)
class AddCheckpointRequest:
    """An add-checkpoint request: old size, consistency proof, and the checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def to_bytes(self) -> bytes:
        """Serialise the request body."""
        return format_add_checkpoint(self.old_size, self.proof, self.checkpoint)


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], checkpoint: bytes) -> bytes:
    """Return the body of an add-checkpoint request."""
    if old_size < 0:
        raise ValueError(f"negative old size {old_size}")
    if len(proof) > MAX_PROOF_LINES:
        raise ValueError(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
    lines = [f"old {old_size}", *(b64encode(p) for p in proof), ""]
    return "".join(line + "\n" for line in lines).encode("ascii") + checkpoint


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Parse an add-checkpoint body strictly; raise :class:`MalformedRequest`."""
    if len(body) > MAX_REQUEST_SIZE:
        raise MalformedRequest(f"request body is larger than {MAX_REQUEST_SIZE} bytes")
    pos = 0
    header: list[str] = []
    while True:
        end = body.find(b"\n", pos)
        if end < 0:
            raise MalformedRequest("request ends before the empty line")
        raw = body[pos:end]
        pos = end + 1
        if not raw:
            break
        if len(header) > MAX_PROOF_LINES:
            raise MalformedRequest(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            header.append(raw.decode("ascii"))
        except UnicodeDecodeError as exc:
            raise MalformedRequest("request header lines are not ASCII") from exc
    if not header or not header[0].startswith("old "):
        raise MalformedRequest("the first line must be 'old <size>'")
    try:
        old_size = parse_decimal(header[0][4:], "old size")
    except ValueError as exc:
        raise MalformedRequest(str(exc)) from exc
    proof: list[bytes] = []
    for line in header[1:]:
        try:
            value = b64decode_strict(line)
        except ValueError as exc:
            raise MalformedRequest(f"proof line: {exc}") from exc
        if len(value) != HASH_SIZE:
            raise MalformedRequest(f"proof hash is {len(value)} bytes, not {HASH_SIZE}")
        proof.append(value)
    checkpoint = body[pos:]
    if not checkpoint:
        raise MalformedRequest("request has no checkpoint")
    return AddCheckpointRequest(old_size=old_size, proof=tuple(proof), checkpoint=checkpoint)


@dataclass(frozen=True)
class WitnessedState:
    """The latest checkpoint a witness cosigned for one log."""

    size: int
    root_hash: bytes


@dataclass(frozen=True)
class WitnessResponse:
    """A witness's answer, with the state to store first when ``status`` is 200."""

    status: int
    body: bytes
    content_type: str
    origin: str | None = None
    checkpoint: Checkpoint | None = None
    new_state: WitnessedState | None = None


def _text(status: int, message: str, checkpoint: Checkpoint | None = None) -> WitnessResponse:
    origin = checkpoint.origin if checkpoint else None
    body = (message + "\n").encode("utf-8")
    return WitnessResponse(status, body, CONTENT_TYPE_TEXT, origin, checkpoint)


class Witness:
    """A witness: its cosigning key and the logs (origin -> trusted log keys) it follows."""

    def __init__(
        self,
        signer: CosignatureSigner,
        logs: Mapping[str, Sequence[Verifier]],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self._clock = clock

    def handle(
        self, body: bytes, load_state: Callable[[str], WitnessedState | None]
    ) -> WitnessResponse:
        """Parse a request body and answer it (``load_state`` is called for known origins)."""
        try:
            request = parse_add_checkpoint(body)
            note = parse_note(request.checkpoint)
            checkpoint = parse_checkpoint(note.text)
        except (MalformedRequest, MalformedNote, MalformedCheckpoint) as exc:
            return _text(400, f"bad request: {exc}")
        if checkpoint.origin not in self.logs:
            return _text(404, "unknown log")
        return self._decide(request, note, checkpoint, load_state(checkpoint.origin))

    def add_checkpoint(
        self, request: AddCheckpointRequest, state: WitnessedState | None
    ) -> WitnessResponse:
        """Answer a parsed request given the stored state for its origin (``None``: never seen)."""
        try:
            note = parse_note(request.checkpoint)
            checkpoint = parse_checkpoint(note.text)
        except (MalformedNote, MalformedCheckpoint) as exc:
            return _text(400, f"bad request: {exc}")
        if checkpoint.origin not in self.logs:
            return _text(404, "unknown log")
        return self._decide(request, note, checkpoint, state)

    def _decide(
        self,
        request: AddCheckpointRequest,
        note: Note,
        checkpoint: Checkpoint,
        state: WitnessedState | None,
    ) -> WitnessResponse:
        origin = checkpoint.origin
        try:
            verify_note(note, self.logs[origin])
        except (UnknownKey, BadSignature) as exc:
            return _text(403, f"checkpoint signature: {exc}", checkpoint)
        old, new = request.old_size, checkpoint.size
        if old > new:
            message = f"old size {old} is larger than the checkpoint size {new}"
            return _text(400, message, checkpoint)
        known_size = state.size if state else 0
        if old != known_size:
            body = f"{known_size}\n".encode("ascii")
            return WitnessResponse(409, body, CONTENT_TYPE_SIZE, origin, checkpoint)
        old_root = state.root_hash if state else EMPTY_ROOT
        if old == new and old and checkpoint.root_hash != old_root:
            return _text(409, "same size as the cosigned checkpoint but another root", checkpoint)
        try:
            verify_consistency(old, new, request.proof, old_root, checkpoint.root_hash)
        except ProofError as exc:
            return _text(422, f"consistency proof: {exc}", checkpoint)
        timestamp = int(self._clock())
        line = self.signer.cosign(note.text, timestamp).line()
        return WitnessResponse(
            200,
            line.encode("utf-8"),
            CONTENT_TYPE_TEXT,
            origin,
            checkpoint,
            WitnessedState(size=new, root_hash=checkpoint.root_hash),
        )


class WitnessClient:
    """Asks one witness to cosign checkpoints, over HTTP."""

    def __init__(
        self,
        url: str,
        verifier: CosignatureVerifier | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"witness URL must be http(s): {url!r}")
        self.url = url.rstrip("/") + "/" + ADD_CHECKPOINT
        self.verifier = verifier
        self.timeout = timeout

    def add_checkpoint(
        self, old_size: int, proof: Sequence[bytes], checkpoint: bytes
    ) -> tuple[NoteSignature, ...]:
        """Submit a checkpoint; return the witness's cosignatures (verified if it has a key).

        Raises :class:`WitnessConflict` (with the witness's size) on 409 and
        :class:`WitnessError` on any other failure.
        """
        body = format_add_checkpoint(old_size, proof, checkpoint)
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url, data=body, method="POST", headers={"Content-Type": CONTENT_TYPE_TEXT}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer: bytes = response.read(MAX_REQUEST_SIZE + 1)
        except urllib.error.HTTPError as exc:
            text = exc.read(1024).decode("utf-8", "replace")
            if exc.code == 409:
                known: int | None = None
                if exc.headers.get_content_type() == CONTENT_TYPE_SIZE and text.endswith("\n"):
                    try:
                        known = parse_decimal(text[:-1], "size")
                    except ValueError:
                        known = None
                raise WitnessConflict(known, text.strip()) from exc
            raise WitnessError(exc.code, text.strip()) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise WitnessError(0, f"cannot reach {self.url}: {exc}") from exc
        return self._cosignatures(answer, checkpoint)

    def _cosignatures(self, answer: bytes, checkpoint: bytes) -> tuple[NoteSignature, ...]:
        try:
            sigs = parse_signature_lines(answer.decode("utf-8"))
            if self.verifier is None:
                return sigs
            text = parse_note(checkpoint).text
            verified = verify_note(Note(text, sigs), [self.verifier])
        except (UnicodeDecodeError, LedgerError) as exc:
            raise WitnessError(200, f"unusable cosignature response: {exc}") from exc
        return verified.verified
