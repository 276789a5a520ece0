"""Ad channels end to end through the CLI (real Dagster run, the tiny model, tesseract): a brief
whose assets come from a CSV feed, size presets (the 320x50 mobile leaderboard laid out and
OCR-verified, a story), every format under a budget, the `files` view and `lineage` of a WebP."""

from __future__ import annotations

import json

import duckdb
import pytest
from PIL import Image

from asset_pipeline.presets import find, layout_overlaps
from asset_pipeline_tests.conftest import cli, write_brief

BRIEF = """\
campaign: channels
brand: acme
assets_csv: channels.csv
"""
FEED = """\
id,prompt,headline,cta,sizes,formats,max_kb
banner,ceramic mug on a wooden table,Spring Sale,,mobile-leaderboard,,
story,row of mugs,Mugs,Shop now,story,png;webp;avif;jpeg,webp:300;avif:300;jpeg:400
"""


@pytest.mark.slow  # one Dagster run of two deliverables with four formats
def test_a_feed_of_presets_is_published_in_every_format(home):
    write_brief(home, "channels", BRIEF)
    (home / "briefs" / "channels.csv").write_text(FEED)
    assert cli(home, "validate").returncode == 0
    result = cli(home, "run", "channels")
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((home / "published" / "channels" / "manifest.json").read_text())
    entries = {e["asset"]: e for e in manifest["deliverables"]}
    banner, story = entries["banner"], entries["story"]
    # 320x50 from the preset, delivered as the preset's JPEG under 150 KB, and read back by OCR.
    assert banner["size"] == "320x50" and banner["status"] == "published", banner["reasons"]
    [jpeg] = banner["files"]
    assert jpeg["format"] == "jpeg" and jpeg["bytes"] <= 150 * 1024 and banner["path"] == jpeg["path"]
    with Image.open(home / jpeg["path"]) as image:
        assert image.size == (320, 50) and image.info.get("icc_profile")
    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as con:
        ocr = con.execute(
            "SELECT bool_and(passed), count(*) FROM checks WHERE asset = 'banner' AND \"check\" = 'ocr'"
        ).fetchone()
        presets = dict(con.execute("SELECT asset, preset FROM briefs").fetchall())
        files = con.execute("SELECT asset, format, bytes FROM files ORDER BY asset, format").fetchall()
        layout = con.execute("SELECT layout FROM layouts WHERE asset = 'story'").fetchone()[0]
        zones = con.execute(
            "SELECT asset, passed, value, detail FROM checks WHERE \"check\" = 'design_lint' AND detail LIKE 'safe zones:%'"
        ).fetchall()
    assert ocr[0] and ocr[1] >= 1
    assert presets == {"banner": "mobile-leaderboard", "story": "story"}
    assert [(a, f) for a, f, _ in files] == [
        ("banner", "jpeg"),
        ("story", "avif"),
        ("story", "jpeg"),
        ("story", "png"),
        ("story", "webp"),
    ]
    # The story: every format, each under its budget; the history names the PNG.
    assert story["status"] == "published", story["reasons"]
    budgets = {"webp": 300, "avif": 300, "jpeg": 400}
    for file in story["files"]:
        assert file["bytes"] <= budgets.get(file["format"], 10**9) * 1024
    assert story["path"].endswith("/v1.png")
    # lineage finds the WebP by its hash.
    webp = next(f for f in story["files"] if f["format"] == "webp")
    chain = cli(home, "lineage", str(home / webp["path"]))
    assert chain.returncode == 0, chain.stderr
    assert "format    webp" in chain.stdout and "seed " in chain.stdout and "c2pa" in chain.stdout
    assert cli(home, "verify").returncode == 0
    # Safe zones honoured in the story: no text box or logo in its top or bottom band.
    assert layout_overlaps(json.loads(layout), find("story").keep_out) == []
    # ... and measured by the design lint from the brief's zones (the banner's preset has none).
    assert zones == [("story", True, 0.0, "safe zones: text, CTA and logo clear of 2 keep-out zone(s)")]
