"""Deliverables drawn with Pillow for the checks' tests and benchmarks: a busy photo-like
background with text boxes drawn on it, and the TextBox records that describe them."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from asset_pipeline.colour import hex_to_rgb
from asset_pipeline.specs import Brand
from asset_pipeline.typography.boxes import Layout, TextBox

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """A busy, photo-like background: smooth colour blobs plus grain."""
    rng = np.random.default_rng(seed)
    blobs = rng.integers(0, 256, (height // 40 + 1, width // 40 + 1, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(blobs).resize((width, height), Image.Resampling.BICUBIC), dtype=float)
    grain = rng.normal(0, 8, smooth.shape)
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))


def draw_box(
    image: Image.Image,
    role: str,
    lines: list[str],
    x: float,
    y: float,
    *,
    font: str = BOLD,
    font_px: int = 48,
    color: str = "#1A1A1A",
    plate: str | None = None,
    plate_pad: float = 0.3,
    scrim: str | None = None,
    text: str | None = None,
    contrast: float = 7.0,
) -> TextBox:
    """Draw lines at (x, y) (fractions) and return the TextBox that describes them.

    `text` is what the box claims to show (default: the lines drawn).
    """
    width, height = image.size
    face = ImageFont.truetype(font, font_px)
    step = round(font_px * 1.2)
    ascent, descent = face.getmetrics()
    box_w = max(face.getlength(line) for line in lines)
    box_h = step * (len(lines) - 1) + ascent + descent
    left, top = round(x * width), round(y * height)
    draw = ImageDraw.Draw(image, "RGBA")
    pad = round(font_px * plate_pad)
    if plate:
        draw.rectangle((left - pad, top - pad, left + box_w + pad, top + box_h + pad), fill=plate)
    if scrim:
        rgb = hex_to_rgb(scrim)
        draw.rectangle((left - pad, top - pad, left + box_w + pad, top + box_h + pad), fill=(*rgb, 170))
    for i, line in enumerate(lines):
        draw.text((left, top + i * step), line, font=face, fill=color)
    return TextBox(
        role=role,
        text=" ".join(lines) if text is None else text,
        lines=list(lines),
        x=left / width,
        y=top / height,
        w=box_w / width,
        h=box_h / height,
        font=font,
        font_px=font_px,
        color=color,
        plate=plate,
        scrim=scrim,
        contrast=contrast,
    )


def box_at(x: float, y: float, w: float, h: float, **kwargs) -> TextBox:
    """A TextBox for the layout-only checks (nothing drawn)."""
    fields = dict(role="headline", text="Spring Sale", lines=["Spring Sale"], font=BOLD, font_px=40, contrast=7.0)
    fields.update(kwargs)
    return TextBox(x=x, y=y, w=w, h=h, **fields)


def deliverable(seed: int = 0, headline: str = "Spring Sale", size: int = 1080) -> tuple[Image.Image, Layout]:
    """A 3-box final image over a busy background: scrim, light plate, accent plate."""
    image = photo(size, size, seed)
    px = size / 1080  # font sizes scale with the deliverable
    boxes = [
        draw_box(
            image,
            "headline",
            [headline, "30% off everything"],
            0.08,
            0.08,
            font_px=round(72 * px),
            color="#FFFFFF",
            scrim="#000000",
        ),
        draw_box(
            image,
            "body",
            ["Fresh styles for sunny days,", "made to last all season."],
            0.08,
            0.45,
            font=SANS,
            font_px=round(34 * px),
            plate="#FFFFFF",
        ),
        draw_box(image, "cta", ["Shop now"], 0.08, 0.75, font_px=round(40 * px), color="#FFFFFF", plate="#FF5A36"),
    ]
    return image, Layout(size, size, boxes)


BRAND = Brand(brand="acme", banned_terms=["guaranteed", "money back"])
