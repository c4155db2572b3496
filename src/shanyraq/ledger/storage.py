"""Where a log keeps its objects: immutable tiles and bundles, and one mutable checkpoint.

:class:`Storage` is the interface the integrator and the readers use. Immutable objects are
written in batches, are durable when :meth:`Storage.write` returns, and are never replaced: a
second write of the same bytes is a no-op (so an interrupted run can simply be repeated) and a
write of different bytes raises :class:`StorageConflict`. The checkpoint is replaced atomically.

:class:`FileSystemStore` keeps the objects as files laid out exactly as the URL paths, so a
plain web server can serve the directory. :class:`MemoryStore` is for tests and tools.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol

from shanyraq.ledger.errors import ObjectNotFound, StorageConflict, StorageError

CHECKPOINT_PATH = "checkpoint"
"""Path of the checkpoint, relative to the log's prefix."""

_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._]*")
_BATCH_SYNC_THRESHOLD = 32  # above this many files, one filesystem sync beats one fsync each


class Storage(Protocol):
    """Storage of one log's objects, addressed by their URL paths (``tile/0/000``, ...)."""

    def read(self, path: str) -> bytes:
        """Return an object's bytes; raise :class:`ObjectNotFound` if it does not exist."""
        ...

    def write(self, objects: Mapping[str, bytes]) -> None:
        """Durably store immutable objects; identical rewrites are no-ops, others conflict."""
        ...

    def read_checkpoint(self) -> bytes | None:
        """Return the current checkpoint, or ``None`` before the first one."""
        ...

    def write_checkpoint(self, data: bytes) -> None:
        """Durably and atomically replace the checkpoint."""
        ...


def check_path(path: str) -> None:
    """Refuse paths that are absolute, climb out of the store, or are not object paths."""
    parts = path.split("/")
    if path == CHECKPOINT_PATH or not all(_COMPONENT.fullmatch(p) for p in parts):
        raise StorageError(f"not an object path: {path[:80]!r}")


class MemoryStore:
    """A :class:`Storage` held in a dictionary."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.checkpoint: bytes | None = None
        self._lock = threading.Lock()

    def read(self, path: str) -> bytes:
        """Return an object's bytes."""
        try:
            return self.objects[path]
        except KeyError:
            raise ObjectNotFound(path) from None

    def write(self, objects: Mapping[str, bytes]) -> None:
        """Store immutable objects (all or none)."""
        with self._lock:
            for path, data in objects.items():
                check_path(path)
                old = self.objects.get(path)
                if old is not None and old != data:
                    raise StorageConflict(f"{path} exists with different bytes")
            self.objects.update({p: bytes(d) for p, d in objects.items()})

    def read_checkpoint(self) -> bytes | None:
        """Return the current checkpoint."""
        return self.checkpoint

    def write_checkpoint(self, data: bytes) -> None:
        """Replace the checkpoint."""
        self.checkpoint = bytes(data)


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return func


_syncfs = _load_syncfs()


class FileSystemStore:
    """A :class:`Storage` in a directory, one file per object, written crash-safely.

    Each object is written to a temporary file, flushed to disk, then hard-linked to its final
    name (which fails rather than replaces if the name exists) and the directories are flushed.
    With ``durable=False`` nothing is flushed (tests, throw-away logs).
    """

    def __init__(self, root: str | os.PathLike[str], *, durable: bool = True) -> None:
        self.root = Path(root)
        self.durable = durable
        self.root.mkdir(parents=True, exist_ok=True)
        self._counter = 0
        self._lock = threading.Lock()
        self._known_dirs: set[Path] = set()

    def _file(self, path: str) -> Path:
        check_path(path)
        return self.root / path

    def read(self, path: str) -> bytes:
        """Return an object's bytes."""
        try:
            return self._file(path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(path) from None

    def __contains__(self, path: str) -> bool:
        return self._file(path).is_file()

    def _temp_name(self, final: Path) -> Path:
        with self._lock:
            self._counter += 1
            n = self._counter
        return final.with_name(f"{final.name}.tmp-{os.getpid()}-{threading.get_ident()}-{n}")

    def _make_dirs(self, directory: Path, touched: set[Path]) -> None:
        if directory in self._known_dirs:
            return
        missing: list[Path] = []
        d = directory
        while not d.exists():
            missing.append(d)
            d = d.parent
        for m in reversed(missing):
            with contextlib.suppress(FileExistsError):
                m.mkdir()
            touched.add(m.parent)
        self._known_dirs.add(directory)

    def _same_as_existing(self, final: Path, data: bytes, path: str) -> bool:
        try:
            existing = final.read_bytes()
        except FileNotFoundError:
            return False
        if existing != data:
            raise StorageConflict(f"{path} exists with different bytes")
        return True

    def _sync_all(self) -> None:
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if _syncfs is None or _syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    @staticmethod
    def _sync_dir(directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def write(self, objects: Mapping[str, bytes]) -> None:
        """Durably store immutable objects; see the class documentation for the steps."""
        pending: list[tuple[str, Path, Path, bytes]] = []
        touched: set[Path] = set()
        batch = self.durable and len(objects) > _BATCH_SYNC_THRESHOLD
        try:
            for path, data in objects.items():
                final = self._file(path)
                if self._same_as_existing(final, data, path):
                    continue
                self._make_dirs(final.parent, touched)
                temp = self._temp_name(final)
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                pending.append((path, temp, final, data))
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    if self.durable and not batch:
                        os.fsync(fd)
                finally:
                    os.close(fd)
            if batch and pending:
                self._sync_all()
            for path, temp, final, data in pending:
                self._publish(path, temp, final, data)
                touched.add(final.parent)
            if self.durable and pending:
                if batch:
                    self._sync_all()
                else:
                    for directory in sorted(touched):
                        self._sync_dir(directory)
        except OSError as exc:
            raise StorageError(f"cannot write to {self.root}: {exc}") from exc
        finally:
            for _, temp, _, _ in pending:
                temp.unlink(missing_ok=True)

    def _publish(self, path: str, temp: Path, final: Path, data: bytes) -> None:
        try:
            os.link(temp, final)
        except FileExistsError:
            self._same_as_existing(final, data, path)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            # no hard links here: fall back to a rename, after checking the name is free
            if not self._same_as_existing(final, data, path):
                os.rename(temp, final)

    def read_checkpoint(self) -> bytes | None:
        """Return the current checkpoint, or ``None``."""
        try:
            return (self.root / CHECKPOINT_PATH).read_bytes()
        except FileNotFoundError:
            return None

    def write_checkpoint(self, data: bytes) -> None:
        """Atomically replace the checkpoint (write, flush, rename, flush directory)."""
        final = self.root / CHECKPOINT_PATH
        temp = self._temp_name(final)
        try:
            with open(temp, "xb") as fh:
                fh.write(data)
                fh.flush()
                if self.durable:
                    os.fsync(fh.fileno())
            os.replace(temp, final)
            if self.durable:
                self._sync_dir(self.root)
        except OSError as exc:
            raise StorageError(f"cannot write the checkpoint in {self.root}: {exc}") from exc
        finally:
            temp.unlink(missing_ok=True)

    def iter_paths(self) -> Iterator[str]:
        """Yield the path of every stored object (temporary files excluded), unordered."""
        for dirpath, _dirs, files in os.walk(self.root):
            rel = Path(dirpath).relative_to(self.root)
            for name in files:
                if ".tmp-" in name or (name == CHECKPOINT_PATH and rel == Path(".")):
                    continue
                yield (rel / name).as_posix()
