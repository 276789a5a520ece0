"""Brief ingestion: load and validate a campaign's brief and brand, expand deliverables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from asset_pipeline.home import Home
from asset_pipeline.specs import Brand, Brief, InputError, Problem, content_hash, load_brand, load_brief, parse_size


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
        """Hash of the brand fields that change only typesetting and later stages."""
        return content_hash(self.brand.typography_part())


def load_campaign(home: Home, campaign: str) -> CampaignInputs:
    """Load and cross-check a campaign's brief and brand; raises InputError."""
    try:
        brief_file = home.brief_path(campaign)
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
    return CampaignInputs(
        brief=brief,
        brand=brand,
        brief_file=brief_file,
        brand_file=brand_file,
        brief_hash=content_hash(brief.model_dump(mode="json")),
        brand_hash=content_hash(brand.model_dump(mode="json")),
        steering_palette=tuple(brand.palette()) if _steered_model_draws(home, brief) else (),
    )


def _steered_model_draws(home: Home, brief: Brief) -> bool:
    """Whether a brand-steered model (`embedded`) is the first model with local weights on some asset's route."""
    from asset_pipeline.models.registry import UnknownModelError, load_registry

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


def expand_deliverables(inputs: CampaignInputs, home: Home) -> list[dict]:
    """One row per deliverable: (asset, variant, size), with everything later stages need."""
    brief, brand = inputs.brief, inputs.brand
    rows = []
    for asset in brief.assets:
        base_seed = asset.seed if asset.seed is not None else default_seed(brief.campaign, asset.id)
        for variant in range(1, asset.variants + 1):
            for size in asset.sizes:
                width, height = parse_size(size)
                rows.append(
                    {
                        "campaign": brief.campaign,
                        "asset": asset.id,
                        "variant": variant,
                        "size": size,
                        "width": width,
                        "height": height,
                        "prompt": join_prompt(asset.prompt, brand.style),
                        "negative_prompt": join_prompt(asset.negative_prompt, brand.negative) or None,
                        "headline": asset.headline,
                        "body": asset.body,
                        "cta": asset.cta,
                        "disclaimer": brand.disclaimer,
                        "tier": asset.tier,
                        "model": asset.model,
                        # variants take consecutive seeds, wrapping inside the 32-bit range
                        "seed": (base_seed + variant - 1) % 2**32,
                        "brief_hash": inputs.brief_hash,
                        "brand": brand.brand,
                        "palette": list(inputs.steering_palette),
                        "brand_hash": inputs.brand_hash,
                        "brief_file": home.relative(inputs.brief_file),
                    }
                )
    return rows
