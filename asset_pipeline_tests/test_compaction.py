"""Compacted catalog tables: the views read one file per table, stay right as campaigns change,
and a compaction killed at any point loses and corrupts nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from asset_pipeline.home import Home
from asset_pipeline.storage.catalog import query, refresh_catalog
from asset_pipeline.storage.compaction import compacted_path, table_state
from asset_pipeline.storage.files import remove_stale_temporaries
from asset_pipeline.storage.tables import write_rows
from asset_pipeline_tests.support.publication_rows import publication_row

REPO = Path(__file__).resolve().parent.parent


def write_campaigns(home: Home, names: list[str], rows: int) -> None:
    for campaign in names:
        write_rows(home, "publications", campaign, [publication_row(campaign, i) for i in range(rows)])


def truth(home: Home) -> list[tuple]:
    """(campaign, rows) from the campaign files themselves, the tables' truth."""
    folder = home.tables / "publications"
    return sorted((p.stem, pq.read_metadata(p).num_rows) for p in folder.glob("*.parquet"))


def seen(home: Home) -> list[tuple]:
    return sorted(query(home, "SELECT campaign, count(*) FROM publications GROUP BY campaign")[1])


def test_views_read_the_compacted_copy_plus_what_changed_since(tmp_path):
    home = Home(tmp_path.resolve())
    names = [f"c{i:03d}" for i in range(30)]
    write_campaigns(home, names, 2)
    refresh_catalog(home, compact_after=40)  # 30 stale files: under the threshold, no compaction
    assert not compacted_path(home, "publications").exists() and seen(home) == truth(home)

    refresh_catalog(home, compact_after=20)
    state = table_state(home, "publications")
    assert state.compacted is not None and len(state.fresh) == 30 and not state.stale
    assert pq.read_metadata(state.compacted).num_rows == 60 and seen(home) == truth(home)

    # Changed since: one campaign rewritten, one gone, one new; no compaction, the views still agree.
    write_campaigns(home, ["c005"], 3)
    (home.tables / "publications" / "c006.parquet").unlink()
    write_campaigns(home, ["new"], 1)
    assert seen(home) == truth(home) and dict(seen(home))["c005"] == 3 and "c006" not in dict(seen(home))
    state = table_state(home, "publications")
    assert sorted(p.stem for p in state.stale) == ["c005", "new"] and state.excluded == ["c005", "c006"]

    refresh_catalog(home, compact_after=1)  # incremental: the old copy's fresh rows plus the changed files
    state = table_state(home, "publications")
    assert not state.stale and not state.excluded and len(state.fresh) == 30
    assert seen(home) == truth(home)
    # A count over the compacted view opens one file, not one per campaign.
    assert query(home, "SELECT count(*) FROM publications")[1] == [(sum(n for _, n in truth(home)),)]


CHILD = """
import random, sys
from pathlib import Path
from asset_pipeline.home import Home
from asset_pipeline.storage.catalog import refresh_catalog
from asset_pipeline.storage.tables import write_rows
from asset_pipeline_tests.support.publication_rows import publication_row
home, rng = Home(Path(sys.argv[1])), random.Random(int(sys.argv[2]))
names = [f"c{i:03d}" for i in range(300)]
while True:
    for campaign in rng.sample(names, 25):  # enough stale campaigns for every pass to compact
        write_rows(home, "publications", campaign, [publication_row(campaign, i) for i in range(rng.randint(1, 3))])
    print("compacting", flush=True)
    refresh_catalog(home, compact_after=20)
    print("done", flush=True)
"""


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_a_compaction_killed_at_any_moment_loses_and_corrupts_nothing(tmp_path):
    home = Home(tmp_path.resolve())
    write_campaigns(home, [f"c{i:03d}" for i in range(300)], 2)
    refresh_catalog(home, compact_after=1)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    rng = random.Random(17)
    mid_compaction = 0
    for trial in range(8):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(home.root), str(trial)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(rng.randint(1, 3)):  # let it finish a pass or two, then kill it inside the next
            assert child.stdout.readline() == "compacting\n"
            if child.stdout.readline() != "done\n":
                break
        assert child.stdout.readline() == "compacting\n"
        time.sleep(rng.uniform(0, 0.05))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        leftovers = list((home.tables / "_compacted").glob(".*.tmp"))
        mid_compaction += bool(leftovers)
        # Whatever moment it died at: the compacted file is whole, and the views match the tables.
        compacted = compacted_path(home, "publications")
        assert pq.read_table(compacted).num_rows > 0
        assert seen(home) == truth(home), f"trial {trial}"
        assert remove_stale_temporaries(home.tables) == len(leftovers)
    assert mid_compaction >= 2, "no kill landed inside a compaction: the test proved nothing"
    refresh_catalog(home, compact_after=1)  # and the next compaction goes through
    assert not table_state(home, "publications").stale and seen(home) == truth(home)
