"""Published file formats: PNG, JPEG, WebP and AVIF, each sRGB with provenance, under a byte budget.

- Every file embeds an sRGB ICC profile (renders are sRGB; the profile says so). The profile is
  made by LittleCMS with its creation date fixed, so the same pixels give the same bytes.
- Provenance: PNG keeps it in iTXt chunks; JPEG, WebP and AVIF carry the same keys in an XMP
  packet (namespace `XMP_NAMESPACE`). C2PA is added after encoding (content_credentials.py).
- A budget (`max_kb`, KB of 1024 bytes) makes the encoder search for the highest quality whose
  file fits: a search over integer qualities between the brand's `min_quality` and
  `MAX_QUALITY` that models log(size) as linear in quality, at most 6 encodes (typically 3),
  deterministic (same pixels, same settings: same bytes). A lossless PNG over budget, or a lossy file over budget even at
  `min_quality`, is refused with the numbers (`BudgetError`).
- `decode_check`: what was encoded decodes to the render's size, and to its exact pixels (PNG)
  or within `MIN_PSNR_DB` luma PSNR of them (lossy formats); the measured PSNR goes in the `files` row.
"""

from __future__ import annotations

import functools
import io
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from PIL import Image, ImageCms, PngImagePlugin

FORMATS = ("png", "jpeg", "webp", "avif")
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp", "avif": "avif"}
MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}
PNG_COMPRESS_LEVEL = 6  # files people download: smaller beats faster here
DEFAULT_QUALITY = {"jpeg": 90, "webp": 90, "avif": 80}  # without a budget
MAX_QUALITY = 95  # above this, JPEG and WebP files grow much and look no better
SEARCH_STEPS = 5  # encodes after the one at min_quality: the search costs at most 6 encodes per file
PRIOR_SLOPE = 0.05  # typical growth of log(file size) per quality point (measured: 0.04..0.08)
# The error measured is the PSNR of the luma (what text legibility rests on; 4:2:0 chroma
# subsampling costs small, busy banners much RGB PSNR and little luma). Measured on the tiny
# model's renders: at quality 60, a 320x50 banner's luma PSNR is 27.2 dB (JPEG), 31.7 (WebP),
# 30.4 (AVIF); a 1080x1920 story's 38.9..42.7 dB; a wrong image (the render flipped) 11.6..15.9 dB.
# 24 dB sits between the two with margin on both sides.
MIN_PSNR_DB = 24.0
XMP_NAMESPACE = "https://asset-pipeline.invalid/ns/provenance/1.0/"
XMP_PREFIX = "ap"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# Encoder settings, fixed so bytes are reproducible: AVIF single-threaded (libaom's threads may
# split work differently). WebP method 1 and AVIF speed 9 are the fast end of each encoder's
# effort scale (a search encodes several times): WebP method 1 is 2-4x faster than method 3
# for the same size within 7% (measured at 1080x1920).
_OPTIONS = {
    "jpeg": {"optimize": True},
    "webp": {"method": 1},
    "avif": {"speed": 9, "max_threads": 1},
}


class BudgetError(ValueError):
    """A file that cannot meet its byte budget at the lowest allowed quality."""


@dataclass(frozen=True)
class Encoded:
    format: str
    data: bytes
    quality: int | None  # None: lossless PNG
    max_kb: float | None
    psnr_db: float | None = None  # filled by decode_check; None: identical pixels

    @property
    def kb(self) -> float:
        return len(self.data) / 1024


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile (LittleCMS's), with its creation date fixed to 2000-01-01 00:00:00."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    # ICC header bytes 24..35: dateTimeNumber (six big-endian uint16); the profile ID (84..99) stays zero.
    profile[24:36] = b"".join(n.to_bytes(2, "big") for n in (2000, 1, 1, 0, 0, 0))
    return bytes(profile)


def _key_name(key: str) -> str:
    """A provenance key as an XML name (`asset_pipeline:version` -> `asset_pipeline_version`)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-.") else "_" for c in key) or "_"


def xmp_packet(provenance: dict[str, str]) -> bytes:
    """The provenance as an XMP packet: one property per key in the `ap` namespace."""
    props = "".join(
        f"<{XMP_PREFIX}:{_key_name(k)}>{escape(str(v))}</{XMP_PREFIX}:{_key_name(k)}>"
        for k, v in sorted(provenance.items())
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf={quoteattr(_RDF)}>'
        f'<rdf:Description rdf:about="" xmlns:{XMP_PREFIX}={quoteattr(XMP_NAMESPACE)}>{props}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
    ).encode()


def read_xmp(packet: bytes | str) -> dict[str, str]:
    """The provenance properties of an XMP packet this module wrote (keys as XML names)."""
    text = packet.decode("utf-8", "replace") if isinstance(packet, bytes) else packet
    start, end = text.find("<x:xmpmeta"), text.rfind("</x:xmpmeta>")
    if start < 0 or end < 0 or "<!DOCTYPE" in text or "<!ENTITY" in text:  # no entities: no expansion bombs
        return {}
    try:
        root = ET.fromstring(text[start : end + len("</x:xmpmeta>")])
    except ET.ParseError:
        return {}
    prefix = "{" + XMP_NAMESPACE + "}"
    return {el.tag[len(prefix) :]: el.text or "" for el in root.iter() if el.tag.startswith(prefix)}


def read_provenance(data: bytes) -> tuple[str | None, dict[str, str]]:
    """(format, provenance) of a published file: PNG text chunks, or the XMP of the other formats.

    XMP keys are XML names: `asset_pipeline:version` reads back as `asset_pipeline_version`, and is
    returned under both names."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = next((f for f, pil in PIL_FORMATS.items() if pil == image.format), None)
            if fmt == "png":
                return fmt, dict(getattr(image, "text", {}) or {})
            found = read_xmp(image.info.get("xmp") or b"")
    except OSError:
        return None, {}
    if "asset_pipeline_version" in found:
        found["asset_pipeline:version"] = found["asset_pipeline_version"]
    return fmt, found


def encode(image: Image.Image, fmt: str, quality: int | None, provenance: dict[str, str]) -> bytes:
    """One file of `image` (RGB) in `fmt` with the sRGB profile and provenance; deterministic."""
    buffer = io.BytesIO()
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        for key, value in provenance.items():
            info.add_itxt(key, value)
        image.save(buffer, "PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL, icc_profile=srgb_profile())
    else:
        image.save(
            buffer,
            PIL_FORMATS[fmt],
            quality=quality,
            icc_profile=srgb_profile(),
            xmp=xmp_packet(provenance),
            **_OPTIONS[fmt],
        )
    return buffer.getvalue()


def _kb(n: int) -> str:
    return f"{math.ceil(n / 1024)} KB"


def encode_within(
    image: Image.Image, fmt: str, provenance: dict[str, str], max_kb: float | None, min_quality: int
) -> Encoded:
    """The highest-quality file that fits `max_kb` (a bounded, deterministic search); raises BudgetError."""
    budget = None if max_kb is None else int(max_kb * 1024)
    budget_text = None if max_kb is None else f"{max_kb:g} KB"
    if fmt == "png":
        data = encode(image, fmt, None, provenance)
        if budget is not None and len(data) > budget:
            raise BudgetError(f"png needs {_kb(len(data))} (lossless), budget {budget_text}: use jpeg, webp or avif")
        return Encoded(fmt, data, None, max_kb)
    if budget is None:
        return Encoded(fmt, encode(image, fmt, DEFAULT_QUALITY[fmt], provenance), DEFAULT_QUALITY[fmt], max_kb)
    low = min(min_quality, MAX_QUALITY)
    best = encode(image, fmt, low, provenance)
    if len(best) > budget:
        raise BudgetError(f"{fmt} needs {_kb(len(best))} at quality {low}, budget {budget_text}")
    # Invariant: `low` fits (its bytes in `best`); `high`, once known, does not. File size grows
    # about exponentially with quality: the first guess follows a typical slope of log(size)
    # per quality point, later ones the slope measured between the last two encodes, or
    # interpolate between `low` and `high` once both are known (kept strictly inside). At most
    # SEARCH_STEPS more encodes; then the highest quality found to fit.
    points = [(low, len(best))]
    high = None
    guess = low + int(math.log(budget / len(best)) / PRIOR_SLOPE)
    for _ in range(SEARCH_STEPS):
        ceiling = MAX_QUALITY if high is None else high - 1
        guess = min(max(guess, low + 1), ceiling)
        if guess <= low:
            break  # converged: low + 1 does not fit, or low is MAX_QUALITY
        data = encode(image, fmt, guess, provenance)
        points.append((guess, len(data)))
        if len(data) <= budget:
            low, best = guess, data
        else:
            high = guess
        (q1, b1), (q2, b2) = sorted(points[-2:])
        slope = math.log(b2 / b1) / (q2 - q1) if q2 > q1 and b2 > b1 else PRIOR_SLOPE
        low_bytes = len(best)
        if high is None:
            guess = low + max(1, int(math.log(budget / low_bytes) / slope))
        else:
            high_bytes = next(b for q, b in points if q == high)
            share = (math.log(budget) - math.log(low_bytes)) / max(math.log(high_bytes) - math.log(low_bytes), 1e-9)
            guess = low + int(share * (high - low))
    return Encoded(fmt, best, low, max_kb)


def psnr_db(decoded: Image.Image, render: Image.Image) -> float | None:
    """PSNR of `decoded`'s luma against `render`'s, in dB; None when the RGB pixels are identical."""
    if decoded.convert("RGB").tobytes() == render.convert("RGB").tobytes():
        return None
    a = np.asarray(decoded.convert("L"), dtype=np.float32)
    b = np.asarray(render.convert("L"), dtype=np.float32)
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else round(10 * math.log10(255.0**2 / mse), 2)


def decode_check(encoded: Encoded, render: Image.Image) -> tuple[Encoded, str | None]:
    """(the file with its measured error, the problem or None): the file decodes to the render's
    size, to its exact pixels for PNG, and within MIN_PSNR_DB for lossy formats."""
    try:
        with Image.open(io.BytesIO(encoded.data)) as image:
            image.load()
            if image.size != render.size:
                return (
                    encoded,
                    f"{encoded.format}: decodes to {image.width}x{image.height}, not {render.width}x{render.height}",
                )
            if not image.info.get("icc_profile"):
                return encoded, f"{encoded.format}: no ICC profile in the file"
            error = psnr_db(image, render)
    except OSError as exc:
        return encoded, f"{encoded.format}: does not decode ({exc})"
    checked = Encoded(encoded.format, encoded.data, encoded.quality, encoded.max_kb, error)
    if encoded.format == "png" and error is not None:
        return checked, f"png: decoded pixels differ from the render (PSNR {error} dB)"
    if error is not None and error < MIN_PSNR_DB:
        return (
            checked,
            f"{encoded.format}: PSNR {error} dB against the render at quality {encoded.quality}, below {MIN_PSNR_DB:g}",
        )
    return checked, None
