"""Evaluation fixtures: a small suite (seconds, not minutes, with the tiny model) and model
folders derived from the tiny one: changed weights, and weights whose every image is black."""

from __future__ import annotations

import shutil
from pathlib import Path

SMALL_SUITE = """\
palettes:
  coral: ["#FF5A36", "#FFF3E0"]
repeat: 1
extend: {extend}
typeset: {typeset}
copy: {{headline: "Spring Sale"}}
prompts:
  - {{id: mug, kind: product, seed: 101, palette: coral, prompt: "ceramic mug on a wooden table"}}
  - {{id: shop-sign, kind: text_bait, seed: 104, prompt: "a bakery shop front with a large painted sign"}}
"""


def use_small_suite(home: Path, extend: int = 1, typeset: int = 1, extra_config: str = "") -> None:
    """Point the home's config.yaml at a two-prompt suite (each evaluation: about five tiny images)."""
    (home / "eval-suite.yaml").write_text(SMALL_SUITE.format(extend=extend, typeset=typeset), encoding="utf-8")
    (home / "config.yaml").write_text("evaluation: {suite: eval-suite.yaml}\n" + extra_config, encoding="utf-8")


def copy_weights(tiny: Path, folder: Path) -> Path:
    """A real copy of the tiny pipeline folder (the home's models/tiny is a link to a shared build)."""
    shutil.copytree(Path(tiny).resolve(), folder)
    return folder


def _edit_tensors(path: Path, edit) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(path)
    edit(tensors)
    save_file(tensors, path)


def change_weights(folder: Path) -> None:
    """Nudge one UNet weight: new weights under the same path, as a retrained model arrives."""

    def nudge(tensors):
        name = sorted(tensors)[0]
        tensors[name] = tensors[name] + 1e-3

    _edit_tensors(folder / "unet" / "diffusion_pytorch_model.safetensors", nudge)


def blacken(folder: Path) -> None:
    """Make the VAE decoder's last convolution output -10 everywhere: every image decodes black
    (the fp16 VAE failure mode), which the generator refuses."""

    def black(tensors):
        tensors["decoder.conv_out.weight"] = tensors["decoder.conv_out.weight"] * 0
        tensors["decoder.conv_out.bias"] = tensors["decoder.conv_out.bias"] * 0 - 10.0

    _edit_tensors(folder / "vae" / "diffusion_pytorch_model.safetensors", black)


def entry(model_id: str, path: str, pipeline_class: str = "StableDiffusionPipeline", extra: str = "") -> str:
    """A models.yaml entry on tiny-sized weights."""
    return (
        f"  - {{id: {model_id}, path: {path}, pipeline_class: {pipeline_class}, steps: 2, guidance: 0.0, "
        f"resolution: 256, multiple: 16, tiers: [draft, final]{extra}}}\n"
    )
