"""Parquet tables, one file per (table, campaign): `tables/<table>/<campaign>.parquet`.

Each stage replaces its campaign's file atomically; `publications` keeps history
by rewriting the campaign's file with the old rows plus the new ones.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from asset_pipeline.home import Home
from asset_pipeline.specs import ID_PATTERN
from asset_pipeline.storage.files import atomic_path

_str, _int, _f64, _bool = pa.string(), pa.int64(), pa.float64(), pa.bool_()
_strs = pa.list_(pa.string())

DELIVERABLE = [("campaign", _str), ("asset", _str), ("variant", _int), ("size", _str)]

SCHEMAS: dict[str, pa.Schema] = {
    "briefs": pa.schema(
        DELIVERABLE
        + [
            ("width", _int),
            ("height", _int),
            ("prompt", _str),
            ("negative_prompt", _str),
            ("headline", _str),
            ("body", _str),
            ("cta", _str),
            ("disclaimer", _str),
            ("tier", _str),
            ("model", _str),
            ("seed", _int),
            ("brief_hash", _str),
            ("brand", _str),
            ("brand_hash", _str),
            ("brief_file", _str),
            ("palette", _strs),
        ]
    ),
    "drafts": pa.schema(
        [
            ("campaign", _str),
            ("asset", _str),
            ("variant", _int),
            ("model", _str),
            ("seed", _int),
            ("width", _int),
            ("height", _int),
            ("image_sha256", _str),
            ("cache_hit", _bool),
            ("seconds", _f64),
            ("draft_key", _str),
            ("aspect", _str),
            ("prompt", _str),
            ("negative_prompt", _str),
            ("steps", _int),
            ("guidance", _f64),
            ("weights_hash", _str),
            ("fallbacks", _strs),
            ("sizes", _strs),
            ("palette_grade", _f64),
            # Every generation attempt (re-rolls of drafts that failed a draft-level check).
            (
                "attempts",
                pa.list_(
                    pa.struct(
                        [("model", _str), ("seed", _int), ("image_sha256", _str), ("passed", _bool), ("reason", _str)]
                    )
                ),
            ),
            ("draft_passed", _bool),
            ("draft_reason", _str),
        ]
    ),
    "layouts": pa.schema(
        DELIVERABLE
        + [
            ("draft_key", _str),
            ("layout", _str),
            ("preview_sha256", _str),
            ("typography_hash", _str),
            ("error", _str),
        ]
    ),
    "renders": pa.schema(
        DELIVERABLE
        + [
            ("image_sha256", _str),
            ("brand_hash", _str),
            ("draft_sha256", _str),
            ("layout", _str),
            ("engine", _str),
            ("error", _str),
            ("upscaler_error", _str),
        ]
    ),
    "checks": pa.schema(
        DELIVERABLE
        + [
            ("check", _str),
            ("passed", _bool),
            ("value", _f64),
            ("detail", _str),
        ]
    ),
    "publications": pa.schema(
        DELIVERABLE
        + [
            ("status", _str),
            ("path", _str),
            ("sha256", _str),
            ("version", _int),
            ("published_at", pa.timestamp("us", tz="UTC")),
            ("model", _str),
            ("seed", _int),
            ("brief_hash", _str),
            ("brand_hash", _str),
            ("render_sha256", _str),
            ("reasons", _strs),
            # The checks this version was judged by (the `checks` table keeps only the latest run's).
            ("checks", pa.list_(pa.struct([("check", _str), ("passed", _bool), ("value", _f64), ("detail", _str)]))),
        ]
    ),
}


def table_dir(home: Home, table: str) -> Path:
    return home.tables / table


def table_path(home: Home, table: str, campaign: str) -> Path:
    if table not in SCHEMAS or not re.match(ID_PATTERN, campaign):
        raise ValueError(f"no table {table!r} for campaign {campaign!r}")
    return home.inside("tables", table, f"{campaign}.parquet")


def write_rows(home: Home, table: str, campaign: str, rows: list[dict[str, Any]]) -> Path:
    schema = SCHEMAS[table]
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    arrow = pa.Table.from_pydict(columns, schema=schema)
    path = table_path(home, table, campaign)
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")
    return path


def read_rows(home: Home, table: str, campaign: str) -> list[dict[str, Any]]:
    path = table_path(home, table, campaign)
    if not path.exists():
        return []
    return pq.read_table(path).to_pylist()
