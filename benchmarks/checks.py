"""Quality-checks benchmark: deliverables per second through `run_checks_parallel`.

    python benchmarks/checks.py [--deliverables 24] [--workers 2] [--repeat 3] [--size 1080]
                                [--out benchmarks/results/checks.json]

Each deliverable is a 1080x1080 final image with 3 text boxes (a two-line headline on a
scrim, a two-line body on a light plate, a CTA on an accent plate) over a busy photo-like
background, drawn with the test suite's helpers. Two configurations are timed:

  ocr       every check of a deliverable except the hallucinated-text read: size,
            not_blank, banned terms, contrast, min font, safe margin, and tesseract OCR
            of each box (crop, scale to ~40 px font, one tesseract per batch, OMP_THREAD_LIMIT=1)
  all       the same plus the hallucinated-text check (one sparse-text tesseract read of
            the whole image, boxes masked, at 512 px)

One untimed warm-up (tesseract's model into the page cache); then --repeat timed runs,
the median reported. Every result must pass (a failing check would mean the benchmark
measures a broken image). Markdown table on stdout, JSON at --out. The target (DESIGN.md):
>= 20 deliverables/s for the OCR checks on 2 cores.
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
REPO = HERE.parent
if str(REPO) not in sys.path:  # runnable as a plain script from anywhere
    sys.path.insert(0, str(REPO))

DEFAULT_OUT = HERE / "results" / "checks.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliverables", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=1080)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    from asset_pipeline.checks.suite import run_checks_parallel
    from asset_pipeline.checks.tesseract import ocr_available
    from asset_pipeline_tests.support.deliverables import BRAND, deliverable

    if not ocr_available():
        print("tesseract with the 'eng' model is not installed", file=sys.stderr)
        return 2
    jobs = [(*deliverable(seed, size=args.size), BRAND, args.size, args.size) for seed in range(args.deliverables)]
    results = []
    for name, hallucination in (("ocr", False), ("all", True)):
        run_checks_parallel(jobs[: args.workers], workers=args.workers, hallucination=hallucination)  # warm-up
        seconds = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            checked = run_checks_parallel(jobs, workers=args.workers, hallucination=hallucination)
            seconds.append(time.perf_counter() - started)
            failed = [r.detail for rs in checked for r in rs if not r.passed]
            if failed:
                print(f"{name}: checks failed, the benchmark images are broken: {failed[:3]}", file=sys.stderr)
                return 1
        median = statistics.median(seconds)
        results.append(
            {
                "checks": name,
                "deliverables": len(jobs),
                "workers": args.workers,
                "size": f"{args.size}x{args.size}",
                "boxes": 3,
                "seconds": [round(s, 3) for s in seconds],
                "median_s": round(median, 3),
                "deliverables_per_s": round(len(jobs) / median, 2),
            }
        )

    machine = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"machine: {machine['platform']}, {machine['cpus']} CPUs, load average {machine['load_average']}\n")
    print("| checks | deliverables | size | workers | median s | deliverables/s |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['checks']} | {r['deliverables']} | {r['size']} | {r['workers']} | {r['median_s']} | "
            f"{r['deliverables_per_s']} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
