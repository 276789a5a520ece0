"""The edge-band draft check: no tinted frame round the picture.

A draft's outer EDGE_BAND px, all four sides, are compared with the next EDGE_BAND px
inward: the mean colour of each band in CIELAB, apart by CIEDE2000. A frame left by the
generator (zero-padded convolutions at the canvas edge, see models/generation.py
EDGE_OVERSCAN_PX) shows as a
border band whose mean colour differs from the picture just inside it.

EDGE_MAX_DELTA_E is set from benchmarks/edge_frame.py (drafts of the embedded and tiny
models at 1:1, 9:16 and 4:1, 16 prompts each; benchmarks/results/edge_frame.md). With the
canvas edge kept, the embedded model's 8 px band differed by 2.30 median, 5.41 at most (its
outermost ring by 6.05 median, 11.97 at most). With the generator's 16 px overscan: 1.23
median, 3.98 at most (embedded) and 1.20 / 3.47 (tiny, whose random weights paint blotches
that differ band to band anyway). 5.0 is above every overscanned draft measured (96 of 96
pass, so the check never re-rolls a frame-free draft) and below the strongest frames of the
old generation; the generator itself prevents the subtler ones at their source.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from asset_pipeline.checks.result import CheckResult
from asset_pipeline.colour import delta_e, lab

EDGE_BAND = 8  # px, at the draft's own size
EDGE_MAX_DELTA_E = 5.0


def _ring_mean(pixels: np.ndarray, outer: int, inner: int) -> np.ndarray:
    """Mean sRGB of the pixels at least `outer` and less than `inner` px from the nearest edge."""
    height, width = pixels.shape[:2]
    mask = np.zeros((height, width), dtype=bool)
    mask[outer : height - outer, outer : width - outer] = True
    mask[inner : height - inner, inner : width - inner] = False
    return pixels[mask].reshape(-1, 3).mean(0)


def edge_band_delta_e(image: Image.Image, band: int = EDGE_BAND) -> float:
    """CIEDE2000 between the mean colour of the outer `band` px and of the next `band` px inward."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    if min(pixels.shape[:2]) < 4 * band + 1:
        return 0.0  # too small to have two bands and a middle: nothing to judge
    outer, inner = lab(_ring_mean(pixels, 0, band)), lab(_ring_mean(pixels, band, 2 * band))
    return float(delta_e(outer, inner))


def check_edge_band(image: Image.Image, max_delta_e: float = EDGE_MAX_DELTA_E, band: int = EDGE_BAND) -> CheckResult:
    """Fails a draft whose border band differs from the band inside it by more than `max_delta_e`."""
    value = edge_band_delta_e(image, band)
    passed = value <= max_delta_e
    sign = "<=" if passed else ">"
    detail = (
        f"outer {band} px band vs the next {band} px inward: mean colour CIEDE2000 {value:.2f} {sign} {max_delta_e:.1f}"
    )
    if not passed:
        detail += " (a tinted frame round the picture)"
    return CheckResult("edge_band", passed, round(value, 3), detail)
