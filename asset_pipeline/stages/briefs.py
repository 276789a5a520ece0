"""Brief ingestion: load and validate a campaign's brief and brand, expand deliverables.

`take_snapshot` is the one place a run reads its input files (brief, brand, models.yaml,
fonts): it validates them, resolves the model routes and hashes every file. The snapshot
is stored as the `snapshots` row of the campaign, and every later stage rebuilds its
inputs from that row (`read_snapshot`), so an edit that lands mid-run cannot mix two
versions of a brand in one publication.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from asset_pipeline import presets
from asset_pipeline.feeds import feed_path, load_brief
from asset_pipeline.home import Home
from asset_pipeline.models.registry import ModelSpec, Registry, load_registry
from asset_pipeline.models.routing import RouteRule
from asset_pipeline.specs import AssetSpec, Brand, Brief, InputError, Problem, content_hash, load_brand, resolve_size
from asset_pipeline.storage.files import sha256_file
from asset_pipeline.storage.records import InputFile, SnapshotRow
from asset_pipeline.storage.tables import has_rows, read_rows, table_path


@dataclass(frozen=True)
class CampaignInputs:
    brief: Brief
    brand: Brand
    brief_file: Path
    brand_file: Path
    brief_hash: str
    brand_hash: str
    # The brand palette when the embedded model would draw one of this campaign's drafts (it is
    # steered by it), else empty: only then does a colour edit change prompts.
    steering_palette: tuple[str, ...] = ()
    # The model registry the run resolved, and every input file it read with its sha256.
    registry: Registry | None = field(default=None, compare=False)
    input_files: tuple[InputFile, ...] = ()
    fingerprint: str | None = None  # inputs_fingerprint, once the snapshot is stored
    # "media/<path>" -> sha256 of each media file the brand names (the logo): typesetting reads them
    media: tuple[tuple[str, str], ...] = ()
    # "media/<path>" -> sha256 of each product shot the brief's assets name: composited, never drawn,
    # so they are no part of any draft's key
    products: tuple[tuple[str, str], ...] = ()
    # The same for each reference image: they steer the key visual, so they are in its cache key
    references: tuple[tuple[str, str], ...] = ()
    # The reviewers' decisions (approvals rows) when the snapshot was taken: rejections re-roll drafts.
    approvals: tuple[dict, ...] = field(default=(), compare=False)

    @property
    def campaign(self) -> str:
        return self.brief.campaign

    @property
    def brand_generation_hash(self) -> str:
        """Hash of the brand fields that change this campaign's prompts (and so drafts)."""
        part = self.brand.generation_part()
        return content_hash({**part, "palette": list(self.steering_palette)} if self.steering_palette else part)

    @property
    def brand_typography_hash(self) -> str:
        """Hash of the brand fields that change only typesetting and later stages, and of the
        media files they name (a new logo re-runs typesetting onwards, never a draft)."""
        part = self.brand.typography_part()
        return content_hash({**part, "media": dict(self.media)} if self.media else part)


def load_campaign(
    home: Home, campaign: str, registry: Registry | None = None, brief_file: Path | None = None
) -> CampaignInputs:
    """Load and cross-check a campaign's brief and brand; raises InputError.

    `registry` decides whether a palette-steered model draws (loaded from the home if not given).
    `brief_file`: read the brief from there instead of briefs/<campaign>.yaml (the HTTP API checks
    a brief before it writes it); problems still name briefs/<campaign>.yaml.
    """
    try:
        brief_file = brief_file or home.brief_path(campaign)
    except ValueError as exc:
        raise InputError([Problem(f"briefs/{campaign}.yaml", "campaign", str(exc))]) from None
    label = f"briefs/{campaign}.yaml"
    if not brief_file.exists():
        raise InputError([Problem(label, "", "no such brief")])
    brief = load_brief(brief_file, label)
    brand_file = home.brand_path(brief.brand)
    if not brand_file.exists():
        raise InputError([Problem(label, "brand", f"brand {brief.brand!r} has no file brands/{brief.brand}.yaml")])
    brand = load_brand(brand_file, f"brands/{brief.brand}.yaml")
    return campaign_inputs(home, brief, brief_file, brand, brand_file, registry)


def campaign_inputs(
    home: Home,
    brief: Brief,
    brief_file: Path,
    brand: Brand,
    brand_file: Path,
    registry: Registry | None = None,
    strict: bool = False,
) -> CampaignInputs:
    """The inputs of a validated brief and brand: media hashes, content hashes, steering palette.

    Shared by a brief file's campaign and the HTTP API's real-time render (a one-asset brief made
    from a request). `strict`: a product shot or reference image that is missing, outside media/ or
    unreadable raises InputError (else it is left for pre-flight to report)."""
    label = home.relative(brief_file) if home.root in brief_file.resolve().parents else str(brief_file)
    return CampaignInputs(
        media=_media_hashes(home, brand, f"brands/{brand.brand}.yaml"),
        products=_product_hashes(home, brief, label, strict=strict),
        references=_product_hashes(home, brief, label, strict=strict, field="reference"),
        brief=brief,
        brand=brand,
        brief_file=brief_file,
        brand_file=brand_file,
        brief_hash=content_hash(brief.hash_part()),
        # a budget limits runs, it changes no output: left out, so adding one re-runs nothing
        brand_hash=content_hash(brand.model_dump(mode="json", exclude={"budget"})),
        steering_palette=tuple(brand.steering_palette()) if _steered_model_draws(home, brief, registry) else (),
        registry=registry,
    )


def brand_media(home: Home, brand: Brand, label: str) -> list[tuple[str, str, Path]]:
    """(field, path relative to media/, resolved file) of every media file the brand names;
    InputError with one problem per file that is missing or resolves outside media/."""
    found, problems = [], []
    for field_name, relative in brand.media_files().items():
        path = _media_file(home, relative, label, field_name, f"no such file media/{relative}", problems)
        if path is not None:
            found.append((field_name, relative, path))
    if problems:
        raise InputError(problems)
    return found


def product_files(
    home: Home, brief: Brief, label: str, field: str = "product"
) -> tuple[list[tuple[str, str, str, Path]], list[Problem]]:
    """((asset id, field, path relative to media/, resolved file) of every asset's product shot (or
    other media `field`, such as "reference") that exists inside media/, one problem per one that
    is missing, not a file, or resolves outside media/)."""
    found, problems = [], []
    for asset in brief.assets:
        relative = getattr(asset, field)
        if relative is None:
            continue
        field_name = f"assets(id={asset.id}).{field}"
        path = _media_file(home, relative, label, field_name, f"media/{relative}: no such file", problems)
        if path is not None:
            found.append((asset.id, field_name, relative, path))
    return found, problems


def _media_file(
    home: Home, relative: str, label: str, field_name: str, missing: str, problems: list[Problem]
) -> Path | None:
    """The file `relative` names under media/; None, with a problem appended (`missing` when
    there is no such file), when it is absent or resolves outside media/."""
    try:
        path = home.media_path(relative)
    except ValueError as exc:
        problems.append(Problem(label, field_name, str(exc)))
        return None
    if not path.is_file():
        problems.append(Problem(label, field_name, missing))
        return None
    return path


def _product_hashes(
    home: Home, brief: Brief, label: str, strict: bool, field: str = "product"
) -> tuple[tuple[str, str], ...]:
    """("media/<path>", sha256) of every product shot (or other media `field`) the brief names.
    `strict`: InputError naming each file that is missing, outside media/ or unreadable (else those
    are left out, for `preflight.asset_products` to report with everything else wrong with the files)."""
    found, problems = product_files(home, brief, label, field)
    hashes = set()
    for _, field_name, relative, path in found:
        try:
            hashes.add((f"media/{relative}", sha256_file(path)))
        except OSError as exc:
            problems.append(Problem(label, field_name, f"media/{relative} cannot be read: {exc.strerror or exc}"))
    if problems and strict:
        raise InputError(problems)
    return tuple(sorted(hashes))


def _media_hashes(home: Home, brand: Brand, label: str) -> tuple[tuple[str, str], ...]:
    """("media/<path>", sha256) of every media file the brand names."""
    return tuple(
        sorted((f"media/{relative}", sha256_file(path)) for _, relative, path in brand_media(home, brand, label))
    )


def _steered_model_draws(home: Home, brief: Brief, registry: Registry | None = None) -> bool:
    """Whether a brand-steered model (`embedded`) is the first model with local weights on some asset's route."""
    from asset_pipeline.models.registry import UnknownModelError

    if registry is None:
        try:
            registry = load_registry(home.root)
        except InputError:
            return False  # a broken models.yaml is reported by the drafts stage, which needs it
    for asset in brief.assets:
        try:
            present = [s for s in registry.candidates(asset.tier, asset.model) if registry.weights_present(s)]
        except (UnknownModelError, ValueError):
            continue  # reported by validation
        if present and present[0].brand_steering:
            return True
    return False


def default_seed(campaign: str, asset: str) -> int:
    """A stable seed per (campaign, asset) when the brief names none."""
    return int.from_bytes(hashlib.sha256(f"{campaign}/{asset}".encode()).digest()[:4], "big")


def join_prompt(*parts: str | None) -> str:
    return ", ".join(p.strip() for p in parts if p and p.strip())


def file_formats(asset: AssetSpec, brand: Brand, preset: presets.Preset | None) -> list[dict]:
    """The files a deliverable is delivered as, each with its byte budget.

    Formats: the asset's, else the size preset's, else the brand's, else [png] (a preset's
    channel never gets a format it does not take: the brand's stop at the preset's default, and
    an asset's were refused at validation). Budget per format: the asset's (one number for all,
    or that format's entry), capped by the preset channel's byte limit, which the stricter wins."""
    formats = asset.formats or (list(preset.formats) if preset and preset.formats else None) or brand.formats
    budgets = []
    for fmt in formats or ["png"]:
        asked = asset.max_kb.get(fmt) if isinstance(asset.max_kb, dict) else asset.max_kb
        max_kb = presets.byte_limit(preset, asked)
        budgets.append({"format": fmt, "max_kb": None if max_kb is None else float(max_kb)})
    return budgets


def locale_copies(brief: Brief, asset: AssetSpec, brand: Brand) -> list[tuple[str | None, dict]]:
    """(locale, texts) of each locale the asset is delivered in: one implicit locale (None) with
    the asset's own copy when the brief has no locales for it, else one per tag."""
    locales = brief.locales_for(asset)
    if not locales:
        return [
            (None, {"headline": asset.headline, "body": asset.body, "cta": asset.cta, "disclaimer": brand.disclaimer})
        ]
    return [
        (tag, {"headline": c.headline, "body": c.body, "cta": c.cta, "disclaimer": c.disclaimer or brand.disclaimer})
        for tag, c in sorted(locales.items())
    ]


def expand_deliverables(inputs: CampaignInputs, home: Home) -> list[dict]:
    """One row per deliverable: (asset, variant, size, locale), with everything later stages need."""
    brief, brand = inputs.brief, inputs.brand
    products, references = dict(inputs.products), dict(inputs.references)
    rows = []
    for asset in brief.assets:
        base_seed = asset.seed if asset.seed is not None else default_seed(brief.campaign, asset.id)
        for variant in range(1, asset.variants + 1):
            for named in asset.sizes:
                width, height, preset_name = resolve_size(named)
                preset = presets.find(preset_name) if preset_name else None
                for locale, copy in locale_copies(brief, asset, brand):
                    rows.append(
                        {
                            "campaign": brief.campaign,
                            "asset": asset.id,
                            "variant": variant,
                            "size": f"{width}x{height}",  # a preset's resolved WxH; its name is `preset`
                            "locale": locale,
                            **copy,
                            "width": width,
                            "height": height,
                            "prompt": join_prompt(asset.prompt, brand.style),
                            "negative_prompt": join_prompt(asset.negative_prompt, brand.negative) or None,
                            "tier": asset.tier,
                            "model": asset.model,
                            # variants take consecutive seeds, wrapping inside the 32-bit range
                            "seed": (base_seed + variant - 1) % 2**32,
                            "brief_hash": inputs.brief_hash,
                            "brand": brand.brand,
                            "palette": list(inputs.steering_palette),
                            "brand_hash": inputs.brand_hash,
                            "brief_file": home.relative(inputs.brief_file),
                            "preset": preset_name,
                            "formats": file_formats(asset, brand, preset),
                            "min_quality": brand.min_quality,
                            "keep_out": [zone.__dict__ for zone in preset.keep_out] if preset else [],
                            "max_text_cover": preset.max_text_cover if preset else None,
                            "product": asset.product,
                            "product_sha256": products.get(f"media/{asset.product}") if asset.product else None,
                            "product_integration": asset.product_integration,
                            "reference": asset.reference,
                            "reference_sha256": references.get(f"media/{asset.reference}") if asset.reference else None,
                            "reference_strength": asset.reference_strength,
                        }
                    )
    return rows


# ------------------------------------------------------------------ the run's input snapshot


def _registry_json(registry: Registry) -> str:
    # Cost, qualification and gating only when given (they decide which model draws, not its pixels):
    # a registry that sets none hashes as it did before they existed.
    models = [spec.model_dump(mode="json", exclude=_defaults(spec)) for spec in registry.models.values()]
    data = {"models": models, "routes": registry.routes}
    if registry.rules:
        data["rules"] = {tier: rule.model_dump(mode="json", exclude_none=True) for tier, rule in registry.rules.items()}
    return json.dumps(data, sort_keys=True)


def _defaults(spec: ModelSpec) -> set[str]:
    return {name for name in ("cost", "qualification") if getattr(spec, name) is None} | (
        {"gated"} if spec.gated else set()
    )


def _registry_from_json(home: Home, text: str) -> Registry:
    data = json.loads(text)
    models = {}
    for item in data["models"]:
        spec = ModelSpec.model_validate(item)
        spec._home = home.root  # relative weights paths resolve against this home
        models[spec.id] = spec
    rules = {tier: RouteRule.model_validate(rule) for tier, rule in (data.get("rules") or {}).items()}
    return Registry(home=home.root, models=models, routes=data["routes"], rules=rules)


def input_files(home: Home, inputs: CampaignInputs) -> tuple[InputFile, ...]:
    """Every file the run reads: brief, its CSV feed, brand, models.yaml, the brand's font files and media (its logo)."""
    from asset_pipeline.typography.fonts import FontError, resolve_font

    paths = [inputs.brief_file, inputs.brand_file]
    if (feed := feed_path(inputs.brief_file, inputs.brief)) is not None:
        paths.append(feed)
    if home.models_file.exists():
        paths.append(home.models_file)
    for name in (inputs.brand.fonts.headline, inputs.brand.fonts.body):
        try:
            paths.append(resolve_font(name, inputs.brand_file.parent))
        except FontError:
            continue  # reported by typesetting, per deliverable
    paths += [
        home.media_path(label.removeprefix("media/")) for label, _ in inputs.media + inputs.products + inputs.references
    ]
    # The reviewers' decisions are an input too: a rejection re-rolls a draft (the nightly sees it).
    # (Only once it holds one: publication leaves an empty file, which changes nothing.)
    if has_rows(home, "approvals", inputs.campaign):
        paths.append(table_path(home, "approvals", inputs.campaign))
    files = {}
    for path in paths:
        files[_label(home, path)] = sha256_file(path.resolve())
    return tuple(InputFile(path=p, sha256=h) for p, h in sorted(files.items()))


def _label(home: Home, path: Path) -> str:
    path = path.resolve()
    return home.relative(path) if home.root in path.parents else str(path)


def files_but_briefs_hash(home: Home, inputs: CampaignInputs) -> str:
    """Hash of the input files other than the brief and its feed (the brand, fonts, media, models):
    what a deliverable's row does not already carry."""
    briefs = {_label(home, inputs.brief_file)}
    if (feed := feed_path(inputs.brief_file, inputs.brief)) is not None:
        briefs.add(_label(home, feed))
    return content_hash([[f.path, f.sha256] for f in inputs.input_files if f.path not in briefs])


@functools.cache
def code_hash() -> str:
    """sha256 over the package's source files: a code change is an input change for the nightly."""
    package = Path(__file__).resolve().parent.parent
    return content_hash([[p.relative_to(package).as_posix(), sha256_file(p)] for p in sorted(package.rglob("*.py"))])


def models_part(registry: Registry) -> str:
    """What the registry contributes to every campaign's inputs: its models and routes, and the
    weights hash of every routed model whose weights are local (a retrained model is a change)."""
    routed = {model_id for ids in registry.routes.values() for model_id in ids}
    weights = {}
    for model_id in sorted(routed):
        spec = registry.models[model_id]
        # The built-in tiny model counts as present before its first use builds it (weights_hash
        # builds it now): else the run that builds it records "no weights" and the next one sees a change.
        weights[model_id] = registry.weights_hash(spec) if registry.weights_present(spec) else None
    return content_hash({"registry": _registry_json(registry), "weights": weights})


def inputs_fingerprint(files: tuple[InputFile, ...] | list[InputFile], models: str) -> str:
    """One hash of everything a campaign's run reads: its input files, the models part, the code."""
    return content_hash({"files": sorted([f.path, f.sha256] for f in files), "models": models, "code": code_hash()})


def keep_references(home: Home, inputs: CampaignInputs, keep: bool = True) -> None:
    """Check every reference image and keep its bytes in the object store by sha256, so the drafts
    stage steers with exactly the file the snapshot hashed (and never reads media/ itself);
    InputError naming each file that is not a usable image. `keep=False` only checks (validate)."""
    from asset_pipeline.media import MediaError, open_image
    from asset_pipeline.storage.objects import ObjectStore

    label = home.relative(inputs.brief_file)
    recorded, store = dict(inputs.references), ObjectStore(home)
    found, problems = product_files(home, inputs.brief, label, "reference")
    for _, field_name, relative, path in found:
        try:
            data = path.read_bytes()
            open_image(data)
        except OSError as exc:
            problems.append(Problem(label, field_name, f"media/{relative} cannot be read: {exc.strerror or exc}"))
            continue
        except MediaError as exc:
            problems.append(Problem(label, field_name, f"media/{relative} {exc}"))
            continue
        if keep and store.put_bytes(data) != recorded.get(f"media/{relative}"):
            problems.append(
                Problem(label, field_name, f"media/{relative} changed while the snapshot read it; run again")
            )
    if problems:
        raise InputError(problems)


def take_snapshot(home: Home, campaign: str) -> CampaignInputs:
    """Read, validate and hash every input of a campaign, once; raises InputError."""
    try:
        registry, registry_problem = load_registry(home.root), None
    except InputError as exc:
        registry, registry_problem = None, exc
    inputs = load_campaign(home, campaign, registry)  # the brief's and brand's problems are reported first
    if registry_problem is not None:
        raise registry_problem
    for media_field in ("product", "reference"):  # a missing one stops the run
        _product_hashes(home, inputs.brief, home.relative(inputs.brief_file), strict=True, field=media_field)
    keep_references(home, inputs)
    approvals = tuple(read_rows(home, "approvals", campaign))
    # Only publication reads the version history, but a damaged one (DamagedTableError) is better
    # found here, before any draft is made for a campaign that could not be published.
    read_rows(home, "publications", campaign)
    return dataclasses.replace(inputs, input_files=input_files(home, inputs), approvals=approvals)


def snapshot_row(home: Home, inputs: CampaignInputs) -> SnapshotRow:
    assert inputs.registry is not None, "a snapshot needs the resolved registry (take_snapshot)"
    return SnapshotRow(
        campaign=inputs.campaign,
        brief_json=inputs.brief.model_dump_json(),
        brand_json=inputs.brand.model_dump_json(),
        registry_json=_registry_json(inputs.registry),
        brief_file=home.relative(inputs.brief_file),
        brand_file=home.relative(inputs.brand_file),
        input_files=list(inputs.input_files),
        brief_hash=inputs.brief_hash,
        brand_hash=inputs.brand_hash,
        generation_hash=inputs.brand_generation_hash,
        typography_hash=inputs.brand_typography_hash,
        steering_palette=list(inputs.steering_palette),
        fingerprint=inputs_fingerprint(inputs.input_files, models_part(inputs.registry)),
        taken_at=datetime.now(UTC),
        approvals=list(inputs.approvals),
    )


class SnapshotMissing(LookupError):
    """A stage ran for a campaign whose campaign_briefs has not been materialized."""


def read_snapshot(home: Home, campaign: str) -> CampaignInputs:
    """The inputs as the run's campaign_briefs step saw them; never reopens a YAML file."""
    rows = read_rows(home, "snapshots", campaign)
    if not rows:
        raise SnapshotMissing(f"campaign {campaign!r} has no input snapshot: materialize campaign_briefs first")
    row = rows[0]
    brief, brand = Brief.model_validate_json(row["brief_json"]), Brand.model_validate_json(row["brand_json"])
    brand_media_paths = {f"media/{relative}" for relative in brand.media_files().values()}
    product_paths = {f"media/{asset.product}" for asset in brief.assets if asset.product}
    reference_paths = {f"media/{asset.reference}" for asset in brief.assets if asset.reference}
    return CampaignInputs(
        brief=brief,
        brand=brand,
        brief_file=home.inside(row["brief_file"]),
        brand_file=home.inside(row["brand_file"]),
        brief_hash=row["brief_hash"],
        brand_hash=row["brand_hash"],
        steering_palette=tuple(row["steering_palette"]),
        registry=_registry_from_json(home, row["registry_json"]),
        input_files=tuple(InputFile(**f) for f in row["input_files"]),
        fingerprint=row.get("fingerprint"),  # None in snapshots taken before fingerprints
        media=tuple(sorted((f["path"], f["sha256"]) for f in row["input_files"] if f["path"] in brand_media_paths)),
        products=tuple(sorted((f["path"], f["sha256"]) for f in row["input_files"] if f["path"] in product_paths)),
        references=tuple(sorted((f["path"], f["sha256"]) for f in row["input_files"] if f["path"] in reference_paths)),
        approvals=tuple(row.get("approvals") or ()),  # snapshots taken before approvals existed have none
    )
