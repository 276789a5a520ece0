"""Palette grading: which colours a prompt names, and how far a draft's colours move toward them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from asset_pipeline.colour import delta_e, hex_to_rgb, lab
from asset_pipeline.models.embedded import COLOURS
from asset_pipeline.models.grading import grade, named_colours

CORAL, NAVY = hex_to_rgb(COLOURS["coral"]), hex_to_rgb(COLOURS["navy"])


def _delta_e(rgb_a, rgb_b) -> float:
    a, b = lab([rgb_a, rgb_b])
    return float(delta_e(a, b))


def _mean_rgb(image: Image.Image, box=None) -> tuple:
    return tuple(np.asarray(image.crop(box) if box else image, dtype=np.float64).reshape(-1, 3).mean(0))


def test_named_colours_reads_hex_codes_and_caption_names():
    assert named_colours("coral (#FF5A36) and navy palette, soft gradient") == [(255, 90, 54), NAVY]
    # A name followed by its hex counts once, as the hex; "sky blue" is not also "blue".
    assert named_colours("sky blue (#87c3eb) sweep") == [(135, 195, 235)]
    assert named_colours("Sky Blue backdrop with a blue glow") == [
        hex_to_rgb(COLOURS["sky blue"]),
        hex_to_rgb(COLOURS["blue"]),
    ]
    assert named_colours("golden hour over a meadow") == []  # "gold" only as a whole word
    assert named_colours("") == []


def test_grade_moves_a_flat_colour_the_chosen_share_of_the_way():
    orange = Image.new("RGB", (128, 128), (242, 138, 36))
    start = _delta_e(_mean_rgb(orange), CORAL)
    half = _delta_e(_mean_rgb(grade(orange, [CORAL, NAVY], 0.5, lightness=1.0)), CORAL)
    full = _delta_e(_mean_rgb(grade(orange, [CORAL, NAVY], 1.0, lightness=1.0)), CORAL)
    assert start > 15 and full < 2 and full < half < start


def test_grade_keeps_the_pattern_and_sends_each_stripe_to_its_own_colour():
    stripes = np.zeros((128, 128, 3), np.uint8)
    stripes[:, :] = (230, 150, 60)  # an orange that should be coral
    stripes[:, ::16] = stripes[:, 1::16] = stripes[:, 2::16] = stripes[:, 3::16] = (40, 40, 120)  # blue-ish for navy
    image = Image.fromarray(stripes)
    graded = grade(image, [CORAL, NAVY], 1.0, lightness=1.0)
    out = np.asarray(graded)
    dark = _mean_rgb(Image.fromarray(out[:, 0:4]))
    light = _mean_rgb(Image.fromarray(out[:, 6:14]))
    assert _delta_e(dark, NAVY) < 5 and _delta_e(light, CORAL) < 5
    # Same stripes in the same places: the darker columns stay exactly where they were.
    grey_in, grey_out = np.asarray(image.convert("L"), float), out.astype(float).mean(2)
    assert np.array_equal(grey_in[0] < grey_in[0].mean(), grey_out[0] < grey_out[0].mean())


def test_lightness_moves_less_so_a_spotlight_stays_a_spotlight():
    backdrop = np.full((128, 128, 3), (30, 40, 90), np.uint8)
    backdrop[40:88, 40:88] = (200, 205, 230)  # a bright patch on a blue backdrop, navy the only colour named
    graded = np.asarray(grade(Image.fromarray(backdrop), [NAVY], 1.0, lightness=0.5), float)
    lightness = lab(graded)[..., 0]
    assert lightness[64, 64] - lightness[5, 5] > 25  # still far lighter than the backdrop


@pytest.mark.parametrize("targets, strength", [([], 1.0), ([CORAL], 0.0)])
def test_no_colours_or_no_strength_leaves_the_image_alone(targets, strength):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    assert grade(image, targets, strength) is image
