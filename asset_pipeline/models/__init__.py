"""Models: the registry (ids, paths, routes per tier), the built-in tiny model, and generation.

`registry` and `tiny` are light to import; `generation` imports torch, so it is loaded only
when one of its names is first used (listing or validating models stays fast).
"""

from __future__ import annotations

import os

# Nothing downloads at run time (HF_HUB_OFFLINE=1 by default). Set before huggingface_hub reads it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from asset_pipeline.models.registry import (  # noqa: E402
    ModelSpec,
    Registry,
    UnknownModelError,
    draft_size,
    load_registry,
)
from asset_pipeline.models.tiny import ensure_tiny_model, weights_hash  # noqa: E402

_LAZY = {"DraftGenerator", "GenerationError"}


def __getattr__(name: str):
    if name in _LAZY:
        from asset_pipeline.models import generation

        return getattr(generation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DraftGenerator",
    "GenerationError",
    "ModelSpec",
    "Registry",
    "UnknownModelError",
    "draft_size",
    "ensure_tiny_model",
    "load_registry",
    "weights_hash",
]
