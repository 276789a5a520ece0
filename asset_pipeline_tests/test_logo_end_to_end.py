"""A campaign with the brand's logo, published over every size family through the CLI;
pre-flight in `validate`; a logo change re-typesets and generates no draft."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from PIL import Image, ImageDraw

from asset_pipeline.home import Home
from asset_pipeline.storage.tables import read_rows
from asset_pipeline.typography.boxes import Layout
from asset_pipeline_tests.conftest import cli, write_brief

SIZES = ["728x90", "300x250", "160x600", "1080x1920", "1080x1080"]
BRIEF = f"""\
campaign: logo-launch
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    headline: "Spring Sale"
    body: "Up to 50% off mugs"
    cta: "Shop now"
    sizes: {json.dumps(SIZES)}
"""
TOO_MUCH = """\
campaign: crowded
brand: acme
assets:
  - id: hero
    prompt: "mug"
    headline: "Guaranteed lowest prices on every handmade ceramic mug in the whole shop"
    cta: "Shop now"
    sizes: ["160x600", "1080x1080"]
"""


def logo(colour: tuple[int, int, int]) -> bytes:
    """A wordmark-shaped logo drawn with Pillow: a rounded bar with a white dot, on transparency."""
    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 299, 99), 25, fill=(*colour, 255))
    draw.ellipse((20, 20, 80, 80), fill=(255, 255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def sql(home: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


@pytest.mark.slow
def test_campaign_with_a_logo_publishes_every_size_family_and_a_logo_change_makes_no_draft(home):
    (home / "media" / "logos").mkdir(parents=True)
    (home / "media" / "logos" / "acme.png").write_bytes(logo((20, 60, 160)))
    brand = home / "brands" / "acme.yaml"
    brand.write_text(brand.read_text() + "logo: logos/acme.png\nlogo_position: top-left\nlogo_min_px: 16\n")
    write_brief(home, "logo-launch", BRIEF)

    checked = cli(home, "validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    first = cli(home, "run", "logo-launch")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"logo-launch: {len(SIZES)} published" in first.stdout
    manifest = json.loads((home / "published" / "logo-launch" / "manifest.json").read_text())
    assert {e["size"] for e in manifest["deliverables"] if e["status"] == "published"} == set(SIZES)
    # the logo's sha256 is one of the run's input files
    files = {f["path"] for f in manifest["inputs"]["files"]}
    assert "media/logos/acme.png" in files

    # the logo is in every published file, drawn at its box from the source (blue bar, crisp)
    layouts = {r["size"]: r["layout"] for r in read_rows(Home(home), "renders", "logo-launch")}
    for entry in manifest["deliverables"]:
        layout = Layout.from_json(layouts[entry["size"]])
        assert layout.logo is not None and layout.logo.path == "logos/acme.png"
        left, top, right, bottom = layout.logo.pixel_box(layout.width, layout.height)
        with Image.open(home / entry["path"]) as image:
            pixel = np.asarray(image.convert("RGB"))[(top + bottom) // 2, right - max(3, (right - left) // 10)]
        assert (np.abs(pixel.astype(int) - (20, 60, 160)) < 40).all(), (entry["size"], pixel)
        lint = [c for c in entry.get("checks", []) if c.get("check") == "design_lint"]
        assert all(c["passed"] for c in lint)
    lint_rows = sql(home, "SELECT count(*), bool_and(passed) FROM checks WHERE \"check\" = 'design_lint'")
    assert lint_rows[0][0] >= 5 * len(SIZES) and lint_rows[0][1]

    # a new logo: typesetting onwards again, zero drafts generated, new pixels
    (home / "media" / "logos" / "acme.png").write_bytes(logo((200, 30, 30)))
    second = cli(home, "run", "logo-launch")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "drafts 0 generated" in second.stdout, second.stdout
    versions = dict(sql(home, "SELECT size, max(version) FROM publications GROUP BY size"))
    assert versions == {size: 2 for size in SIZES}


@pytest.mark.slow
def test_validate_and_run_report_every_problem_before_any_draft(home):
    write_brief(home, "crowded", TOO_MUCH)
    checked = cli(home, "validate", str(home / "briefs" / "crowded.yaml"))
    assert checked.returncode == 2
    lines = checked.stderr.strip().splitlines()
    assert any(line.startswith("briefs/crowded.yaml: asset hero, 160x600: banned term 'guaranteed'") for line in lines)
    assert any(
        line.startswith("briefs/crowded.yaml: asset hero, 160x600: headline needs ") and "2 allowed" in line
        for line in lines
    ), lines
    assert any(line.startswith("briefs/crowded.yaml: asset hero, 1080x1080: banned term") for line in lines)

    ran = cli(home, "run", "crowded")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "pre-flight: briefs/crowded.yaml: asset hero, 160x600: headline needs" in ran.stdout
    drafts = sql(home, "SELECT model, image_sha256 FROM drafts")
    assert drafts == [("none", "")] or all(sha == "" for _, sha in drafts)  # no draft generated for either size
