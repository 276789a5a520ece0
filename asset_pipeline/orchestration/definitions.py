"""The code location: what `dagster dev -w workspace.yaml` and `asset-pipeline` load."""

from __future__ import annotations

import dagster as dg

from asset_pipeline.orchestration.assets import (
    INPUT_SOURCES,
    campaign_inputs,
    check_results,
    draft_images,
    published_assets,
    typeset_images,
    upscaled_images,
)
from asset_pipeline.orchestration.automation import build_automation
from asset_pipeline.orchestration.checks import quality_checks
from asset_pipeline.orchestration.resources import PipelineResource

STAGES = [campaign_inputs, draft_images, typeset_images, upscaled_images, check_results, published_assets]

# In-process by default: one process per campaign run keeps loaded models warm
# across steps; the multiprocess executor works too (see README).
build_campaign = dg.define_asset_job(
    "build_campaign",
    selection=dg.AssetSelection.assets(*(s.key for s in INPUT_SOURCES), *STAGES),
    executor_def=dg.in_process_executor,
    description="Brief to published assets for one campaign partition.",
)

brief_sensor, nightly_rebuild = build_automation(build_campaign)

defs = dg.Definitions(
    assets=[*INPUT_SOURCES, *STAGES],
    asset_checks=[quality_checks],
    jobs=[build_campaign],
    schedules=[nightly_rebuild],
    sensors=[brief_sensor],
    resources={"pipeline": PipelineResource()},
)
