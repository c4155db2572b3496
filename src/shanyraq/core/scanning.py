"""Malware scanning of the files people send, behind an adapter.

``ATTACHMENT_SCANNER`` chooses the scanner:

- ``clamd://HOST:PORT`` or ``clamd:///path/to/clamd.ctl``: ClamAV's daemon, over TCP or a
  Unix socket. The file is streamed to it (``INSTREAM``); clamd's ``StreamMaxLength`` must be
  at least ``ATTACHMENT_MAX_BYTES``, or it answers with an error and the file is refused.
- ``fake``: ``FakeScanner``, a fake for the demo and the tests. It knows one "virus", the
  EICAR anti-virus test file, and finds it anywhere in a file.
- empty (the default): files are not scanned. ``manage.py check --deploy`` warns about it.

A scanner that cannot give an answer (clamd down, a timeout, an error) raises
``ScannerUnavailable``: a file that was not scanned is not taken.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "EICAR",
    "ClamdScanner",
    "FakeScanner",
    "Scanner",
    "ScannerUnavailable",
    "Verdict",
    "attachment_scanner",
    "scanner_from",
]

CHUNK = 64 * 1024
# The EICAR anti-virus test file: harmless, and every scanner reports it as a virus.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@dataclass(frozen=True)
class Verdict:
    """What a scanner found: nothing (``clean``), or the name of what it found."""

    clean: bool
    threat: str = ""


class ScannerUnavailable(Exception):
    """The scanner gave no answer: the file cannot be taken now."""


class Scanner(Protocol):
    name: str

    def scan(self, path: Path) -> Verdict: ...


class ClamdScanner:
    """ClamAV's daemon, asked with ``INSTREAM``: the file in chunks, each after its length
    as four bytes (big-endian), then a chunk of length 0; clamd answers ``stream: OK`` or
    ``stream: <name> FOUND`` (or an error), ended by a zero byte."""

    name = "clamd"

    def __init__(self, address: str | tuple[str, int], *, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        if isinstance(self.address, str):
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.settimeout(self.timeout)
            connection.connect(self.address)
            return connection
        return socket.create_connection(self.address, timeout=self.timeout)

    def scan(self, path: Path) -> Verdict:
        try:
            with self._connect() as connection, open(path, "rb") as file:
                connection.sendall(b"zINSTREAM\0")
                while chunk := file.read(CHUNK):
                    connection.sendall(struct.pack(">I", len(chunk)) + chunk)
                connection.sendall(struct.pack(">I", 0))
                reply = _read_reply(connection)
        except OSError as error:
            raise ScannerUnavailable(f"clamd at {self.address}: {error}") from error
        return _verdict(reply)


def _read_reply(connection: socket.socket) -> str:
    reply = b""
    while not reply.endswith(b"\0"):
        part = connection.recv(4096)
        if not part:
            break
        reply += part
        if len(reply) > 4096:
            raise ScannerUnavailable("clamd's answer is too long")
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def _verdict(reply: str) -> Verdict:
    """``stream: OK`` → clean; ``stream: Eicar-Signature FOUND`` → that threat; else an error."""
    result = reply.split(":", 1)[1].strip() if ":" in reply else reply
    if result == "OK":
        return Verdict(clean=True)
    if result.endswith(" FOUND"):
        return Verdict(clean=False, threat=result.removesuffix(" FOUND").strip())
    raise ScannerUnavailable(f"clamd answered: {reply or 'nothing'}")


class FakeScanner:
    """A FAKE scanner for the demo and the tests: it finds only the EICAR test file."""

    name = "fake"

    def scan(self, path: Path) -> Verdict:
        tail = b""
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK):
                if EICAR in tail + chunk:
                    return Verdict(clean=False, threat="Eicar-Test-Signature")
                tail = chunk[-len(EICAR) :]
        return Verdict(clean=True)


def scanner_from(setting: str) -> Scanner | None:
    """The scanner an ``ATTACHMENT_SCANNER`` value names (see the module), or ``None``."""
    setting = setting.strip()
    if not setting:
        return None
    if setting == "fake":
        return FakeScanner()
    parts = urlsplit(setting)
    if parts.scheme == "clamd":
        if parts.hostname:
            return ClamdScanner((parts.hostname, parts.port or 3310))
        if parts.path:
            return ClamdScanner(parts.path)
    raise ImproperlyConfigured(
        f"ATTACHMENT_SCANNER={setting!r}: use clamd://HOST:PORT, clamd:///path/to/socket, "
        "fake, or nothing."
    )


@lru_cache(maxsize=4)
def _scanner(setting: str) -> Scanner | None:
    return scanner_from(setting)


def attachment_scanner() -> Scanner | None:
    """The scanner the settings choose for attached files, or ``None`` (not scanned)."""
    return _scanner(settings.ATTACHMENT_SCANNER)
