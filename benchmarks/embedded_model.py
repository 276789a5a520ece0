"""Evaluation of the embedded draft model on held-out prompts.

    .venv/bin/python benchmarks/embedded_model.py [--prompts 100] [--out benchmarks/results/embedded_model.json]
                                                  [--sheet docs/embedded-model.png] [--weights FOLDER]

100 prompts naming colours (name and hex, as brand steering writes them) and a pattern,
from the (colour pair, pattern) combinations the training corpus never draws
(training.corpus.held_out_prompts), each generated at 512x512 through
`DraftGenerator` with the registry's settings for `embedded`. Reports (definitions in
training/evaluate.py):

- colour adherence: share of images whose dominant colours are all within CIEDE2000 ΔE 20
  of the named colours; coverage: share where every named colour is present. Both for the
  model as shipped (with its palette grade, models/grading.py) and for the diffusion
  pipeline alone (`palette_grade` 0), so each part's share is plain;
- pattern adherence: a nearest-centroid classifier over spectral features, fitted on corpus
  renders; the same classifier's accuracy on the corpus's own renders of the same held-out
  prompts is the ceiling;
- diversity: mean pixelwise ΔE between 4 seeds of the first 16 prompts;
- seconds per 512 px draft (wall clock, this machine, its current load shown);
- the VAE's ceiling: colour adherence of 30 corpus images after a VAE round trip alone.

Also saves the contact sheet of those 16 prompts x 4 seeds. Markdown on stdout, JSON at --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # training/ lives beside the package, outside the wheel
    sys.path.insert(0, str(REPO))

from asset_pipeline.models import DraftGenerator, load_registry  # noqa: E402
from asset_pipeline.models.embedded import EMBEDDED_ID  # noqa: E402
from training.corpus import held_out_prompts, render  # noqa: E402
from training.evaluate import PatternClassifier, colour_check, diversity, vae_round_trip  # noqa: E402


def contact_sheet(rows: list[tuple[str, list[Image.Image]]], cell: int = 160) -> Image.Image:
    label_width = 420
    sheet = Image.new("RGB", (label_width + cell * len(rows[0][1]), cell * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype("DejaVuSans.ttf", 13) if _has_font() else ImageFont.load_default()
    for r, (prompt, images) in enumerate(rows):
        words, lines = prompt.split(), [""]
        for word in words:  # wrap the prompt into the label column
            if draw.textlength(lines[-1] + " " + word, font=font) > label_width - 16:
                lines.append(word)
            else:
                lines[-1] = (lines[-1] + " " + word).strip()
        draw.multiline_text((8, r * cell + 8), "\n".join(lines), fill="black", font=font)
        for c, image in enumerate(images):
            sheet.paste(image.resize((cell, cell), Image.LANCZOS), (label_width + c * cell, r * cell))
    return sheet


def _has_font() -> bool:
    try:
        ImageFont.truetype("DejaVuSans.ttf", 13)
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "embedded_model.json")
    parser.add_argument("--sheet", type=Path, default=REPO / "docs" / "embedded-model.png")
    parser.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="evaluate this pipeline folder (a training run's output) instead of the committed weights",
    )
    args = parser.parse_args()

    registry = load_registry(Path(tempfile.mkdtemp(prefix="embedded-bench-")))
    spec = registry.get(EMBEDDED_ID)
    if args.weights:
        spec = spec.model_copy(update={"path": str(args.weights.resolve())})
    raw_spec = spec.model_copy(update={"palette_grade": 0.0})  # the diffusion pipeline alone
    generator = DraftGenerator(registry)
    started = time.perf_counter()
    generator.load(spec)
    load_s = time.perf_counter() - started
    generator.generate(spec, ["warm-up"], [None], [0], 512, 512)  # first call builds oneDNN kernels

    prompts = held_out_prompts(args.prompts)
    classifier = PatternClassifier()
    seconds, results, sheet_rows = [], [], []
    for index, (prompt, pattern, colours) in enumerate(prompts):
        seeds = [0, 1, 2, 3] if index < 16 else [0]
        images = []
        for seed in seeds:
            t0 = time.perf_counter()
            images += generator.generate(spec, [prompt], [None], [seed], 512, 512)
            seconds.append(time.perf_counter() - t0)
        reference = render(pattern, colours, 256, np.random.default_rng(index))[0]
        reference = Image.fromarray((reference * 255 + 0.5).astype(np.uint8))
        colour = colour_check(images[0], colours)
        raw = generator.generate(raw_spec, [prompt], [None], [0], 512, 512)[0]
        raw_colour = colour_check(raw, colours)
        results.append(
            {
                "prompt": prompt,
                "pattern": pattern,
                "colours": colours,
                **colour,
                "predicted_pattern": classifier.predict(images[0]),
                "raw_adherent": raw_colour["adherent"],
                "raw_covered": raw_colour["covered"],
                "raw_worst_delta_e": raw_colour["worst_delta_e"],
                "raw_predicted_pattern": classifier.predict(raw),
                "corpus_colour_adherent": colour_check(reference, colours)["adherent"],
                "corpus_predicted_pattern": classifier.predict(reference),
                "diversity": round(diversity(images), 2) if len(images) > 1 else None,
            }
        )
        if index < 16:
            sheet_rows.append((prompt, images))
        print(f"{index + 1}/{len(prompts)} {prompt}: {colour} {results[-1]['predicted_pattern']}", flush=True)

    vae = vae_round_trip(generator.load(spec).vae)
    n = len(results)
    summary = {
        "prompts": n,
        "colour_adherence": sum(r["adherent"] for r in results) / n,
        "colour_coverage": sum(r["covered"] for r in results) / n,
        "pattern_adherence": sum(r["predicted_pattern"] == r["pattern"] for r in results) / n,
        "raw_colour_adherence": sum(r["raw_adherent"] for r in results) / n,
        "raw_colour_coverage": sum(r["raw_covered"] for r in results) / n,
        "raw_pattern_adherence": sum(r["raw_predicted_pattern"] == r["pattern"] for r in results) / n,
        "corpus_colour_adherence": sum(r["corpus_colour_adherent"] for r in results) / n,
        "corpus_pattern_accuracy": sum(r["corpus_predicted_pattern"] == r["pattern"] for r in results) / n,
        "diversity_delta_e": statistics.mean(r["diversity"] for r in results if r["diversity"] is not None),
        "seconds_per_512_draft_median": statistics.median(seconds),
        "seconds_per_512_draft_min": min(seconds),
        "vae_round_trip": vae,
        "load_s": load_s,
        "steps": spec.steps,
        "guidance": spec.guidance,
        "palette_grade": spec.palette_grade,
    }
    machine = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "summary": summary, "results": results}, indent=1))
    args.sheet.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(sheet_rows).save(args.sheet, optimize=True)

    print(
        f"\n| measure | embedded model (palette grade {spec.palette_grade}) | diffusion alone (no grade) | corpus renders (ceiling) |"
    )
    print("|---|---|---|---|")
    print(
        f"| colour adherence (dominant colours within ΔE 20) | {summary['colour_adherence']:.0%} | "
        f"{summary['raw_colour_adherence']:.0%} | {summary['corpus_colour_adherence']:.0%} |"
    )
    print(
        f"| colour coverage (every named colour present) | {summary['colour_coverage']:.0%} | "
        f"{summary['raw_colour_coverage']:.0%} | |"
    )
    print(
        f"| pattern adherence (classifier) | {summary['pattern_adherence']:.0%} | "
        f"{summary['raw_pattern_adherence']:.0%} | {summary['corpus_pattern_accuracy']:.0%} |"
    )
    print(f"| diversity across 4 seeds (mean ΔE) | {summary['diversity_delta_e']:.1f} | | |")
    print(
        f"| s per 512 px draft (median / min; {spec.steps} steps, guidance {spec.guidance}) | "
        f"{summary['seconds_per_512_draft_median']:.2f} / {summary['seconds_per_512_draft_min']:.2f} | | |"
    )
    print(
        f"| VAE round trip alone: corpus images colour-adherent (before -> after) | "
        f"{vae['adherent_before']:.0%} -> {vae['adherent_after']:.0%} (mean pixel ΔE {vae['mean_pixel_delta_e']:.1f}) | | |"
    )
    print(f"\nload average during the run: {machine['load_average']}; JSON: {args.out}; sheet: {args.sheet}")


if __name__ == "__main__":
    main()
