"""WCAG contrast and texture, measured against the real pixels behind each text box.

A box's background is summarised by the 5th and 95th percentile of luminance,
so a few stray pixels do not decide the colour but a busy area does. Contrast
alone is not legibility: over noise, grain or stripes every letter competes
with marks of its own size and tone. So the background's texture (luma detail
finer than the text) counts too, and small text must stand out from it more
than large text (`required_separation`).

When no allowed text colour is legible on the bare background, the text block
gets one translucent scrim behind all its boxes (colour "#RRGGBBAA", the lightest
alpha that is enough for every box: a scrim scales the texture down with what
shows through), up to a solid panel. One text colour (polarity) serves the
whole deliverable. The CTA plate is set apart from its surroundings by 3:1
(WCAG 1.4.11), with an outline or another allowed colour when the accent is not.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from PIL import Image, ImageColor, ImageDraw

from ..colour import (
    contrast_ratio,
    luma,
    luminance_ratio,
    pixel_luminance,
    relative_luminance,
    to_rgb,
    worst_case_contrast,
)
from ..specs import Brand
from .boxes import Layout, Panel, TextBox

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


BLOCK_ALPHAS = [0.0, *SCRIM_ALPHAS, 0.9, 0.95, 1.0]  # a block's scrim, lightest first; 1.0 is a solid panel
NON_TEXT_CONTRAST = 3.0  # WCAG 1.4.11: a control (the CTA plate) against the colours next to it
PLATE_RING_EM = 0.3  # how far round the plate its surroundings are sampled, in the CTA's ems


def _scrim_rgb(colour: str) -> tuple[int, int, int]:
    """A dark scrim under light text, a light one under dark text."""
    return (0, 0, 0) if contrast_ratio(colour, "#000000") >= contrast_ratio(colour, "#FFFFFF") else (255, 255, 255)


def _hex(rgb: tuple[int, int, int], alpha8: int | None = None) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb) + ("" if alpha8 is None else f"{alpha8:02X}")


def _box_alpha(
    pixels: np.ndarray, colour: str, texture: float, separation: float, min_contrast: float
) -> tuple[int, float] | None:
    """The lightest scrim alpha (0..255) behind which `colour` is legible on these pixels, and its ratio."""
    scrim = _scrim_rgb(colour)
    for alpha in BLOCK_ALPHAS:
        alpha8 = round(alpha * 255)
        clear, ratio = _legible(colour, pixels, texture, alpha8, scrim, separation)
        if clear and ratio >= (min_contrast + SCRIM_HEADROOM if alpha8 else min_contrast):
            return alpha8, ratio
    return None


def _at_alpha(pixels: np.ndarray, colour: str, texture: float, separation: float, alpha8: int) -> float:
    return _legible(colour, pixels, texture, alpha8, _scrim_rgb(colour), separation)[1]


def _composited(background: Image.Image, layout: Layout, panels: list[Panel]) -> Image.Image:
    """The background with the panels' scrims on it (for what surrounds the CTA plate)."""
    overlay = Image.new("RGBA", background.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for panel in panels:
        if panel.kind == "scrim" and panel.colour:
            left, top, right, bottom = panel.pixel_box(*background.size)
            draw.rectangle((left, top, right - 1, bottom - 1), fill=ImageColor.getrgb(panel.colour))
    return Image.alpha_composite(background.convert("RGBA"), overlay).convert("RGB")


def plate_surroundings(image: Image.Image, box: TextBox, scale: float, grow: int = 0) -> float:
    """Median relative luminance of a ring round the box (grown by `grow` final px), on `image`."""
    left, top, right, bottom = box.pixel_box(*image.size)
    g = round(grow * scale)
    left, top, right, bottom = left - g, top - g, right + g, bottom + g
    ring = max(2, round(PLATE_RING_EM * box.font_px * scale))
    outer = (max(0, left - ring), max(0, top - ring), min(image.width, right + ring), min(image.height, bottom + ring))
    patch = np.asarray(image.convert("RGB").crop(outer), dtype=np.float64)
    mask = np.ones(patch.shape[:2], dtype=bool)
    mask[top - outer[1] : bottom - outer[1], left - outer[0] : right - outer[0]] = False
    pixels = patch[mask]
    if pixels.size == 0:
        return 0.5
    return float(np.median(pixel_luminance(pixels)))


def _plate(box: TextBox, surroundings: float, brand: Brand) -> dict:
    """The CTA plate's treatment so it stands 3:1 from its surroundings (WCAG 1.4.11), and its text colour.

    The accent plate if it does; else the accent plate with an outline in an allowed colour
    that does; else another allowed colour as the plate; else the accent plate, recorded
    with the ratio it reaches (the design lint shows it).
    """
    colours = list(brand.colors.text)

    def text_on(plate: str) -> tuple[str, float]:
        colour, ratio = max(
            ((c, contrast_ratio(c, plate)) for c in colours if c != plate),
            key=lambda cc: cc[1],
            default=("#000000", 0.0),
        )
        if ratio < brand.min_contrast:  # no brand colour reads on this plate: black or white
            colour = max(("#000000", "#FFFFFF"), key=lambda c: contrast_ratio(c, plate))
            ratio = contrast_ratio(colour, plate)
        return colour, ratio

    def against(colour: str) -> float:
        return luminance_ratio(relative_luminance(colour), surroundings)

    accent = brand.colors.accent
    colour, ratio = text_on(accent)
    plate = dict(plate=accent, color=colour, contrast=float(ratio), plate_outline=None, plate_outline_px=None)
    if against(accent) >= NON_TEXT_CONTRAST:
        return dict(plate, plate_treatment="accent", plate_contrast=round(against(accent), 3))
    outline = max(colours + ["#000000", "#FFFFFF"], key=against)
    if outline in colours and against(outline) >= NON_TEXT_CONTRAST:
        px = max(2, round(box.font_px / 12))
        return dict(
            plate,
            plate_treatment="outline",
            plate_outline=outline,
            plate_outline_px=px,
            plate_contrast=round(against(outline), 3),
        )
    for alternate in sorted(colours, key=against, reverse=True):
        colour, ratio = text_on(alternate)
        if against(alternate) >= NON_TEXT_CONTRAST and ratio >= brand.min_contrast:
            return dict(
                plate,
                plate=alternate,
                color=colour,
                contrast=float(ratio),
                plate_treatment="alternate",
                plate_contrast=round(against(alternate), 3),
            )
    return dict(plate, plate_treatment="accent", plate_contrast=round(against(accent), 3))


def choose_colours(layout: Layout, background: Image.Image, brand: Brand) -> Layout:
    """One text polarity for the deliverable, one scrim per text block, and the CTA plate's treatment.

    For each allowed text colour, every block gets the lightest scrim (dark under light text,
    light under dark text; up to a solid panel) with which all its boxes both reach
    brand.min_contrast (WCAG, worst case over the background's 5th..95th percentile
    luminance) and stand out from the background's texture by `required_separation(font_px)`.
    The colour whose blocks need the least scrim is the deliverable's polarity; every
    block and box uses it. The CTA text reads against its plate, and the plate is set apart
    from what surrounds it (`_plate`). Returns a new Layout; every box records the contrast
    it achieves, every panel its scrim, the layout its polarity.

    The background may be any resolution: boxes are relative. Layouts without panels (from
    an older pass) get one panel per box.
    """
    colours = list(brand.colors.text)
    scale = background.height / layout.height  # final-size px -> this background's px
    panels = layout.panels or [Panel([b.role], b.x, b.y, b.w, b.h) for b in layout.boxes if b.role != "cta"]
    members = [[b for b in layout.boxes if b.role in panel.roles and b.role != "cta"] for panel in panels]
    measured = {}
    for box in layout.boxes:
        if box.role == "cta":
            continue
        patch, step = _patch_and_step(background, box)
        measured[box.role] = (patch.reshape(-1, 3), _texture(patch, box.font_px * scale, step))

    best = None
    for colour in colours:
        alphas, feasible = [], True
        for boxes in members:
            need = 0
            for box in boxes:
                pixels, texture = measured[box.role]
                found = _box_alpha(pixels, colour, texture, required_separation(box.font_px), brand.min_contrast)
                if found is None:
                    feasible = False
                    break
                need = max(need, found[0])
            if not feasible:
                break
            alphas.append(need)
        if feasible:
            key = (max(alphas, default=0), sum(alphas), -contrast_ratio(colour, _hex(_scrim_rgb(colour))))
            if best is None or key < best[0]:
                best = (key, colour, alphas)
    if best is None:  # no allowed colour reads even on a solid panel: the colour that reads best on black/white
        colour = max(colours, key=lambda c: contrast_ratio(c, _hex(_scrim_rgb(c))))
        best = ((255, 0, 0), colour, [255] * len(members))
    _, polarity, alphas = best

    new_panels = []
    for panel, boxes, alpha8 in zip(panels, members, alphas):
        if boxes and alpha8:
            new_panels.append(dataclasses.replace(panel, kind="scrim", colour=_hex(_scrim_rgb(polarity), alpha8)))
        else:
            new_panels.append(dataclasses.replace(panel, kind="none", colour=None))
    alpha_of = {b.role: a for boxes, a in zip(members, alphas) for b in boxes}
    surroundings_image = None
    out = []
    for box in layout.boxes:
        if box.role == "cta":
            if surroundings_image is None:
                surroundings_image = _composited(background, layout, new_panels)
            treatment = _plate(box, plate_surroundings(surroundings_image, box, scale), brand)
            out.append(dataclasses.replace(box, scrim=None, **treatment))
            continue
        pixels, texture = measured[box.role]
        ratio = _at_alpha(pixels, polarity, texture, required_separation(box.font_px), alpha_of.get(box.role, 0))
        out.append(dataclasses.replace(box, color=polarity, scrim=None, plate=None, contrast=float(ratio)))
    return dataclasses.replace(layout, boxes=out, panels=new_panels, polarity=polarity)
