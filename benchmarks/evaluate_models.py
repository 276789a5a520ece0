"""Model evaluation benchmark: how long the shipped suite takes per model, and what it measured.

    python benchmarks/evaluate_models.py [--models embedded,tiny] [--home PATH] [--prompts N]
                                         [--threads N] [--out benchmarks/results/evaluate_models.json]
                                         [--docs]

Each model is evaluated through the gate the drafts stage uses (`ModelGate.run_evaluation`: cold
load, warm-up, every suite prompt timed, draft checks, determinism, 4:1 extensions, typography
read back, contact sheet), in a fresh home (default: a temporary folder). The issue's targets:
the `embedded` evaluation within 3 minutes on 2 cores; a run in which nothing changed evaluates
nothing (the gate is asked again: no new evaluation rows, and how long deciding took); and
`asset-pipeline models` answering within 1 s (a whole `python -m asset_pipeline models` process,
median of three). `--docs` writes each contact sheet, to docs/evaluation-<model>.jpg.

Output: a markdown scorecard on stdout, JSON at --out with the machine (cores, torch threads,
load average: on a shared machine the latencies are pessimistic).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # runnable as a plain script from anywhere
    sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a hub

COLUMNS = [
    ("seconds", "evaluation s"),
    ("qualified", "qualified"),
    ("load_s", "load s"),
    ("peak_memory_mb", "peak MB"),
    ("p50_s", "p50 s"),
    ("p95_s", "p95 s"),
    ("images_per_minute", "images/min"),
    ("hallucination_rate", "hallucinated text"),
    ("blank_rate", "blank"),
    ("palette_delta_e", "palette ΔE"),
    ("deterministic", "deterministic"),
    ("extension_defect_rate", "extension defects"),
    ("typography_error_rate", "typography errors"),
]


def _shown(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def docs_sheet(sheet: Path, out: Path) -> None:
    """The contact sheet as a JPEG (the random model's noise makes a 5 MB PNG): the docs show it, the PNG stays in the home."""
    from PIL import Image

    with Image.open(sheet) as image:
        image.convert("RGB").save(out, quality=80, optimize=True)


def models_command_seconds(home: Path, repeat: int = 3) -> float:
    """Median wall time of a whole `python -m asset_pipeline models` process against `home`."""
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), PYTHONPATH=str(REPO))
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "asset_pipeline", "models"], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="embedded,tiny")
    parser.add_argument("--home", type=Path, help="a home to evaluate in (default: a new temporary one)")
    parser.add_argument("--prompts", type=int, default=None, help="only the suite's first N prompts")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "evaluate_models.json")
    parser.add_argument("--docs", action="store_true", help="each contact sheet, to docs/evaluation-<model>.jpg")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from asset_pipeline.gate import ModelGate
    from asset_pipeline.home import Home
    from asset_pipeline.models.evaluation import evaluation_history, home_suite
    from asset_pipeline.models.registry import load_registry

    home_dir = args.home or Path(tempfile.mkdtemp(prefix="evaluate-models-"))
    home = Home(home_dir.resolve())
    registry = load_registry(home.root)
    suite = home_suite(home).first(args.prompts)
    results = []
    for model_id in [m.strip() for m in args.models.split(",") if m.strip()]:
        spec = registry.get(model_id)
        gate = ModelGate(home, registry, suite=suite)
        started = time.perf_counter()
        row = gate.run_evaluation(spec)
        wall = time.perf_counter() - started
        # Nothing changed: the gate asked again decides from the stored row, evaluating nothing.
        rows_before = len(evaluation_history(home, model_id))
        started = time.perf_counter()
        again = ModelGate(home, registry, suite=suite).verdict(spec)
        deciding = time.perf_counter() - started
        assert len(evaluation_history(home, model_id)) == rows_before, "a nothing-changed check evaluated again"
        results.append(
            {
                "model": model_id,
                "wall_s": round(wall, 2),
                "unchanged_verdict_s": round(deciding, 4),
                "unchanged_qualified": again.qualified,
                **{k: v for k, v in row.items() if k not in ("evaluated_at",)},
            }
        )
        if args.docs and row.get("contact_sheet"):
            docs_sheet(home.root / row["contact_sheet"], REPO / "docs" / f"evaluation-{model_id}.jpg")
    models_s = models_command_seconds(home.root)
    machine = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "device": results[0]["device"] if results else None,
    }
    report = {"machine": machine, "suite_prompts": len(suite.prompts), "models_command_s": round(models_s, 3)}
    report["results"] = results
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=str) + "\n")

    print(
        f"machine: {machine['platform']}, {machine['cpu_count']} CPUs, torch threads {machine['torch_threads']}, "
        f"load average {machine['load_average']}; suite: {len(suite.prompts)} prompts\n"
    )
    print("| model | " + " | ".join(label for _, label in COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for result in results:
        print(f"| {result['model']} | " + " | ".join(_shown(result.get(key)) for key, _ in COLUMNS) + " |")
    print()
    for result in results:
        print(
            f"{result['model']}: unchanged, the gate decided in {result['unchanged_verdict_s']} s without evaluating; "
            f"reasons: {result['reasons'] or 'none'}; findings: {len(result['findings'])}"
        )
    print(f"`asset-pipeline models`: {models_s:.2f} s (median of 3 whole processes); JSON: {args.out}")


if __name__ == "__main__":
    main()
