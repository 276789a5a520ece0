"""OCR each text box of a final image and compare it with the expected text.

Tesseract runs as a subprocess. Starting it (loading the English model) costs
about 60 ms, while reading one prepared line costs a few ms, so the crops are
handed over in batches: tesseract reads a *file list* (one crop per line) in
one process and separates the pages of its output with form feeds. One
deliverable is one process; `suite.run_checks_parallel` batches several
deliverables into one process per worker.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import regex
from PIL import Image, ImageOps

from asset_pipeline.checks import tesseract
from asset_pipeline.checks.compare import compare_reading, normalize_text
from asset_pipeline.checks.result import CheckResult
from asset_pipeline.checks.tesseract import ENGLISH, LATIN_SCRIPT, OCRError, installed_models
from asset_pipeline.colour import hex_to_rgb, luma
from asset_pipeline.locales import SCRIPTS
from asset_pipeline.typography.boxes import TextBox
from asset_pipeline.typography.render import line_rects, span_extent

# The most a box in a script must reach, where tesseract's own accuracy for the script was below the
# brand's usual 0.9. Set when boxes were read whole; measured again with the readings of
# `box_readings` by `benchmarks/legibility.py --locales all --cases 40` (1018 boxes of correct
# renders, benchmarks/results/legibility-locales.md): every script's boxes pass at its cap (Hebr
# 99.1%: "מע״מ" is read "מעיימ", the heb model has no gershayim), and 99.1% or more at 0.9. Never
# below 0.8: one wrong cluster in a five-cluster headline must still fail (docs/locales.md).
SCRIPT_MIN_SIMILARITY: dict[str, float] = {
    "Arab": 0.85,
    "Hebr": 0.8,
    "Jpan": 0.85,
    "Hans": 0.8,
    "Kore": 0.85,
    "Deva": 0.85,
    "Thai": 0.8,
}

# Font size the crops are scaled to: DejaVu's cap height is ~0.73 em, so 40 px
# gives ~29 px capitals, where tesseract's LSTM model reads best. Scaling big
# headlines down to it also keeps the OCR fast.
TARGET_FONT_PX = 40
# Scripts whose tesseract model reads smaller type better than TARGET_FONT_PX, measured by
# benchmarks/legibility.py (40 cases per locale, seeds 4242 and 7, share of boxes at >= 0.95):
# Arabic at 24 px 91-95% -> 94-99% (at 40 px line mode returns nothing for some clean lines),
# Thai at 32 px 92-97% -> 98%, Japanese 95% -> 98-99%, Chinese 89-93% -> 92-96% (Noto CJK).
# Hebrew, Korean and Devanagari gain nothing and keep 40 px.
SCRIPT_FONT_PX: dict[str, float] = {"Arab": 24, "Thai": 32, "Jpan": 32, "Hans": 32}
MAX_UPSCALE = 4.0  # tiny text gains nothing from more; it only gets slower
WHITE_POINT = 0.9  # share of the text -> background distance that already counts as background
BORDER_PX = 20  # tesseract wants a clean margin around the text
TIMEOUT_S = 30.0  # per tesseract process, plus PAGE_TIMEOUT_S per crop
PAGE_TIMEOUT_S = 2.0
RAW_LINE = 13  # tesseract's page segmentation mode for one line without layout analysis
_EDGE_TOKEN = regex.compile(r"[/|]+")


def language_for(box: TextBox) -> str:
    """The tesseract model to read a box with: its script's (a locale's box), else English, or
    Latin script for accented text."""
    if box.script and box.script != "Latn":
        return SCRIPTS[box.script].tesseract
    if all(c.isascii() for c in box.text if c.isalpha()) or LATIN_SCRIPT not in installed_models():
        return ENGLISH
    return LATIN_SCRIPT


def min_similarity_for(box: TextBox, brand_min: float) -> float:
    """The similarity a box must reach: the brand's `ocr_min_similarity`, capped for scripts where
    tesseract's own accuracy cannot reach it (SCRIPT_MIN_SIMILARITY, measured)."""
    return min(brand_min, SCRIPT_MIN_SIMILARITY.get(box.script or "Latn", brand_min))


def _luma(colour: str) -> float:
    """Rec.601 luma (0..255) of a hex colour: the grey level tesseract sees it as."""
    return float(luma(hex_to_rgb(colour)))


def psm_for(box: TextBox) -> int:
    """Page segmentation mode: 7 (one line) or 6 (a uniform block of lines)."""
    return 7 if len(box.lines) <= 1 else 6


def _effective_background(grey: Image.Image, box: TextBox) -> float:
    """The luma (0..255) of what the text sits on: the plate, else the crop's median.

    Over a scrim the median is the scrim blended with what shows through it;
    text covers less of a box than its background does, so the median is background.
    """
    if box.plate:
        return _luma(box.plate)
    return float(np.median(np.asarray(grey)))


def prepare_box(image: Image.Image, box: TextBox, font_px: float | None = None) -> Image.Image:
    """The box's crop as tesseract reads it best: grey, dark text on light, ~40 px font.

    `font_px` is the font size in this image's pixels (default `box.font_px`,
    right when the image is at the layout's final size).

    Only the box itself is cropped: it is exactly the area a scrim or plate
    covers (the layout pads it around the glyphs' ink), so no unscreened
    background reaches tesseract, which reads noise or a scrim's edge at a
    crop's border as stray "|", "[", "(" or quotes. The margin tesseract wants
    around the text is added in the box's effective background colour.
    """
    return prepare_crop(image, box.pixel_box(image.width, image.height), box, font_px or box.font_px)


def prepare_crop(
    image: Image.Image, rect: tuple[int, int, int, int], box: TextBox, font_px: float, target_px: float | None = None
) -> Image.Image:
    """`prepare_box` for a part of a box (one line's crop): (left, top, right, bottom) pixels, scaled
    to a font size of `target_px` (default: the script's, `SCRIPT_FONT_PX`)."""
    left, top, right, bottom = rect
    crop = image.crop(
        (
            max(0, left),
            max(0, top),
            min(image.width, right),
            min(image.height, bottom),
        )
    )
    if crop.mode not in ("L", "RGB"):
        crop = crop.convert("RGB")
    grey = crop.convert("L")
    if grey.width == 0 or grey.height == 0:
        return Image.new("L", (2 * BORDER_PX, 2 * BORDER_PX), 255)

    # Tesseract expects dark text on a light page, and binarises with one
    # global threshold: a mid-grey background next to the white border ends up
    # on the text's side of it. So stretch the levels: text colour -> black,
    # background -> white, inverting light-on-dark text.
    text = _luma(box.color)
    background = _effective_background(grey, box)
    # Room around the glyphs (anti-aliased edges, overhangs) in the background's
    # effective colour, never in image pixels from outside the box.
    pad = max(3, round(font_px / 10))
    grey = ImageOps.expand(grey, border=pad, fill=round(background))
    if text > background:
        grey = ImageOps.invert(grey)
        text, background = 255 - text, 255 - background
    if background - text >= 1:
        # Off a plate, white is reached WHITE_POINT of the way to the background:
        # faint shading and grain left under a scrim become paper, not smudges
        # that the LSTM (which reads grey levels, not a binarised page) takes for
        # marks. A plate is flat already; clipping would only thin the strokes.
        white = 1.0 if box.plate else WHITE_POINT
        gain = 255 / (white * (background - text))
        grey = grey.point([min(255, max(0, round((v - text) * gain))) for v in range(256)])

    target_px = target_px or SCRIPT_FONT_PX.get(box.script or "Latn", TARGET_FONT_PX)
    scale = min(target_px / max(font_px, 1.0), MAX_UPSCALE)
    if abs(scale - 1.0) > 0.05:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.LANCZOS)
    return ImageOps.expand(grey, border=BORDER_PX, fill=255)


def _read_pages(crops: list[Image.Image], psm: int, lang: str = ENGLISH) -> list[str]:
    """OCR several prepared crops in one tesseract process; one string per crop."""
    if not crops:
        return []
    absent = [part for part in lang.split("+") if part not in installed_models()]
    if absent:
        packages = " ".join("tesseract-ocr-" + part.replace("_", "-") for part in absent)
        raise OCRError(f"tesseract has no {'+'.join(absent)!r} model (Debian: apt-get install {packages})")
    with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
        paths = []
        for i, crop in enumerate(crops):
            path = Path(tmp) / f"{i:04d}.png"
            crop.save(path, compress_level=1)  # fast: the file lives for milliseconds
            paths.append(str(path))
        # A text file given as the input is a list of images, one per line.
        listing = Path(tmp) / "pages.txt"
        listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
        timeout = TIMEOUT_S + PAGE_TIMEOUT_S * len(crops)
        out = tesseract.run(str(listing), lang, psm, timeout, what=f"{len(crops)} crops")
    # Pages are separated (not terminated) by form feeds.
    pages = out.split("\f")
    if len(pages) != len(crops):
        raise OCRError(f"tesseract returned {len(pages)} pages for {len(crops)} crops")
    return [" ".join(page.split()) for page in pages]


def read_crops(crops: list[Image.Image], psms: list[int], langs: list[str] | None = None) -> list[str]:
    """OCR prepared crops, one process per distinct (psm, language); results in input order."""
    langs = langs or [ENGLISH] * len(crops)
    texts = [""] * len(crops)
    for psm, lang in sorted(set(zip(psms, langs))):
        indices = [i for i, (p, g) in enumerate(zip(psms, langs)) if (p, g) == (psm, lang)]
        for i, text in zip(indices, _read_pages([crops[i] for i in indices], psm, lang)):
            texts[i] = text
    return texts


# Room kept around a line's own ink when it is read alone, as a share of the font size: its
# anti-aliased edges and marks whose ink a neighbouring line's crop must not take.
LINE_PAD = 0.15
# Latin letters, digits and signs inside another script's text. Debian's Arabic model has no "%"
# and the Hebrew one no Latin letter ("ACME" is read as "261/18"), and the Hindi one misreads
# digits ("31" as "34"), so a box with such a run is also read with English added to its model
# ("ara+eng"), and run by run: each run alone with English, the script's text between with the
# script's model. A run keeps the spaces, dots and slashes between its letters ("ACME 50%").
_FOREIGN = regex.compile(r"[\p{Latin}0-9%$&@#]")
_FOREIGN_RUN = regex.compile(r"[\p{Latin}0-9%$&@#](?:[\p{Latin}0-9%$&@#., /:'+-]*[\p{Latin}0-9%$&@#])?")


@dataclass(frozen=True)
class Piece:
    """A prepared crop, the page segmentation mode and model to read it with, and what joins its
    text to the piece before it (a space, or nothing inside a word)."""

    crop: Image.Image
    psm: int
    lang: str
    before: str = " "


Reading = list[Piece]  # one way to read a box: its pieces' texts joined in order


def _line_bands(box: TextBox, image: Image.Image, font_px: float, layout_height: int):
    """Each line's (left, top, right, bottom) as drawn (`line_rects`), padded by LINE_PAD of the font
    size but never past halfway to the next line's ink, within the box."""
    rects = line_rects(box, image.width, image.height, layout_height)
    left0, top0, right0, bottom0 = box.pixel_box(image.width, image.height)
    pad = max(2, round(font_px * LINE_PAD))
    bands = []
    for i, (left, top, right, bottom) in enumerate(rects):
        upper, lower = top - pad, bottom + pad
        if i > 0:
            upper = max(upper, (rects[i - 1][3] + top) // 2)
        if i + 1 < len(rects):
            lower = min(lower, (bottom + rects[i + 1][1]) // 2)
        bands.append((max(left0, left - pad), max(top0, upper), min(right0, right + pad), min(bottom0, lower)))
    return bands, pad


def _line_pieces(image, box, font_px, layout_height, lang, target_px: float | None = None) -> Reading:
    """Each line alone, in line mode (psm 7)."""
    bands, _ = _line_bands(box, image, font_px, layout_height)
    return [Piece(prepare_crop(image, band, box, font_px, target_px), 7, lang) for band in bands]


def _run_pieces(image, box, font_px, layout_height, lang) -> Reading:
    """Each line cut into its runs (`_FOREIGN_RUN`) and the script's text between them, each read
    alone in line mode: a run with English, the rest with the script's model."""
    bands, pad = _line_bands(box, image, font_px, layout_height)
    pieces = []
    for n, (line, (band_left, top, band_right, bottom)) in enumerate(zip(box.lines, bands)):
        cuts = sorted({0, len(line), *(i for m in _FOREIGN_RUN.finditer(line) for i in m.span())})
        for start, end in zip(cuts, cuts[1:]):
            text = line[start:end]
            if not text.strip():
                continue
            start, end = start + len(text) - len(text.lstrip()), end - len(text) + len(text.rstrip())
            left, right = span_extent(box, image.width, image.height, layout_height, n, start, end)
            before = " " if not pieces or start == 0 or line[start - 1].isspace() else ""
            foreign = _FOREIGN_RUN.fullmatch(line[start:end]) is not None
            # padded only beside a space or the line's end: in text without spaces (CJK) the
            # neighbouring glyph starts where the run's advance ends, and its edge reads as ":" or ")"
            left_pad = pad if start == 0 or line[start - 1].isspace() else 1
            right_pad = pad if end == len(line) or line[end].isspace() else 1
            if box.direction == "rtl":
                left_pad, right_pad = right_pad, left_pad
            rect = (max(band_left, left - left_pad), top, min(band_right, right + right_pad), bottom)
            crop = prepare_crop(image, rect, box, font_px)
            pieces.append(Piece(crop, 7, ENGLISH if foreign else lang, before))
    return pieces


def box_readings(
    image: Image.Image, box: TextBox, font_px: float | None = None, layout_height: int | None = None
) -> list[Reading]:
    """The ways to read a box, the whole box first (`read_boxes` tries the others only when that
    one is not read exactly): each line alone in line mode (psm 7), since tesseract reads
    multi-line blocks badly in most non-Latin scripts; and, for a box with Latin letters, digits
    or signs inside another script (`_FOREIGN`), the whole box and each line with English added
    to the script's model, and the line run by run; for a script read at its own size
    (`SCRIPT_FONT_PX`), the whole box and each line at TARGET_FONT_PX too.

    `font_px` is the font size in this image's pixels and `layout_height` the height the layout
    was made for (defaults: the image is at the layout's final size). Without the box's font
    (older layouts elsewhere) only the whole box is read."""
    font_px = font_px or box.font_px
    layout_height = layout_height or image.height
    lang = language_for(box)
    whole = prepare_box(image, box, font_px)
    mixed = box.script not in (None, "Latn") and _FOREIGN.search(box.text) is not None
    readings = [[Piece(whole, psm_for(box), lang)]]
    if mixed:
        readings.append([Piece(whole, psm_for(box), f"{lang}+{ENGLISH}")])
    if not box.lines:
        return readings
    try:
        readings.append(_line_pieces(image, box, font_px, layout_height, lang))
        if mixed:
            readings.append(_line_pieces(image, box, font_px, layout_height, f"{lang}+{ENGLISH}"))
            readings.append(_run_pieces(image, box, font_px, layout_height, lang))
        if box.script in SCRIPT_FONT_PX:  # the script's smaller size loses some big headlines
            readings.append(_line_pieces(image, box, font_px, layout_height, lang, TARGET_FONT_PX))
    except OSError:  # the font cannot be loaded: no line geometry
        pass
    if box.script in SCRIPT_FONT_PX:
        rect = box.pixel_box(image.width, image.height)
        readings.append([Piece(prepare_crop(image, rect, box, font_px, TARGET_FONT_PX), psm_for(box), lang)])
    return readings


def _read(readings: list[Reading]) -> list[str]:
    """Each reading's text: all their pieces read at once, one tesseract process per (psm, model)."""
    pieces = [piece for reading in readings for piece in reading]
    reads = read_crops([p.crop for p in pieces], [p.psm for p in pieces], [p.lang for p in pieces])
    # Line mode's layout analysis drops some clean lines whole (Arabic in DejaVu Sans reads as
    # nothing); raw line mode (psm 13) skips that analysis and reads them, with the line's edge
    # at times as a lone "/" or "|" ("مجموعة /"), which is left out.
    empty = [i for i, (piece, read) in enumerate(zip(pieces, reads)) if piece.psm == 7 and not read]
    for i, read in zip(
        empty, read_crops([pieces[i].crop for i in empty], [RAW_LINE] * len(empty), [pieces[i].lang for i in empty])
    ):
        reads[i] = " ".join(token for token in read.split() if not _EDGE_TOKEN.fullmatch(token))
    texts = iter(reads)
    out = []
    for reading in readings:
        text = ""
        for piece in reading:
            read = next(texts)
            text += (piece.before if text and read else "") + read
        out.append(text)
    return out


def read_boxes(
    boxes: list[TextBox], readings: list[list[Reading]], exact_terms: Sequence[Sequence[str]] | None = None
) -> list[str]:
    """What was read in each box: its first reading, or when that is not exactly the box's text,
    the reading of its `box_readings` that compares best with it (`Comparison.score`: fewest
    misread numbers and `exact_terms`, then the highest similarity; the first of equals).
    `exact_terms`: the brand's, per box (default none).

    Every reading is of the same pixels, so a box passes when one way of reading them gets its
    text back; a wrong glyph is read wrong every way."""
    terms = exact_terms or [()] * len(boxes)

    def score(i: int, text: str) -> tuple[int, float]:
        return compare_reading(boxes[i].text, text, boxes[i].script, terms[i]).score

    out = _read([r[0] for r in readings])
    retries = [(i, reading) for i, text in enumerate(out) if score(i, text) < (0, 1.0) for reading in readings[i][1:]]
    for (i, _), text in zip(retries, _read([reading for _, reading in retries])):
        if score(i, text) > score(i, out[i]):
            out[i] = text
    return out


def compare_box(box: TextBox, actual: str, min_similarity: float, exact_terms: Sequence[str] = ()) -> CheckResult:
    """The "ocr" result for one box, given what was read in it (in the box's script): every number
    of its copy and each of the brand's `exact_terms` in it read back exactly, and the whole at
    least `min_similarity` (`compare.compare_reading`). value = the similarity."""
    min_similarity = min_similarity_for(box, min_similarity)
    comparison = compare_reading(box.text, actual, box.script, exact_terms)
    similarity = comparison.similarity
    read = f"read {actual!r}" + (
        f" (as {comparison.as_read!r})" if comparison.as_read != normalize_text(actual) else ""
    )
    problems = []
    if comparison.misreads:
        problems.append(", ".join(f'"{string}" read as "{reading}"' for string, reading in comparison.misreads))
    if similarity < min_similarity:
        problems.append(f"{read} vs {normalize_text(box.text)!r}, similarity {similarity:.3f} < {min_similarity:.3f}")
    if problems:
        return CheckResult("ocr", False, round(similarity, 4), f"{box.role}: " + "; ".join(problems))
    exact = ", exact " + ", ".join(f'"{string}"' for string in comparison.exact) if comparison.exact else ""
    return CheckResult(
        "ocr",
        True,
        round(similarity, 4),
        f"{box.role}: {read}, similarity {similarity:.3f} >= {min_similarity:.3f}{exact}",
    )


def ocr_failed(box: TextBox, error: Exception) -> CheckResult:
    """A box that could not be read fails; it never passes by default."""
    return CheckResult("ocr", False, None, f"{box.role}: could not OCR: {error}")
