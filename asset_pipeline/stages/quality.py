"""Quality checks over the final renders: OCR, banned terms, size, blank, contrast, margins.

Results are cached by (render, layout, brand check rules), so a nothing-changed
rebuild runs no OCR. Deliverables run in parallel threads: tesseract is a
subprocess, so threads use every core.
"""

from __future__ import annotations

import os

from asset_pipeline.checks.quality import run_checks_parallel
from asset_pipeline.specs import Brand, content_hash
from asset_pipeline.stages.cache import ResultCache
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.typography.boxes import Layout

CHECKS_CODE_VERSION = "1"  # bump when a check changes, to invalidate cached results
CHECK_RULES = ("banned_terms", "ocr_min_similarity", "min_contrast", "min_font_px", "safe_margin")


def _identity(render: dict) -> dict:
    return {key: render[key] for key in ("campaign", "asset", "variant", "size")}


def _cache_key(render: dict, brand: Brand) -> str:
    rules = {name: getattr(brand, name) for name in CHECK_RULES}
    return content_hash({"render": render["image_sha256"], "layout": render["layout"], "rules": rules,
                         "code": CHECKS_CODE_VERSION})


def run_checks(renders: list[dict], brand: Brand, store: ObjectStore, cache: ResultCache,
               workers: int | None = None) -> tuple[list[dict], int]:
    """Check rows (one per deliverable and check) and how many deliverables were cache hits."""
    results: list[list[dict] | None] = []
    misses: list[int] = []
    for index, render in enumerate(renders):
        if render["error"] is not None:  # the layout pass already rejected it
            results.append([{"check": "layout", "passed": False, "value": None, "detail": render["error"]}])
            continue
        cached = cache.get(_cache_key(render, brand))
        results.append(cached)
        if cached is None:
            misses.append(index)

    jobs = []
    for index in misses:
        layout = Layout.from_json(renders[index]["layout"])
        jobs.append((store.path(renders[index]["image_sha256"]), layout, brand, layout.width, layout.height))
    fresh = run_checks_parallel(jobs, workers=workers or os.cpu_count() or 1) if jobs else []
    for index, checked in zip(misses, fresh):
        rows = [{"check": "layout", "passed": True, "value": None, "detail": "text fits the brand rules"}]
        rows += [{"check": r.check, "passed": bool(r.passed), "value": r.value, "detail": r.detail} for r in checked]
        cache.put(_cache_key(renders[index], brand), rows)
        results[index] = rows

    rows = [dict(_identity(render), **result) for render, checked in zip(renders, results) for result in checked]
    hits = sum(1 for r in renders if r["error"] is None) - len(misses)
    return rows, hits


def failures_by_deliverable(check_rows: list[dict]) -> dict[tuple[str, int, str], list[str]]:
    """(asset, variant, size) -> the reasons it failed (empty when it passed every check)."""
    reasons: dict[tuple[str, int, str], list[str]] = {}
    for row in check_rows:
        key = (row["asset"], row["variant"], row["size"])
        reasons.setdefault(key, [])
        if not row["passed"]:
            reasons[key].append(f"{row['check']}: {row['detail']}")
    return reasons
