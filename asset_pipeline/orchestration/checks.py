"""Quality gates as blocking Dagster asset checks on the final renders.

Gating is per deliverable: failed deliverables are rejected by publication and
the rest publish. A check blocks the whole campaign (ERROR severity) only when
something is systemically broken: OCR is unavailable, or most deliverables fail.
"""

import time
from collections import defaultdict

import dagster as dg

from asset_pipeline.checks.tesseract import ocr_available
from asset_pipeline.orchestration.assets import campaigns, upscaled_images
from asset_pipeline.orchestration.metadata import table
from asset_pipeline.orchestration.resources import PipelineResource
from asset_pipeline.stages.briefs import load_campaign
from asset_pipeline.stages.quality import run_checks
from asset_pipeline.storage.cache import ResultCache
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.tables import read_rows, write_rows

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
}
# A campaign is blocked when at least this share of (at least MIN_SAMPLE) deliverables fail one check.
SYSTEMIC_SHARE, MIN_SAMPLE = 0.8, 5


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=upscaled_images, blocking=True, description=text, partitions_def=campaigns)
        for name, text in CHECKS.items()
    ],
)
def quality_checks(context: dg.AssetCheckExecutionContext, pipeline: PipelineResource):
    started, home = time.perf_counter(), pipeline.home_dir()
    campaign = context.partition_key
    if not ocr_available():
        for name in CHECKS:
            yield dg.AssetCheckResult(
                check_name=name,
                asset_key=upscaled_images.key,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"reason": "tesseract is not available: OCR cannot run"},
            )
        return
    brand = load_campaign(home, campaign).brand
    renders = read_rows(home, "renders", campaign)
    rows, cached = run_checks(
        renders, brand, ObjectStore(home), ResultCache(home, "checks"), drafts=read_rows(home, "drafts", campaign)
    )
    write_rows(home, "checks", campaign, rows)
    seconds = round(time.perf_counter() - started, 3)

    by_check: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_check[row["check"]].append(row)
    deliverables = len(renders)
    for name in CHECKS:
        results = by_check.get(name, [])
        failed = [r for r in results if not r["passed"]]
        failed_deliverables = {(r["asset"], r["variant"], r["size"]) for r in failed}
        systemic = deliverables >= MIN_SAMPLE and len(failed_deliverables) >= SYSTEMIC_SHARE * deliverables
        yield dg.AssetCheckResult(
            check_name=name,
            asset_key=upscaled_images.key,
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR if systemic else dg.AssetCheckSeverity.WARN,
            metadata={
                "checked": len(results),
                "failed": len(failed),
                "failed_deliverables": len(failed_deliverables),
                "systemic": systemic,
                "cached_deliverables": cached,
                "seconds": seconds,
                "results": table(results, ["asset", "variant", "size", "passed", "value", "detail"]),
            },
        )
