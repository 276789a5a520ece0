"""`asset-pipeline validate`: check briefs, brands, media and models.yaml without running anything,
and lay out every deliverable (pre-flight, no model) to report what cannot be set.

Every input problem leaves as a `Problem` (file, field, what is wrong), whatever raised it:
a schema error, a symlink loop or a link out of the home, a directory where a file should be,
YAML nested too deeply, a value the OS refuses. `as_problems` is that net.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

from asset_pipeline.config import CONFIG_FILE, load_config
from asset_pipeline.echo import shown
from asset_pipeline.feeds import load_brief, read_feed
from asset_pipeline.home import Home, HomePathError
from asset_pipeline.models.registry import TIERS, Registry, load_registry
from asset_pipeline.specs import InputError, Problem, is_identifier, load_brand, read_yaml
from asset_pipeline.stages.briefs import expand_deliverables, keep_references, load_campaign
from asset_pipeline.stages.preflight import asset_products, brand_logos, check_budget, preflight_problems
from asset_pipeline.typography.fonts import FontError, resolve_font


def _label(home: Home, path: Path) -> str:
    """The path as named (relative to the home when it is in it), without following links."""
    absolute = Path(os.path.abspath(path))
    for candidate in (absolute, absolute.parent.resolve() / absolute.name):
        try:
            return candidate.relative_to(home.root).as_posix()
        except ValueError:
            continue
    return str(path)


def campaign_id_problems(campaigns: list[str], where: str, field: str = "campaign") -> list[Problem]:
    """A problem per campaign id that is not a valid id (checked before the home or Dagster is touched)."""
    return [
        Problem(where, field, f"'{shown(c)}' is not a campaign id (lowercase ASCII letters, digits, _ and -)")
        for c in campaigns
        if not is_identifier(c)
    ]


def input_problems(label: str, exc: BaseException) -> list[Problem] | None:
    """The problems an exception met while reading input stands for; None when it is not about input.

    A full disk is not an input problem: the caller re-raises it, to fail with its own line.
    """
    if isinstance(exc, InputError):
        return exc.problems
    if isinstance(exc, HomePathError):
        return [Problem(exc.relative, "", exc.reason)]
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return None
        return [Problem(label, "", f"cannot read: {exc.strerror or exc}")]
    if isinstance(exc, RecursionError):
        return [Problem(label, "", "nested too deeply")]
    if isinstance(exc, (ValueError, RuntimeError)):  # UnicodeDecodeError is a ValueError; a symlink loop a RuntimeError
        return [Problem(label, "", f"{type(exc).__name__}: {exc}")]
    return None


def as_problems(label: str, check: Callable[[], list[Problem]]) -> list[Problem]:
    """`check()`'s problems, with any input-shaped exception it raises turned into problems too."""
    try:
        return check()
    except Exception as exc:
        problems = input_problems(label, exc)
        if problems is None:
            raise
        return problems


def check_brand_fonts(home: Home, brand_file: Path) -> list[Problem]:
    """The brand's fonts resolve and its media (logo, logo_small) are usable files inside media/."""
    label = _label(home, brand_file)
    brand = load_brand(brand_file, label)
    problems = []
    try:
        brand_logos(home, brand, label)
    except InputError as exc:
        problems += exc.problems
    for role in ("headline", "body"):
        name = getattr(brand.fonts, role)
        try:
            resolve_font(name, brand_file.parent)
        except FontError as exc:
            problems.append(Problem(_label(home, brand_file), f"fonts.{role}", str(exc)))
    return problems


def check_campaign(
    home: Home, campaign: str, registry: Registry | None, brief_file: Path | None = None
) -> list[Problem]:
    """Every problem that would stop a campaign from running: schema, brand, fonts, media, models.

    `brief_file`: the brief to check instead of briefs/<campaign>.yaml (one not written yet)."""
    if not is_identifier(campaign):
        return campaign_id_problems([campaign], where=f"briefs/{campaign}.yaml")
    return as_problems(f"briefs/{campaign}.yaml", lambda: _check_campaign(home, campaign, registry, brief_file))


def check_layouts(home: Home, campaign: str, brief_file: Path | None = None) -> list[Problem]:
    """Pre-flight: every problem of every deliverable that cannot be laid out, with no model
    (`briefs/x.yaml: asset hero, 160x600: headline needs 3 lines at 14 px, 2 allowed`).

    Call it for a campaign `check_campaign` passed."""
    label = f"briefs/{campaign}.yaml"

    def check() -> list[Problem]:
        inputs = load_campaign(home, campaign, brief_file=brief_file)
        logos = brand_logos(home, inputs.brand, _label(home, inputs.brand_file))
        products = asset_products(home, inputs.brief, label)
        deliverables = expand_deliverables(inputs, home)
        return preflight_problems(label, deliverables, inputs.brand, inputs.brand_file.parent, logos, products)

    return as_problems(label, check)


def check_campaign_budget(home: Home, campaign: str, registry: Registry, gate) -> list[Problem]:
    """Pre-flight's budget check (stages/preflight.check_budget): one problem when the campaign's planned
    drafts cost more than its budget. Call it for a campaign `check_campaign` passed."""
    label = f"briefs/{campaign}.yaml"

    def check() -> list[Problem]:
        inputs = load_campaign(home, campaign, registry)
        deliverables = expand_deliverables(inputs, home)
        over = check_budget(home, campaign, inputs.brief, inputs.brand, deliverables, registry, gate)
        return [Problem(label, "budget", over.removeprefix("budget: "))] if over else []

    return as_problems(label, check)


def _check_campaign(home: Home, campaign: str, registry: Registry | None, brief_file: Path | None) -> list[Problem]:
    try:
        inputs = load_campaign(home, campaign, brief_file=brief_file)
    except HomePathError as exc:  # load_campaign reports the brief's own path; this is the brand's
        return [Problem(f"briefs/{campaign}.yaml", "brand", f"{exc.relative} {exc.reason}")]
    problems = check_brand_fonts(home, inputs.brand_file)
    try:  # every product shot is a usable image: alpha, or a plain backdrop to cut out
        asset_products(home, inputs.brief, f"briefs/{campaign}.yaml")
    except InputError as exc:
        problems += exc.problems
    try:  # every reference image is a usable image
        keep_references(home, inputs, keep=False)
    except InputError as exc:
        problems += exc.problems
    if registry is not None:
        for index, asset in enumerate(inputs.brief.assets):
            if asset.model is not None and asset.model not in registry.models:
                problems.append(
                    Problem(
                        f"briefs/{campaign}.yaml",
                        f"assets[{index}](id={asset.id}).model",
                        f"unknown model {asset.model!r}; known: {', '.join(sorted(registry.models))}",
                    )
                )
            elif asset.model is not None and not set(registry.models[asset.model].tiers) & set(TIERS):
                problems.append(
                    Problem(
                        f"briefs/{campaign}.yaml",
                        f"assets[{index}](id={asset.id}).model",
                        f"model {asset.model!r} is an upscaler, not a draft model",
                    )
                )
            elif asset.model is not None and asset.reference and not takes_references(registry.models[asset.model]):
                spec = registry.models[asset.model]
                problems.append(
                    Problem(
                        f"briefs/{campaign}.yaml",
                        f"assets[{index}](id={asset.id}).reference",
                        f"model {asset.model!r} ({spec.provider} {spec.path}) takes no reference image; "
                        "name a model that does, or drop the reference",
                    )
                )
    return problems


def takes_references(spec) -> bool:
    """Whether a model can be steered by a reference image: every local one; a hosted one where
    its provider's API takes an image (models/hosted/catalog.py)."""
    if spec.provider is None:
        return True
    from asset_pipeline.models.hosted.catalog import offer

    return offer(spec.provider, spec.path).references


def load_registry_checked(home: Home) -> tuple[Registry | None, list[Problem]]:
    try:
        return load_registry(home.root), []
    except Exception as exc:
        problems = input_problems("models.yaml", exc)
        if problems is None:
            raise
        return None, problems


def config_problems(home: Home) -> list[Problem]:
    """The home's config.yaml and its signer (the one it names, or keys/'s): readable, the key
    matching the certificate, unexpired; checked without writing anything."""
    from asset_pipeline.publishing import content_credentials

    def check() -> list[Problem]:
        if content_credentials.available():
            content_credentials.check_signer(home)
        else:
            load_config(home)
        return []

    return as_problems(CONFIG_FILE, check)


def validate_file(home: Home, path: Path, registry: Registry | None) -> list[Problem]:
    label = _label(home, path)
    return as_problems(label, lambda: _validate_file(home, path, label, registry))


def _validate_file(home: Home, path: Path, label: str, registry: Registry | None) -> list[Problem]:
    if path.name == "models.yaml":
        return load_registry_checked(Home(path.parent.resolve()))[1]
    if path.name == CONFIG_FILE:
        return config_problems(Home(path.parent.resolve()))
    in_home = path.parent.resolve() in (home.briefs.resolve(), home.brands.resolve())
    if in_home:  # a brief or brand linked out of the home (or into a loop) is refused, as when it runs
        home.inside(path.parent.name, path.name)
    if path.suffix.lower() == ".csv":  # a feed on its own: its rows (the brief that names it checks ids)
        read_feed(path, label)
        return []
    data = read_yaml(path, label)
    if "campaign" in data or path.parent.name == "briefs":
        if path.parent.resolve() == home.briefs.resolve():
            return check_campaign(home, path.stem, registry) or check_layouts(home, path.stem)
        load_brief(path, label)
        return []
    if "brand" in data or path.parent.name == "brands":
        return check_brand_fonts(home, path)
    return [Problem(label, "", "neither a brief (has 'campaign') nor a brand file (has 'brand')")]


def validate_home(home: Home, files: list[Path] | None = None) -> list[Problem]:
    registry, problems = load_registry_checked(home)
    if files:
        for path in files:
            problems += validate_file(home, path, registry)
        return problems
    problems += config_problems(home)
    for path in sorted(home.brands.glob("*.yaml")) if home.brands.is_dir() else []:
        problems += validate_file(home, path, registry)
    for campaign in home.campaign_ids():
        found = check_campaign(home, campaign, registry)
        problems += found or check_layouts(home, campaign)
    return problems
