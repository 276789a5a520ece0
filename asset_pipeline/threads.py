"""A thread per core over a list: for stage work whose heavy parts (Pillow's codecs and
resampling, zlib, numpy, tesseract subprocesses) release the GIL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def thread_map(function: Callable[[T], R], items: Iterable[T], workers: int | None = None, name: str = "") -> list[R]:
    """`function` of each item, in order, on at most `workers` threads (default: one per core,
    never more than there are items). The first exception raised is raised here."""
    items = list(items)
    workers = max(1, min(len(items), workers or os.cpu_count() or 1))
    if workers == 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name or "worker") as pool:
        return list(pool.map(function, items))
