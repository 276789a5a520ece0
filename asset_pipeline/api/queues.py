"""Back-pressure: a bounded queue per route, answered with 429 when full.

Each route runs its work on its own few threads with a bounded number of requests waiting;
a request past that bound is refused at once with `Retry-After` rather than slowing every
client down. Real-time renders get one worker (a loaded pipeline is not thread-safe, and the
stages spread over every core themselves); batch runs one (runs queue in Dagster's run order).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from asset_pipeline.api.problems import ApiProblem


class RouteQueue:
    def __init__(self, name: str, workers: int, depth: int, retry_after_s: int = 1):
        self.name, self.capacity, self.retry_after_s = name, workers + depth, retry_after_s
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"api-{name}")

    def submit(self, work: Callable[..., Any], *args: Any) -> Future:
        """Queue `work(*args)`; ApiProblem 429 when `capacity` requests are already in or waiting."""
        if not self._slots.acquire(blocking=False):
            raise ApiProblem(
                "too-many-requests",
                f"{self.capacity} {self.name} requests are already running or queued",
                headers={"Retry-After": str(self.retry_after_s)},
            )
        try:
            future = self._pool.submit(work, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
