"""Catalog at scale: a query over the views when the tables hold thousands of campaign files.

    python benchmarks/catalog.py [--counts 10,100,1000,5000] [--rows 4]

For each N it writes N campaign files of the `publications` table (real records, `--rows`
rows each, through storage.tables.write_rows) in a fresh home, then times, in this process:

- `asset-pipeline sql`'s path (`catalog.query`: the freshness check of the view definitions,
  a read-only connection, the query) for `SELECT count(*) FROM publications` and for a
  filtered query on one campaign;
- the same two queries over one compacted Parquet file holding the same rows.

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
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import duckdb  # noqa: E402

from asset_pipeline.home import Home  # noqa: E402
from asset_pipeline.storage.catalog import query  # noqa: E402
from asset_pipeline.storage.tables import write_rows  # noqa: E402


def row(campaign: str, i: int) -> dict:
    return {
        "campaign": campaign,
        "asset": f"a{i}",
        "variant": 1,
        "size": "1080x1080",
        "status": "published",
        "path": f"published/{campaign}/a{i}/variant1/1080x1080/v1.png",
        "sha256": "0" * 64,
        "version": 1,
        "published_at": datetime.now(UTC),
        "model": "tiny",
        "seed": i,
        "brief_hash": "b" * 64,
        "brand_hash": "c" * 64,
        "render_sha256": "d" * 64,
        "pixels_sha256": "e" * 64,
        "change": "pixels",
        "reasons": [],
        "checks": [{"check": "ocr", "passed": True, "value": 1.0, "detail": "read back"}],
    }


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
    compacted = work / f"compacted-{count}.parquet"
    glob = str(home.tables / "publications" / "*.parquet")
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{glob}')) TO '{compacted}' (FORMAT parquet)")
    source = f"read_parquet('{compacted}')"
    result["compacted_count_s"] = median_seconds(lambda: duckdb.sql(f"SELECT count(*) FROM {source}").fetchall())
    result["compacted_one_campaign_s"] = median_seconds(
        lambda: duckdb.sql(f"SELECT count(*) FROM {source} WHERE campaign = '{one}'").fetchall()
    )
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
