"""The campaign job under each executor a run can use.

`build_campaign` runs in-process (one process per run keeps loaded models warm
across steps). The variants here run each step in its own process, or on a Dask
cluster's workers; those processes rebuild the job from these module-level
functions (`dg.reconstructable`), so they must stay importable by name.
"""

from __future__ import annotations

import dagster as dg

EXECUTORS = ("in_process", "multiprocess", "dask")


def _campaign_job() -> dg.JobDefinition:
    from asset_pipeline.orchestration.definitions import build_campaign, defs

    return defs.resolve_job_def(build_campaign.name)


def build_campaign_multiprocess() -> dg.JobDefinition:
    return _campaign_job().with_executor_def(dg.multiprocess_executor)


def build_campaign_dask() -> dg.JobDefinition:
    from dagster_dask import dask_executor  # only needed when a run asks for Dask

    return _campaign_job().with_executor_def(dask_executor)


def dask_run_config(scheduler: str | None) -> dict:
    """An existing scheduler (`tcp://host:port`), or a local cluster on loopback for this run."""
    if scheduler:
        return {"execution": {"config": {"cluster": {"existing": {"address": scheduler}}}}}
    local = {"host": "127.0.0.1", "n_workers": 2, "threads_per_worker": 1, "processes": True,
             "dashboard_address": "127.0.0.1:0"}
    return {"execution": {"config": {"cluster": {"local": local}}}}


def reconstructable_job(executor: str):
    if executor == "multiprocess":
        return dg.reconstructable(build_campaign_multiprocess)
    if executor == "dask":
        return dg.reconstructable(build_campaign_dask)
    raise ValueError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
