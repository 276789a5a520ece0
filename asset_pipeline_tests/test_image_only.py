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
