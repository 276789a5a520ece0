"""OCR helpers for tests: what tesseract reads in given boxes, and the "ocr" results of a deliverable.

Built from the checks' own pieces (`box_readings`, `read_boxes`, `run_checks_parallel`), so a
test reads a box exactly as the publication checks do.
"""

from __future__ import annotations

from PIL import Image

from asset_pipeline.checks import ocr
from asset_pipeline.checks.result import CheckResult
from asset_pipeline.checks.suite import run_checks_parallel
from asset_pipeline.specs import Brand
from asset_pipeline.typography.boxes import Layout, TextBox


def read_boxes(image: Image.Image, boxes: list[TextBox], font_scale: float = 1.0) -> list[str]:
    """The text tesseract reads in each box (lines joined by one space).

    `font_scale` converts the boxes' `font_px` to this image's pixels when the
    image is not at the layout's size (image height / layout height).
    """
    layout_height = round(image.height / font_scale)
    readings = [ocr.box_readings(image, box, box.font_px * font_scale, layout_height) for box in boxes]
    return ocr.read_boxes(boxes, readings)


def read_box(image: Image.Image, box: TextBox) -> str:
    """The text tesseract reads in one box of an image at the layout's size."""
    return read_boxes(image, [box])[0]


def ocr_results(image: Image.Image, layout: Layout, min_similarity: float) -> list[CheckResult]:
    """The publication checks' "ocr" results for `image` (one per box), the other checks left out."""
    brand = Brand(brand="acme", ocr_min_similarity=min_similarity)
    [results] = run_checks_parallel([(image, layout, brand, image.width, image.height)], workers=1, hallucination=False)
    return [result for result in results if result.check == "ocr"]
