"""The drafts stage's input for tests: brief rows for one asset, and generating their drafts."""

from __future__ import annotations

from pathlib import Path

from asset_pipeline.home import Home
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import load_registry
from asset_pipeline.stages.drafts import generate_drafts


def brief_rows(model: str | None, seed: int, variants: int = 1, sizes=((256, 256),)) -> list[dict]:
    """Brief rows (the drafts stage's input) for one asset "hero" of campaign "c"."""
    return [
        {
            "campaign": "c",
            "asset": "hero",
            "variant": v,
            "size": f"{w}x{h}",
            "width": w,
            "height": h,
            "tier": "draft",
            "model": model,
            "prompt": "ceramic mug",
            "negative_prompt": None,
            "seed": seed + v - 1,
        }
        for v in range(1, variants + 1)
        for w, h in sizes
    ]


def drafts_for(home: Path, rows: list[dict], max_attempts: int = 3) -> list[dict]:
    """The drafts rows `generate_drafts` makes for `rows` with the home's registry."""
    return generate_drafts(rows, load_registry(home), DraftGenerator(), Home(home), max_attempts=max_attempts)
