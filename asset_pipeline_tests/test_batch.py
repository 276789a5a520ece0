"""Many campaigns in one Dagster run: each keeps its own outcome, none blocks the others."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest

from asset_pipeline.home import Home
from asset_pipeline.orchestration.batch import contiguous_ranges, error_line, forget_finished, range_summary
from asset_pipeline.specs import InputError, Problem
from asset_pipeline_tests.conftest import write_brief


def brief(campaign: str, headlines: list[str], brand: str = "acme") -> str:
    lines = [f"campaign: {campaign}", f"brand: {brand}", "assets:"]
    for i, headline in enumerate(headlines):
        lines += [
            f"  - id: a{i}",
            f"    prompt: mug {campaign} {i}",
            f"    headline: {headline}",
            "    sizes: ['256x256']",
        ]
    return "\n".join(lines) + "\n"


def test_contiguous_ranges_leave_out_what_was_not_asked():
    order = ["a", "b", "c", "d", "e", "f"]
    assert contiguous_ranges(["a", "b", "c", "e", "f"], order, 100) == [["a", "b", "c"], ["e", "f"]]
    assert contiguous_ranges(["f", "a", "b"], order, 100) == [["a", "b"], ["f"]]
    assert contiguous_ranges(order, order, 4) == [["a", "b", "c", "d"], ["e", "f"]]
    assert contiguous_ranges(["c", "c"], order, 1) == [["c"]]


def test_a_range_runs_summary_has_a_line_per_campaign_as_run_prints_them():
    results = {"north": ("v1", {"published": 3, "rejected": 1, "pending": 0, "new_versions": 2})}
    failed = {
        "east": {
            "step": "campaign_inputs",
            "error": "InputError: briefs/east.yaml: brand: no such brand",
            "blocked": False,
        },
        "west": {"step": "quality_checks", "error": "blocked by systemic check failure: ocr", "blocked": True},
    }
    assert range_summary(["north", "east", "west", "south"], results, failed) == [
        "north: 3 published, 1 rejected; 2 new versions",
        "east: FAILED: step campaign_inputs: InputError: briefs/east.yaml: brand: no such brand",
        "west: FAILED: blocked by systemic check failure: ocr",
        "south: FAILED: step ?: not run",
    ]


def test_ledgers_of_ended_runs_are_dropped_once_old_and_live_ones_kept(tmp_path):
    import os

    home = Home(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    with dg.DagsterInstance.ephemeral() as instance:
        live = instance.create_run_for_job(dg.GraphDefinition("g").to_job())  # not started: not ended
        gone, fresh = runs / "gone.json", runs / "fresh.json"
        for path in (gone, fresh, runs / f"{live.run_id}.json"):
            path.write_text("{}")
        os.utime(gone, (1, 1))  # ended (no such run) long ago
        os.utime(runs / f"{live.run_id}.json", (1, 1))  # old, but its run has not ended
        assert forget_finished(home, instance) == ["gone"]
    assert sorted(p.name for p in runs.iterdir()) == sorted([f"{live.run_id}.json", "fresh.json"])


def test_a_backfill_of_many_campaigns_is_one_run_per_range():
    from asset_pipeline.orchestration.definitions import build_campaign, defs

    # Every asset of the job, the observed sources included, has the single-run policy: with one
    # left out Dagster would take the smallest, a run per campaign.
    assert defs.resolve_job_def(build_campaign.name).backfill_policy == dg.BackfillPolicy.single_run()
    graph = defs.resolve_asset_graph()
    assert {graph.get(k).backfill_policy for k in graph.executable_asset_keys} == {dg.BackfillPolicy.single_run()}
    # A backfill's run is of Dagster's implicit asset job: in-process too, or each step would be a fresh
    # interpreter importing torch (test_scale_out's daemon backfill took 102 s instead of 38 s).
    assert defs.resolve_implicit_global_asset_job_def().executor_def == dg.in_process_executor


def test_error_line_names_the_file_and_field_without_a_traceback():
    exc = InputError([Problem("briefs/x.yaml", "brand", "brands/nobody.yaml does not exist")])
    assert error_line(exc) == "InputError: briefs/x.yaml: brand: brands/nobody.yaml does not exist"
    try:
        try:
            raise OSError("disk on fire")
        except OSError as inner:
            raise RuntimeError("wrapper") from inner
    except RuntimeError as outer:
        assert error_line(outer) == "OSError: disk on fire"


@pytest.mark.slow
def test_one_run_many_campaigns_a_bad_brief_and_a_failed_check_block_no_one(home, monkeypatch):
    from asset_pipeline.models import generation
    from asset_pipeline.orchestration.runner import run_campaigns

    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    (home / "dagster").mkdir()
    write_brief(home, "alpha", brief("alpha", ["Spring Sale"]))
    write_brief(home, "bad", brief("bad", ["Spring Sale"], brand="nobody"))  # no such brand: InputError
    write_brief(home, "banned", brief("banned", ["Spring Sale", "Results guaranteed"]))  # one fails a check
    write_brief(home, "blocked", brief("blocked", ["Results guaranteed"] * 5))  # all 5 fail: systemic
    write_brief(home, "omega", brief("omega", ["Summer Sale"]))
    campaigns = ["alpha", "bad", "banned", "blocked", "omega"]
    loads = generation.LOAD_COUNT

    summaries = run_campaigns(Home(home.resolve()), campaigns)

    by = {s.campaign: s for s in summaries}
    assert [s.campaign for s in summaries] == campaigns
    assert len({s.run_id for s in summaries}) == 1  # one Dagster run for all five
    assert generation.LOAD_COUNT - loads <= 1  # the model loaded once, whatever the campaign count
    assert by["alpha"].success and by["alpha"].published == 1 and by["omega"].published == 1
    bad = by["bad"].line()
    assert bad.startswith("bad: run ") and "FAILED: step campaign_inputs: InputError: briefs/bad.yaml: brand" in bad
    assert "Traceback" not in bad
    assert by["banned"].success and (by["banned"].published, by["banned"].rejected) == (1, 1)
    assert "a1 v1 256x256" in by["banned"].reasons[0] and "guaranteed" in by["banned"].reasons[0]
    assert by["blocked"].blocked and not by["blocked"].failed
    # the banned headline is refused before drafting (pre-flight): every deliverable fails draft and layout
    assert "nothing published, blocked by systemic check failure: draft, layout" in by["blocked"].line()

    # Each campaign its own manifest and catalog rows; the failed and the blocked have none.
    for campaign, count in (("alpha", 1), ("banned", 2), ("omega", 1)):
        manifest = json.loads((home / "published" / campaign / "manifest.json").read_text())
        assert manifest["campaign"] == campaign and len(manifest["deliverables"]) == count
    assert not (home / "published" / "bad").exists() and not (home / "published" / "blocked").exists()
    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT campaign, status, count(*) FROM publications GROUP BY ALL ORDER BY ALL").fetchall()
    assert rows == [
        ("alpha", "published", 1),
        ("banned", "published", 1),
        ("banned", "rejected", 1),
        ("omega", "published", 1),
    ]

    # Dagster: one range run, and each partition's materialization tells its own story.
    instance = dg.DagsterInstance.get()
    run = instance.get_run_by_id(summaries[0].run_id)
    assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
        "alpha",
        "omega",
    )

    def published(campaign: str) -> dict:
        wanted = dg.AssetRecordsFilter(asset_key=dg.AssetKey("published_assets"), asset_partitions=[campaign])
        (record,) = instance.fetch_materializations(wanted, limit=1, ascending=False).records
        return {k: v.value for k, v in record.asset_materialization.metadata.items()}

    assert published("alpha")["published"] == 1 and published("banned")["rejected"] == 1
    assert published("bad")["failed"].startswith("step campaign_inputs: InputError: briefs/bad.yaml")
    assert published("blocked")["failed"].startswith("step quality_checks: blocked by systemic check failure")
    assert not (home / "runs" / f"{run.run_id}.json").exists()  # the ledger goes once summarised

    # A campaign alone still gets a run of its own, as before.
    (again,) = run_campaigns(Home(home.resolve()), ["alpha"])
    assert again.success and again.run_id != run.run_id and again.drafts_generated == 0
    assert instance.get_run_by_id(again.run_id).tags["dagster/partition"] == "alpha"
