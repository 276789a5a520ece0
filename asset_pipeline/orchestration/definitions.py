"""The code location: what `dagster dev -w workspace.yaml` and `asset-pipeline` load."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.external_asset import create_external_asset_from_source_asset

from asset_pipeline.orchestration.assets import (
    GROUP,
    INPUT_SOURCES,
    ONE_RUN,
    campaign_inputs,
    check_results,
    draft_images,
    published_assets,
    typeset_images,
    upscaled_images,
)
from asset_pipeline.orchestration.automation import build_automation
from asset_pipeline.orchestration.checks import quality_checks
from asset_pipeline.orchestration.evaluations import evaluate_models_job, model_evaluations, qualification_checks
from asset_pipeline.orchestration.resources import PipelineResource

# The observed sources run in the job too: they need the stages' single-run backfill policy, or Dagster
# resolves the job's to the smallest (one partition per run) and a backfill of the job is a run per
# campaign. Observable source assets take no policy, so they are given it as assets definitions.
SOURCES = [create_external_asset_from_source_asset(s).with_attributes(backfill_policy=ONE_RUN) for s in INPUT_SOURCES]

STAGES = [campaign_inputs, draft_images, typeset_images, upscaled_images, check_results, published_assets]

# The HTTP API's real-time renders (api/realtime.py) run the stages outside any run; each reports a
# runless materialization of this declared asset, so the UI shows them and their lineage.
REALTIME_RENDERS = dg.AssetSpec(
    "realtime_renders",
    group_name=GROUP,  # beside the stages whose code it runs: the UI's one graph shows both paths
    description="Real-time renders of `asset-pipeline serve` (POST /v1/renders): one materialization per "
    "request, reported by the server, with its request id, deliverables, files and checks. The rows are "
    "in the catalog with origin = 'api'.",
    kinds={"python"},
)

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
    assets=[*SOURCES, *STAGES, model_evaluations, REALTIME_RENDERS],
    # Runs of the stages that are not build_campaign's (the UI's "Materialize", asset backfills) run
    # in-process too: Dagster's default would spawn a fresh interpreter per step, importing torch each time.
    executor=dg.in_process_executor,
    asset_checks=[quality_checks, qualification_checks],
    jobs=[build_campaign, evaluate_models_job],
    schedules=[nightly_rebuild],
    sensors=[brief_sensor],
    resources={"pipeline": PipelineResource()},
)
