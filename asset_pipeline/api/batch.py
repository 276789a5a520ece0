"""The batch path over HTTP: briefs in, Dagster runs started and followed, manifests out.

`PUT /v1/briefs/{campaign}` checks the brief exactly as `validate` does (schema, brand, fonts,
media, models, pre-flight layouts), from a staging file outside briefs/, so a bad brief writes
nothing; a good one replaces briefs/<campaign>.yaml atomically and the sensor sees it as it sees
any brief file. `POST /v1/campaigns/{campaign}/runs` starts the same Dagster run as
`asset-pipeline run` (orchestration/runner.py) in the home's instance, on the runs queue's
thread; the run's record (`api/runs/<id>.json`) follows it, and its outcome goes out as webhooks.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import yaml

from asset_pipeline.api.bodies import parse_json, parse_yaml
from asset_pipeline.api.ids import ID_RE, new_id
from asset_pipeline.api.problems import ApiProblem
from asset_pipeline.home import Home
from asset_pipeline.specs import InputError, Problem, is_identifier
from asset_pipeline.storage.files import atomic_write_bytes, file_lock
from asset_pipeline.storage.tables import read_rows

JSON_TYPES = ("application/json", "")
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
STAGES = ("campaign_inputs", "draft_images", "typeset_images", "upscaled_images", "check_results", "published_assets")
RUN_TAG = "asset_pipeline/api_run"


def _campaign_problem(campaign: str) -> None:
    if not is_identifier(campaign):
        raise ApiProblem("not-found", "not a campaign id (lowercase ASCII letters, digits, _ and -)")


def put_brief(home: Home, campaign: str, body: bytes, content_type: str) -> dict:
    """Validate and write briefs/<campaign>.yaml; InputError listing every problem (nothing written)."""
    _campaign_problem(campaign)
    if content_type in JSON_TYPES:
        data = parse_json(body)
    elif content_type in YAML_TYPES:
        data = parse_yaml(body)
    else:
        raise ApiProblem("unsupported-media-type", "send a brief as application/json or application/yaml")
    label = f"briefs/{campaign}.yaml"
    if not isinstance(data, dict):
        raise InputError([Problem(label, "", "expected a mapping at the top level")])
    if data.get("assets_csv") is not None:  # a feed is a file beside the brief; none travels with a request
        raise InputError([Problem(label, "assets_csv", "not over the API: send the assets in `assets`")])
    if any(r.get("origin") == "api" for r in read_rows(home, "briefs", campaign)):
        raise ApiProblem("conflict", f"{campaign!r} holds real-time renders; a batch campaign needs another name")
    # YAML is kept as sent (its comments too); JSON is written as the YAML a brief file is
    text = body if content_type in YAML_TYPES else yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()
    from asset_pipeline.validation import check_campaign, check_layouts, load_registry_checked

    staging = home.root / "api" / "staging" / f"{datetime.now(UTC).timestamp():.6f}-{threading.get_ident()}"
    staged = staging / f"{campaign}.yaml"
    try:
        atomic_write_bytes(staged, text)
        registry, problems = load_registry_checked(home)
        problems += check_campaign(home, campaign, registry, staged)
        if not problems:
            problems += check_layouts(home, campaign, staged)
    finally:
        staged.unlink(missing_ok=True)
        staging.rmdir()
    if problems:
        raise InputError(problems)
    target = home.brief_path(campaign)
    atomic_write_bytes(target, text)
    from asset_pipeline.stages.briefs import load_campaign

    return {"campaign": campaign, "path": home.relative(target), "brief_hash": load_campaign(home, campaign).brief_hash}


def manifest(home: Home, campaign: str) -> dict:
    _campaign_problem(campaign)
    try:
        return json.loads(home.inside("published", campaign, "manifest.json").read_bytes())
    except FileNotFoundError:
        raise ApiProblem("not-found", f"campaign {campaign!r} has published nothing yet") from None


class Runs:
    """Batch runs started over HTTP, each recorded in `api/runs/<id>.json`."""

    def __init__(self, home: Home, queue, webhooks, instance=None):
        self.home, self.queue, self.webhooks, self.instance = home, queue, webhooks, instance
        self.folder = home.root / "api" / "runs"
        self._lock = threading.Lock()

    def _path(self, run_id: str) -> Path:
        return self.folder / f"{run_id}.json"

    def _save(self, record: dict) -> None:
        with self._lock:
            atomic_write_bytes(self._path(record["id"]), json.dumps(record, indent=2).encode())

    def start(self, campaign: str) -> dict:
        """Queue a run of the campaign (202's body); InputError when its inputs would not run."""
        from asset_pipeline.validation import check_campaign, load_registry_checked

        _campaign_problem(campaign)
        if not self.home.brief_path(campaign).exists():
            raise ApiProblem("not-found", f"no brief briefs/{campaign}.yaml (PUT /v1/briefs/{campaign})")
        registry, problems = load_registry_checked(self.home)
        problems += check_campaign(self.home, campaign, registry)
        if problems:
            raise InputError(problems)
        run_id = new_id("b")
        record = {
            "id": run_id,
            "campaign": campaign,
            "status": "queued",
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "dagster_run_id": None,
            "summary": None,
        }
        self._save(record)
        try:
            self.queue.submit(self._execute, record)
        except ApiProblem:  # 429: the queue is full, and the run is not recorded
            self._path(run_id).unlink(missing_ok=True)
            raise
        return {"id": run_id, "campaign": campaign, "status": "queued", "url": f"/v1/runs/{run_id}"}

    def _execute(self, record: dict) -> None:
        from asset_pipeline.orchestration.runner import run_campaigns

        self._save(dict(record, status="running"))
        try:
            with file_lock(self.home.locks / f"api-run-{record['campaign']}.lock"):
                (summary,) = run_campaigns(self.home, [record["campaign"]], tags={RUN_TAG: record["id"]})
        except Exception as exc:
            done = dict(record, status="failed", summary=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
            self._save(done)
            self.webhooks.emit("run.failed", {"run": self._public(done)})
            return
        done = dict(
            record,
            status="failed" if summary.failed else "succeeded",
            dagster_run_id=summary.run_id,
            summary=summary.line(),
        )
        self._save(done)
        self.webhooks.emit_run(self._public(done), self._deliverables(done))

    def _public(self, record: dict) -> dict:
        return {k: record[k] for k in ("id", "campaign", "status", "dagster_run_id", "summary")}

    def _deliverables(self, record: dict) -> list[dict]:
        if record["status"] != "succeeded":
            return []
        try:
            entries = manifest(self.home, record["campaign"])["deliverables"]
        except ApiProblem:
            return []
        keep = ("asset", "variant", "size", "locale", "status", "version", "reasons", "files")
        return [{k: e[k] for k in keep if k in e} for e in entries]

    def status(self, run_id: str) -> dict:
        try:
            record = json.loads(self._path(run_id).read_bytes()) if ID_RE.fullmatch(run_id) else None
        except FileNotFoundError:
            record = None
        if record is None:
            raise ApiProblem("not-found", "no such run")
        dagster_id = record.get("dagster_run_id") or self._dagster_run_id(run_id)
        return {
            **self._public(record),
            "dagster_run_id": dagster_id,
            "stages": self._stages(dagster_id),
            "deliverables": self._deliverables(record),
        }

    def _dagster_run_id(self, run_id: str) -> str | None:
        if self.instance is None:
            return None
        import dagster as dg

        runs = self.instance.get_runs(filters=dg.RunsFilter(tags={RUN_TAG: run_id}), limit=1)
        return runs[0].run_id if runs else None

    def _stages(self, dagster_id: str | None) -> dict[str, str]:
        """stage -> pending | running | succeeded | failed, from the run's step events."""
        stages = dict.fromkeys(STAGES, "pending")
        if self.instance is None or dagster_id is None:
            return stages
        import dagster as dg

        kinds = {
            dg.DagsterEventType.STEP_START: "running",
            dg.DagsterEventType.STEP_SUCCESS: "succeeded",
            dg.DagsterEventType.STEP_FAILURE: "failed",
        }
        for kind, state in kinds.items():  # in this order, so a later state wins
            for entry in self.instance.all_logs(dagster_id, of_type=kind):
                if entry.step_key in stages:
                    stages[entry.step_key] = state
        return stages
