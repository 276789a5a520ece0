"""The obvious hand-written script: what a team writes before it has a pipeline.

    python benchmarks/obvious_script.py HOME CAMPAIGN MODEL_FOLDER OUT_FOLDER [--resolution 256] [--multiple 16]
                                        [--steps 2] [--guidance 0] [--tesseract-threads N]

Reads the brief and brand YAML, loads the diffusers pipeline once, and for every asset and
variant generates one draft at the model's native area in the first size's aspect; for
every size of it, it crops the centre and scales it to the deliverable size with Lanczos, draws headline, body, CTA and disclaimer
with Pillow in the lower part of the image on a dark plate, runs tesseract on each text
block and compares it with the expected text, and saves the PNG. Sequential, no cache,
no catalog. It imports nothing from asset_pipeline: it is the baseline the pipeline is
measured against (benchmarks/pipeline.py), not a second implementation.

`--tesseract-threads 1` is the one tuning a careful author would add: tesseract's OpenMP
threads spin against each other on some 2-core machines (a crop read in 1.8 s instead of
0.2 s on an Intel Xeon VM). It is set after torch is loaded, so only tesseract sees it.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytesseract
import torch
import yaml
from diffusers import DiffusionPipeline
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

MAX_ASPECT = 4.0


def draft_size(width: int, height: int, resolution: int, multiple: int) -> tuple[int, int]:
    aspect = min(max(width / height, 1 / MAX_ASPECT), MAX_ASPECT)
    area = resolution * resolution

    def to_multiple(side: float) -> int:
        return max(multiple, int(side / multiple + 0.5) * multiple)

    return to_multiple(math.sqrt(area * aspect)), to_multiple(math.sqrt(area / aspect))


def cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Centre-crop to the target aspect, then scale with Lanczos."""
    scale = max(width / image.width, height / image.height)
    w, h = math.ceil(width / scale), math.ceil(height / scale)
    left, top = (image.width - w) // 2, (image.height - h) // 2
    return image.crop((left, top, left + w, top + h)).resize((width, height), Image.Resampling.LANCZOS)


def font_path(name: str, brand_dir: Path) -> str:
    beside = brand_dir / name
    if beside.is_file():
        return str(beside)
    for folder in ("/usr/share/fonts/truetype/dejavu",):
        if (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    return name


def wrap(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > max_width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + ([line] if line else [])


def typeset(image: Image.Image, texts: list[tuple[str, str]], fonts: dict[str, str], margin: float) -> list:
    """Draw the texts bottom-up on dark plates; return [(expected, box)] for OCR."""
    draw = ImageDraw.Draw(image)
    side = min(image.size)
    pad = round(margin * side)
    sizes = {"headline": 0.09, "body": 0.045, "cta": 0.045, "disclaimer": 0.03}
    blocks = []
    y = image.height - pad
    for role, text in reversed(texts):
        px = max(14, round(sizes[role] * side))
        if image.height < 200:  # banners: size by height
            px = max(14, round(image.height * 0.2))
        font = ImageFont.truetype(fonts["headline" if role == "headline" else "body"], px)
        lines = wrap(draw, text, font, image.width - 2 * pad)
        line_h = round(px * 1.25)
        height = line_h * len(lines)
        y -= height
        width = max(draw.textlength(line, font=font) for line in lines)
        box = (pad, y - 4, pad + round(width) + 8, y + height + 4)
        draw.rectangle(box, fill=(20, 20, 20))
        for i, line in enumerate(lines):
            draw.text((pad + 4, y + i * line_h), line, font=font, fill=(255, 255, 255))
        blocks.append((text, box))
        y -= round(px * 0.6)
    return blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("campaign")
    parser.add_argument("model", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--multiple", type=int, default=16)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--guidance", type=float, default=0.0)
    parser.add_argument("--tesseract-threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.tesseract_threads:  # torch read its OpenMP settings when it loaded; tesseract inherits this
        os.environ["OMP_THREAD_LIMIT"] = str(args.tesseract_threads)

    brief = yaml.safe_load((args.home / "briefs" / f"{args.campaign}.yaml").read_text())
    brand_file = args.home / "brands" / f"{brief['brand']}.yaml"
    brand = yaml.safe_load(brand_file.read_text())
    fonts = {k: font_path(v, brand_file.parent) for k, v in brand["fonts"].items()}
    # float32 on CPU: a checkpoint saved in float16 would otherwise run (and fail) in half precision
    pipe = DiffusionPipeline.from_pretrained(
        args.model, local_files_only=True, use_safetensors=True, dtype=torch.float32
    )
    pipe.set_progress_bar_config(disable=True)
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    count = failed = 0
    for asset in brief["assets"]:
        prompt = ", ".join(p for p in (asset["prompt"], brand.get("style")) if p)
        negative = ", ".join(p for p in (asset.get("negative_prompt"), brand.get("negative")) if p) or None
        for variant in range(asset.get("variants", 1)):
            seed = asset.get("seed", 0) + variant
            first_w, first_h = map(int, asset["sizes"][0].split("x"))
            w, h = draft_size(first_w, first_h, args.resolution, args.multiple)
            with torch.inference_mode():
                draft = pipe(
                    prompt=prompt,
                    negative_prompt=negative,
                    num_inference_steps=args.steps,
                    guidance_scale=args.guidance,
                    width=w,
                    height=h,
                    generator=torch.Generator("cpu").manual_seed(seed),
                ).images[0]
            for size in asset["sizes"]:
                width, height = map(int, size.split("x"))
                image = cover(draft, width, height)
                texts = [(role, asset[role]) for role in ("headline", "body", "cta") if asset.get(role)]
                if brand.get("disclaimer"):
                    texts.append(("disclaimer", brand["disclaimer"]))
                for expected, box in typeset(image, texts, fonts, brand.get("safe_margin", 0.05)):
                    read = pytesseract.image_to_string(image.crop(box), config="--psm 6").strip()
                    similarity = 1 - Levenshtein.normalized_distance(" ".join(expected.split()), " ".join(read.split()))
                    failed += similarity < brand.get("ocr_min_similarity", 0.9)
                image.save(args.out / f"{asset['id']}-v{variant + 1}-{size}.png")
                count += 1
    seconds = time.perf_counter() - started
    print(f"{count} deliverables in {seconds:.1f} s ({failed} text blocks below the OCR threshold)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
