"""Channel presets (presets.json) as plain functions: every figure sourced, the known errors
fixed, each channel's formats refused at validation, byte limits as ceilings, the reels' side
zones honoured by the layout and measured by the design check, text cover, and the names from
before channels kept as aliases."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asset_pipeline import presets
from asset_pipeline.checks.design import design_lint
from asset_pipeline.home import Home
from asset_pipeline.publishing.encoding import BudgetError, encode_within
from asset_pipeline.specs import AssetSpec, Brand, resolve_size
from asset_pipeline.stages.briefs import file_formats
from asset_pipeline.typography import LayoutError, layout_text
from asset_pipeline.validation import validate_home
from asset_pipeline_tests.conftest import write_brief
from asset_pipeline_tests.test_design import TEXTS  # the design tests' copy, with a disclaimer

HERE = Path(__file__).parent
# one placement per channel the issue names
ONE_PER_CHANNEL = [
    "iab/medium-rectangle",
    "google/half-page",
    "google/rda-square",
    "meta/reels",
    "linkedin/landscape",
    "x/square",
    "pinterest/standard",
    "tiktok/vertical",
]


def zones_of(name: str) -> list[dict]:
    return [dict(zone.__dict__) for zone in presets.find(name).keep_out]


def result(results, prefix: str):
    [found] = [r for r in results if r.detail.startswith(prefix)]
    return found


# ------------------------------------------------------------------ the table


def test_every_figure_cites_a_source_with_its_url_and_read_date():
    table = presets.presets()
    assert {name.partition("/")[0] for name in table} >= {
        "iab",
        "google",
        "meta",
        "linkedin",
        "x",
        "pinterest",
        "tiktok",
    }
    for preset in table.values():
        cited = dict(preset.cite)
        assert {"size", "ratio", "accepts", "max_kb"} <= set(cited), preset.name
        if preset.keep_out:
            assert "keep_out" in cited, preset.name
        if preset.max_text_cover is not None:
            assert "max_text_cover" in cited, preset.name
        for source in cited.values():
            assert source.title and source.url.startswith("https://") and source.read == "2026-12-07", preset.name
        # no channel checked takes WebP or AVIF uploads
        assert set(preset.accepts) <= {"jpeg", "png"} and set(preset.formats) <= set(preset.accepts), preset.name


def test_the_reviews_errors_are_fixed():
    iab_kb = {
        name: presets.find(name).max_kb for name in ("iab/mobile-leaderboard", "iab/billboard", "iab/leaderboard")
    }
    assert iab_kb == {"iab/mobile-leaderboard": 50, "iab/billboard": 250, "iab/leaderboard": 150}
    assert presets.find("google/mobile-banner").max_kb == 150  # Google's upload limit, for every size
    for old in ("half-page", "large-mobile-banner"):  # Google's names for Google's sizes, not IAB's
        preset = presets.find(old)
        assert preset.name == f"google/{old}" and dict(preset.cite)["size"].url.endswith("/answer/1722096")
    story = presets.keep_out_boxes({"width": 1080, "height": 1920, "keep_out": zones_of("meta/story")})
    assert story == [(0, 0, 1080, 269), (0, 1536, 1080, 1920)]  # 20% at the bottom, the stricter of 20% and 340 px
    assert "stricter" in presets.find("meta/story").note
    reels = presets.find("meta/reels")
    assert presets.free_area({"keep_out": zones_of("meta/reels")}) == (0.06, 0.14, 0.94, 0.65)
    assert reels.size == "1080x1920" and len(reels.keep_out) == 4
    assert presets.find("google/rda-landscape").max_text_cover == 0.2


def test_the_table_is_held_to_its_own_channel_rules():
    sources = {"s": {}}
    good = {"size": "1200x628", "ratio": "1.91:1", "tolerance": 0.0, "accepts": ["jpeg"], "formats": ["jpeg"]}
    good["cite"] = {"size": "s", "ratio": "s", "accepts": "s"}
    assert presets.table_problems("x/landscape", good, sources) == []
    off = dict(good, size="1200x700", min="1300x300")
    assert presets.table_problems("x/off", off, sources) == [
        "1200x700 is 10.2% off its ratio 1.91:1 (tolerance 0%)",
        "1200x700 is under the channel's minimum 1300x300",
        "min has no source",
    ]
    corner = dict(good, keep_out=[{"left": 0.8, "top": 0.8, "right": 1, "bottom": 1, "reason": "icon"}])
    band, unsourced = presets.table_problems("x/corner", corner, sources)
    assert band.endswith("is not a band along one edge of the frame") and unsourced == "keep_out has no source"
    webp = dict(good, formats=["webp"])
    assert presets.table_problems("x/webp", webp, sources) == [
        "default formats ['webp'] are not all accepted (['jpeg'])"
    ]


# ------------------------------------------------------------------ names, aliases, sizes


def test_old_names_resolve_as_aliases_of_channel_names():
    expected = {
        "medium-rectangle": "iab/medium-rectangle",
        "leaderboard": "iab/leaderboard",
        "wide-skyscraper": "iab/skyscraper",
        "half-page": "google/half-page",
        "mobile-leaderboard": "iab/mobile-leaderboard",
        "large-mobile-banner": "google/large-mobile-banner",
        "billboard": "iab/billboard",
        "square": "meta/feed-square",
        "portrait": "meta/feed-portrait",
        "story": "meta/story",
        "link": "meta/feed-landscape",
        "video-thumbnail": "youtube/thumbnail",
    }
    assert presets.aliases() == expected
    for alias, name in expected.items():
        preset = presets.find(alias)
        assert preset is presets.find(name) and resolve_size(alias) == (preset.width, preset.height, name)


def test_a_channel_name_is_a_valid_size_and_never_a_path():
    asset = AssetSpec(id="hero", prompt="mug", sizes=["meta/story", "pinterest/standard", "320x50"])
    assert [resolve_size(size) for size in asset.sizes] == [
        (1080, 1920, "meta/story"),
        (1000, 1500, "pinterest/standard"),
        (320, 50, None),
    ]
    with pytest.raises(ValueError) as typo:
        resolve_size("meta/stroy")
    assert (
        str(typo.value)
        == "'meta/stroy' is not WxH (for example 1080x1080) or a size preset (e.g. meta/story); did you mean 'meta/story'?"
    )
    with pytest.raises(ValueError) as escape:
        resolve_size("../../etc/passwd")
    assert "channels: google, iab, linkedin, meta, pinterest, tiktok, x, youtube (docs/channels.md)" in str(
        escape.value
    )
    with pytest.raises(ValueError, match="sizes are listed twice"):  # a name and its alias are one size
        AssetSpec(id="hero", prompt="mug", sizes=["story", "meta/story"])


# ------------------------------------------------------------------ formats and bytes


def test_each_channel_refuses_a_format_it_does_not_take_at_validation(home):
    """One asset per channel asking for WebP: `validate` names file, field, preset and what the channel takes."""
    assets = "".join(
        f"  - {{id: a{i}, prompt: mug, headline: Sale, sizes: ['{name}'], formats: [jpeg, webp]}}\n"
        for i, name in enumerate(ONE_PER_CHANNEL)
    )
    write_brief(home, "formats", "campaign: formats\nbrand: acme\nassets:\n" + assets)
    lines = [str(problem) for problem in validate_home(Home(home))]
    assert lines == [
        f"briefs/formats.yaml: assets[{i}](id=a{i}).formats: 'webp' not accepted by {name} "
        f"({presets.find(name).channel} takes jpeg, png)"
        for i, name in enumerate(ONE_PER_CHANNEL)
    ]


def test_a_brands_webp_never_reaches_a_channel_that_does_not_take_it():
    brand = Brand(brand="acme", formats=["webp"])
    asset = AssetSpec(id="hero", prompt="mug", sizes=["meta/story", "256x256"])
    assert file_formats(asset, brand, presets.find("meta/story")) == [{"format": "jpeg", "max_kb": 30720.0}]
    assert file_formats(asset, brand, None) == [{"format": "webp", "max_kb": None}]  # a plain size keeps the brand's


def test_the_channels_byte_limit_is_a_ceiling():
    brand = Brand(brand="acme")
    banner = presets.find("iab/mobile-leaderboard")
    looser = AssetSpec(id="a", prompt="mug", sizes=["iab/mobile-leaderboard"], max_kb=150)
    tighter = AssetSpec(
        id="a", prompt="mug", sizes=["iab/mobile-leaderboard"], formats=["jpeg", "png"], max_kb={"jpeg": 20}
    )
    assert file_formats(looser, brand, banner) == [{"format": "jpeg", "max_kb": 50.0}]
    assert file_formats(tighter, brand, banner) == [
        {"format": "jpeg", "max_kb": 20.0},
        {"format": "png", "max_kb": 50.0},
    ]
    # The encoder keeps a 320x50 of noise under IAB's 50 KB as JPEG, and refuses the lossless PNG
    # (47 KB of noise) over the 40 KB an asset asks for.
    noise = Image.fromarray(np.random.default_rng(7).integers(0, 256, (50, 320, 3), dtype=np.uint8))
    jpeg = encode_within(noise, "jpeg", {}, presets.byte_limit(banner, None), 60)
    assert len(jpeg.data) <= 50 * 1024 and Image.open(io.BytesIO(jpeg.data)).size == (320, 50)
    with pytest.raises(BudgetError, match="png needs .* budget 40 KB"):
        encode_within(noise, "png", {}, presets.byte_limit(banner, 40), 60)


# ------------------------------------------------------------------ zones and text cover


def test_the_reels_side_zones_are_honoured_by_the_layout_and_measured_by_the_design_check():
    zones = zones_of("meta/reels")
    brand = Brand(brand="acme", disclaimer="Offer ends May 31.")
    # Laid out for a story (its top and bottom bands only), the text enters the reel's left edge
    # and its deeper bottom band; the design check measures that from the reel's own zones.
    for_story = layout_text(
        1080, 1920, TEXTS, brand, HERE, area=presets.free_area({"keep_out": zones_of("meta/story")})
    )
    measured = result(design_lint(for_story, brand, zones), "safe zones:")
    assert not measured.passed
    for hit in ("headline overlaps reels left edge (cropped on narrow screens) by", "cta overlaps reels bottom band"):
        assert hit in measured.detail
    # Laid out in the reel's free area: clear of all four bands, every box inside it.
    inside = layout_text(1080, 1920, TEXTS, brand, HERE, area=presets.free_area({"keep_out": zones}))
    measured = result(design_lint(inside, brand, zones), "safe zones:")
    assert measured.passed and measured.detail == "safe zones: text, CTA and logo clear of 4 keep-out zone(s)"
    for _, (left, top, right, bottom) in inside.covered():
        assert left >= round(0.06 * 1080) and right <= round(0.94 * 1080)
        assert top >= round(0.14 * 1920) and bottom <= round(0.65 * 1920)
    assert (inside.width, inside.height) == (1080, 1920)  # placed back into the whole frame


def test_text_cover_is_kept_under_the_channels_limit_and_measured():
    square = presets.find("google/rda-square")
    brand = Brand(brand="acme", disclaimer="Offer ends May 31.")
    free = layout_text(square.width, square.height, TEXTS, brand, HERE)
    assert free.text_cover() > 0.2  # this copy, set as large as the template likes, covers too much
    measured = result(design_lint(free, brand, (), square.max_text_cover), "text cover:")
    assert not measured.passed and measured.value == round(free.text_cover(), 4)
    assert (
        measured.detail == f"text cover: text and logo cover {free.text_cover():.1%} of the image > the channel's 20%"
    )
    capped = layout_text(square.width, square.height, TEXTS, brand, HERE, max_text_cover=square.max_text_cover)
    assert capped.text_cover() <= 0.2 and result(design_lint(capped, brand, (), 0.2), "text cover:").passed
    # the union of the boxes, each counted once
    width, height = capped.width, capped.height
    mask = np.zeros((height, width), bool)
    for _, (left, top, right, bottom) in capped.covered():
        mask[max(0, top) : bottom, max(0, left) : right] = True
    assert capped.text_cover() == pytest.approx(mask.mean())
    with pytest.raises(
        LayoutError,
        match="cover at least 4% of the area laid out, even at 14 px; the channel allows 2%: shorten the copy",
    ):
        layout_text(square.width, square.height, TEXTS, brand, HERE, max_text_cover=0.02)
    assert not [r for r in design_lint(capped, brand) if r.detail.startswith("text cover:")]  # no limit, no figure


def test_docs_channels_page_is_the_table():
    """docs/channels.md is generated from presets.json (docs/make_channels_table.py): they never drift."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_channels_table", HERE.parent / "docs" / "make_channels_table.py"
    )
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    table = json.loads(maker.TABLE.read_text(encoding="utf-8"))
    assert maker.PAGE.read_text(encoding="utf-8") == maker.markdown(table)
