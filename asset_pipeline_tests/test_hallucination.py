"""Hallucinated text and the draft repair path, for real: the tiny diffusers model,
a registry model fixture that paints words into its drafts (support/text_models.py),
real tesseract, and a real Dagster run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from asset_pipeline.checks.hallucination import check_hallucinated_text, is_confident_word
from asset_pipeline.checks.suite import run_deliverable_checks
from asset_pipeline.checks.tesseract import ocr_available
from asset_pipeline.home import Home
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import load_registry
from asset_pipeline.stages.drafts import REROLL_SEED_STEP, reroll_plan
from asset_pipeline.typography.boxes import Layout
from asset_pipeline_tests.conftest import write_brief
from asset_pipeline_tests.support import text_models
from asset_pipeline_tests.support.deliverables import BOLD, BRAND, box_at, deliverable
from asset_pipeline_tests.support.drafts import brief_rows, drafts_for

pytestmark = pytest.mark.skipif(not ocr_available(), reason="tesseract with 'eng' is not installed")


@pytest.fixture
def sign_home(home, monkeypatch) -> Path:
    text_models.register(monkeypatch)
    (home / "models.yaml").write_text(text_models.models_yaml())
    return home


# ---------------------------------------------------------------- the check as a plain function


def test_thresholds_count_only_confident_word_like_text():
    assert is_confident_word("OPEN", 96)
    assert not is_confident_word("OPEN", 70)  # not confident
    assert not is_confident_word("Il", 95)  # too short
    assert not is_confident_word("|1/-", 95)  # not letters
    assert not is_confident_word("A1-2", 95)  # letters under three quarters


@pytest.mark.parametrize(
    "seed, size",
    [(0, (256, 256)), (7, (256, 144)), (21, (144, 256)), (35, (256, 64)), (1234, (256, 256)), (99, (192, 256))],
)
@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_tiny_model_noise_drafts_pass(home, seed, size):
    """No false positive on the built-in tiny model's colour noise (it would reject sample campaigns)."""
    registry = load_registry(home)
    draft = DraftGenerator(registry).generate(registry.get("tiny"), ["ceramic mug"], [None], [seed], *size)[0]
    result = check_hallucinated_text(draft)
    assert result.passed, result.detail


def test_painted_words_fail_the_draft_with_the_words_and_where():
    image = Image.new("RGB", (256, 256), "#8fa3b0")
    draw = ImageDraw.Draw(image)
    draw.text((30, 100), "COFFEE SHOP", font=ImageFont.truetype(BOLD, 26), fill="#111111")
    result = check_hallucinated_text(image)
    assert not result.passed
    assert result.value == 2
    assert "'COFFEE'" in result.detail and "'SHOP'" in result.detail
    assert "painted into the draft" in result.detail and "at (" in result.detail


def test_many_drafts_read_in_one_process_give_each_its_own_words(monkeypatch):
    """Pages of one tesseract process are told apart by page: a painted draft between two plain
    ones fails alone, with the same words and boxes as when it is read by itself."""
    from asset_pipeline.checks import hallucination, tesseract

    painted = Image.new("RGB", (256, 256), "#8fa3b0")
    ImageDraw.Draw(painted).text((30, 100), "COFFEE SHOP", font=ImageFont.truetype(BOLD, 26), fill="#111111")
    plain = Image.new("RGB", (256, 256), "#c0a080")
    alone = check_hallucinated_text(painted)
    calls = []
    real_run = tesseract.run
    monkeypatch.setattr(tesseract, "run", lambda *a, **k: calls.append(a) or real_run(*a, **k))
    results = hallucination.check_hallucinated_texts([(image, None, ("eng",)) for image in (plain, painted, plain)])
    assert [r.passed for r in results] == [True, False, True]
    assert results[1].detail == alone.detail  # same words at the same places
    assert len(calls) == 2  # one process per scale (256 and 512 px) for the three drafts, not six


def test_final_image_text_outside_the_boxes_fails_and_text_inside_passes(home):
    """A final image is a draft upscaled with text boxes drawn on it: words painted
    into the draft show up outside the boxes; the boxes' own text is never read."""
    image, layout = deliverable(0)  # three real text boxes over a busy photo
    inside = check_hallucinated_text(image, layout)
    assert inside.passed, inside.detail

    registry = load_registry(home)
    draft = DraftGenerator(registry).generate(registry.get("tiny"), ["mug"], [None], [2], 256, 256)[0]
    layout = Layout(
        1080,
        1080,
        [box_at(0.08, 0.55, 0.6, 0.1), box_at(0.08, 0.75, 0.4, 0.08, role="cta", text="Shop now", lines=["Shop now"])],
    )
    clean = check_hallucinated_text(draft.resize((1080, 1080), Image.Resampling.LANCZOS), layout)
    assert clean.passed, clean.detail

    signed = text_models.paint_words(np.asarray(draft, dtype=np.float32) / 255)
    final = Image.fromarray((signed * 255).round().astype(np.uint8)).resize((1080, 1080), Image.Resampling.LANCZOS)
    painted = check_hallucinated_text(final, layout)
    assert not painted.passed
    assert "'OPEN'" in painted.detail and "outside the text boxes" in painted.detail
    # The position is in the final image's pixels: the sign is at x = 256 / 10 in the draft.
    left = int(painted.detail.split("'OPEN'")[1].split("at (")[1].split(",")[0])
    assert 80 < left < 140

    every = run_deliverable_checks(final, layout, BRAND, 1080, 1080)
    assert [r.passed for r in every if r.check == "hallucinated_text"] == [False]


# ---------------------------------------------------------------- the repair path


def test_reroll_plan_next_seed_then_next_model():
    tiny, other = object(), object()
    plan = reroll_plan(10, [tiny, other], 4)
    assert plan == [(tiny, 10 + REROLL_SEED_STEP), (other, 10), (other, 10 + REROLL_SEED_STEP)]
    assert reroll_plan(10, [tiny], 3) == [(tiny, 10 + REROLL_SEED_STEP), (tiny, 10 + 2 * REROLL_SEED_STEP)]
    assert reroll_plan(10, [tiny], 1) == []


def test_clean_draft_passes_first_time(sign_home):
    [row] = drafts_for(sign_home, brief_rows("even-signpainter", seed=5))
    assert row["draft_passed"] and row["draft_reason"] is None
    assert [(a["model"], a["seed"], a["passed"]) for a in row["attempts"]] == [("even-signpainter", 5, True)]


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_reroll_with_the_next_seed_repairs_a_draft_with_text(sign_home):
    [row] = drafts_for(sign_home, brief_rows("even-signpainter", seed=4))
    first, second = row["attempts"]
    assert (first["seed"], first["passed"]) == (4, False)
    assert "hallucinated_text" in first["reason"] and "'OPEN'" in first["reason"]
    assert (second["model"], second["seed"], second["passed"]) == ("even-signpainter", 4 + REROLL_SEED_STEP, True)
    # The row describes the draft that is used: the re-roll.
    assert row["draft_passed"] and row["seed"] == 4 + REROLL_SEED_STEP
    assert row["image_sha256"] == second["image_sha256"] != first["image_sha256"]


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_reroll_moves_to_the_next_model_in_the_tier(sign_home):
    (sign_home / "models.yaml").write_text(text_models.models_yaml(front="signpainter"))
    [row] = drafts_for(sign_home, brief_rows(None, seed=4))
    assert [(a["model"], a["seed"], a["passed"]) for a in row["attempts"]] == [
        ("signpainter", 4, False),
        ("signpainter", 4 + REROLL_SEED_STEP, False),
        ("tiny", 4, True),
    ]
    assert row["model"] == "tiny" and row["draft_passed"]


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_draft_that_never_passes_is_rejected_with_every_attempt(sign_home):
    rows = drafts_for(sign_home, brief_rows("signpainter", seed=7), max_attempts=2)
    [row] = rows
    assert not row["draft_passed"] and len(row["attempts"]) == 2
    assert "attempt 1 (model signpainter, seed 7): hallucinated_text" in row["draft_reason"]
    assert f"attempt 2 (model signpainter, seed {7 + REROLL_SEED_STEP}): hallucinated_text" in row["draft_reason"]

    # A re-run replays the attempts from the cache: nothing is generated again.
    again = drafts_for(sign_home, brief_rows("signpainter", seed=7), max_attempts=2)
    assert again[0]["attempts"] == row["attempts"] and again[0]["cache_hit"]


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_dagster_run_rejects_the_painted_draft_and_publishes_the_repaired_one(sign_home, monkeypatch):
    """A real Dagster run in the home's instance: one asset's model always paints words
    (rejected with the whole history), another's paints only on even seeds (repaired)."""
    from asset_pipeline.orchestration.runner import run_campaigns

    monkeypatch.setenv("ASSET_PIPELINE_HOME", str(sign_home))
    monkeypatch.setenv("DAGSTER_HOME", str(sign_home / "dagster"))
    (sign_home / "dagster").mkdir()
    write_brief(
        sign_home,
        "signs",
        """\
campaign: signs
brand: acme
assets:
  - id: painted
    model: signpainter
    prompt: "shop front"
    headline: "Spring Sale"
    sizes: ["512x512"]
    seed: 2
  - id: repaired
    model: even-signpainter
    prompt: "shop front"
    headline: "Spring Sale"
    sizes: ["512x512"]
    seed: 2
""",
    )
    [summary] = run_campaigns(Home(sign_home), ["signs"])
    assert summary.success and (summary.published, summary.rejected) == (1, 1), summary.line()

    manifest = json.loads((sign_home / "published" / "signs" / "manifest.json").read_text())
    by_asset = {e["asset"]: e for e in manifest["deliverables"]}
    assert by_asset["repaired"]["status"] == "published"
    assert by_asset["repaired"]["seed"] == 2 + REROLL_SEED_STEP
    rejected = by_asset["painted"]
    assert rejected["status"] == "rejected" and rejected["path"] is None
    reason = " ".join(rejected["reasons"])
    assert "draft: no usable draft after 3 attempts" in reason
    assert "hallucinated_text" in reason and "'OPEN'" in reason
    # The published file carries the seed of the re-roll it was made from.
    with Image.open(sign_home / by_asset["repaired"]["path"]) as image:
        assert image.text["seed"] == str(2 + REROLL_SEED_STEP)
