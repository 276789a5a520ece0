"""Re-runs under brand-rule edits and the nightly schedule: exactly the work that is needed.

Real Dagster runs in a real (on-disk) instance, the real tiny diffusers model and real
tesseract, executed in this process as `asset-pipeline run` executes them.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from asset_pipeline.home import Home
from asset_pipeline.orchestration.definitions import defs, nightly_rebuild
from asset_pipeline.orchestration.runner import run_campaigns
from asset_pipeline.storage.catalog import query
from asset_pipeline_tests.conftest import write_brief

BRIEF = """\
campaign: {c}
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    headline: "Spring Sale"
    cta: "Shop now"
    sizes: ["256x256", "512x256"]
"""


@pytest.fixture
def instance_home(home: Path, monkeypatch):
    """The home with its own persistent Dagster instance, as the CLI sets it up."""
    monkeypatch.setenv("ASSET_PIPELINE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_brief(home, "rebuild", BRIEF.format(c="rebuild"))
    return Home(home.resolve())


def build(home: Home):
    (summary,) = run_campaigns(home, ["rebuild"])
    assert summary.success, summary.error
    return summary


def stale(asset: str) -> bool:
    # Dagster's own resolver (what the UI calls), from its test utilities: no public API yet.
    from dagster._utils.test.data_versions import get_stale_status_resolver

    # The stages' definitions; the declared-only realtime_renders (a bare AssetSpec) has no data versions.
    stages = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    resolver = get_stale_status_resolver(dg.DagsterInstance.get(), stages)
    return resolver.get_status(dg.AssetKey(asset), "rebuild").value == "STALE"


def observe_inputs() -> None:
    """What the brief sensor (or the UI's "Observe sources") records after an edit."""
    from asset_pipeline.orchestration.assets import INPUT_SOURCES

    job = defs.resolve_job_def("build_campaign")
    job.execute_in_process(
        instance=dg.DagsterInstance.get(), partition_key="rebuild", asset_selection=[s.key for s in INPUT_SOURCES]
    )


def versions(home: Home) -> list[int]:
    return [row[0] for row in query(home, "SELECT version FROM publications ORDER BY version")[1]]


@pytest.mark.slow
def test_brand_edits_rerun_exactly_what_they_affect(instance_home):
    home = instance_home
    first = build(home)
    # One key visual serves both sizes: one draft, two deliverables.
    assert (first.drafts_generated, first.published, first.new_versions) == (1, 2, 2)
    brand = home.brand_path("acme")

    # Typography part (a colour): typesetting onwards re-runs, no draft is generated.
    brand.write_text(brand.read_text().replace('accent: "#FF5A36"', 'accent: "#2255CC"'))
    observe_inputs()
    # The snapshot's typography half is stale; the half that feeds the drafts is not.
    assert stale("brand_rules") and not stale("campaign_briefs") and not stale("draft_images")
    recolour = build(home)
    assert (recolour.drafts_generated, recolour.drafts_reused) == (0, 1)
    assert (recolour.renders_made, recolour.renders_reused, recolour.new_versions) == (2, 0, 2)
    assert "drafts 0 generated, 1 reused; renders 2 made, 0 reused" in recolour.line()
    assert versions(home) == [1, 1, 2, 2]

    # Generation part (style): prompts change, so every draft is generated again.
    brand.write_text(brand.read_text().replace('style: "', 'style: "warm evening light, '))
    observe_inputs()
    assert stale("campaign_briefs") and not stale("brand_rules")
    restyle = build(home)
    assert (restyle.drafts_generated, restyle.drafts_reused, restyle.new_versions) == (1, 0, 2)
    assert "drafts 1 generated (1 prompt changed), 0 reused" in restyle.line()  # says why it paid
    prompts = query(home, "SELECT DISTINCT prompt FROM briefs")[1]
    assert prompts and all("warm evening light" in p for (p,) in prompts)


@pytest.mark.slow
def test_nightly_rebuild_with_nothing_changed_generates_nothing_and_publishes_no_version(instance_home):
    home = instance_home
    build(home)
    published_before = sorted(p.relative_to(home.root) for p in home.published.rglob("*.png"))

    # Nothing changed: the nightly requests no run at all.
    assert nightly_rebuild(dg.build_schedule_context(instance=dg.DagsterInstance.get())) == []
    # And a run anyway (say `run --all`) costs no model call and publishes no version.
    (nightly,) = run_campaigns(home, ["rebuild"])
    assert nightly.success
    assert (nightly.drafts_generated, nightly.new_versions) == (0, 0)  # no model call, no version
    assert (nightly.renders_made, nightly.checks_run) == (0, 0)  # every later stage reused too
    assert versions(home) == [1, 1]
    assert sorted(p.relative_to(home.root) for p in home.published.rglob("*.png")) == published_before
