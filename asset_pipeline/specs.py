"""Brief and brand-rules schemas (briefs/<campaign>.yaml, brands/<brand>.yaml), validated with pydantic.

Unknown keys are errors in both: they are usually typos.

Loading never raises a bare exception for bad input: it raises `InputError`
carrying one `Problem` (file, field, message) per thing that is wrong.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from asset_pipeline import presets
from asset_pipeline.echo import LINE_LIMIT, shown
from asset_pipeline.locales import SCRIPTS, LocaleError, locale_info

# Every identifier and pattern is matched whole (`re.fullmatch`) over explicit ASCII classes:
# `$` also matches before a trailing newline and `\d` matches any Unicode digit (`١٠٨٠`),
# so neither appears in a validation pattern.
ID_CHARS = "[a-z0-9][a-z0-9_-]{0,63}"
ID_RE = re.compile(ID_CHARS)
# Kept for code that still hands a pattern string to pydantic (whose Rust engine reads `$` as the
# end of the text); Python code uses `is_identifier`.
ID_PATTERN = rf"^{ID_CHARS}$"
SIZE_RE = re.compile("([0-9]{1,5})x([0-9]{1,5})")
HEX_COLOR_RE = re.compile("#[0-9A-Fa-f]{6}")
MIN_SIDE, MAX_SIDE = 32, 4096  # 32: the 320x50 mobile banner's short side is 50
MAX_INPUT_BYTES = 2_000_000  # a brief of 500 assets is far below this
MAX_ASSETS = 500  # per campaign, YAML and CSV feed together
FORMATS = ("png", "jpeg", "webp", "avif")
Format = Literal["png", "jpeg", "webp", "avif"]
MAX_KB = 100_000  # a byte budget above 100 MB is a typo
# A feed file beside the brief: a plain name, no folder, no `..`, no leading dot.
CSV_NAME_RE = re.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,123}[.]csv")


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        # Whatever a message quotes, the line stays one short line with no control characters.
        where = f"{shown(self.file)}: {shown(self.field)}" if self.field else shown(self.file)
        return f"{where}: {shown(self.message, LINE_LIMIT)}"


class InputError(Exception):
    """Invalid user input: one or more problems, each naming file and field."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


def is_identifier(value: object) -> bool:
    """Whether `value` is a campaign, brand, asset or model id: the whole of it, ASCII only."""
    return isinstance(value, str) and ID_RE.fullmatch(value) is not None


def _identifier(value: str) -> str:
    if not is_identifier(value):
        raise ValueError(f"String should match pattern '{ID_CHARS}'")
    return value


def _colour(value: str) -> str:
    if HEX_COLOR_RE.fullmatch(value) is None:
        raise ValueError(f"'{shown(value)}' is not a #RRGGBB colour")
    return value


MEDIA_SUFFIXES = (".png", ".svg")
# A product shot: with alpha (PNG, WebP), or an opaque studio shot (those and JPEG) to cut out.
PRODUCT_SUFFIXES = (".png", ".webp", ".jpg", ".jpeg")
IMAGE_SUFFIXES = (".png", ".webp", ".jpg", ".jpeg")  # a reference image: any photo or picture
MEDIA_PART_RE = re.compile("[A-Za-z0-9_][A-Za-z0-9_. -]{0,127}")


def _media_path(value: str, suffixes: tuple[str, ...] = MEDIA_SUFFIXES) -> str:
    """A path relative to the home's media/: plain parts, no "..", not absolute, with one of `suffixes`.

    Where it resolves to (a symlink out of media/) is checked against the home itself
    (`Home.media_path`), when the file is read.
    """
    if not 0 < len(value) <= 512:
        raise ValueError("a media path must be 1 to 512 characters")
    if value.startswith(("/", "\\")) or re.match("[A-Za-z]:", value):
        raise ValueError(f"'{shown(value)}' is absolute; give a path relative to media/")
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"'{shown(value)}' has an empty, '.' or '..' part; it must stay inside media/")
    if any(MEDIA_PART_RE.fullmatch(part) is None for part in parts):
        raise ValueError(f"'{shown(value)}': each part is ASCII letters, digits, '_', '-', '.' or spaces")
    if not value.lower().endswith(suffixes):
        raise ValueError(f"'{shown(value)}' is not a {' or '.join(suffixes)} file")
    return value


def _product_path(value: str) -> str:
    return _media_path(value, PRODUCT_SUFFIXES)


def _image_path(value: str) -> str:
    return _media_path(value, IMAGE_SUFFIXES)


# An id or a colour, checked whole over ASCII whatever regex engine pydantic uses.
Identifier = Annotated[str, AfterValidator(_identifier)]
HexColour = Annotated[str, AfterValidator(_colour)]
MediaPath = Annotated[str, AfterValidator(_media_path)]
ProductPath = Annotated[str, AfterValidator(_product_path)]
ImagePath = Annotated[str, AfterValidator(_image_path)]


def resolve_size(size: str) -> tuple[int, int, str | None]:
    """(width, height, preset name or None) of a size given as WxH or as a preset name."""
    preset = presets.find(size)
    if preset is not None:
        return preset.width, preset.height, preset.name  # an alias resolves to its channel name
    match = SIZE_RE.fullmatch(size) if isinstance(size, str) else None
    if not match:
        hint = f"; channels: {', '.join(presets.channels())} (docs/channels.md)"
        if isinstance(size, str) and (close := difflib.get_close_matches(size, presets.names(), n=1)):
            hint = f"; did you mean '{close[0]}'?"
        raise ValueError(f"'{shown(size)}' is not WxH (for example 1080x1080) or a size preset (e.g. meta/story){hint}")
    width, height = int(match.group(1)), int(match.group(2))
    for side in (width, height):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise ValueError(f"'{shown(size)}': each side must be {MIN_SIDE}..{MAX_SIDE} px")
    return width, height, None


def parse_size(size: str) -> tuple[int, int]:
    """(width, height) of WxH or of a preset name."""
    width, height, _ = resolve_size(size)
    return width, height


def _kb(value: Any, where: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_KB:
        raise ValueError(f"{where}'{shown(value)}' is not a budget in KB (a number above 0, at most {MAX_KB})")
    return float(value)


def _budget(value: Any) -> float | dict[str, float] | None:
    """max_kb: one number of KB for every format, or a map format -> KB."""
    if value is None:
        return None
    if isinstance(value, dict):
        budgets = {}
        for fmt, kb in value.items():
            if fmt not in FORMATS:
                raise ValueError(f"'{shown(fmt)}' is not a format ({', '.join(FORMATS)})")
            budgets[fmt] = _kb(kb, f"{fmt}: ")
        return budgets
    return _kb(value)


def _locale_tag(tag: str) -> str:
    try:
        locale_info(tag)
    except LocaleError as exc:
        raise ValueError(str(exc)) from None
    return tag


LocaleTag = Annotated[str, AfterValidator(_locale_tag)]


class LocaleCopy(_Strict):
    """One locale's copy. What it leaves out is not typeset (another language's text never
    stands in), except the disclaimer, which falls back to the brand's: legal text is kept."""

    headline: str | None = Field(default=None, max_length=120)
    body: str | None = Field(default=None, max_length=300)
    cta: str | None = Field(default=None, max_length=40)
    disclaimer: str | None = Field(default=None, max_length=300)


MAX_LOCALES = 32  # a campaign in more markets than this is split into campaigns


def _formats(formats: list[str] | None) -> list[str] | None:
    if formats is not None and len(set(formats)) != len(formats):
        raise ValueError("formats are listed twice")
    return formats


class AssetSpec(_Strict):
    id: Identifier
    prompt: str = Field(min_length=1, max_length=2000)
    negative_prompt: str | None = Field(default=None, max_length=2000)
    headline: str | None = Field(default=None, max_length=120)
    body: str | None = Field(default=None, max_length=300)
    cta: str | None = Field(default=None, max_length=40)
    sizes: list[str] = Field(min_length=1, max_length=32)
    tier: Literal["draft", "final"] = "draft"
    model: Identifier | None = None
    variants: int = Field(default=1, ge=1, le=16, strict=True)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1, strict=True)
    # The files to deliver; default: the size preset's, else the brand's, else [png].
    formats: list[Format] | None = Field(default=None, min_length=1, max_length=len(FORMATS))
    # Byte budget in KB (1024 bytes) per file: one number for every format, or format -> number.
    max_kb: Annotated[float | dict[Format, float] | None, PlainValidator(_budget)] = None
    # The product shot under the home's media/, composited into each size's product zone.
    product: ProductPath | None = None
    # composite: the product pasted on the picture (with a contact shadow); inpaint: the scene
    # around it repainted by the asset's model too, so floor and light meet the product.
    product_integration: Literal["composite", "inpaint"] = "composite"
    # An image under media/ that steers the key visual (image-to-image): 0 keeps it, 1 ignores it.
    reference: ImagePath | None = None
    reference_strength: float = Field(default=0.6, ge=0.0, le=1.0)
    # This asset's copy per locale: each tag's entry replaces the campaign's entry for that tag.
    locales: dict[LocaleTag, LocaleCopy] = Field(default_factory=dict, max_length=MAX_LOCALES)

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, sizes: list[str]) -> list[str]:
        resolved = [parse_size(size) for size in sizes]
        if len(set(resolved)) != len(resolved):  # `300x250` and `medium-rectangle` are one size
            raise ValueError("sizes are listed twice")
        return sizes

    _formats = field_validator("formats")(_formats)

    @field_validator("formats")
    @classmethod
    def _formats_the_channels_take(cls, formats: list[str] | None, info: ValidationInfo) -> list[str] | None:
        """A format a size preset's channel does not take is refused here, before anything is drawn."""
        refused = []
        for named in info.data.get("sizes") or ():  # absent when the sizes were invalid themselves
            preset = presets.find(named)
            if preset is not None and formats and (bad := presets.unaccepted_formats(preset, formats)):
                listed = ", ".join(f"'{fmt}'" for fmt in bad)
                refused.append(
                    f"{listed} not accepted by {preset.name} ({preset.channel} takes {', '.join(preset.accepts)})"
                )
        if refused:
            raise ValueError("; ".join(dict.fromkeys(refused)))
        return formats

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("prompt is blank")
        return prompt

    @model_validator(mode="after")
    def _integration_needs_a_product(self) -> AssetSpec:
        if self.product_integration == "inpaint" and self.product is None:
            raise ValueError("product_integration: inpaint paints the scene around a product; give `product` too")
        return self


# An amount of money (a price, a budget), in the currency of the models' prices.
Money = Annotated[float, Field(ge=0.0, le=1_000_000.0, allow_inf_nan=False)]


class RunBudget(_Strict):
    """What a campaign's drafts may cost: per run, and per calendar month (stages/preflight.py)."""

    per_run: Money | None = None
    per_month: Money | None = None

    @model_validator(mode="after")
    def _some_limit(self) -> RunBudget:
        if self.per_run is None and self.per_month is None:
            raise ValueError("give per_run, per_month or both")
        return self


class Brief(_Strict):
    campaign: Identifier
    brand: Identifier
    # With `assets_csv`, `assets` may be left out; together they hold 1..500 assets (feeds.py merges them).
    assets: list[AssetSpec] = Field(default_factory=list, max_length=MAX_ASSETS)
    assets_csv: str | None = None
    # The copy per locale (BCP 47 tag -> copy) for every asset; empty: one implicit locale.
    locales: dict[LocaleTag, LocaleCopy] = Field(default_factory=dict, max_length=MAX_LOCALES)
    # What its drafts may cost (wins over the brand's): a limit on a run, not an input to one.
    budget: RunBudget | None = None

    def locales_for(self, asset: AssetSpec) -> dict[str, LocaleCopy]:
        """The asset's locales: the campaign's, each tag overridden by the asset's own entry."""
        return {**self.locales, **asset.locales}

    def hash_part(self) -> dict[str, Any]:
        """What brief_hash covers: the brief, without empty `locales` (a brief without locales
        hashes as it did before they existed, so nothing of it re-runs)."""
        # The budget decides whether a run may start, never what it makes: no part of the hash.
        data = self.model_dump(mode="json", exclude={"budget", *(("locales",) if not self.locales else ())})
        for asset in data["assets"]:
            if not asset["locales"]:
                del asset["locales"]
            if asset["product_integration"] == "composite":  # the default hashes as before the field
                del asset["product_integration"]
        return data

    @field_validator("assets_csv")
    @classmethod
    def _csv_name(cls, name: str | None) -> str | None:
        if name is not None and CSV_NAME_RE.fullmatch(name) is None:
            raise ValueError(f"'{shown(name)}' is not the name of a .csv file beside the brief (no folders)")
        return name

    @model_validator(mode="after")
    def _unique_ids(self) -> Brief:
        if not self.assets and self.assets_csv is None:
            raise ValueError("assets: at least one asset, here or in an assets_csv feed")
        seen: set[str] = set()
        for asset in self.assets:
            if asset.id in seen:
                raise ValueError(f"asset id {asset.id!r} is used twice")
            seen.add(asset.id)
        return self


class BrandFonts(_Strict):
    headline: str = Field(default="DejaVuSans-Bold.ttf", min_length=1, max_length=512)
    body: str = Field(default="DejaVuSans.ttf", min_length=1, max_length=512)


def _script_fonts(value: Any) -> Any:
    """A script's fonts: one name for every role, or {headline, body}."""
    return {"headline": value, "body": value} if isinstance(value, str) else value


class ScriptFonts(_Strict):
    headline: str = Field(min_length=1, max_length=512)
    body: str = Field(min_length=1, max_length=512)


def _script_code(code: str) -> str:
    if code not in SCRIPTS:
        raise ValueError(f"'{shown(code)}' is not a supported ISO 15924 script code ({', '.join(SCRIPTS)})")
    return code


ScriptCode = Annotated[str, AfterValidator(_script_code)]


class BrandColors(_Strict):
    text: list[str] = Field(default_factory=lambda: ["#FFFFFF", "#1A1A1A"], min_length=1)
    accent: HexColour = "#FF5A36"

    @field_validator("text")
    @classmethod
    def _text(cls, colors: list[str]) -> list[str]:
        for color in colors:
            _colour(color)
        return colors


def _exact_term(term: str) -> str:
    if not term.strip():
        raise ValueError("an exact term must have some text")
    return term


# A product name or legal word that must read back exactly (case-insensitive) wherever the copy has it.
ExactTerm = Annotated[str, Field(max_length=120), AfterValidator(_exact_term)]
MAX_EXACT_TERMS = 200


class Brand(_Strict):
    brand: Identifier
    fonts: BrandFonts = Field(default_factory=BrandFonts)
    colors: BrandColors = Field(default_factory=BrandColors)
    style: str | None = Field(default=None, max_length=1000)
    negative: str | None = Field(default=None, max_length=1000)
    min_contrast: float = Field(default=4.5, ge=1.0, le=21.0)
    min_font_px: int = Field(default=14, ge=6, le=400, strict=True)
    safe_margin: float = Field(default=0.05, ge=0.0, lt=0.4)
    max_headline_lines: int = Field(default=2, ge=1, le=10, strict=True)
    disclaimer: str | None = Field(default=None, max_length=300)
    banned_terms: list[str] = Field(default_factory=list)
    # Locales: fonts per script (ISO 15924 -> a font for every role, or {headline, body}), used
    # before the brand's own fonts and fontconfig's fallback; banned terms that apply in one locale.
    fonts_by_script: dict[ScriptCode, Annotated[ScriptFonts, BeforeValidator(_script_fonts)]] = Field(
        default_factory=dict
    )
    banned_terms_by_locale: dict[LocaleTag, list[str]] = Field(default_factory=dict)
    ocr_min_similarity: float = Field(default=0.9, ge=0.0, le=1.0)
    # Strings that, like every number, must read back exactly (checks/compare.py), not by similarity.
    exact_terms: list[ExactTerm] = Field(default_factory=list, max_length=MAX_EXACT_TERMS)
    # Background colours that steer palette-steered models (`embedded`); default: the accent.
    # Text colours never steer: a text-colour edit regenerates no draft for any model.
    palette: list[HexColour] | None = Field(default=None, min_length=1, max_length=8)
    formats: list[Format] | None = Field(default=None, min_length=1, max_length=len(FORMATS))  # default for assets
    min_quality: int = Field(default=60, ge=1, le=95, strict=True)  # lowest encoder quality a budget may force
    # The logo: a PNG with alpha or an SVG under the home's media/ (a path relative to it).
    logo: MediaPath | None = None
    logo_small: MediaPath | None = None  # a variant for deliverables too small for `logo` at logo_min_px
    logo_position: Literal["top-left", "top-right", "bottom-left", "bottom-right", "auto"] = "auto"
    logo_size: float = Field(default=0.12, gt=0.0, le=0.5)  # the logo's height, a fraction of the shorter side
    logo_min_px: int = Field(default=24, ge=4, le=1000, strict=True)  # smallest side of the drawn logo
    logo_clear_space: float = Field(default=0.25, ge=0.0, le=2.0)  # round the logo, a fraction of its height
    # final-tier deliverables are published as `pending` until a reviewer approves them
    require_approval: bool = Field(default=False, strict=True)
    budget: RunBudget | None = None  # what each campaign's drafts may cost; a brief's own budget wins

    @model_validator(mode="after")
    def _exact_terms_not_banned(self) -> Brand:
        banned = {" ".join(term.casefold().split()) for term in self.banned_terms}
        for term in self.exact_terms:
            if " ".join(term.casefold().split()) in banned:
                raise ValueError(f"exact term '{shown(term)}' is also a banned term")
        return self

    def media_files(self) -> dict[str, str]:
        """The brand fields that name media files: field -> path relative to media/."""
        return {name: getattr(self, name) for name in ("logo", "logo_small") if getattr(self, name)}

    _formats = field_validator("formats")(_formats)

    def steering_palette(self) -> list[str]:
        """The colours a palette-steered model's backgrounds are drawn in."""
        return list(self.palette) if self.palette else [self.colors.accent]

    def generation_part(self) -> dict[str, Any]:
        """The fields that change every model's prompts, and so drafts (the palette too, for
        campaigns the embedded model draws: CampaignInputs.steering_palette)."""
        return {"style": self.style, "negative": self.negative}

    def typography_part(self) -> dict[str, Any]:
        """The fields typesetting and later stages read; alone, they never regenerate a draft."""
        # these fields only when given: a brand without them hashes as it did before them
        optional = ("fonts_by_script", "banned_terms_by_locale", "exact_terms")
        empty = {name for name in optional if not getattr(self, name)}
        return self.model_dump(exclude={"style", "negative", "palette", "budget", *empty})

    def banned_terms_for(self, locale: str | None) -> list[str]:
        """The banned terms for a deliverable: the brand's, and those of its locale."""
        return [*self.banned_terms, *(self.banned_terms_by_locale.get(locale, []) if locale else [])]


# ---------------------------------------------------------------- YAML loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader (no Python object tags) that also rejects duplicate keys."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, label: str) -> Any:
    """Parse a YAML file safely; every failure becomes a Problem naming the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:  # missing, a directory, a symlink loop, unreadable
        raise InputError([Problem(label, "", f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError([Problem(label, "", f"file is {len(raw)} bytes; the limit is {MAX_INPUT_BYTES}")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(label, "", f"not UTF-8 (byte {exc.start})")]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError([Problem(label, "", f"invalid YAML{where}: {reason}")]) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise InputError([Problem(label, "", "invalid YAML: nested too deeply")]) from None
    if data is None:
        raise InputError([Problem(label, "", "file is empty")])
    if not isinstance(data, dict):
        raise InputError([Problem(label, "", f"expected a mapping at the top level, got {type(data).__name__}")])
    return data


def _field_path(loc: tuple, data: Any) -> str:
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            ident = node[item].get("id") if isinstance(node, list) and isinstance(node[item], dict) else None
            parts[-1 if parts else 0 :] = [f"{parts[-1] if parts else ''}[{item}]" + (f"(id={ident})" if ident else "")]
        else:
            parts.append(str(item))
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts)


def _problems(exc: ValidationError, label: str, data: Any) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (typo?)"
        elif err["type"] == "missing":
            message = "required field is missing"
        if (
            "input" in err
            and err["type"] not in ("missing", "extra_forbidden")
            and not isinstance(err["input"], (dict, list))
        ):
            given = err["input"]
            echoed = f"'{shown(given)}'" if isinstance(given, str) else shown(repr(given))
            if echoed not in message:  # a validator of ours may have quoted it already
                message += f" (got {echoed})"
        problems.append(Problem(label, _field_path(loc, data), message))
    return problems


def _validate(model: type[BaseModel], data: dict, label: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(_problems(exc, label, data)) from None


def content_hash(data: Any) -> str:
    """sha256 of a canonical JSON rendering: stable across key order and formatting."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_brand(path: Path, label: str | None = None) -> Brand:
    label = label or str(path)
    data = read_yaml(path, label)
    brand = _validate(Brand, data, label)
    if brand.brand != path.stem:
        raise InputError([Problem(label, "brand", f"'{brand.brand}' must equal the file's stem '{shown(path.stem)}'")])
    return brand


def load_brief(path: Path, label: str | None = None) -> Brief:
    label = label or str(path)
    data = read_yaml(path, label)
    brief = _validate(Brief, data, label)
    if brief.campaign != path.stem:
        raise InputError(
            [Problem(label, "campaign", f"'{brief.campaign}' must equal the file's stem '{shown(path.stem)}'")]
        )
    return brief
