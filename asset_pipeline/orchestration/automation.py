"""Automation: a nightly rebuild of what changed, and a sensor on the home's briefs/.

The nightly is a schedule that requests runs only for campaigns whose inputs changed
since their last publication (freshness.py compares the content hashes each manifest
records, so deciding costs no run and no model load), one run per range of consecutive
stale campaigns (orchestration/batch.py). A schedule rather than Dagster's
declarative automation: Dagster's per-partition staleness is weak for observable sources
(dagster issues #22553, #18921) and observing every partition each night would itself
be a run per campaign. Inside a run, the content-hash caches decide what work is done.
"""

import json
import os

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG
from dagster._utils.schedules import is_valid_cron_string

from asset_pipeline.freshness import check_freshness
from asset_pipeline.home import Home
from asset_pipeline.orchestration.assets import campaigns, input_versions
from asset_pipeline.orchestration.batch import BATCH_SIZE, contiguous_ranges, range_tags
from asset_pipeline.specs import InputError, content_hash, read_yaml
from asset_pipeline.stages.briefs import load_campaign
from asset_pipeline.validation import check_campaign, load_registry_checked

CRON_VARIABLE, DEFAULT_CRON = "ASSET_PIPELINE_NIGHTLY_CRON", "0 2 * * *"


def nightly_cron() -> str:
    """The nightly rebuild's cron, from $ASSET_PIPELINE_NIGHTLY_CRON (read when the code location loads)."""
    cron = os.environ.get(CRON_VARIABLE, "").strip() or DEFAULT_CRON
    if not is_valid_cron_string(cron):
        raise ValueError(f"{CRON_VARIABLE}: {cron!r} is not a cron schedule (e.g. {DEFAULT_CRON!r})")
    return cron


def input_observations(home: Home, campaign: str) -> list[dg.AssetObservation]:
    """Observations of a campaign's brief and brand parts, so the UI marks what an edit made
    stale as soon as the sensor sees it, before the requested run starts."""
    try:
        versions = input_versions(load_campaign(home, campaign))
    except InputError:
        return []
    return [
        dg.AssetObservation(asset_key=source, partition=campaign, tags={DATA_VERSION_TAG: version})
        for source, version in versions.items()
    ]


def _input_fingerprint(home: Home, campaign: str) -> str:
    """Hash of the brief file, its CSV feed and the brand file it names (raw bytes: any edit counts)."""
    parts = [home.brief_path(campaign).read_bytes()]
    try:
        data = read_yaml(home.brief_path(campaign), campaign)
        brand, feed = data.get("brand"), data.get("assets_csv")
        if isinstance(brand, str):
            brand_file = home.brand_path(brand)
            parts.append(brand_file.read_bytes() if brand_file.exists() else b"")
        if isinstance(feed, str):  # the sensor watches the feed too
            feed_file = home.inside("briefs", feed)
            parts.append(feed_file.read_bytes() if feed_file.is_file() else b"")
    except Exception:  # invalid briefs are reported by validation, not here
        pass
    return content_hash([p.hex() for p in parts])


def plan_brief_changes(
    home: Home, seen: dict[str, str]
) -> tuple[dict[str, str], list[str], list[str], dict[str, list[str]]]:
    """(new cursor, campaigns to run, campaigns deleted, problems of invalid campaigns)."""
    registry, registry_problems = load_registry_checked(home)
    current, to_run, invalid = {}, [], {}
    for campaign in home.campaign_ids():
        fingerprint = _input_fingerprint(home, campaign)
        current[campaign] = fingerprint
        if seen.get(campaign) == fingerprint:
            continue
        problems = registry_problems + check_campaign(home, campaign, registry)
        if problems:
            invalid[campaign] = [str(p) for p in problems]
        else:
            to_run.append(campaign)
    deleted = sorted(set(seen) - set(current))
    return current, to_run, deleted, invalid


def nightly_request(group: list[str]) -> dg.RunRequest:
    tags = {"asset_pipeline/trigger": "nightly"}
    if len(group) == 1:
        return dg.RunRequest(partition_key=group[0], run_key=None, tags=tags)
    return dg.RunRequest(run_key=None, tags={**tags, **range_tags(group[0], group[-1])})


def build_automation(job):
    home = Home.from_env  # read at each tick, so the daemon follows $ASSET_PIPELINE_HOME

    @dg.sensor(
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Adds a partition for each new brief and runs new or changed briefs.",
    )
    def brief_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        seen = json.loads(context.cursor) if context.cursor else {}
        current, to_run, deleted, invalid = plan_brief_changes(home(), seen)
        for campaign, problems in invalid.items():
            context.log.warning(f"not launching {campaign}: " + " | ".join(problems))
            current.pop(campaign)  # retried when the file changes again
        known = set(context.instance.get_dynamic_partitions(campaigns.name))
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(partition_key=c, run_key=f"{c}:{current[c]}", tags={"asset_pipeline/trigger": "sensor"})
                for c in to_run
            ],
            # A new campaign's partition does not exist yet, and it has nothing to be stale.
            asset_events=[o for c in to_run if c in known for o in input_observations(home(), c)],
            dynamic_partitions_requests=[
                campaigns.build_add_request([c for c in to_run if c not in known]),
                # Removing a partition keeps published files and catalog history.
                campaigns.build_delete_request([c for c in deleted if c in known]),
            ],
            cursor=json.dumps(current, sort_keys=True),
        )

    @dg.schedule(
        job=job,
        cron_schedule=nightly_cron(),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Rebuilds the campaigns whose inputs changed since their last publication "
        "(brief, brand, media, models, weights or code); the others are up to date and get no run.",
    )
    def nightly_rebuild(context: dg.ScheduleEvaluationContext):
        freshness = check_freshness(home(), home().campaign_ids())
        context.log.info(f"{len(freshness.fresh)} campaigns up to date, {len(freshness.stale)} to rebuild")
        registry, registry_problems = load_registry_checked(home())
        valid = []
        for campaign, reason in freshness.stale.items():
            context.log.info(f"rebuilding {campaign}: {reason}")
            problems = registry_problems + check_campaign(home(), campaign, registry)
            if problems:
                context.log.warning(f"skipping {campaign}: " + " | ".join(str(p) for p in problems))
            else:
                valid.append(campaign)
        missing = [c for c in valid if not context.instance.has_dynamic_partition(campaigns.name, c)]
        if missing:
            context.instance.add_dynamic_partitions(campaigns.name, missing)
        # One run per range of consecutive stale campaigns, as a single-run backfill would cut them.
        order = context.instance.get_dynamic_partitions(campaigns.name)
        return [nightly_request(group) for group in contiguous_ranges(valid, order, BATCH_SIZE)]

    return brief_sensor, nightly_rebuild
