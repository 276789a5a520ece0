"""product_integration: inpaint — the scene around the product repainted per size, by the asset's
own model, around where the layout puts the product: the ring's geometry as plain functions,
then the drafts stage with the tiny model, then one partition materialized."""

from __future__ import annotations

import hashlib
import io
import json

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from asset_pipeline.framing import Framer, crop_box
from asset_pipeline.home import Home
from asset_pipeline.lineage import format_lineage, lineage
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import load_registry
from asset_pipeline.publishing.encoding import read_provenance
from asset_pipeline.specs import AssetSpec, Brief
from asset_pipeline.stages.drafts import INTEGRATION, generate_drafts, why_generated
from asset_pipeline.stages.typeset import integrated_here
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.tables import read_rows
from asset_pipeline.typography.boxes import Layout, ProductBox
from asset_pipeline.typography.product import (
    MIN_RING_PX,
    OPAQUE,
    box_in_frame,
    integration_mask,
    read_product,
    ring_radius,
)
from asset_pipeline_tests.conftest import write_brief
from asset_pipeline_tests.support.drafts import brief_rows
from asset_pipeline_tests.support.products import alpha_product, encode
from asset_pipeline_tests.test_product_orchestration import BRIEF as COMPOSITED
from asset_pipeline_tests.test_product_orchestration import build, meta


def cup_source():
    data = encode(alpha_product())
    return read_product("products/cup.png", data, hashlib.sha256(data).hexdigest())


def product_box(source, x=0.3, y=0.3, w=0.4, h=0.4) -> ProductBox:
    return ProductBox(
        x=x,
        y=y,
        w=w,
        h=h,
        path=source.path,
        sha256=source.sha256,
        cutout_sha256=source.cutout_sha256,
        mask_sha256=source.mask_sha256,
        method=source.method,
    )


# ------------------------------------------------------------------ the ring, plain functions


def test_the_ring_surrounds_the_product_spares_its_body_and_stops_at_its_radius():
    source = cup_source()
    box = (60, 50, 160, 150)  # 100 x 100 px in a 240 x 200 frame
    mask = np.asarray(integration_mask((240, 200), source.cutout, box)) > 0
    alpha = np.zeros((200, 240), dtype=np.uint8)
    with Image.open(io.BytesIO(source.cutout)) as cut:
        alpha[50:150, 60:160] = np.asarray(cut.convert("RGBA").resize((100, 100)).getchannel("A"))
    radius = ring_radius(box)
    assert radius == max(MIN_RING_PX, 12)
    assert not mask[alpha >= OPAQUE].any()  # the product's body is never repainted
    assert mask[100, 60 - radius // 2] and mask[100, 160 + radius // 2]  # left and right of the cup
    assert not mask[100, : 60 - radius - 2].any() and not mask[:5].any()  # the rest of the picture is kept
    assert 0.05 < mask.mean() < 0.3


def test_a_product_box_maps_through_the_frame_its_size_is_cut_from():
    # the deliverable's middle half of a 400 x 200 frame cut at (100, 0, 300, 200)
    assert box_in_frame((0.25, 0.25, 0.5, 0.5), (100, 0, 300, 200)) == (150, 50, 250, 150)
    assert box_in_frame((0.0, 0.0, 1.0, 1.0), (0, 0, 64, 32)) == (0, 0, 64, 32)


def test_inpaint_needs_a_product_and_the_default_leaves_brief_hashes_alone():
    with pytest.raises(ValueError, match="give `product` too"):
        AssetSpec.model_validate({"id": "a", "prompt": "p", "sizes": ["64x64"], "product_integration": "inpaint"})
    with pytest.raises(ValueError):
        AssetSpec.model_validate(
            {"id": "a", "prompt": "p", "sizes": ["64x64"], "product": "p.png", "product_integration": "blend"}
        )
    asset = {"id": "a", "prompt": "p", "sizes": ["64x64"], "product": "p.png"}
    plain = Brief.model_validate({"campaign": "c", "brand": "b", "assets": [asset]})
    painted = Brief.model_validate(
        {"campaign": "c", "brand": "b", "assets": [{**asset, "product_integration": "inpaint"}]}
    )
    assert "product_integration" not in plain.hash_part()["assets"][0]  # briefs from before the field
    assert painted.hash_part()["assets"][0]["product_integration"] == "inpaint"


def test_an_integration_serves_only_a_layout_with_the_product_where_it_was_painted():
    source = cup_source()
    integration = {"product_box": [0.3, 0.3, 0.4, 0.4], "extends": "base"}
    here = Layout(100, 100, [], "square", product=product_box(source))
    mirrored = Layout(100, 100, [], "square", product=product_box(source, x=0.3001))
    assert integrated_here(integration, here)
    assert not integrated_here(integration, mirrored)  # e.g. a right-to-left locale's mirrored layout
    assert not integrated_here(integration, Layout(100, 100, [], "square"))
    assert integrated_here({"product_box": []}, mirrored)  # any other draft serves any layout


# ------------------------------------------------------------------ the drafts stage, tiny model


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_the_ring_is_repainted_the_rest_kept_and_a_moved_product_repaints_it(home):
    root = Home(home.resolve())
    source = cup_source()
    ObjectStore(root).put_bytes(source.cutout)
    rows = [dict(r, product_integration="inpaint") for r in brief_rows("tiny", 7, sizes=((320, 320), (480, 240)))]
    boxes = {("hero", "320x320"): product_box(source), ("hero", "480x240"): product_box(source, 0.55, 0.2, 0.3, 0.6)}
    registry, generator = load_registry(home), DraftGenerator()

    first = generate_drafts(rows, registry, generator, root, placements=boxes)
    by_key = {d["draft_key"]: d for d in first}
    painted = {s: d for d in first if d["kind"] == INTEGRATION for s in d["sizes"]}
    assert set(painted) == {"320x320", "480x240"}
    assert all(s not in d["sizes"] for d in first if d["kind"] != INTEGRATION for s in painted)
    store = ObjectStore(root)
    for size, (width, height) in {"320x320": (320, 320), "480x240": (480, 240)}.items():
        row = painted[size]
        assert row["product_box"] == [boxes[("hero", size)].x, boxes[("hero", size)].y] + [
            boxes[("hero", size)].w,
            boxes[("hero", size)].h,
        ]
        base = by_key[row["extends"]]
        assert base["kind"] == "key" and row["seed"] == base["seed"] and not row["cache_hit"]
        out = np.asarray(store.open(row["image_sha256"]), dtype=np.float32)
        assert out.shape[:2] == (row["height"], row["width"])
        # the same frame of the key visual, resampled as the stage does, for comparison
        where = box_in_frame(tuple(row["product_box"]), crop_box(row["width"], row["height"], width, height))
        ring = np.asarray(integration_mask((row["width"], row["height"]), source.cutout, where)) > 0
        far = ~_grown(ring | _footprint(source, where, out.shape), 12)
        key = store.open(base["image_sha256"])
        frame = tuple(round(v, 3) for v in Framer(first, store).box(base, row["width"], row["height"]))
        crop = np.asarray(key.resize((row["width"], row["height"]), Image.Resampling.LANCZOS, box=frame), np.float32)
        assert np.abs(out - crop)[far].max() <= 1.0  # everything away from the product is the key visual's
        assert np.abs(out - crop)[ring].mean() > 3.0  # and the ring was painted

    again = generate_drafts(rows, registry, generator, root, placements=boxes)
    assert all(d["cache_hit"] for d in again)  # a rebuild pays for nothing
    assert [d["image_sha256"] for d in again] == [d["image_sha256"] for d in first]

    moved = {**boxes, ("hero", "320x320"): product_box(source, 0.1, 0.5, 0.35, 0.35)}
    third = generate_drafts(rows, registry, generator, root, placements=moved)
    assert why_generated(first, third, [], []) == {"product placement changed": 1}


def test_a_model_that_cannot_inpaint_leaves_the_product_composited_and_says_so(home, monkeypatch):
    from asset_pipeline.models.generation import GenerationError

    def refuse(*args, **kwargs):
        raise GenerationError("tiny cannot inpaint: no such pipeline")

    monkeypatch.setattr(DraftGenerator, "inpaint", refuse)
    source = cup_source()
    ObjectStore(Home(home.resolve())).put_bytes(source.cutout)
    rows = [dict(r, product_integration="inpaint") for r in brief_rows("tiny", 5)]
    [key] = generate_drafts(
        rows,
        load_registry(home),
        DraftGenerator(),
        Home(home.resolve()),
        placements={("hero", "256x256"): product_box(source)},
    )
    assert key["kind"] == "key" and key["sizes"] == ["256x256"]  # the size is served by the key visual
    assert key["notes"] == [
        "256x256: product integration failed (GenerationError: tiny cannot inpaint: no such pipeline); "
        "composited instead"
    ]


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_typesetting_cuts_each_size_from_its_integration_only_where_the_layout_agrees(home):
    from asset_pipeline.specs import Brand
    from asset_pipeline.stages.preflight import product_placements
    from asset_pipeline.stages.typeset import typeset

    root = Home(home.resolve())
    source = cup_source()
    store = ObjectStore(root)
    store.put_bytes(source.cutout)
    brand = Brand.model_validate({"brand": "acme"})
    rows = [
        {**r, "headline": "Spring Sale", "body": None, "cta": None, "disclaimer": None}
        for r in brief_rows("tiny", 3, sizes=((320, 320), (480, 240)))
    ]
    rows = [dict(r, product_integration="inpaint") for r in rows]
    placed = product_placements(rows, brand, home / "brands", [], {"hero": source})
    elsewhere = {**placed, ("hero", "480x240"): product_box(source, 0.05, 0.05, 0.2, 0.4)}
    drafts = generate_drafts(rows, load_registry(home), DraftGenerator(), root, placements=elsewhere)
    kinds = {d["draft_key"]: d["kind"] for d in drafts}
    layouts, _ = typeset(rows, drafts, brand, home / "brands", store, products={"hero": source})
    used = {r["size"]: kinds[r["draft_key"]] for r in layouts}
    assert all(r["error"] is None for r in layouts), [r["error"] for r in layouts]
    # 320x320's ring is where its layout puts the product; 480x240's was painted elsewhere
    assert used == {"320x320": INTEGRATION, "480x240": "key"}


def _footprint(source, box, shape) -> np.ndarray:
    left, top, right, bottom = box
    alpha = np.zeros(shape[:2], dtype=bool)
    with Image.open(io.BytesIO(source.cutout)) as cut:
        resized = cut.convert("RGBA").resize((right - left, bottom - top)).getchannel("A")
    alpha[top:bottom, left:right] = np.asarray(resized) > 0
    return alpha


def _grown(mask: np.ndarray, px: int) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, iterations=px)


# ------------------------------------------------------------------ one partition, materialized

# test_product_orchestration's campaign (a product asset and a plain one), its product integrated
BRIEF = COMPOSITED.replace(
    "    product: products/cup.png\n", "    product: products/cup.png\n    product_integration: inpaint\n"
)


@pytest.mark.slow
def test_an_integrated_product_is_published_checked_and_traced_and_a_layout_edit_repaints_only_its_rings(home):
    (home / "media" / "products").mkdir(parents=True)
    (home / "media" / "products" / "cup.png").write_bytes(encode(alpha_product()))
    write_brief(home, "shots", BRIEF)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaigns", ["shots"])
    root = Home(home.resolve())

    first = build(home, instance)
    drafts = read_rows(root, "drafts", "shots")
    integrations = {s: d for d in drafts if d["kind"] == INTEGRATION for s in d["sizes"]}
    assert set(integrations) == {"300x250", "728x90"}
    renders = {r["size"]: r for r in read_rows(root, "renders", "shots") if r["asset"] == "hero"}
    assert all(renders[s]["draft_sha256"] == integrations[s]["image_sha256"] for s in integrations)
    checks = read_rows(root, "checks", "shots")
    assert all(c["passed"] for c in checks), [c for c in checks if not c["passed"]]
    assert {c["size"] for c in checks if c["check"] == "product"} == {"300x250", "728x90"}
    manifest = json.loads((home / "published" / "shots" / "manifest.json").read_text())
    entry = next(e for e in manifest["deliverables"] if e["asset"] == "hero" and e["size"] == "300x250")
    _, chunks = read_provenance((home / entry["path"]).read_bytes())
    assert (
        chunks["product_integration"].startswith("inpaint")
        and chunks["draft_sha256"] == renders["300x250"]["draft_sha256"]
    )
    chain = lineage(root, home / entry["path"])
    assert chain["draft"]["product_integration"] == chunks["product_integration"]
    assert chunks["product_integration"] in format_lineage(chain)
    # two key visuals, the banner's extension and the hero's two rings
    assert meta(first, "draft_images")["generated"] == 5

    second = build(home, instance)
    assert meta(second, "draft_images")["generated"] == 0  # nothing changed: nothing painted

    # A wider safe margin moves the product in every size: only its rings are painted again.
    brand = home / "brands" / "acme.yaml"
    brand.write_text(brand.read_text().replace("safe_margin: 0.05", "safe_margin: 0.1"))
    third = build(home, instance)
    after = read_rows(root, "drafts", "shots")
    assert all(d["cache_hit"] for d in after if d["kind"] != INTEGRATION)  # the key visual is not drawn again
    assert meta(third, "draft_images")["generated"] == 2
    assert meta(third, "draft_images")["generated_because"] == {"product placement changed": 2}


def test_product_placements_come_from_the_first_locale_and_only_for_inpaint(home):
    from asset_pipeline.specs import Brand
    from asset_pipeline.stages.preflight import product_placements

    source = cup_source()
    brand = Brand.model_validate({"brand": "acme"})
    rows = [
        {**r, "headline": "Spring Sale", "product_integration": integration, "asset": asset}
        for asset, integration in (("painted", "inpaint"), ("pasted", "composite"))
        for r in brief_rows("tiny", 1, sizes=((1080, 1080), (1200, 628)))
    ]
    found = product_placements(rows, brand, home / "brands", [], {"painted": source, "pasted": source})
    assert set(found) == {("painted", "1080x1080"), ("painted", "1200x628")}
    assert all(box.cutout_sha256 == source.cutout_sha256 and 0 < box.w <= 1 for box in found.values())
