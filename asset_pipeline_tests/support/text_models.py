"""Registry model fixtures whose drafts contain text: the tiny diffusers pipeline,
run for real, with words painted into its output, as real models paint signage.

They are genuine `diffusers.DiffusionPipeline` subclasses loaded by the normal
code path (`from_pretrained` on the tiny model's folder); `register()` makes
them visible to the registry's `pipeline_class` lookup in this process.
"""

from __future__ import annotations

import numpy as np
from diffusers import StableDiffusionPipeline
from PIL import Image, ImageDraw, ImageFont

BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
WORDS = "OPEN DAILY"


def paint_words(array: np.ndarray, words: str = WORDS) -> np.ndarray:
    """A float HWC image in 0..1 with `words` on a light sign across its upper third."""
    image = Image.fromarray((np.clip(array, 0, 1) * 255).round().astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(BOLD, max(12, image.width // 9))
    left, top = image.width // 10, image.height // 5
    box_left, box_top, box_right, box_bottom = draw.textbbox((left, top), words, font=font)
    draw.rectangle((box_left - 6, box_top - 6, box_right + 6, box_bottom + 6), fill=(235, 228, 210))
    draw.text((left, top), words, font=font, fill=(30, 30, 30))
    return np.asarray(image, dtype=np.float32) / 255.0


class SignPaintingPipeline(StableDiffusionPipeline):
    """Paints WORDS into every image it makes."""

    def paints(self, seed: int) -> bool:
        return True

    def __call__(self, *args, generator=None, output_type="pil", **kwargs):
        out = super().__call__(*args, generator=generator, output_type="np", **kwargs)
        generators = generator if isinstance(generator, list) else [generator] * len(out.images)
        images = np.stack(
            [paint_words(image) if self.paints(g.initial_seed()) else image for image, g in zip(out.images, generators)]
        )
        if output_type == "pil":
            images = self.numpy_to_pil(images)
        out.images = images
        return out


class EvenSeedSignPaintingPipeline(SignPaintingPipeline):
    """Paints WORDS only for even seeds: a re-roll with the next (odd) seed is clean."""

    def paints(self, seed: int) -> bool:
        return seed % 2 == 0


def register(monkeypatch) -> None:
    """Make the fixture classes loadable by name, as `pipeline_class` in models.yaml."""
    import diffusers

    monkeypatch.setattr(diffusers, "SignPaintingPipeline", SignPaintingPipeline, raising=False)
    monkeypatch.setattr(diffusers, "EvenSeedSignPaintingPipeline", EvenSeedSignPaintingPipeline, raising=False)


def models_yaml(front: str | None = None) -> str:
    """models.yaml with both fixtures on the tiny model's weights; `front` first in the draft route.

    Not gated: they test the draft checks' re-rolls, which a model that letters its drafts would never
    reach if it had to qualify first (test_evaluations.py tests that gate)."""
    entries = "".join(
        f"""\
  - id: {model_id}
    path: models/tiny
    pipeline_class: {cls}
    steps: 2
    guidance: 0.0
    resolution: 256
    multiple: 16
    tiers: [draft]
    gated: false
"""
        for model_id, cls in (
            ("signpainter", "SignPaintingPipeline"),
            ("even-signpainter", "EvenSeedSignPaintingPipeline"),
        )
    )
    routes = f"routes:\n  draft: [{front}, tiny]\n" if front else "routes:\n  draft: [tiny]\n"
    return "models:\n" + entries + routes
