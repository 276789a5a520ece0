"""Parquet tables, one file per (table, campaign): `tables/<table>/<campaign>.parquet`.

Rows are checked against the table's record type (storage/records.py), from which the
Arrow schema is derived. Each stage replaces its campaign's file atomically; `publications` keeps history
by rewriting the campaign's file with the old rows plus the new ones.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from asset_pipeline.home import Home
from asset_pipeline.specs import is_identifier
from asset_pipeline.storage.files import atomic_path
from asset_pipeline.storage.records import PARTITION_FIELD, RECORDS, SCHEMAS, RecordError, to_record

__all__ = ["SCHEMAS", "RecordError", "has_rows", "read_rows", "table_dir", "table_path", "write_rows"]


def table_dir(home: Home, table: str) -> Path:
    return home.tables / table


def table_path(home: Home, table: str, campaign: str) -> Path:
    if table not in SCHEMAS or not is_identifier(campaign):
        raise ValueError(f"no table {table!r} for campaign {campaign!r}")
    return home.inside("tables", table, f"{campaign}.parquet")


def write_rows(home: Home, table: str, campaign: str, rows: list[Any]) -> Path:
    """Replace the campaign's file with `rows` (dicts or records), each checked against the table's record."""
    record, schema = RECORDS[table], SCHEMAS[table]
    checked = [to_record(record, row, f"{table} row {i}") for i, row in enumerate(rows)]
    by = PARTITION_FIELD.get(table, "campaign")
    strays = sorted({getattr(r, by) for r in checked} - {campaign})
    if strays:
        raise RecordError(f"{table}: rows of {by}(s) {', '.join(strays)} written to {by} {campaign!r}")
    plain = [dataclasses.asdict(r) for r in checked]  # nested records become the dicts Arrow takes for structs
    arrow = pa.Table.from_pydict({name: [r[name] for r in plain] for name in schema.names}, schema=schema)
    path = table_path(home, table, campaign)
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")
    return path


def has_rows(home: Home, table: str, campaign: str) -> bool:
    """Whether the campaign's file of `table` exists and holds a row (read from its footer only)."""
    try:
        return pq.read_metadata(table_path(home, table, campaign)).num_rows > 0
    except (OSError, ValueError):
        return False


def read_rows(home: Home, table: str, campaign: str) -> list[dict[str, Any]]:
    path = table_path(home, table, campaign)
    if not path.exists():
        return []
    return pq.read_table(path).to_pylist()
