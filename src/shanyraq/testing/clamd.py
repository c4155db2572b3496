"""A FAKE ClamAV daemon for tests: it speaks clamd's ``INSTREAM`` on a loopback socket.

It keeps what each scan sent (the file, put together from its chunks) and answers as it is
told: ``OK``, a threat ``FOUND`` when the file holds the EICAR test string, an error, or
nothing at all (a daemon that hangs). It serves one connection at a time and stops with the
``with`` block.
"""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path
from types import TracebackType

from shanyraq.core.scanning import EICAR


class FakeClamd:
    def __init__(self, *, unix_path: Path | None = None, answer: str | None = None) -> None:
        """``answer``: what to answer every scan (``None``: OK or the EICAR finding;
        ``""``: no answer, the connection left open until the scanner gives up)."""
        self.unix_path = unix_path
        self.answer = answer
        self.received: list[bytes] = []
        self.commands: list[bytes] = []
        if unix_path is None:
            self._listener = socket.create_server(("127.0.0.1", 0))
        else:
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(str(unix_path))
            self._listener.listen()
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def setting(self) -> str:
        """The ``ATTACHMENT_SCANNER`` value that points at this daemon."""
        if self.unix_path is not None:
            return f"clamd://{self.unix_path}"
        host, port = self._listener.getsockname()[:2]
        return f"clamd://{host}:{port}"

    def __enter__(self) -> FakeClamd:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                try:
                    self._scan(connection)
                except OSError:
                    continue

    def _read(self, connection: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            part = connection.recv(size - len(data))
            if not part:
                raise ConnectionError("the scanner hung up")
            data += part
        return data

    def _scan(self, connection: socket.socket) -> None:
        command = b""
        while not command.endswith(b"\0"):
            command += self._read(connection, 1)
        self.commands.append(command)
        content = b""
        while size := struct.unpack(">I", self._read(connection, 4))[0]:
            content += self._read(connection, size)
        self.received.append(content)
        if self.answer == "":
            self._stop.wait(10)  # never answers
            return
        answer = self.answer
        if answer is None:
            answer = "stream: Eicar-Signature FOUND" if EICAR in content else "stream: OK"
        connection.sendall(answer.encode() + b"\0")
