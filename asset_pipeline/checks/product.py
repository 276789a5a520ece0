"""The `product` check: the brand's own product shot, exactly as supplied, wholly in frame, uncovered.

Three results for a deliverable whose layout places a product (none otherwise):

- pixels: inside the product's mask (alpha >= OPAQUE_ALPHA), the render equals the cut-out
  resampled once to its box (`typography.product.product_image`, what the renderer draws), to
  MAX_DIFF levels at most and MEAN_DIFF on average. Why those figures: a pixel at alpha 253/255
  lets 2/255 of the shadow and background under it through, at most 2 levels; rounding adds
  under 1. A product taken from an upscaled draft, resampled twice, recoloured or drawn over
  by text or a scrim differs by tens of levels (measured in the tests).
- frame: the product's box lies wholly inside the image.
- overlap: no text box (a CTA plate with its outline included) and no logo box shares a pixel with it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from asset_pipeline.checks.result import CheckResult
from asset_pipeline.typography.boxes import Layout
from asset_pipeline.typography.product import product_image

NAME = "product"
OPAQUE_ALPHA = 253  # 0.99 of 255, rounded up
MAX_DIFF = 3  # levels of 255: at most 2 from alpha 253..254, under 1 from rounding
MEAN_DIFF = 0.5


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def pixel_difference(image: Image.Image, layout: Layout, cutout: bytes) -> tuple[int, float, int]:
    """(max, mean absolute difference in levels, pixels compared) of the render against the cut-out
    resampled once, over the product's opaque pixels that lie in the frame."""
    assert layout.product is not None
    left, top, right, bottom = layout.product.pixel_box(*image.size)
    expected = product_image(cutout, right - left, bottom - top)
    want = np.asarray(expected, dtype=np.int16)
    # the part of the box inside the frame
    x0, y0 = max(0, -left), max(0, -top)
    x1, y1 = min(right, image.width) - left, min(bottom, image.height) - top
    if x1 <= x0 or y1 <= y0:
        return 0, 0.0, 0
    got = np.asarray(image.convert("RGB").crop((left + x0, top + y0, left + x1, top + y1)), dtype=np.int16)
    want = want[y0:y1, x0:x1]
    opaque = want[..., 3] >= OPAQUE_ALPHA
    if not opaque.any():
        return 0, 0.0, 0
    diff = np.abs(got - want[..., :3])[opaque]
    return int(diff.max()), float(diff.mean()), int(opaque.sum())


def check_product(image: Image.Image, layout: Layout, cutout: bytes | None) -> list[CheckResult]:
    """The product's results (see the module docstring); none when the layout has no product."""
    product = layout.product
    if product is None:
        return []
    width, height = image.size
    box = product.pixel_box(width, height)
    left, top, right, bottom = box
    where = f"media/{product.path} at ({left}, {top})-({right}, {bottom})"
    results = []

    if cutout is None:
        results.append(CheckResult(NAME, False, None, f"pixels: the cut-out {product.cutout_sha256[:12]}… is missing"))
    else:
        worst, mean, count = pixel_difference(image, layout, cutout)
        passed = count > 0 and worst <= MAX_DIFF and mean <= MEAN_DIFF
        results.append(
            CheckResult(
                NAME,
                passed,
                float(worst),
                f"pixels: {where}, {count} opaque pixels (alpha >= {OPAQUE_ALPHA}) differ from the source "
                f"resampled once by at most {worst} and {mean:.3f} on average "
                f"({'within' if passed else 'beyond'} {MAX_DIFF} / {MEAN_DIFF}; mask {product.mask_sha256[:12]}…, "
                f"{product.method})",
            )
        )

    inside = left >= 0 and top >= 0 and right <= width and bottom <= height and right > left and bottom > top
    results.append(
        CheckResult(
            NAME,
            inside,
            None,
            f"frame: {where} is {'wholly inside' if inside else 'not wholly inside'} the {width}x{height} frame",
        )
    )

    boxes = []
    for text in layout.boxes:
        tl, tt, tr, tb = text.pixel_box(width, height)
        grow = round((text.plate_outline_px or 0) * height / layout.height) if text.plate_outline else 0
        boxes.append((text.role, (tl - grow, tt - grow, tr + grow, tb + grow)))
    if layout.logo is not None:
        boxes.append(("logo", layout.logo.pixel_box(width, height)))
    shared = {role: area for role, other in boxes if (area := _overlap(box, other))}
    results.append(
        CheckResult(
            NAME,
            not shared,
            float(sum(shared.values())),
            "overlap: "
            + (", ".join(f"{role} covers {area} px²" for role, area in shared.items()) if shared else "nothing")
            + f" of the product's {right - left}x{bottom - top} px box",
        )
    )
    return results
