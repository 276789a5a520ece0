"""The Dagster layer: the graph declares every data flow, and each asset materializes alone
for one partition, reading only what its declared parents wrote."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from asset_pipeline.home import Home
from asset_pipeline.orchestration.assets import (
    INPUT_SOURCES,
    campaign_inputs,
    campaigns,
    check_results,
    draft_images,
    published_assets,
    typeset_images,
    upscaled_images,
)
from asset_pipeline.orchestration.checks import CHECKS, judge, quality_checks
from asset_pipeline.orchestration.definitions import STAGES, build_campaign, defs
from asset_pipeline.orchestration.resources import PipelineResource
from asset_pipeline.storage.tables import read_rows, write_rows
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

SMALL_BRIEF = """\
campaign: unit
brand: acme
assets:
  - id: hero
    prompt: "a mug"
    headline: "Spring Sale"
    sizes: ["300x250"]
"""

TWO_ASSETS = """\
campaign: unit
brand: acme
assets:
  - id: a
    prompt: "a mug"
    headline: "Spring Sale"
    sizes: ["300x250"]
  - id: b
    prompt: "a cup"
    headline: "Winter Mugs"
    sizes: ["300x250"]
"""


def _parents() -> dict[str, set[str]]:
    graph = defs.resolve_asset_graph()
    return {
        key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }


def test_definitions_load_and_the_graph_declares_every_flow():
    dg.Definitions.validate_loadable(defs)
    parents = _parents()
    # The brand split: style/negative reach prompts through campaign_briefs; the typography
    # part (brand_rules) enters at typesetting, below the drafts. Both are one snapshot step.
    # The reviewers' decisions reach drafts through the snapshot, and publication directly.
    assert parents["campaign_briefs"] == {"brief_file", "brand_style", "approvals"}
    assert parents["brand_rules"] == {"brand_typography"}
    # every model's evaluation qualifies it before it draws (test_evaluations.py)
    assert parents["draft_images"] == {"campaign_briefs", "model_evaluations"}
    assert parents["typeset_images"] == {"campaign_briefs", "brand_rules", "draft_images"}
    assert parents["upscaled_images"] == {"campaign_briefs", "draft_images", "typeset_images"}
    assert parents["check_results"] == {"brand_rules", "draft_images", "upscaled_images"}
    assert parents["published_assets"] == {
        "campaign_briefs",
        "draft_images",
        "upscaled_images",
        "check_results",
        "approvals",
    }
    graph = defs.resolve_asset_graph()
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    qualification = {("model_evaluations", "qualification_thresholds"), ("model_evaluations", "no_regression")}
    assert checks == {("check_results", name) for name in CHECKS} | qualification
    # the quality gates block publication; a model's qualification is enforced by the drafts stage's gate
    assert all(
        graph.get_check_spec(k).blocking for k in graph.asset_check_keys if k.asset_key.path == ["check_results"]
    )
    job = defs.resolve_job_def(build_campaign.name)
    assert {n.name for n in job.graph.node_defs} >= {
        "campaign_inputs",
        "draft_images",
        "quality_checks",
        "published_assets",
        "brief_file",
        "brand_style",
        "brand_typography",
    }
    assert all(s.partitions_def == campaigns for s in STAGES)
    assert all(graph.get(k).code_version for s in STAGES for k in s.keys)  # the UI flags code changes


# Which tables each asset reads (from its code) must be written by a declared ancestor.
READS = {
    "draft_images": {"snapshots", "briefs"},
    "typeset_images": {"snapshots", "briefs", "drafts"},
    "upscaled_images": {"snapshots", "layouts", "drafts"},
    "check_results": {"snapshots", "renders", "drafts"},
    "published_assets": {"briefs", "drafts", "renders", "checks", "publications"},
}
WRITES = {
    "campaign_briefs": {"snapshots", "briefs"},
    "brand_rules": {"snapshots"},
    "draft_images": {"drafts"},
    "typeset_images": {"layouts"},
    "upscaled_images": {"renders"},
    "check_results": {"checks"},
    "published_assets": {"publications"},
}


def test_every_table_an_asset_reads_comes_from_a_declared_parent_or_itself():
    parents = _parents()
    for asset, tables in READS.items():
        available = WRITES[asset] | {t for p in parents[asset] for t in WRITES.get(p, set())}
        assert tables <= available, (asset, tables - available)


@pytest.fixture
def unit_home(home):
    write_brief(home, "unit", SMALL_BRIEF)
    return home


def _materialize(home, assets, instance, extra=()):
    return dg.materialize(
        [*assets, *extra],
        partition_key="unit",
        instance=instance,
        resources={"pipeline": PipelineResource(home=str(home))},
    )


@pytest.fixture
def instance():
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaigns", ["unit"])
    return instance


def test_campaign_inputs_materializes_the_snapshot_and_one_row_per_deliverable(home, instance):
    write_brief(home, "unit", BRIEF)
    result = dg.materialize(
        [campaign_inputs, *INPUT_SOURCES],
        partition_key="unit",
        instance=instance,
        resources={"pipeline": PipelineResource(home=str(home))},
        selection=[*campaign_inputs.keys],
    )
    assert result.success
    metadata = result.asset_materializations_for_node("campaign_inputs")[0].metadata
    assert metadata["deliverables"].value == 6 and metadata["assets"].value == 1
    rows = read_rows(Home(home.resolve()), "briefs", "unit")
    assert sorted((r["variant"], r["size"]) for r in rows) == [
        (v, s) for v in (1, 2, 3) for s in ("1080x1080", "728x90")
    ]
    assert len({r["seed"] for r in rows}) == 3
    assert all("clean product photography" in r["prompt"] and r["disclaimer"] == "Offer ends May 31." for r in rows)
    [snapshot] = read_rows(Home(home.resolve()), "snapshots", "unit")
    files = {f["path"] for f in snapshot["input_files"]}
    assert {"briefs/unit.yaml", "brands/acme.yaml", "models.yaml"} <= files
    assert all(len(f["sha256"]) == 64 for f in snapshot["input_files"])
    assert '"tiny"' in snapshot["registry_json"]  # the routes the run resolved travel with it


def test_each_stage_materializes_alone_and_one_brand_edit_mid_run_changes_nothing(unit_home, instance):
    """Stage by stage, one asset per materialize; the brand file is edited after the snapshot.
    Every row of the run carries the snapshot's brand hash and its rules, not the edit's."""
    home = unit_home
    assert _materialize(home, [campaign_inputs], instance).success
    root = Home(home.resolve())
    brand_hash = read_rows(root, "briefs", "unit")[0]["brand_hash"]
    brand_file = home / "brands" / "acme.yaml"
    brand_file.write_text(
        brand_file.read_text().replace("min_font_px: 14", "min_font_px: 40") + 'banned_terms: ["spring"]\n'
    )

    for asset in (draft_images, typeset_images, upscaled_images):
        result = _materialize(home, [asset], instance)
        assert result.success, asset.key
    result = _materialize(home, [check_results], instance, extra=[quality_checks])
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == set(CHECKS) and all(e.passed for e in evaluations.values())
    assert _materialize(home, [published_assets], instance).success

    renders = read_rows(root, "renders", "unit")
    checks = read_rows(root, "checks", "unit")
    history = read_rows(root, "publications", "unit")
    assert {r["brand_hash"] for r in renders} == {brand_hash}
    assert {r["brand_hash"] for r in history} == {brand_hash}
    # The edit's banned term would reject "Spring Sale"; the run used the snapshot's rules.
    assert all(c["passed"] for c in checks)
    assert [r["status"] for r in history] == ["published"]
    assert {c["render_sha256"] for c in checks} == {renders[0]["image_sha256"]}


def test_publication_refuses_check_results_of_another_render(unit_home, instance):
    home = unit_home
    for asset in (campaign_inputs, draft_images, typeset_images, upscaled_images, check_results):
        assert _materialize(home, [asset], instance).success
    root = Home(home.resolve())
    checks = read_rows(root, "checks", "unit")
    # Results that judged some other render (say, a run whose checks were skipped).
    write_rows(root, "checks", "unit", [dict(c, render_sha256="0" * 64) for c in checks])
    assert _materialize(home, [published_assets], instance).success
    [entry] = __import__("json").loads((home / "published" / "unit" / "manifest.json").read_text())["deliverables"]
    assert entry["status"] == "rejected"
    assert entry["reasons"] == ["checks: no check results for this render"]


def test_judge_is_the_gate_over_check_rows():
    row = {"asset": "a", "variant": 1, "size": "300x250", "value": 1.0, "detail": "", "render_sha256": "x"}
    good = [dict(row, check=name, passed=True) for name in CHECKS]
    assert all(r.passed for r in judge(good))
    # One failing deliverable of six: a warning on that check, publication rejects it alone.
    many = [dict(r, asset=f"a{i}") for i in range(6) for r in good]
    many[0] = dict(many[0], passed=False)
    results = {r.check_name: r for r in judge(many)}
    assert not results["draft"].passed and results["draft"].severity == dg.AssetCheckSeverity.WARN
    # Most deliverables failing one check: systemic, an error that blocks the campaign.
    bad = [dict(r, passed=r["check"] != "ocr") for r in many]
    results = {r.check_name: r for r in judge(bad)}
    assert results["ocr"].severity == dg.AssetCheckSeverity.ERROR and not results["ocr"].passed
    # No OCR at all blocks every check.
    assert all(r.severity == dg.AssetCheckSeverity.ERROR and not r.passed for r in judge(good, ocr=False))


def test_typesetting_reuses_layouts_until_a_row_a_brand_rule_or_a_font_file_changes(home, instance):
    """A layout is cached by everything that shapes it: nothing changed lays out nothing, and a
    change to one asset's copy, a brand rule or a font file's bytes (same name) lays out again."""
    shutil.copy("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", home / "brands")  # found beside the brand
    write_brief(home, "unit", TWO_ASSETS)
    root = Home(home.resolve())

    def typeset_reused() -> int:
        assert _materialize(home, [campaign_inputs], instance).success
        result = _materialize(home, [typeset_images], instance)
        assert result.success
        return result.asset_materializations_for_node("typeset_images")[0].metadata["reused"].value

    def layouts() -> dict[str, str]:
        return {r["asset"]: r["layout"] for r in read_rows(root, "layouts", "unit")}

    assert _materialize(home, [campaign_inputs], instance).success
    assert _materialize(home, [draft_images], instance).success
    assert typeset_reused() == 0
    first = layouts()
    assert typeset_reused() == 2 and layouts() == first  # nothing changed

    write_brief(home, "unit", TWO_ASSETS.replace("Winter Mugs", "Winter Mugs and Cups"))
    assert typeset_reused() == 1  # only the edited asset
    assert layouts()["b"] != first["b"] and layouts()["a"] == first["a"]

    brand = home / "brands" / "acme.yaml"
    brand.write_text(brand.read_text().replace("min_font_px: 14", "min_font_px: 15"))
    assert typeset_reused() == 0

    before = layouts()
    shutil.copy(
        "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf", home / "brands" / "DejaVuSans-Bold.ttf"
    )
    assert typeset_reused() == 0
    assert layouts() != before  # the narrower face sets the headline differently
