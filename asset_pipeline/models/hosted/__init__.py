"""Hosted models as registry entries: OpenAI's Images API, Ideogram, Google's Gemini API.

An entry with a `provider` is drawn by that provider's adapter instead of a diffusers pipeline
(models/generation.py hands it over). What the pipeline asks of it is what it asks of a local
model: an image of the key visual's canvas, whose size `nearest_size` chose among the sizes
the provider offers. Its key is read from the environment variable the entry names, at the
moment of the request, and goes nowhere else: errors are redacted, provenance names the
variable's owner (the provider) and never its value.

A key the provider refuses is remembered for KEY_REFUSAL_S (by a digest, never the key), so a
run meets the refusal once, as one line, and every later draft of that model falls back at
once instead of asking again. Outside this package the rest of the project sees only
`is_hosted`, `unavailable`, `fingerprint`, `price_per_image` and `draft_columns`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from typing import Any

from PIL import Image

from asset_pipeline.models.hosted.calls import HostedError, KeyMissing, KeyRejected, with_retries
from asset_pipeline.models.hosted.catalog import DEFAULT_KEY_ENV, PROVIDERS, nearest_size, offer, with_negative
from asset_pipeline.models.hosted.prices import entry_quality, list_price, price_per_image
from asset_pipeline.models.hosted.request import HostedRequest, png_bytes

__all__ = [
    "PROVIDERS",
    "HostedError",
    "HostedGenerator",
    "draft_columns",
    "fingerprint",
    "is_hosted",
    "key_env",
    "list_price",
    "nearest_size",
    "price_per_image",
    "unavailable",
]

log = logging.getLogger(__name__)
KEY_REFUSAL_S = 600.0  # how long a refused key is not tried again by this process


def is_hosted(spec: Any) -> bool:
    return getattr(spec, "provider", None) is not None


def key_env(spec: Any) -> str:
    return spec.api_key_env or DEFAULT_KEY_ENV[spec.provider]


def unavailable(spec: Any) -> str | None:
    """Why the entry cannot be called now (its key is not set, or its model was shut down where
    no SDK call reaches it); None when it can."""
    if spec.path.startswith("imagen-") and spec.provider == "google":
        return f"retired by Google on {offer('google', spec.path).retired}"
    if not os.environ.get(key_env(spec)):
        return f"{key_env(spec)} is not set"
    return None


def fingerprint(spec: Any) -> str:
    """What stands for a hosted entry's weights in its drafts' cache key: the provider, its model
    and the parameters sent (quality, options). Not the base_url: a proxy serves the same model."""
    from asset_pipeline.specs import content_hash

    return content_hash(
        {"provider": spec.provider, "model": spec.path, "quality": entry_quality(spec), "options": spec.options}
    )


class HostedGenerator:
    """Draws images with hosted entries. One per process (DraftGenerator holds it)."""

    def __init__(self):
        self._refused: dict[tuple[str, str], tuple[float, KeyRejected]] = {}
        self._lock = threading.Lock()

    def generate(
        self,
        spec: Any,
        prompts: list[str],
        negatives: list[str | None],
        seeds: list[int],
        width: int,
        height: int,
        reference: Image.Image | None = None,
        strength: float = 0.6,
    ) -> list[Image.Image]:
        """One image per (prompt, negative, seed), each exactly width x height (a size the model
        offers: `nearest_size`), its provenance in `image.info["hosted"]`."""
        env = key_env(spec)
        key = os.environ.get(env)
        if not key:
            raise KeyMissing(f"{env} is not set")
        memo = (spec.id, hashlib.sha256(key.encode()).hexdigest())
        with self._lock:
            refused = self._refused.get(memo)
        if refused and time.monotonic() - refused[0] < KEY_REFUSAL_S:
            raise refused[1]
        model = offer(spec.provider, spec.path)
        if (width, height) not in model.sizes:
            raise HostedError(f"{spec.path} does not draw {width}x{height}; it offers {_sizes(model.sizes)}")
        if reference is not None and not model.references:
            raise HostedError(f"{spec.provider} {spec.path} takes no reference image")
        adapter = _adapter(spec.provider)
        steer = png_bytes(reference) if reference is not None else None
        images = []
        for prompt, negative, seed in zip(prompts, negatives, seeds):
            sent, negative = with_negative(prompt, negative, model.negative)
            request = HostedRequest(
                model=spec.path,
                prompt=sent,
                negative=negative,
                seed=seed,
                size=(width, height),
                size_name=model.sizes[(width, height)],
                quality=entry_quality(spec),
                base_url=spec.base_url,
                timeout=spec.timeout,
                reference=steer,
                reference_strength=strength,
                options=dict(spec.options),
            )
            try:
                made = with_retries(lambda request=request: adapter(request, key), spec.retries)
            except KeyRejected as exc:
                with self._lock:
                    first = memo not in self._refused
                    self._refused[memo] = (time.monotonic(), exc)
                if first:  # once per run (and key), not once per draft
                    log.warning("%s: %s; its drafts fall back to the next model of their route", spec.id, exc)
                raise
            image = made.image
            if image.size != (width, height):  # a provider may answer a few px off its own table
                image = image.resize((width, height), Image.Resampling.LANCZOS)
            image.info["hosted"] = {
                "provider": spec.provider,
                "provider_model": spec.path,
                "provider_model_version": made.model_version,
                "provider_request_id": made.request_id,
                "revised_prompt": made.revised_prompt,
                "prompt_sent": sent,
            }
            images.append(image)
        return images


def _sizes(sizes) -> str:
    return ", ".join(f"{w}x{h}" for w, h in sizes)


def _adapter(provider: str):
    # Imported on first use: each SDK costs import time that local-only runs never pay.
    if provider == "openai":
        from asset_pipeline.models.hosted import openai_images

        return openai_images.generate
    if provider == "ideogram":
        from asset_pipeline.models.hosted import ideogram

        return ideogram.generate
    from asset_pipeline.models.hosted import gemini

    return gemini.generate


def draft_columns(spec: Any, entry: dict | None, width: int, height: int) -> dict:
    """The drafts row's hosted columns for a draft of `spec` whose cache entry is `entry`:
    provenance (provider, model version, request id, revised prompt) and the image's list
    price. Empty for a local model (the row's defaults say: reproducible, no provider)."""
    if not is_hosted(spec):
        return {}
    call = (entry or {}).get("hosted") or {}
    price = price_per_image(spec, (width, height))
    return {
        "provider": spec.provider,
        "provider_model": spec.path,
        "provider_model_version": call.get("provider_model_version"),
        "provider_request_id": call.get("provider_request_id"),
        "revised_prompt": call.get("revised_prompt"),
        "reproducible": False,
        "price_per_image": price[0] if price else None,
        "price_currency": price[1] if price else None,
    }


def provenance_chunks(draft: dict) -> dict[str, str]:
    """A hosted draft's provenance for the published file's PNG chunks / XMP: who drew it, the
    version and request id the provider answered, the prompt it drew; empty for a local model."""
    if not draft.get("provider"):
        return {}
    return {
        "reproducible": "false",
        "provider": draft["provider"],
        "provider_model": draft.get("provider_model") or "",
        "provider_model_version": draft.get("provider_model_version") or "",
        "provider_request_id": draft.get("provider_request_id") or "",
        **({"revised_prompt": draft["revised_prompt"]} if draft.get("revised_prompt") else {}),
    }
