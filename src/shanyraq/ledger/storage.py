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
_OPEN_FILES = 256  # files kept open at once while a group is flushed


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

_NO_LINK_ERRNOS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class FileSystemStore:
    """A :class:`Storage` in a directory, one file per object, written crash-safely.

    Each object's bytes go to a file without a name (``O_TMPFILE``; a named temporary file
    where that is unsupported), are flushed to disk, and only then is the file linked to its
    final name - a link fails rather than replaces if the name exists - and the directories are
    flushed. A crash therefore never leaves a partly written object under its final name. Large
    batches are flushed with one filesystem-wide sync instead of one per file. With
    ``durable=False`` nothing is flushed (tests, throw-away logs).
    """

    def __init__(self, root: str | os.PathLike[str], *, durable: bool = True) -> None:
        self.root = Path(root)
        self.durable = durable
        self.root.mkdir(parents=True, exist_ok=True)
        self._counter = 0
        self._lock = threading.Lock()
        self._known_dirs: set[Path] = set()
        self._anonymous = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")

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

    def _open_unnamed(self, final: Path) -> tuple[int, Path | None]:
        """Open a file to fill for ``final``: an unnamed one if possible, else a named temp."""
        if self._anonymous:
            try:
                return os.open(final.parent, os.O_TMPFILE | os.O_WRONLY, 0o644), None
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
                self._anonymous = False  # this filesystem has no O_TMPFILE
        temp = self._temp_name(final)
        return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), temp

    def write(self, objects: Mapping[str, bytes]) -> None:
        """Durably store immutable objects; see the class documentation for the steps."""
        todo: list[tuple[str, Path, bytes]] = []
        for path, data in objects.items():
            final = self._file(path)
            if not self._same_as_existing(final, data, path):
                todo.append((path, final, data))
        if not todo:
            return
        batch = self.durable and len(todo) > _BATCH_SYNC_THRESHOLD
        touched: set[Path] = set()
        try:
            for start in range(0, len(todo), _OPEN_FILES):
                self._write_group(todo[start : start + _OPEN_FILES], batch, touched)
            if self.durable:
                if batch:
                    self._sync_all()
                else:
                    for directory in sorted(touched):
                        self._sync_dir(directory)
        except OSError as exc:
            raise StorageError(f"cannot write to {self.root}: {exc}") from exc

    def _write_group(
        self, group: list[tuple[str, Path, bytes]], batch: bool, touched: set[Path]
    ) -> None:
        """Fill, flush and link a group of files (kept open in between: few enough for fds)."""
        opened: list[tuple[str, Path, bytes, int, Path | None]] = []
        dir_fds: dict[Path, int] = {}
        try:
            for path, final, data in group:
                self._make_dirs(final.parent, touched)
                fd, temp = self._open_unnamed(final)
                opened.append((path, final, data, fd, temp))
                _write_all(fd, data)
                if self.durable and not batch:
                    os.fsync(fd)
            if batch:
                self._sync_all()
            for path, final, data, fd, temp in opened:
                if final.parent not in dir_fds:
                    dir_fds[final.parent] = os.open(final.parent, os.O_RDONLY)
                self._publish(path, final, data, fd, temp, dir_fds[final.parent])
                touched.add(final.parent)
        finally:
            for _, _, _, fd, temp in opened:
                os.close(fd)
                if temp is not None:
                    temp.unlink(missing_ok=True)
            for dir_fd in dir_fds.values():
                os.close(dir_fd)

    def _publish(
        self, path: str, final: Path, data: bytes, fd: int, temp: Path | None, dir_fd: int
    ) -> None:
        """Give a flushed file its final name, never replacing an existing one."""
        try:
            if temp is None:  # linkat(AT_SYMLINK_FOLLOW) names the unnamed file
                os.link(f"/proc/self/fd/{fd}", final.name, dst_dir_fd=dir_fd, follow_symlinks=True)
            else:
                os.link(temp, final)
        except FileExistsError:
            self._same_as_existing(final, data, path)
        except OSError as exc:
            if exc.errno not in _NO_LINK_ERRNOS:
                raise
            self._anonymous = False
            self._rename_into_place(path, final, data, temp)

    def _rename_into_place(self, path: str, final: Path, data: bytes, temp: Path | None) -> None:
        """Fallback where hard links are refused: a named temporary file renamed into place,
        after checking the name is free (one integrator per log makes that check safe)."""
        if temp is None:
            temp = self._temp_name(final)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                _write_all(fd, data)
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        try:
            if not self._same_as_existing(final, data, path):
                os.rename(temp, final)
        finally:
            temp.unlink(missing_ok=True)

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
