"""The publication checks for one final image, and a parallel runner for many.

All checks return `CheckResult`s; nothing here raises for a bad deliverable
(a failed check says why), and when tesseract itself fails every OCR result
it owed fails with the reason. Unexpected errors (bugs) do raise.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from asset_pipeline.checks.compare import normalize_text
from asset_pipeline.checks.design import design_lint
from asset_pipeline.checks.edges import check_edge_band
from asset_pipeline.checks.hallucination import ENGLISH, check_hallucinated_texts, languages_for
from asset_pipeline.checks.ocr import Reading, box_readings, compare_box, ocr_failed, read_boxes
from asset_pipeline.checks.product import check_product
from asset_pipeline.checks.result import CheckResult
from asset_pipeline.checks.seams import Boundary, check_seams
from asset_pipeline.checks.tesseract import OCRError
from asset_pipeline.colour import luma
from asset_pipeline.locales import script_of
from asset_pipeline.specs import Brand
from asset_pipeline.typography.boxes import Layout

ImageInput = Image.Image | str | Path  # a file path is opened (and its format checked)

# not_blank thresholds, on 0..255 luminance.
MIN_STD = 2.0  # below this the image is one flat colour
FLAT_TOLERANCE = 3  # levels around the median that count as "the same colour"
FLAT_FRACTION = 0.95  # this share of pixels at one colour is a blank render
BLACK_LEVEL = 8  # a flat image this dark is the fp16 VAE all-black failure
BLANK_CHECK_SIDE = 256  # Pillow images are judged at about this size (short side)

MAX_BATCH = 16  # deliverables per tesseract process in run_checks_parallel


# ---------------------------------------------------------------- single checks


def _term_pattern(term: str) -> re.Pattern[str]:
    # Whole words: not preceded or followed by a letter, digit or underscore, so
    # "free" finds "Free shipping" and "sugar-free" but not "carefree" or
    # "freedom". The words of a multi-word term may be split by any whitespace
    # (a line break included). In scripts written without spaces (Japanese, Chinese,
    # Thai) a word has no such edge: an end of the term in one of them matches anywhere.
    words = normalize_text(term).casefold().split()
    before = "" if not script_of(words[0][0]).spaced else r"(?<!\w)"
    after = "" if not script_of(words[-1][-1]).spaced else r"(?!\w)"
    return re.compile(before + r"\s+".join(re.escape(w) for w in words) + after)


def check_banned_terms(texts: list[str], banned: list[str], labels: list[str] | None = None) -> CheckResult:
    """Fails when any banned term occurs in any text (after NFKC, case-insensitive where the script
    has case, whole words where the script separates them).

    `labels` names the texts in the detail (for example the box roles); by
    default they are "text 1", "text 2", ...
    """
    labels = labels or [f"text {i + 1}" for i in range(len(texts))]
    patterns = [(term, _term_pattern(term)) for term in banned if term.strip()]
    hits = []
    for label, text in zip(labels, texts):
        folded = normalize_text(text).casefold()
        for term, pattern in patterns:
            if pattern.search(folded):
                hits.append(f"banned term {term!r} in {label}: {normalize_text(text)!r}")
    if hits:
        return CheckResult("banned_terms", False, float(len(hits)), "; ".join(hits))
    return CheckResult("banned_terms", True, 0.0, f"none of {len(patterns)} banned terms in {len(texts)} texts")


def _open(image: ImageInput) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    return Image.open(image)


def check_exact_size(image: ImageInput, width: int, height: int, fmt: str = "PNG") -> CheckResult:
    """The image is exactly width x height, and in `fmt` when it came from a file.

    An in-memory image has no format (Pillow's `format` is None); only its size
    is checked then.
    """
    if not isinstance(image, Image.Image):
        try:
            with Image.open(image) as opened:  # reads the header only
                return check_exact_size(opened, width, height, fmt)
        except (OSError, UnidentifiedImageError) as exc:
            return CheckResult("size", False, None, f"cannot open image: {exc}")
    problems = []
    if image.size != (width, height):
        problems.append(f"is {image.width}x{image.height}, expected {width}x{height}")
    if image.format is not None and image.format != fmt:
        problems.append(f"is {image.format}, expected {fmt}")
    if problems:
        return CheckResult("size", False, None, "; ".join(problems))
    shown = fmt if image.format else "format not recorded (in-memory image)"
    return CheckResult("size", True, None, f"{width}x{height}, {shown}")


def _luminance(image: Image.Image | np.ndarray) -> np.ndarray:
    """Luminance 0..255 as float64 (H, W). Float arrays are taken as 0..1."""
    if isinstance(image, Image.Image):
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        # Blankness needs no detail: a ~256 px (box-averaged) copy is 16x cheaper.
        factor = min(image.size) // BLANK_CHECK_SIDE
        if factor > 1:
            image = image.reduce(factor)
        array = np.asarray(image, dtype=np.float64)
    else:
        array = np.asarray(image)
        if array.ndim == 4 and array.shape[0] == 1:  # a batch of one
            array = array[0]
        if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
            array = np.moveaxis(array, 0, -1)  # CHW (torch) -> HWC
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64) * 255.0
        else:
            array = array.astype(np.float64) * (255.0 / np.iinfo(array.dtype).max)
    if array.ndim == 3:
        if array.shape[-1] >= 3:
            array = luma(array)
        else:
            array = array[..., 0]
    return array


def check_not_blank(image: Image.Image | np.ndarray, layout: Layout | None = None) -> CheckResult:
    """Fails for NaN pixels, a flat image, or an all-black one; value = luminance std.

    A Pillow image or a numpy array (HW, HWC or CHW; floats in 0..1). With a
    `layout`, the text boxes are left out so typeset text cannot make a blank
    render look busy.
    """
    if isinstance(image, np.ndarray) and np.issubdtype(image.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(image)))
        if bad:
            return CheckResult("not_blank", False, None, f"{bad} of {image.size} values are NaN or infinite")
    luminance = _luminance(image)
    pixels = luminance[_outside_boxes(luminance.shape, layout)] if layout else luminance.ravel()
    if pixels.size == 0:
        return CheckResult("not_blank", False, None, "image has no pixels")

    std = float(pixels.std())
    median = float(np.median(pixels))
    flat = float(np.mean(np.abs(pixels - median) <= FLAT_TOLERANCE))
    numbers = f"luminance std {std:.2f}, {flat:.0%} of pixels within ±{FLAT_TOLERANCE} of {median:.0f}"
    if std >= MIN_STD and flat < FLAT_FRACTION:
        return CheckResult("not_blank", True, round(std, 3), numbers)
    if median <= BLACK_LEVEL:
        return CheckResult("not_blank", False, round(std, 3), f"all black (fp16 VAE failure?): {numbers}")
    return CheckResult("not_blank", False, round(std, 3), f"near-uniform: {numbers}")


def _outside_boxes(shape: tuple[int, ...], layout: Layout) -> np.ndarray:
    """Mask of the pixels outside the layout's boxes (grown by half a font size for plates)."""
    height, width = shape[:2]
    mask = np.ones((height, width), dtype=bool)
    scale = height / layout.height
    for box in layout.boxes:
        left, top, right, bottom = box.pixel_box(width, height)
        grow = round(box.font_px * scale / 2) + 2
        mask[max(0, top - grow) : bottom + grow, max(0, left - grow) : right + grow] = False
    # Text covering (nearly) everything: judge the whole image instead.
    return mask if mask.mean() >= 0.1 else np.ones_like(mask)


def check_contrast(layout: Layout, min_contrast: float) -> list[CheckResult]:
    """One result per box: its measured WCAG contrast ratio is at least `min_contrast`.

    A box without a measured ratio fails: the typography pass must measure it.
    """
    results = []
    for box in layout.boxes:
        if box.contrast is None:
            results.append(CheckResult("contrast", False, None, f"{box.role}: contrast was not measured"))
            continue
        passed = box.contrast >= min_contrast
        sign = ">=" if passed else "<"
        results.append(
            CheckResult(
                "contrast",
                passed,
                round(box.contrast, 3),
                f"{box.role}: contrast {box.contrast:.2f}:1 {sign} {min_contrast:.2f}:1",
            )
        )
    return results


def check_min_font(layout: Layout, min_font_px: int) -> list[CheckResult]:
    """One result per box: its font size at the final size is at least `min_font_px`."""
    results = []
    for box in layout.boxes:
        passed = box.font_px >= min_font_px
        sign = ">=" if passed else "<"
        results.append(
            CheckResult(
                "min_font",
                passed,
                float(box.font_px),
                f"{box.role}: font {box.font_px} px {sign} {min_font_px} px",
            )
        )
    return results


def check_safe_margin(layout: Layout, safe_margin: float) -> list[CheckResult]:
    """One result per box: it keeps `safe_margin * min(width, height)` px from every edge.

    value = the box's smallest distance to an edge in px. 1 px of slack absorbs
    the rounding of relative coordinates to pixels.
    """
    width, height = layout.width, layout.height
    margin = safe_margin * min(width, height)
    results = []
    for box in layout.boxes:
        left, top, right, bottom = box.ink_box(width, height)  # the text itself; its box grows outward
        distances = {"left": left, "top": top, "right": width - right, "bottom": height - bottom}
        edge = min(distances, key=distances.get)
        distance = distances[edge]
        passed = distance >= margin - 1
        sign = ">=" if passed else "<"
        results.append(
            CheckResult(
                "safe_margin",
                passed,
                float(distance),
                f"{box.role}: {'ink' if box.ink else 'box'} ({left}, {top})-({right}, {bottom}) is {distance} px "
                f"from the {edge} edge "
                f"{sign} safe margin {margin:.0f} px",
            )
        )
    return results


def run_draft_checks(
    draft: Image.Image, ocr: bool = True, languages: tuple[str, ...] = (ENGLISH,)
) -> list[CheckResult]:
    """The draft-level checks, whose failure a re-roll can fix: not blank or black, no tinted
    frame round the edges (`checks.edges`), and (with `ocr`) no hallucinated text anywhere,
    read with each of `languages` (the campaign's scripts' models, `languages_for`)."""
    return run_draft_checks_of([draft], ocr, languages)[0]


def run_draft_checks_of(
    drafts: list[Image.Image], ocr: bool = True, languages: tuple[str, ...] = (ENGLISH,)
) -> list[list[CheckResult]]:
    """`run_draft_checks` of each draft, reading them all in one tesseract process per scale."""
    results = [[check_not_blank(draft), check_edge_band(draft)] for draft in drafts]
    if ocr:
        for found, text in zip(results, check_hallucinated_texts([(d, None, languages) for d in drafts])):
            found.append(text)
    return results


# ---------------------------------------------------------------- one deliverable, many deliverables


# (image, layout, brand, width, height), then optionally the deliverable's keep-out zones, the
# product's cut-out bytes when the layout places one, its channel's text cover limit, and the
# render's composition boundaries (`checks.seams.Boundary`: where a seam can come from)
Job = (
    tuple[ImageInput, Layout, Brand, int, int]
    | tuple[ImageInput, Layout, Brand, int, int, Sequence]
    | tuple[ImageInput, Layout, Brand, int, int, Sequence, bytes | None]
    | tuple[ImageInput, Layout, Brand, int, int, Sequence, bytes | None, float | None]
    | tuple[ImageInput, Layout, Brand, int, int, Sequence, bytes | None, float | None, Sequence[Boundary]]
)


@dataclass
class _Prepared:
    results: list[CheckResult]  # every check except OCR
    layout: Layout
    min_similarity: float
    exact_terms: list[str]  # the brand's: they read back exactly, as numbers do
    readings: list[list[Reading]]  # per box, the ways to read it (`box_readings`), for tesseract
    image: Image.Image | None = None  # for the read for hallucinated text, batched by the caller (None: unreadable)


def _prepare(
    image: ImageInput,
    layout: Layout,
    brand: Brand,
    width: int,
    height: int,
    keep_out: Sequence = (),
    product: bytes | None = None,
    max_text_cover: float | None = None,
    boundaries: Sequence[Boundary] = (),
) -> _Prepared:
    """Run the per-image checks and cut the OCR crops; the boxes' OCR and the read for
    hallucinated text (the third result) are batched by the caller."""
    try:
        image = _open(image)
        image.load()  # decode now, in this worker, not lazily in another thread
    except (OSError, UnidentifiedImageError) as exc:
        failed = CheckResult("size", False, None, f"cannot open image: {exc}")
        return _Prepared([failed], Layout(layout.width, layout.height, []), brand.ocr_min_similarity, [], [])

    results = [check_exact_size(image, width, height), check_not_blank(image, layout)]
    results.append(
        check_banned_terms(
            [box.text for box in layout.boxes],
            brand.banned_terms_for(next((box.locale for box in layout.boxes if box.locale), None)),
            [box.role for box in layout.boxes],
        )
    )
    results += check_contrast(layout, brand.min_contrast)
    results += check_min_font(layout, brand.min_font_px)
    results += check_safe_margin(layout, brand.safe_margin)
    results += design_lint(layout, brand, keep_out, max_text_cover)
    results += check_product(image, layout, product)
    results.append(check_seams(image, layout, boundaries))

    font_scale = image.height / layout.height
    readings = [box_readings(image, box, box.font_px * font_scale, layout.height) for box in layout.boxes]
    return _Prepared(results, layout, brand.ocr_min_similarity, brand.exact_terms, readings, image)


def _check_batch(jobs: list[Job], hallucination: bool = True) -> list[list[CheckResult]]:
    """Check several deliverables with one tesseract process (per psm and model) for all their boxes."""
    prepared = [_prepare(*job) for job in jobs]
    readable = [p for p in prepared if p.image is not None] if hallucination else []
    items = [(p.image, p.layout, languages_for([box.locale for box in p.layout.boxes])) for p in readable]
    every_box = [box for p in prepared for box in p.layout.boxes]
    # The read for hallucinated text and the boxes' OCR are two tesseract processes: side by side,
    # one deliverable (a real-time render) waits for the longer, not for both.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hallucination") as side:
        hallucinated = side.submit(check_hallucinated_texts, items) if items else None
        try:
            readings = [r for p in prepared for r in p.readings]
            terms = [p.exact_terms for p in prepared for _ in p.layout.boxes]
            texts: list[str] | None = read_boxes(every_box, readings, terms)
            error = None
        except OCRError as exc:
            texts, error = None, exc
        for p, found in zip(readable, hallucinated.result() if hallucinated else []):
            p.results.insert(2, found)  # after size and not_blank, as the order promises

    out, start = [], 0
    for p in prepared:
        boxes = p.layout.boxes
        if texts is None:
            ocr = [ocr_failed(box, error) for box in boxes]
        else:
            ocr = [
                compare_box(box, text, p.min_similarity, p.exact_terms)
                for box, text in zip(boxes, texts[start : start + len(boxes)])
            ]
        start += len(boxes)
        out.append(p.results + ocr)
    return out


def run_deliverable_checks(
    image: ImageInput,
    layout: Layout,
    brand: Brand,
    width: int,
    height: int,
    keep_out: Sequence = (),
    product: bytes | None = None,
    max_text_cover: float | None = None,
) -> list[CheckResult]:
    """Every check for one final image (a Pillow image or a file path); `keep_out`: its safe zones;
    `max_text_cover`: the share of it its channel lets text and logo cover (None: no limit);
    `product` is the cut-out the layout's product box names (its bytes from the object store).

    Order: size, not_blank, hallucinated_text, banned_terms, then per box contrast, min_font,
    safe_margin, the design_lint figures, the product's pixels, frame and overlap, seams, and per
    box ocr.
    """
    return _check_batch([(image, layout, brand, width, height, keep_out, product, max_text_cover)])[0]


def run_checks_parallel(
    jobs: list[Job], workers: int | None = None, hallucination: bool = True
) -> list[list[CheckResult]]:
    """`run_deliverable_checks` for many (image, layout, brand, width, height[, product]) jobs.

    Results come back in input order. Threads suffice: tesseract runs as a
    subprocess and Pillow/numpy release the GIL. Jobs go out in batches (up to
    MAX_BATCH deliverables share one tesseract start-up), and the number of
    batches is a multiple of `workers` so the workers finish together.
    `hallucination=False` leaves out the full-image read for hallucinated text
    (the benchmark measures the boxes' OCR with and without it).
    """
    if not jobs:
        return []
    workers = max(1, workers or os.cpu_count() or 1)
    batches = max(workers, math.ceil(len(jobs) / MAX_BATCH))
    batches = math.ceil(batches / workers) * workers
    size = math.ceil(len(jobs) / batches)
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="checks") as pool:
        return [result for chunk in pool.map(lambda c: _check_batch(c, hallucination), chunks) for result in chunk]
