"""WCAG contrast and texture, measured against the real pixels behind each text box.

A box's background is summarised by the 5th and 95th percentile of luminance,
so a few stray pixels do not decide the colour but a busy area does. Contrast
alone is not legibility: over noise, grain or stripes every letter competes
with marks of its own size and tone. So the background's texture (luma detail
finer than the text) counts too, and small text must stand out from it more
than large text (`required_separation`).

When no allowed text colour is legible on the bare background, the box gets a
translucent scrim (colour "#RRGGBBAA", the lightest alpha that is enough: a
scrim scales the texture down with what shows through) or, failing that, a
solid plate. Scrims and plates cover exactly the box, which the layout pads
around the text.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from PIL import Image

from ..colour import contrast_ratio, luma, pixel_luminance, to_rgb, worst_case_contrast
from ..specs import Brand
from .boxes import Layout, TextBox

LOW_PERCENTILE, HIGH_PERCENTILE = 5, 95
SCRIM_ALPHAS = [a / 100 for a in range(30, 90, 5)]  # lightest first; above 0.85 a plate reads better
SCRIM_HEADROOM = 0.05  # aim a little above the minimum: the render rounds to 8-bit
MAX_SAMPLES = 250_000  # pixels per box used for percentiles; more changes nothing
# Busy backgrounds: the text's luma must differ from the background's median by
# SEPARATION_LARGE times the background's texture (RMS luma detail finer than
# TEXTURE_WINDOW_EM) for text of SEPARATION_REF_PX and more, and by
# (SEPARATION_REF_PX / font_px) ** SEPARATION_EXPONENT times that below it
# (17x at 14 px). Calibrated by OCR-ing ~1000 renders over colour noise, stripes
# and photo-like blobs at every scrim alpha: 36-60 px text read back exactly from
# 6x, 14-35 px text from about 10x; these values keep a margin.
TEXTURE_WINDOW_EM = 1.0
SEPARATION_LARGE = 10.0
SEPARATION_REF_PX = 40
SEPARATION_EXPONENT = 0.5
# ...and the background must be even: its EVEN_PERCENTILE and 100 - EVEN_PERCENTILE
# luma percentiles keep at least EVENNESS of that distance from the text.
EVENNESS = 0.6
EVEN_PERCENTILE = 1


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
    lum = pixel_luminance(pixels)
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


# ---------------------------------------------------------------- busy backgrounds


def _box_patch(image: Image.Image, box: TextBox | tuple[int, int, int, int]) -> np.ndarray:
    """The box's pixels as an (H, W, 3) uint8 array, strided evenly in both directions when huge."""
    patch = np.asarray(image.convert("RGB").crop(_pixel_rect(image, box)))
    step = math.ceil(math.sqrt(patch.shape[0] * patch.shape[1] / MAX_SAMPLES))
    return patch[::step, ::step] if step > 1 else patch


def _local_mean(plane: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2 radius + 1)^2 window around each pixel, edges replicated (integral image)."""
    padded = np.pad(plane, radius + 1, mode="edge")
    total = padded.cumsum(0).cumsum(1)
    size = 2 * radius + 1
    h, w = plane.shape
    window = (
        total[size : size + h, size : size + w]
        - total[:h, size : size + w]
        - total[size : size + h, :w]
        + total[:h, :w]
    )
    return window / (size * size)


def _texture(patch: np.ndarray, font_px: float, step: int = 1) -> float:
    """RMS luma detail of an (H, W, 3) patch finer than about one em (font_px, in full-size pixels)."""
    if patch.size == 0:
        return 0.0
    plane = luma(patch)
    radius = max(1, round(font_px * TEXTURE_WINDOW_EM / 2 / step))
    detail = plane - _local_mean(plane, radius)
    return float(np.sqrt(np.mean(detail * detail)))


def _patch_and_step(image: Image.Image, box: TextBox | tuple[int, int, int, int]) -> tuple[np.ndarray, int]:
    patch = _box_patch(image, box)
    top, bottom = _pixel_rect(image, box)[1::2]
    return patch, max(1, round((bottom - top) / max(1, patch.shape[0])))


def background_texture(image: Image.Image, box: TextBox | tuple[int, int, int, int], font_px: float) -> float:
    """How busy the background behind `box` is: RMS of the luma detail finer than the text (0..255).

    font_px is the text size in this image's pixels. Luma minus its local mean
    over about one em keeps what competes with the strokes (noise, grain,
    stripes, edges) and drops slow shading, which the contrast ratio covers.
    A flat or smoothly graded area scores ~0; colour noise scores 40 or more.
    """
    patch, step = _patch_and_step(image, box)
    return _texture(patch, font_px, step)


def required_separation(font_px: float) -> float:
    """How many times the background's texture the text must stand out from it.

    Small text needs more: its strokes are thin next to the grain, so the same
    noise breaks or joins letters (and OCR reads "31." as "32." or adds
    stray punctuation) where large text still reads cleanly.
    """
    return SEPARATION_LARGE * max(1.0, (SEPARATION_REF_PX / max(font_px, 1.0)) ** SEPARATION_EXPONENT)


def _legible(
    colour: str, pixels: np.ndarray, texture: float, alpha8: int, scrim: tuple[int, int, int], separation: float
) -> tuple[bool, float]:
    """(clean enough to read, WCAG worst case) for text `colour` over pixels under a scrim (alpha8 0: none).

    Clean enough: the text's luma is `separation` times the remaining texture
    away from the background's median, and the background is even: its 1st and
    99th percentile stay at least EVENNESS of that distance from the text, so
    no patch of the box (a dark corner under a light scrim, say) comes near the
    text's tone and reads as a mark.
    """
    blended = _composite(pixels, scrim, alpha8) if alpha8 else pixels
    ratio = worst_case_contrast(colour, *_luminance_range(blended))
    grey = luma(blended)
    low, median, high = np.percentile(grey, [EVEN_PERCENTILE, 50, 100 - EVEN_PERCENTILE])
    text = float(luma(np.array(to_rgb(colour))))
    gap = abs(text - median)
    residual = texture * (255 - alpha8) / 255  # a scrim scales the texture down with what shows through
    clear = gap >= separation * residual and min(abs(text - low), abs(text - high)) >= EVENNESS * gap
    return bool(clear), ratio


def _scrim_for(
    pixels: np.ndarray, colours: list[str], min_contrast: float, texture: float = 0.0, separation: float = 0.0
) -> tuple[str, str | None, float] | None:
    """No scrim, or the lightest one, with which some allowed colour reaches `min_contrast`
    and stands out `separation` times from the texture: (text colour, "#RRGGBBAA" or None, contrast).
    None when even the strongest scrim is not enough: the box needs a plate.
    """
    for alpha in [0.0, *SCRIM_ALPHAS]:
        alpha8 = round(alpha * 255)
        options = []
        for colour in colours:
            # dark scrim under light text, light scrim under dark text
            scrim = (
                (0, 0, 0) if contrast_ratio(colour, "#000000") >= contrast_ratio(colour, "#FFFFFF") else (255, 255, 255)
            )
            clear, ratio = _legible(colour, pixels, texture, alpha8, scrim, separation)
            if clear and ratio >= (min_contrast + SCRIM_HEADROOM if alpha8 else min_contrast):
                options.append((ratio, colour, scrim))
        if options:
            ratio, colour, scrim = max(options)
            return colour, ("#{:02X}{:02X}{:02X}{:02X}".format(*scrim, alpha8) if alpha8 else None), ratio
    return None


def _plate_for(colours: list[str]) -> tuple[str, str, float]:
    """Solid black or white plate and the allowed colour that reads best on it."""
    options = [(contrast_ratio(c, plate), c, plate) for c in colours for plate in ("#000000", "#FFFFFF")]
    ratio, colour, plate = max(options)
    return colour, plate, ratio


def choose_colours(layout: Layout, background: Image.Image, brand: Brand) -> Layout:
    """Pick each box's text colour (and scrim or plate when needed) for this background.

    The background may be any resolution: boxes are relative. A box gets no
    scrim, the lightest scrim, or a plate, whichever first makes an allowed
    text colour both reach brand.min_contrast (WCAG, worst case over the
    background's 5th..95th percentile luminance) and stand out from the
    background's texture by `required_separation(font_px)`: over busy ground
    (noise, grain, stripes) contrast alone does not make text readable.
    Returns a new Layout; every box records the contrast it achieves.
    """
    colours = list(brand.colors.text)
    scale = background.height / layout.height  # final-size px -> this background's px
    boxes = []
    # a scrim or plate from an earlier pass is recomputed for this background
    for box in layout.boxes:
        if box.role == "cta" and box.plate:  # text against the accent plate
            colour, ratio = max(((c, contrast_ratio(c, box.plate)) for c in colours), key=lambda cc: cc[1])
            if ratio < brand.min_contrast:  # no brand colour reads on the accent: fall back to black/white
                colour = max(("#000000", "#FFFFFF"), key=lambda c: contrast_ratio(c, box.plate))
                ratio = contrast_ratio(colour, box.plate)
            boxes.append(dataclasses.replace(box, color=colour, scrim=None, contrast=float(ratio)))
            continue
        patch, step = _patch_and_step(background, box)
        texture = _texture(patch, box.font_px * scale, step)
        found = _scrim_for(patch.reshape(-1, 3), colours, brand.min_contrast, texture, required_separation(box.font_px))
        scrim = plate = None
        if found:
            colour, scrim, ratio = found
        else:
            colour, plate, ratio = _plate_for(colours)
        boxes.append(dataclasses.replace(box, color=colour, scrim=scrim, plate=plate, contrast=float(ratio)))
    return dataclasses.replace(layout, boxes=boxes)
