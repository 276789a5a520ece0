"""Quality checks for deliverables: plain functions over plain data (no Dagster).

Every check returns `CheckResult`s; a deliverable is publishable only when all
of its results passed. The catalog's `checks` view stores one row per result
(check, passed, value, detail).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    check: str  # which check: "ocr", "size", "not_blank", "contrast", ...
    passed: bool
    value: float | None  # the measured number (similarity, ratio, px, ...) if there is one
    detail: str  # human-readable reason, quoting the numbers


# Defined before the submodules are imported: they import CheckResult from here.
from asset_pipeline.checks.hallucination import check_hallucinated_text, read_words  # noqa: E402
from asset_pipeline.checks.ocr import (  # noqa: E402
    check_ocr,
    normalize_text,
    ocr_available,
    read_box,
    read_boxes,
    text_similarity,
)
from asset_pipeline.checks.quality import (  # noqa: E402
    check_banned_terms,
    check_contrast,
    check_exact_size,
    check_min_font,
    check_not_blank,
    check_safe_margin,
    run_checks_parallel,
    run_deliverable_checks,
    run_draft_checks,
)

__all__ = [
    "CheckResult",
    "check_banned_terms",
    "check_contrast",
    "check_exact_size",
    "check_hallucinated_text",
    "check_min_font",
    "check_not_blank",
    "check_ocr",
    "check_safe_margin",
    "normalize_text",
    "ocr_available",
    "read_box",
    "read_boxes",
    "read_words",
    "run_checks_parallel",
    "run_deliverable_checks",
    "run_draft_checks",
    "text_similarity",
]
