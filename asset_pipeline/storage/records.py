"""One record type per table; each table's Arrow schema is derived from its record.

Stages may build rows as dicts, but every row passes through its record on the way
to Parquet (`to_record`): a missing or misspelt field, or a None where the record
does not allow one, is an error at write time instead of a silent NULL.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

import pyarrow as pa

from asset_pipeline.presets import Zone as KeepOut  # a box of the frame no text may overlap


class RecordError(ValueError):
    """A row that does not match its table's record."""


# ------------------------------------------------------------------ nested structs


@dataclass(frozen=True)
class Attempt:
    """One generation attempt of a draft (re-rolls of drafts that failed a draft-level check)."""

    model: str
    seed: int
    image_sha256: str | None
    passed: bool
    reason: str | None


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, as a publication row keeps it."""

    check: str
    passed: bool
    value: float | None
    detail: str | None


@dataclass(frozen=True)
class InputFile:
    """An input file a run read, by its path relative to the home (or absolute, for system fonts)."""

    path: str
    sha256: str


@dataclass(frozen=True)
class Budget:
    """A file format to deliver and its byte budget (KB of 1024 bytes; None: no budget)."""

    format: str
    max_kb: float | None


# ------------------------------------------------------------------ tables

# What names one deliverable in every table that has `size`.
DELIVERABLE = ("campaign", "asset", "variant", "size", "locale")


def deliverable_key(row: dict) -> tuple[str, int, str, str | None]:
    """(asset, variant, size, locale) of a row; rows written before locales existed have none."""
    return row["asset"], row["variant"], row["size"], row.get("locale")


def draft_size_key(row: dict) -> tuple[str, int, str]:
    """(asset, variant, size): what a draft serves, shared by every locale."""
    return row["asset"], row["variant"], row["size"]


@dataclass(frozen=True)
class ApprovalRow:
    """A reviewer's decision on one version of one deliverable (the review app writes these)."""

    campaign: str
    asset: str
    variant: int
    size: str
    version: int
    decision: str  # approve | reject
    comment: str | None
    by: str
    at: datetime
    # BCP 47 tag; None: the brief has no locales (one implicit locale), as in rows written before them
    locale: str | None = None


@dataclass(frozen=True)
class SnapshotRow:
    """The run's one snapshot of its inputs: later stages read this, never the YAML files."""

    campaign: str
    brief_json: str  # the validated brief
    brand_json: str  # the validated brand, both parts
    registry_json: str  # the model registry the run resolved (models and routes)
    brief_file: str
    brand_file: str
    input_files: list[InputFile]
    brief_hash: str
    brand_hash: str
    generation_hash: str  # the brand fields that reach prompts
    typography_hash: str  # every other brand field
    steering_palette: list[str]
    fingerprint: str  # one hash of every input file, the models and the code: what the nightly compares
    taken_at: datetime
    approvals: list[ApprovalRow]  # the reviewers' decisions when the snapshot was taken (re-rolls follow them)


@dataclass(frozen=True)
class BriefRow:
    campaign: str
    asset: str
    variant: int
    size: str
    width: int
    height: int
    prompt: str
    negative_prompt: str | None
    headline: str | None
    body: str | None
    cta: str | None
    disclaimer: str | None
    tier: str
    model: str | None
    seed: int
    brief_hash: str
    brand: str
    brand_hash: str
    brief_file: str
    palette: list[str]
    preset: str | None  # the size preset the brief named (`size` is its resolved WxH)
    formats: list[Budget]  # the files to deliver, in order, each with its byte budget
    min_quality: int  # the brand's lowest encoder quality a budget may force
    keep_out: list[KeepOut]  # the preset's safe zones, as the boxes text, CTA and logo stay out of
    product: str | None  # the asset's product shot, relative to media/
    product_sha256: str | None  # of that file, as the run's snapshot read it
    reference: str | None  # the image that steers the key visual (image-to-image), relative to media/
    reference_sha256: str | None  # of that file, as the run's snapshot read it
    reference_strength: float
    # BCP 47 tag; None: the brief has no locales (one implicit locale), as in rows written before them
    locale: str | None = None
    product_integration: str = "composite"  # composite | inpaint (the scene repainted around the product)
    # the share of the frame text and logo may cover, where the preset's channel limits it (else None)
    max_text_cover: float | None = None
    origin: str = "run"  # run: a Dagster run's row; api: the HTTP API's real-time path
    request_id: str | None = None  # the API request that made an `api` row


@dataclass(frozen=True)
class DraftRow:
    campaign: str
    asset: str
    variant: int
    model: str
    seed: int
    width: int
    height: int
    image_sha256: str
    cache_hit: bool
    seconds: float
    draft_key: str
    aspect: str
    prompt: str
    negative_prompt: str | None
    steps: int
    guidance: float
    weights_hash: str
    fallbacks: list[str]
    sizes: list[str]
    palette_grade: float
    palette: list[str]  # the brand palette that steered this draft's prompt (empty: not steered)
    attempts: list[Attempt]
    draft_passed: bool
    draft_reason: str | None
    # key (the asset's key visual) | extension (the key visual outpainted) | integration (a size's
    # crop with the scene repainted around its product) | none (not generated)
    kind: str
    extends: str | None  # the draft an extension or integration was made from, by its draft_key
    inset: list[int]  # where an extension holds its key visual (left, top, right, bottom px); empty for a key
    product_box: list[float]  # an integration's product (x, y, w, h of its sizes' frame); empty otherwise
    reference_sha256: str | None  # the reference image that steered it (image-to-image), if any
    reference_strength: float | None
    notes: list[str]  # what did not go as planned, e.g. an outpainting that failed (its sizes cropped instead)
    origin: str = "run"  # run: a Dagster run's row; api: the HTTP API's real-time path
    request_id: str | None = None  # the API request that made an `api` row
    # Hosted models (models/hosted/): who drew it and what one such image lists at. A local
    # model's rows keep the defaults. `price_per_image` is the list price whether or not this
    # run paid it (a cache hit pays nothing: cost = 0 if cache_hit else price_per_image).
    provider: str | None = None
    provider_model: str | None = None
    provider_model_version: str | None = None
    provider_request_id: str | None = None
    revised_prompt: str | None = None  # the prompt the provider rewrote and drew (DALL·E 3)
    reproducible: bool = True
    price_per_image: float | None = None
    price_currency: str | None = None
    # What it cost (models/cost.py). Defaults: rows written before costs were recorded.
    images: int = 0  # images generated for this row by this run, re-rolls included (0: a cache hit)
    device: str | None = None  # where it was generated: cpu | cuda (None: unknown, an old cache entry)
    cost: float | None = None  # this run's spend on it (0 for a cache hit); None: unknown (no price, no rate)
    made_cost: float | None = None  # what making the draft cost, whenever it was made; None: unknown
    currency: str | None = None
    route_reason: str | None = None  # why its model drew it: the route's rule and the numbers it chose by


@dataclass(frozen=True)
class EvaluationRow:
    """One evaluation of one model on the evaluation suite (models/evaluation.py): a row per run, kept."""

    model: str
    data_version: str  # hash of what decides the model's output and the suite (evaluation_version)
    evaluated_at: datetime
    qualified: bool
    reasons: list[str]  # why it is not qualified: load error, thresholds, regression (empty: qualified)
    threshold_failures: list[str]
    regressions: list[str]  # against the model's previous evaluation
    loaded: bool
    load_error: str | None  # one line
    weights_hash: str | None
    pipeline_class: str
    steps: int
    guidance: float
    scheduler: str | None
    resolution: int
    dtype: str
    device: str
    suite_hash: str
    prompts: int  # suite prompts drawn
    images: int  # images generated in all (warm-up, repeats and extensions included)
    load_s: float | None
    peak_memory_mb: float | None
    p50_s: float | None  # warm seconds per image at the model's resolution
    p95_s: float | None
    images_per_minute: float | None
    hallucination_rate: float | None  # share of drafts the draft check finds painted words in
    blank_rate: float | None  # share blank, black or not made at all
    palette_delta_e: float | None  # palette-steered models: CIEDE2000 from the palette to the nearest dominant colour
    deterministic: bool | None  # a repeat gave the same bytes
    extension_defect_rate: float | None  # share of outpainted extensions failing the draft checks (edge band, ...)
    typography_error_rate: float | None  # share of typeset renders whose text did not read back (OCR)
    seconds: float  # the whole evaluation
    cost: float | None
    currency: str | None
    contact_sheet: str | None  # PNG, relative to the home
    findings: list[str]  # what the checks found, one line each


@dataclass(frozen=True)
class SpendRow:
    """What one run spent on a campaign's drafts, by model: the ledger a `per_month` budget counts."""

    campaign: str
    run_at: datetime
    model: str
    drafts: int  # generated (cache hits cost nothing)
    seconds: float
    cost: float | None  # None: unknown (no price, no rate)
    currency: str | None


@dataclass(frozen=True)
class LayoutRow:
    campaign: str
    asset: str
    variant: int
    size: str
    draft_key: str
    layout: str | None
    preview_sha256: str | None
    typography_hash: str
    error: str | None
    crop_box: list[float]  # the box of the draft this deliverable is cut from (left, top, right, bottom px)
    # BCP 47 tag; None: the brief has no locales (one implicit locale), as in rows written before them
    locale: str | None = None
    origin: str = "run"  # run: a Dagster run's row; api: the HTTP API's real-time path
    request_id: str | None = None  # the API request that made an `api` row


@dataclass(frozen=True)
class RenderRow:
    campaign: str
    asset: str
    variant: int
    size: str
    image_sha256: str | None
    brand_hash: str
    draft_sha256: str
    layout: str | None
    engine: str | None
    error: str | None
    upscaler_error: str | None
    crop_box: list[float]  # the box of the draft it was cut from (left, top, right, bottom px); empty: none
    key_visual_sha256: str | None  # the asset's key visual: the draft itself, or the one its extension extends
    # BCP 47 tag; None: the brief has no locales (one implicit locale), as in rows written before them
    locale: str | None = None
    origin: str = "run"  # run: a Dagster run's row; api: the HTTP API's real-time path
    request_id: str | None = None  # the API request that made an `api` row


@dataclass(frozen=True)
class CheckRow:
    """One check of one deliverable, keyed by the render it judged."""

    campaign: str
    asset: str
    variant: int
    size: str
    render_sha256: str | None  # None: the deliverable could not be laid out, so nothing was rendered
    check: str
    passed: bool
    value: float | None
    detail: str | None
    # BCP 47 tag; None: the brief has no locales (one implicit locale), as in rows written before them
    locale: str | None = None
    origin: str = "run"  # run: a Dagster run's row; api: the HTTP API's real-time path
    request_id: str | None = None  # the API request that made an `api` row


@dataclass(frozen=True)
class PublicationRow:
    """One row per deliverable per change of outcome; `version` counts changes of pixels."""

    campaign: str
    asset: str
    variant: int
    size: str
    status: str
    path: str | None
    sha256: str | None
    version: int
    published_at: datetime
    model: str
    seed: int
    brief_hash: str
    brand_hash: str
    render_sha256: str | None
    pixels_sha256: str | None  # sha256 of the decoded pixels: what `version` follows
    change: str  # pixels | provenance | rejected | approval (a reviewer's decision moved it)
    reasons: list[str]
    checks: list[CheckResult]  # the checks this row was judged by
    # BCP 47 tag; None: the brief has no locales (one implicit locale), as in rows written before them
    locale: str | None = None
    origin: str = "run"  # run: a Dagster run's row; api: the HTTP API's real-time path
    request_id: str | None = None  # the API request that made an `api` row
    # Its share of what the drafts it used cost to make (a key visual's shared among its deliverables);
    # None: unknown, or a row written before costs were recorded.
    cost: float | None = None
    currency: str | None = None


@dataclass(frozen=True)
class FileRow:
    """One encoded file of a published version: one row per (deliverable, version, format)."""

    campaign: str
    asset: str
    variant: int
    size: str
    version: int
    format: str  # png | jpeg | webp | avif
    path: str
    sha256: str
    bytes: int
    quality: int | None  # the encoder quality (None: lossless PNG)
    max_kb: float | None  # the budget it was encoded for
    psnr_db: float | None  # measured error of the decoded file against the render (None: identical pixels)
    pixels_sha256: str  # the render's pixels this file encodes (the version's)
    published_at: datetime
    # BCP 47 tag; None: the brief has no locales (one implicit locale), as in rows written before them
    locale: str | None = None
    origin: str = "run"  # run: a Dagster run's row; api: the HTTP API's real-time path
    request_id: str | None = None  # the API request that made an `api` row


RECORDS: dict[str, type] = {
    "snapshots": SnapshotRow,
    "briefs": BriefRow,
    "drafts": DraftRow,
    "layouts": LayoutRow,
    "renders": RenderRow,
    "checks": CheckRow,
    "publications": PublicationRow,
    "files": FileRow,
    "approvals": ApprovalRow,
    "model_evaluations": EvaluationRow,
    "spending": SpendRow,
}
# The field that names a table's file (`tables/<table>/<value>.parquet`): the campaign, but for tables of models.
PARTITION_FIELD: dict[str, str] = {"model_evaluations": "model"}

# ------------------------------------------------------------------ Arrow schema from a record

_SCALARS: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    datetime: pa.timestamp("us", tz="UTC"),
}


def _split_optional(hint: Any) -> tuple[Any, bool]:
    """(the type inside `X | None`, whether None is allowed)."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _arrow_type(hint: Any) -> pa.DataType:
    hint, _ = _split_optional(hint)
    if typing.get_origin(hint) is list:
        return pa.list_(_arrow_type(typing.get_args(hint)[0]))
    if dataclasses.is_dataclass(hint):
        return pa.struct([pa.field(name, _arrow_type(t)) for name, t in _hints(hint).items()])
    return _SCALARS[hint]


@functools.cache  # resolving the annotations was most of checking a row (get_type_hints per row and struct)
def _hints(record: type) -> dict[str, Any]:
    return typing.get_type_hints(record)


def arrow_schema(record: type) -> pa.Schema:
    # Every column is nullable in Parquet; the record, not the file, says where None is allowed.
    return pa.schema([pa.field(name, _arrow_type(hint)) for name, hint in _hints(record).items()])


SCHEMAS: dict[str, pa.Schema] = {table: arrow_schema(record) for table, record in RECORDS.items()}

# ------------------------------------------------------------------ validating rows


def _check_value(where: str, hint: Any, value: Any) -> Any:
    inner, optional = _split_optional(hint)
    if value is None:
        if not optional:
            raise RecordError(f"{where}: None where a value is required")
        return None
    if typing.get_origin(inner) is list:
        if not isinstance(value, (list, tuple)):
            raise RecordError(f"{where}: expected a list, got {type(value).__name__}")
        item = typing.get_args(inner)[0]
        return [_check_value(f"{where}[{i}]", item, v) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(inner):
        return to_record(inner, value, where)
    # numpy scalars count as numbers; a bool is never taken for a number
    if inner is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if inner is int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if inner is bool and type(value).__name__ == "bool_":
        return bool(value)
    if not isinstance(value, inner) or (inner is not bool and isinstance(value, bool)):
        raise RecordError(f"{where}: expected {inner.__name__}, got {type(value).__name__}")
    return value


def to_record(record: type, row: Any, where: str | None = None) -> Any:
    """`row` (a dict or an instance of `record`) as a checked instance of `record`."""
    where = where or record.__name__
    if isinstance(row, record):
        row = {f.name: getattr(row, f.name) for f in dataclasses.fields(record)}
    if not isinstance(row, dict):
        raise RecordError(f"{where}: expected a mapping, got {type(row).__name__}")
    hints = _hints(record)
    # A field with a default (`locale`: None, no locales) may be left out; every other is named.
    defaults = {f.name: f.default for f in dataclasses.fields(record) if f.default is not dataclasses.MISSING}
    row = {**defaults, **row}
    unknown = sorted(set(row) - set(hints))
    missing = sorted(set(hints) - set(row))
    if unknown or missing:
        parts = [f"unknown field(s) {', '.join(unknown)}"] * bool(unknown)
        parts += [f"missing field(s) {', '.join(missing)}"] * bool(missing)
        raise RecordError(f"{where}: " + "; ".join(parts))
    return record(**{name: _check_value(f"{where}.{name}", hint, row[name]) for name, hint in hints.items()})


def as_dict(record: Any) -> dict[str, Any]:
    return dataclasses.asdict(record)
