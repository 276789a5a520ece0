"""Encoding overhead: what delivering every format under a byte budget adds to a full build.

    python benchmarks/encoding.py [--assets 12] [--max-kb 300] [--repeats 1] [--out benchmarks/results/encoding.json]

Makes a home with the pipeline benchmark's campaign (N assets x 4 sizes: 1080x1080, 1200x628,
1080x1920, 728x90; default 48 deliverables), runs the full build once (`asset-pipeline run`,
PNG only, the default), then times publication alone on that build's renders, twice, each in a
fresh copy of the home with no publication yet: PNG only (what the build did), and PNG + JPEG +
WebP + AVIF with `--max-kb` per lossy file (the quality search runs for every file that does
not fit at quality 95), C2PA signing included as in production. Only publication differs between
the two, so the overhead is (four formats - PNG only) / full build. With --repeats N the two
publications alternate N times (each in a fresh copy) and the medians count: on a shared machine
the load changes within a run. CPU seconds are reported beside wall seconds (the full build's
from its process's rusage, publication's from this process's): on a machine shared with other
work they measure this work alone. Markdown on stdout, JSON at --out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pipeline  # noqa: E402  (benchmarks/pipeline.py: the campaign and the timed run)


def publish_once(home_dir: Path, formats: list[dict]) -> tuple[float, dict]:
    """Seconds of `publish` over the build's renders with `formats` for every deliverable, and counts."""
    from asset_pipeline.home import Home
    from asset_pipeline.stages.publish import publish
    from asset_pipeline.storage.objects import ObjectStore
    from asset_pipeline.storage.tables import read_rows

    home = Home(home_dir.resolve())
    campaign = pipeline.CAMPAIGN
    rows = [dict(r, formats=formats) for r in read_rows(home, "briefs", campaign)]
    args = [read_rows(home, t, campaign) for t in ("drafts", "renders", "checks")]
    started, cpu = time.perf_counter(), time.process_time()
    result = publish(home, rows, *args, ObjectStore(home))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    entries = result.manifest["deliverables"]
    files = [f for e in entries for f in e.get("files", [])]
    summary = {
        "cpu_seconds": round(cpu, 2),  # every thread of this process
        "published": sum(e["status"] == "published" for e in entries),
        "rejected": sum(e["status"] == "rejected" for e in entries),
        "files": len(files),
        "quality_by_format": {
            fmt: sorted({f["quality"] for f in files if f["format"] == fmt}) for fmt in ("jpeg", "webp", "avif")
        },
        "kb_max_by_format": {
            fmt: round(max((f["bytes"] for f in files if f["format"] == fmt), default=0) / 1024, 1)
            for fmt in ("png", "jpeg", "webp", "avif")
        },
    }
    return round(seconds, 2), summary


def fresh_copy(home: Path, target: Path) -> Path:
    shutil.copytree(home, target, symlinks=True, ignore=shutil.ignore_patterns("published", "dagster"))
    for table in ("publications", "files"):
        shutil.rmtree(target / "tables" / table, ignore_errors=True)
    shutil.rmtree(target / "cache" / "pixels", ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=12, help="assets (x4 sizes = deliverables)")
    parser.add_argument("--max-kb", type=float, default=300, help="budget per lossy file, KB")
    parser.add_argument("--repeats", type=int, default=1, help="alternate the two publications N times")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "encoding.json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-encoding-") as tmp:
        root = Path(tmp)
        entry, folder = pipeline.model_setup("tiny", HERE / ".cache")
        home = pipeline.make_home(root / "build", args.assets, "tiny", entry, folder)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        full = pipeline.pipeline_run(home)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        full_cpu = round(after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime, 2)
        stage = pipeline.stage_seconds(home).get("published_assets")
        png_only = [{"format": "png", "max_kb": None}]
        four = png_only + [{"format": f, "max_kb": args.max_kb} for f in ("jpeg", "webp", "avif")]
        png_runs, four_runs, png_cpu, four_cpu = [], [], [], []
        for i in range(args.repeats):
            png_s, png_summary = publish_once(fresh_copy(home, root / f"png{i}"), png_only)
            four_s, four_summary = publish_once(fresh_copy(home, root / f"four{i}"), four)
            png_runs.append(png_s)
            four_runs.append(four_s)
            png_cpu.append(png_summary["cpu_seconds"])
            four_cpu.append(four_summary["cpu_seconds"])
            shutil.rmtree(root / f"png{i}")
            shutil.rmtree(root / f"four{i}")
    png_s, four_s = statistics.median(png_runs), statistics.median(four_runs)
    overhead = (four_s - png_s) / full["seconds"]
    # CPU seconds: what the work costs whatever else runs on a shared machine (wall seconds
    # there measure the neighbours' load as much as this work)
    cpu_overhead = (statistics.median(four_cpu) - statistics.median(png_cpu)) / full_cpu
    machine = pipeline.machine_info(load_before)
    deliverables = args.assets * len(pipeline.SIZES)

    def runs(seconds: list[float]) -> str:
        return f" (median of {', '.join(map(str, seconds))})" if len(seconds) > 1 else ""

    text = "\n".join(
        [
            f"### encoding overhead, {deliverables} deliverables (tiny model)",
            "",
            "| measure | seconds |",
            "|---|---|",
            f"| full build (PNG only), `asset-pipeline run` | {full['seconds']} |",
            f"| its published_assets step | {stage} |",
            f"| publication alone, PNG only{runs(png_runs)} | {png_s} |",
            f"| publication alone, PNG + JPEG + WebP + AVIF, {args.max_kb:g} KB per lossy file{runs(four_runs)} "
            f"| {four_s} |",
            f"| **overhead: (four formats - PNG) / full build** | **{overhead:.1%}** |",
            "",
            "| CPU seconds (every thread and child process) | |",
            "|---|---|",
            f"| full build | {full_cpu} |",
            f"| publication alone, PNG only{runs(png_cpu)} | {statistics.median(png_cpu)} |",
            f"| publication alone, four formats{runs(four_cpu)} | {statistics.median(four_cpu)} |",
            f"| **overhead in CPU seconds** | **{cpu_overhead:.1%}** |",
            "",
            f"Four formats: {four_summary['published']} published, {four_summary['rejected']} rejected, "
            f"{four_summary['files']} files; qualities chosen {json.dumps(four_summary['quality_by_format'])}; "
            f"largest file per format (KB) {json.dumps(four_summary['kb_max_by_format'])}.",
            "",
            f"Machine: {machine['cpu']}, {machine['cpus']} CPUs; load average {machine['loadavg_before']} before, "
            f"{machine['loadavg_after']} after.",
        ]
    )
    print(text)
    result = {
        "machine": machine,
        "deliverables": deliverables,
        "max_kb": args.max_kb,
        "full_build_seconds": full["seconds"],
        "published_assets_step_seconds": stage,
        "publish_png_seconds": png_s,
        "publish_four_formats_seconds": four_s,
        "publish_png_runs": png_runs,
        "publish_four_formats_runs": four_runs,
        "overhead_of_full_build": round(overhead, 4),
        "full_build_cpu_seconds": full_cpu,
        "publish_png_cpu_runs": png_cpu,
        "publish_four_formats_cpu_runs": four_cpu,
        "cpu_overhead_of_full_build": round(cpu_overhead, 4),
        "png_only": png_summary,
        "four_formats": four_summary,
        "markdown": text,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
