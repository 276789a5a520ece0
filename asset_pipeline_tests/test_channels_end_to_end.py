"""Ad channels end to end through the CLI (real Dagster run, the tiny model, tesseract): a brief
whose assets come from a CSV feed, channel presets (IAB's 320x50 named by its old alias, laid
out and OCR-verified under IAB's 50 KB; a Meta reel, its four bands honoured and measured), a
plain size in every format under a budget, the `files` view and `lineage` of a WebP."""

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
story,row of mugs,Mugs,Shop now,meta/reels,png;jpeg,jpeg:400
web,row of mugs,Mugs,,256x256,png;webp;avif;jpeg,webp:300;avif:300;jpeg:400
"""


@pytest.mark.slow  # one Dagster run of three deliverables, one in four formats
def test_a_feed_of_presets_is_published_in_every_format(home):
    write_brief(home, "channels", BRIEF)
    (home / "briefs" / "channels.csv").write_text(FEED)
    assert cli(home, "validate").returncode == 0
    result = cli(home, "run", "channels")
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((home / "published" / "channels" / "manifest.json").read_text())
    entries = {e["asset"]: e for e in manifest["deliverables"]}
    banner, story, web = entries["banner"], entries["story"], entries["web"]
    # 320x50 from the preset, delivered as the preset's JPEG under IAB's 50 KB, and read back by OCR;
    # the manifest names the channel preset, the path keeps the WxH.
    assert banner["size"] == "320x50" and banner["status"] == "published", banner["reasons"]
    assert banner["preset"] == "iab/mobile-leaderboard" and story["preset"] == "meta/reels" and "preset" not in web
    [jpeg] = banner["files"]
    assert jpeg["format"] == "jpeg" and jpeg["bytes"] <= 50 * 1024 and banner["path"] == jpeg["path"]
    assert "/320x50/" in jpeg["path"] and "/1080x1920/" in story["path"]
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
    assert presets == {"banner": "iab/mobile-leaderboard", "story": "meta/reels", "web": None}
    assert [(a, f) for a, f, _ in files] == [
        ("banner", "jpeg"),
        ("story", "jpeg"),
        ("story", "png"),
        ("web", "avif"),
        ("web", "jpeg"),
        ("web", "png"),
        ("web", "webp"),
    ]
    # The plain size: every format, each under its budget; the history names the PNG.
    assert story["status"] == "published", story["reasons"]
    assert web["status"] == "published", web["reasons"]
    budgets = {"webp": 300, "avif": 300, "jpeg": 400}
    for file in story["files"] + web["files"]:
        assert file["bytes"] <= budgets.get(file["format"], 30 * 1024) * 1024
    assert web["path"].endswith("/v1.png")
    # lineage finds the WebP by its hash.
    webp = next(f for f in web["files"] if f["format"] == "webp")
    chain = cli(home, "lineage", str(home / webp["path"]))
    assert chain.returncode == 0, chain.stderr
    assert "format    webp" in chain.stdout and "seed " in chain.stdout and "c2pa" in chain.stdout
    assert cli(home, "verify").returncode == 0
    # Safe zones honoured in the reel: no text box or logo in its top, bottom or side bands.
    assert layout_overlaps(json.loads(layout), find("meta/reels").keep_out) == []
    # ... and measured by the design lint from the brief's zones (the other sizes have none).
    assert zones == [("story", True, 0.0, "safe zones: text, CTA and logo clear of 4 keep-out zone(s)")]
