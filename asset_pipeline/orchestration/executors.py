"""The campaign job under each executor a run can use.

`build_campaign` runs in-process (one process per run keeps loaded models warm
across steps). The variants here run each step in its own process, or as a task
on Celery workers (any machine that reaches the broker, the home and the
instance); those processes rebuild the job from these module-level functions
(`dg.reconstructable`), so they must stay importable by name.

Celery rather than Dask: dagster-dask 0.29 hands Dagster's run records to Dask,
whose task parser (dask >= 2024.12) iterates them and fails on partitioned runs.
"""

from __future__ import annotations

import dagster as dg

EXECUTORS = ("in_process", "multiprocess", "celery")


def _campaign_job() -> dg.JobDefinition:
    from asset_pipeline.orchestration.definitions import build_campaign, defs

    return defs.resolve_job_def(build_campaign.name)


def build_campaign_multiprocess() -> dg.JobDefinition:
    return _campaign_job().with_executor_def(dg.multiprocess_executor)


def build_campaign_celery() -> dg.JobDefinition:
    import warnings

    from celery.exceptions import DuplicateTaskNameWarning
    from dagster_celery import celery_executor  # only needed when a run asks for Celery

    # dagster-celery registers its task again for each step; Celery 5.7 warns, nothing is wrong.
    warnings.filterwarnings("ignore", category=DuplicateTaskNameWarning)

    return _campaign_job().with_executor_def(celery_executor)


def celery_run_config(broker: str) -> dict:
    """Steps go to the broker's `dagster` queue; results come back through the same server."""
    return {"execution": {"config": {"broker": broker, "backend": broker}}}


# What the steps import, the heavy parts lazily: torch and diffusers alone take 6 s, which each
# step that draws, upscales or checks paid again in its own process. Diffusers' and transformers'
# classes are named by their modules, since their packages load them only on first access.
STEP_MODULES = [
    "asset_pipeline.cli",  # each step process runs the parent's main module (`asset-pipeline`) again
    "asset_pipeline.orchestration.executors",
    "asset_pipeline.orchestration.definitions",
    "asset_pipeline.models.generation",
    "asset_pipeline.stages.drafts",
    "asset_pipeline.stages.typeset",
    "asset_pipeline.stages.upscale",
    "asset_pipeline.stages.publish",
    "asset_pipeline.checks.suite",
    "torch",
    "diffusers",
    "transformers",
    "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion",
    "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img",
    "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_inpaint",
    "diffusers.models.autoencoders.autoencoder_kl",
    "diffusers.models.unets.unet_2d_condition",
    "diffusers.schedulers.scheduling_euler_discrete",
    "transformers.models.clip.modeling_clip",
    "transformers.models.clip.tokenization_clip",
    "skimage.color",
    "skimage.filters",
    "skimage.measure",
    "skimage.morphology",
    "scipy.ndimage",
    "c2pa",
    # each step opens the instance from its ref, whose storage modules Dagster imports on first use
    "dagster._core.storage.base_storage",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.local_compute_log_manager",
    "dagster._core.instance.factory",
    "upath",
]


def multiprocess_run_config() -> dict:
    """Step processes fork from a server that imported the pipeline once (torch, diffusers,
    Dagster take seconds to import; a fresh interpreter per step would pay that every step)."""
    return {"execution": {"config": {"start_method": {"forkserver": {"preload_modules": STEP_MODULES}}}}}


def reconstructable_job(executor: str):
    if executor == "multiprocess":
        return dg.reconstructable(build_campaign_multiprocess)
    if executor == "celery":
        return dg.reconstructable(build_campaign_celery)
    raise ValueError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
