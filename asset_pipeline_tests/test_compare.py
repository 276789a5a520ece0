"""Model comparison: the same drafts through several models, on one contact sheet."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing in these tests may reach a hub

import numpy as np
import pytest
from PIL import Image

from asset_pipeline.compare import BOX, CELL_HEIGHT, CELL_WIDTH, _fit, compare_models, default_sheet_path
from asset_pipeline.home import Home
from asset_pipeline.models.embedded import palette_phrase
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import UnknownModelError, load_registry
from asset_pipeline.stages.briefs import expand_deliverables, load_campaign
from asset_pipeline.stages.drafts import generate_drafts, key_canvas
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline_tests.conftest import write_brief
from asset_pipeline_tests.support.families import build_family_model

BRIEF = """\
campaign: look
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    negative_prompt: "blurry"
    sizes: ["1200x628", "1080x1080"]
    variants: 2
  - id: story
    prompt: "row of pastel ceramic mugs on a shelf"
    sizes: ["1080x1920"]
"""


@pytest.fixture(scope="session")
def sd_family(tmp_path_factory) -> Path:
    return build_family_model("sd", tmp_path_factory.mktemp("family") / "sd")


@pytest.fixture
def compare_home(home, sd_family) -> Path:
    write_brief(home, "look", BRIEF)
    broken = home / "weights" / "broken"
    broken.mkdir(parents=True)
    (broken / "model_index.json").write_text("{ not json")
    # tiny-b: the sd family's folder at one step, so its drafts differ from tiny's (two steps).
    (home / "models.yaml").write_text(
        textwrap.dedent(f"""\
        models:
          - {{id: tiny-b, path: {sd_family}, steps: 1, guidance: 0, resolution: 256, multiple: 16,
             brand_steering: true}}
          - {{id: broken, path: weights/broken, steps: 1, guidance: 0}}
    """)
    )
    return home


def cell_box(sheet: Image.Image, row: int, column: int) -> np.ndarray:
    x, y = column * CELL_WIDTH, row * CELL_HEIGHT
    return np.asarray(sheet.crop((x, y, x + BOX, y + BOX)))


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_compare_renders_a_sheet_of_assets_by_models(compare_home):
    models = ["tiny", "tiny-b", "broken"]
    result = compare_models(compare_home, "look", models)

    sheet_path = compare_home / "published" / "look" / "compare" / "tiny+tiny-b+broken.png"
    assert result["sheet"] == sheet_path == default_sheet_path(compare_home, "look", models)
    assert sorted(p.name for p in sheet_path.parent.iterdir()) == [sheet_path.name]  # no temp files left
    sheet = Image.open(sheet_path)
    assert sheet.size == (3 * CELL_WIDTH, 2 * CELL_HEIGHT) == tuple(result["size"])
    assert result["cell"] == [CELL_WIDTH, CELL_HEIGHT]
    assert result["assets"] == ["hero", "story"] and result["models"] == models

    rows = result["rows"]
    assert [(r["asset"], r["model"]) for r in rows] == [(a, m) for a in ("hero", "story") for m in models]
    assert all(set(r) >= {"asset", "model", "seconds", "width", "height", "error"} for r in rows)
    by = {(r["asset"], r["model"]): r for r in rows}
    # Each model drafts the asset's key visual: a canvas covering its sizes, at the model's own area.
    registry = load_registry(compare_home)
    hero_canvas = key_canvas(registry.get("tiny"), [("", 1200, 628), ("", 1080, 1080)])
    assert 1 < hero_canvas[0] / hero_canvas[1] < 1200 / 628
    assert (by["hero", "tiny"]["width"], by["hero", "tiny"]["height"]) == hero_canvas
    assert (by["story", "tiny-b"]["width"], by["story", "tiny-b"]["height"]) == (192, 336)
    for asset in ("hero", "story"):
        for model in ("tiny", "tiny-b"):
            assert by[asset, model]["error"] is None and by[asset, model]["seconds"] > 0
        assert by[asset, "broken"]["seconds"] is None
        assert by[asset, "broken"]["error"]  # a load failure is a cell, not a crash
    assert result["load_seconds"]["broken"] is None and result["load_seconds"]["tiny"] >= 0

    # Each cell is exactly the key visual the drafts stage makes with that model: the brief's
    # prompt (brand style and negative included), the palette in front for a steered model, and
    # variant 1's seed; the other model's cell differs.
    home = Home(compare_home)
    hero = [
        r for r in expand_deliverables(load_campaign(home, "look"), home) if r["asset"] == "hero" and r["variant"] == 1
    ]
    assert "soft daylight" in hero[0]["prompt"]  # the brand's style
    store = ObjectStore(home)
    for column, model in enumerate(("tiny", "tiny-b")):
        rows_for_model = [dict(r, model=model) for r in hero]
        [key] = generate_drafts(rows_for_model, registry, DraftGenerator(registry), home)
        assert by["hero", model]["prompt"] == key["prompt"]
        cell, drawn = cell_box(sheet, 0, column), np.asarray(_fit(store.open(key["image_sha256"])))
        assert np.array_equal(cell[:, 1:], drawn[:, 1:])  # column 0 of a cell is the grid line before it
    assert by["hero", "tiny-b"]["prompt"].startswith(palette_phrase(hero[0]["palette"]))
    assert by["hero", "tiny"]["prompt"] == hero[0]["prompt"]  # not steered: as written
    assert not np.array_equal(cell_box(sheet, 0, 0), cell_box(sheet, 0, 1))
    assert not np.array_equal(cell_box(sheet, 0, 0), cell_box(sheet, 1, 0))


def test_compare_to_a_given_path_and_refusals(compare_home, tmp_path):
    out = tmp_path / "sheet.png"
    result = compare_models(compare_home, "look", ["tiny-b"], out=out)
    assert result["sheet"] == out and Image.open(out).size == (CELL_WIDTH, 2 * CELL_HEIGHT)
    assert not (compare_home / "published").exists()
    with pytest.raises(UnknownModelError):
        compare_models(compare_home, "look", ["tiny", "ghost"], out=out)
    with pytest.raises(ValueError):
        compare_models(compare_home, "look", [], out=out)


@pytest.mark.slow  # the CLI end to end
def test_compare_command_prints_seconds_and_records_the_sheet_in_dagster(home):
    from asset_pipeline_tests.conftest import cli

    write_brief(home, "look", BRIEF)
    result = cli(home, "compare", "look", "--models", "tiny,sd-turbo", "--format", "json")
    assert result.returncode == 1, result.stderr  # sd-turbo's weights are absent here: its cells are errors
    report = __import__("json").loads(result.stdout)
    rows = {(r["asset"], r["model"]): r for r in report["rows"]}
    assert rows[("hero", "tiny")]["seconds"] > 0 and rows[("hero", "tiny")]["error"] is None
    assert "weights not present" in rows[("story", "sd-turbo")]["error"]
    assert Image.open(report["sheet"]).size == (2 * CELL_WIDTH, 2 * CELL_HEIGHT)

    import dagster as dg
    from dagster._core.instance.ref import InstanceRef  # opening a given instance folder has no public name

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster"))) as instance:
        records = instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("draft_images"), asset_partitions=["look"]),
            limit=1,
        ).records
    metadata = records[0].asset_observation.metadata
    assert metadata["comparison_models"].value == "tiny, sd-turbo"
    assert "data:image/png;base64," in metadata["comparison_sheet"].value

    unknown = cli(home, "compare", "look", "--models", "tiny,nope")
    assert unknown.returncode == 2 and "compare: --models: unknown model 'nope'" in unknown.stderr
