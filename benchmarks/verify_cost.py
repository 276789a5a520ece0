"""What verifying on read costs: a nothing-changed rebuild with and without the sha256 checks.

    python benchmarks/verify_cost.py [--campaigns 6] [--repeats 3]

Builds a home of N small campaigns (the tiny model, a 1080x1080 and a 1200x628 each), then
times nothing-changed rebuilds in this process, alternating two settings so the machine's
noise hits both alike:

- verified: as shipped (every object read is hashed; every published file is checked);
- trusted: `ObjectStore.verified` trusts any present file and publication skips the
  check of published files (what the pipeline did before it verified).

Prints the median seconds per campaign of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

BRIEF = """campaign: {c}
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug {c}, studio light"
    headline: "Spring Sale"
    body: "Up to 50% off mugs"
    sizes: ["1080x1080", "1200x628"]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from asset_pipeline.home import Home
    from asset_pipeline.models.tiny import ensure_tiny_model
    from asset_pipeline.orchestration.runner import run_campaigns
    from asset_pipeline.stages import publish
    from asset_pipeline.storage.objects import ObjectStore

    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        root = Path(tmp) / "home"
        for folder in ("briefs", "brands", "models"):
            (root / folder).mkdir(parents=True)
        shutil.copy(HERE.parent / "data" / "brands" / "acme.yaml", root / "brands")
        ensure_tiny_model(root / "models" / "tiny")
        (root / "models.yaml").write_text("routes:\n  draft: [tiny]\n  final: [tiny]\n")
        campaigns = [f"c{i}" for i in range(args.campaigns)]
        for c in campaigns:
            (root / "briefs" / f"{c}.yaml").write_text(BRIEF.format(c=c))
        os.environ["DAGSTER_HOME"] = str(root / "dagster")
        (root / "dagster").mkdir()
        (root / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        home = Home(root.resolve())
        run_campaigns(home, campaigns)  # the full build

        verified, repair = ObjectStore.verified, publish.repair_versions

        def trusting(self, sha: str) -> bool:
            return self.path(sha).exists()

        times: dict[str, list[float]] = {"verified": [], "trusted": []}
        for _ in range(args.repeats):
            for mode in ("verified", "trusted"):
                ObjectStore.verified = verified if mode == "verified" else trusting
                publish.repair_versions = repair if mode == "verified" else (lambda *a, **k: [])
                started = time.perf_counter()
                summaries = run_campaigns(home, campaigns)
                times[mode].append((time.perf_counter() - started) / len(campaigns))
                assert all(s.success and s.drafts_generated == 0 for s in summaries)
        ObjectStore.verified, publish.repair_versions = verified, repair
    on, off = statistics.median(times["verified"]), statistics.median(times["trusted"])
    print(f"nothing-changed rebuild, {args.campaigns} campaigns x 2 deliverables, median of {args.repeats}:")
    print(f"  verified: {on:.3f} s per campaign; trusted: {off:.3f} s per campaign; ratio {on / off:.3f}")


if __name__ == "__main__":
    main()
