"""Many campaigns in one Dagster run: partition ranges, and each campaign's failure kept to itself.

A run over a range of campaign partitions (the assets' single-run backfill policy, or
`asset-pipeline run` with several campaigns) executes each stage once for all of them:
one process, one model load, one set of step events instead of one per campaign, which is
where a campaign's fixed cost went (Dagster's per-event SQLite writes).

Each stage still works campaign by campaign (`each_campaign`). In a single-campaign run an
error fails the step as before. In a range run it is caught, written to the run's ledger
(`runs/<run_id>.json` in the home) with the step and a one-line cause, and later stages of
that run skip the campaign, so its bad brief or failed model leaves the others publishing.
The runner reads the ledger for that campaign's summary line.

Dagster records a range step's output as a materialization of every partition in the range
(a step cannot leave partitions out), so a campaign that failed inside a range run shows a
materialization whose metadata says `failed` and why; its tables, manifest and publications
are untouched. Its data version is the batch's, not its own: Dagster gives one to a step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from asset_pipeline.home import Home
from asset_pipeline.specs import InputError, content_hash
from asset_pipeline.storage.files import atomic_write_bytes, file_lock

T = TypeVar("T")
# Campaigns per run: one run's fixed cost is shared by this many; publication of the first waits
# for every campaign's drafts, and a killed run loses the work of at most this many.
BATCH_SIZE = 100
RANGE_TAGS = (ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG)
TRIGGER_TAG = "asset_pipeline/trigger"  # who launched a run: cli, nightly, sensor (none: the UI or a backfill)


def campaign_keys(context) -> list[str]:
    """The campaigns a step (or an observation) works on: its partition, or every one of its range."""
    if context.has_partition_key:
        return [context.partition_key]
    return list(context.partition_keys) if context.has_partition_key_range else []


def is_batch(context) -> bool:
    return not context.has_partition_key and context.has_partition_key_range


def range_tags(first: str, last: str) -> dict[str, str]:
    """The tags that make a run cover the campaign partitions first..last (in the instance's order)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def contiguous_ranges(wanted: list[str], order: list[str], limit: int) -> list[list[str]]:
    """`wanted` cut into runs of consecutive partitions of `order`, at most `limit` each.

    A run covers a range, so campaigns not wanted (fresh ones between stale ones) must not
    fall inside one: a gap in `order` starts a new range, as Dagster's own single-run
    backfills cut a partition subset into ranges.
    """
    position = {key: i for i, key in enumerate(order)}
    ranges: list[list[str]] = []
    for key in sorted(dict.fromkeys(wanted), key=position.__getitem__):
        last = ranges[-1] if ranges else None
        if last and position[last[-1]] + 1 == position[key] and len(last) < max(limit, 1):
            last.append(key)
        else:
            ranges.append([key])
    return ranges


# ------------------------------------------------------------------ the run's ledger of failures


def ledger_path(home: Home, run_id: str) -> Path:
    return home.inside("runs", f"{run_id}.json")


def failures(home: Home, run_id: str) -> dict[str, dict]:
    """campaign -> {"step", "error", "blocked"} for the campaigns that failed so far in the run."""
    try:
        return json.loads(ledger_path(home, run_id).read_bytes())
    except FileNotFoundError:
        return {}


def record_failures(home: Home, run_id: str, found: dict[str, dict]) -> None:
    if not found:
        return
    path = ledger_path(home, run_id)
    with file_lock(home.locks / "runs.lock"):  # steps of one run may finish in different processes
        merged = {**failures(home, run_id), **found}
        atomic_write_bytes(path, json.dumps(merged, indent=1, sort_keys=True).encode("utf-8"))


def forget(home: Home, run_id: str) -> None:
    """Drop a run's ledger once its summaries are written."""
    ledger_path(home, run_id).unlink(missing_ok=True)


def range_summary(campaigns: list[str], results: dict[str, tuple[str, dict]], failed: dict[str, dict]) -> list[str]:
    """One line per campaign of a range run, for its log: what its publication did, or where and
    why it failed (shorter than `run`'s summary, which also counts the drafts, renders and checks
    from every step's metadata: the last step has only its own)."""
    lines = []
    for campaign in campaigns:
        if campaign in results:
            made = results[campaign][1]
            pending = f", {made['pending']} pending" if made.get("pending") else ""
            lines.append(
                f"{campaign}: {made['published']} published{pending}, {made['rejected']} rejected; "
                f"{made['new_versions']} new versions"
            )
        else:
            why = failed.get(campaign, {})
            cause = why.get("error", "not run")
            lines.append(
                f"{campaign}: FAILED: " + (cause if why.get("blocked") else f"step {why.get('step', '?')}: {cause}")
            )
    return lines


def close_range(context, home: Home, results: dict[str, tuple[str, dict]]) -> None:
    """The end of a range run's last step: each campaign's summary line in the run's log (the UI
    shows it), and the ledger dropped, unless `asset-pipeline run` launched the run: it prints the
    same lines from the ledger and drops it itself. So backfills the daemon launches leave none."""
    for line in range_summary(campaign_keys(context), results, failures(home, context.run.run_id)):
        context.log.info(line)
    if context.run.tags.get(TRIGGER_TAG) != "cli":
        forget(home, context.run.run_id)


def forget_finished(home: Home, instance: dg.DagsterInstance, older_than: float = 3600.0) -> list[str]:
    """Drop the ledgers of runs that ended (or are gone from the instance) over `older_than`
    seconds ago: what a range run killed before its last step left. Returns their run ids.
    The age leaves a `run` that has just finished time to read its own."""
    dropped = []
    for path in sorted(home.inside("runs").glob("*.json")):  # no folder: no ledgers
        try:
            if time.time() - path.stat().st_mtime < older_than:
                continue
        except FileNotFoundError:
            continue
        run = instance.get_run_by_id(path.stem)
        if run is None or run.is_finished:
            path.unlink(missing_ok=True)
            dropped.append(path.stem)
    return dropped


def error_line(exc: BaseException) -> str:
    """One line for a campaign's failure, as the summary shows a failed step's cause."""
    while exc.__cause__ is not None:  # ours raise `from` where the cause is what went wrong
        exc = exc.__cause__
    if isinstance(exc, InputError):
        text = " | ".join(str(p) for p in exc.problems)
    else:
        text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def each_campaign(context, home: Home, step: str, work: Callable[[str], T]) -> dict[str, T]:
    """`work(campaign)` for each campaign of the step; in a range run, failures are isolated.

    Campaigns that failed in an earlier step of the run are skipped. In a single-campaign run
    nothing is caught: the step fails as it always did, with Dagster's own error chain.
    """
    keys = campaign_keys(context)
    if not is_batch(context):
        return {key: work(key) for key in keys}
    skip = failures(home, context.run.run_id)
    done: dict[str, T] = {}
    failed: dict[str, dict] = {}
    for campaign in keys:
        if campaign in skip:
            continue
        try:
            done[campaign] = work(campaign)
        except Exception as exc:  # any error of one campaign is that campaign's, not the run's
            line = error_line(exc)
            failed[campaign] = {"step": step, "error": line, "blocked": False}
            context.log.error(f"{campaign}: {step} failed: {line}")
    record_failures(home, context.run.run_id, failed)
    return done


def block(context, home: Home, campaign: str, checks: list[str]) -> None:
    """Record a campaign whose check results block its publication (a systemic failure)."""
    line = f"blocked by systemic check failure: {', '.join(checks)}"
    record_failures(home, context.run.run_id, {campaign: {"step": "quality_checks", "error": line, "blocked": True}})
    context.log.warning(f"{campaign}: {line}")


def materialize(
    context, home: Home, results: dict[str, tuple[str, dict]], asset_key: str | None = None
) -> dg.MaterializeResult:
    """The step's result from each campaign's (data version, metadata).

    One campaign: its own version and metadata, as before. A range: each campaign's metadata
    (and its version, as metadata) on its partition's materialization, failures named on theirs.
    """
    if not is_batch(context):
        ((version, metadata),) = results.values()
        return dg.MaterializeResult(asset_key=asset_key, data_version=dg.DataVersion(version), metadata=metadata)
    failed = failures(home, context.run.run_id)
    for campaign in campaign_keys(context):
        if campaign in results:
            version, metadata = results[campaign]
            extra = {**metadata, "campaign_data_version": version}
        else:
            why = failed.get(campaign, {})
            extra = {"failed": f"step {why.get('step', '?')}: {why.get('error', 'not run')}"}
        context.add_asset_metadata(extra, asset_key=asset_key, partition_key=campaign)
    return dg.MaterializeResult(
        asset_key=asset_key,
        data_version=dg.DataVersion(content_hash(sorted(v for v, _ in results.values()))),
        metadata={"campaigns": len(results), "failed_campaigns": len(campaign_keys(context)) - len(results)},
    )
