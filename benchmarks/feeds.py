"""CSV feeds: how long a feed takes to validate (issue 20's target: 500 rows in under 2 s).

    PYTHONPATH=. python benchmarks/feeds.py [--rows 500] [--repeats 5]

Writes a brief naming a CSV feed of `--rows` assets (three sizes, presets among them, three
formats with a budget, the sample brand) in a fresh home and times `load_campaign`, which
parses the CSV and validates every row with the same pydantic model as YAML assets; then a
100,000-row feed, which is refused at the campaign's 500-row limit. The median of
`--repeats`, with the machine. These machines are noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from asset_pipeline.home import Home  # noqa: E402
from asset_pipeline.specs import InputError  # noqa: E402
from asset_pipeline.stages.briefs import load_campaign  # noqa: E402

BRAND = HERE.parent / "data" / "brands" / "acme.yaml"
HEADER = "id,prompt,headline,sizes,formats,max_kb,variants\n"


def feed_home(root: Path, rows: str) -> Home:
    (root / "briefs").mkdir()
    (root / "brands").mkdir()
    (root / "brands" / "acme.yaml").write_bytes(BRAND.read_bytes())
    (root / "briefs" / "spring.yaml").write_text("campaign: spring\nbrand: acme\nassets_csv: spring.csv\n")
    (root / "briefs" / "spring.csv").write_text(rows)
    return Home(root)


def timed(action, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def refused(home: Home) -> None:
    try:
        load_campaign(home, "spring")
    except InputError:
        return
    raise SystemExit("the 100,000-row feed was not refused")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    good = "".join(
        f'a{i},"ceramic mug {i}, studio light",Sale {i},1080x1080;medium-rectangle;story,png;webp;jpeg,webp:150,1\n'
        for i in range(args.rows)
    )
    huge = "id,prompt,sizes\n" + "".join(f"a{i},p,64x64\n" for i in range(100_000))
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        home = feed_home(Path(one), HEADER + good)
        assets = len(load_campaign(home, "spring").brief.assets)
        valid = timed(lambda: load_campaign(home, "spring"), args.repeats)
        big = feed_home(Path(two), huge)
        limit = timed(lambda: refused(big), args.repeats)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print("| feed | assets | median s |")
    print("|---|---|---|")
    print(f"| {args.rows} rows, validated | {assets} | {valid:.3f} |")
    print(f"| 100,000 rows, refused at the 500-row limit | - | {limit:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
