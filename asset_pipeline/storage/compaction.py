"""Compacted tables: one Parquet file per table holding every campaign's rows, for the catalog's views.

The per-campaign files (`tables/<table>/<campaign>.parquet`) stay the truth: stages write
and read them as before. A view over thousands of them opens thousands of files per query;
over the compacted copy (`tables/_compacted/<table>.parquet`) a count reads one footer.

The compacted file records, in its own Parquet key-value metadata, the (inode, mtime, size)
of each campaign file it copied, so file and record are replaced together by one rename:
a kill at any point leaves the old compacted file or the new one, never a torn or
mismatched pair. A campaign whose file changed since (or is gone) is *stale*: the views read
the compacted rows of the other campaigns plus the stale campaigns' own files, so they are
right whether or not a compaction ran. Compaction is incremental (the old compacted rows
of fresh campaigns, plus the stale files) and runs when enough campaigns are stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from asset_pipeline.home import Home
from asset_pipeline.storage.files import atomic_path
from asset_pipeline.storage.tables import file_problem

KEY = b"asset_pipeline.sources"
COMPACT_AFTER = 20  # stale campaign files a view may read beside the compacted file before a compaction


def compacted_path(home: Home, table: str) -> Path:
    return home.tables / "_compacted" / f"{table}.parquet"


def _stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_ino, st.st_mtime_ns, st.st_size]


@dataclass
class TableState:
    """Which campaigns the compacted file serves, and which must be read from their own files."""

    compacted: Path | None = None  # None: no compacted file yet (or an unreadable one)
    fresh: dict[str, list[int]] = field(default_factory=dict)  # campaign -> stamp, served by the compacted file
    excluded: list[str] = field(default_factory=list)  # in the compacted file, but changed or gone since
    stale: list[Path] = field(default_factory=list)  # campaign files to read on their own


def table_state(home: Home, table: str) -> TableState:
    """Compare the compacted file's record with the campaign files now (a stat per file, one footer)."""
    files = {p.stem: p for p in sorted((home.tables / table).glob("*.parquet"))}
    path = compacted_path(home, table)
    try:
        recorded = json.loads(pq.read_schema(path).metadata[KEY])
    except (OSError, KeyError, TypeError, ValueError, pa.ArrowException):
        recorded = None  # none yet, or not ours: every file is read on its own until the next compaction
    if recorded is None:
        return TableState(stale=list(files.values()))
    state = TableState(compacted=path)
    for campaign, stamp in recorded.items():
        if campaign in files and _stamp(files[campaign]) == stamp:
            state.fresh[campaign] = stamp
        else:
            state.excluded.append(campaign)
    state.stale = [p for c, p in files.items() if c not in state.fresh]
    return state


def _strings(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def union_sql(state: TableState, typed: str, columns: str, by: str = "campaign") -> str:
    """SELECT of every row of the table: the compacted rows still current, plus the stale files.

    `typed` is an empty relation with the record's typed columns (files written before a column
    existed lack it: UNION BY NAME fills it with NULL); `columns` the record's columns in order;
    `by` the column that names each file (records.PARTITION_FIELD).
    """
    parts = [f"SELECT {typed} WHERE false"]
    if state.compacted is not None and state.fresh:
        where = f' WHERE "{by}" NOT IN ({_strings(state.excluded)})' if state.excluded else ""
        parts.append(f"SELECT * FROM read_parquet({_strings([state.compacted])}){where}")
    if state.stale:
        parts.append(f"SELECT * FROM read_parquet([{_strings(state.stale)}], union_by_name = true)")
    return f"SELECT {columns} FROM ({' UNION ALL BY NAME '.join(parts)})"


def compact(home: Home, table: str, typed: str, columns: str, after: int = COMPACT_AFTER, by: str = "campaign") -> bool:
    """Rewrite the table's compacted file when at least `after` campaigns are stale; True if it did.

    The caller holds the catalog lock (one compactor at a time). Stamps are taken before the files
    are read, so a file rewritten meanwhile reads as stale next time rather than as copied.
    """
    if not (home.tables / table).is_dir():
        return False
    state = table_state(home, table)
    if len(state.stale) + len(state.excluded) < max(after, 1) or not (state.stale or state.excluded):
        return False
    # A damaged campaign file (storage/tables.py) stays out: it would fail the copy, and with it the
    # run of some other campaign that happens to compact; its own next run sets it aside.
    state.stale = [path for path in state.stale if file_problem(path, table) is None]
    sources = dict(state.fresh)
    for path in state.stale:
        stamp = _stamp(path)
        if stamp is not None:
            sources[path.stem] = stamp
    select = union_sql(state, typed, columns, by)
    meta = json.dumps(sources, sort_keys=True).replace("'", "''")
    target = compacted_path(home, table)
    with atomic_path(target) as tmp, duckdb.connect() as con:
        con.execute(
            f"COPY ({select}) TO {_strings([tmp])} "
            f"(FORMAT parquet, COMPRESSION zstd, KV_METADATA {{'{KEY.decode()}': '{meta}'}})"
        )
    return True
