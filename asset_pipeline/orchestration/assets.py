"""One software-defined asset per stage, partitioned by campaign.

Each asset reads its inputs from the Parquet tables, calls the stage's plain
function, writes its table and returns metadata. No IO manager: the data is in
Parquet and content-addressed files, never pickled. Every table an asset reads is
written by an asset it declares in `deps`, so the lineage graph is the data flow:

    brief_file, brand_style ─► campaign_briefs ─► draft_images ─┐
    brand_typography ───────► brand_rules ───────────────────────┴► typeset_images
      ─► upscaled_images ─► check_results (asset checks gate it) ─► published_assets

campaign_briefs and brand_rules are one step, the run's input snapshot: the only
step that reads the YAML files. Later steps read the snapshot row, never the files.
"""

import time
import warnings
from collections import Counter

import dagster as dg

from asset_pipeline.checks.tesseract import ocr_available
from asset_pipeline.gate import ModelGate
from asset_pipeline.models.cost import price_text
from asset_pipeline.models.upscaler import find_upscaler
from asset_pipeline.orchestration.batch import (
    block,
    campaign_keys,
    close_range,
    each_campaign,
    failures,
    is_batch,
    materialize,
)
from asset_pipeline.orchestration.evaluations import report_evaluation
from asset_pipeline.orchestration.gates import blocking
from asset_pipeline.orchestration.metadata import table, thumbnails, thumbnails_of_files
from asset_pipeline.orchestration.progress import draft_progress_line
from asset_pipeline.orchestration.resources import PipelineResource
from asset_pipeline.specs import InputError, content_hash
from asset_pipeline.stages.briefs import (
    CampaignInputs,
    expand_deliverables,
    files_but_briefs_hash,
    load_campaign,
    read_snapshot,
    snapshot_row,
    take_snapshot,
)
from asset_pipeline.stages.drafts import generate_drafts, review_rejections, why_generated
from asset_pipeline.stages.preflight import (
    BudgetError,
    asset_products,
    brand_logos,
    check_budget,
    preflight,
    product_placements,
    record_spending,
)
from asset_pipeline.stages.publish import publish
from asset_pipeline.stages.quality import run_checks
from asset_pipeline.stages.typeset import typeset
from asset_pipeline.stages.upscale import upscale
from asset_pipeline.storage.cache import ObjectResultCache, ResultCache
from asset_pipeline.storage.catalog import refresh_catalog
from asset_pipeline.storage.compaction import COMPACT_AFTER
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.pixels import PixelHashes
from asset_pipeline.storage.records import deliverable_key
from asset_pipeline.storage.tables import DamagedTableError, read_rows, write_rows

# Observable source assets are "beta" and partitioned asset checks "preview" in
# Dagster; the warnings say nothing a user of this pipeline can act on.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

campaigns = dg.DynamicPartitionsDefinition(name="campaigns")

GROUP = "campaign_pipeline"
# A backfill of many campaigns is one run per range of partitions, not one run per campaign: the
# model loads once and the per-run fixed cost is paid once (orchestration/batch.py).
ONE_RUN = dg.BackfillPolicy.single_run()


def input_versions(inputs: CampaignInputs) -> dict[str, str]:
    """The data version of each observed input source: content hashes of what it covers."""
    return {
        "brief_file": inputs.brief_hash,
        "brand_style": inputs.brand_generation_hash,
        "brand_typography": inputs.brand_typography_hash,
    }


def _observe(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.DataVersionsByPartition:
    """One data version per requested campaign, for the source being observed."""
    home, source = pipeline.home_dir(), context.asset_key.to_user_string()
    versions = {}
    keys = campaign_keys(context)
    for campaign in keys:
        try:
            versions[campaign] = dg.DataVersion(input_versions(load_campaign(home, campaign))[source])
        except InputError:
            continue  # reported by validation; invalid input has no version to show
    return dg.DataVersionsByPartition(versions)


# The brand file has two parts with different consumers (Brand.generation_part and
# Brand.typography_part), observed as two sources so the graph itself says what a brand
# edit invalidates: `style`/`negative` change prompts (campaign_briefs, then drafts), and so
# does the palette in a campaign the embedded model draws (it steers that model's prompts);
# everything else re-runs typesetting onwards and never reaches draft_images.
@dg.observable_source_asset(
    partitions_def=campaigns,
    group_name=GROUP,
    description="The brand's generation part (style, negative, and the palette where the embedded model "
    "draws the campaign): it changes prompts, and so drafts. Data version: its content hash.",
)
def brand_style(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.DataVersionsByPartition:
    return _observe(context, pipeline)


@dg.observable_source_asset(
    partitions_def=campaigns,
    group_name=GROUP,
    description="The brand's typography part (fonts, colours, margins, disclaimer, banned and exact terms, check "
    "thresholds): it re-runs typesetting and later stages, never drafts. Data version: its content hash.",
)
def brand_typography(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.DataVersionsByPartition:
    return _observe(context, pipeline)


@dg.observable_source_asset(
    partitions_def=campaigns,
    group_name=GROUP,
    description="The campaign's brief file (briefs/<campaign>.yaml). Data version: the validated brief's content hash.",
)
def brief_file(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.DataVersionsByPartition:
    return _observe(context, pipeline)


def approvals_version(home, campaign: str) -> str:
    """The data version of a campaign's reviewer decisions: a hash of its approvals rows."""
    rows = read_rows(home, "approvals", campaign)
    return content_hash(
        [[r["asset"], r["variant"], r["size"], r["version"], r["decision"], str(r["at"])] for r in rows]
    )


@dg.observable_source_asset(
    partitions_def=campaigns,
    group_name=GROUP,
    description="The reviewers' decisions (the review app's approvals table): a rejection re-rolls the "
    "deliverable's draft (through the input snapshot); an approval lets a pending version be published. "
    "Data version: a hash of the campaign's approvals rows.",
)
def approvals(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.DataVersionsByPartition:
    home = pipeline.home_dir()
    versions = {}
    for campaign in campaign_keys(context):
        try:
            versions[campaign] = dg.DataVersion(approvals_version(home, campaign))
        except DamagedTableError:
            continue  # no version to show: the campaign's run names the damaged file
    return dg.DataVersionsByPartition(versions)


# Observed inputs: their data versions let the UI mark what an edit made stale.
INPUT_SOURCES = [brief_file, brand_style, brand_typography, approvals]


def _total_cost(rows: list[dict]) -> str:
    """This run's spend on drafts, or 'unknown' (a model with no price and no rate)."""
    costs = [r["cost"] for r in rows]
    if any(c is None for c in costs):
        return "unknown"
    return price_text(sum(costs), next((r["currency"] for r in rows if r["currency"]), None))


def _started() -> float:
    return time.perf_counter()


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "campaign_briefs",
            deps=[brief_file, brand_style, approvals],
            partitions_def=campaigns,
            group_name=GROUP,
            code_version="2",
            description="The run's input snapshot: the brief validated and expanded into one row per deliverable, "
            "with the model routes resolved and every input file hashed.",
        ),
        dg.AssetSpec(
            "brand_rules",
            deps=[brand_typography],
            partitions_def=campaigns,
            group_name=GROUP,
            code_version="1",
            description="The brand's typography part as the run's snapshot saw it (fonts, colours, margins, "
            "disclaimer, banned terms, check thresholds).",
        ),
    ],
    backfill_policy=ONE_RUN,
    can_subset=False,  # one snapshot: both halves are always taken together
)
def campaign_inputs(context: dg.AssetExecutionContext, pipeline: PipelineResource):
    home = pipeline.home_dir()

    def snapshot_one(campaign: str):
        started = _started()
        inputs = take_snapshot(home, campaign)
        snapshot = snapshot_row(home, inputs)
        rows = expand_deliverables(inputs, home)
        write_rows(home, "snapshots", inputs.campaign, [snapshot])
        write_rows(home, "briefs", inputs.campaign, rows)
        rejections = review_rejections(inputs.approvals)
        briefs_version = content_hash(
            [inputs.brief_hash, inputs.brand_generation_hash, snapshot.registry_json]
            # the reviewers' rejections move drafts to new seeds; other decisions change no draft
            + ([sorted(rejections)] if rejections else [])
        )
        briefs = {
            "deliverables": len(rows),
            "assets": len(inputs.brief.assets),
            "review_rejections": len(rejections),
            "brand": inputs.brand.brand,
            "brief_hash": inputs.brief_hash,
            "brand_hash": inputs.brand_hash,
            "input_files": table([f.__dict__ for f in snapshot.input_files], ["path", "sha256"]),
            "seconds": round(time.perf_counter() - started, 3),
        }
        rules = {"brand": inputs.brand.brand, "typography_hash": inputs.brand_typography_hash}
        return (briefs_version, briefs), (inputs.brand_typography_hash, rules)

    done = each_campaign(context, home, "campaign_inputs", snapshot_one)
    yield materialize(context, home, {c: r[0] for c, r in done.items()}, asset_key="campaign_briefs")
    yield materialize(context, home, {c: r[1] for c, r in done.items()}, asset_key="brand_rules")


@dg.asset(
    partitions_def=campaigns,
    backfill_policy=ONE_RUN,
    group_name=GROUP,
    code_version="1",
    # Every model is qualified by its evaluation before it draws (any model's: all partitions).
    deps=["campaign_briefs", dg.AssetDep("model_evaluations", partition_mapping=dg.AllPartitionMapping())],
    pool="generation",
    description="Draft backgrounds from the routed diffusers model, cached by content key.",
)
def draft_images(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
    home, detail = pipeline.home_dir(), not is_batch(context)  # thumbnails: one campaign's run only

    def one(campaign: str):
        started = _started()
        inputs = read_snapshot(home, campaign)
        deliverables = read_rows(home, "briefs", campaign)
        previous = read_rows(home, "drafts", campaign)  # its own last output: to say why it generated
        palette_before = list(previous[0].get("palette") or []) if previous else []
        # Pre-flight: what cannot be laid out gets no draft (it is rejected later with the reasons).
        logos = brand_logos(home, inputs.brand, home.relative(inputs.brand_file), dict(inputs.media))
        products = asset_products(home, inputs.brief, home.relative(inputs.brief_file), dict(inputs.products))
        unlaid = preflight(deliverables, inputs.brand, inputs.brand_file.parent, logos, products)
        placements = product_placements(deliverables, inputs.brand, inputs.brand_file.parent, logos, products)
        # Every model is qualified before it draws: a stale one is evaluated here first (gate.py).
        gate = ModelGate(
            home,
            inputs.registry,
            generator=pipeline.generator(),
            on_evaluated=lambda row: report_evaluation(context.instance, row),
        )
        over = check_budget(home, campaign, inputs.brief, inputs.brand, deliverables, inputs.registry, gate)
        if over:  # before any generation; nothing is written
            raise BudgetError(f"{home.relative(inputs.brief_file)}: {over}")

        def progress(done: int, total: int, detail: str) -> None:
            # One line per batch in the run log: the UI and `run`'s progress bar read it (orchestration/progress.py).
            context.log.info(draft_progress_line(done, total, detail))

        rows = generate_drafts(
            deliverables,
            inputs.registry,
            pipeline.generator(),
            home,
            max_attempts=pipeline.draft_attempts,
            unlaid=unlaid,
            approvals=inputs.approvals,
            progress=progress,
            placements=placements,
            gate=gate,
            rates=gate.rates,
        )
        write_rows(home, "drafts", campaign, rows)
        record_spending(home, campaign, rows)
        generated_because = why_generated(previous, rows, palette_before, list(inputs.steering_palette))
        generated = [r for r in rows if not r["cache_hit"]]
        fallbacks = sorted({reason for r in rows for reason in r["fallbacks"]})
        return (
            content_hash(sorted(r["image_sha256"] for r in rows)),
            {
                "drafts": len(rows),
                "generated": len(generated),
                "generated_because": dg.MetadataValue.json(generated_because),
                "cache_hits": len(rows) - len(generated),
                "models": ", ".join(f"{m} ({n})" for m, n in sorted(Counter(r["model"] for r in rows).items())),
                "fallbacks": dg.MetadataValue.json(fallbacks),
                "rerolled": sum(len(r["attempts"]) > 1 for r in rows),
                "unusable": sum(not r["draft_passed"] for r in rows if r["image_sha256"]),
                "not_laid_out": len(unlaid),
                "generation_seconds": round(sum(r["seconds"] for r in generated), 3),
                "cost": _total_cost(rows),
                "seconds": round(time.perf_counter() - started, 3),
                **(
                    {
                        "thumbnails": thumbnails(
                            ObjectStore(home),
                            [
                                (f"{r['asset']} v{r['variant']} {r['aspect']}", r["image_sha256"])
                                for r in rows
                                if r["image_sha256"]
                            ],
                        )
                    }
                    if detail
                    else {}
                ),
            },
        )

    return materialize(context, home, each_campaign(context, home, "draft_images", one))


@dg.asset(
    partitions_def=campaigns,
    backfill_policy=ONE_RUN,
    group_name=GROUP,
    code_version="1",
    deps=["campaign_briefs", "brand_rules", draft_images],
    description="Typography pass: headline, body, CTA and disclaimer laid out as data, colours chosen for contrast.",
)
def typeset_images(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
    home, detail = pipeline.home_dir(), not is_batch(context)  # thumbnails: one campaign's run only

    def one(campaign: str):
        started = _started()
        inputs = read_snapshot(home, campaign)
        deliverables = read_rows(home, "briefs", campaign)
        drafts = read_rows(home, "drafts", campaign)
        logos = brand_logos(home, inputs.brand, home.relative(inputs.brand_file), dict(inputs.media))
        products = asset_products(home, inputs.brief, home.relative(inputs.brief_file), dict(inputs.products))
        store = ObjectStore(home)
        rows, reused = typeset(
            deliverables,
            drafts,
            inputs.brand,
            inputs.brand_file.parent,
            store,
            logos,
            inputs.brand_typography_hash,
            products,
            ObjectResultCache(home, "layouts", store, "preview_sha256"),
            files_but_briefs_hash(home, inputs),
        )
        write_rows(home, "layouts", campaign, rows)
        rejected = [r for r in rows if r["error"]]
        return (
            content_hash(sorted((r["layout"] or r["error"]) for r in rows)),
            {
                "deliverables": len(rows),
                "laid_out": len(rows) - len(rejected),
                "reused": reused,
                "does_not_fit": table(rejected, ["asset", "variant", "size", "error"]) if rejected else "none",
                "typography_hash": inputs.brand_typography_hash,
                "seconds": round(time.perf_counter() - started, 3),
                **(
                    {
                        "thumbnails": thumbnails(
                            ObjectStore(home),
                            [(f"{r['asset']} {r['size']}", r["preview_sha256"]) for r in rows if r["preview_sha256"]],
                        )
                    }
                    if detail
                    else {}
                ),
            },
        )

    return materialize(context, home, each_campaign(context, home, "typeset_images", one))


@dg.asset(
    partitions_def=campaigns,
    backfill_policy=ONE_RUN,
    group_name=GROUP,
    code_version="1",
    deps=["campaign_briefs", draft_images, typeset_images],
    description="Backgrounds scaled to each deliverable size (Lanczos, or the registry's diffusers upscaler), "
    "text drawn again at final resolution.",
)
def upscaled_images(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
    home, detail = pipeline.home_dir(), not is_batch(context)  # thumbnails: one campaign's run only

    def one(campaign: str):
        started = _started()
        inputs = read_snapshot(home, campaign)
        layouts = read_rows(home, "layouts", campaign)
        drafts = read_rows(home, "drafts", campaign)
        store = ObjectStore(home)
        renders, upscaler = ObjectResultCache(home, "renders", store), find_upscaler(inputs.registry)
        rows, reused = upscale(layouts, drafts, inputs.brand_hash, store, renders, upscaler, PixelHashes(home, store))
        write_rows(home, "renders", campaign, rows)
        return (
            content_hash(sorted(r["image_sha256"] or r["error"] for r in rows)),
            {
                "renders": sum(1 for r in rows if r["image_sha256"]),
                "cache_hits": reused,
                "engine": ", ".join(
                    f"{e} ({n})" for e, n in sorted(Counter(r["engine"] for r in rows if r["engine"]).items())
                ),
                "upscaler_failures": dg.MetadataValue.json(
                    sorted({r["upscaler_error"] for r in rows if r["upscaler_error"]})
                ),
                "seconds": round(time.perf_counter() - started, 3),
                **(
                    {
                        "thumbnails": thumbnails(
                            store, [(f"{r['asset']} {r['size']}", r["image_sha256"]) for r in rows if r["image_sha256"]]
                        )
                    }
                    if detail
                    else {}
                ),
            },
        )

    return materialize(context, home, each_campaign(context, home, "upscaled_images", one))


@dg.asset(
    partitions_def=campaigns,
    backfill_policy=ONE_RUN,
    group_name=GROUP,
    code_version="1",
    deps=["brand_rules", draft_images, upscaled_images],
    description="Every check of every final render (OCR, hallucinated text, contrast, margins, size, blank), "
    "one row per check keyed by the sha256 of the render it judged. The asset checks gate on these rows.",
)
def check_results(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
    home = pipeline.home_dir()

    def one(campaign: str):
        started = _started()
        inputs = read_snapshot(home, campaign)
        renders = read_rows(home, "renders", campaign)
        deliverables = expand_deliverables(inputs, home)
        rows, cached = run_checks(
            renders,
            inputs.brand,
            ObjectStore(home),
            ResultCache(home, "checks"),
            drafts=read_rows(home, "drafts", campaign),
            # the size presets' safe zones, from the snapshot (the same rows campaign_briefs wrote)
            keep_out={(r["asset"], r["variant"], r["size"]): r["keep_out"] for r in deliverables},
            text_cover={(r["asset"], r["variant"], r["size"]): r["max_text_cover"] for r in deliverables},
        )
        write_rows(home, "checks", campaign, rows)
        failed = {deliverable_key(r) for r in rows if not r["passed"]}
        return (
            content_hash(sorted((r["render_sha256"] or "", r["check"], r["passed"]) for r in rows)),
            {
                "deliverables": len(renders),
                "failed_deliverables": len(failed),
                "cache_hits": cached,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )

    return materialize(context, home, each_campaign(context, home, "check_results", one))


@dg.asset(
    partitions_def=campaigns,
    backfill_policy=ONE_RUN,
    group_name=GROUP,
    code_version="1",
    deps=["campaign_briefs", draft_images, upscaled_images, check_results, approvals],
    description="Deliverables that passed every check, versioned under published/ with a manifest; with the "
    "brand's require_approval, final-tier ones wait as pending until a reviewer approves them (approvals).",
)
def published_assets(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> dg.MaterializeResult:
    home, detail = pipeline.home_dir(), not is_batch(context)  # thumbnails: one campaign's run only

    def one(campaign: str):
        started = _started()
        store = ObjectStore(home)
        snapshot = read_snapshot(home, campaign)
        result = publish(
            home,
            read_rows(home, "briefs", campaign),
            read_rows(home, "drafts", campaign),
            read_rows(home, "renders", campaign),
            read_rows(home, "checks", campaign),
            store,
            require_approval=snapshot.brand.require_approval,
            inputs={
                "fingerprint": snapshot.fingerprint,
                "files": [{"path": f.path, "sha256": f.sha256} for f in snapshot.input_files],
            },
        )
        manifest, new_versions = result.manifest, result.new_versions
        entries = manifest["deliverables"]
        published = [e for e in entries if e["status"] == "published"]
        pending = [e for e in entries if e["status"] == "pending"]
        return (
            content_hash([(e["asset"], e["variant"], e["size"], e["sha256"]) for e in entries]),
            {
                "published": len(published),
                "new_versions": new_versions,
                "unchanged": len(published) - new_versions,  # same pixels as the latest version: no new file
                "repaired": dg.MetadataValue.json(result.repaired),
                "pending": len(pending),
                "rejected": len(entries) - len(published) - len(pending),
                "manifest": dg.MetadataValue.path(str(home.inside("published", campaign, "manifest.json"))),
                "deliverables": table(entries, ["asset", "variant", "size", "status", "version", "path", "reasons"]),
                "seconds": round(time.perf_counter() - started, 3),
                **(
                    {
                        "thumbnails": thumbnails_of_files(
                            [
                                (
                                    f"{e['asset']} v{e['variant']} {e['size']} v{e['version']}",
                                    home.inside(*e["path"].split("/")),
                                )
                                for e in published
                            ]
                        )
                    }
                    if detail
                    else {}
                ),
            },
        )

    if is_batch(context):  # a range run's asset checks do not block; each campaign is gated here
        ocr = ocr_available()
        for campaign in campaign_keys(context):
            stopped = blocking(read_rows(home, "checks", campaign), ocr)
            if stopped and campaign not in failures(home, context.run.run_id):
                block(context, home, campaign, stopped)
    try:
        results = each_campaign(context, home, "published_assets", one)
        outcome = materialize(context, home, results)
        if is_batch(context):
            close_range(context, home, results)
        return outcome
    finally:
        # Once per step, the run's last: the catalog's one short write, compacting tables when
        # enough campaigns changed since their compacted copy (storage/compaction.py).
        refresh_catalog(home, compact_after=COMPACT_AFTER)
