"""The four ways the table-damage tests break a file: what a bad disk, a killed copy or a
misplaced file leaves behind."""

from __future__ import annotations

import os
from pathlib import Path

DAMAGES = ("random bytes", "cut to half", "zero length", "another table's schema")


def damage_file(path: Path, kind: str, other: Path | None = None) -> None:
    """Damage `path` in place; "another table's schema" copies `other` (a valid Parquet file) over it."""
    data = path.read_bytes()
    if kind == "random bytes":
        path.write_bytes(os.urandom(len(data)))
    elif kind == "cut to half":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "zero length":
        path.write_bytes(b"")
    else:
        path.write_bytes(other.read_bytes())
