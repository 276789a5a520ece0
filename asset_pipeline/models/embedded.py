"""The embedded default draft model: where its weights live, its colour names, and brand steering.

The weights (a standard diffusers `StableDiffusionPipeline` folder, about 30 MB of fp16
safetensors) ship inside the package under `embedded_weights/`, so a clean clone makes
useful backgrounds with nothing downloaded. `make train-embedded` rebuilds them
(training/). The model knows the colour names below, and hex codes, from
its training captions; a brand's colours are put in front of the prompt in those words.

Light to import: no torch, no diffusers (naming a colour imports scikit-image).
"""

from __future__ import annotations

from pathlib import Path

from asset_pipeline.colour import delta_e, hex_to_rgb, lab

EMBEDDED_ID = "embedded"
EMBEDDED_PATH = str(Path(__file__).resolve().parent / "embedded_weights")

# The colour vocabulary of the training captions: name -> sRGB hex. Spread over hue and
# lightness so that neighbours are well apart (CIEDE2000), and each name is one a brief
# writer would use.
COLOURS: dict[str, str] = {
    "white": "#ffffff",
    "ivory": "#f6f1e1",
    "beige": "#d9c7a7",
    "sand": "#c2a878",
    "silver": "#b8bcc2",
    "grey": "#808388",
    "charcoal": "#2e3033",
    "black": "#111111",
    "navy": "#1b2a57",
    "blue": "#2f6fd6",
    "sky blue": "#87c3eb",
    "teal": "#11807f",
    "turquoise": "#3cc8c0",
    "mint": "#a6e3c4",
    "green": "#3a9a48",
    "forest green": "#1f4d2b",
    "olive": "#7a7a2e",
    "lime": "#b5d93a",
    "yellow": "#f5d32c",
    "mustard": "#c99a1e",
    "gold": "#d4a84a",
    "orange": "#f28a24",
    "peach": "#f7b58e",
    "coral": "#f26b5b",
    "red": "#d42a2a",
    "burgundy": "#6e1a2c",
    "pink": "#f29ab8",
    "magenta": "#c4288f",
    "lavender": "#b6a6e0",
    "purple": "#6c3aa8",
    "plum": "#5b2a4f",
    "brown": "#7a4a2a",
    "terracotta": "#c0603c",
    "cream": "#f3e6c4",
}


def colour_name(hex_code: str) -> str:
    """The caption name nearest to `hex_code` by CIEDE2000 (plain Lab distance calls #ff5a36 red, not coral)."""
    import numpy as np

    names = list(COLOURS)
    labs = lab([hex_to_rgb(hex_code)] + [hex_to_rgb(COLOURS[n]) for n in names])
    return names[int(np.argmin(delta_e(np.repeat(labs[:1], len(names), 0), labs[1:])))]


def palette_phrase(hex_codes: list[str]) -> str:
    """'coral (#ff5a36), white (#ffffff) and charcoal (#1a1a1a) palette': the captions' own form."""
    unique = list(dict.fromkeys(code.lower() for code in hex_codes))
    parts = [f"{colour_name(code)} ({code})" for code in unique]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{listed} palette"


def steered_prompt(prompt: str, hex_codes: list[str]) -> str:
    """The palette goes first: the text encoder reads 77 tokens, and a long brief must not cut it off."""
    if not hex_codes:
        return prompt
    return f"{palette_phrase(hex_codes)}, {prompt}" if prompt else palette_phrase(hex_codes)


def brand_steering(palette: list[str] | None):
    """A function (job, spec) -> job that puts `palette` (hex codes) in the prompt when `spec.brand_steering`.

    Other models (all but `embedded`, unless models.yaml says otherwise) get the job unchanged:
    their prompts, and so their cached drafts, stay as they were.
    """
    import dataclasses

    def steer(job, spec):
        if not spec.brand_steering or not palette:
            return job
        return dataclasses.replace(job, prompt=steered_prompt(job.prompt, palette))

    return steer
