"""The quality gate as plain data: which checks fail a campaign systemically.

Gating is per deliverable: failed deliverables are rejected by publication and the
rest publish. A check blocks the whole campaign only when something is systemically
broken: OCR is unavailable, or most deliverables fail it. The asset checks
(orchestration/checks.py) turn these verdicts into Dagster results; a run over many
campaigns applies them per campaign in publication (orchestration/batch.py), so one
campaign's systemic failure does not stop the others.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from asset_pipeline.storage.records import deliverable_key

CHECKS = {
    "draft": "The draft is not blank or black and shows no hallucinated text (after up to N re-rolls).",
    "layout": "The text fits the safe area at or above min_font_px, with every glyph in the font.",
    "ocr": "Tesseract reads each text box back at final size: every number and exact term exactly, the rest "
    "with similarity >= ocr_min_similarity.",
    "banned_terms": "No banned term appears in any typeset text.",
    "size": "The image has exactly the deliverable's size and format.",
    "not_blank": "The image is not blank, black or NaN (the fp16 VAE failure mode).",
    "hallucinated_text": "No confident OCR words in the final image outside the layout's text boxes.",
    "contrast": "Each text box reaches min_contrast against what is behind it.",
    "min_font": "No text is set below min_font_px at final size.",
    "safe_margin": "All text lies inside the safe margin.",
    "design_lint": "Design figures as numbers: alignment spread, hierarchy ratios, margins, overlaps, logo clear "
    "space, CTA plate contrast; fails only on the brand's rules (safe margin, logo clear space, no overlaps).",
    "product": "The product shot's pixels inside its mask equal its source resampled once (within 3 levels), "
    "it lies wholly inside the frame, and no text, CTA or logo box overlaps it.",
    "seams": "No straight line across the whole picture, outside text, logo and product, steps more than "
    "CIEDE2000 1.0 beyond the picture's own gradient (where an extension meets the key visual).",
}
# A campaign is blocked when at least this share of (at least MIN_SAMPLE) deliverables fail one check.
SYSTEMIC_SHARE, MIN_SAMPLE = 0.8, 5
NO_OCR = "tesseract is not available: OCR cannot run"


@dataclass
class Verdict:
    check: str
    passed: bool
    systemic: bool  # blocks the campaign's publication
    rows: list[dict] = field(default_factory=list)  # the check's rows
    failed: int = 0
    failed_deliverables: int = 0
    reason: str | None = None  # why it failed without rows to show (no OCR)


def verdicts(rows: list[dict], ocr: bool = True) -> list[Verdict]:
    """One verdict per check over a campaign's check rows."""
    if not ocr:
        return [Verdict(name, passed=False, systemic=True, reason=NO_OCR) for name in CHECKS]
    by_check: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_check[row["check"]].append(row)
    deliverables = len({deliverable_key(r) for r in rows})
    found = []
    for name in CHECKS:
        checked = by_check.get(name, [])
        failed = [r for r in checked if not r["passed"]]
        failed_deliverables = len({deliverable_key(r) for r in failed})
        systemic = deliverables >= MIN_SAMPLE and failed_deliverables >= SYSTEMIC_SHARE * deliverables
        found.append(Verdict(name, not failed, systemic, checked, len(failed), failed_deliverables))
    return found


def blocking(rows: list[dict], ocr: bool = True) -> list[str]:
    """The checks that block a campaign's publication (empty: it publishes what passed)."""
    return [v.check for v in verdicts(rows, ocr) if v.systemic]
