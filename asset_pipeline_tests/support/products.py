"""Product-shot fixtures made at test time from scikit-image's photographs (nothing committed):
a cup-and-saucer disk cut from `skimage.data.coffee()`, as an alpha PNG or pasted on a plain
studio backdrop, and the whole photograph as the busy-background case."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

DISK = 400  # the product's side in px


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def cup() -> tuple[Image.Image, Image.Image]:
    """(the cup and saucer, DISK x DISK RGB from coffee(), its disk mask with an anti-aliased rim)."""
    photo = Image.fromarray(data.coffee()).crop((100, 0, 100 + DISK, DISK))
    big = Image.new("L", (4 * DISK, 4 * DISK), 0)
    ImageDraw.Draw(big).ellipse((0, 0, 4 * DISK - 1, 4 * DISK - 1), fill=255)
    return photo, big.resize((DISK, DISK), Image.Resampling.BOX)


def alpha_product(pad: int = 40) -> Image.Image:
    """The cup as an RGBA image with transparent padding round it."""
    photo, mask = cup()
    image = Image.new("RGBA", (DISK + 2 * pad, DISK + 2 * pad), (0, 0, 0, 0))
    rgba = photo.convert("RGBA")
    rgba.putalpha(mask)
    image.paste(rgba, (pad, pad))
    return image


def studio_shot(
    size: tuple[int, int] = (900, 700),
    backdrop: tuple[int, int, int] = (242, 242, 238),
    noise: float = 2.0,
    gradient: float = 12.0,
    offset: tuple[int, int] = (250, 150),
    seed: int = 0,
) -> tuple[Image.Image, np.ndarray]:
    """(an opaque studio shot: the cup pasted with a hard edge on a plain backdrop with a vertical
    gradient and sensor noise, the true mask as a boolean array)."""
    width, height = size
    rng = np.random.default_rng(seed)
    base = np.empty((height, width, 3), np.float64)
    base[:] = backdrop
    base += np.linspace(-gradient / 2, gradient / 2, height)[:, None, None]
    base += rng.normal(0.0, noise, base.shape)
    image = Image.fromarray(np.clip(np.round(base), 0, 255).astype(np.uint8))
    photo, mask = cup()
    hard = mask.point(lambda v: 255 if v >= 128 else 0)
    image.paste(photo, offset, hard)
    truth = Image.new("L", size, 0)
    truth.paste(hard, offset)
    return image, np.asarray(truth) > 0


def busy_photo() -> bytes:
    """A real photograph with no plain backdrop, as a JPEG: coffee() whole."""
    return encode(Image.fromarray(data.coffee()), "JPEG", quality=92)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (its data is for 1x1): what a
    decompression bomb or an oversized file looks like to a reader that trusts the header."""
    raw = encode(Image.new("RGB", (1, 1), (255, 0, 0)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    patched = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    return raw[:8] + patched + raw[8 + 25 :]
