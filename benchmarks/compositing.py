"""Compositing and cropping: what the key visual's framing and the product shot cost per deliverable.

    python benchmarks/compositing.py [--deliverables 48] [--pipeline benchmarks/results/pipeline-tiny.json]

Times, for N deliverables (half 1080x1080, half 1200x628, as benchmarks/pipeline.py's
campaign): the focal point of each key visual (one per two deliverables), the crop of each
size from it at final resolution (`framing.crop_to_box`, the Lanczos pass the upscale stage
does anyway, timed against the plain centred crop it replaced), and the product shot's
composite with its contact shadow (`typography.product.composite_product`) from the sample
home's mug. Reports seconds and, when --pipeline names a pipeline benchmark's JSON, the share
of that full build's wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from asset_pipeline.framing import aspect_crop_box, crop_box, crop_to_box, focal_point  # noqa: E402
from asset_pipeline.typography.product import composite_product, fit_product, read_product  # noqa: E402
from asset_pipeline_tests.support.deliverables import photo  # noqa: E402

SIZES = [(1080, 1080), (1200, 628)]
MUG = REPO / "data" / "media" / "products" / "mug.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliverables", type=int, default=48)
    parser.add_argument("--pipeline", type=Path, default=HERE / "results" / "pipeline-tiny.json")
    args = parser.parse_args(argv)
    keys = [photo(304, 224, seed) for seed in range(args.deliverables // len(SIZES))]  # tiny's key visual canvas
    data = MUG.read_bytes()
    product = read_product("products/mug.png", data, "0" * 64)

    started = time.perf_counter()
    focals = [focal_point(key) for key in keys]
    t_focal = time.perf_counter() - started

    started = time.perf_counter()
    framed = [crop_to_box(key, crop_box(*key.size, w, h, f), w, h) for key, f in zip(keys, focals) for w, h in SIZES]
    t_crop = time.perf_counter() - started
    started = time.perf_counter()
    for key in keys:
        for w, h in SIZES:
            crop_to_box(key, aspect_crop_box(*key.size, w, h), w, h)
    t_centre = time.perf_counter() - started

    started = time.perf_counter()
    for image in framed:
        zone = (image.width // 2, image.height // 10, image.width - image.width // 20, image.height * 9 // 10)
        composite_product(image, product.cutout, fit_product(zone, product.width, product.height))
    t_product = time.perf_counter() - started

    added = t_focal + (t_crop - t_centre) + t_product
    result = {
        "deliverables": len(framed),
        "focal_point_s": round(t_focal, 3),
        "framed_crop_s": round(t_crop, 3),
        "centred_crop_s": round(t_centre, 3),
        "product_composite_s": round(t_product, 3),
        "added_s": round(added, 3),
    }
    if args.pipeline.is_file():
        builds = json.loads(args.pipeline.read_text())["builds"]
        full = next((b for b in builds if b["deliverables"] == len(framed)), builds[-1])
        result["full_build_s"] = full["pipeline"]["seconds"]
        result["added_share_of_full_build"] = round(added / full["pipeline"]["seconds"], 4)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
