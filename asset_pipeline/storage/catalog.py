"""The DuckDB catalog (catalog.duckdb in the home): one view per table over its Parquet files.

Users and scripts query the views (briefs, drafts, renders, checks, publications, ...), opened
read-only from any directory; their columns are the tables' schemas (storage/tables.py).

DuckDB allows one writing process or many readers, so the catalog file is only
opened for writing briefly, under a file lock, to (re)create view definitions.
A table's view reads its compacted copy plus the campaign files changed since
(storage/compaction.py), or, before the first compaction, globs the table's folder.
"""

from __future__ import annotations

import os
import sys

import duckdb
import pyarrow as pa

from asset_pipeline.home import Home
from asset_pipeline.storage.compaction import compact, table_state, union_sql
from asset_pipeline.storage.files import file_lock, retry
from asset_pipeline.storage.records import PARTITION_FIELD
from asset_pipeline.storage.tables import SCHEMAS, table_dir

VIEWS = (
    "snapshots",
    "briefs",
    "drafts",
    "layouts",
    "renders",
    "checks",
    "publications",
    "files",
    "approvals",
    "model_evaluations",
    "spending",
)
# Views over other views: (name, SELECT). `costs`: what each campaign's assets' drafts cost, by model.
# `drafts` counts the drafts made (cached or not); `seconds` and `spent` are this run's generation;
# `cost` is what making the drafts cost (NULL when any one's cost is unknown: no price, no rate).
DERIVED_VIEWS = {
    "costs": (
        "SELECT campaign, asset, model, count(*) AS drafts, sum(seconds) AS seconds, "
        "CASE WHEN count(made_cost) = count(*) THEN sum(made_cost) END AS cost, "
        "CASE WHEN count(cost) = count(*) THEN sum(cost) END AS spent, "
        "min(currency) AS currency "
        "FROM drafts WHERE kind <> 'none' GROUP BY campaign, asset, model"
    ),
}

_DUCK_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "list<item: string>": "VARCHAR[]",
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
}


def _duck_type(arrow_type: pa.DataType) -> str:
    """DuckDB's name for an Arrow type of the table schemas (lists and structs included)."""
    if pa.types.is_list(arrow_type):
        return _duck_type(arrow_type.value_type) + "[]"
    if pa.types.is_struct(arrow_type):
        fields = ", ".join(f'"{f.name}" {_duck_type(f.type)}' for f in arrow_type)
        return f"STRUCT({fields})"
    return _DUCK_TYPES[str(arrow_type)]


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _typed(table: str) -> tuple[str, str]:
    """(an empty relation's typed columns, the column list) of a table's record."""
    schema = SCHEMAS[table]
    typed = ", ".join(f'CAST(NULL AS {_duck_type(f.type)}) AS "{f.name}"' for f in schema)
    return typed, ", ".join(f'"{name}"' for name in schema.names)


def _view_sql(home: Home, table: str) -> str:
    folder = table_dir(home, table)
    # An empty relation with every column of the record, typed: the view's shape whatever files exist.
    typed, columns = _typed(table)
    if not (folder.is_dir() and any(folder.glob("*.parquet"))):
        return f"SELECT {typed} WHERE false"  # no data yet: replaced once files exist
    state = table_state(home, table)
    if state.compacted is None:  # no compacted copy yet: every campaign file, by glob
        glob = _sql_string(str(folder / "*.parquet"))
        return (
            f"SELECT {columns} FROM (SELECT {typed} WHERE false "
            f"UNION ALL BY NAME SELECT * FROM read_parquet({glob}, union_by_name = true))"
        )
    # the compacted rows still current, plus the files changed since
    return union_sql(state, typed, columns, PARTITION_FIELD.get(table, "campaign"))


def _wanted(home: Home) -> dict[str, str]:
    return {**{table: _view_sql(home, table) for table in VIEWS}, **DERIVED_VIEWS}


def _current(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_view_definitions'").fetchone()[0]
    return dict(con.execute("SELECT name, definition FROM _view_definitions").fetchall()) if exists else {}


class _Locked(Exception):
    """Another process holds the catalog file: try again shortly."""


def _locked(exc: Exception) -> bool:
    """Whether opening failed because another process holds the file."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _damaged(exc: Exception) -> bool:
    """Whether the catalog file itself is unreadable (garbage, truncated), as opposed to locked,
    or a statement that is wrong (those are bugs to report, not files to rebuild)."""
    kinds = (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException, duckdb.FatalException)
    return isinstance(exc, kinds) and not _locked(exc)


def _rebuild(home: Home, exc: Exception) -> None:
    """Set a damaged catalog aside: it holds only view definitions, the Parquet tables are the truth."""
    aside = home.catalog.with_name(home.catalog.name + ".corrupt")
    os.replace(home.catalog, aside)
    wal = home.catalog.with_name(home.catalog.name + ".wal")
    if wal.exists():
        os.replace(wal, aside.with_name(aside.name + ".wal"))
    reason = str(exc).splitlines()[0][:200]
    print(
        f"catalog {home.catalog.name} could not be opened ({reason}); rebuilt from the Parquet tables, "
        f"the damaged file kept as {aside.name}",
        file=sys.stderr,
    )


def refresh_catalog(home: Home, attempts: int = 50, compact_after: int | None = None) -> None:
    """(Re)create the views whose definitions changed. Safe to call from many processes.

    With `compact_after` (a run's end), each table whose campaign files changed in at least that
    many campaigns since its compacted copy is compacted first, under the same lock.
    """
    home.root.mkdir(parents=True, exist_ok=True)

    def write_views() -> None:
        if home.catalog.exists():
            with duckdb.connect(str(home.catalog), read_only=True) as con:
                if _current(con) == wanted:
                    return  # the common case: no write connection at all
        with duckdb.connect(str(home.catalog)) as con:
            con.execute("CREATE TABLE IF NOT EXISTS _view_definitions (name VARCHAR PRIMARY KEY, definition VARCHAR)")
            current = _current(con)
            for table, sql in wanted.items():
                if current.get(table) != sql:
                    con.execute(f"CREATE OR REPLACE VIEW {table} AS {sql}")
                    con.execute("INSERT OR REPLACE INTO _view_definitions VALUES (?, ?)", [table, sql])

    def sync() -> None:
        try:
            write_views()
        except duckdb.Error as exc:
            if _locked(exc):
                raise _Locked from exc
            if not _damaged(exc):
                raise
            _rebuild(home, exc)  # damaged, not locked: set aside, and the next try writes a new one
            raise _Locked from exc

    with file_lock(home.locks / "catalog.lock"):
        if compact_after is not None:
            for table in VIEWS:
                compact(home, table, *_typed(table), after=compact_after, by=PARTITION_FIELD.get(table, "campaign"))
        wanted = _wanted(home)
        # Retried while a reader outside our lock (e.g. `asset-pipeline sql`) holds the file.
        retry(sync, _Locked, attempts, f"catalog {home.catalog} stayed locked by another process")


def connect_readonly(home: Home, attempts: int = 50) -> duckdb.DuckDBPyConnection:
    """A read-only connection whose views read this home's tables.

    The views name absolute paths (so any DuckDB client can open the catalog from any
    working directory); a home that was copied or moved still names the old folder, so the
    definitions are compared with this home's first and rewritten when they differ.
    """
    refresh_catalog(home, attempts)

    def open_readonly() -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(home.catalog), read_only=True)
        except duckdb.Error as exc:
            if _locked(exc):
                raise _Locked from exc
            raise

    return retry(open_readonly, _Locked, attempts, f"catalog {home.catalog} is locked by a writer")


def query(home: Home, sql: str) -> tuple[list[str], list[tuple]]:
    with connect_readonly(home) as con:
        result = con.execute(sql)
        columns = [d[0] for d in result.description] if result.description else []
        return columns, result.fetchall()
