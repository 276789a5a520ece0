"""Edge-frame benchmark: how far a draft's border band differs from the band inside it.

    python benchmarks/edge_frame.py [--models embedded tiny] [--prompts 16]
                                    [--out benchmarks/results/edge_frame.json]

Generates drafts with each model three ways: as generated before (the canvas edge is the
picture's edge, where every convolution zero-pads: the cause of the tinted frame), with the
pipeline's overscan (models/generation.py EDGE_OVERSCAN_PX: generated larger, the edge
cropped off), and, for comparison, with edge replication instead of zero padding (which
removes the frame too but shifts colours). At three aspects (1:1, 9:16, 4:1); per model and
mode the CIEDE2000 of the 8 px border band against the next 8 px inward
(`checks.edges.edge_band_delta_e`, what the edge_band draft check measures) and of the
outermost 1 px ring alone. The check's threshold EDGE_MAX_DELTA_E comes from these figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from asset_pipeline.checks.edges import EDGE_MAX_DELTA_E, edge_band_delta_e  # noqa: E402
from asset_pipeline.colour import delta_e, lab  # noqa: E402

SUBJECTS = ["ceramic mug on a wooden table", "sneakers on concrete", "perfume bottle", "backpack in a forest"]
PALETTES = ["coral and navy palette", "teal and cream palette", "beige soft gradient", "green and gold palette"]
ASPECTS = [(1080, 1080), (1080, 1920), (728, 90)]


def ring_delta_e(image) -> float:
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    h, w = pixels.shape[:2]
    outer = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]).mean(0)
    inner = pixels[8 : h - 8, 8 : w - 8]
    mask = np.zeros(inner.shape[:2], bool)
    mask[:8], mask[-8:], mask[:, :8], mask[:, -8:] = True, True, True, True
    return float(delta_e(lab(outer), lab(inner[mask].mean(0))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["embedded", "tiny"])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--home", type=Path, default=Path("/tmp/edge-frame-home"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "edge_frame.json")
    args = parser.parse_args()

    from asset_pipeline.models.generation import DraftGenerator, pad_edges
    from asset_pipeline.models.registry import draft_size, load_registry

    args.home.mkdir(parents=True, exist_ok=True)
    registry = load_registry(args.home)
    generator = DraftGenerator(registry)
    prompts = [f"{p}, {s}" for p in PALETTES for s in SUBJECTS][: args.prompts]
    results: dict = {}
    print(
        "| model | padding | 8 px band ΔE median | p95 | max | 1 px ring ΔE median | max | fail at",
        EDGE_MAX_DELTA_E,
        "|",
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for model in args.models:
        spec = registry.models[model]
        pipe = generator.load(spec)
        for mode in ("edge", "overscan", "replicate"):
            pad_edges(pipe, "replicate" if mode == "replicate" else "zeros")
            overscan = None if mode == "overscan" else 0
            bands, rings = [], []
            for width, height in ASPECTS:
                gw, gh = draft_size(spec, width, height)
                seeds = list(range(1, len(prompts) + 1))
                made = generator.generate(spec, prompts, [None] * len(prompts), seeds, gw, gh, overscan=overscan)
                for image in made:
                    bands.append(edge_band_delta_e(image))
                    rings.append(ring_delta_e(image))
            b, r = np.array(bands), np.array(rings)
            results[f"{model}/{mode}"] = {"band": bands, "ring": rings}
            print(
                f"| {model} | {mode} | {np.median(b):.2f} | {np.percentile(b, 95):.2f} | {b.max():.2f} "
                f"| {np.median(r):.2f} | {r.max():.2f} | {int((b > EDGE_MAX_DELTA_E).sum())}/{len(b)} |"
            )
        pad_edges(pipe, "zeros")  # back to the pipeline's own mode
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
