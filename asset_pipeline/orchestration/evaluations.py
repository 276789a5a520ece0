"""`model_evaluations`: one partition per model id, the evaluation suite run on that model.

The partitions follow the registry (`sync_model_partitions`). The asset's data version is the
evaluation's (models/evaluation.evaluation_version: weights hash, settings, device, suite); its
two asset checks qualify the model: `qualification_thresholds` and `no_regression` against the
model's previous evaluation. Evaluations the drafts stage makes itself (a stale model about to
draw) are reported to the instance as runless materializations of the same partitions, so the UI
shows every evaluation however it was made.
"""

import warnings

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from asset_pipeline.gate import ModelGate
from asset_pipeline.models.evaluation import evaluation_history, home_suite
from asset_pipeline.models.registry import Registry, is_draft_model, load_registry
from asset_pipeline.orchestration.batch import campaign_keys, is_batch
from asset_pipeline.orchestration.resources import PipelineResource

warnings.filterwarnings("ignore", category=dg.PreviewWarning)  # partitioned asset checks, as in assets.py
warnings.filterwarnings("ignore", category=dg.BetaWarning)  # backfill_policy: imported before assets.py sets it

models = dg.DynamicPartitionsDefinition(name="models")
# With the campaign stages: the drafts step depends on it, and the UI's graph shows one group whole.
GROUP = "campaign_pipeline"
THRESHOLDS, REGRESSION = "qualification_thresholds", "no_regression"
FORCE_TAG = "asset_pipeline/evaluate"  # "named": evaluate even when the latest evaluation is current


def evaluation_metadata(row: dict) -> dict:
    """What the UI shows of an evaluation."""
    numbers = (
        "p50_s",
        "p95_s",
        "images_per_minute",
        "hallucination_rate",
        "blank_rate",
        "palette_delta_e",
        "extension_defect_rate",
        "typography_error_rate",
        "load_s",
        "peak_memory_mb",
        "cost",
    )
    return {
        "qualified": row["qualified"],
        "reasons": dg.MetadataValue.json(list(row["reasons"])),
        "deterministic": str(row["deterministic"]),
        "device": row["device"],
        "load_error": row["load_error"] or "",
        **{name: float(row[name]) for name in numbers if row.get(name) is not None},
        "findings": dg.MetadataValue.json(list(row["findings"])),
        **({"contact_sheet": dg.MetadataValue.path(row["contact_sheet"])} if row.get("contact_sheet") else {}),
        "seconds": float(row["seconds"]),
    }


def sync_model_partitions(instance: dg.DagsterInstance, registry: Registry) -> None:
    """Add a partition for each draft model of the registry that has none."""
    wanted = [m for m, spec in registry.models.items() if is_draft_model(spec)]
    known = set(instance.get_dynamic_partitions(models.name))
    missing = [m for m in wanted if m not in known]
    if missing:
        instance.add_dynamic_partitions(models.name, missing)


def report_evaluation(instance: dg.DagsterInstance, row: dict) -> None:
    """An evaluation made outside this asset's runs (the drafts stage's gate), as a runless event."""
    if not instance.has_dynamic_partition(models.name, row["model"]):
        instance.add_dynamic_partitions(models.name, [row["model"]])
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key="model_evaluations",
            partition=row["model"],
            metadata=evaluation_metadata(row),
            tags={DATA_VERSION_TAG: row["data_version"]},
        )
    )


class EvaluationRunConfig(dg.Config):
    prompts: int = 0  # only the suite's first N prompts (0: as the home's config.yaml says)


@dg.asset(
    partitions_def=models,
    group_name=GROUP,
    code_version="1",
    pool="generation",
    backfill_policy=dg.BackfillPolicy.single_run(),  # a backfill of many models: one run, one after another
    description="The evaluation suite run on one model: load time, memory, warm p50/p95, images per minute, "
    "hallucinated-text and blank rates, palette ΔE, determinism, extension defects, typography errors, a "
    "contact sheet. Data version: the model's weights hash, settings, device and the suite's hash.",
)
def model_evaluations(
    context: dg.AssetExecutionContext, config: EvaluationRunConfig, pipeline: PipelineResource
) -> dg.MaterializeResult:
    home = pipeline.home_dir()
    registry = load_registry(home.root)
    suite = home_suite(home).first(config.prompts or None)
    gate = ModelGate(home, registry, generator=pipeline.generator(), suite=suite)
    rows = {}
    for model_id in campaign_keys(context):  # one model, or each of a backfill's range
        spec = registry.get(model_id)
        refused = gate.evaluation_refused(spec)
        if refused:
            raise dg.Failure(description=f"{spec.id}: {refused}")
        # Named by hand (`evaluate MODEL`): evaluated even when current; else only when stale. A model
        # without weights gets a row that says so.
        rows[model_id] = gate.run_evaluation(spec, force=bool(context.run.tags.get(FORCE_TAG)))
    if not is_batch(context):
        [row] = rows.values()
        return dg.MaterializeResult(data_version=dg.DataVersion(row["data_version"]), metadata=evaluation_metadata(row))
    for model_id, row in rows.items():
        context.add_asset_metadata(evaluation_metadata(row), partition_key=model_id)
    return dg.MaterializeResult(metadata={"models": len(rows), "qualified": sum(r["qualified"] for r in rows.values())})


def judge_evaluation(history: list[dict]) -> list[dg.AssetCheckResult]:
    """The two qualification checks over a model's latest evaluation (a plain function: tests call it)."""
    if not history:
        return [
            dg.AssetCheckResult(
                check_name=name, asset_key="model_evaluations", passed=False, metadata={"reason": "no evaluation"}
            )
            for name in (THRESHOLDS, REGRESSION)
        ]
    row = history[-1]
    # each check passes when its column of the latest evaluation lists nothing
    return [
        dg.AssetCheckResult(
            check_name=name,
            asset_key="model_evaluations",
            passed=not row[column],
            metadata={label: dg.MetadataValue.json(list(row[column])), "data_version": row["data_version"]},
        )
        for name, column, label in (
            (THRESHOLDS, "threshold_failures", "failures"),
            (REGRESSION, "regressions", "regressions"),
        )
    ]


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            THRESHOLDS,
            asset=model_evaluations,
            partitions_def=models,
            description="The evaluation is within the thresholds: the project's, the model's own in models.yaml.",
        ),
        dg.AssetCheckSpec(
            REGRESSION,
            asset=model_evaluations,
            partitions_def=models,
            description="Not worse than the model's previous evaluation: p95 at most 25% slower, hallucinated "
            "text at most 5 points more.",
        ),
    ],
)
def qualification_checks(context: dg.AssetCheckExecutionContext, pipeline: PipelineResource):
    keys = campaign_keys(context)
    if len(keys) == 1:
        yield from judge_evaluation(evaluation_history(pipeline.home_dir(), keys[0]))
        return
    # A backfill's range: each check passes when it passes for every model of the range.
    judged = {m: judge_evaluation(evaluation_history(pipeline.home_dir(), m)) for m in keys}
    for i, name in enumerate((THRESHOLDS, REGRESSION)):
        failing = sorted(m for m, results in judged.items() if not results[i].passed)
        yield dg.AssetCheckResult(
            check_name=name,
            asset_key="model_evaluations",
            passed=not failing,
            metadata={"models": len(keys), "failing": dg.MetadataValue.json(failing)},
        )


evaluate_models_job = dg.define_asset_job(
    "evaluate_models",
    selection=dg.AssetSelection.assets(model_evaluations),
    executor_def=dg.in_process_executor,
    description="The evaluation suite on one model partition, and its qualification checks.",
)
