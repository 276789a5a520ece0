"""Design: optical alignment, one treatment per block, the type scale, the CTA plate, the logo,
the product zone, the edge band and pre-flight, as plain functions."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from asset_pipeline.checks.design import alignment_spread, design_lint
from asset_pipeline.checks.edges import EDGE_MAX_DELTA_E, check_edge_band, edge_band_delta_e
from asset_pipeline.colour import contrast_ratio
from asset_pipeline.home import Home, HomePathError
from asset_pipeline.presets import find as find_preset
from asset_pipeline.presets import free_area
from asset_pipeline.specs import Brand, InputError, load_brand
from asset_pipeline.stages.preflight import brand_logos, preflight_problems
from asset_pipeline.typography import LayoutError, choose_colours, layout_text, render_layout
from asset_pipeline.typography.boxes import Layout, to_pixels
from asset_pipeline.typography.logo import read_logo

HERE = Path(__file__).parent
TEXTS = {
    "headline": "Wonderful Spring Sale",
    "body": "Up to 50% off every handmade mug and bowl",
    "cta": "Shop now",
    "disclaimer": "Offer ends May 31.",
}
SIZES = [(1080, 1080), (1200, 628), (1080, 1920), (728, 90), (300, 250), (160, 600), (970, 250)]


def brand(**overrides) -> Brand:
    return Brand(brand="acme", disclaimer="Offer ends May 31.", **overrides)


def logo_png(width: int = 240, height: int = 80) -> bytes:
    """A wordmark-shaped test logo drawn with Pillow: a rounded coral bar with a white dot, on alpha."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), height // 4, fill=(255, 90, 54, 255))
    draw.ellipse((height // 5, height // 5, height - height // 5, height - height // 5), fill=(255, 255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def logo_source(data: bytes | None = None, field: str = "logo"):
    data = data or logo_png()
    return read_logo(field, "logos/acme.png", data, hashlib.sha256(data).hexdigest())


def rects_overlap(a, b) -> bool:
    return not (a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


# ---------------------------------------------------------------- optical alignment


@pytest.mark.parametrize("width,height", SIZES)
def test_ink_edges_of_a_block_line_up_within_one_pixel(width, height):
    texts = {**TEXTS, "headline": "Wonderful 1 Sale", "body": "Tea, 50% off: all Vases"}  # W, 1, T, V bearings
    layout = layout_text(width, height, texts, brand(), HERE)
    assert alignment_spread(layout) <= 1.0


def test_ink_edges_line_up_in_the_rendered_pixels():
    """Measured from the drawn image: the first ink column of every box in a left-aligned block."""
    texts = {"headline": "Wonderful", "body": "Tea time", "cta": "Join", "disclaimer": "1 per order"}
    layout = layout_text(1080, 1080, texts, brand(), HERE)
    layout = Layout(1080, 1080, [b.__class__(**{**b.__dict__, "plate": None}) for b in layout.boxes], "square")
    image = np.asarray(render_layout(Image.new("RGB", (1080, 1080)), layout).convert("L")) > 96
    lefts = []
    for box in layout.boxes:
        left, top, right, bottom = box.pixel_box(1080, 1080)
        columns = np.flatnonzero(image[top:bottom, left:right].any(axis=0))
        lefts.append(left + columns[0])
    assert max(lefts) - min(lefts) <= 1, lefts


def test_padding_grows_outward_and_never_pushes_text_inward():
    layout = layout_text(1080, 1080, TEXTS, brand(), HERE)
    margin = round(0.05 * 1080)
    for box in layout.boxes:
        ink_left = box.ink_box(1080, 1080)[0]
        assert abs(ink_left - margin) <= 1  # every block's ink starts at the margin, whatever its size
        assert box.pixel_box(1080, 1080)[0] < ink_left  # the box (and plate) reaches beyond


# ---------------------------------------------------------------- one treatment per block


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("width,height", SIZES)
def test_one_scrim_per_block_and_one_polarity_per_deliverable(width, height):
    layout = layout_text(width, height, TEXTS, brand(), HERE)
    layout = choose_colours(layout, noise(width // 4, height // 4), brand())
    roles = [role for panel in layout.panels for role in panel.roles]
    assert sorted(roles) == sorted(TEXTS)  # every box in exactly one block
    assert all(box.scrim is None for box in layout.boxes)  # no per-line scrims
    for panel in layout.panels:
        if any(r != "cta" for r in panel.roles):
            assert panel.kind == "scrim"
        members = [b for b in layout.boxes if b.role in panel.roles]
        box = to_pixels((panel.x, panel.y, panel.w, panel.h), width, height)
        for member in members:  # the panel covers the whole block
            left, top, right, bottom = member.pixel_box(width, height)
            assert box[0] <= left and box[1] <= top and box[2] >= right and box[3] >= bottom
    colours = {box.color for box in layout.boxes if box.role != "cta"}
    assert colours == {layout.polarity}


# ---------------------------------------------------------------- type scale


@pytest.mark.parametrize("width,height", SIZES)
def test_type_scale_ratios_per_family(width, height):
    layout = layout_text(width, height, TEXTS, brand(), HERE)
    size = {box.role: box.font_px for box in layout.boxes}
    assert size["headline"] >= 1.5 * size["body"]
    assert size["cta"] >= size["body"]
    assert brand().min_font_px <= size["disclaimer"] <= size["body"]


def test_portrait_formats_use_their_height():
    layout = layout_text(1080, 1920, TEXTS, brand(), HERE)
    headline, cta = layout.box("headline"), layout.box("cta")
    square = layout_text(1080, 1080, TEXTS, brand(), HERE).box("headline")
    assert headline.y < 0.3 and cta.y > 0.7  # headline high, CTA low
    assert headline.font_px > square.font_px  # and a larger headline than the square's
    sky = layout_text(160, 600, TEXTS, brand(), HERE)
    assert sky.box("headline").y < 0.3 and sky.box("cta").y > 0.6
    assert len(sky.box("disclaimer").lines) == 1


def test_banners_keep_half_their_height_free_at_each_end_and_put_the_disclaimer_by_the_cta():
    layout = layout_text(728, 90, TEXTS, brand(), HERE)
    for box in layout.boxes:
        left, _, right, _ = box.ink_box(728, 90)
        assert left >= 45 and right <= 728 - 45
    cta, disclaimer = layout.box("cta"), layout.box("disclaimer")
    assert disclaimer.y > cta.y and abs((disclaimer.x + disclaimer.w / 2) - (cta.x + cta.w / 2)) < 0.01


# ---------------------------------------------------------------- the CTA plate


def test_cta_plate_on_its_own_colour_gets_an_outline_or_another_colour():
    coral = Image.new("RGB", (1080, 1080), (255, 90, 54))  # the accent itself
    layout = choose_colours(layout_text(1080, 1080, TEXTS, brand(), HERE), coral, brand())
    cta = layout.box("cta")
    assert cta.plate_treatment in ("outline", "alternate")
    assert cta.plate_contrast >= 3.0
    if cta.plate_treatment == "outline":
        assert contrast_ratio(cta.plate_outline, "#FF5A36") >= 3.0 and cta.plate_outline_px >= 2
    on_white = choose_colours(
        layout_text(1080, 1080, TEXTS, brand(), HERE), Image.new("RGB", (99, 99), "white"), brand()
    )
    assert on_white.box("cta").plate_treatment == "accent" and on_white.box("cta").plate_contrast >= 3.0


# ---------------------------------------------------------------- the logo


@pytest.mark.parametrize("width,height", SIZES)
@pytest.mark.parametrize("position", ["top-left", "top-right", "bottom-left", "bottom-right", "auto"])
def test_logo_placement_and_clear_space(width, height, position):
    rules = brand(logo="logos/acme.png", logo_position=position, logo_min_px=16)
    layout = layout_text(width, height, TEXTS, rules, HERE, [logo_source()])
    logo = layout.logo.pixel_box(width, height)
    clear = layout.logo.clear_box(width, height)
    assert min(logo[2] - logo[0], logo[3] - logo[1]) >= 16
    assert abs((logo[2] - logo[0]) / (logo[3] - logo[1]) - 3.0) < 0.1  # its own aspect
    wanted = position if position != "auto" else "top-left"
    if layout.family != "banner":
        assert (logo[1] < height / 2) == wanted.startswith("top")
    assert (logo[0] < width / 2) == wanted.endswith("left")
    for box in layout.boxes:
        assert not rects_overlap(box.pixel_box(width, height), clear), (box.role, clear)
    lint = {r.detail.split(":")[0]: r for r in design_lint(layout, rules)}
    assert lint["clear space"].passed and lint["overlaps"].passed


def test_too_small_for_the_logo_is_rejected_with_numbers_or_uses_logo_small():
    rules = brand(logo="logos/acme.png", logo_min_px=40)
    with pytest.raises(LayoutError, match=r"logo: \d+x\d+ px at most in 160x600 .*logo_min_px is 40"):
        layout_text(160, 600, TEXTS, rules, HERE, [logo_source()])
    mark = logo_source(logo_png(80, 80), field="logo_small")  # a square mark fits where the wordmark does not
    layout = layout_text(
        160, 600, TEXTS, rules.model_copy(update={"logo_small": "logos/mark.png"}), HERE, [logo_source(), mark]
    )
    assert layout.logo.source == "logo_small"


def test_logo_is_drawn_from_its_source_at_final_size():
    data = logo_png()
    rules = brand(logo="logos/acme.png")
    layout = layout_text(1080, 1080, TEXTS, rules, HERE, [logo_source(data)])
    image = render_layout(Image.new("RGB", (1080, 1080), "white"), layout, data)
    left, top, right, bottom = layout.logo.pixel_box(1080, 1080)
    patch = np.asarray(image.crop((left, top, right, bottom)))
    assert (np.abs(patch[(bottom - top) // 2, -5].astype(int) - (255, 90, 54)) < 8).all()  # coral, crisp


def test_media_paths_never_leave_media(tmp_path):
    for bad in ["../secret.png", "/etc/logo.png", "logos/../../x.png", "logo.gif"]:
        with pytest.raises(Exception, match="media|absolute|png"):
            Brand(brand="acme", logo=bad)
    home = Home(tmp_path)
    (tmp_path / "media").mkdir()
    (tmp_path / "outside.png").write_bytes(logo_png())
    (tmp_path / "media" / "link.png").symlink_to(tmp_path / "outside.png")
    with pytest.raises(HomePathError, match="leaves media"):
        home.media_path("link.png")
    with pytest.raises(InputError, match="leaves media"):
        brand_logos(home, brand(logo="link.png"), "brands/acme.yaml")


def test_a_logo_without_alpha_is_refused(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (50, 20), "red").save(out, "PNG")
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "flat.png").write_bytes(out.getvalue())
    with pytest.raises(InputError, match="no alpha"):
        brand_logos(Home(tmp_path), brand(logo="flat.png"), "brands/acme.yaml")


def test_svg_logos_render_and_external_references_are_refused(tmp_path):
    pytest.importorskip("resvg_py")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#FF5A36"/></svg>'
    source = read_logo("logo", "acme.svg", svg, hashlib.sha256(svg).hexdigest())
    assert (source.kind, source.width, source.height) == ("svg", 120, 40)
    from asset_pipeline.typography.logo import LogoError, logo_image

    assert logo_image("svg", svg, 300, 100).size == (300, 100)
    evil = b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="/etc/passwd"/></svg>'
    with pytest.raises(LogoError, match="external"):
        read_logo("logo", "evil.svg", evil, "0" * 64)


# ---------------------------------------------------------------- the preset's safe zones


def story_zones() -> list[dict]:
    return [dict(zone.__dict__) for zone in find_preset("story").keep_out]


def safe_zones_result(results):
    found = [r for r in results if r.detail.startswith("safe zones:")]
    assert len(found) == 1, [r.detail for r in results]
    return found[0]


def test_a_story_laid_out_in_its_free_area_passes_the_safe_zone_lint():
    zones = story_zones()
    rules = brand(logo="logos/acme.png")
    layout = layout_text(1080, 1920, TEXTS, rules, HERE, [logo_source()], area=free_area({"keep_out": zones}))
    result = safe_zones_result(design_lint(layout, rules, zones))
    assert result.passed and result.value == 0.0
    assert result.detail == "safe zones: text, CTA and logo clear of 2 keep-out zone(s)"
    # Sizes without zones get no safe-zone figure (and the other figures are unchanged).
    assert not [r for r in design_lint(layout, rules) if r.detail.startswith("safe zones:")]


def test_a_layout_placed_into_a_keep_out_band_fails_with_the_box_zone_and_area():
    zones = story_zones()
    rules = brand(logo="logos/acme.png", logo_position="top-left")
    # Laid out for the full frame, as if the preset's band were ignored: the logo sits in the top
    # band and the CTA and disclaimer at the bottom of the frame, in the reply bar's band.
    layout = layout_text(1080, 1920, TEXTS, rules, HERE, [logo_source()])
    result = safe_zones_result(design_lint(layout, rules, zones))
    top, bottom = (0, 0, 1080, round(0.14 * 1920)), (0, round(0.80 * 1920), 1080, 1920)

    def inside(box, zone):
        return max(0, min(box[2], zone[2]) - max(box[0], zone[0])) * max(0, min(box[3], zone[3]) - max(box[1], zone[1]))

    boxes = {b.role: b.pixel_box(1080, 1920) for b in layout.boxes}
    cta = layout.box("cta")
    if cta.plate and cta.plate_outline:  # an outlined plate covers its outline too
        grow = cta.plate_outline_px or 0
        boxes["cta"] = (boxes["cta"][0] - grow, boxes["cta"][1] - grow, boxes["cta"][2] + grow, boxes["cta"][3] + grow)
    boxes["logo"] = layout.logo.pixel_box(1080, 1920)
    named = {"stories top band (profile, progress bar)": top, "stories bottom band (reply bar, call to action)": bottom}
    expected = [(role, zone, inside(box, rect)) for zone, rect in named.items() for role, box in boxes.items()]
    expected = [hit for hit in expected if hit[2]]
    assert {"logo", "cta"} <= {role for role, _, _ in expected}  # the layout really is in both bands
    assert not result.passed and result.value == float(sum(area for _, _, area in expected))
    assert result.detail == "safe zones: " + "; ".join(f"{r} overlaps {z} by {a} px²" for r, z, a in expected)


def test_the_checks_stage_measures_the_briefs_safe_zones(tmp_path):
    """run_checks gets each deliverable's zones and fails the design lint of a render made without them."""
    from asset_pipeline.stages.quality import run_checks
    from asset_pipeline.storage.cache import ResultCache
    from asset_pipeline.storage.objects import ObjectStore

    home = Home(tmp_path.resolve())
    store, rules = ObjectStore(home), brand()
    background = Image.new("RGB", (1080, 1920), (40, 90, 120))
    layout = choose_colours(layout_text(1080, 1920, TEXTS, rules, HERE), background, rules)  # no band
    sha = store.put_image(render_layout(background, layout))
    render = dict(campaign="c", asset="hero", variant=1, size="1080x1920", image_sha256=sha, layout=layout.to_json())
    render.update(error=None)
    zones = {("hero", 1, "1080x1920"): story_zones()}

    def lint(keep_out):
        rows, _ = run_checks([render], rules, store, ResultCache(home, "checks"), workers=1, keep_out=keep_out)
        return [r for r in rows if r["check"] == "design_lint" and r["detail"].startswith("safe zones:")]

    assert lint(None) == []  # a plain 1080x1920: no zones to measure
    (measured,) = lint(zones)  # the same render as a story: not served from the zone-less cache entry
    assert not measured["passed"] and measured["value"] > 0
    assert "overlaps stories bottom band (reply bar, call to action) by " in measured["detail"]


# ---------------------------------------------------------------- the product zone


@pytest.mark.parametrize("width,height", SIZES)
def test_product_zone_is_free_of_text_and_logo(width, height):
    rules = brand(logo="logos/acme.png", logo_min_px=16)
    short = {"headline": "Spring Sale", "body": "Up to 50% off mugs", "cta": "Shop now"}
    for texts in (short, TEXTS):  # typical copy keeps the zone; long copy may shrink it, never cover it
        layout = layout_text(width, height, {**texts, "disclaimer": "Offer ends May 31."}, rules, HERE, [logo_source()])
        x, y, w, h = layout.product_zone
        assert 0 <= x and 0 <= y and x + w <= 1.0001 and y + h <= 1.0001
        zone = to_pixels(layout.product_zone, width, height)
        if texts is short:
            assert (zone[2] - zone[0]) * (zone[3] - zone[1]) > 0.08 * width * height
        for box in layout.boxes:
            assert not rects_overlap(box.pixel_box(width, height), zone), box.role
        assert not rects_overlap(layout.logo.pixel_box(width, height), zone)
        assert Layout.from_json(layout.to_json()).product_zone == layout.product_zone


# ---------------------------------------------------------------- the edge band


def test_edge_check_fails_a_tinted_frame_and_passes_a_clean_draft():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:256]
    clean = np.stack([xx, yy, np.full_like(xx, 128)], -1).astype(np.float64) + rng.normal(0, 3, (256, 256, 3))
    clean = np.clip(clean, 0, 255).astype(np.uint8)
    assert check_edge_band(Image.fromarray(clean)).passed
    framed = clean.copy()
    framed[:4], framed[-4:], framed[:, :4], framed[:, -4:] = (70, 40, 90), (70, 40, 90), (70, 40, 90), (70, 40, 90)
    result = check_edge_band(Image.fromarray(framed))
    assert not result.passed and result.value > EDGE_MAX_DELTA_E and "frame" in result.detail
    assert edge_band_delta_e(Image.new("RGB", (256, 256), (10, 200, 30))) == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------- pre-flight


def test_preflight_reports_every_problem_of_every_deliverable():
    rules = brand(banned_terms=["guaranteed"], logo="logos/acme.png", logo_min_px=30)
    rows = [
        {
            "asset": "hero",
            "variant": v,
            "size": size,
            "width": w,
            "height": h,
            "headline": "Guaranteed lowest prices on every handmade ceramic mug in the shop",
            "body": "Café",
            "cta": "Buy",
            "disclaimer": "Offer ends May 31.",
        }
        for v in (1, 2)
        for size, (w, h) in {"160x600": (160, 600), "1080x1080": (1080, 1080)}.items()
    ]
    lines = [str(p) for p in preflight_problems("briefs/x.yaml", rows, rules, HERE, [logo_source()])]
    assert "briefs/x.yaml: asset hero, 160x600: banned term 'guaranteed' in headline: " in lines[0]
    assert any(
        line.startswith("briefs/x.yaml: asset hero, 160x600: headline needs ") and "lines at 14 px, 2 allowed" in line
        for line in lines
    )
    assert any("asset hero, 160x600: logo: " in line and "logo_min_px is 30" in line for line in lines)
    assert any(line.startswith("briefs/x.yaml: asset hero, 1080x1080: banned term") for line in lines)
    assert len(lines) == len(set(lines))  # variants share their texts: each problem once


def test_brand_logo_fields_are_validated(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text("brand: acme\nlogo: logos/acme.png\nlogo_position: middle\nlogo_size: 2\n")
    with pytest.raises(InputError) as caught:
        load_brand(path)
    fields = {p.field for p in caught.value.problems}
    assert fields == {"logo_position", "logo_size"}
