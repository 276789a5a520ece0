"""`asset-pipeline validate`: check briefs, brands and models.yaml without running anything."""

from __future__ import annotations

from pathlib import Path

from asset_pipeline.home import Home
from asset_pipeline.models.registry import TIERS, Registry, load_registry
from asset_pipeline.specs import InputError, Problem, load_brand, load_brief, read_yaml
from asset_pipeline.stages.briefs import load_campaign
from asset_pipeline.typography.fonts import FontError, resolve_font


def _label(home: Home, path: Path) -> str:
    try:
        return home.relative(path)
    except ValueError:
        return str(path)


def check_brand_fonts(home: Home, brand_file: Path) -> list[Problem]:
    brand = load_brand(brand_file, _label(home, brand_file))
    problems = []
    for role in ("headline", "body"):
        name = getattr(brand.fonts, role)
        try:
            resolve_font(name, brand_file.parent)
        except FontError as exc:
            problems.append(Problem(_label(home, brand_file), f"fonts.{role}", str(exc)))
    return problems


def check_campaign(home: Home, campaign: str, registry: Registry | None) -> list[Problem]:
    """Every problem that would stop a campaign from running: schema, brand, fonts, models."""
    try:
        inputs = load_campaign(home, campaign)
    except InputError as exc:
        return exc.problems
    problems = check_brand_fonts(home, inputs.brand_file)
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
    return problems


def load_registry_checked(home: Home) -> tuple[Registry | None, list[Problem]]:
    try:
        return load_registry(home.root), []
    except InputError as exc:
        return None, exc.problems


def validate_file(home: Home, path: Path, registry: Registry | None) -> list[Problem]:
    label = _label(home, path)
    try:
        if path.name == "models.yaml":
            return load_registry_checked(Home(path.parent.resolve()))[1]
        data = read_yaml(path, label)
        if "campaign" in data or path.parent.name == "briefs":
            if path.parent.resolve() == home.briefs.resolve():
                return check_campaign(home, path.stem, registry)
            load_brief(path, label)
            return []
        if "brand" in data or path.parent.name == "brands":
            return check_brand_fonts(home, path)
        return [Problem(label, "", "neither a brief (has 'campaign') nor a brand file (has 'brand')")]
    except InputError as exc:
        return exc.problems


def validate_home(home: Home, files: list[Path] | None = None) -> list[Problem]:
    registry, problems = load_registry_checked(home)
    if files:
        for path in files:
            problems += validate_file(home, path, registry)
        return problems
    for path in sorted(home.brands.glob("*.yaml")) if home.brands.is_dir() else []:
        problems += validate_file(home, path, registry)
    for campaign in home.campaign_ids():
        problems += check_campaign(home, campaign, registry)
    return problems
