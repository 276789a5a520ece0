"""Tests for asset_pipeline.checks: images are drawn here with Pillow, layouts by hand."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asset_pipeline.checks import ocr, tesseract
from asset_pipeline.checks.compare import text_similarity
from asset_pipeline.checks.result import CheckResult
from asset_pipeline.checks.suite import (
    check_banned_terms,
    check_contrast,
    check_exact_size,
    check_min_font,
    check_not_blank,
    check_safe_margin,
    run_checks_parallel,
    run_deliverable_checks,
)
from asset_pipeline.checks.tesseract import ocr_available
from asset_pipeline.specs import Brand
from asset_pipeline.typography.boxes import Layout, TextBox
from asset_pipeline.typography.layout import layout_text
from asset_pipeline.typography.render import render_layout
from asset_pipeline_tests.support.deliverables import BRAND, SANS, box_at, deliverable, draw_box, photo
from asset_pipeline_tests.support.ocr import ocr_results, read_box

needs_tesseract = pytest.mark.skipif(not ocr_available(), reason="tesseract with 'eng' is not installed")


# ---------------------------------------------------------------- text_similarity


def test_similarity_identical_and_empty():
    assert text_similarity("Spring Sale", "Spring Sale") == 1.0
    assert text_similarity("", "") == 1.0
    assert text_similarity("Spring Sale", "") == 0.0
    assert text_similarity("", "noise") == 0.0


def test_similarity_normalises_whitespace_and_unicode():
    assert text_similarity("Spring  Sale\n30% off ", " Spring Sale 30% off") == 1.0
    assert text_similarity("Don\u2019t wait \u2014 \u201cnow\u201d", 'Don\'t wait - "now"') == 1.0
    assert text_similarity("\ufb01ne print", "fine print") == 1.0  # NFKC: ligature
    assert text_similarity("\uff33ale", "Sale") == 1.0  # NFKC: full-width
    assert text_similarity("price\u00a0\u2212\u00a020%", "price - 20%") == 1.0


def test_similarity_ignores_diacritics_which_tesseract_cannot_read():
    # tesseract's English model reads É, È, À as E, E, A and è as é
    assert text_similarity("L'ÉTÉ EST LÀ", "L'ETE EST LA") == 1.0
    assert text_similarity("Café & Crème: 30% off", "Café & Créme: 30% off") == 1.0
    assert text_similarity("L'ÉTÉ", "l'été") < 1.0  # still case-sensitive


def test_similarity_is_case_sensitive_and_graded():
    assert text_similarity("Spring Sale", "SPRING SALE") < 0.5
    assert text_similarity("Spring Sale", "Sprng Sale") == pytest.approx(1 - 1 / 11)
    assert text_similarity("Spring Sale", "Summer Sale") < 0.7


# ---------------------------------------------------------------- OCR


@needs_tesseract
def test_ocr_reads_text_on_plain_background():
    image = Image.new("RGB", (1080, 1080), "#F4F1EA")
    layout = Layout(
        1080,
        1080,
        [
            draw_box(image, "headline", ["Spring Sale", "30% off everything"], 0.08, 0.08, font_px=80),
            draw_box(
                image,
                "body",
                ["Fresh styles for sunny days,", "made to last all season."],
                0.08,
                0.4,
                font=SANS,
                font_px=32,
            ),
            draw_box(image, "disclaimer", ["Offer ends May 31. Terms apply."], 0.08, 0.9, font=SANS, font_px=14),
        ],
    )
    results = ocr_results(image, layout, min_similarity=0.9)
    assert [r.check for r in results] == ["ocr"] * 3
    assert all(r.passed for r in results), [r.detail for r in results]
    assert all(r.value >= 0.95 for r in results)
    assert results[0].detail.startswith("headline: read 'Spring Sale 30% off everything'")


@needs_tesseract
def test_ocr_reads_light_text_on_plates_and_scrim_over_a_photo():
    image, layout = deliverable(seed=3)
    # A plate that ends exactly at the box: its edge must not be read as "|" or "[".
    layout.boxes.append(
        draw_box(
            image,
            "disclaimer",
            ["Offer ends May 31."],
            0.55,
            0.9,
            font=SANS,
            font_px=16,
            color="#FFFFFF",
            plate="#1A1A1A",
            plate_pad=0,
        )
    )
    results = ocr_results(image, layout, min_similarity=0.9)
    assert all(r.passed for r in results), [r.detail for r in results]
    assert read_box(image, layout.boxes[-1]) == "Offer ends May 31."


def busy_noise(width: int, height: int, seed: int = 0) -> Image.Image:
    """Colour noise drawn at a quarter of the size and upscaled, like the tiny model's drafts."""
    rgb = np.random.default_rng(seed).integers(0, 256, (height // 4, width // 4, 3), dtype=np.uint8)
    return Image.fromarray(rgb).resize((width, height), Image.Resampling.LANCZOS)


def scrim_box(image: Image.Image, text: str, scrim: str = "#FFFFFFD9") -> TextBox:
    """A laid-out box with a strong light scrim, drawn onto image (whose size the layout is for)."""
    (box,) = layout_text(image.width, image.height, {"disclaimer": text}, Brand(brand="acme"), Path(".")).boxes
    box = dataclasses.replace(box, color="#1A1A1A", scrim=scrim)
    image.paste(render_layout(image, Layout(image.width, image.height, [box])))
    return box


def test_prepared_crop_shows_nothing_from_outside_the_box():
    image = busy_noise(1024, 256)
    box = scrim_box(image, "Offer ends May 31.")
    prepared = np.asarray(ocr.prepare_box(image, box))
    # the border tesseract gets is the scrim's colour stretched to white, not the noise around the box
    margin = ocr.BORDER_PX + 3
    ring = np.concatenate(
        [
            prepared[:margin].ravel(),
            prepared[-margin:].ravel(),
            prepared[:, :margin].ravel(),
            prepared[:, -margin:].ravel(),
        ]
    )
    assert (ring == 255).all()


@needs_tesseract
@pytest.mark.parametrize(
    "seed,text", list(enumerate(["Offer ends May 31.", "Spring Sale", "Shop now", "Up to 50% off mugs"]))
)
def test_ocr_reads_a_scrim_over_noise_without_stray_edge_characters(seed, text):
    # cropping a few px of the noise around the scrim read as "[Offer ends May 31.)", "|Spring Sale|"
    image = busy_noise(1024, 256, seed)
    box = scrim_box(image, text)
    assert read_box(image, box) == text


@needs_tesseract
def test_ocr_fails_when_the_image_shows_other_text():
    image = Image.new("RGB", (1080, 1080), "#203040")
    box = draw_box(image, "headline", ["Summer Sale"], 0.1, 0.1, font_px=64, color="#FFFFFF", text="Spring Sale")
    [result] = ocr_results(image, Layout(1080, 1080, [box]), min_similarity=0.95)
    assert not result.passed
    assert result.value < 0.95
    assert result.detail.startswith("headline: read 'Summer Sale' vs 'Spring Sale', similarity 0.")
    assert "< 0.950" in result.detail


@needs_tesseract
def test_ocr_fails_for_a_box_with_nothing_in_it():
    image = Image.new("RGB", (600, 400), "#FFFFFF")
    box = box_at(0.1, 0.1, 0.6, 0.2, text="Shop now", lines=["Shop now"], color="#1A1A1A")
    [result] = ocr_results(image, Layout(600, 400, [box]), min_similarity=0.9)
    assert not result.passed and result.value < 0.5


def test_ocr_without_tesseract_fails_every_box(monkeypatch):
    monkeypatch.setattr(tesseract, "ocr_available", lambda: False)
    image = Image.new("RGB", (200, 200), "#FFFFFF")
    layout = Layout(200, 200, [box_at(0.1, 0.1, 0.5, 0.2), box_at(0.1, 0.5, 0.5, 0.2, role="cta")])
    results = ocr_results(image, layout, 0.9)
    assert [r.passed for r in results] == [False, False]
    assert results[1].value is None
    assert results[1].detail.startswith("cta: could not OCR: ")


# ---------------------------------------------------------------- banned terms


def test_banned_terms_pass():
    result = check_banned_terms(["Spring Sale", "Carefree summer days"], ["free", "guaranteed"])
    assert result == CheckResult("banned_terms", True, 0.0, "none of 2 banned terms in 2 texts")


def test_banned_terms_whole_words_any_case():
    result = check_banned_terms(["Spring Sale", "FREE shipping today"], ["free"], labels=["headline", "body"])
    assert not result.passed and result.value == 1.0
    assert result.detail == "banned term 'free' in body: 'FREE shipping today'"
    assert not check_banned_terms(["Sugar-free!"], ["free"]).passed  # hyphen separates words
    assert check_banned_terms(["Freedom for the carefree"], ["free"]).passed


def test_banned_terms_multi_word_and_typographic():
    assert not check_banned_terms(["Your money\nback, always"], ["money back"]).passed
    assert check_banned_terms(["money talks, come back"], ["money back"]).passed
    result = check_banned_terms(["Don\u2019t miss it", "Results guaranteed"], ["don't", "Guaranteed"])
    assert result.value == 2.0
    assert 'banned term "don\'t" in text 1' in result.detail
    assert "banned term 'Guaranteed' in text 2" in result.detail


# ---------------------------------------------------------------- size


def test_size_pass_and_fail(tmp_path):
    assert check_exact_size(Image.new("RGB", (1080, 1350)), 1080, 1350).passed
    wrong = check_exact_size(Image.new("RGB", (1024, 1024)), 1080, 1080)
    assert not wrong.passed and wrong.detail == "is 1024x1024, expected 1080x1080"

    Image.new("RGB", (64, 64)).save(tmp_path / "a.png")
    Image.new("RGB", (64, 64)).save(tmp_path / "a.jpg")
    assert check_exact_size(tmp_path / "a.png", 64, 64).detail == "64x64, PNG"
    jpeg = check_exact_size(tmp_path / "a.jpg", 64, 64)
    assert not jpeg.passed and jpeg.detail == "is JPEG, expected PNG"
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert not check_exact_size(tmp_path / "broken.png", 64, 64).passed


# ---------------------------------------------------------------- not blank


def test_blank_uniform_grey_fails():
    result = check_not_blank(Image.new("RGB", (512, 512), (128, 128, 128)))
    assert not result.passed and result.value == 0.0
    assert result.detail.startswith("near-uniform: luminance std 0.00")


def test_black_fails():
    result = check_not_blank(Image.new("RGB", (512, 512), (0, 0, 0)))
    assert not result.passed
    assert result.detail.startswith("all black")


def test_black_render_with_typeset_text_still_fails():
    image = Image.new("RGB", (1080, 1080), (0, 0, 0))
    box = draw_box(image, "headline", ["Spring Sale"], 0.1, 0.1, font_px=96, color="#FFFFFF", plate="#FF5A36")
    assert check_not_blank(image).passed  # judged whole, the plate makes it look busy
    assert not check_not_blank(image, Layout(1080, 1080, [box])).passed


def test_nan_array_fails():
    array = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    array[5, 5, 1] = np.nan
    result = check_not_blank(array)
    assert not result.passed and result.value is None
    assert result.detail == "1 of 12288 values are NaN or infinite"


def test_noise_passes():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
    result = check_not_blank(Image.fromarray(noise))
    assert result.passed and result.value > 20
    assert check_not_blank(noise).passed  # uint8 HWC array
    assert check_not_blank(rng.random((3, 64, 64), dtype=np.float32)).passed  # float CHW array
    assert check_not_blank(photo(1080, 1080)).passed


# ---------------------------------------------------------------- layout checks


def test_contrast():
    layout = Layout(
        1000,
        1000,
        [
            box_at(0.1, 0.1, 0.5, 0.1, contrast=7.1),
            box_at(0.1, 0.3, 0.5, 0.1, role="cta", contrast=3.2),
            box_at(0.1, 0.5, 0.5, 0.1, role="body", contrast=None),
        ],
    )
    passed, low, missing = check_contrast(layout, 4.5)
    assert passed.passed and passed.value == 7.1
    assert not low.passed and low.detail == "cta: contrast 3.20:1 < 4.50:1"
    assert not missing.passed and missing.value is None


def test_min_font():
    layout = Layout(
        1000, 1000, [box_at(0.1, 0.1, 0.5, 0.1, font_px=14), box_at(0.1, 0.3, 0.5, 0.1, role="disclaimer", font_px=12)]
    )
    ok, small = check_min_font(layout, 14)
    assert ok.passed and ok.value == 14.0
    assert not small.passed and small.detail == "disclaimer: font 12 px < 14 px"


def test_safe_margin():
    # 1080x1350: margin = 0.05 * 1080 = 54 px.
    inside = box_at(0.05, 0.1, 0.9, 0.2)  # 54 px from left and right
    near_bottom = box_at(0.1, 0.9, 0.5, 0.08, role="cta")  # ends at 1323 px: 27 px from the bottom
    ok, bad = check_safe_margin(Layout(1080, 1350, [inside, near_bottom]), 0.05)
    assert ok.passed and ok.value == 54.0
    assert not bad.passed and bad.value == 27.0
    assert bad.detail == "cta: box (108, 1215)-(648, 1323) is 27 px from the bottom edge < safe margin 54 px"


# ---------------------------------------------------------------- all checks


@needs_tesseract
def test_run_deliverable_checks_passes_a_good_image(tmp_path):
    image, layout = deliverable()
    image.save(tmp_path / "final.png")
    results = run_deliverable_checks(tmp_path / "final.png", layout, BRAND, 1080, 1080)
    assert [r.check for r in results] == (
        ["size", "not_blank", "hallucinated_text", "banned_terms"]
        + ["contrast"] * 3
        + ["min_font"] * 3
        + ["safe_margin"] * 3
        + ["design_lint"] * 5  # alignment, hierarchy, margins, overlaps, plate contrast (no logo here)
        + ["seams"]
        + ["ocr"] * 3
    )
    assert all(r.passed for r in results), [r.detail for r in results if not r.passed]


@needs_tesseract
def test_run_deliverable_checks_reports_each_problem():
    image, layout = deliverable(headline="Results guaranteed")
    results = run_deliverable_checks(image.resize((1000, 1000)), layout, BRAND, 1080, 1080)
    failed = {r.check: r.detail for r in results if not r.passed}
    assert set(failed) == {"size", "banned_terms"}, failed  # OCR still reads the resized image
    assert "'guaranteed' in headline" in failed["banned_terms"]


@needs_tesseract
def test_run_checks_parallel_keeps_input_order():
    jobs = []
    for seed, headline in enumerate(["Spring Sale", "Summer Sale", "Autumn Sale", "Winter Sale", "Big Sale"]):
        image, layout = deliverable(seed, headline, size=540)
        jobs.append((image, layout, BRAND, 540, 540))
    jobs[2] = (jobs[2][0], jobs[0][1], BRAND, 540, 540)  # image says "Autumn", layout expects "Spring"
    results = run_checks_parallel(jobs, workers=2)
    assert len(results) == 5
    headline_reads = [next(r for r in rs if r.check == "ocr") for rs in results]
    assert [r.passed for r in headline_reads] == [True, True, False, True, True]
    assert "read 'Winter Sale" in headline_reads[3].detail
    assert run_checks_parallel([]) == []
