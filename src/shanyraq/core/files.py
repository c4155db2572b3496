"""Stores of files named by their content, and what a file's first bytes say it is.

Files are kept outside the static and media roots (attached files under
``settings.ATTACHMENTS_ROOT``, issued documents under ``settings.DOCUMENTS_ROOT``), so the web
server never serves them: only the views do, to those allowed to read them. Each file is
named by the SHA-256 of its content (``<root>/ab/ab12...``), so the same file stored twice is
kept once and a stored file cannot change under its name.

A file arrives as a stream of chunks (a Django ``UploadedFile``): it is written to a temporary
file in the root and counted as it comes, so an oversize file is refused after reading one byte
more than allowed, and nothing is kept of it. Only then is it fsynced and renamed into place,
so a file under its digest is always whole. Committing a file and deleting one happen under the
store's lock, so a file being attached again is never deleted by a removal of its twin.

This module knows nothing of applications or documents: it imports no models.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

__all__ = [
    "KIND_NAMES",
    "SUPPORTED_TYPES",
    "CappedUploadHandler",
    "EmptyFile",
    "FileStore",
    "FileTooLarge",
    "Received",
    "attachment_store",
    "clean_filename",
    "extension_of",
    "sniff",
]

# The types a file may be, with the name endings each is known by. A form's field narrows
# them (``ui.attachments.<field>.accept``, checked by ``catalog.form_schema``, which keeps the
# same list).
SUPPORTED_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/png": ("png",),
}
KIND_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
# The signatures at the start of each supported type.
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
HEAD_BYTES = 16
CHUNK = 64 * 1024
MAX_NAME = 200
_DIGEST = re.compile(r"[0-9a-f]{64}")
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def sniff(head: bytes) -> str | None:
    """The supported type whose signature ``head`` starts with, or None."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    return None


def extension_of(name: str) -> str:
    """A file name's ending, lower case, without the dot ("" without one)."""
    stem, dot, ending = name.rpartition(".")
    return ending.lower() if dot and stem else ""


def clean_filename(name: str) -> str:
    """A name a person gave a file, safe to show and to send back in a header: no folders, no
    control or quoting characters, at most ``MAX_NAME`` characters with its ending kept."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(_UNSAFE_IN_NAME.sub(" ", name).split()).strip(". ")
    name = "".join(ch for ch in name if not "\ud800" <= ch <= "\udfff")
    if len(name) > MAX_NAME:
        stem, dot, ending = name.rpartition(".")
        ending = ending[:10] if dot else ""
        name = stem[: MAX_NAME - len(ending) - 1] + "." + ending if ending else name[:MAX_NAME]
    return name or "file"


class FileTooLarge(Exception):
    """The file has more bytes than allowed; nothing of it was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class EmptyFile(Exception):
    """The file has no content; nothing was kept."""


# Committing and deleting files take the store's lock: a file lock on ``<root>/.lock`` for
# other processes, made re-entrant within a thread (a removal's clean-up may run while the
# thread that committed a file still holds the lock).
_held = threading.local()


@dataclass
class Received:
    """A file read into the store but not yet under its name: ``commit`` it or ``discard`` it."""

    store: FileStore
    temp: Path
    sha256: str
    size: int
    head: bytes
    committed: bool = field(default=False)

    def commit(self) -> str:
        """Put the file under its digest (call with the store locked); returns the digest."""
        target = self.store.path(self.sha256)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        if target.exists():
            self.temp.unlink(missing_ok=True)  # the same content is stored already
        else:
            os.replace(self.temp, target)
            _fsync_dir(target.parent)
        self.committed = True
        return self.sha256

    def discard(self) -> None:
        if not self.committed:
            self.temp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class FileStore:
    """Content-addressed files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _DIGEST.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256

    def receive(self, chunks: Iterable[bytes], *, max_bytes: int) -> Received:
        """Read a file into a temporary file of the store, refusing it once it passes
        ``max_bytes`` (``FileTooLarge``) or when it turns out empty (``EmptyFile``)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        temp = Path(name)
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with os.fdopen(descriptor, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(max_bytes)
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
                if size == 0:
                    raise EmptyFile
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return Received(self, temp, digest.hexdigest(), size, head)

    def open(self, sha256: str) -> BinaryIO:
        """The stored file for reading; ``FileNotFoundError`` when it is not there."""
        return self.path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        """Delete a stored file (call with the store locked, once nothing refers to it)."""
        self.path(sha256).unlink(missing_ok=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        depth: dict[Path, int] = _held.__dict__.setdefault("depth", {})
        key = self.root.resolve()
        if depth.get(key):
            depth[key] += 1
            try:
                yield
            finally:
                depth[key] -= 1
            return
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            depth[key] = 1
            try:
                yield
            finally:
                depth[key] = 0
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def attachment_store() -> FileStore:
    return FileStore(Path(settings.ATTACHMENTS_ROOT))


class CappedUploadHandler(FileUploadHandler):
    """Keeps at most ``ATTACHMENT_MAX_BYTES`` + 1 bytes of any uploaded file.

    Django would otherwise spool a whole upload, however large, to a temporary file before a
    view could look at it. The bytes past the cap are dropped as they arrive; the file the view
    gets is then one byte over the cap, which the store refuses as too large. Put first in
    ``FILE_UPLOAD_HANDLERS``.
    """

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        allowed = int(settings.ATTACHMENT_MAX_BYTES) + 1 - start
        if allowed <= 0:
            return None
        return raw_data if len(raw_data) <= allowed else raw_data[:allowed]

    def file_complete(self, file_size: int) -> None:
        return None
