"""PNG zlib level: encode time against file size, on photographs at a deliverable's size.

    python benchmarks/png_level.py [--size 1080] [--repeats 3] [--out benchmarks/results/png_level.json]

Three of scikit-image's photographs (astronaut, coffee, chelsea), resized to --size square, with
a headline band drawn on each as a layout would, encoded as `publishing.encoding.encode` does
(sRGB profile, provenance text chunks) at zlib levels 1, 3, 4, 6 and 9: the median seconds per
file and the bytes, each relative to level 6 (the level published files used before 2026-12-07).
Markdown on stdout, JSON at --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

LEVELS = (1, 3, 4, 6, 9)


def photographs(size: int):
    from PIL import Image, ImageDraw
    from skimage import data

    for name in ("astronaut", "coffee", "chelsea"):
        image = Image.fromarray(getattr(data, name)()).convert("RGB").resize((size, size), Image.LANCZOS)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, size * 3 // 4, size, size), fill="#1B1F3B")
        draw.text((size // 12, size * 4 // 5), "Spring Sale - up to 50% off", fill="#FFFFFF", font_size=size // 16)
        yield name, image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1080)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "png_level.json"))
    args = parser.parse_args()

    from asset_pipeline.publishing import encoding

    rows = []
    for name, image in photographs(args.size):
        for level in LEVELS:
            encoding.PNG_COMPRESS_LEVEL = level
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                data = encoding.encode(image, "png", None, {"prompt": "benchmark"})
                times.append(time.perf_counter() - started)
            rows.append({"image": name, "level": level, "seconds": statistics.median(times), "bytes": len(data)})
    base = {r["image"]: r for r in rows if r["level"] == 6}
    print(f"| level | median s per {args.size}² file | time vs level 6 | bytes vs level 6 |\n|---|---|---|---|")
    summary = []
    for level in LEVELS:
        mine = [r for r in rows if r["level"] == level]
        time_ratio = statistics.median(r["seconds"] / base[r["image"]]["seconds"] for r in mine)
        size_ratio = statistics.median(r["bytes"] / base[r["image"]]["bytes"] for r in mine)
        seconds = statistics.median(r["seconds"] for r in mine)
        summary.append({"level": level, "seconds": seconds, "time_vs_6": time_ratio, "bytes_vs_6": size_ratio})
        print(f"| {level} | {seconds:.3f} | {time_ratio:.2f} | {size_ratio:.3f} |")
    machine = {"cpus": os.cpu_count(), "processor": platform.processor(), "load_average": os.getloadavg()}
    print(f"machine: {json.dumps(machine)}")
    Path(args.out).write_text(
        json.dumps({"machine": machine, "size": args.size, "summary": summary, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
