"""Catalog at scale: a query over the views when the tables hold thousands of campaign files.

    python benchmarks/catalog.py [--counts 10,100,1000,5000] [--rows 4]   (from the checkout: PYTHONPATH=.)

For each N it writes N campaign files of the `publications` table (real records, `--rows`
rows each, through storage.tables.write_rows) in a fresh home, then times, in this process:

- `asset-pipeline sql`'s path (`catalog.query`: the freshness check of the view definitions,
  a read-only connection, the query) for `SELECT count(*) FROM publications` and for a
  filtered query on one campaign;
- the same two queries over a hive-partitioned layout (`campaign=<id>/`), which DuckDB can prune
  on the campaign filter (read directly with DuckDB: it is a layout measured, not built);
- a compaction (storage/compaction.py), then the two queries through the views over the
  compacted copy, and the count again after 1% of the campaigns changed since.

The median of 5 of each. These machines are noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import duckdb  # noqa: E402

from asset_pipeline.home import Home  # noqa: E402
from asset_pipeline.storage.catalog import query, refresh_catalog  # noqa: E402
from asset_pipeline.storage.tables import write_rows  # noqa: E402
from asset_pipeline_tests.support.publication_rows import publication_row as row  # noqa: E402


def median_seconds(action, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 4)


def measure(count: int, rows: int, work: Path) -> dict:
    home = Home((work / f"home-{count}").resolve())
    for c in range(count):
        campaign = f"c{c:05d}"
        write_rows(home, "publications", campaign, [row(campaign, i) for i in range(rows)])
    one = f"c{count // 2:05d}"
    result = {
        "campaigns": count,
        "rows": count * rows,
        "views_count_s": median_seconds(lambda: query(home, "SELECT count(*) FROM publications")),
        "views_one_campaign_s": median_seconds(
            lambda: query(home, f"SELECT count(*) FROM publications WHERE campaign = '{one}'")
        ),
    }
    # A layout DuckDB can prune: hive-partitioned folders (campaign=<id>/data.parquet).
    hive = work / f"hive-{count}"
    for path in (home.tables / "publications").glob("*.parquet"):
        (hive / f"campaign={path.stem}").mkdir(parents=True)
        (hive / f"campaign={path.stem}" / "data.parquet").symlink_to(path)
    source = f"read_parquet('{hive}/*/*.parquet', hive_partitioning = true)"
    result["hive_count_s"] = median_seconds(lambda: duckdb.sql(f"SELECT count(*) FROM {source}").fetchall())
    result["hive_one_campaign_s"] = median_seconds(
        lambda: duckdb.sql(f"SELECT count(*) FROM {source} WHERE campaign = '{one}'").fetchall()
    )
    # Compaction as a run's end does it (storage/compaction.py), then the same queries through the views.
    started = time.perf_counter()
    refresh_catalog(home, compact_after=1)
    result["compaction_s"] = round(time.perf_counter() - started, 4)
    result["compacted_count_s"] = median_seconds(lambda: query(home, "SELECT count(*) FROM publications"))
    result["compacted_one_campaign_s"] = median_seconds(
        lambda: query(home, f"SELECT count(*) FROM publications WHERE campaign = '{one}'")
    )
    # ... and after 1% of the campaigns changed since (read from their own files beside the compacted one).
    for c in range(0, count, 100):
        campaign = f"c{c:05d}"
        write_rows(home, "publications", campaign, [row(campaign, i) for i in range(rows + 1)])
    result["compacted_1pct_changed_count_s"] = median_seconds(lambda: query(home, "SELECT count(*) FROM publications"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10,100,1000,5000")
    parser.add_argument("--rows", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="catalog-") as tmp:
        results = [measure(int(n), args.rows, Path(tmp)) for n in args.counts.split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    keys = list(results[0])
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in results:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
