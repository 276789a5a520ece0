"""Palette grading: pull a generated image's dominant colours toward the colours its prompt names.

A colourist's "grade to the brand palette", done per image after generation. The image's
dominant colours (Pillow median-cut on a thumbnail) are each matched to the nearest named
colour (CIEDE2000) and every pixel moves by a soft mix of its nearby clusters' moves, in
CIELAB. Pixels move together with their cluster, so texture, grain, stripes and light keep
their relative contrast; only the colours the clusters sit on change.

Lightness moves less than hue and chroma (`lightness`): a spotlight on a navy backdrop stays
a spotlight, tinted navy, instead of being flattened into the backdrop.

A registry model opts in with `palette_grade` (the strength, 0 to 1). The embedded model
does: its small VAE shifts hues (coral decodes orange), and this puts them back.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from asset_pipeline.colour import delta_e, hex_to_rgb, lab, lab_to_rgb
from asset_pipeline.models.embedded import COLOURS

HEX = re.compile(r"#([0-9a-fA-F]{6})\b")
# Longest names first, so "sky blue" is one colour and not also "blue".
NAMES = re.compile(r"\b(" + "|".join(sorted(map(re.escape, COLOURS), key=len, reverse=True)) + r")\b(?!\s*\(#)")
CLUSTERS = 8  # dominant colours found per image
THUMBNAIL = 96  # px, the side the clusters are found at
SOFTNESS = 12.0  # CIELAB units: how far a cluster's move reaches into neighbouring colours


def named_colours(prompt: str) -> list[tuple[int, int, int]]:
    """The sRGB colours a prompt names: hex codes, and caption colour names not already given as hex.

    'coral (#ff5a36) and navy palette, soft gradient' -> [(255, 90, 54), (27, 42, 87)].
    """
    found = [hex_to_rgb(m) for m in HEX.findall(prompt)]
    found += [hex_to_rgb(COLOURS[m]) for m in NAMES.findall(prompt.lower())]
    return list(dict.fromkeys(found))


def dominant_colours(
    image: Image.Image, clusters: int = CLUSTERS, thumbnail: int = THUMBNAIL
) -> tuple[np.ndarray, np.ndarray]:
    """(CIELAB centres, pixel shares) of the image's dominant colours: Pillow's median cut on a thumbnail."""
    thumb = image.convert("RGB").resize((thumbnail, thumbnail), Image.BILINEAR)
    quantised = thumb.quantize(clusters, method=Image.Quantize.MEDIANCUT)
    rgb = np.array(quantised.getpalette(), dtype=np.float64).reshape(-1, 3)  # fewer entries for fewer colours
    counts = np.bincount(np.asarray(quantised).ravel(), minlength=len(rgb))[: len(rgb)]
    used = counts > 0
    rgb = rgb[used]
    return lab(rgb), counts[used] / counts.sum()


def grade(
    image: Image.Image, targets: list[tuple[int, int, int]], strength: float, lightness: float = 0.5
) -> Image.Image:
    """`image` with its dominant colours moved `strength` of the way to the nearest of `targets` (sRGB).

    Lightness moves `lightness` times as far as hue and chroma. No targets or no strength: unchanged.
    """
    if not targets or strength <= 0:
        return image
    pixels = lab(np.asarray(image.convert("RGB")))
    centres, shares = dominant_colours(image)
    goals = lab(targets)
    distance = delta_e(centres[:, None, :], goals[None, :, :])  # clusters x targets
    moves = goals[distance.argmin(1)] - centres
    moves[:, 0] *= lightness
    # Each pixel takes a softmax-weighted mix of the clusters' moves, by its Lab distance to each.
    flat = pixels.reshape(-1, 3)
    # |p - c|^2 expanded, so memory is pixels x clusters, not pixels x clusters x 3.
    d2 = (flat**2).sum(1, keepdims=True) - 2 * flat @ centres.T + (centres**2).sum(1)[None, :]
    logits = -d2 / (2 * SOFTNESS**2) + np.log(shares)[None, :]
    weights = np.exp(logits - logits.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    graded = flat + strength * weights @ moves
    return Image.fromarray(lab_to_rgb(graded.reshape(pixels.shape)))
