"""A small content-addressed result cache: key -> JSON, shared by every run and process.

Drafts, renders and check results are keyed by everything that changes them,
so a re-run pays only for what actually changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asset_pipeline.home import Home
from asset_pipeline.storage.files import atomic_write_bytes
from asset_pipeline.storage.objects import ObjectStore


class ResultCache:
    def __init__(self, home: Home, kind: str):
        self.root = home.cache / kind

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        try:
            return json.loads(self._path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def put(self, key: str, value: Any) -> None:
        atomic_write_bytes(self._path(key), json.dumps(value, sort_keys=True).encode())


class ObjectResultCache(ResultCache):
    """A result cache whose entries name an object by sha256 in `field`: a hit needs that object
    in the store, so an entry that outlived its object (deleted, or quarantined as corrupt) is a
    miss and the result is made again, never trusted. An entry whose field is None names none."""

    def __init__(self, home: Home, kind: str, store: ObjectStore, field: str = "image_sha256"):
        super().__init__(home, kind)
        self.store, self.field = store, field

    def get(self, key: str) -> dict | None:
        entry = super().get(key)
        if not isinstance(entry, dict):
            return None
        sha = entry[self.field]
        return entry if sha is None or self.store.exists(sha) else None
