"""Quality checks over the final renders: OCR, banned terms, size, blank, contrast, margins.

Results are cached by (render, layout, brand check rules), so a nothing-changed
rebuild runs no OCR. Deliverables run in parallel threads: tesseract is a
subprocess, so threads use every core.
"""

from __future__ import annotations

import json
import os

from asset_pipeline.checks.seams import Boundary
from asset_pipeline.checks.suite import run_checks_parallel
from asset_pipeline.framing import Extension, aspect_crop_box
from asset_pipeline.models.generation import kept_inset
from asset_pipeline.specs import Brand, content_hash
from asset_pipeline.storage.cache import ResultCache
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.records import DELIVERABLE, deliverable_key, draft_size_key
from asset_pipeline.typography.boxes import Layout

# bump when a check changes, to invalidate cached results (4: OCR reads lines alone; 5: numbers read
# exactly; 6: the seams check; 7: seams fail only at the render's composition boundaries)
CHECKS_CODE_VERSION = "7"
CHECK_RULES = (
    "banned_terms",
    "ocr_min_similarity",
    "min_contrast",
    "min_font_px",
    "safe_margin",
    "logo_clear_space",
)


def _identity(render: dict) -> dict:
    """The deliverable, and the render judged: a result is never applied to another render."""
    identity = {key: render.get(key) for key in DELIVERABLE}
    return dict(identity, render_sha256=render["image_sha256"])


def _cache_key(
    render: dict,
    brand: Brand,
    keep_out: list | None = None,
    max_text_cover: float | None = None,
    boundaries: list[Boundary] | None = None,
) -> str:
    rules = {name: getattr(brand, name) for name in CHECK_RULES}
    if brand.banned_terms_by_locale:  # only when given: a brand without it keeps its cached results
        rules["banned_terms_by_locale"] = brand.banned_terms_by_locale
    if brand.exact_terms:
        rules["exact_terms"] = brand.exact_terms
    key = {"render": render["image_sha256"], "layout": render["layout"], "rules": rules, "code": CHECKS_CODE_VERSION}
    if keep_out:  # only sizes with safe zones: the others keep their cached results
        key["keep_out"] = keep_out
    if max_text_cover is not None:  # likewise, only sizes whose channel limits text cover
        key["max_text_cover"] = max_text_cover
    if boundaries:  # likewise, only renders assembled from parts (an extension's)
        key["boundaries"] = boundaries
    return content_hash(key)


def composition_boundaries(draft: dict | None, crop_box: list[float], width: int, height: int) -> list[Boundary]:
    """The lines of a (width x height) render cut from `draft` at `crop_box` (draft px; empty: the
    centred crop, as the upscale stage cuts it) where it was assembled, in the render's px: an
    extension's inset edges (where the key visual was scaled in) and its kept pixels' edges (where
    the painting meets them, `kept_inset`), those strictly inside the render. None for a draft
    that is one picture (a key visual; old rows, without `inset`)."""
    if not draft or not draft.get("inset"):
        return []
    ext = Extension(draft["width"], draft["height"], tuple(draft["inset"]))
    left, top, right, bottom = crop_box or aspect_crop_box(ext.width, ext.height, width, height)
    found = set()
    for edges in (ext.inset, kept_inset(ext)):
        for x in (edges[0], edges[2]):
            at = round((x - left) * width / (right - left))
            if 0 < at < width:
                found.add(("x", at))
        for y in (edges[1], edges[3]):
            at = round((y - top) * height / (bottom - top))
            if 0 < at < height:
                found.add(("y", at))
    return sorted(found)


def _cutout(store: ObjectStore, layout: Layout) -> bytes | None:
    """The product cut-out the layout names, for the `product` check (None: none, or it is gone)."""
    if layout.product is None:
        return None
    try:
        return store.read_bytes(layout.product.cutout_sha256)
    except OSError:  # missing or damaged: the check fails and says so
        return None


def draft_row(draft: dict | None) -> dict:
    """The "draft" check: did the deliverable's draft pass the draft-level checks, re-rolls included?

    value = attempts made; a draft that never passed carries every attempt as its reason.
    """
    if draft is None:
        return {"check": "draft", "passed": False, "value": None, "detail": "no draft serves this deliverable"}
    attempts = draft.get("attempts") or []
    if draft.get("draft_passed") is False:
        return {
            "check": "draft",
            "passed": False,
            "value": float(len(attempts)),
            "detail": f"no usable draft after {len(attempts)} attempts: {draft['draft_reason']}",
        }
    last = attempts[-1] if attempts else {"model": draft["model"], "seed": draft["seed"]}
    detail = f"model {last['model']}, seed {last['seed']}"
    if len(attempts) > 1:
        detail += f", after {len(attempts) - 1} re-roll(s): {attempts_summary(attempts)}"
    return {"check": "draft", "passed": True, "value": float(len(attempts) or 1), "detail": detail}


def attempts_summary(attempts: list[dict]) -> str:
    """The draft's generation attempts in one line, each with its model, seed and outcome."""
    return " | ".join(
        f"attempt {i} (model {a['model']}, seed {a['seed']}): {a['reason'] or 'passed'}"
        for i, a in enumerate(attempts, 1)
    )


def run_checks(
    renders: list[dict],
    brand: Brand,
    store: ObjectStore,
    cache: ResultCache,
    workers: int | None = None,
    drafts: list[dict] | None = None,
    keep_out: dict[tuple, list] | None = None,
    text_cover: dict[tuple, float | None] | None = None,
) -> tuple[list[dict], int]:
    """Check rows (one per deliverable and check) and how many deliverables were cache hits.

    `keep_out`: (asset, variant, size) -> that deliverable's safe zones (its `briefs` row's), which
    the design lint measures every text box and logo against; `text_cover`: likewise, the share
    of the image its channel lets text and logo cover (absent or None: no limit).

    With `drafts` (the drafts table), each deliverable also gets its "draft"
    row: the draft-level checks and re-rolls made in the drafts stage.
    """
    served = {(d["asset"], d["variant"], size): d for d in drafts or [] for size in d["sizes"]}
    by_pixels = {d["image_sha256"]: d for d in drafts or [] if d.get("image_sha256")}
    results: list[list[dict] | None] = []
    misses: list[int] = []

    def zones_of(render: dict) -> list:
        return list((keep_out or {}).get((render["asset"], render["variant"], render["size"]), []))

    def cover_of(render: dict) -> float | None:
        return (text_cover or {}).get((render["asset"], render["variant"], render["size"]))

    def boundaries_of(render: dict) -> list[Boundary]:
        if render["error"] is not None:
            return []
        layout = json.loads(render["layout"])
        draft = by_pixels.get(render.get("draft_sha256"))
        return composition_boundaries(draft, render.get("crop_box") or [], layout["width"], layout["height"])

    def key_of(render: dict) -> str:
        return _cache_key(render, brand, zones_of(render), cover_of(render), boundaries_of(render))

    for index, render in enumerate(renders):
        if render["error"] is not None:  # the layout pass already rejected it
            results.append([{"check": "layout", "passed": False, "value": None, "detail": render["error"]}])
            continue
        cached = cache.get(key_of(render))
        results.append(cached)
        if cached is None:
            misses.append(index)

    jobs = []
    for index in misses:
        layout = Layout.from_json(renders[index]["layout"])
        cutout = _cutout(store, layout)
        path = store.path(renders[index]["image_sha256"])
        render = renders[index]
        jobs.append(
            (
                path,
                layout,
                brand,
                layout.width,
                layout.height,
                zones_of(render),
                cutout,
                cover_of(render),
                boundaries_of(render),
            )
        )
    fresh = run_checks_parallel(jobs, workers=workers or os.cpu_count() or 1) if jobs else []
    for index, checked in zip(misses, fresh):
        rows = [{"check": "layout", "passed": True, "value": None, "detail": "text fits the brand rules"}]
        rows += [{"check": r.check, "passed": bool(r.passed), "value": r.value, "detail": r.detail} for r in checked]
        cache.put(key_of(renders[index]), rows)
        results[index] = rows

    if drafts is not None:
        results = [[draft_row(served.get(draft_size_key(r)))] + checked for r, checked in zip(renders, results)]
    rows = [dict(_identity(render), **result) for render, checked in zip(renders, results) for result in checked]
    hits = sum(1 for r in renders if r["error"] is None) - len(misses)
    return rows, hits


def failures_by_deliverable(check_rows: list[dict]) -> dict[tuple[str, int, str, str | None], list[str]]:
    """(asset, variant, size, locale) -> the reasons it failed (empty when it passed every check)."""
    reasons: dict[tuple[str, int, str, str | None], list[str]] = {}
    for row in check_rows:
        key = deliverable_key(row)
        reasons.setdefault(key, [])
        if not row["passed"]:
            reasons[key].append(f"{row['check']}: {row['detail']}")
    return reasons
