"""Quality gates: blocking Dagster asset checks over the `check_results` rows.

The checks stage (the `check_results` asset) runs the checks and stores one row per
check keyed by the render it judged; these asset checks only read those rows and
judge them, so each check shows in the UI's check table with its numbers.

Gating is per deliverable: failed deliverables are rejected by publication and
the rest publish. A check blocks the whole campaign (ERROR severity) only when
something is systemically broken: OCR is unavailable, or most deliverables fail.
"""

import dagster as dg

from asset_pipeline.checks.tesseract import ocr_available
from asset_pipeline.orchestration.assets import campaigns, check_results
from asset_pipeline.orchestration.batch import campaign_keys, failures, is_batch
from asset_pipeline.orchestration.gates import CHECKS, verdicts
from asset_pipeline.orchestration.metadata import table
from asset_pipeline.orchestration.resources import PipelineResource
from asset_pipeline.storage.tables import read_rows


def judge(rows: list[dict], ocr: bool = True) -> list[dg.AssetCheckResult]:
    """One result per check over a campaign's check rows (a plain function: tests call it)."""
    return [
        dg.AssetCheckResult(
            check_name=v.check,
            asset_key=check_results.key,
            passed=v.passed,
            severity=dg.AssetCheckSeverity.ERROR if v.systemic else dg.AssetCheckSeverity.WARN,
            metadata={"reason": v.reason}
            if v.reason
            else {
                "checked": len(v.rows),
                "failed": v.failed,
                "failed_deliverables": v.failed_deliverables,
                "systemic": v.systemic,
                "results": table(v.rows, ["asset", "variant", "size", "passed", "value", "detail"]),
            },
        )
        for v in verdicts(rows, ocr)
    ]


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=check_results, blocking=True, description=text, partitions_def=campaigns)
        for name, text in CHECKS.items()
    ],
)
def quality_checks(context: dg.AssetCheckExecutionContext, pipeline: PipelineResource):
    home = pipeline.home_dir()
    if not is_batch(context):
        yield from judge(read_rows(home, "checks", context.partition_key), ocr=ocr_available())
        return
    skip = failures(home, context.run.run_id)
    keys = [c for c in campaign_keys(context) if c not in skip]
    yield from judge_many({c: read_rows(home, "checks", c) for c in keys}, ocr=ocr_available())


def judge_many(rows_by_campaign: dict[str, list[dict]], ocr: bool = True) -> list[dg.AssetCheckResult]:
    """One result per check over many campaigns (a range run): it blocks the run only when the check
    fails systemically in every campaign (OCR missing); a campaign failing alone is gated by publication."""
    per_campaign = {c: verdicts(rows, ocr) for c, rows in rows_by_campaign.items()}
    results = []
    for i, name in enumerate(CHECKS):
        found = {c: v[i] for c, v in per_campaign.items()}
        failing = {c: v for c, v in found.items() if not v.passed}
        everywhere = bool(found) and all(v.systemic for v in found.values())
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                asset_key=check_results.key,
                passed=not failing,
                severity=dg.AssetCheckSeverity.ERROR if everywhere else dg.AssetCheckSeverity.WARN,
                metadata={
                    "campaigns": len(found),
                    "failed_campaigns": len(failing),
                    "blocked_campaigns": sum(v.systemic for v in found.values()),
                    "results": table(
                        [
                            {"campaign": c, "failed_deliverables": v.failed_deliverables, "systemic": v.systemic}
                            | ({"reason": v.reason} if v.reason else {})
                            for c, v in failing.items()
                        ],
                        ["campaign", "failed_deliverables", "systemic", "reason"],
                    ),
                },
            )
        )
    return results
