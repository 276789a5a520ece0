"""Fitting a draft to a deliverable's aspect: crop the centre, never stretch."""

from __future__ import annotations

from PIL import Image


def aspect_crop_box(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[float, float, float, float]:
    """The largest centred box of the source with the destination's aspect ratio."""
    src_ratio, dst_ratio = src_w / src_h, dst_w / dst_h
    if src_ratio > dst_ratio:  # source is wider: trim the sides
        crop_w = src_h * dst_ratio
        left = (src_w - crop_w) / 2
        return (left, 0.0, left + crop_w, float(src_h))
    crop_h = src_w / dst_ratio
    top = (src_h - crop_h) / 2
    return (0.0, top, float(src_w), top + crop_h)


def crop_to_aspect(image: Image.Image, width: int, height: int, max_side: int | None = None) -> Image.Image:
    """Crop to width:height and resample to (width, height), or to fit within max_side."""
    box = aspect_crop_box(image.width, image.height, width, height)
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    # `box` makes crop and resample one Lanczos pass over the source pixels.
    return image.resize((width, height), Image.Resampling.LANCZOS, box=box)
