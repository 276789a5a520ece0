"""A full disk, told apart from every other failure wherever it surfaces.

A full disk (or quota) is never the input's fault and never a model's: no stage may
treat it as a reason to fall back to another model or to mark a draft as failed. It
fails the run with one documented line, `disk_full_line`, and exit status 2.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# How a full disk reads once it is only text: OSError's strerror, SQLite's (the Dagster instance).
DISK_FULL_TEXTS = ("No space left on device", "Disk quota exceeded", "database or disk is full", "disk I/O error")


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc`, or anything in its chain of causes, is a full disk."""
    seen: BaseException | None = exc
    for _ in range(20):
        if seen is None:
            return False
        if getattr(seen, "errno", None) in DISK_FULL_ERRNOS or mentions_disk_full(str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def mentions_disk_full(text: str) -> bool:
    """Whether an error's text (a failed Dagster step's message, say) reports a full disk."""
    return any(marker in text for marker in DISK_FULL_TEXTS)


def disk_full_line(root: Path) -> str:
    """The one line a run that ran out of space ends with (documented in SECURITY.md)."""
    free = shutil.disk_usage(root).free if root.exists() else 0
    return (
        f"error: no space left on device under {root} ({free // 1024} KiB free); nothing is half-written "
        "and earlier publications are intact: free space and run again"
    )
