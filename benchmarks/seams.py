"""Seam benchmark: the `seams` check on extensions made the old way and the new, and on pictures with no seam.

    python benchmarks/seams.py [--prompts 6] [--cache benchmarks/.cache/seams]
                               [--out benchmarks/results/seams.json]

For each prompt (a brand palette and a subject, as brand steering writes them), the embedded
model draws a 512x512 key visual and extends it to 1024x256 and 256x1024 twice: the old way
(`old_outpaint` below: the painting as decoded, blended into the key visual over an 8 px ramp,
what the pipeline did before the seam fix) and the new (`DraftGenerator.outpaint`: the painting
met to the key visual's edge by `models.blending.meet_at_inset`). Each extension is cut to the
banners it serves (728x90, 970x250 and 320x50 from the wide one, 160x600 from the tall one),
as image-only renders. With no seam by construction: the key visual's own crops (1080x1080,
1200x628, 1080x1920, 300x250) and scikit-image's sample photographs (sharp, textured, with
straight edges of their own) at full size and the same banner crops.

Per group, the check's value (CIEDE2000 of the strongest straight line above its neighbourhood,
over the image's own gradient; see checks/seams.py) and how many fail at SEAM_MAX_DELTA_E; and the
pixels of each new extension's kept inset (`generation.kept_inset`) against the key visual
resampled once (max and mean CIEDE2000). Markdown on stdout, JSON at --out. Images are cached by prompt, so a
second run only measures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from asset_pipeline.checks.seams import SEAM_MAX_DELTA_E, measure_seams  # noqa: E402
from asset_pipeline.colour import delta_e, lab  # noqa: E402
from asset_pipeline.framing import crop_to_aspect, extension  # noqa: E402

PALETTES = [
    "coral (#ff5a36) and ivory (#fff3e0) palette",
    "sky blue (#87c3eb) and yellow (#f5d32c) palette",
    "teal (#11807f) and cream (#f3e6c4) palette",
]
SUBJECTS = ["ceramic mug on a wooden table, studio light", "bright beach towels and a picnic basket"]
STYLE = "clean product photography, soft daylight"
NEGATIVE = "blurry, text, letters, watermark"
WIDE, TALL = (1024, 256), (256, 1024)
BANNERS = {WIDE: [(728, 90), (970, 250), (320, 50)], TALL: [(160, 600)]}
KEY_CROPS = [(1080, 1080), (1200, 628), (1080, 1920), (300, 250)]
PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "retina", "hubble_deep_field"]
OLD_SEAM_PX = 8  # the old blend's ramp


def old_outpaint(generator, spec, key: Image.Image, ext, prompt: str, negative: str | None, seed: int) -> Image.Image:
    """An extension made the old way (models/generation.py before the seam fix): the painting as the
    model decoded it (VAE round trip and all), blended with the key visual over OLD_SEAM_PX px
    inside the key visual's edge."""
    from asset_pipeline.models.generation import overscan_px

    extra = overscan_px(spec)
    left, top, right, bottom = ext.inset
    inner = np.asarray(key.convert("RGB").resize((right - left, bottom - top), Image.Resampling.LANCZOS))
    pads = ((top + extra, ext.height - bottom + extra), (left + extra, ext.width - right + extra), (0, 0))
    start = Image.fromarray(np.pad(inner, pads, mode="edge"))
    keep = np.zeros((ext.height + 2 * extra, ext.width + 2 * extra), dtype=np.float32)
    band = OLD_SEAM_PX
    keep[top + extra + band : bottom + extra - band, left + extra + band : right + extra - band] = 1.0
    mask = Image.fromarray(((1.0 - keep) * 255).astype(np.uint8))
    painted = generator._paint(spec, start, mask, prompt, negative, seed)
    painted = np.asarray(painted, dtype=np.float32)[extra : extra + ext.height, extra : extra + ext.width]
    original = np.asarray(start, dtype=np.float32)[extra : extra + ext.height, extra : extra + ext.width]
    h, w = bottom - top, right - left
    ys, xs = np.minimum(np.arange(h), np.arange(h)[::-1]), np.minimum(np.arange(w), np.arange(w)[::-1])
    ramp = np.clip(np.minimum(ys[:, None], xs[None, :]).astype(np.float32) / band, 0.0, 1.0)
    weight = np.zeros((ext.height, ext.width), dtype=np.float32)
    weight[top:bottom, left:right] = ramp
    blended = painted * (1 - weight[..., None]) + original * weight[..., None]
    return Image.fromarray(np.clip(blended + 0.5, 0, 255).astype(np.uint8))


def cached(path: Path, make) -> Image.Image:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        make().save(path)
    return Image.open(path).convert("RGB")


def inset_difference(extended: Image.Image, key: Image.Image, inset, kept) -> tuple[float, float]:
    """(max, mean) CIEDE2000 of the extension's kept inset against the key visual resampled into the inset."""
    left, top, right, bottom = inset
    want = key.resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    want = want.crop((kept[0] - left, kept[1] - top, kept[2] - left, kept[3] - top))
    got = extended.crop(kept)
    d = delta_e(lab(np.asarray(got, dtype=np.float64)), lab(np.asarray(want, dtype=np.float64)))
    return float(d.max()), float(d.mean())


def corpus(cache: Path, prompts: int) -> tuple[dict[str, list], dict]:
    """group -> [(label, image)], and the insets' differences from the key visual."""
    from asset_pipeline.models.generation import DraftGenerator, kept_inset
    from asset_pipeline.models.registry import draft_size, load_registry

    home = cache / "home"
    home.mkdir(parents=True, exist_ok=True)
    registry = load_registry(home)
    spec = registry.get("embedded")
    generator = DraftGenerator(registry)
    groups: dict[str, list] = {"old extensions": [], "new extensions": [], "key visual crops": [], "photographs": []}
    insets = {"max": [], "mean": []}
    texts = [f"{p}, {s}, {STYLE}" for s in SUBJECTS for p in PALETTES][:prompts]
    for index, prompt in enumerate(texts):
        seed = 1000 + index
        gw, gh = draft_size(spec, 1080, 1080)
        key = cached(
            cache / f"{index}-key.png",
            lambda prompt=prompt, seed=seed, gw=gw, gh=gh: generator.generate(
                spec, [prompt], [NEGATIVE], [seed], gw, gh
            )[0],
        )
        for width, height in KEY_CROPS:
            groups["key visual crops"].append((f"{index} key {width}x{height}", crop_to_aspect(key, width, height)))
        for canvas in (WIDE, TALL):
            ext = extension(key.width, key.height, *draft_size(spec, *canvas))
            for way, paint in (("old", old_outpaint), ("new", type(generator).outpaint)):
                made = cached(
                    cache / f"{index}-{way}-{ext.width}x{ext.height}.png",
                    lambda paint=paint, ext=ext, key=key, prompt=prompt, seed=seed: paint(
                        generator, spec, key, ext, prompt, NEGATIVE, seed
                    ),
                )
                if way == "new":
                    worst, mean = inset_difference(made, key, ext.inset, kept_inset(ext))
                    insets["max"].append(worst)
                    insets["mean"].append(mean)
                for width, height in BANNERS[canvas]:
                    label = f"{index} {way} {width}x{height}"
                    groups[f"{way} extensions"].append((label, crop_to_aspect(made, width, height)))
    from skimage import data

    for name in PHOTOS:
        photo = Image.fromarray(getattr(data, name)()).convert("RGB")
        for width, height in [photo.size, *BANNERS[WIDE], *BANNERS[TALL]]:
            groups["photographs"].append((f"{name} {width}x{height}", crop_to_aspect(photo, width, height)))
    return groups, insets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--cache", type=Path, default=HERE / ".cache" / "seams")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "seams.json")
    args = parser.parse_args()

    groups, insets = corpus(args.cache, args.prompts)
    results: dict = {"threshold": SEAM_MAX_DELTA_E, "groups": {}, "inset_delta_e": insets}
    print(f"| group | images | value min | median | max | fail at > {SEAM_MAX_DELTA_E} | ms per image (max) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for group, images in groups.items():
        rows = []
        for label, image in images:
            started = time.perf_counter()
            measure = measure_seams(image)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "image": label,
                    "value": round(measure.value, 3),
                    "where": measure.where,
                    "step": round(measure.step, 3),
                    "own_gradient": round(measure.own_gradient, 3),
                    "seconds": round(seconds, 4),
                }
            )
        values = np.array([r["value"] for r in rows])
        failed = int((values > SEAM_MAX_DELTA_E).sum())
        print(
            f"| {group} | {len(values)} | {values.min():.2f} | {np.median(values):.2f} | {values.max():.2f} "
            f"| {failed}/{len(values)} | {1000 * max(r['seconds'] for r in rows):.0f} |"
        )
        results["groups"][group] = rows
    worst, mean = max(insets["max"]), max(insets["mean"])
    print(
        f"\nNew extensions' kept insets against the key visual resampled once: max CIEDE2000 {worst:.3f}, mean {mean:.4f}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
