"""A campaign with a product shot, materialized for one partition: the product is composited and
checked, its hash reaches the snapshot, the PNG provenance and `lineage`; a changed product
file regenerates no draft and re-renders that asset's deliverables."""

from __future__ import annotations

import hashlib
import json

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from asset_pipeline.home import Home
from asset_pipeline.lineage import format_lineage, lineage
from asset_pipeline.orchestration.assets import (
    campaign_inputs,
    check_results,
    draft_images,
    published_assets,
    typeset_images,
    upscaled_images,
)
from asset_pipeline.orchestration.checks import quality_checks
from asset_pipeline.orchestration.resources import PipelineResource
from asset_pipeline.publishing.encoding import read_provenance
from asset_pipeline.storage.tables import read_rows
from asset_pipeline_tests.conftest import write_brief
from asset_pipeline_tests.support.products import alpha_product, encode

BRIEF = """\
campaign: shots
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    headline: "Spring Sale"
    cta: "Shop now"
    sizes: ["300x250", "728x90"]
    product: products/cup.png
  - id: plain
    prompt: "a wooden table"
    headline: "New in"
    sizes: ["300x250"]
"""
STAGES = [campaign_inputs, draft_images, typeset_images, upscaled_images, check_results, published_assets]


def build(home, instance) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [*STAGES, quality_checks],
        partition_key="shots",
        instance=instance,
        resources={"pipeline": PipelineResource(home=str(home))},
    )
    assert result.success
    return result


def meta(result, node: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


@pytest.mark.slow
def test_a_product_shot_is_composited_checked_and_traced_and_a_new_one_makes_no_draft(home):
    (home / "media" / "products").mkdir(parents=True)
    cup = home / "media" / "products" / "cup.png"
    cup.write_bytes(encode(alpha_product()))
    write_brief(home, "shots", BRIEF)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaigns", ["shots"])
    root = Home(home.resolve())

    first = build(home, instance)
    sha = hashlib.sha256(cup.read_bytes()).hexdigest()
    [snapshot] = read_rows(root, "snapshots", "shots")
    assert {"path": "media/products/cup.png", "sha256": sha} in snapshot["input_files"]
    checks = read_rows(root, "checks", "shots")
    product_rows = [c for c in checks if c["check"] == "product"]
    assert {(c["asset"], c["size"]) for c in product_rows} == {("hero", "300x250"), ("hero", "728x90")}
    assert all(c["passed"] for c in product_rows), [c["detail"] for c in product_rows]
    evaluations = {e.check_name: e for e in first.get_asset_check_evaluations()}
    assert evaluations["product"].passed
    assert all(c["passed"] for c in checks), [c for c in checks if not c["passed"]]

    manifest = json.loads((home / "published" / "shots" / "manifest.json").read_text())
    hero = next(e for e in manifest["deliverables"] if e["asset"] == "hero" and e["size"] == "300x250")
    published = home / hero["path"]
    _, chunks = read_provenance(published.read_bytes())
    assert chunks["product"] == "products/cup.png" and chunks["product_sha256"] == sha
    assert len(chunks["product_mask_sha256"]) == 64 and chunks["product_method"] == "alpha"
    chain = lineage(root, published)
    assert chain["media"]["product"]["sha256"] == sha
    assert f"media/products/cup.png sha256 {sha}" in format_lineage(chain)
    plain = next(e for e in manifest["deliverables"] if e["asset"] == "plain")
    assert "product" not in read_provenance((home / plain["path"]).read_bytes())[1]
    with Image.open(published) as image:  # the cup's red is in the published pixels
        pixels = np.asarray(image.convert("RGB"), dtype=int)
    assert ((pixels[..., 0] > 120) & (pixels[..., 1] < 60) & (pixels[..., 2] < 50)).mean() > 0.02

    renders_before = {(r["asset"], r["size"]): r["image_sha256"] for r in read_rows(root, "renders", "shots")}
    drafts_before = {r["image_sha256"] for r in read_rows(root, "drafts", "shots")}
    # A new product photo: the same cup, recoloured
    recoloured = alpha_product()
    r, g, b, a = recoloured.split()
    cup.write_bytes(encode(Image.merge("RGBA", (b, g, r, a))))

    second = build(home, instance)
    assert meta(second, "draft_images")["generated"] == 0
    assert {r["image_sha256"] for r in read_rows(root, "drafts", "shots")} == drafts_before
    renders_after = {(r["asset"], r["size"]): r["image_sha256"] for r in read_rows(root, "renders", "shots")}
    changed = {key for key in renders_after if renders_after[key] != renders_before[key]}
    assert changed == {("hero", "300x250"), ("hero", "728x90")}  # only the asset with the product
    assert meta(second, "upscaled_images")["cache_hits"] == 1
    history = read_rows(root, "publications", "shots")
    assert max(h["version"] for h in history if h["asset"] == "hero") == 2
    new_sha = hashlib.sha256(cup.read_bytes()).hexdigest()
    manifest = json.loads((home / "published" / "shots" / "manifest.json").read_text())
    hero = next(e for e in manifest["deliverables"] if e["asset"] == "hero" and e["size"] == "300x250")
    assert lineage(root, home / hero["path"])["media"]["product"]["sha256"] == new_sha
