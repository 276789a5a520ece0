"""Quality checks over the final renders: OCR, banned terms, size, blank, contrast, margins.

Results are cached by (render, layout, brand check rules), so a nothing-changed
rebuild runs no OCR. Deliverables run in parallel threads: tesseract is a
subprocess, so threads use every core.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from asset_pipeline.checks.quality import run_deliverable_checks
from asset_pipeline.specs import Brand, content_hash
from asset_pipeline.stages.cache import ResultCache
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.typography.boxes import Layout

CHECKS_CODE_VERSION = "1"  # bump when a check changes, to invalidate cached results
CHECK_RULES = ("banned_terms", "ocr_min_similarity", "min_contrast", "min_font_px", "safe_margin")


def _check_one(render: dict, brand: Brand, store: ObjectStore, cache: ResultCache) -> tuple[list[dict], bool]:
    ident = {key: render[key] for key in ("campaign", "asset", "variant", "size")}
    if render["error"] is not None:
        return [dict(ident, check="layout", passed=False, value=None, detail=render["error"])], False
    rules = {name: getattr(brand, name) for name in CHECK_RULES}
    key = content_hash({"render": render["image_sha256"], "layout": render["layout"], "rules": rules,
                        "code": CHECKS_CODE_VERSION})
    cached = cache.get(key)
    if cached is not None:
        return [dict(ident, **result) for result in cached], True
    layout = Layout.from_json(render["layout"])
    image = store.open(render["image_sha256"])
    results = [
        {"check": r.check, "passed": bool(r.passed), "value": r.value, "detail": r.detail}
        for r in run_deliverable_checks(image, layout, brand, layout.width, layout.height)
    ]
    results.insert(0, {"check": "layout", "passed": True, "value": None, "detail": "text fits the brand rules"})
    cache.put(key, results)
    return [dict(ident, **result) for result in results], False


def run_checks(renders: list[dict], brand: Brand, store: ObjectStore, cache: ResultCache,
               workers: int | None = None) -> tuple[list[dict], int]:
    """Check rows (one per deliverable and check) and how many deliverables were cache hits."""
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda r: _check_one(r, brand, store, cache), renders))
    rows = [row for checked, _ in outcomes for row in checked]
    return rows, sum(hit for _, hit in outcomes)


def failures_by_deliverable(check_rows: list[dict]) -> dict[tuple[str, int, str], list[str]]:
    """(asset, variant, size) -> the reasons it failed (empty when it passed every check)."""
    reasons: dict[tuple[str, int, str], list[str]] = {}
    for row in check_rows:
        key = (row["asset"], row["variant"], row["size"])
        reasons.setdefault(key, [])
        if not row["passed"]:
            reasons[key].append(f"{row['check']}: {row['detail']}")
    return reasons
