"""WCAG contrast, measured against the real pixels behind each text box.

A box's background is summarised by the 5th and 95th percentile of luminance,
so a few stray pixels do not decide the colour but a busy area does.
When no allowed text colour is legible, the box gets a translucent scrim
(colour "#RRGGBBAA", the alpha just strong enough) or, failing that, a solid plate.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
from PIL import Image, ImageColor

from ..specs import Brand
from .boxes import Layout, TextBox

LOW_PERCENTILE, HIGH_PERCENTILE = 5, 95
SCRIM_ALPHAS = [a / 100 for a in range(30, 90, 5)]  # lightest first; above 0.85 a plate reads better
SCRIM_HEADROOM = 0.05   # aim a little above the minimum: the render rounds to 8-bit
MAX_SAMPLES = 250_000   # pixels per box used for percentiles; more changes nothing

Color = str | Sequence[int]


def to_rgb(color: Color) -> tuple[int, int, int]:
    if isinstance(color, str):
        return ImageColor.getrgb(color)[:3]
    return tuple(int(c) for c in color[:3])  # type: ignore[return-value]


def _linear(channel: np.ndarray | float) -> np.ndarray | float:
    """sRGB 0..255 -> linear light 0..1 (the WCAG / sRGB transfer function)."""
    c = np.asarray(channel, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def relative_luminance(rgb: Color) -> float:
    r, g, b = (float(_linear(c)) for c in to_rgb(rgb))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def luminance_ratio(l1: float, l2: float) -> float:
    high, low = max(l1, l2), min(l1, l2)
    return (high + 0.05) / (low + 0.05)


def contrast_ratio(c1: Color, c2: Color) -> float:
    """WCAG 2.x contrast ratio, 1 to 21."""
    return luminance_ratio(relative_luminance(c1), relative_luminance(c2))


def worst_case_contrast(color: Color, low: float, high: float) -> float:
    """Lowest contrast of `color` against any luminance in [low, high].

    When the text's own luminance lies inside the range, some background pixels
    match it and the worst case is 1.
    """
    lum = relative_luminance(color)
    if low <= lum <= high:
        return 1.0
    return min(luminance_ratio(lum, low), luminance_ratio(lum, high))


def _pixel_rect(image: Image.Image, box: TextBox | tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    left, top, right, bottom = box.pixel_box(*image.size) if isinstance(box, TextBox) else box
    left, top = max(0, left), max(0, top)
    right, bottom = min(image.width, max(right, left + 1)), min(image.height, max(bottom, top + 1))
    return left, top, right, bottom


def _box_pixels(image: Image.Image, box: TextBox | tuple[int, int, int, int]) -> np.ndarray:
    """The box's pixels as an (N, 3) uint8 array, subsampled evenly when huge."""
    pixels = np.asarray(image.convert("RGB").crop(_pixel_rect(image, box))).reshape(-1, 3)
    if len(pixels) > MAX_SAMPLES:
        pixels = pixels[:: len(pixels) // MAX_SAMPLES + 1]
    return pixels


def _luminance_range(pixels: np.ndarray) -> tuple[float, float]:
    lin = _linear(pixels)
    lum = lin @ np.array([0.2126, 0.7152, 0.0722])
    low, high = np.percentile(lum, [LOW_PERCENTILE, HIGH_PERCENTILE])
    return float(low), float(high)


def background_luminance(image: Image.Image, box: TextBox | tuple[int, int, int, int]) -> tuple[float, float]:
    """(5th, 95th) percentile of relative luminance of the pixels behind `box`.

    box is a TextBox (relative coordinates, mapped onto this image's size) or a
    (left, top, right, bottom) pixel rectangle.
    """
    return _luminance_range(_box_pixels(image, box))


def _composite(pixels: np.ndarray, scrim: tuple[int, int, int], alpha8: int) -> np.ndarray:
    """What Image.alpha_composite makes of a scrim over opaque pixels (8-bit, rounded)."""
    return np.rint((np.array(scrim) * alpha8 + pixels.astype(np.float64) * (255 - alpha8)) / 255)


def _best_text(colors: list[str], low: float, high: float) -> tuple[str, float]:
    return max(((c, worst_case_contrast(c, low, high)) for c in colors), key=lambda cc: cc[1])


def _scrim_for(pixels: np.ndarray, colors: list[str], target: float) -> tuple[str, str, float] | None:
    """Lightest scrim that makes some allowed colour reach target: (text colour, "#RRGGBBAA", contrast)."""
    for alpha in SCRIM_ALPHAS:
        alpha8 = round(alpha * 255)
        options = []
        for color in colors:
            # dark scrim under light text, light scrim under dark text
            scrim = (0, 0, 0) if contrast_ratio(color, "#000000") >= contrast_ratio(color, "#FFFFFF") else (255, 255, 255)
            low, high = _luminance_range(_composite(pixels, scrim, alpha8))
            options.append((worst_case_contrast(color, low, high), color, scrim))
        ratio, color, scrim = max(options)
        if ratio >= target:
            return color, "#{:02X}{:02X}{:02X}{:02X}".format(*scrim, alpha8), ratio
    return None


def _plate_for(colors: list[str]) -> tuple[str, str, float]:
    """Solid black or white plate and the allowed colour that reads best on it."""
    options = [(contrast_ratio(c, plate), c, plate) for c in colors for plate in ("#000000", "#FFFFFF")]
    ratio, color, plate = max(options)
    return color, plate, ratio


def choose_colors(layout: Layout, background: Image.Image, brand: Brand) -> Layout:
    """Pick each box's text colour (and scrim or plate when needed) for this background.

    The background may be any resolution: boxes are relative. Returns a new
    Layout; every box records the contrast it achieves.
    """
    colors = list(brand.colors.text)
    boxes = []
    # a scrim or plate from an earlier pass is recomputed for this background
    for box in layout.boxes:
        if box.role == "cta" and box.plate:  # text against the accent plate
            color, ratio = max(((c, contrast_ratio(c, box.plate)) for c in colors), key=lambda cc: cc[1])
            if ratio < brand.min_contrast:  # no brand colour reads on the accent: fall back to black/white
                color = max(("#000000", "#FFFFFF"), key=lambda c: contrast_ratio(c, box.plate))
                ratio = contrast_ratio(color, box.plate)
            boxes.append(dataclasses.replace(box, color=color, scrim=None, contrast=float(ratio)))
            continue
        pixels = _box_pixels(background, box)
        color, ratio = _best_text(colors, *_luminance_range(pixels))
        scrim = plate = None
        if ratio < brand.min_contrast:
            found = _scrim_for(pixels, colors, brand.min_contrast + SCRIM_HEADROOM)
            if found:
                color, scrim, ratio = found
            else:
                color, plate, ratio = _plate_for(colors)
        boxes.append(dataclasses.replace(box, color=color, scrim=scrim, plate=plate, contrast=float(ratio)))
    return dataclasses.replace(layout, boxes=boxes)
