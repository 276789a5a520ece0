"""The product shot: read once from its source file under media/, cut out, placed in the layout's
product zone and composited at final resolution from the cut-out, never from a draft.

Accepted sources (checked from the bytes, not the name):

- a PNG or WebP with alpha: used as is (method "alpha"), cropped to its non-transparent box;
- an opaque PNG, WebP or JPEG studio shot on a plain backdrop: cut out by `cut_out`
  (method CUTOUT_METHOD, below), deterministic and with scikit-image only;
- anything else is a `ProductError` saying why with the numbers: an opaque photo on a busy
  background, a file that is not an image, over MAX_PRODUCT_PIXELS, or a decompression bomb.

The cut-out (the source's own RGB pixels, cropped, with the mask as alpha) is what every
later step uses: layouts name it by sha256, the renderer draws it, the `product` check
compares the render against it.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from asset_pipeline.media import MAX_MEDIA_BYTES, MAX_MEDIA_PIXELS, MediaError, open_image

from .boxes import Layout, LayoutError, ProductBox, to_pixels

MAX_PRODUCT_BYTES = MAX_MEDIA_BYTES  # media.open_image's limits, for every media image
MAX_PRODUCT_PIXELS = MAX_MEDIA_PIXELS
ALPHA_METHOD = "alpha"
# The cut-out, named with its version: a change of the method is a change of every mask.
CUTOUT_METHOD = "skimage-backdrop-flood-v1"
# Masks are made at no more than this many pixels (then scaled up, bilinear): rgb2lab's float64
# copy of a 50 MP shot would need 1.2 GB; 4 MP is 2000x2000, larger than any product zone drawn.
WORK_PIXELS = 4_000_000
BORDER_SHARE = 0.02  # the border strip that samples the backdrop: this share of the shorter side (>= 2 px)
# Backdrop plainness: the 95th percentile of the border's CIE76 difference (Lab) from the fitted
# backdrop. Measured (tests/docs): a flat backdrop with sensor noise sigma 4 levels gives 6.7, with
# a 30-level gradient sweep and noise 3, 7.2; skimage.data's photos give 14.8 (hubble_deep_field,
# black sky with stars) to 70.7 (rocket), coffee 57.7, astronaut 58.4.
MAX_BACKDROP_SPREAD = 10.0
MIN_CUT_DELTA = 10.0  # a pixel this close to the backdrop (CIE76) is backdrop, or 2.5x the spread if larger
SPREAD_FACTOR = 2.5
SPECK_SHARE = 0.0005  # foreground pieces smaller than this share of the image are dust, not product
# Placement. The smallest side a placed product may have: the pipeline's smallest deliverable
# side (specs.MIN_SIDE), the size of the smallest icons people still recognise; under it the
# product is a postage stamp and the layout is refused.
MIN_PRODUCT_PX = 32
SHADOW_DEPTH = 0.04  # the contact shadow's half-height, a share of the product's height
SHADOW_OPACITY = 0.35
FOOTPRINT_ROWS = 0.1  # the shadow is as wide as the product's lowest tenth
# Integration (product_integration: inpaint): the ring repainted around the product, as a share
# of its longer side. 12% is three times the contact shadow's depth, so the ring holds the
# shadow and the floor or light the scene needs around the product, and leaves the rest of the
# picture (what every other size shows) alone. Never under one latent cell (8 px): a narrower
# ring is nothing to a model that paints in 8 px cells.
COMPOSITE, INPAINT = "composite", "inpaint"  # product_integration: pasted on the scene, or the scene painted around it
RING_SHARE = 0.12
MIN_RING_PX = 8
OPAQUE = 250  # alpha at or above this is the product itself; below it the edge shows the scene


class ProductError(MediaError):
    """The product file cannot be used; the message says why (the caller names the file)."""


@dataclass(frozen=True)
class ProductSource:
    path: str  # relative to media/
    sha256: str  # of the source file
    method: str  # ALPHA_METHOD or CUTOUT_METHOD
    mask_sha256: str  # pixels_sha256-style hash of the cut-out's alpha channel
    cutout: bytes  # RGBA PNG: the source's pixels cropped to the product, the mask as alpha
    cutout_sha256: str
    width: int  # of the cut-out
    height: int
    detail: str  # the numbers behind the method (backdrop spread, threshold)

    @property
    def aspect(self) -> float:
        return self.width / self.height


def open_product(data: bytes) -> Image.Image:
    """The decoded source (RGB or RGBA, upright), or ProductError for a hostile or unusable file."""
    try:
        return open_image(data)
    except MediaError as exc:
        raise ProductError(str(exc)) from None


def mask_sha256(alpha: Image.Image) -> str:
    """sha256 of the mask's size and 8-bit values (what `storage.objects.pixels_sha256` hashes)."""
    digest = hashlib.sha256(f"L {alpha.width}x{alpha.height}\n".encode())
    digest.update(alpha.tobytes())
    return digest.hexdigest()


def read_product(path: str, data: bytes, sha256: str) -> ProductSource:
    """Check a product file's bytes and cut it out; ProductError when it is unusable."""
    image = open_product(data)
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] < 255:
        method, rgba = ALPHA_METHOD, image
        detail = "the file's own alpha channel"
    else:
        rgb = image.convert("RGB")
        alpha, detail = cut_out(np.asarray(rgb))
        method, rgba = CUTOUT_METHOD, rgb.convert("RGBA")
        rgba.putalpha(Image.fromarray(alpha, "L"))
    box = rgba.getchannel("A").getbbox()
    if box is None:
        raise ProductError("is fully transparent: there is no product in it")
    rgba = rgba.crop(box)
    out = io.BytesIO()
    rgba.save(out, format="PNG", compress_level=1)
    cutout = out.getvalue()
    return ProductSource(
        path=path,
        sha256=sha256,
        method=method,
        mask_sha256=mask_sha256(rgba.getchannel("A")),
        cutout=cutout,
        cutout_sha256=hashlib.sha256(cutout).hexdigest(),
        width=rgba.width,
        height=rgba.height,
        detail=detail,
    )


# ---------------------------------------------------------------- the cut-out


def border_mask(height: int, width: int, share: float = BORDER_SHARE) -> np.ndarray:
    strip = max(2, round(share * min(height, width)))
    mask = np.zeros((height, width), dtype=bool)
    mask[:strip], mask[-strip:], mask[:, :strip], mask[:, -strip:] = True, True, True, True
    return mask


def backdrop_distance(rgb: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(each pixel's CIE76 difference from the backdrop, the border's spread, the share of the
    border more than MAX_BACKDROP_SPREAD off it).

    The backdrop is a plane per Lab channel (a + b x + c y) fitted by least squares to the border
    strip, so a studio sweep's gradient is still one backdrop."""
    from skimage.color import rgb2lab

    height, width = rgb.shape[:2]
    lab = rgb2lab(rgb).astype(np.float32)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs /= max(1, width - 1)
    ys /= max(1, height - 1)
    border = border_mask(height, width)
    design = np.stack([np.ones(int(border.sum()), np.float32), xs[border], ys[border]], axis=1)
    coeffs, *_ = np.linalg.lstsq(design, lab[border], rcond=None)  # (3 terms, 3 channels)
    fitted = coeffs[0] + xs[..., None] * coeffs[1] + ys[..., None] * coeffs[2]
    distance = np.linalg.norm(lab - fitted, axis=2)
    on_border = distance[border]
    return distance, float(np.percentile(on_border, 95)), float(np.mean(on_border > MAX_BACKDROP_SPREAD))


def cut_out(rgb: np.ndarray) -> tuple[np.ndarray, str]:
    """(alpha 0..255 at the image's size, the numbers) of an opaque studio shot; ProductError
    when the backdrop is not plain or holds no product.

    The method (CUTOUT_METHOD): fit the backdrop to the border strip (`backdrop_distance`);
    refuse when its 95th-percentile spread exceeds MAX_BACKDROP_SPREAD; the backdrop is every
    pixel within t = max(MIN_CUT_DELTA, SPREAD_FACTOR x spread) of it that is 4-connected to the
    image's edge (a flood from the border, so the product's own light areas stay product);
    specks under SPECK_SHARE are dropped; each product pixel touching the backdrop gets alpha
    d / 2t (an anti-aliased edge pixel is a mix of both), every other product pixel 255.
    Enclosed backdrop (the hole of a mug's handle) stays: supply an alpha PNG for that.
    """
    from skimage.measure import label
    from skimage.morphology import dilation, remove_small_objects

    full = Image.fromarray(rgb)
    factor = math.ceil(math.sqrt(rgb.shape[0] * rgb.shape[1] / WORK_PIXELS))
    work = np.asarray(full.reduce(factor)) if factor > 1 else rgb
    distance, spread, off = backdrop_distance(work)
    if spread > MAX_BACKDROP_SPREAD:
        raise ProductError(
            f"is opaque and its background is not plain: the border's colour spread is ΔE {spread:.1f} "
            f"(95th percentile, CIE76 from the fitted backdrop), above the {MAX_BACKDROP_SPREAD:g} a plain "
            f"studio backdrop stays under, and {off:.0%} of the border is more than ΔE {MAX_BACKDROP_SPREAD:g} "
            "off it; supply a PNG or WebP with alpha, or a shot on a plain backdrop"
        )
    threshold = max(MIN_CUT_DELTA, SPREAD_FACTOR * spread)
    near = distance <= threshold
    labels = label(near, connectivity=1)
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    backdrop = np.isin(labels, np.unique(edge[edge > 0]))
    product = remove_small_objects(~backdrop, max_size=max(16, round(SPECK_SHARE * backdrop.size)))
    if not product.any():
        raise ProductError(f"shows no product: every pixel is within ΔE {threshold:.1f} of the plain backdrop")
    alpha = product.astype(np.float32)
    rim = product & dilation(~product)  # product pixels 4-adjacent to the backdrop
    alpha[rim] = np.clip(distance[rim] / (2 * threshold), 0.0, 1.0)
    mask = Image.fromarray(np.round(alpha * 255).astype(np.uint8), "L")
    if factor > 1:
        mask = mask.resize(full.size, Image.Resampling.BILINEAR)
    detail = (
        f"{CUTOUT_METHOD}: backdrop spread ΔE {spread:.1f} (limit {MAX_BACKDROP_SPREAD:g}), "
        f"threshold ΔE {threshold:.1f}, mask made at 1/{factor}"
    )
    return np.asarray(mask), detail


# ---------------------------------------------------------------- placement and drawing


def shadow_extent(height: int) -> tuple[int, int]:
    """(depth, pad) px of a product `height` px high's contact shadow: the ellipse reaches `depth`
    above and below the base line, its blur (sigma depth/2) `pad` further; so depth + pad below
    the product and pad beside it."""
    depth = max(1, round(SHADOW_DEPTH * height))
    return depth, depth + 1


def fit_product(zone: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) px of a width x height product scaled to fit the zone whole, with
    room below and beside it for its contact shadow; the product and shadow centred."""
    left, top, right, bottom = zone
    zw, zh = max(0, right - left), max(0, bottom - top)
    room_w, room_h = zw, zh
    for _ in range(8):  # the shadow's size follows the product's: settles in two or three steps
        scale = max(0.0, min(room_w / width, room_h / height))
        pw, ph = math.floor(width * scale), math.floor(height * scale)
        depth, pad = shadow_extent(ph)
        if pw + 2 * pad <= zw and ph + depth + pad <= zh:
            break
        room_w, room_h = min(room_w - 1, zw - 2 * pad), min(room_h - 1, zh - depth - pad)
    else:
        pw = ph = 0
    depth, pad = shadow_extent(ph)
    x, y = left + (zw - pw) // 2, top + (zh - ph - depth - pad) // 2
    return x, y, x + pw, y + ph


def place_product(layout: Layout, source: ProductSource | None) -> Layout:
    """The layout with the product placed in its product zone; LayoutError when the zone cannot
    hold it at MIN_PRODUCT_PX."""
    if source is None:
        return layout
    width, height = layout.width, layout.height
    if layout.product_zone is None:
        raise LayoutError(f"product: this layout has no product zone for media/{source.path}")
    zone = to_pixels(layout.product_zone, width, height)
    left, top, right, bottom = fit_product(zone, source.width, source.height)
    if min(right - left, bottom - top) < MIN_PRODUCT_PX:
        raise LayoutError(
            f"product: the product zone is {zone[2] - zone[0]}x{zone[3] - zone[1]} px and holds "
            f"media/{source.path} at {right - left}x{bottom - top} px, under the {MIN_PRODUCT_PX} px minimum"
        )
    box = ProductBox(
        x=left / width,
        y=top / height,
        w=(right - left) / width,
        h=(bottom - top) / height,
        path=source.path,
        sha256=source.sha256,
        cutout_sha256=source.cutout_sha256,
        mask_sha256=source.mask_sha256,
        method=source.method,
    )
    return replace(layout, product=box)


@lru_cache(maxsize=16)
def _cutout(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA")


def product_image(cutout: bytes, width: int, height: int) -> Image.Image:
    """The cut-out as RGBA at exactly width x height: resampled once, Lanczos on premultiplied
    colour (so the backdrop's colour never bleeds in at the edge)."""
    premultiplied = _cutout(cutout).convert("RGBa")
    return premultiplied.resize((max(1, width), max(1, height)), Image.Resampling.LANCZOS).convert("RGBA")


def contact_shadow(alpha: Image.Image) -> tuple[Image.Image, tuple[int, int]]:
    """(a soft ellipse under the product's base as an L mask, its offset from the product's top-left).

    As wide as the product's lowest FOOTPRINT_ROWS of opaque rows, SHADOW_DEPTH of its height
    high on each side of the base line, blurred by half a depth."""
    mask = np.asarray(alpha) >= 128
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return Image.new("L", (1, 1), 0), (0, 0)
    base = int(rows[-1]) + 1
    foot = mask[max(int(rows[0]), base - max(1, round(FOOTPRINT_ROWS * (base - rows[0])))) : base]
    cols = np.flatnonzero(foot.any(axis=0))
    depth, pad = shadow_extent(alpha.height)
    blur = depth / 2
    x0, x1 = int(cols[0]), int(cols[-1]) + 1
    shadow = Image.new("L", (x1 - x0 + 2 * pad, 2 * depth + 2 * pad), 0)
    ImageDraw.Draw(shadow).ellipse((pad, pad, pad + x1 - x0 - 1, pad + 2 * depth - 1), fill=255)
    shadow = shadow.filter(ImageFilter.GaussianBlur(blur)).point(lambda v: round(v * SHADOW_OPACITY))
    return shadow, (x0 - pad, base - depth - pad)


def composite_product(
    image: Image.Image, cutout: bytes, box: tuple[int, int, int, int], shadow: bool = True
) -> Image.Image:
    """The RGB image with the product's contact shadow (unless `shadow` is False) and then the
    product drawn in `box`."""
    left, top, right, bottom = box
    if right <= left or bottom <= top:
        return image
    product = product_image(cutout, right - left, bottom - top)
    alpha = product.getchannel("A")
    image = image.copy()
    if shadow:
        mask, (dx, dy) = contact_shadow(alpha)
        image.paste((0, 0, 0), (left + dx, top + dy), mask)
    image.paste(product.convert("RGB"), (left, top), alpha)
    return image


def ring_radius(box: tuple[int, int, int, int]) -> int:
    left, top, right, bottom = box
    return max(MIN_RING_PX, round(RING_SHARE * max(right - left, bottom - top)))


def integration_mask(size: tuple[int, int], cutout: bytes, box: tuple[int, int, int, int]) -> Image.Image:
    """The area repainted around a product drawn in `box` of a frame `size` (L): every pixel
    within `ring_radius` of the product's footprint that is not the product itself (its soft
    edge and its contact shadow are the scene's). The value is how much of the painting is
    kept: all of it at the product's edge, falling smoothly to none at the radius, so the ring
    fades into the picture instead of showing as a band of its own."""
    from scipy.ndimage import distance_transform_edt

    left, top, right, bottom = box
    alpha = Image.new("L", size, 0)
    alpha.paste(product_image(cutout, right - left, bottom - top).getchannel("A"), (left, top))
    alpha = np.asarray(alpha)
    reach = 1.0 - distance_transform_edt(alpha < 128) / ring_radius(box)  # 1 at the product, 0 at the radius
    kept = np.where((reach > 0) & (alpha < OPAQUE), reach * reach * (3 - 2 * reach), 0.0)  # smoothstep
    return Image.fromarray(np.ceil(kept * 255).astype(np.uint8), "L")


def box_in_frame(
    product_box: tuple[float, float, float, float], frame: tuple[float, float, float, float]
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) px of a product box (x, y, w, h fractions of the deliverable)
    in an image whose `frame` (left, top, right, bottom px) the deliverable is cut from."""
    x, y, w, h = product_box
    fl, ft, fr, fb = frame
    fw, fh = fr - fl, fb - ft
    return (round(fl + x * fw), round(ft + y * fh), round(fl + (x + w) * fw), round(ft + (y + h) * fh))
