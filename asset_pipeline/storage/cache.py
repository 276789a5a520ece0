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
