"""A witness as a small HTTP server: its own key, its own state, its own port.

``WitnessServer`` answers ``POST <prefix>/add-checkpoint`` (c2sp.org/tlog-witness) with the
decision of :class:`~shanyraq.ledger.witness.Witness`, and ``GET /`` with a short description
(its verifier key and the logs it follows). The state - the latest checkpoint cosigned per
log - is a JSON file replaced atomically and durably; the load, the check and the store of one
request happen under a lock held across threads and processes, so two concurrent requests can
never roll the state back.

Standard library only, so anyone can run a witness for the platform without installing it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from shanyraq.ledger.cosignature import CosignatureSigner
from shanyraq.ledger.note import Verifier
from shanyraq.ledger.witness import (
    ADD_CHECKPOINT,
    CONTENT_TYPE_TEXT,
    MAX_REQUEST_SIZE,
    Witness,
    WitnessedState,
)


class WitnessStateFile:
    """The witness's memory: ``{origin: {"size": N, "root": base64}}`` in one JSON file."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "state.json"
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive access across this process's threads and other processes."""
        with self._thread_lock:
            fd = os.open(self.directory / "state.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def load_all(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: not a witness state file")
        return data

    def load(self, origin: str) -> WitnessedState | None:
        entry = self.load_all().get(origin)
        if entry is None:
            return None
        return WitnessedState(
            size=int(str(entry["size"])), root_hash=base64.b64decode(str(entry["root"]))
        )

    def store(self, origin: str, state: WitnessedState) -> None:
        data = self.load_all()
        data[origin] = {"size": state.size, "root": base64.b64encode(state.root_hash).decode()}
        temp = self.path.with_name(f".state.{os.getpid()}.{threading.get_ident()}.tmp")
        with temp.open("w") as handle:
            json.dump(data, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(self.path)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class WitnessServer(ThreadingHTTPServer):
    """An HTTP server around one :class:`Witness` and its state file."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        signer: CosignatureSigner,
        logs: Mapping[str, Sequence[Verifier]],
        state_dir: str | Path,
        *,
        prefix: str = "",
        quiet: bool = True,
    ) -> None:
        self.witness = Witness(signer, logs)
        self.state = WitnessStateFile(state_dir)
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.quiet = quiet
        super().__init__(address, _Handler)

    def describe(self) -> bytes:
        lines = [
            f"witness {self.witness.signer.verifier().key_string()}",
            *(f"log {origin}" for origin in sorted(self.witness.logs)),
        ]
        return ("\n".join(lines) + "\n").encode()


class _Handler(BaseHTTPRequestHandler):
    server: WitnessServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)

    def _answer(self, status: int, body: bytes, content_type: str = CONTENT_TYPE_TEXT) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path in ("/", self.server.prefix + "/"):
            self._answer(200, self.server.describe())
        else:
            self._answer(404, b"not found\n")

    def do_POST(self) -> None:
        if self.path != f"{self.server.prefix}/{ADD_CHECKPOINT}":
            self._answer(404, b"not found\n")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._answer(411, b"a Content-Length is required\n")
            return
        if not 0 <= length <= MAX_REQUEST_SIZE:
            self._answer(413, b"request too large\n")
            return
        body = self.rfile.read(length)
        state = self.server.state
        with state.locked():
            response = self.server.witness.handle(body, state.load)
            if response.status == 200 and response.new_state is not None and response.origin:
                state.store(response.origin, response.new_state)
        self._answer(response.status, response.body, response.content_type)


def serve(server: WitnessServer) -> None:
    """Serve until interrupted."""
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()
