"""The brand's logo: its source file (a PNG with alpha, or an SVG), read once and drawn at any size.

A logo is always drawn from its source at the size it is shown, never resampled from a
draft or an upscaled image: a PNG is resized from its own pixels with Lanczos (premultiplied,
so its soft edges stay clean), an SVG is rendered by resvg (`resvg-py`) at exactly that size.

SVGs are refused when they reference anything outside themselves (an `href` that is not a
`#fragment` or `data:` URI, or an external stylesheet), so a media file can never read
another file of the machine.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, UnidentifiedImageError

MAX_LOGO_BYTES = 5_000_000
MAX_LOGO_SIDE = 8192
EXTERNAL_REFERENCE = re.compile(
    rb"""(?:href\s*=\s*["'](?!\s*(?:#|data:))|@import|url\(\s*["']?(?!\s*(?:#|data:)))""", re.IGNORECASE
)


class LogoError(ValueError):
    """The logo file is not a usable PNG with alpha or SVG; the message says why."""


@dataclass(frozen=True)
class LogoSource:
    field: str  # "logo" or "logo_small"
    path: str  # relative to media/
    sha256: str
    kind: str  # "png" | "svg"
    width: int  # intrinsic size (an SVG's rendering at its own size)
    height: int
    data: bytes

    @property
    def aspect(self) -> float:
        return self.width / self.height


def read_logo(field: str, path: str, data: bytes, sha256: str) -> LogoSource:
    """Check a logo file's bytes and learn its intrinsic size; LogoError when it is unusable."""
    if len(data) > MAX_LOGO_BYTES:
        raise LogoError(f"is {len(data)} bytes; the limit is {MAX_LOGO_BYTES}")
    if path.lower().endswith(".svg"):
        if EXTERNAL_REFERENCE.search(data):
            raise LogoError("SVG references an external file or URL; embed it (data: URI) or remove it")
        image = _render_svg(data, None, None)
        return LogoSource(field, path, sha256, "svg", image.width, image.height, data)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise LogoError(f"is {image.format}, not PNG or SVG")
            if max(image.size) > MAX_LOGO_SIDE:
                raise LogoError(f"is {image.width}x{image.height}; each side at most {MAX_LOGO_SIDE} px")
            image.load()
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            if not has_alpha:
                raise LogoError("PNG has no alpha channel: a logo needs a transparent background")
            return LogoSource(field, path, sha256, "png", image.width, image.height, data)
    except (OSError, UnidentifiedImageError) as exc:
        raise LogoError(f"is not a readable PNG ({exc})") from None


def _render_svg(data: bytes, width: int | None, height: int | None) -> Image.Image:
    try:
        import resvg_py
    except ImportError:
        raise LogoError("SVG logos need resvg-py (pip install resvg-py)") from None
    try:
        png = resvg_py.svg_to_bytes(svg_string=data.decode("utf-8"), width=width, height=height)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LogoError(f"SVG cannot be rendered: {exc}") from None
    with Image.open(io.BytesIO(bytes(png))) as image:
        return image.convert("RGBA")


@lru_cache(maxsize=64)
def _png(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA")


def logo_image(kind: str, data: bytes, width: int, height: int) -> Image.Image:
    """The logo as RGBA at exactly width x height, from its source."""
    width, height = max(1, width), max(1, height)
    if kind == "svg":
        image = _render_svg(data, width, height)
        return image if image.size == (width, height) else image.resize((width, height), Image.Resampling.LANCZOS)
    premultiplied = _png(data).convert("RGBa")
    return premultiplied.resize((width, height), Image.Resampling.LANCZOS).convert("RGBA")
