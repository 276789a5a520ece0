"""Scale benchmark: many campaigns, the nightly, and the catalog.

    PYTHONPATH=. python benchmarks/scale.py [--counts 10,100] [--compare 100] [--cloned 1000]
                                            [--out benchmarks/results/scale.json] [--keep DIR]

For each N it makes a fresh home of N campaigns (the tiny model, 1 to 4 deliverables each,
256 px squares and 728x90 banners) and measures, each as its own process:

- a full build: `asset-pipeline run --all`;
- a nothing-changed nightly: `asset-pipeline run --all --changed` (what the nightly schedule
  requests: runs only for campaigns whose inputs changed);
- a nightly after 1% of the briefs changed (at least one);
- `asset-pipeline sql "SELECT count(*) FROM publications"`;
- the peak RSS of each;
- with --compare K: a full build of K campaigns of 1 deliverable against one campaign of K
  deliverables (the same prompts and size), side by side in this run; the ratio is the target;
- with --cloned N: the two nightlies alone at N campaigns, 10 of them built and the rest clones
  of their publications (brief renamed, manifest re-recorded), since a full build of 1,000
  takes hours on 2 cores; the changed 1% are clones, so their runs are real builds.

The nightly counts its model loads: campaigns that got a run ("drafts N generated" lines),
zero when nothing changed (no run starts at all).

Wall-clock seconds, the cost per campaign, and the machine. Markdown on stdout, JSON at --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

BRAND = REPO / "data" / "brands" / "acme.yaml"
SIZES = ["256x256", "728x90"]


def brief(campaign: str, deliverables: int, headline: str) -> str:
    lines = [f"campaign: {campaign}", "brand: acme", "assets:"]
    for asset in range((deliverables + 1) // 2):
        sizes = SIZES[: min(2, deliverables - 2 * asset)]
        lines += [
            f"  - id: a{asset}",
            f'    prompt: "ceramic mug {campaign} {asset}, studio light"',
            f'    headline: "{headline}"',
            f"    sizes: {json.dumps(sizes)}",
        ]
    return "\n".join(lines) + "\n"


def one_size_brief(campaign: str, assets: list[int]) -> str:
    lines = [f"campaign: {campaign}", "brand: acme", "assets:"]
    for asset in assets:
        lines += [
            f"  - id: a{asset}",
            f'    prompt: "ceramic mug {asset}, studio light"',
            '    headline: "Spring Sale"',
        ]
        lines.append("    sizes: ['256x256']")
    return "\n".join(lines) + "\n"


def bare_home(root: Path, tiny: Path) -> Path:
    (root / "briefs").mkdir(parents=True)
    (root / "brands").mkdir()
    shutil.copy(BRAND, root / "brands" / "acme.yaml")
    (root / "models").mkdir()
    (root / "models" / "tiny").symlink_to(tiny, target_is_directory=True)
    (root / "models.yaml").write_text("routes:\n  draft: [tiny]\n  final: [tiny]\n")
    return root


def compare(count: int, tiny: Path, work: Path) -> dict:
    """K campaigns x 1 deliverable against 1 campaign x K deliverables: the same drafts, layouts, checks."""
    one = bare_home(work / "one-campaign", tiny)
    (one / "briefs" / "big.yaml").write_text(one_size_brief("big", list(range(count))))
    many = bare_home(work / "many-campaigns", tiny)
    for i in range(count):
        (many / "briefs" / f"c{i:04d}.yaml").write_text(one_size_brief(f"c{i:04d}", [i]))
    big, small = timed(one, "run", "--all"), timed(many, "run", "--all")
    for home in (one, many):
        shutil.rmtree(home, ignore_errors=True)
    return {
        "deliverables": count,
        "one_campaign_s": big["seconds"],
        "many_campaigns_s": small["seconds"],
        "ratio": round(small["seconds"] / big["seconds"], 3),
        "rss_mb": max(big["rss"], small["rss"]),
    }


def make_home(root: Path, count: int, tiny: Path, rng: random.Random) -> Path:
    (root / "briefs").mkdir(parents=True)
    (root / "brands").mkdir()
    shutil.copy(BRAND, root / "brands" / "acme.yaml")
    (root / "models").mkdir()
    (root / "models" / "tiny").symlink_to(tiny, target_is_directory=True)
    (root / "models.yaml").write_text("routes:\n  draft: [tiny]\n  final: [tiny]\n")
    for i in range(count):
        campaign = f"c{i:04d}"
        (root / "briefs" / f"{campaign}.yaml").write_text(brief(campaign, rng.randint(1, 4), "Spring Sale"))
    return root


def timed(home: Path, *args: str) -> dict:
    """`asset-pipeline ARGS` in `home`: wall seconds, peak RSS (MB) of its process, output."""
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "asset_pipeline", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed:\n{output[-2000:]}")
    return {"seconds": round(seconds, 2), "rss": round(usage.ru_maxrss / 1024), "stdout": output}


def runs_in(output: str) -> int:
    """Campaigns that got a run: their summary lines (progress lines go to stderr, merged here)."""
    return len(re.findall(r"^c\d{4}: \d+ published \(", output, re.MULTILINE))


def nightlies(home: Path, changeable: list[str], count: int, rng: random.Random) -> tuple[dict, dict, dict]:
    """(row fields, first process, second process): the nothing-changed nightly, then the nightly
    after 1% of `count` (at least one) of the `changeable` briefs changed."""
    nightly = timed(home, "run", "--all", "--changed")
    changed = rng.sample(changeable, max(1, count // 100))
    for campaign in changed:
        path = home / "briefs" / f"{campaign}.yaml"
        path.write_text(path.read_text().replace("Spring Sale", "Summer Sale"))
    after = timed(home, "run", "--all", "--changed")
    row = {
        "nightly_unchanged_s": nightly["seconds"],
        "nightly_rss_mb": nightly["rss"],
        "nightly_unchanged_runs": runs_in(nightly["stdout"]),
        "nightly_up_to_date": nightly["stdout"].count("up to date"),
        "nightly_1pct_s": after["seconds"],
        "changed": len(changed),
        "nightly_1pct_rss_mb": after["rss"],
        "nightly_1pct_runs": runs_in(after["stdout"]),
    }
    return row, nightly, after


def measure(count: int, tiny: Path, work: Path, keep: bool = False) -> dict:
    rng = random.Random(count)
    home = make_home(work / f"home-{count}", count, tiny, rng)
    row: dict = {"campaigns": count}
    full = timed(home, "run", "--all")
    if keep:  # the run's output beside its instance, for where the time went (docs/rebuilds.md)
        (home / "full-build.log").write_text(full["stdout"])
    row["full_build_s"], row["full_build_rss_mb"] = full["seconds"], full["rss"]
    fields, nightly, after = nightlies(home, sorted(p.stem for p in (home / "briefs").glob("*.yaml")), count, rng)
    row.update(fields)
    query = timed(home, "sql", "SELECT count(*) FROM publications")
    row["sql_count_s"], row["publications"] = query["seconds"], query["stdout"].split()[-1]
    row["peak_rss_mb"] = max(full["rss"], nightly["rss"], after["rss"], query["rss"])
    for key in ("full_build_s", "nightly_unchanged_s", "nightly_1pct_s"):
        row[key.replace("_s", "_per_campaign_s")] = round(row[key] / count, 3)
    if not keep:
        shutil.rmtree(home, ignore_errors=True)
    return row


def clone_published(home: Path, source: str, clone: str, models: str) -> None:
    """`clone` as if built from `source`'s publication: its brief (renamed) and a manifest whose
    recorded inputs and fingerprint (with `models`, the registry's part) are what a real build
    of that brief would record."""
    from asset_pipeline.stages.briefs import inputs_fingerprint
    from asset_pipeline.storage.files import sha256_file
    from asset_pipeline.storage.records import InputFile

    brief_text = (home / "briefs" / f"{source}.yaml").read_text().replace(f"campaign: {source}", f"campaign: {clone}")
    brief_path = home / "briefs" / f"{clone}.yaml"
    brief_path.write_text(brief_text)
    manifest = json.loads((home / "published" / source / "manifest.json").read_text())
    files = [
        InputFile(path=f"briefs/{clone}.yaml", sha256=sha256_file(brief_path))
        if f["path"] == f"briefs/{source}.yaml"
        else InputFile(path=f["path"], sha256=f["sha256"])
        for f in manifest["inputs"]["files"]
    ]
    manifest.update(campaign=clone)
    manifest["inputs"] = {
        "fingerprint": inputs_fingerprint(files, models),
        "files": [{"path": f.path, "sha256": f.sha256} for f in files],
    }
    (home / "published" / clone).mkdir(parents=True)
    (home / "published" / clone / "manifest.json").write_text(json.dumps(manifest))


def measure_cloned(count: int, built: int, tiny: Path, work: Path) -> dict:
    """The nightly at N = `count` campaigns, `built` of them really built and the rest their
    clones (published state copied, as `clone_published` says): what the nightly's decision
    costs at N without a full build of N (hours on 2 cores). The 1% that change are clones,
    so their runs are real builds."""
    rng = random.Random(count)
    home = make_home(work / f"cloned-{count}", built, tiny, rng)
    full = timed(home, "run", "--all")
    from asset_pipeline.models.registry import load_registry
    from asset_pipeline.stages.briefs import models_part

    sources = sorted(p.stem for p in (home / "briefs").glob("*.yaml"))
    models = models_part(load_registry(home))  # hashes the routed weights: once, not per clone
    for i in range(built, count):
        clone_published(home, sources[i % built], f"c{i:04d}", models)
    row: dict = {"campaigns": count, "built": built, "full_build_s": full["seconds"]}
    row.update(nightlies(home, [f"c{i:04d}" for i in range(built, count)], count, rng)[0])
    for key in ("nightly_unchanged_s", "nightly_1pct_s"):
        row[key.replace("_s", "_per_campaign_s")] = round(row[key] / count, 4)
    shutil.rmtree(home, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10,100")
    parser.add_argument("--compare", type=int, default=0, help="K: K campaigns x 1 vs 1 campaign x K")
    parser.add_argument(
        "--cloned", type=int, default=0, help="N: the nightly alone at N campaigns, 10 built and the rest clones"
    )
    parser.add_argument("--out", default=str(HERE / "results" / "scale.json"))
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the homes (with full-build.log)")
    args = parser.parse_args()
    from asset_pipeline.models.tiny import ensure_tiny_model

    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        tiny = ensure_tiny_model(work / "tiny")
        rows = [measure(int(n), tiny, work, keep=args.keep is not None) for n in args.counts.split(",") if n]
        compared = compare(args.compare, tiny, work) if args.compare else None
        cloned = measure_cloned(args.cloned, 10, tiny, work) if args.cloned else None
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    result = {"machine": machine, "rows": rows, "compare": compared, "cloned": cloned}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    keys = [
        "campaigns",
        "full_build_s",
        "full_build_per_campaign_s",
        "nightly_unchanged_s",
        "nightly_1pct_s",
        "nightly_unchanged_runs",
        "nightly_1pct_runs",
        "sql_count_s",
        "peak_rss_mb",
    ]
    print(f"machine: {machine}\n")
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    if compared:
        print(f"\ncompare: {json.dumps(compared)}")
    if cloned:
        print(f"\ncloned: {json.dumps(cloned)}")


if __name__ == "__main__":
    main()
