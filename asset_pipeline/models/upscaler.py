"""Diffusion upscaling of draft backgrounds: the registry's `upscale` route (e.g. the SD x4 upscaler).

The upscale stage asks `find_upscaler` for the first model of the route whose weights are
local; with none it scales with Lanczos. A diffusers upscaler enlarges by its VAE's scale
factor (4 for the SD x4 upscaler), so it is fed the smallest input that comes out at least
as large as the deliverable; the result is centre-cropped and scaled to the exact size
(never stretched). Only the background goes through it: the text is drawn afterwards at
final resolution from the layout, so no model ever touches a letter.

Loading shares generation.py's one-pipeline-per-process slot (and its lock), so the
draft model and the upscaler never sit in memory together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from asset_pipeline.framing import crop_to_aspect
from asset_pipeline.models.generation import PIPELINE_LOCK, DraftGenerator, GenerationError, to_images
from asset_pipeline.models.registry import UPSCALE, ModelSpec, Registry
from asset_pipeline.storage.disk import is_disk_full

NOISE_LEVEL = 20  # the x4 upscaler's default: how much noise the low-res input gets before denoising


@dataclass
class DiffusionUpscaler:
    spec: ModelSpec
    weights_sha256: str
    generator: DraftGenerator

    @property
    def engine(self) -> str:
        """What the renders table records: "diffusers:<model id>"."""
        return f"diffusers:{self.spec.id}"

    def cache_part(self) -> dict:
        """Everything about this upscaler that changes its pixels, for the render cache key."""
        return {
            "engine": self.engine,
            "weights": self.weights_sha256,
            "class": self.spec.pipeline_class,
            "steps": self.spec.steps,
            "guidance": self.spec.guidance,
            "scheduler": self.spec.scheduler,
            "noise_level": NOISE_LEVEL,
        }

    def enlarge(self, background: Image.Image, width: int, height: int, prompt: str, seed: int) -> Image.Image:
        """`background` (already cropped to the deliverable's aspect) enlarged to exactly width x height.

        GenerationError when the model fails or makes NaN or black pixels: the caller falls back.
        """
        import torch  # only when a diffusion upscaler runs (see generation.py)

        with PIPELINE_LOCK:  # a pipeline is not thread-safe; one load or call at a time
            pipe = self.generator.load(self.spec)
            factor = int(getattr(pipe, "vae_scale_factor", 4))
            step = self.spec.multiple

            def side(final: int) -> int:  # the input side the model enlarges to >= final
                return max(step, math.ceil(final / factor / step) * step)

            low_res = crop_to_aspect(background.convert("RGB"), side(width), side(height))
            try:
                with torch.inference_mode():
                    out = pipe(
                        prompt=prompt,
                        image=low_res,
                        num_inference_steps=self.spec.steps,
                        guidance_scale=self.spec.guidance,
                        noise_level=NOISE_LEVEL,
                        generator=torch.Generator("cpu").manual_seed(seed),
                        output_type="np",  # checked for NaN before the uint8 conversion hides it
                    )
            except Exception as exc:  # out of memory, or a checkpoint that loads but cannot run
                if is_disk_full(exc):  # the machine's fault, not the model's (storage/disk.py)
                    raise
                raise GenerationError(f"upscaling failed: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
        enlarged = to_images(np.asarray(out.images, dtype=np.float32))[0]
        return crop_to_aspect(enlarged, width, height)


def find_upscaler(registry: Registry) -> DiffusionUpscaler | None:
    """The first model of the registry's upscale route whose weights are local, or None (Lanczos)."""
    for model_id in registry.routes.get(UPSCALE, []):
        spec = registry.models[model_id]
        if registry.weights_present(spec):
            return DiffusionUpscaler(spec, registry.weights_hash(spec), DraftGenerator(registry))
    return None
