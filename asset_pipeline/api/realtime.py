"""Real-time renders (`POST /v1/renders`): one asset, now, through the batch path's stage functions.

A request is a one-asset brief: the asset is validated by the same model as an asset in a brief
file (specs.AssetSpec), and the brand by the same loader; its problems are worded as `validate`
words them. Then the request runs the very functions the Dagster assets call, in their order:

    campaign_inputs ─► expand_deliverables ─► preflight ─► generate_drafts (same cache key) ─► typeset
      ─► upscale ─► run_checks ─► provenance + encode_deliverable (budgets, C2PA) per deliverable

The drafts go to the registry's `realtime` route (default: the draft route) and the loaded
pipelines stay loaded between requests (models/generation.py keeps the most recently used). A
deliverable whose checks failed, or whose file does not meet its budget, comes back `rejected`
with the reasons and no file: an unverified image never leaves the server.

Every render is recorded: the request body under `api/requests/`, its files under
`api/renders/<campaign>/<request id>/`, catalog rows (briefs, drafts, layouts, renders, checks,
publications, files) with `origin = 'api'` and the request id, appended to the tables of the
request's `campaign` (default `realtime`), and a runless materialization of the declared asset
`realtime_renders` in the home's Dagster instance, so the UI's lineage covers the real-time path.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from asset_pipeline.gate import ModelGate
from asset_pipeline.home import Home
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import TIERS, load_registry
from asset_pipeline.models.upscaler import find_upscaler
from asset_pipeline.publishing.encoding import EXTENSIONS
from asset_pipeline.specs import AssetSpec, Brief, InputError, Problem, _problems, is_identifier, load_brand
from asset_pipeline.stages.briefs import campaign_inputs, expand_deliverables, files_but_briefs_hash, input_files
from asset_pipeline.stages.briefs import keep_references as check_references
from asset_pipeline.stages.drafts import generate_drafts
from asset_pipeline.stages.preflight import asset_products, brand_logos, preflight, product_placements
from asset_pipeline.stages.publish import encode_deliverable, provenance, signer_for, wanted_files
from asset_pipeline.stages.quality import failures_by_deliverable, run_checks
from asset_pipeline.stages.typeset import typeset
from asset_pipeline.stages.upscale import upscale
from asset_pipeline.storage.cache import ObjectResultCache, ResultCache
from asset_pipeline.storage.files import atomic_write_bytes, file_lock
from asset_pipeline.storage.objects import ObjectStore, sha256_bytes
from asset_pipeline.storage.pixels import PixelHashes
from asset_pipeline.storage.records import deliverable_key, draft_size_key
from asset_pipeline.storage.tables import append_rows

DEFAULT_CAMPAIGN = "realtime"
DEFAULT_ASSET_ID = "render"
LABEL = "request"  # the `file` of a request's problems
BODY_FIELDS = {"brand", "asset", "campaign"}
REALTIME_ASSET = "realtime_renders"  # the declared Dagster asset real-time renders materialize


@dataclass(frozen=True)
class RenderPlan:
    """A validated request: what to render, and the inputs as a run's snapshot would hold them."""

    request_id: str
    campaign: str
    inputs: Any  # stages.briefs.CampaignInputs, with its registry routed for real time
    deliverables: list[dict]
    body: Any  # the request, kept with the render as a brief file is kept with a run


def request_problems(home: Home, body: object) -> tuple[Brief | None, list[Problem]]:
    """(the one-asset brief, []) or (None, every problem), worded as `validate` words them."""
    if not isinstance(body, dict):
        return None, [Problem(LABEL, "", "the body must be a JSON object")]
    problems = [Problem(LABEL, key, "unknown key (typo?)") for key in sorted(set(body) - BODY_FIELDS, key=str)]
    for key in ("brand", "asset"):
        if key not in body:
            problems.append(Problem(LABEL, key, "required field is missing"))
    campaign = body.get("campaign", DEFAULT_CAMPAIGN)
    if not is_identifier(campaign):
        problems.append(Problem(LABEL, "campaign", "not an id (lowercase ASCII letters, digits, _ and -, 1-64)"))
    elif home.brief_path(campaign).exists():
        problems.append(
            Problem(
                LABEL, "campaign", f"{campaign!r} is a batch campaign (briefs/{campaign}.yaml); choose another name"
            )
        )
    brand = body.get("brand")
    if "brand" in body and not is_identifier(brand):
        problems.append(Problem(LABEL, "brand", "not an id (lowercase ASCII letters, digits, _ and -, 1-64)"))
    elif "brand" in body and not home.brand_path(brand).exists():
        problems.append(Problem(LABEL, "brand", f"brand {brand!r} has no file brands/{brand}.yaml"))
    asset = body.get("asset")
    spec = None
    if "asset" in body:
        if not isinstance(asset, dict):
            problems.append(Problem(LABEL, "asset", "must be an object: an asset as in a brief"))
        else:
            data = {"id": DEFAULT_ASSET_ID, **asset}
            try:
                spec = AssetSpec.model_validate(data)
            except ValidationError as exc:
                problems += [dataclasses.replace(p, field=f"asset.{p.field}") for p in _problems(exc, LABEL, data)]
    if problems:
        return None, problems
    return Brief(campaign=campaign, brand=brand, assets=[spec]), []


def plan_render(home: Home, body: object, request_id: str) -> RenderPlan:
    """The request validated and its inputs hashed, the request body kept; InputError listing every problem."""
    brief, problems = request_problems(home, body)
    if brief is None:
        raise InputError(problems)
    brand_file = home.brand_path(brief.brand)
    brand = load_brand(brand_file, f"brands/{brief.brand}.yaml")
    registry = load_registry(home.root).for_realtime()
    asset = brief.assets[0]
    if asset.model is not None:
        if asset.model not in registry.models:
            known = ", ".join(sorted(registry.models))
            raise InputError([Problem(LABEL, "asset.model", f"unknown model {asset.model!r}; known: {known}")])
        if not set(registry.models[asset.model].tiers) & set(TIERS):
            raise InputError(
                [Problem(LABEL, "asset.model", f"model {asset.model!r} is an upscaler, not a draft model")]
            )
    request_file = home.root / "api" / "requests" / f"{request_id}.json"
    inputs = campaign_inputs(home, brief, request_file, brand, brand_file, registry, strict=True)
    asset_products(home, brief, LABEL)  # a product shot that cannot be used is the request's problem
    check_references(home, inputs)  # reference images kept in the object store, as a run's snapshot keeps them
    return RenderPlan(request_id, brief.campaign, inputs, expand_deliverables(inputs, home), body)


class Renderer:
    """Renders requests with the stage functions; one per server, so its generator's pipelines stay warm."""

    def __init__(self, home: Home, instance=None):
        self.home, self.store = home, ObjectStore(home)
        self.generator = DraftGenerator()
        self.instance = instance  # the home's Dagster instance, for the runless events (None: not reported)
        self.files: dict[str, str] = {}  # sha256 -> home-relative path of the files this server rendered
        self._event_lock = threading.Lock()

    def gate(self, registry) -> ModelGate:
        """The drafts stage's qualification gate (gate.py): a stale model is evaluated before it
        draws, and the evaluation reported to the instance as the batch path reports it."""
        from asset_pipeline.orchestration.evaluations import report_evaluation

        reported = (lambda row: report_evaluation(self.instance, row)) if self.instance is not None else None
        return ModelGate(self.home, registry, generator=self.generator, on_evaluated=reported)

    def warm_up(self) -> None:
        """Qualify and load the real-time route's first model that may draw, so the first request finds it
        loaded (and a stale model is evaluated now, not while a client waits)."""
        try:
            registry = load_registry(self.home.root).for_realtime()
            gate = self.gate(registry)
            usable = (
                s for s in registry.candidates("draft") if registry.weights_present(s) and gate.verdict(s).qualified
            )
            DraftGenerator(registry).load(next(usable))
        except Exception:  # nothing to warm, or it fails: the first request loads (and reports) it
            return

    def render(self, plan: RenderPlan) -> dict:
        """The answer body (status done), every deliverable published or rejected, and all of it recorded."""
        home, store = self.home, self.store
        started = time.perf_counter()
        timings, lap = _stopwatch()
        atomic_write_bytes(plan.inputs.brief_file, json.dumps(plan.body, indent=2, ensure_ascii=False).encode())
        inputs = dataclasses.replace(plan.inputs, input_files=input_files(home, plan.inputs))
        brand, brand_dir = inputs.brand, inputs.brand_file.parent
        label = home.relative(inputs.brief_file)
        logos = brand_logos(home, brand, home.relative(inputs.brand_file), dict(inputs.media))
        products = asset_products(home, inputs.brief, label, dict(inputs.products))
        rows = plan.deliverables
        unlaid = preflight(rows, brand, brand_dir, logos, products)
        placements = product_placements(rows, brand, brand_dir, logos, products)
        gate = self.gate(inputs.registry)
        lap("prepare")
        drafts = generate_drafts(
            rows,
            inputs.registry,
            self.generator,
            home,
            unlaid=unlaid,
            approvals=(),
            placements=placements,
            gate=gate,
            rates=gate.rates,
        )
        lap("drafts")
        layouts, _ = typeset(
            rows,
            drafts,
            brand,
            brand_dir,
            store,
            logos,
            inputs.brand_typography_hash,
            products,
            ObjectResultCache(home, "layouts", store, "preview_sha256"),
            files_but_briefs_hash(home, inputs),
        )
        lap("typeset")
        pixels = PixelHashes(home, store)
        renders, _ = upscale(
            layouts,
            drafts,
            inputs.brand_hash,
            store,
            ObjectResultCache(home, "renders", store),
            find_upscaler(inputs.registry),
            pixels,
        )
        lap("upscale")
        served = {(d["asset"], d["variant"], size): d for d in drafts for size in d["sizes"]}
        by_image = {d["image_sha256"]: d for d in drafts if d["image_sha256"]}
        render_of = {deliverable_key(r): r for r in renders}
        sign = signer_for(home, plan.campaign)

        def draft_of(row: dict) -> dict:
            render = render_of[deliverable_key(row)]
            return by_image.get(render.get("draft_sha256")) or served[draft_size_key(row)]

        def encode(row: dict):
            key, render = deliverable_key(row), render_of[deliverable_key(row)]
            title = "/".join(str(part) for part in key if part is not None)
            text = dict(provenance(row, draft_of(row), render), request_id=plan.request_id)
            return encode_deliverable(
                store.open(render["image_sha256"]), title, text, wanted_files(row), row.get("min_quality") or 60, sign
            )

        # The files are encoded (and signed) while the checks run, on the other core: OCR is mostly
        # tesseract's own process. Nothing of a deliverable that fails its checks is kept or returned.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="api-encode") as pool:
            encoding = {
                deliverable_key(r): pool.submit(encode, r)
                for r in rows
                if render_of[deliverable_key(r)]["image_sha256"]
            }
            checks, _ = run_checks(
                renders,
                brand,
                store,
                ResultCache(home, "checks"),
                drafts=drafts,
                keep_out={(r["asset"], r["variant"], r["size"]): r["keep_out"] for r in rows},
            )
            reasons = failures_by_deliverable(checks)
            lap("checks")
            for key, future in encoding.items():
                if reasons.get(key, ["no checks"]):
                    future.cancel()
            encoded = {key: future.result() for key, future in encoding.items() if not reasons.get(key, ["no checks"])}
            lap("encode")  # what encoding took past the checks it ran beside
        folder = f"api/renders/{plan.campaign}/{plan.request_id}"
        now = datetime.now(UTC)
        deliverables, publications, files_rows = [], [], []
        for row in rows:
            key = deliverable_key(row)
            render, draft = render_of[key], draft_of(row)
            why = list(reasons.get(key, ["checks: no check results for this render"]))
            judged = [
                {k: c[k] for k in ("check", "passed", "value", "detail")} for c in checks if deliverable_key(c) == key
            ]
            text = provenance(row, draft, render) if not why else {}
            made = []
            if not why:
                made, why = encoded[key]  # a file over its budget, or one that does not decode to the render
            name = f"{row['asset']}-v{row['variant']}-{row['size']}" + (
                f"-{row['locale']}" if row.get("locale") else ""
            )
            entry_files, written = [], []
            # the deliverable's key columns, the same on its files rows and its history row
            identity = dict(
                campaign=plan.campaign,
                asset=row["asset"],
                variant=row["variant"],
                size=row["size"],
                locale=row.get("locale"),
            )
            pixels_sha = pixels.of_render(render["image_sha256"]) if made and not why else None
            for encoded in made if not why else []:
                sha, path = sha256_bytes(encoded.data), f"{folder}/{name}.{EXTENSIONS[encoded.format]}"
                store.put_bytes(encoded.data)  # served by GET /v1/files/{sha256}
                atomic_write_bytes(home.inside(path), encoded.data)
                self.files[sha] = path
                entry_files.append(
                    {"format": encoded.format, "url": f"/v1/files/{sha}", "sha256": sha, "bytes": len(encoded.data)}
                )
                written.append(
                    dict(
                        **identity,
                        version=1,
                        format=encoded.format,
                        path=path,
                        sha256=sha,
                        bytes=len(encoded.data),
                        quality=encoded.quality,
                        max_kb=encoded.max_kb,
                        psnr_db=encoded.psnr_db,
                        pixels_sha256=pixels_sha,
                        published_at=now,
                    )
                )
            files_rows += written
            # the history row names the PNG when PNG is among the formats, else the first (as publish does)
            primary = next((f for f in written if f["format"] == "png"), written[0] if written else None)
            status = "rejected" if why else "published"
            publications.append(
                dict(
                    **identity,
                    status=status,
                    path=primary["path"] if primary else None,
                    sha256=primary["sha256"] if primary else None,
                    version=1 if primary else 0,
                    published_at=now,
                    model=draft["model"],
                    seed=draft["seed"],
                    brief_hash=row["brief_hash"],
                    brand_hash=row["brand_hash"],
                    render_sha256=render["image_sha256"],
                    pixels_sha256=pixels_sha,
                    change="rejected" if why else "pixels",
                    reasons=why,
                    checks=judged,
                )
            )
            deliverables.append(
                {
                    "asset": row["asset"],
                    "variant": row["variant"],
                    "size": row["size"],
                    **({"locale": row["locale"]} if row.get("locale") else {}),
                    "status": status,
                    "reasons": why,
                    "checks": judged,
                    "files": entry_files,
                    "model": draft["model"],
                    "seed": draft["seed"],
                    "key_visual": {"sha256": render.get("key_visual_sha256"), "cache_hit": bool(draft["cache_hit"])},
                    "provenance": text if not why else {},
                }
            )
        lap("files")
        self._record(plan, rows, drafts, layouts, renders, checks, publications, files_rows)
        lap("record")
        answer = {
            "id": plan.request_id,
            "status": "done",
            "campaign": plan.campaign,
            "brand": inputs.brand.brand,
            "deliverables": deliverables,
            "drafts_generated": sum(not d["cache_hit"] for d in drafts if d["image_sha256"]),
            "seconds": round(time.perf_counter() - started, 3),
            "timings": timings,
        }
        self._report(plan, answer)
        lap("report")
        return answer

    def _record(self, plan: RenderPlan, *tables: list[dict]) -> None:
        """Append the request's rows to its campaign's tables, marked as the API's."""
        names = ("briefs", "drafts", "layouts", "renders", "checks", "publications", "files")
        mark = {"origin": "api", "request_id": plan.request_id}
        with file_lock(self.home.locks / f"api-{plan.campaign}.lock"):
            for name, rows in zip(names, tables):
                append_rows(self.home, name, plan.campaign, [dict(r, campaign=plan.campaign, **mark) for r in rows])

    def _report(self, plan: RenderPlan, answer: dict) -> None:
        """A runless materialization of `realtime_renders`: the UI shows every real-time render."""
        if self.instance is None:
            return
        import dagster as dg

        from asset_pipeline.orchestration.metadata import table

        entries = [
            {
                "size": d["size"],
                "status": d["status"],
                "sha256": ", ".join(f["sha256"] for f in d["files"]),
                "reasons": "; ".join(d["reasons"]),
            }
            for d in answer["deliverables"]
        ]
        with self._event_lock:
            self.instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset_key=REALTIME_ASSET,
                    description=f"real-time render {plan.request_id}",
                    metadata={
                        "request_id": plan.request_id,
                        "campaign": plan.campaign,
                        "brand": answer["brand"],
                        "brief_hash": plan.inputs.brief_hash,
                        "brand_hash": plan.inputs.brand_hash,
                        "drafts_generated": answer["drafts_generated"],
                        "deliverables": table(entries, ["size", "status", "sha256", "reasons"]),
                        "seconds": answer["seconds"],
                    },
                    tags={"asset_pipeline/origin": "api", "asset_pipeline/request_id": plan.request_id},
                )
            )


def _stopwatch():
    """(timings, lap): lap(stage) records the seconds since the last lap under `stage`, so a
    client (and the Server-Timing header) sees where a render's time went."""
    timings: dict[str, float] = {}
    last = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        timings[stage] = round(now - last[0], 3)
        last[0] = now

    return timings, lap
