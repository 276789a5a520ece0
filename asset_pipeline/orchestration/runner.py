"""Running campaigns as Dagster runs in the home's instance, and summarising them."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from asset_pipeline.home import Home
from asset_pipeline.orchestration.batch import (
    BATCH_SIZE,
    contiguous_ranges,
    failures,
    forget,
    forget_finished,
    range_tags,
)
from asset_pipeline.orchestration.progress import invocation_tag, watch
from asset_pipeline.storage.files import file_lock, remove_stale_temporaries
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.tables import quarantined_tables, read_rows


@dataclass
class CampaignSummary:
    campaign: str
    run_id: str
    success: bool
    published: int = 0
    rejected: int = 0
    new_versions: int = 0
    drafts_generated: int = 0
    drafts_reused: int = 0
    drafts_because: dict = field(default_factory=dict)  # why drafts were generated: reason -> count
    renders_made: int = 0
    renders_reused: int = 0
    checks_run: int = 0  # deliverables checked afresh; the rest reused cached results
    checks_reused: int = 0
    error: str | None = None
    traceback: str | None = None  # the failure's whole chain, for --debug
    pending: int = 0  # passed, awaiting a reviewer's approval (the brand's require_approval)
    blocked: bool = False  # a systemic check failure stopped publication (exit 1, not 2)
    repaired: list[str] = field(default_factory=list)  # published files found missing or damaged, restored
    quarantined: int = 0  # damaged objects set aside under objects/.corrupt/ and made again
    tables_repaired: list[str] = field(default_factory=list)  # "tables/<t>/<c>.parquet was unreadable (why)"
    reasons: list[str] = field(default_factory=list)

    def _because(self) -> str:
        if not self.drafts_because:
            return ""
        return " (" + ", ".join(f"{n} {why}" for why, n in sorted(self.drafts_because.items())) + ")"

    @property
    def failed(self) -> bool:
        return not self.success and not self.blocked

    def line(self) -> str:
        if self.blocked:
            return f"{self.campaign}: nothing published, {self.error}; run {self.run_id[:8]}"
        if not self.success:
            return f"{self.campaign}: run {self.run_id[:8]} FAILED: {self.error}"
        waiting = f"{self.pending} pending approval, " if self.pending else ""
        text = (
            f"{self.campaign}: {self.published} published ({self.new_versions} new versions), "
            f"{waiting}{self.rejected} rejected; drafts {self.drafts_generated} generated{self._because()}, "
            f"{self.drafts_reused} reused; renders {self.renders_made} made, {self.renders_reused} reused; "
            f"checks {self.checks_run} run, {self.checks_reused} reused; run {self.run_id[:8]}"
        )
        notes = [f"  rejected {r}" for r in self.reasons]
        if self.repaired:
            notes.append(f"  repaired {len(self.repaired)} published file(s) from objects/: {', '.join(self.repaired)}")
        if self.quarantined:
            notes.append(f"  {self.quarantined} damaged object(s) moved to objects/.corrupt/ and made again")
        notes += [f"  repaired: {damage}; made again" for damage in self.tables_repaired]
        return "\n".join([text, *notes])


def root_cause(error):
    """The innermost error of a chain (Dagster's SerializableErrorInfo): what actually went wrong.

    Dagster wraps a step's exception (DagsterExecutionStepExecutionError, user-code errors), as
    its cause or, raised while handling it, its context: the explicit cause is followed always,
    the context only out of Dagster's own errors (ours raise `from` where the cause matters).
    """
    while True:
        inner = error.cause or (error.context if (error.cls_name or "").startswith("Dagster") else None)
        if inner is None:
            return error
        error = inner


def cause_line(error) -> str:
    """One line for an error chain: the innermost error's class and first line, named plainly when it is
    the machine's (memory) rather than the input's."""
    inner = root_cause(error)
    lines = [line.strip() for line in (inner.message or "").strip().splitlines() if line.strip()]
    line = lines[0] if lines else inner.cls_name or "unknown error"
    if inner.cls_name:  # `package.module.DraftError: ...` reads as `DraftError: ...`
        line = re.sub(rf"^[\w.]+\.{re.escape(inner.cls_name)}:", f"{inner.cls_name}:", line)
    if inner.cls_name and not line.startswith(inner.cls_name):
        line = f"{inner.cls_name}: {line}"
    if inner.cls_name in ("MemoryError", "OutOfMemoryError"):
        line = f"out of memory ({line}); try fewer variants per batch or a smaller model"
    return line


def _failure(result) -> tuple[str, str | None]:
    """(the summary's failure line, the traceback) of a run that did not succeed.

    A step's failure names the step; a failure outside any step (the executor: a Celery broker
    or result store that cannot be reached) is found in the engine and run-failure events.
    """
    events = result.all_events
    for event in events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            return f"step {event.step_key}: {cause_line(error)}", error.to_string()
    for event in events:
        error = getattr(event.event_specific_data, "error", None)
        if error is not None and event.event_type_value in ("ENGINE_EVENT", "PIPELINE_FAILURE", "RUN_FAILURE"):
            where = f"step {event.step_key}" if event.step_key else "run"
            return f"{where}: {cause_line(error)}", error.to_string()
    blocked = [
        e
        for e in events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.event_specific_data.passed
        and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR
    ]
    if blocked:
        names = sorted({e.event_specific_data.check_name for e in blocked})
        return f"blocked by systemic check failure: {', '.join(names)}", None
    return "run failed", None


def _failure_message(result) -> str:
    return _failure(result)[0]


def materialization_metadata(result) -> dict[tuple[str, str | None], dict]:
    """(asset, partition) -> its materialization's metadata values, read once per run (a range run has
    one materialization per asset and campaign)."""
    found: dict[tuple[str, str | None], dict] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        key = (materialization.asset_key.to_user_string(), materialization.partition)
        found.setdefault(key, {}).update({k: v.value for k, v in materialization.metadata.items()})
    return found


def summarize(
    home: Home,
    campaign: str,
    result: dg.ExecuteInProcessResult,
    metadata: dict | None = None,
    failed: dict[str, dict] | None = None,
) -> CampaignSummary:
    """The campaign's summary from its run: a run of its own, or a range run of many campaigns
    (`metadata` from materialization_metadata, `failed` the run's ledger, orchestration/batch.py)."""
    metadata = materialization_metadata(result) if metadata is None else metadata
    summary = CampaignSummary(campaign=campaign, run_id=result.run_id, success=result.success)
    own = (failed or {}).get(campaign)
    if own:  # it failed on its own inside a range run; the others went on
        summary.success, summary.blocked = False, own["blocked"]
        summary.error = own["error"] if own["blocked"] else f"step {own['step']}: {own['error']}"
        return summary

    def value(asset: str, key: str):
        return metadata.get((asset, campaign), {}).get(key)

    manifest_path = home.inside("published", campaign, "manifest.json")
    if not result.success or value("published_assets", "published") is None:
        summary.success = False
        summary.error, summary.traceback = _failure(result)
        summary.blocked = summary.error.startswith("blocked")
        return summary
    manifest = json.loads(manifest_path.read_text())
    drafts = read_rows(home, "drafts", campaign)
    entries = manifest["deliverables"]
    summary.published = sum(e["status"] == "published" for e in entries)
    summary.pending = sum(e["status"] == "pending" for e in entries)
    summary.rejected = len(entries) - summary.published - summary.pending
    summary.reasons = [
        f"{e['asset']} v{e['variant']} {e['size']}{' ' + e['locale'] if e.get('locale') else ''}: {'; '.join(e['reasons'])}"
        for e in entries
        if e["status"] == "rejected"
    ]
    summary.drafts_generated = sum(not d["cache_hit"] for d in drafts)
    summary.drafts_reused = len(drafts) - summary.drafts_generated
    summary.drafts_because = dict(value("draft_images", "generated_because") or {})
    summary.new_versions = value("published_assets", "new_versions") or 0
    summary.repaired = list(value("published_assets", "repaired") or [])
    renders = value("upscaled_images", "renders") or 0
    summary.renders_reused = value("upscaled_images", "cache_hits") or 0
    summary.renders_made = renders - summary.renders_reused
    summary.checks_reused = value("check_results", "cache_hits") or 0
    summary.checks_run = renders - summary.checks_reused
    return summary


# The run's full event log is in the instance (and the UI). The terminal gets the summary,
# whose failure line names the failed step and its error: Dagster's console copy of a step
# failure is a traceback per step, which is noise there (and dozens of lines on a full disk).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_campaigns(
    home: Home,
    campaigns: list[str],
    executor: str = "in_process",
    broker: str | None = None,
    progress: Callable[[str], object] | None = None,
    batch_size: int = BATCH_SIZE,
    tags: dict[str, str] | None = None,
) -> list[CampaignSummary]:
    """Dagster runs in the home's instance, so the UI shows them: one per range of up to
    `batch_size` consecutive campaign partitions (one campaign alone gets a run of its own).

    `executor`: in_process (default), multiprocess (a process per step) or celery
    (each step a task on the Celery workers listening to `broker`, e.g. redis://host:6379/0).
    `progress(label)`: a reporter (orchestration/progress.py) that follows each run's log.
    Summaries come back one per campaign, in the order asked. `tags` go on every run (the HTTP API
    finds its runs by them).
    """
    from asset_pipeline.orchestration.definitions import build_campaign, defs
    from asset_pipeline.orchestration.executors import celery_run_config, multiprocess_run_config, reconstructable_job
    from asset_pipeline.orchestration.instance import mend_event_index
    from asset_pipeline.orchestration.stale_runs import fail_dead_runs

    # Opening the instance creates its SQLite schema the first time; two `run` processes
    # starting together would both try (`table ... already exists`), so they take turns.
    with file_lock(home.locks / "instance.lock"):
        instance = dg.DagsterInstance.get()
        mend_event_index(instance)
        known = set(instance.get_dynamic_partitions("campaigns"))
        missing = [c for c in campaigns if c not in known]
        if missing:
            instance.add_dynamic_partitions("campaigns", missing)
        order = instance.get_dynamic_partitions("campaigns")
    # Runs a killed process left STARTED are marked failed; our own runs carry our pid to be judged by.
    own_tags = fail_dead_runs(home, instance)  # the same instance: opening one costs most of a second
    forget_finished(home, instance)  # ledgers of range runs killed before their last step
    # Leftovers of a killed run are removed before anything reads the folders.
    remove_stale_temporaries(home.tables, home.objects, home.published, home.cache)
    job = defs.resolve_job_def(build_campaign.name)
    # The home travels in the run's config: step processes and Dask workers need not share our environment.
    run_config = {**QUIET, "resources": {"pipeline": {"config": {"home": str(home.root)}}}}
    if executor == "celery":
        if not broker:
            raise ValueError("the celery executor needs a broker URL (--broker or $ASSET_PIPELINE_CELERY_BROKER)")
        run_config.update(celery_run_config(broker))
    elif executor == "multiprocess":
        run_config.update(multiprocess_run_config())
    summaries: dict[str, CampaignSummary] = {}
    store, extra_tags = ObjectStore(home), dict(tags or {})
    for group in contiguous_ranges(campaigns, order, batch_size):
        invocation = invocation_tag()
        tags = {"asset_pipeline/trigger": "cli", "asset_pipeline/executor": executor, **own_tags, **invocation}
        tags.update(extra_tags)
        single = len(group) == 1
        if not single:
            tags.update(range_tags(group[0], group[-1]))
        label = group[0] if single else f"{group[0]}..{group[-1]} ({len(group)} campaigns)"
        quarantined, set_aside = store.quarantined(), quarantined_tables(home)
        watching = watch(instance, invocation, progress(label)) if progress else contextlib.nullcontext()
        with watching:
            if executor == "in_process":
                result = job.execute_in_process(
                    instance=instance,
                    partition_key=group[0] if single else None,
                    raise_on_error=False,
                    tags=tags,
                    run_config=run_config,
                )
                made = _summaries(home, group, result)
            else:  # out-of-process executors rebuild the job by name in each step's process
                partition = {"dagster/partition": group[0]} if single else {}
                with dg.execute_job(
                    reconstructable_job(executor), instance, run_config=run_config, tags={**tags, **partition}
                ) as result:
                    made = _summaries(home, group, result)
        made[0].quarantined = store.quarantined() - quarantined  # the run's, told once
        for name, note in quarantined_tables(home).items():  # damaged table files the run set aside
            if name not in set_aside and note.get("campaign") in group:
                summary = next(s for s in made if s.campaign == note["campaign"])
                summary.tables_repaired.append(f"{note.get('path')} was unreadable ({note.get('reason')})")
        summaries.update((s.campaign, s) for s in made)
    return [summaries[c] for c in dict.fromkeys(campaigns)]


def _summaries(home: Home, group: list[str], result) -> list[CampaignSummary]:
    metadata, failed = materialization_metadata(result), failures(home, result.run_id)
    made = [summarize(home, campaign, result, metadata, failed) for campaign in group]
    forget(home, result.run_id)
    return made


def run_evaluations(home: Home, model_ids: list[str], force: bool = False, prompts: int | None = None) -> list[dict]:
    """Materialize `model_evaluations` for each model in the home's Dagster instance (the `evaluate`
    command): a run per model, each followed by its checks. Returns each model's latest row."""
    from asset_pipeline.gate import ModelGate
    from asset_pipeline.models.evaluation import evaluation_history, home_suite
    from asset_pipeline.models.registry import load_registry
    from asset_pipeline.orchestration.definitions import defs
    from asset_pipeline.orchestration.evaluations import FORCE_TAG, evaluate_models_job, sync_model_partitions
    from asset_pipeline.storage.files import file_lock

    registry = load_registry(home.root)
    with file_lock(home.locks / "instance.lock"):
        instance = dg.DagsterInstance.get()
        sync_model_partitions(instance, registry)
    job = defs.resolve_job_def(evaluate_models_job.name)
    gate = ModelGate(home, registry, suite=home_suite(home).first(prompts))
    rows = []
    for model_id in model_ids:
        refused = gate.evaluation_refused(registry.get(model_id))
        if refused:  # reckoned before anything runs: a refused evaluation costs nothing
            rows.append({"model": model_id, "qualified": False, "reasons": [refused], "refused": True})
            continue
        job.execute_in_process(
            instance=instance,
            partition_key=model_id,
            raise_on_error=False,
            tags={"asset_pipeline/trigger": "cli", **({FORCE_TAG: "named"} if force else {})},
            run_config={
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
                "ops": {"model_evaluations": {"config": {"prompts": prompts or 0}}},
                "resources": {"pipeline": {"config": {"home": str(home.root)}}},
            },
        )
        history = evaluation_history(home, model_id)
        rows.append(history[-1] if history else {"model": model_id, "qualified": False, "reasons": ["no evaluation"]})
    return rows
