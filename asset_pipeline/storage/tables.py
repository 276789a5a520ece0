"""Parquet tables, one file per (table, campaign): `tables/<table>/<campaign>.parquet`.

Rows are checked against the table's record type (storage/records.py), from which the
Arrow schema is derived. Each stage replaces its campaign's file atomically; `publications` keeps history
by rewriting the campaign's file with the old rows plus the new ones.

Every file is checked where it is read or replaced: it opens, and its columns are its record's
(a file written before a column existed lacks it; one with columns the record does not know is
another table's). A damaged file of a table a run makes again (DERIVED) is moved to
`tables/.corrupt/<table>/` under a name that says when, with a note of why, and reads as absent:
the stage makes its rows again from the caches and objects, and `run` reports the repair. A damaged
`publications` (the version history) or `approvals` (the reviewers' decisions) cannot be made
again: reading or replacing it raises DamagedTableError, which stops that campaign only.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from asset_pipeline.home import Home
from asset_pipeline.specs import is_identifier
from asset_pipeline.storage.files import atomic_path, atomic_write_bytes
from asset_pipeline.storage.records import PARTITION_FIELD, RECORDS, SCHEMAS, RecordError, to_record

__all__ = [
    "DERIVED",
    "SCHEMAS",
    "DamagedTableError",
    "RecordError",
    "append_rows",
    "has_rows",
    "file_problem",
    "quarantined_tables",
    "read_rows",
    "table_dir",
    "table_path",
    "table_problem",
    "write_rows",
]

# Tables whose rows a run makes again from the caches, objects and inputs; the others are history.
# (A model's evaluations too: a damaged file reads as none, and the model is evaluated again.)
DERIVED = ("snapshots", "briefs", "drafts", "layouts", "renders", "checks", "files", "model_evaluations")
WHY_KEPT = {
    "publications": "the campaign's version history",
    "approvals": "the reviewers' decisions",
}
QUARANTINE = ".corrupt"  # tables/.corrupt/<table>/: outside every table's folder, so no view reads it
KEY_COLUMNS = ("campaign", "asset", "variant", "size")  # every version of a record that has them had them


class DamagedTableError(RecordError):
    """A table file that cannot be read, of a table whose rows cannot be made again."""


class _Damaged(Exception):
    """A file that does not open, or is not its table's; the message says why."""


def table_dir(home: Home, table: str) -> Path:
    return home.tables / table


def table_path(home: Home, table: str, campaign: str) -> Path:
    if table not in SCHEMAS or not is_identifier(campaign):
        raise ValueError(f"no table {table!r} for campaign {campaign!r}")
    return home.inside("tables", table, f"{campaign}.parquet")


def _reason(exc: BaseException) -> str:
    """Arrow's error as a short reason: `Could not open Parquet input source '…': X. Either …` reads as X."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.split("': ", 1)[1] if text.startswith("Could not open Parquet input source") else text
    return text.split(". ", 1)[0].rstrip(".")[:200]


def schema_problem(schema: pa.Schema, table: str) -> str | None:
    """Why `schema` is not a `table` file's, or None: every column is the record's, of its type, and
    the record's key columns are there (columns added to the record later may be missing)."""
    wanted = SCHEMAS[table]
    unknown = [name for name in schema.names if name not in wanted.names]
    if unknown:
        return f"not a {table} table: it has column(s) {', '.join(unknown[:3])}"
    missing = [name for name in KEY_COLUMNS if name in wanted.names and name not in schema.names]
    if missing:
        return f"not a {table} table: it lacks column(s) {', '.join(missing)}"
    for field in schema:
        if not field.type.equals(wanted.field(field.name).type):
            return f"column {field.name} is {field.type}, the {table} record's is {wanted.field(field.name).type}"
    return None


def _is_damage(exc: BaseException) -> bool:
    """Arrow's failures to parse a file, not the machine's (Arrow's own OSErrors carry no errno)."""
    return isinstance(exc, pa.ArrowException) or (isinstance(exc, OSError) and exc.errno is None)


def _opened(path: Path, table: str) -> pq.ParquetFile:
    """The file, opened (its footer parsed) and its schema checked; _Damaged if it is not usable."""
    try:
        opened = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        if not _is_damage(exc):
            raise
        raise _Damaged(_reason(exc)) from exc
    problem = schema_problem(opened.schema_arrow, table)
    if problem:
        opened.close()
        raise _Damaged(problem)
    return opened


def _load(path: Path, table: str, campaign: str) -> list[dict[str, Any]]:
    """Every row of the file; _Damaged when the file is damaged or not this table's."""
    with _opened(path, table) as opened:
        try:
            rows = opened.read()
        except (pa.ArrowException, OSError) as exc:
            if not _is_damage(exc):
                raise
            raise _Damaged(_reason(exc)) from exc
    by = PARTITION_FIELD.get(table, "campaign")
    strays = sorted(set(rows.column(by).to_pylist()) - {campaign}) if rows.num_rows else []
    if strays:
        raise _Damaged(f"it holds rows of {by} {strays[0]}")
    return rows.to_pylist()


def file_problem(path: Path, table: str) -> str | None:
    """Why the file does not open as a `table` file, from its footer alone (None: it does, or is gone)."""
    try:
        _opened(path, table).close()
    except FileNotFoundError:
        return None
    except _Damaged as exc:
        return str(exc)
    return None


def table_problem(home: Home, table: str, campaign: str) -> str | None:
    """Why the campaign's file of `table` cannot be used (None: readable, or absent). Moves nothing."""
    try:
        _load(table_path(home, table, campaign), table, campaign)
    except FileNotFoundError:
        return None
    except _Damaged as exc:
        return str(exc)
    return None


def _set_aside(home: Home, table: str, campaign: str, path: Path, reason: str) -> None:
    """A damaged file of a derived table: moved under tables/.corrupt/ with a note the run reports;
    anything else: DamagedTableError, the file left where it is for its owner to restore."""
    shown = home.relative(path)
    if table not in DERIVED:
        raise DamagedTableError(
            f"{shown} is unreadable ({reason}); it is {WHY_KEPT.get(table, 'history')} and cannot be made "
            f"again: restore it from a backup of the home, then run again"
        )
    at = datetime.now(UTC)
    target = home.tables / QUARANTINE / table / f"{campaign}.{at:%Y%m%dT%H%M%S.%fZ}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return  # another process set it aside first (and noted it)
    note = {"table": table, "campaign": campaign, "path": shown, "reason": reason, "at": at.isoformat()}
    atomic_write_bytes(target.with_suffix(".json"), json.dumps(note, sort_keys=True).encode("utf-8"))


def quarantined_tables(home: Home) -> dict[str, dict]:
    """Every damaged table file set aside so far: its name under tables/.corrupt/ -> its note."""
    found = {}
    for note in sorted((home.tables / QUARANTINE).glob("*/*.json")):
        try:
            found[note.relative_to(home.tables).as_posix()] = json.loads(note.read_bytes())
        except (OSError, ValueError):
            continue  # a note we cannot read names no repair
    return found


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
    if problem := file_problem(path, table):  # the file it replaces: a stage that never reads it reports it
        _set_aside(home, table, campaign, path, problem)
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")
    return path


def append_rows(home: Home, table: str, campaign: str, rows: list[Any]) -> Path:
    """Add `rows` to the campaign's file (the caller holds a lock on it): only the new rows are
    checked and converted, so appending costs the same however long the file has grown."""
    record, schema = RECORDS[table], SCHEMAS[table]
    checked = [to_record(record, row, f"{table} row {i}") for i, row in enumerate(rows)]
    by = PARTITION_FIELD.get(table, "campaign")
    strays = sorted({getattr(r, by) for r in checked} - {campaign})
    if strays:
        raise RecordError(f"{table}: rows of {by}(s) {', '.join(strays)} written to {by} {campaign!r}")
    plain = [dataclasses.asdict(r) for r in checked]
    added = pa.Table.from_pydict({name: [r[name] for r in plain] for name in schema.names}, schema=schema)
    path = table_path(home, table, campaign)
    if path.exists():
        before = pq.read_table(path)
        if not set(schema.names) <= set(before.column_names):  # written before a column existed
            return write_rows(home, table, campaign, before.to_pylist() + rows)
        added = pa.concat_tables([before.select(schema.names).cast(schema), added])
    with atomic_path(path) as tmp:
        pq.write_table(added, tmp, compression="zstd")
    return path


def has_rows(home: Home, table: str, campaign: str) -> bool:
    """Whether the campaign's file of `table` exists and holds a row (read from its footer only)."""
    try:
        return pq.read_metadata(table_path(home, table, campaign)).num_rows > 0
    except (OSError, ValueError):
        return False


def read_rows(home: Home, table: str, campaign: str) -> list[dict[str, Any]]:
    """The campaign's rows of `table`; none when it has no file, or a damaged one of a derived table
    (set aside: the stage makes them again). DamagedTableError for a damaged history table."""
    path = table_path(home, table, campaign)
    try:
        return _load(path, table, campaign)
    except FileNotFoundError:
        return []
    except _Damaged as exc:
        _set_aside(home, table, campaign, path, str(exc))
        return []
