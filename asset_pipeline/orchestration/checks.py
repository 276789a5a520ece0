"""Quality gates: blocking Dagster asset checks over the `check_results` rows.

The checks stage (the `check_results` asset) runs the checks and stores one row per
check keyed by the render it judged; these asset checks only read those rows and
judge them, so each check shows in the UI's check table with its numbers.

Gating is per deliverable: failed deliverables are rejected by publication and
the rest publish. A check blocks the whole campaign (ERROR severity) only when
something is systemically broken: OCR is unavailable, or most deliverables fail.
"""

from collections import defaultdict

import dagster as dg

from asset_pipeline.checks.tesseract import ocr_available
from asset_pipeline.orchestration.assets import campaigns, check_results
from asset_pipeline.orchestration.metadata import table
from asset_pipeline.orchestration.resources import PipelineResource
from asset_pipeline.storage.records import deliverable_key
from asset_pipeline.storage.tables import read_rows

CHECKS = {
    "draft": "The draft is not blank or black and shows no hallucinated text (after up to N re-rolls).",
    "layout": "The text fits the safe area at or above min_font_px, with every glyph in the font.",
    "ocr": "Tesseract reads each text box back at final size with similarity >= ocr_min_similarity.",
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
}
# A campaign is blocked when at least this share of (at least MIN_SAMPLE) deliverables fail one check.
SYSTEMIC_SHARE, MIN_SAMPLE = 0.8, 5


def judge(rows: list[dict], ocr: bool = True) -> list[dg.AssetCheckResult]:
    """One result per check over a campaign's check rows (a plain function: tests call it)."""
    if not ocr:
        return [
            dg.AssetCheckResult(
                check_name=name,
                asset_key=check_results.key,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"reason": "tesseract is not available: OCR cannot run"},
            )
            for name in CHECKS
        ]
    by_check: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_check[row["check"]].append(row)
    deliverables = len({deliverable_key(r) for r in rows})
    results = []
    for name in CHECKS:
        checked = by_check.get(name, [])
        failed = [r for r in checked if not r["passed"]]
        failed_deliverables = {deliverable_key(r) for r in failed}
        systemic = deliverables >= MIN_SAMPLE and len(failed_deliverables) >= SYSTEMIC_SHARE * deliverables
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                asset_key=check_results.key,
                passed=not failed,
                severity=dg.AssetCheckSeverity.ERROR if systemic else dg.AssetCheckSeverity.WARN,
                metadata={
                    "checked": len(checked),
                    "failed": len(failed),
                    "failed_deliverables": len(failed_deliverables),
                    "systemic": systemic,
                    "results": table(checked, ["asset", "variant", "size", "passed", "value", "detail"]),
                },
            )
        )
    return results


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=check_results, blocking=True, description=text, partitions_def=campaigns)
        for name, text in CHECKS.items()
    ],
)
def quality_checks(context: dg.AssetCheckExecutionContext, pipeline: PipelineResource):
    rows = read_rows(pipeline.home_dir(), "checks", context.partition_key)
    yield from judge(rows, ocr=ocr_available())
