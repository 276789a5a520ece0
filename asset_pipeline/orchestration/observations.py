"""Events recorded in the home's Dagster instance outside a run, so the UI shows them too."""

from __future__ import annotations

import base64

import dagster as dg

from asset_pipeline.orchestration.metadata import table


def report_model_comparison(result: dict) -> None:
    """Record a `compare` contact sheet as an observation of the campaign's draft_images partition.

    The sheet is inlined (it is small: 256 px cells) with the seconds-per-image table, so a
    reviewer finds it in the UI beside the drafts it compares.
    """
    sheet = base64.b64encode(result["sheet"].read_bytes()).decode()
    rows = [
        dict(row, seconds="-" if row["seconds"] is None else row["seconds"], error=row["error"] or "")
        for row in result["rows"]
    ]
    with dg.DagsterInstance.get() as instance:
        instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key="draft_images",
                partition=result["campaign"],
                metadata={
                    "comparison_sheet": dg.MetadataValue.md(f"![contact sheet](data:image/png;base64,{sheet})"),
                    "comparison_seconds": table(rows, ["asset", "model", "width", "height", "seconds", "error"]),
                    "comparison_models": ", ".join(result["models"]),
                    "comparison_path": dg.MetadataValue.path(str(result["sheet"])),
                },
            )
        )
