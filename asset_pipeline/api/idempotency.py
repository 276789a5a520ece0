"""Idempotency keys: a POST or PUT repeated with the same `Idempotency-Key` gets the first answer.

The first complete answer to (token, method, path, key) is kept in the home (`api/idempotency/`)
for 24 hours with the sha256 of the request body, so it survives a restart. A repeat with the
same body gets that answer again, byte for byte, and does no work; a repeat with another body
gets 409, as does one that arrives while the first is still being answered. A request whose
server died before it answered left nothing behind, so its retry does the work.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass

from asset_pipeline.api.problems import ApiProblem
from asset_pipeline.home import Home
from asset_pipeline.storage.files import atomic_write_bytes

KEEP_S = 24 * 3600
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces


@dataclass(frozen=True)
class Stored:
    status: int
    headers: dict[str, str]
    body: bytes


class IdempotencyStore:
    def __init__(self, home: Home, keep_s: float = KEEP_S):
        self.folder = home.root / "api" / "idempotency"
        self.keep_s = keep_s
        self._in_flight: set[str] = set()
        self._mutex = threading.Lock()
        self._pruned = 0.0

    @staticmethod
    def check_key(key: str) -> None:
        if KEY_RE.fullmatch(key) is None:
            raise ApiProblem("bad-request", "Idempotency-Key: 1 to 255 printable ASCII characters, no spaces")

    def _path(self, scope: str, key: str):
        name = hashlib.sha256("\n".join((scope, key)).encode()).hexdigest()
        return self.folder / f"{name}.json"

    def begin(self, scope: str, key: str, body: bytes) -> Stored | None:
        """The stored answer to replay, or None after claiming the key for this request (call
        `finish` or `abandon`); ApiProblem 409 when the key was used with another body or is in flight."""
        self.check_key(key)
        path, digest = self._path(scope, key), hashlib.sha256(body).hexdigest()
        with self._mutex:
            try:
                record = json.loads(path.read_bytes())
            except (FileNotFoundError, ValueError):
                record = None
            if record is not None and time.time() - record["created_at"] < self.keep_s:
                if record["body_sha256"] != digest:
                    raise ApiProblem("idempotency-key-reused", "this Idempotency-Key came with another body before")
                return Stored(record["status"], record["headers"], base64.b64decode(record["body"]))
            if path.name in self._in_flight:
                raise ApiProblem("idempotency-key-in-flight", "the first request with this key has not been answered")
            self._in_flight.add(path.name)
        return None

    def finish(self, scope: str, key: str, body: bytes, answer: Stored) -> None:
        path = self._path(scope, key)
        record = {
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "created_at": time.time(),
            "status": answer.status,
            "headers": answer.headers,
            "body": base64.b64encode(answer.body).decode(),
        }
        try:
            atomic_write_bytes(path, json.dumps(record).encode())
        finally:
            self.abandon(scope, key)
        self._prune()

    def abandon(self, scope: str, key: str) -> None:
        with self._mutex:
            self._in_flight.discard(self._path(scope, key).name)

    def _prune(self) -> None:
        """Forget keys past their 24 hours (at most once a minute)."""
        now = time.time()
        if now - self._pruned < 60:
            return
        self._pruned = now
        for path in self.folder.glob("*.json"):
            try:
                if now - path.stat().st_mtime > self.keep_s:
                    path.unlink()
            except FileNotFoundError:
                continue
