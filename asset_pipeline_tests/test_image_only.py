"""Image-only deliverables (no headline, body or CTA, and a brand with no disclaimer): a background
plate or a product-only ad is valid input. It lays out (the logo in its place, the product in the
safe area), passes pre-flight, and publishes, judged by the seam check like any render."""

from __future__ import annotations

import functools
import hashlib
import io

import pytest
from PIL import Image, ImageDraw

from asset_pipeline.specs import Brand
from asset_pipeline.stages.preflight import deliverable_problems, preflight
from asset_pipeline.typography.layout import layout_text
from asset_pipeline.typography.logo import read_logo
from asset_pipeline.typography.product import place_product, read_product
from asset_pipeline_tests.support.products import alpha_product, encode

SIZES = [(1080, 1080), (1200, 628), (1080, 1920), (728, 90), (160, 600), (320, 50), (300, 250)]
BRAND = Brand(brand="plain")  # no disclaimer: nothing at all to set


@functools.cache
def logo():
    image = Image.new("RGBA", (240, 80), (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle((0, 0, 239, 79), 20, fill=(255, 90, 54, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    data = out.getvalue()
    return read_logo("logo", "logos/plain.png", data, hashlib.sha256(data).hexdigest())


@functools.cache
def product():
    data = encode(alpha_product())
    return read_product("products/cup.png", data, hashlib.sha256(data).hexdigest())


def row(width: int, height: int, **texts) -> dict:
    return {"asset": "plate", "variant": 1, "size": f"{width}x{height}", "width": width, "height": height, **texts}


def overlap(a, b) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


@pytest.mark.parametrize(
    "width, height, with_logo",
    [(w, h, False) for w, h in SIZES] + [(w, h, True) for w, h in SIZES if h > 50],  # 320x50: no room for a logo
)
def test_an_image_only_layout_sets_no_text_and_gives_the_product_the_safe_area(width, height, with_logo):
    logos = [logo()] if with_logo else []
    layout = place_product(layout_text(width, height, {}, BRAND, ".", logos), product())
    assert layout.boxes == [] and layout.panels == []
    assert (layout.logo is not None) == with_logo
    margin = BRAND.safe_margin * min(width, height)
    zone = [round(v) for v in (layout.product_zone[0] * width, layout.product_zone[1] * height)]
    right = (layout.product_zone[0] + layout.product_zone[2]) * width
    bottom = (layout.product_zone[1] + layout.product_zone[3]) * height
    assert zone[0] >= margin - 1 and zone[1] >= margin - 1 and right <= width - margin + 1
    assert bottom <= height - margin + 1
    placed = layout.product.pixel_box(width, height)
    if with_logo:  # the product never goes under the logo or its clear space
        assert overlap(placed, layout.logo.clear_box(width, height)) == 0
    # and it takes the room: at least half the safe area's shorter side
    assert min(placed[2] - placed[0], placed[3] - placed[1]) >= 0.4 * min(width, height) - 2 * margin


def test_pre_flight_passes_an_image_only_deliverable_and_still_checks_the_logo():
    rows = [row(w, h) for w, h in SIZES if h > 50]
    assert preflight(rows, BRAND, ".", [logo()], {"plate": product()}) == {}
    # what can still stop one: the logo below logo_min_px in a tiny banner
    problems = deliverable_problems(row(64, 32), BRAND.model_copy(update={"logo_min_px": 40}), ".", [logo()])
    assert problems and all(p.startswith("logo:") for p in problems), problems


def test_blank_texts_count_as_none():
    layout = layout_text(728, 90, {"headline": "  ", "body": None}, BRAND, ".")
    assert layout.boxes == []


PLATE_BRIEF = """\
campaign: plates
brand: acme
assets:
  - id: plate
    prompt: "soft pastel background"
    sizes: ["256x256", "512x64"]
  - id: shot
    prompt: "a wooden table"
    sizes: ["256x256"]
    product: products/cup.png
"""


@pytest.mark.slow
def test_an_image_only_campaign_publishes_and_every_render_is_judged_for_seams(home):
    """A background plate (with a 512x64 extension) and a product-only ad, under a brand with no
    disclaimer: everything publishes, no text is set, and the seams check judged every render."""
    import dagster as dg

    from asset_pipeline.home import Home
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
    from asset_pipeline.storage.tables import read_rows
    from asset_pipeline.typography.boxes import Layout
    from asset_pipeline_tests.conftest import write_brief

    brand = (home / "brands" / "acme.yaml").read_text()
    (home / "brands" / "acme.yaml").write_text(
        "".join(line for line in brand.splitlines(True) if "disclaimer" not in line)
    )
    (home / "media" / "products").mkdir(parents=True)
    (home / "media" / "products" / "cup.png").write_bytes(encode(alpha_product()))
    write_brief(home, "plates", PLATE_BRIEF)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaigns", ["plates"])
    stages = [campaign_inputs, draft_images, typeset_images, upscaled_images, check_results, published_assets]
    result = dg.materialize(
        [*stages, quality_checks],
        partition_key="plates",
        instance=instance,
        resources={"pipeline": PipelineResource(home=str(home))},
    )
    assert result.success
    root = Home(home.resolve())
    published = read_rows(root, "publications", "plates")
    assert {(r["asset"], r["size"], r["status"]) for r in published} == {
        ("plate", "256x256", "published"),
        ("plate", "512x64", "published"),
        ("shot", "256x256", "published"),
    }
    assert any(r["kind"] == "extension" for r in read_rows(root, "drafts", "plates"))  # 512x64 was outpainted
    assert all(Layout.from_json(r["layout"]).boxes == [] for r in read_rows(root, "renders", "plates"))
    checks = read_rows(root, "checks", "plates")
    seams = [c for c in checks if c["check"] == "seams"]
    assert len(seams) == 3 and all(c["passed"] for c in seams), [c["detail"] for c in seams]
    assert all(c["passed"] for c in checks), [c for c in checks if not c["passed"]]
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()}["seams"]
