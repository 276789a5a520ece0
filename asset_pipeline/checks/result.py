"""The one result type every check returns; the catalog's `checks` view stores one row per result."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    check: str  # which check: "ocr", "size", "not_blank", "contrast", ...
    passed: bool
    value: float | None  # the measured number (similarity, ratio, px, ...) if there is one
    detail: str  # human-readable reason, quoting the numbers
