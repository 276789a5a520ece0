"""Pipeline benchmark: full builds against the obvious script, rebuilds, seconds per stage, memory.

    python benchmarks/pipeline.py [--model tiny|sd-turbo-arch] [--counts 12,48]
                                  [--sizes 1080x1080,1200x628] [--variants 2]
                                  [--out benchmarks/results/pipeline-<model>.json]

For each deliverable count N (N / (variants x sizes) assets, by default 2 variants in
1080x1080 and 1200x628, each with headline, body and CTA, plus the sample brand's
disclaimer) it makes a fresh home and measures, one after the other in this process tree:

- `asset-pipeline run` of the campaign (a real Dagster run in the home's instance: drafts,
  typesetting, upscale, every check with tesseract, publication, catalog);
- `benchmarks/obvious_script.py` doing the same model work, text and OCR, sequentially; then
  the same script with tesseract on one OpenMP thread (`--tesseract-threads 1`);
- for the largest N: a nothing-changed rebuild and a brand-colour rebuild (the brand's text
  and accent colours changed), each as a ratio of the full build;
- seconds per stage (Dagster step durations of the full build) and each command's peak RSS.

Each command is its own process, timed by wall clock, with its peak RSS from wait4. These
machines are noisy: compare ratios within one run. Markdown on stdout, JSON at --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

SIZES = ["1080x1080", "1200x628", "1080x1920", "728x90"]
BRAND = REPO / "data" / "brands" / "acme.yaml"
HEADLINES = [
    "Spring Sale",
    "New Summer Tumblers",
    "Save 30% Today",
    "Fresh Picks for You",
    "Mugs & More",
    "Last Chance: 50% off",
]
CAMPAIGN = "bench"
SUMMARY = re.compile(r"published \(|up to date")


def brief(assets: int, sizes: list[str] = SIZES, variants: int = 1) -> str:
    lines = [f"campaign: {CAMPAIGN}", "brand: acme", "assets:"]
    for i in range(assets):
        lines += [
            f"  - id: asset{i:02d}",
            f'    prompt: "ceramic mug number {i} on a wooden table, studio light"',
            f'    headline: "{HEADLINES[i % len(HEADLINES)]}"',
            '    body: "Up to 50% off mugs and cups"',
            '    cta: "Shop now"',
            f"    sizes: {json.dumps(sizes)}",
            f"    variants: {variants}",
            f"    seed: {1000 + 10 * i}",
        ]
    return "\n".join(lines) + "\n"


def model_setup(model: str, cache: Path) -> tuple[dict, Path]:
    """(registry entry fields, weights folder) for the benchmark's model."""
    from asset_pipeline.models.tiny import ensure_tiny_model
    from asset_pipeline_tests.support.families import SD_TURBO_ENTRY, build_sd_turbo_architecture

    if model == "tiny":
        folder = ensure_tiny_model(cache / "tiny")
        return {
            "pipeline_class": "StableDiffusionPipeline",
            "steps": 2,
            "guidance": 0.0,
            "resolution": 256,
            "multiple": 16,
        }, folder
    if model == "sd-turbo-arch":
        return dict(SD_TURBO_ENTRY), build_sd_turbo_architecture(cache / "sd-turbo-arch")
    raise SystemExit(f"--model must be tiny or sd-turbo-arch, not {model!r}")


def make_home(
    root: Path, assets: int, model: str, entry: dict, folder: Path, sizes: list[str] = SIZES, variants: int = 1
) -> Path:
    home = root / "home"
    (home / "briefs").mkdir(parents=True)
    (home / "brands").mkdir()
    shutil.copy(BRAND, home / "brands" / "acme.yaml")
    (home / "briefs" / f"{CAMPAIGN}.yaml").write_text(brief(assets, sizes, variants))
    models = {
        "models": [dict(entry, id="bench-model", path=str(folder), tiers=["draft", "final"])],
        "routes": {"draft": ["bench-model"], "final": ["bench-model"]},
    }
    (home / "models.yaml").write_text(json.dumps(models))  # JSON is YAML
    return home


def timed(command: list[str], env: dict | None = None) -> dict:
    """Run `command`; wall seconds, exit code, peak RSS (MB) of its main process, output tail."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "exit": proc.returncode,
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "output": output.strip().splitlines()[-3:],
        # the summary line, wherever warnings put it
        "summary": next(
            (line for line in output.splitlines() if line.startswith(f"{CAMPAIGN}: ") and SUMMARY.search(line)), ""
        ),
    }


def pipeline_run(home: Path, *flags: str) -> dict:
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    result = timed([sys.executable, "-m", "asset_pipeline", "run", CAMPAIGN, *flags], env)
    if result["exit"] not in (0, 1):
        raise SystemExit(f"asset-pipeline run failed: {result['output']}")
    return result


def stage_seconds(home: Path, run_index: int = -1) -> dict[str, float]:
    """Step durations of one of the home's runs (oldest first; default the latest)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster"))) as instance:
        runs = list(reversed(instance.get_runs()))
        stats = instance.get_run_step_stats(runs[run_index].run_id)
    return {s.step_key: round(s.end_time - s.start_time, 2) for s in stats if s.end_time and s.start_time}


def recolour(home: Path) -> None:
    path = home / "brands" / "acme.yaml"
    text = path.read_text()
    changed = text.replace('text: ["#FFFFFF", "#1A1A1A"]', 'text: ["#FAFAFA", "#101010"]').replace(
        'accent: "#FF5A36"', 'accent: "#2255FF"'
    )
    if changed == text:
        raise SystemExit(f"{path}: could not find the sample brand's colours to change")
    path.write_text(changed)


def measure(model: str, counts: list[int], cache: Path, sizes: list[str], variants: int) -> dict:
    entry, folder = model_setup(model, cache)
    rows, stages, rebuilds = [], {}, {}
    per_asset = len(sizes) * variants
    for count in counts:
        if count % per_asset:
            raise SystemExit(f"--counts: {count} is not a multiple of {per_asset} (sizes x variants)")
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            home = make_home(Path(tmp), count // per_asset, model, entry, folder, sizes, variants)
            full = pipeline_run(home)
            stages[count] = stage_seconds(home)
            script_command = [
                sys.executable,
                str(HERE / "obvious_script.py"),
                str(home),
                CAMPAIGN,
                str(folder),
                str(Path(tmp) / "script-out"),
                "--resolution",
                str(entry["resolution"]),
                "--multiple",
                str(entry["multiple"]),
                "--steps",
                str(entry["steps"]),
                "--guidance",
                str(entry["guidance"]),
            ]
            script = timed(script_command)
            # the same script with tesseract on one OpenMP thread: how much of the ratio is that tuning
            tuned = timed([*script_command, "--tesseract-threads", "1"])
            for run in (script, tuned):
                if run["exit"] != 0:
                    raise SystemExit(f"obvious_script.py failed: {run['output']}")
            rows.append(
                {
                    "deliverables": count,
                    "pipeline": full,
                    "script": script,
                    "script_tesseract_one_thread": tuned,
                    "pipeline_over_script": round(full["seconds"] / script["seconds"], 3),
                    "pipeline_over_tuned_script": round(full["seconds"] / tuned["seconds"], 3),
                }
            )
            if count == max(counts):
                unchanged = pipeline_run(home)  # a Dagster run that reuses every cached stage
                # what a scheduled rebuild does: the inputs' hashes say nothing changed, so no run
                unchanged_skipped = pipeline_run(home, "--changed")
                recolour(home)
                colour = pipeline_run(home)
                rebuilds = {
                    "deliverables": count,
                    "full": full,
                    "nothing_changed": unchanged,
                    "nothing_changed_skipped": unchanged_skipped,
                    "brand_colour": colour,
                    "nothing_changed_ratio": round(unchanged["seconds"] / full["seconds"], 3),
                    "nothing_changed_skipped_ratio": round(unchanged_skipped["seconds"] / full["seconds"], 3),
                    "brand_colour_ratio": round(colour["seconds"] / full["seconds"], 3),
                    "brand_colour_stages": stage_seconds(home),
                }
    return {
        "model": model,
        "sizes": sizes,
        "variants": variants,
        "builds": rows,
        "stages": stages,
        "rebuilds": rebuilds,
    }


def markdown(result: dict, machine: dict) -> str:
    out = [
        f"### model `{result['model']}`, {result['variants']} variant(s) x {', '.join(result['sizes'])}",
        "",
        "| deliverables | pipeline s | script s | pipeline / script | script, tesseract on 1 thread, s "
        "| pipeline / that | pipeline peak RSS MB | script peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["builds"]:
        tuned = r.get("script_tesseract_one_thread", {}).get("seconds", "-")  # older results lack it
        out.append(
            f"| {r['deliverables']} | {r['pipeline']['seconds']} | {r['script']['seconds']} | "
            f"{r['pipeline_over_script']} | {tuned} | {r.get('pipeline_over_tuned_script', '-')} | "
            f"{r['pipeline']['peak_rss_mb']} | {r['script']['peak_rss_mb']} |"
        )
    rb = result["rebuilds"]
    out += [
        "",
        f"Rebuilds of the {rb['deliverables']}-deliverable campaign (one campaign):",
        "",
        "| build | seconds | ratio to full build | peak RSS MB | summary |",
        "|---|---|---|---|---|",
    ]
    builds = (
        ("full", "full"),
        ("nothing changed (`run`: a Dagster run, every stage reused)", "nothing_changed"),
        ("nothing changed (`run --changed`: no run)", "nothing_changed_skipped"),
        ("brand colour", "brand_colour"),
    )
    for name, key in builds:
        if key not in rb:  # results from before `--changed` was measured
            continue
        run = rb[key]
        ratio = 1.0 if key == "full" else rb[f"{key}_ratio"]
        out.append(f"| {name} | {run['seconds']} | {ratio} | {run['peak_rss_mb']} | {run.get('summary', '')} |")
    steps = sorted({k for s in result["stages"].values() for k in s} | set(rb["brand_colour_stages"]))
    counts = sorted(result["stages"])
    out += [
        "",
        "Seconds per stage (Dagster step durations):",
        "",
        "| step | "
        + " | ".join(f"full build, {c}" for c in counts)
        + f" | brand-colour rebuild, {rb['deliverables']} |",
        "|---|" + "---|" * (len(counts) + 1),
    ]
    for step in steps:
        cells = [str(result["stages"][c].get(step, "-")) for c in counts] + [
            str(rb["brand_colour_stages"].get(step, "-"))
        ]
        out.append(f"| {step} | " + " | ".join(cells) + " |")
    out += [
        "",
        f"Machine: {machine['cpu']}, {machine['cpus']} CPUs, {machine['memory_gb']} GB; "
        f"load average {machine['loadavg_before']} -> {machine['loadavg_after']}",
    ]
    return "\n".join(out)


def machine_info(load_before: float) -> dict:
    """The machine a benchmark ran on, with the load average before it and now."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cpus": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_before": round(load_before, 2),
        "loadavg_after": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="tiny or sd-turbo-arch (default %(default)s)")
    parser.add_argument("--counts", default="12,48", help="deliverable counts (default %(default)s)")
    parser.add_argument("--sizes", default="1080x1080,1200x628", help="each asset's sizes (default %(default)s)")
    parser.add_argument("--variants", type=int, default=2, help="variants per asset (default %(default)s)")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache", help="where built models go")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON (default benchmarks/results/pipeline-<model>.json)"
    )
    args = parser.parse_args(argv)
    counts = sorted(int(c) for c in args.counts.split(","))
    load_before = os.getloadavg()[0]
    result = measure(args.model, counts, args.cache, args.sizes.split(","), args.variants)
    machine = machine_info(load_before)
    text = markdown(result, machine)
    print(text)
    out = args.out or HERE / "results" / f"pipeline-{args.model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps({"machine": machine, **result, "markdown": text}, indent=2) + "\n")
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
