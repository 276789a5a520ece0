"""Files: atomic writes, a lock between processes, retries with back-off, and sha256 of a file.

Atomic writes go to a temporary name beside the target, are fsynced and renamed: a killed
process leaves either the old file or the new one, never a torn one. Temporary names end
in `.tmp` so no reader's glob (`*.parquet`, `*.png`) sees them, and carry the writer's pid
so leftovers of a killed writer can be told from live ones.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def _prefix(path: Path) -> str:
    return f".{path.name}.pid{os.getpid()}."


@functools.cache
def _file_mode() -> int:
    """0o666 less the umask: the mode an ordinary tool creates files with (mkstemp's is 0o600).

    The umask is read once, from /proc where it can be read without changing it (setting and
    restoring it would race with threads creating files meanwhile).
    """
    umask = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces `path` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_prefix(path), suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes (released if the holder dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _writer_alive(tmp: Path) -> bool:
    match = re.search(r"\.pid(\d+)\.", tmp.name)
    if not match:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(*roots: Path) -> int:
    """Delete `.tmp` leftovers of writers that died (kill -9, power loss); returns how many."""
    removed = 0
    for root in roots:
        if not root.is_dir():
            continue
        for tmp in root.rglob(".*.tmp"):
            if not _writer_alive(tmp):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                    removed += 1
    return removed


def retry(
    action: Callable[[], T],
    errors: type[BaseException] | tuple[type[BaseException], ...],
    attempts: int,
    failure: str,
    step_s: float = 0.1,
) -> T:
    """`action()`, tried up to `attempts` times while it raises one of `errors`.

    Waits `step_s`, then twice that, three times... after each failed try (linear back-off);
    when every try failed, RuntimeError(`failure`).
    """
    for attempt in range(attempts):
        try:
            return action()
        except errors:
            time.sleep(step_s * (attempt + 1))
    raise RuntimeError(failure)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks (`hashlib.file_digest`)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
