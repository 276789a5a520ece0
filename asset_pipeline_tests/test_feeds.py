"""Size presets and CSV feeds as plain functions: the presets table and its safe zones, feeds
good and hostile (each error names file, line and column), ids unique across brief and feed,
the brief hash and the snapshot covering the feed, the sensor watching it, and a 500-row feed
(its time is measured by benchmarks/feeds.py, not here)."""

from __future__ import annotations

import pytest

from asset_pipeline import presets
from asset_pipeline.home import Home
from asset_pipeline.orchestration.automation import _input_fingerprint
from asset_pipeline.specs import InputError, parse_size
from asset_pipeline.stages.briefs import expand_deliverables, load_campaign, take_snapshot
from asset_pipeline_tests.conftest import SAMPLE_BRAND

BRIEF = "campaign: spring\nbrand: acme\nassets_csv: spring.csv\n"
HEADER = "id,prompt,headline,sizes,formats,max_kb,variants\n"


@pytest.fixture
def home(tmp_path) -> Home:
    (tmp_path / "briefs").mkdir()
    (tmp_path / "brands").mkdir()
    (tmp_path / "brands" / "acme.yaml").write_bytes(SAMPLE_BRAND.read_bytes())
    return Home(tmp_path.resolve())


def feed(home: Home, csv: str | bytes, brief: str = BRIEF):
    (home.briefs / "spring.yaml").write_text(brief)
    path = home.briefs / "spring.csv"
    path.write_bytes(csv if isinstance(csv, bytes) else csv.encode())
    return path


def problems(home: Home) -> list[str]:
    with pytest.raises(InputError) as refused:
        load_campaign(home, "spring")
    return [str(p) for p in refused.value.problems]


# ------------------------------------------------------------------ presets


def test_the_presets_table_has_each_figure_with_its_source():
    # The names from before channels, with the figures the channels publish (test_channels.py has the rest):
    # IAB's smartphone banner is 50 KB and its billboard 250 KB; half-page and large-mobile-banner are Google's.
    display = {"medium-rectangle": ("300x250", 150, "IAB"), "leaderboard": ("728x90", 150, "IAB"),
               "wide-skyscraper": ("160x600", 150, "IAB"), "half-page": ("300x600", 150, "Google Ads"),
               "mobile-leaderboard": ("320x50", 50, "IAB"), "large-mobile-banner": ("320x100", 150, "Google Ads"),
               "billboard": ("970x250", 250, "IAB")}  # fmt: skip
    for name, (size, kb, source) in display.items():
        preset = presets.find(name)
        assert preset.size == size and preset.max_kb == kb and f"size: {source}" in preset.source, name
    for name in ("square", "portrait", "story", "link", "video-thumbnail"):
        preset = presets.find(name)
        assert preset.source and parse_size(name) == (preset.width, preset.height)
    assert {p.width * 100 // p.height for p in map(presets.find, ("square", "portrait", "story", "link"))} == {
        100,
        80,
        56,
        191,
    }


def test_a_story_keeps_its_bands_clear():
    story = presets.find("story")
    row = {"width": 1080, "height": 1920, "keep_out": [z.__dict__ for z in story.keep_out]}
    assert presets.keep_out_boxes(row) == [(0, 0, 1080, 269), (0, 1536, 1080, 1920)]
    assert presets.free_area(row) == (0.0, 0.14, 1.0, 0.80)
    _, top, _, bottom = presets.free_area(row)
    inside = (100, top * 1920 + 1, 980, bottom * 1920 - 1)  # a headline laid out in the free band
    assert presets.overlapping_zones(inside, row["keep_out"], 1080, 1920) == []
    assert presets.overlapping_zones((100, 1700, 980, 1800), row["keep_out"], 1080, 1920) == [
        "stories bottom band (reply bar, call to action)"
    ]
    assert presets.keep_out_boxes({"width": 300, "height": 250}) == []  # a plain size: no zones
    layout = {"boxes": [{"role": "headline", "x": 0.1, "y": 0.4, "w": 0.8, "h": 0.1},
                        {"role": "cta", "x": 0.3, "y": 0.89, "w": 0.4, "h": 0.05}]}  # fmt: skip
    assert presets.layout_overlaps(layout, story.keep_out) == ["cta: stories bottom band (reply bar, call to action)"]


def test_briefs_rows_keep_the_preset_name_and_its_resolved_size(home):
    (home.briefs / "spring.yaml").write_text(
        BRIEF.replace("assets_csv: spring.csv\n", "")
        + "assets:\n  - {id: hero, prompt: mug, sizes: [story, medium-rectangle, 640x320], formats: [jpeg], max_kb: {jpeg: 90}}\n"
    )
    rows = {r["size"]: r for r in expand_deliverables(load_campaign(home, "spring"), home)}
    # an alias resolves to its channel name
    assert rows["1080x1920"]["preset"] == "meta/story" and len(rows["1080x1920"]["keep_out"]) == 2
    assert rows["300x250"]["preset"] == "iab/medium-rectangle" and rows["640x320"]["preset"] is None
    assert rows["300x250"]["formats"] == [{"format": "jpeg", "max_kb": 90.0}]  # the asset's own win, under IAB's 150
    assert rows["300x250"]["min_quality"] == 60


def test_a_preset_brings_its_formats_and_budget(home):
    (home.briefs / "spring.yaml").write_text(
        BRIEF.replace("assets_csv: spring.csv\n", "")
        + "assets:\n  - {id: hero, prompt: mug, sizes: [leaderboard, 64x64]}\n"
    )
    rows = {r["size"]: r for r in expand_deliverables(load_campaign(home, "spring"), home)}
    assert rows["728x90"]["formats"] == [{"format": "jpeg", "max_kb": 150.0}]
    assert rows["64x64"]["formats"] == [{"format": "png", "max_kb": None}]


def test_a_size_and_its_preset_are_one_size(home):
    (home.briefs / "spring.yaml").write_text(
        BRIEF.replace("assets_csv: spring.csv\n", "")
        + "assets:\n  - {id: hero, prompt: mug, sizes: [300x250, medium-rectangle, medum-rectangle]}\n"
    )
    [problem] = problems(home)
    assert "'medum-rectangle' is not WxH" in problem and "did you mean 'medium-rectangle'?" in problem


# ------------------------------------------------------------------ feeds


def test_a_feed_merges_with_the_brief(home):
    feed(
        home,
        HEADER
        + 'mug,"ceramic mug, studio light","Spring Sale",1080x1080;mobile-leaderboard;,png;jpeg,jpeg:120;png:900,2\n'
        "cup,cup on a table,,300x250,,,\n",
        BRIEF + "assets:\n  - {id: hero, prompt: mug, sizes: [64x64]}\n",
    )
    inputs = load_campaign(home, "spring")
    assets = {a.id: a for a in inputs.brief.assets}
    assert list(assets) == ["hero", "mug", "cup"]
    assert assets["mug"].sizes == ["1080x1080", "mobile-leaderboard"] and assets["mug"].variants == 2
    assert assets["mug"].max_kb == {"jpeg": 120.0, "png": 900.0} and assets["cup"].headline is None
    # The brief hash covers the feed; the snapshot hashes the file; the sensor sees an edit.
    before, sensed = inputs.brief_hash, _input_fingerprint(home, "spring")
    snapshot = take_snapshot(home, "spring")
    assert "briefs/spring.csv" in {f.path for f in snapshot.input_files}
    (home.briefs / "spring.csv").write_text(HEADER + "mug,another prompt,,1080x1080,,,\n")
    assert load_campaign(home, "spring").brief_hash != before
    assert _input_fingerprint(home, "spring") != sensed


def test_a_utf8_byte_order_mark_is_accepted(home):
    feed(home, b"\xef\xbb\xbf" + b"id,prompt,sizes\nmug,mug,64x64\n")
    assert [a.id for a in load_campaign(home, "spring").brief.assets] == ["mug"]


HOSTILE = [
    ("bad size", "id,prompt,sizes\n" + "".join(f"a{i},p,64x64\n" for i in range(12)) + "bad,p,300x25o\n",
     "briefs/spring.csv:14: sizes: '300x25o' is not WxH"),
    ("wrong delimiter", "id;prompt;sizes\nmug;p;64x64\n",
     "briefs/spring.csv:1: one column 'id;prompt;sizes': fields are separated by ',' (not ';')"),
    ("ragged", "id,prompt,sizes\nmug,p,64x64,extra\n", "briefs/spring.csv:2: 4 fields, the header has 3"),
    ("unknown column", "id,prompt,sizes,headlne\nmug,p,64x64,x\n", "briefs/spring.csv:1: headlne: unknown column (typo?)"),
    ("missing column", "id,prompt\nmug,p\n", "briefs/spring.csv:1: sizes: required column is missing"),
    ("formula", "id,prompt,sizes,headline\nmug,p,64x64,\"=cmd|' /C calc'!A0\"\n",
     "briefs/spring.csv:2: headline: '=cmd|' /C calc'!A0' looks like a spreadsheet formula"),
    ("embedded newline before a bad row", 'id,prompt,sizes\nmug,"two\nlines",64x64\nx y,p,64x64\n',
     "briefs/spring.csv:4: id: String should match pattern"),
    ("bad quoting", 'id,prompt,sizes\nmug,"open,64x64\n', "briefs/spring.csv:"),
    ("a format", "id,prompt,sizes,formats\nmug,p,64x64,png;gif\n", "briefs/spring.csv:2: formats[1]: Input should be"),
    ("a budget", "id,prompt,sizes,max_kb\nmug,p,64x64,-5\n", "briefs/spring.csv:2: max_kb:"),
    ("utf-16", "id,prompt,sizes\nmug,p,64x64\n".encode("utf-16"), "briefs/spring.csv: not UTF-8"),
    ("nul", b"id,prompt,sizes\nmug,p\x00,64x64\n", "briefs/spring.csv:2: holds a NUL byte"),
    ("empty", "", "briefs/spring.csv: file is empty"),
]  # fmt: skip


@pytest.mark.parametrize("csv, expected", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_feeds_get_one_clean_line(home, csv, expected):
    feed(home, csv)
    found = problems(home)
    assert any(line.startswith(expected) for line in found), found
    assert all("\n" not in line and "Traceback" not in line for line in found)


def test_ids_are_unique_across_brief_and_feed(home):
    feed(
        home,
        "id,prompt,sizes\nhero,p,64x64\nmug,p,64x64\nmug,p,64x64\n",
        BRIEF + "assets:\n  - {id: hero, prompt: p, sizes: [64x64]}\n",
    )
    assert problems(home) == [
        "briefs/spring.csv:2: id: 'hero' is also an asset in briefs/spring.yaml assets",
        "briefs/spring.csv:4: id: 'mug' is also an asset in briefs/spring.csv:3",
    ]


def test_a_feed_outside_the_brief_folder_or_missing_is_refused(home, tmp_path):
    (home.briefs / "spring.yaml").write_text(BRIEF.replace("spring.csv", "../x.csv"))
    assert "is not the name of a .csv file beside the brief" in problems(home)[0]
    outside = tmp_path.parent / "outside.csv"
    outside.write_text("id,prompt,sizes\nmug,p,64x64\n")
    (home.briefs / "spring.yaml").write_text(BRIEF)
    (home.briefs / "spring.csv").symlink_to(outside)
    assert problems(home) == [
        "briefs/spring.yaml: assets_csv: 'spring.csv': no such file beside the brief (or a link out of its folder)"
    ]


def test_a_100k_row_feed_stops_at_the_campaign_limit(home):
    feed(home, "id,prompt,sizes\n" + "".join(f"a{i},p,64x64\n" for i in range(100_000)))
    found = problems(home)
    assert found == ["briefs/spring.csv:502: more than 500 rows; a campaign holds at most that"]


def test_500_rows_each_become_an_asset_with_its_presets_formats_and_budget(home):
    rows = "".join(
        f'a{i},"ceramic mug {i}, studio light",Sale {i},1080x1080;medium-rectangle;story,png;jpeg,jpeg:150,1\n'
        for i in range(500)
    )
    feed(home, HEADER + rows)
    inputs = load_campaign(home, "spring")
    assert [a.id for a in inputs.brief.assets] == [f"a{i}" for i in range(500)]
    last = inputs.brief.assets[-1]
    assert last.sizes == ["1080x1080", "medium-rectangle", "story"] and last.formats == ["png", "jpeg"]
    assert last.max_kb == {"jpeg": 150} and last.headline == "Sale 499"


def test_a_story_is_laid_out_inside_its_free_area(tmp_path):
    """The story preset's interface bands: no text, CTA or logo box enters them."""
    import json

    from asset_pipeline.presets import free_area, layout_overlaps
    from asset_pipeline.specs import Brand
    from asset_pipeline.typography.layout import layout_text

    story = {"keep_out": [
        {"left": 0.0, "top": 0.0, "right": 1.0, "bottom": 0.14, "reason": "status bar and profile"},
        {"left": 0.0, "top": 0.86, "right": 1.0, "bottom": 1.0, "reason": "reply bar"},
    ]}  # fmt: skip
    texts = {"headline": "Spring Sale", "body": "Up to 50% off mugs", "cta": "Shop now", "disclaimer": "Ends May 31."}
    brand = Brand(brand="acme")
    plain = layout_text(1080, 1920, texts, brand, tmp_path)
    inside = layout_text(1080, 1920, texts, brand, tmp_path, area=free_area(story))
    assert layout_overlaps(json.loads(plain.to_json()), story["keep_out"])  # the bottom band is where text goes
    assert layout_overlaps(json.loads(inside.to_json()), story["keep_out"]) == []
    assert (inside.width, inside.height) == (1080, 1920)
    assert all(0.14 <= b.y and b.y + b.h <= 0.86 for b in inside.boxes)
