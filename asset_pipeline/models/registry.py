"""The model registry: which diffusers checkpoints exist, and in which order each tier tries them.

Built in: `embedded` (trained weights shipped in the package, the default draft model),
`tiny` (random, made locally on first use, always works) and entries for common real
checkpoints that show as absent until their weights are in a local folder or the local
Hugging Face cache. `models.yaml` in the home extends it:

```yaml
models:
  - id: my-sdxl
    path: /models/my-sdxl          # local folder (relative: against the home) or a cached hub id
    pipeline_class: StableDiffusionXLPipeline   # default auto
    steps: 4
    guidance: 0.0
    dtype: float16                 # used on CUDA; CPU always runs float32
    resolution: 1024
    multiple: 8
    tiers: [draft]
    palette_grade: 0.0             # 0-1: pull drafts' colours to those the prompt names (models/grading.py)
    brand_steering: false          # true: the brand's palette goes in front of the prompt (as for embedded)
    inpaint_strength: 0.6          # product_integration: inpaint re-noises the ring round the product this far
    cost: {per_image: 0.004, currency: USD}   # or {per_gpu_hour: 2.5}; none: seconds x the home's rate (cost.py)
    qualification: {max_p95_s: 4.0}  # this model's own thresholds over the project's (qualification.py)
    gated: true                    # false: draws without a qualifying evaluation (the built-in tiny)
routes:                            # optional: replaces the built-in route of that tier
  final: [my-sdxl, tiny]
  upscale: [my-x4]                 # upscaler models (tiers: [upscale]); [] means Lanczos only
  realtime: {select: fastest, max_p95_s: 2.0, models: [my-sdxl, embedded]}   # a rule (routing.py); or a list
```

`draft`, `final` and `realtime` (the HTTP API's real-time renders; default: the draft route) are
a list, tried in order, or a rule that picks among qualified models by their latest evaluation.
Every draft model is evaluated before it draws (models/evaluation.py) and a route skips one that
did not qualify, unless its entry says `gated: false`.

The `upscale` route lists diffusers upscalers (e.g. StableDiffusionUpscalePipeline, the SD
x4 upscaler) for the upscale stage: the first whose weights are local enlarges the draft
backgrounds; with none, the stage uses Lanczos. Upscalers are never draft models.

An entry whose id is built in replaces that entry. A new model that no given route
names goes to the front of the built-in routes of its tiers: what a user adds is
what they want used. Nothing here imports torch or diffusers, so listing and
validating stay fast.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Discriminator, Field, PrivateAttr, Tag, ValidationError, model_validator

from asset_pipeline.models.cost import ModelCost
from asset_pipeline.models.embedded import EMBEDDED_ID, EMBEDDED_PATH
from asset_pipeline.models.qualification import Thresholds
from asset_pipeline.models.routing import RouteRule
from asset_pipeline.models.tiny import ensure_tiny_model
from asset_pipeline.models.tiny import weights_hash as folder_hash
from asset_pipeline.specs import Identifier, InputError, Problem, _problems, _Strict, read_yaml

Tier = Literal["draft", "final", "upscale"]
TIERS: tuple[str, ...] = ("draft", "final")  # the draft tiers a brief can ask for
UPSCALE = "upscale"  # the upscaler role: not a draft tier
ROUTES: tuple[str, ...] = (*TIERS, UPSCALE)
# The HTTP API's real-time renders (`serve`): draft models fast enough to answer while a client
# waits. Absent from `routes` unless models.yaml gives it, so a registry without it hashes as before.
REALTIME = "realtime"
TINY_ID = "tiny"
TINY_PATH = "models/tiny"  # under the home; built by ensure_tiny_model on first use
MAX_ASPECT = 4.0
# Matched whole, over ASCII (`re.fullmatch`; no `$`, `\w` or `\d`: see specs.py).
HUB_ID = re.compile("[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+")
PIPELINE_CLASS = re.compile("auto|[A-Z][A-Za-z0-9]*Pipeline")
SCHEDULER_CLASS = re.compile("[A-Z][A-Za-z0-9]*Scheduler")
ENV_NAME = re.compile("[A-Z_][A-Z0-9_]{0,127}")
HTTP_URL = re.compile("https?://[^\\s]{1,500}")


def _matching(pattern: re.Pattern) -> AfterValidator:
    def check(value: str) -> str:
        if pattern.fullmatch(value) is None:
            raise ValueError(f"String should match pattern '{pattern.pattern}'")
        return value

    return AfterValidator(check)


Cost = ModelCost  # a model's own price (models/cost.py): per image or per GPU hour


class ModelSpec(_Strict):
    id: Identifier
    path: str = Field(min_length=1, max_length=1000)
    pipeline_class: Annotated[str, _matching(PIPELINE_CLASS)] = "auto"
    steps: int = Field(ge=1, le=200, strict=True)
    guidance: float = Field(ge=0.0, le=50.0)
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    scheduler: Annotated[str, _matching(SCHEDULER_CLASS)] | None = None
    resolution: int = Field(default=512, ge=64, le=4096, strict=True)
    multiple: int = Field(default=8, ge=1, le=256, strict=True)
    tiers: list[Tier] = Field(default_factory=lambda: ["draft"], min_length=1)
    # 0 to 1: how far each draft's dominant colours are pulled to the colours its prompt names
    # (models/grading.py). 0, the default, leaves the pipeline's pixels as they are.
    palette_grade: float = Field(default=0.0, ge=0.0, le=1.0)
    # Whether the brand's palette goes in front of this model's prompts (models/embedded.py):
    # for models trained on captions that name colours that way, such as `embedded`.
    brand_steering: bool = False
    # How far the scene round an integrated product is re-noised before it is repainted
    # (product_integration: inpaint; SDEdit's t0): 1 paints it from noise, lower keeps more of
    # the key visual's colours. 0.6 is SDEdit's balance of faithfulness and realism (Meng et
    # al., ICLR 2022); a model that knows colours but not objects does better lower.
    inpaint_strength: float = Field(default=0.6, ge=0.05, le=1.0)
    # Hosted models (models/hosted/): `provider` picks the adapter and `path` is the provider's
    # model name. The key is read from the environment variable `api_key_env` names (default
    # per provider), never from a file; `base_url` points at a proxy, Azure OpenAI or a test
    # server. Hosted drafts are not reproducible: the same request may draw another picture.
    provider: Literal["openai", "ideogram", "google"] | None = None
    api_key_env: Annotated[str, _matching(ENV_NAME)] | None = None
    base_url: Annotated[str, _matching(HTTP_URL)] | None = None
    reproducible: bool = True  # the same request draws the same pixels (a hosted model's default: false)
    quality: str | None = Field(
        default=None, max_length=32
    )  # dall-e-3: standard | hd; gpt-image-1: low | medium | high
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)  # further request parameters, as sent
    timeout: float = Field(default=60.0, gt=0.0, le=600.0)  # seconds per request
    retries: int = Field(default=2, ge=0, le=10, strict=True)  # on 429, 5xx, timeouts and network failures
    # Its own price (models/cost.py): per image (a hosted model's overrides the shipped price table,
    # models/hosted/prices.json) or per GPU hour; None: the table's, else measured seconds at the
    # home's rate for the device.
    cost: ModelCost | None = None
    # Its own qualification thresholds, over the project's defaults (models/qualification.py).
    qualification: Thresholds | None = None
    # Whether it must pass an evaluation before it draws production drafts. Only the built-in tiny
    # (random weights: the tests' model and the last fallback) is not, by default.
    gated: bool = True

    @model_validator(mode="before")
    @classmethod
    def _hosted_defaults(cls, data):
        # A hosted entry has no steps or guidance of its own: it need not write them.
        if isinstance(data, dict) and data.get("provider") is not None:
            data = {"steps": 1, "guidance": 0.0, "reproducible": False, **data}
        return data

    @model_validator(mode="after")
    def _hosted_fields(self):
        hosted_only = ("api_key_env", "base_url", "quality")
        if self.provider is None:
            if any(getattr(self, name) is not None for name in hosted_only) or self.options:
                raise ValueError(f"{', '.join(hosted_only)} and options are for hosted models (set provider)")
            return self
        from asset_pipeline.models.hosted.catalog import offer

        model = offer(self.provider, self.path)  # ValueError naming the known models
        if self.reproducible:
            raise ValueError("a hosted model is not reproducible (reproducible: false)")
        if self.quality is not None and self.quality not in model.qualities:
            takes = ", ".join(model.qualities) or "none"
            raise ValueError(f"quality {self.quality!r} is not one {self.path} takes ({takes})")
        return self

    # The home that relative paths resolve against, set by the registry that made this spec,
    # so a generator handed only the spec can still find its weights.
    _home: Path | None = PrivateAttr(default=None)


# A list of model ids, or a rule (a mapping): told apart by shape, so an error names only the one meant.
DraftRoute = Annotated[
    Annotated[list[str], Field(min_length=1), Tag("list")] | Annotated[RouteRule, Tag("rule")],
    Discriminator(lambda value: "rule" if isinstance(value, dict | RouteRule) else "list"),
]


class _Routes(_Strict):
    draft: DraftRoute | None = None
    final: DraftRoute | None = None
    upscale: list[str] | None = None  # may be empty: no diffusion upscaler, Lanczos only
    realtime: DraftRoute | None = None


class _ModelsFile(_Strict):
    models: list[ModelSpec] = Field(default_factory=list)
    routes: _Routes = Field(default_factory=_Routes)


# Real checkpoints: present only when their weights are local. Steps and guidance follow
# the model cards; dtype applies on CUDA only.
BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="sd-turbo",
        path="stabilityai/sd-turbo",
        pipeline_class="StableDiffusionPipeline",
        steps=1,
        guidance=0.0,
        dtype="float16",
        resolution=512,
        multiple=8,
        tiers=["draft"],
    ),
    ModelSpec(
        id="sdxl-turbo",
        path="stabilityai/sdxl-turbo",
        pipeline_class="StableDiffusionXLPipeline",
        steps=1,
        guidance=0.0,
        dtype="float16",
        resolution=512,
        multiple=8,
        tiers=["draft", "final"],
    ),
    ModelSpec(
        id="sd35-medium",
        path="stabilityai/stable-diffusion-3.5-medium",
        pipeline_class="StableDiffusion3Pipeline",
        steps=40,
        guidance=4.5,
        dtype="bfloat16",
        resolution=1024,
        multiple=16,
        tiers=["final"],
    ),
    ModelSpec(
        id="sd35-large-turbo",
        path="stabilityai/stable-diffusion-3.5-large-turbo",
        pipeline_class="StableDiffusion3Pipeline",
        steps=4,
        guidance=0.0,
        dtype="bfloat16",
        resolution=1024,
        multiple=16,
        tiers=["final"],
    ),
    ModelSpec(
        id="flux-schnell",
        path="black-forest-labs/FLUX.1-schnell",
        pipeline_class="FluxPipeline",
        steps=4,
        guidance=0.0,
        dtype="bfloat16",
        resolution=1024,
        multiple=16,
        tiers=["final"],
    ),
    # The upscale stage's diffusers upscaler (4x); only used when its weights are local.
    ModelSpec(
        id="sd-x4-upscaler",
        path="stabilityai/stable-diffusion-x4-upscaler",
        pipeline_class="StableDiffusionUpscalePipeline",
        steps=20,
        guidance=9.0,
        dtype="float16",
        resolution=512,
        multiple=8,
        tiers=[UPSCALE],
    ),
    # Trained on procedural backgrounds (training/), shipped in the package:
    # useful drafts with nothing downloaded. Zero-terminal-SNR Euler: 6 steps with guidance.
    ModelSpec(
        id=EMBEDDED_ID,
        path=EMBEDDED_PATH,
        pipeline_class="StableDiffusionPipeline",
        steps=6,
        guidance=3.0,
        resolution=512,
        multiple=16,
        tiers=["draft", "final"],
        palette_grade=0.8,
        brand_steering=True,
        # At 0.6 its rings glowed in the palette's colours round the product (docs/media.md).
        inpaint_strength=0.4,
    ),
    # Random weights: images are noise-like, but it is a genuine pipeline on the same code path.
    ModelSpec(
        id=TINY_ID,
        path=TINY_PATH,
        pipeline_class="StableDiffusionPipeline",
        steps=2,
        guidance=0.0,
        resolution=256,
        multiple=16,
        tiers=["draft", "final"],
        gated=False,
    ),
)


def _hosted(model_id: str, provider: str, model: str, tiers: list[str], quality: str | None = None) -> ModelSpec:
    return ModelSpec(id=model_id, provider=provider, path=model, quality=quality, tiers=tiers)


# The hosted models the field compares (models/hosted/): absent until their key's variable is
# set, and in no built-in route, so nothing calls out unless a brief or models.yaml names one.
BUILTIN_MODELS += (
    _hosted("dall-e-3", "openai", "dall-e-3", ["draft", "final"], "standard"),
    _hosted("dall-e-3-hd", "openai", "dall-e-3", ["final"], "hd"),
    _hosted("gpt-image-1", "openai", "gpt-image-1", ["draft", "final"], "medium"),
    _hosted("ideogram-v2", "ideogram", "V_2", ["final"]),
    _hosted("ideogram-v2-turbo", "ideogram", "V_2_TURBO", ["draft", "final"]),
    _hosted("ideogram-v2a", "ideogram", "V_2A", ["final"]),
    _hosted("ideogram-v2a-turbo", "ideogram", "V_2A_TURBO", ["draft", "final"]),
    _hosted("ideogram-v3", "ideogram", "V_3", ["final"], "default"),
    _hosted("ideogram-v3-turbo", "ideogram", "V_3", ["draft", "final"], "turbo"),
    _hosted("gemini-flash-image", "google", "gemini-2.5-flash-image", ["draft", "final"]),
    _hosted("imagen-4", "google", "imagen-4.0-generate-001", ["final"]),
    _hosted("imagen-4-fast", "google", "imagen-4.0-fast-generate-001", ["draft", "final"]),
    _hosted("imagen-4-ultra", "google", "imagen-4.0-ultra-generate-001", ["final"]),
)

BUILTIN_ROUTES: dict[str, list[str]] = {
    "draft": ["sd-turbo", "sdxl-turbo", EMBEDDED_ID, TINY_ID],
    "final": ["sd35-medium", "sd35-large-turbo", "flux-schnell", "sdxl-turbo", EMBEDDED_ID, TINY_ID],
    UPSCALE: ["sd-x4-upscaler"],
}


class UnknownModelError(LookupError):
    """A model id that the registry does not know."""


def _is_builtin_tiny(spec: ModelSpec) -> bool:
    return spec.path == TINY_PATH


def resolve_weights(spec: ModelSpec, home: Path, create: bool = True) -> Path | None:
    """The local folder holding the spec's pipeline (with model_index.json), or None if absent.

    `path` is a local folder (relative paths resolve against `home`) or a hub id that is
    already in the local Hugging Face cache; nothing is ever downloaded. The built-in tiny
    folder is built on first use when `create` is true.
    """
    local = Path(spec.path).expanduser()
    if not local.is_absolute():
        local = home / local
    if _is_builtin_tiny(spec) and create:
        return ensure_tiny_model(local)
    if (local / "model_index.json").is_file():
        return local
    if HUB_ID.fullmatch(spec.path) and not local.exists():
        return _cached_snapshot(spec.path)
    return None


def _cached_snapshot(repo_id: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, "model_index.json")
    except Exception:  # an id the hub library rejects is simply not cached
        return None
    # A str is the cached file; None or a sentinel object means "not cached".
    return Path(found).parent if isinstance(found, str) else None


@dataclass
class Registry:
    home: Path
    models: dict[str, ModelSpec]
    routes: dict[str, list[str]]  # route -> its model ids (a rule's `models`)
    rules: dict[str, RouteRule] = field(default_factory=dict)  # the routes that are rules

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self.models[model_id]
        except KeyError:
            raise UnknownModelError(f"unknown model {model_id!r}; known: {', '.join(sorted(self.models))}") from None

    def candidates(self, tier: str, explicit: str | None = None) -> list[ModelSpec]:
        """Models to try in order: the explicitly named one alone, else the tier's route."""
        if explicit is not None:
            spec = self.get(explicit)
            if not set(spec.tiers) & set(TIERS):
                raise ValueError(
                    f"model {explicit!r} is an upscaler (tiers: {', '.join(spec.tiers)}), not a draft model"
                )
            return [spec]
        if tier not in (*TIERS, REALTIME):
            raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")
        return [self.models[model_id] for model_id in self.route_ids(tier)]

    def route_ids(self, tier: str) -> list[str]:
        """A route's model ids; the real-time route is the draft route unless models.yaml gives it."""
        return list(self.routes.get(tier) or self.routes["draft"])

    def realtime_route(self) -> list[str]:
        return self.route_ids(REALTIME)

    def rule(self, tier: str) -> RouteRule | None:
        """The route's rule, when it is one (the real-time route follows the draft route's)."""
        if tier == REALTIME and REALTIME not in self.routes:
            tier = "draft"
        return self.rules.get(tier)

    def for_realtime(self) -> Registry:
        """This registry with every draft tier routed as real-time renders are: the stage code asks
        for a tier's candidates as always, and gets the real-time route, its rule too (an asset's
        explicit `model` still wins, as in a brief)."""
        route, rule = self.realtime_route(), self.rule(REALTIME)
        rules = {tier: r for tier, r in self.rules.items() if tier not in TIERS}
        if rule is not None:
            rules.update(dict.fromkeys(TIERS, rule))
        return Registry(
            home=self.home, models=self.models, routes={**self.routes, **dict.fromkeys(TIERS, route)}, rules=rules
        )

    def resolve_path(self, spec: ModelSpec, create: bool = True) -> Path | None:
        if spec.provider is not None:  # hosted: no weights here
            return None
        return resolve_weights(spec, self.home, create)

    def weights_present(self, spec: ModelSpec) -> bool:
        """Whether the weights are local. The built-in tiny model counts: it is built on first use.
        A hosted model is present when it can be called: its key's variable is set."""
        if spec.provider is not None:
            from asset_pipeline.models.hosted import unavailable

            return unavailable(spec) is None
        return _is_builtin_tiny(spec) or self.resolve_path(spec, create=False) is not None

    def weights_hash(self, spec: ModelSpec) -> str:
        """sha256 of the weights folder (cached per process on the files' mtimes); for a hosted
        model, of its provider, model and parameters (models/hosted: fingerprint)."""
        if spec.provider is not None:
            from asset_pipeline.models.hosted import fingerprint

            return fingerprint(spec)
        path = self.resolve_path(spec)
        if path is None:
            raise FileNotFoundError(f"model {spec.id}: weights not found at {spec.path!r}")
        return folder_hash(path)

    def rows(self) -> list[dict]:
        """One row per model for `asset-pipeline models`."""
        return [
            {
                "id": spec.id,
                "path": spec.path,
                "pipeline_class": spec.pipeline_class,
                "tiers": list(spec.tiers),
                "steps": spec.steps,
                "guidance": spec.guidance,
                "palette_grade": spec.palette_grade,
                "brand_steering": spec.brand_steering,
                "dtype": spec.dtype,
                "resolution": spec.resolution,
                "present": self.weights_present(spec),
                "routes": [tier for tier in ROUTES if spec.id in self.routes.get(tier, [])]
                + [REALTIME] * (spec.id in self.realtime_route()),
                "gated": spec.gated,
                "cost": spec.cost.model_dump() if spec.cost else None,
                "reproducible": spec.reproducible,
                **_hosted_row(spec),
            }
            for spec in self.models.values()
        ]


def _hosted_row(spec: ModelSpec) -> dict:
    """`models`' hosted columns: provider, key variable, the price of a square image, and why
    it cannot be called (its key is not set, or it was retired)."""
    if spec.provider is None:
        return {"provider": None}
    from asset_pipeline.models.hosted import key_env, nearest_size, price_per_image, unavailable
    from asset_pipeline.models.hosted.catalog import offer

    price = price_per_image(spec, nearest_size(spec.provider, spec.path, 1, 1))
    model = offer(spec.provider, spec.path)
    return {
        "provider": spec.provider,
        "quality": spec.quality,
        "api_key_env": key_env(spec),
        "price_per_image": price[0] if price else None,
        "currency": price[1] if price else None,
        "absent_because": unavailable(spec),
        "retired": model.retired,
    }


def load_registry(home: Path) -> Registry:
    """The built-in registry extended by `models.yaml` in the home, if there is one."""
    home = Path(home)
    models = {spec.id: spec for spec in BUILTIN_MODELS}
    routes = {tier: list(ids) for tier, ids in BUILTIN_ROUTES.items()}
    models_file = home / "models.yaml"
    # lexists: a dangling link or a symlink loop is a broken models.yaml (read_yaml says so), not "none"
    rules: dict[str, RouteRule] = {}
    if os.path.lexists(models_file):
        models, routes, rules = _apply_models_file(models_file, models, routes)
    # Copies that know their home, so a spec alone is enough to find its weights.
    located = {}
    for model_id, spec in models.items():
        located[model_id] = spec.model_copy()
        located[model_id]._home = home
    return Registry(home=home, models=located, routes=routes, rules=rules)


def _apply_models_file(path: Path, models: dict[str, ModelSpec], routes: dict[str, list[str]]):
    label = "models.yaml"
    data = read_yaml(path, label)
    try:
        parsed = _ModelsFile.model_validate(data)
    except ValidationError as exc:
        raise InputError(_problems(exc, label, data)) from None

    problems: list[Problem] = []
    seen: set[str] = set()
    added: list[ModelSpec] = []
    for index, spec in enumerate(parsed.models):
        if spec.id in seen:
            problems.append(Problem(label, f"models[{index}](id={spec.id}).id", f"model id {spec.id!r} is used twice"))
        seen.add(spec.id)
        if spec.id not in models:
            added.append(spec)
        models[spec.id] = spec

    given, rules = {}, {}
    for tier in (*ROUTES, REALTIME):
        route = getattr(parsed.routes, tier)
        if isinstance(route, RouteRule):
            rules[tier], given[tier] = route, list(route.models)
        elif route is not None:
            given[tier] = list(route)
    for tier in (*ROUTES, REALTIME):
        if tier in given:
            where = f"routes.{tier}.models" if tier in rules else f"routes.{tier}"
            for index, model_id in enumerate(given[tier]):
                field = f"{where}[{index}]"
                if model_id not in models:
                    problems.append(
                        Problem(label, field, f"unknown model {model_id!r}; known: {', '.join(sorted(models))}")
                    )
                elif tier == REALTIME and not set(models[model_id].tiers) & set(TIERS):
                    problems.append(Problem(label, field, f"model {model_id!r} is an upscaler, not a draft model"))
                elif tier != REALTIME and tier not in models[model_id].tiers:
                    problems.append(
                        Problem(
                            label,
                            field,
                            f"model {model_id!r} is not for tier {tier!r} (its tiers: {', '.join(models[model_id].tiers)})",
                        )
                    )
                elif model_id in given[tier][:index]:
                    problems.append(Problem(label, field, f"model {model_id!r} is listed twice"))
            routes[tier] = list(given[tier])
        elif tier == REALTIME:
            continue  # the draft route serves it
        else:
            # Built-in route: the user's new models first, then built-ins still meant for this tier.
            fronted = [spec.id for spec in added if tier in spec.tiers]
            routes[tier] = fronted + [m for m in routes[tier] if m not in fronted and tier in models[m].tiers]
            if not routes[tier] and tier != UPSCALE:  # no upscaler is fine: Lanczos
                problems.append(Problem(label, "routes", f"no model is left for tier {tier!r}"))
    if problems:
        raise InputError(problems)
    return models, routes, rules


def draft_size(spec: ModelSpec, width: int, height: int) -> tuple[int, int]:
    """Generation size: the model's native area in the deliverable's aspect ratio (a hosted
    model: the size it offers nearest that aspect).

    Each side is rounded to the model's `multiple`; the aspect is clamped to 4:1 because
    models fall apart beyond it (the caller crops to the deliverable; it never stretches).
    """
    if spec.provider is not None:  # the offered size nearest the aspect (models/hosted/catalog.py)
        from asset_pipeline.models.hosted import nearest_size

        return nearest_size(spec.provider, spec.path, width, height)
    if width <= 0 or height <= 0:
        raise ValueError(f"size must be positive, got {width}x{height}")
    aspect = min(max(width / height, 1 / MAX_ASPECT), MAX_ASPECT)
    area = spec.resolution * spec.resolution
    step = spec.multiple

    def to_multiple(side: float) -> int:
        return max(step, int(side / step + 0.5) * step)  # nearest multiple, halves up

    return to_multiple(math.sqrt(area * aspect)), to_multiple(math.sqrt(area / aspect))


def is_draft_model(spec: ModelSpec) -> bool:
    """Whether the model draws drafts (any tier): what is evaluated and gated."""
    return bool(set(spec.tiers) & set(TIERS))
