"""Colour: hex codes, Rec.601 luma, WCAG luminance and contrast, CIELAB and CIEDE2000, in one place.

Colours are sRGB, 0..255 per channel: a "#RRGGBB" string (a trailing alpha byte is ignored,
the "#" is optional) or a sequence of ints. CIELAB and CIEDE2000 are scikit-image's
(imported when first used, so importing this module stays light).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from PIL import ImageColor

Colour = str | Sequence[int]

HEX_COLOUR = re.compile(r"#?([0-9A-Fa-f]{6})([0-9A-Fa-f]{2})?")
# ITU-R BT.601 luma weights, the same as Pillow's RGB -> L: the grey levels OCR and readers go by.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
# The sRGB primaries' shares of luminance (WCAG's relative luminance).
LUMINANCE_WEIGHTS = np.array([0.2126, 0.7152, 0.0722])


def hex_to_rgb(code: str) -> tuple[int, int, int]:
    """(r, g, b) of "#RRGGBB" or "RRGGBB" (an "AA" alpha byte after it is ignored)."""
    match = HEX_COLOUR.fullmatch(code.strip())
    if not match:
        raise ValueError(f"{code!r} is not a #RRGGBB colour")
    value = match.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def to_rgb(colour: Colour) -> tuple[int, int, int]:
    """(r, g, b) of a hex code, a CSS colour name Pillow knows ("white"), or a sequence of ints."""
    if isinstance(colour, str):
        return hex_to_rgb(colour) if HEX_COLOUR.fullmatch(colour.strip()) else ImageColor.getrgb(colour)[:3]
    return tuple(int(c) for c in colour[:3])  # type: ignore[return-value]


def luma(pixels: np.ndarray | Sequence[int]) -> np.ndarray:
    """Rec.601 luma 0..255 of RGB pixels (the last axis), as float64; one colour gives a 0-d array."""
    return np.asarray(pixels, dtype=np.float64)[..., :3] @ LUMA_WEIGHTS


def srgb_to_linear(channel: np.ndarray | float) -> np.ndarray:
    """sRGB 0..255 -> linear light 0..1 (the sRGB transfer function WCAG uses)."""
    c = np.asarray(channel, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def relative_luminance(colour: Colour) -> float:
    """WCAG relative luminance, 0 (black) to 1 (white)."""
    r, g, b = (float(srgb_to_linear(c)) for c in to_rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def pixel_luminance(pixels: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of RGB pixels (the last axis)."""
    return srgb_to_linear(pixels) @ LUMINANCE_WEIGHTS


def luminance_ratio(l1: float, l2: float) -> float:
    high, low = max(l1, l2), min(l1, l2)
    return (high + 0.05) / (low + 0.05)


def contrast_ratio(c1: Colour, c2: Colour) -> float:
    """WCAG 2.x contrast ratio, 1 to 21."""
    return luminance_ratio(relative_luminance(c1), relative_luminance(c2))


def worst_case_contrast(colour: Colour, low: float, high: float) -> float:
    """Lowest contrast of `colour` against any luminance in [low, high].

    When the text's own luminance lies inside the range, some background pixels
    match it and the worst case is 1.
    """
    lum = relative_luminance(colour)
    if low <= lum <= high:
        return 1.0
    return min(luminance_ratio(lum, low), luminance_ratio(lum, high))


def lab(rgb) -> np.ndarray:
    """CIELAB of sRGB values 0..255 (the last axis; any shape: one colour, n colours, an image)."""
    from skimage.color import rgb2lab

    values = np.asarray(rgb, dtype=np.float64)
    return rgb2lab(values.reshape(-1, 1, 3) / 255.0).reshape(values.shape)


def lab_to_rgb(values: np.ndarray) -> np.ndarray:
    """sRGB uint8 of CIELAB values (the last axis), clipped to the gamut and rounded."""
    from skimage.color import lab2rgb

    values = np.asarray(values, dtype=np.float64)
    rgb = lab2rgb(values.reshape(-1, 1, 3)).reshape(values.shape)
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def delta_e(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of CIELAB values (broadcast over the leading axes)."""
    from skimage.color import deltaE_ciede2000

    return deltaE_ciede2000(lab1, lab2)
