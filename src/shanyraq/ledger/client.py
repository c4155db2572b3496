"""Reading a tiled log from where it is published: a URL prefix or a directory.

Both readers return an object's bytes by its path relative to the log's prefix
(``checkpoint``, ``tile/0/x001/234``, ``tile/entries/000.p/7``) and raise
:class:`~shanyraq.ledger.errors.ObjectNotFound` for a missing one, so they plug into
:class:`~shanyraq.ledger.log.TiledLog` and :func:`~shanyraq.ledger.log.audit`.
"""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from shanyraq.ledger.errors import LedgerError, ObjectNotFound

MAX_OBJECT_SIZE = 256 * 0xFFFF + 256 * 2  # the largest possible entry bundle


class HttpReader:
    """Fetch objects below a URL prefix (``https://host/ledger/registers/``)."""

    def __init__(self, prefix: str, *, timeout: float = 10.0) -> None:
        if not prefix.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {prefix!r}")
        self.prefix = prefix.rstrip("/") + "/"
        self.timeout = timeout

    def __call__(self, path: str) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.prefix + path, headers={"Accept-Encoding": "gzip, identity"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                data: bytes = response.read(MAX_OBJECT_SIZE + 1)
                encoding = response.headers.get("Content-Encoding", "")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise ObjectNotFound(path) from None
            raise LedgerError(f"GET {self.prefix}{path}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise LedgerError(f"GET {self.prefix}{path}: {exc}") from None
        if encoding == "gzip":
            data = gzip.decompress(data)
        if len(data) > MAX_OBJECT_SIZE:
            raise LedgerError(f"{path}: larger than any tile or bundle can be")
        return data


class DirectoryReader:
    """Read objects from a directory laid out like the URL paths (a mirror or the log's own)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __call__(self, path: str) -> bytes:
        if ".." in path.split("/") or path.startswith("/"):
            raise LedgerError(f"not an object path: {path!r}")
        try:
            return (self.root / path).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(path) from None


def reader_for(location: str) -> Callable[[str], bytes]:
    """An :class:`HttpReader` for a URL, a :class:`DirectoryReader` for anything else."""
    if location.startswith(("http://", "https://")):
        return HttpReader(location)
    return DirectoryReader(location)
