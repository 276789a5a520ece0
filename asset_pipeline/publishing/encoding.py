"""Published file formats: PNG, JPEG, WebP and AVIF, each sRGB with provenance, under a byte budget.

- Every file embeds an sRGB ICC profile (renders are sRGB; the profile says so). The profile is
  made by LittleCMS with its creation date fixed, so the same pixels give the same bytes.
- Provenance: PNG keeps it in iTXt chunks; JPEG, WebP and AVIF carry the same keys in an XMP
  packet (namespace `XMP_NAMESPACE`). The `digital_source_type` key is written as IPTC's
  `Iptc4xmpExt:DigitalSourceType` instead, the AI disclosure ad platforms and image hosts read,
  in every format's XMP (PNG's too: an iTXt `XML:com.adobe.xmp` packet holding just that).
  C2PA is added after encoding (content_credentials.py).
- A budget (`max_kb`, KB of 1024 bytes) makes the encoder search for the highest quality whose
  file fits: a search over integer qualities between the brand's `min_quality` and
  `MAX_QUALITY`, at most 6 encodes, deterministic (same pixels, same settings: same bytes).
  It starts at `MAX_QUALITY` (small files fit there: one encode) and predicts the answer from
  the sizes seen, modelling log(size) as linear in log(101 - quality), which the three
  encoders follow closely (their quantiser step scales with 100 - quality): typically 3
  encodes, the answer and its neighbour above. A lossless PNG over budget, or a lossy file
  over budget even at `min_quality`, is refused with the numbers (`BudgetError`).
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
# zlib level 4: files 1.5% larger than level 6's, in 41% of the time (benchmarks/png_level.py, three
# photographs at 1080x1080 with a headline band); level 3 and below grow files by 9 to 14%.
PNG_COMPRESS_LEVEL = 4
DEFAULT_QUALITY = {"jpeg": 90, "webp": 90, "avif": 80}  # without a budget
MAX_QUALITY = 95  # above this, JPEG and WebP files grow much and look no better
MAX_ENCODES = 6  # per file: the search is bounded
# Typical growth of log(file size) per unit of -log(101 - quality), used until the search has
# two sizes of its own. Chosen for the fewest encodes over the tiny model's renders (12 renders x
# 3 sizes) and the tests' pictures, every quality 55..95 measured, budgets 150..700 KB and 10..80%
# of the way from quality 60's size to 95's (540 searches): on the renders 2.6 (JPEG), 2.9 (WebP)
# and 3.2 (AVIF) encodes per file on average, 1 search short of the highest quality that fits,
# against 4.6, 4.7 and 4.0 encodes and 26 short for the earlier search (up from min_quality,
# log-linear in quality).
PRIOR_SLOPE = {"jpeg": 0.50, "webp": 0.40, "avif": 0.40}
# The error measured is the PSNR of the luma (what text legibility rests on; 4:2:0 chroma
# subsampling costs small, busy banners much RGB PSNR and little luma). Measured on the tiny
# model's renders: at quality 60, a 320x50 banner's luma PSNR is 27.2 dB (JPEG), 31.7 (WebP),
# 30.4 (AVIF); a 1080x1920 story's 38.9..42.7 dB; a wrong image (the render flipped) 11.6..15.9 dB.
# 24 dB sits between the two with margin on both sides.
MIN_PSNR_DB = 24.0
XMP_NAMESPACE = "https://asset-pipeline.invalid/ns/provenance/1.0/"
XMP_PREFIX = "ap"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
IPTC_EXT_NAMESPACE = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"  # IPTC Photo Metadata, Extension schema
SOURCE_TYPE_KEY = "digital_source_type"  # the provenance key written as Iptc4xmpExt:DigitalSourceType
PNG_XMP_KEY = "XML:com.adobe.xmp"  # the iTXt keyword XMP lives under in a PNG
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
    """The provenance as an XMP packet: one property per key in the `ap` namespace, the digital
    source type as IPTC's `Iptc4xmpExt:DigitalSourceType`."""
    props = "".join(
        f"<{XMP_PREFIX}:{_key_name(k)}>{escape(str(v))}</{XMP_PREFIX}:{_key_name(k)}>"
        for k, v in sorted(provenance.items())
        if k != SOURCE_TYPE_KEY
    )
    if source_type := provenance.get(SOURCE_TYPE_KEY):
        props += f"<Iptc4xmpExt:DigitalSourceType>{escape(source_type)}</Iptc4xmpExt:DigitalSourceType>"
    namespaces = f"xmlns:{XMP_PREFIX}={quoteattr(XMP_NAMESPACE)} xmlns:Iptc4xmpExt={quoteattr(IPTC_EXT_NAMESPACE)}"
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf={quoteattr(_RDF)}>'
        f'<rdf:Description rdf:about="" {namespaces}>{props}</rdf:Description>'
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
    prefix, source_type = "{" + XMP_NAMESPACE + "}", "{" + IPTC_EXT_NAMESPACE + "}DigitalSourceType"
    found = {el.tag[len(prefix) :]: el.text or "" for el in root.iter() if el.tag.startswith(prefix)}
    if (element := root.find(f".//{source_type}")) is not None:
        found[SOURCE_TYPE_KEY] = element.text or ""
    return found


def read_provenance(data: bytes) -> tuple[str | None, dict[str, str]]:
    """(format, provenance) of a published file: PNG text chunks, or the XMP of the other formats.

    XMP keys are XML names: `asset_pipeline:version` reads back as `asset_pipeline_version`, and is
    returned under both names."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = next((f for f, pil in PIL_FORMATS.items() if pil == image.format), None)
            if fmt == "png":
                chunks = dict(getattr(image, "text", {}) or {})
                xmp = chunks.pop(PNG_XMP_KEY, "")
                return fmt, {**chunks, **read_xmp(xmp)}
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
            if key != SOURCE_TYPE_KEY:
                info.add_itxt(key, value)
        if SOURCE_TYPE_KEY in provenance:  # where readers of XMP look for it
            info.add_itxt(PNG_XMP_KEY, xmp_packet({SOURCE_TYPE_KEY: provenance[SOURCE_TYPE_KEY]}).decode())
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


def _x(quality: float) -> float:
    """The search's axis: log(size) is close to linear in it."""
    return -math.log(101 - quality)


def _quality_at(x: float) -> float:
    return 101 - math.exp(-x)


def _run(moved: list[str], end: str) -> int:
    """How many times in a row, less one, `end` moved last (0 when the other end moved last)."""
    count = 0
    for side in reversed(moved):
        if side != end:
            break
        count += 1
    return max(0, count - 1)


def encode_within(
    image: Image.Image,
    fmt: str,
    provenance: dict[str, str],
    max_kb: float | None,
    min_quality: int,
    reserve: int = 0,
    encodes: dict[int, bytes] | None = None,
) -> Encoded:
    """The highest-quality file that fits `max_kb` (a bounded, deterministic search); raises BudgetError.

    `reserve`: bytes of the budget kept free for what is added after encoding (content
    credentials). `encodes`: quality -> bytes already made of this image in this format, with this
    provenance (filled in; a second search with a smaller budget reuses them)."""
    budget = None if max_kb is None else int(max_kb * 1024)
    budget_text = None if max_kb is None else f"{max_kb:g} KB"
    if fmt == "png":
        data = encode(image, fmt, None, provenance)
        if budget is not None and len(data) + reserve > budget:
            raise BudgetError(
                f"png needs {_kb(len(data) + reserve)} (lossless), budget {budget_text}: use jpeg, webp or avif"
            )
        return Encoded(fmt, data, None, max_kb)
    if budget is None:
        return Encoded(fmt, encode(image, fmt, DEFAULT_QUALITY[fmt], provenance), DEFAULT_QUALITY[fmt], max_kb)
    encodes = {} if encodes is None else encodes
    fits_in = budget - reserve
    floor = min(min_quality, MAX_QUALITY)

    def size_at(quality: int) -> int:
        if quality not in encodes:
            encodes[quality] = encode(image, fmt, quality, provenance)
        return len(encodes[quality])

    def refused(quality: int) -> BudgetError:
        credentials = f" ({reserve} bytes of it for content credentials)" if reserve else ""
        need = _kb(size_at(quality) + reserve)
        return BudgetError(f"{fmt} needs {need} at quality {quality}, budget {budget_text}{credentials}")

    # Invariant: `low` fits (or is None: nothing found to fit yet), `high` does not.
    made = 1
    if size_at(MAX_QUALITY) <= fits_in:
        return Encoded(fmt, encodes[MAX_QUALITY], MAX_QUALITY, max_kb)
    if floor >= MAX_QUALITY:
        raise refused(MAX_QUALITY)
    low, high, moved = None, MAX_QUALITY, []
    while made < MAX_ENCODES - (low is None) and (low is None or high > low + 1):
        if low is None:  # extrapolate down from the smallest file seen, with the slope of the two smallest
            over = sorted((q, len(data)) for q, data in encodes.items() if q >= high)
            (q1, b1), slope = over[0], PRIOR_SLOPE[fmt]
            if len(over) > 1 and over[1][1] > b1:
                slope = math.log(over[1][1] / b1) / (_x(over[1][0]) - _x(q1))
            target = _x(q1) - math.log(b1 / fits_in) / slope
        else:  # interpolate between the bracket's two sizes
            # Illinois rule: when the same end moved twice, the other end's weight is halved each
            # time, so the estimate leaves a stale end behind (plain regula falsi stalls there).
            below = (math.log(fits_in) - math.log(len(encodes[low]))) / 2 ** _run(moved, "high")
            above = (math.log(len(encodes[high])) - math.log(fits_in)) / 2 ** _run(moved, "low")
            share = below / max(below + above, 1e-9)
            target = _x(low) + share * (_x(high) - _x(low))
            # halfway between the models linear in x and in quality: renders follow the first, noisy
            # pictures (a steep, convex curve) the second; either alone wastes encodes on the other
            target = (target + _x(low + share * (high - low))) / 2
        guess = min(max(math.floor(_quality_at(target)), floor if low is None else low + 1), high - 1)
        made += guess not in encodes
        if size_at(guess) <= fits_in:
            low = guess
            moved.append("low")
        elif guess == floor:
            raise refused(floor)
        else:
            high = guess
            moved.append("high")
    if low is None:  # the last encode: the floor either fits or refuses the file
        if size_at(floor) > fits_in:
            raise refused(floor)
        low = floor
    return Encoded(fmt, encodes[low], low, max_kb)


def luma(image: Image.Image) -> np.ndarray:
    """The image's luma as float32, what psnr_db compares (one render's serves all its files)."""
    return np.asarray(image.convert("L"), dtype=np.float32)


def psnr_db(decoded: Image.Image, render: Image.Image, render_luma: np.ndarray | None = None) -> float | None:
    """PSNR of `decoded`'s luma against `render`'s, in dB; None when the RGB pixels are identical."""
    if decoded.format == "PNG" and decoded.convert("RGB").tobytes() == render.convert("RGB").tobytes():
        return None  # the lossless case first: no luma to compute
    b = luma(render) if render_luma is None else render_luma
    mse = float(np.mean((luma(decoded) - b) ** 2))
    if mse == 0 and decoded.convert("RGB").tobytes() == render.convert("RGB").tobytes():
        return None
    return 99.0 if mse == 0 else round(10 * math.log10(255.0**2 / mse), 2)


def decode_check(
    encoded: Encoded, render: Image.Image, render_luma: np.ndarray | None = None
) -> tuple[Encoded, str | None]:
    """(the file with its measured error, the problem or None): the file decodes to the render's
    size, to its exact pixels for PNG, and within MIN_PSNR_DB for lossy formats. `render_luma`:
    `luma(render)`, when the caller checks several files of one render."""
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
            error = psnr_db(image, render, render_luma)
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
