"""The Dagster layer: definitions load, the graph has the stages in order, assets materialize."""

from __future__ import annotations

import dagster as dg

from asset_pipeline.home import Home
from asset_pipeline.orchestration.assets import INPUT_SOURCES, campaign_briefs, campaigns
from asset_pipeline.orchestration.definitions import STAGES, build_campaign, defs
from asset_pipeline.orchestration.resources import PipelineResource
from asset_pipeline.storage.tables import read_rows
from asset_pipeline_tests.conftest import write_brief

BRIEF = """\
campaign: unit
brand: acme
assets:
  - id: hero
    prompt: "a mug"
    headline: "Hello"
    sizes: ["1080x1080", "728x90"]
    variants: 3
"""


def test_definitions_load_and_graph_is_in_order():
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    parents = {
        key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    # The brand split, in the graph: style/negative reach drafts (through the prompts in
    # campaign_briefs); the typography part enters at typesetting, below the drafts.
    assert parents["campaign_briefs"] == {"brief_file", "brand_style"}
    assert parents["draft_images"] == {"campaign_briefs"}
    assert parents["typeset_images"] == {"draft_images", "brand_typography"}
    assert parents["upscaled_images"] == {"typeset_images"}
    assert parents["published_assets"] == {"upscaled_images"}
    checks = {key.name for key in graph.asset_check_keys}
    assert {"ocr", "banned_terms", "size", "not_blank"} <= checks
    assert all(graph.get_check_spec(k).blocking for k in graph.asset_check_keys)
    job = defs.resolve_job_def(build_campaign.name)
    assert {n.name for n in job.graph.node_defs} >= {s.key.to_user_string() for s in STAGES} | {
        "quality_checks",
        "brief_file",
        "brand_style",
        "brand_typography",
    }
    assert all(s.partitions_def == campaigns for s in STAGES)
    assert all(graph.get(s.key).code_version for s in STAGES)  # the UI flags code changes as stale


def test_campaign_briefs_materializes_one_row_per_deliverable(home):
    write_brief(home, "unit", BRIEF)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaigns", ["unit"])
    result = dg.materialize(
        [campaign_briefs, *INPUT_SOURCES],
        partition_key="unit",
        instance=instance,
        resources={"pipeline": PipelineResource(home=str(home))},
        selection=[campaign_briefs],
    )
    assert result.success
    metadata = result.asset_materializations_for_node("campaign_briefs")[0].metadata
    assert metadata["deliverables"].value == 6 and metadata["assets"].value == 1
    rows = read_rows(Home(home.resolve()), "briefs", "unit")
    assert sorted((r["variant"], r["size"]) for r in rows) == [
        (v, s) for v in (1, 2, 3) for s in ("1080x1080", "728x90")
    ]
    assert len({r["seed"] for r in rows}) == 3
    assert all("clean product photography" in r["prompt"] and r["disclaimer"] == "Offer ends May 31." for r in rows)
