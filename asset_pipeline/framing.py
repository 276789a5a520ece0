"""Framing: one key visual per (asset, variant), and every size a crop of it, never stretched.

The key visual's canvas is chosen to cover the asset's aspect ratios (`canvas_aspect`).
Each deliverable is the largest box of its aspect inside the canvas, centred on the
picture's focal point as far as the canvas allows (`crop_box`). A crop that would keep
less than MIN_KEPT of the canvas is not taken: the key visual is extended (outpainted) to
an aspect near the deliverable's first, and the crop is taken from that (`Extension`).

Why 40%: every pair of the common social formats (1:1, 4:5, 9:16, 1.91:1, 16:9) shares one
canvas with each crop keeping at least 54% of it (9:16 against 1.91:1, around their
geometric mean), so a campaign in those formats is never outpainted. The figures below
40% are the banners (728x90 beside a square keeps 12%; 160x600 beside 1.91:1 keeps 37%),
where a crop would be a sliver of the picture with the subject cut off: those are
exactly the sizes that need more picture, not a smaller piece of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

MIN_KEPT = 0.4  # a crop keeping less of the canvas than this extends the key visual instead
MAX_ASPECT = 4.0  # models fall apart beyond 4:1 (models/registry.py draft_size clamps to it too)
SALIENCY_SIDE = 64  # the focal point is found on a thumbnail this size: it is a coarse position
SALIENCY_BLUR = 1.5  # px at SALIENCY_SIDE: Achanta's small Gaussian, which drops texture and noise

Box = tuple[float, float, float, float]  # left, top, right, bottom


def clamp_aspect(aspect: float) -> float:
    return min(max(aspect, 1 / MAX_ASPECT), MAX_ASPECT)


def kept_share(canvas: float, target: float) -> float:
    """The share of a canvas of aspect `canvas` that the largest `target`-aspect box keeps."""
    return min(canvas / target, target / canvas)


def canvas_aspect(aspects: list[float]) -> float:
    """The key visual's aspect for deliverables of these aspects (width / height).

    Tried: each (clamped) aspect and the geometric mean of each pair. Chosen: the one that
    leaves the fewest crops under MIN_KEPT (each of those costs an outpainting), then the
    one whose worst remaining crop keeps the most, then the squarest.
    """
    if not aspects:
        raise ValueError("no aspects to cover")
    distinct = sorted({clamp_aspect(a) for a in aspects})
    candidates = set(distinct) | {math.sqrt(a * b) for a in distinct for b in distinct}

    def cost(canvas: float) -> tuple[int, float, float]:
        shares = [kept_share(canvas, a) for a in aspects]
        kept = [s for s in shares if s >= MIN_KEPT]
        return (len(shares) - len(kept), -min(kept, default=0.0), abs(math.log(canvas)))

    return min(sorted(candidates), key=cost)


def needs_extension(canvas_w: int, canvas_h: int, width: int, height: int) -> bool:
    return kept_share(canvas_w / canvas_h, width / height) < MIN_KEPT


def focal_point(image: Image.Image) -> tuple[float, float]:
    """The salient region's centre as fractions (x, y) of the image: frequency-tuned saliency
    (Achanta et al., CVPR 2009), each pixel's CIELAB distance from the image's mean colour after
    a small blur, and the saliency-weighted centroid. A flat image has its centre."""
    from skimage.color import rgb2lab
    from skimage.filters import gaussian

    thumb = image.convert("RGB")
    thumb.thumbnail((SALIENCY_SIDE, SALIENCY_SIDE), Image.Resampling.BOX)
    lab = rgb2lab(np.asarray(thumb, dtype=np.float64) / 255.0)
    blurred = gaussian(lab, sigma=SALIENCY_BLUR, channel_axis=-1)
    saliency = np.linalg.norm(blurred - lab.reshape(-1, 3).mean(axis=0), axis=-1)
    # Only the clearly salient part counts: with the whole image weighted, a picture's
    # background pulls every centroid back to the middle.
    saliency = np.clip(saliency - saliency.mean(), 0.0, None)
    total = float(saliency.sum())
    if total <= 1e-9:
        return 0.5, 0.5
    h, w = saliency.shape
    ys, xs = np.mgrid[0:h, 0:w]
    return (float((saliency * (xs + 0.5)).sum() / total / w), float((saliency * (ys + 0.5)).sum() / total / h))


def crop_box(src_w: int, src_h: int, dst_w: int, dst_h: int, focal: tuple[float, float] = (0.5, 0.5)) -> Box:
    """The largest box of the source with the destination's aspect, centred on `focal`
    (fractions of the source) as far as the source's edges allow."""
    src_ratio, dst_ratio = src_w / src_h, dst_w / dst_h
    if src_ratio > dst_ratio:  # source is wider: the box is full height
        crop_w, crop_h = src_h * dst_ratio, float(src_h)
    else:
        crop_w, crop_h = float(src_w), src_w / dst_ratio
    left = min(max(focal[0] * src_w - crop_w / 2, 0.0), src_w - crop_w)
    top = min(max(focal[1] * src_h - crop_h / 2, 0.0), src_h - crop_h)
    return (left, top, left + crop_w, top + crop_h)


def aspect_crop_box(src_w: int, src_h: int, dst_w: int, dst_h: int) -> Box:
    """The largest centred box of the source with the destination's aspect ratio."""
    return crop_box(src_w, src_h, dst_w, dst_h)


def fit_size(box: Box, width: int, height: int, max_side: int | None = None) -> tuple[int, int]:
    """(width, height), or scaled to fit within max_side."""
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))
    return width, height


def crop_to_box(image: Image.Image, box: Box, width: int, height: int, max_side: int | None = None) -> Image.Image:
    """`box` of the image resampled to (width, height), or to fit within max_side."""
    # `box` makes crop and resample one Lanczos pass over the source pixels.
    return image.resize(fit_size(box, width, height, max_side), Image.Resampling.LANCZOS, box=box)


def crop_to_aspect(image: Image.Image, width: int, height: int, max_side: int | None = None) -> Image.Image:
    """Crop the centre to width:height and resample to (width, height), or to fit within max_side."""
    return crop_to_box(image, aspect_crop_box(image.width, image.height, width, height), width, height, max_side)


@dataclass(frozen=True)
class Extension:
    """Where the key visual sits inside its extended (outpainted) canvas."""

    width: int
    height: int
    inset: tuple[int, int, int, int]  # left, top, right, bottom of the key visual, scaled to fit

    def focal(self, key_focal: tuple[float, float]) -> tuple[float, float]:
        """The key visual's focal point in the extended canvas's fractions."""
        left, top, right, bottom = self.inset
        return (
            (left + key_focal[0] * (right - left)) / self.width,
            (top + key_focal[1] * (bottom - top)) / self.height,
        )


def extension(key_w: int, key_h: int, width: int, height: int) -> Extension:
    """The key visual scaled to fit a (width x height) canvas and centred in it."""
    scale = min(width / key_w, height / key_h)
    inner_w, inner_h = min(width, round(key_w * scale)), min(height, round(key_h * scale))
    left, top = (width - inner_w) // 2, (height - inner_h) // 2
    return Extension(width, height, (left, top, left + inner_w, top + inner_h))


def key_visual_of(by_key: dict[str, dict], draft: dict) -> dict:
    """The key visual a draft row comes from: the row itself, or the one its chain of `extends`
    (an extension of it, a product integration of either) leads back to."""
    while draft.get("extends"):
        draft = by_key[draft["extends"]]
    return draft


class _Images(Protocol):
    def open(self, sha: str) -> Image.Image: ...


class Framer:
    """The crop box of each deliverable in its draft, around the key visual's focal point
    (found once per key visual; an extension uses its key visual's, moved to where it sits).
    A product integration is already painted at its size's aspect (around where the product
    stands), so its frame is its centre."""

    def __init__(self, drafts: list[dict], store: _Images):
        self.by_key = {d["draft_key"]: d for d in drafts}
        self.store = store
        self.images: dict[str, Image.Image] = {}
        self.focals: dict[str, tuple[float, float]] = {}

    def image(self, sha: str) -> Image.Image:
        if sha not in self.images:  # decode each draft once, whatever number of sizes it serves
            self.images[sha] = self.store.open(sha)
        return self.images[sha]

    def key_visual(self, draft: dict) -> dict:
        return key_visual_of(self.by_key, draft)

    def focal(self, draft: dict) -> tuple[float, float]:
        if draft.get("product_box"):
            return 0.5, 0.5
        key = self.key_visual(draft)
        if key["image_sha256"] not in self.focals:
            self.focals[key["image_sha256"]] = focal_point(self.image(key["image_sha256"]))
        focal = self.focals[key["image_sha256"]]
        if key is draft:
            return focal
        return Extension(draft["width"], draft["height"], tuple(draft["inset"])).focal(focal)

    def box(self, draft: dict, width: int, height: int) -> Box:
        image = self.image(draft["image_sha256"])
        return crop_box(image.width, image.height, width, height, self.focal(draft))
