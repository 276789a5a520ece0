"""Draft generation benchmark: seconds per image, load time and peak memory per model.

    python benchmarks/generation.py [--models tiny,sd-turbo-arch] [--batch 4] [--size 512]
                                    [--steps N] [--repeat 1] [--threads N] [--home PATH]
                                    [--out benchmarks/results/generation.json] [--append]

Each model is measured in a fresh subprocess (so peak RSS and CUDA peak memory are its
own) through `DraftGenerator`, the path the drafts stage takes: the load is timed alone,
one untimed warm-up image follows (its time is reported as first_image_s: on CPU the
first call at a shape builds oneDNN kernels), then `--repeat` timed calls at batch 1 and
at batch N. On CPU the generator runs each image of a batch as its own pipeline call (so
an image's bytes never depend on its batch neighbours): batch N costs about N x batch 1
there by design. On CUDA the batch is one call, in the spec's dtype.

Models:
  tiny            the built-in random tiny SD pipeline (256 px, 2 steps)
  sd-turbo-arch   SD-Turbo's real architecture (SD 2.1 UNet, OpenCLIP ViT-H text encoder, SD VAE)
                  with random weights, 1 step, 512 px; built once into <cache>/sd-turbo-arch
                  (float16 safetensors, ~2.6 GB; building takes a minute or two)
  sdxl-turbo-arch SDXL-Turbo's real architecture (SDXL UNet, CLIP ViT-L + OpenCLIP bigG, SDXL VAE)
                  with random weights, 1 step, 512 px; built once into <cache>/sdxl-turbo-arch
                  (float16 safetensors, ~7 GB)
  sd-tiny, sdxl-tiny, sd3-tiny, flux-tiny
                  the tiny random pipelines of each family (asset_pipeline_tests/support/families.py)
  anything else   a model id of --home's registry (models.yaml, or a real checkpoint in the
                  local Hugging Face cache such as sd-turbo); nothing is downloaded

The cache folder (default benchmarks/.cache/) is not tracked. Output: a markdown table on
stdout and JSON at --out ({"runs": [{"machine", "config", "results"}]}; --append adds a run
to an existing file instead of replacing it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # runnable as a plain script from anywhere
    sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a hub

DEFAULT_CACHE = HERE / ".cache"
DEFAULT_OUT = HERE / "results" / "generation.json"
PROMPT = "ceramic mug on a wooden table, studio light, clean product photography, soft daylight"
NEGATIVE = "text, letters, watermark"
RESULT_TAG = "BENCHMARK-RESULT "


# ------------------------------------------------------------------------- in the child


def _spec_for(name: str, cache: Path, home: Path | None):
    """(registry, spec, build_seconds) for a benchmark model name."""
    from asset_pipeline.models.registry import ModelSpec, load_registry
    from asset_pipeline_tests.support.families import (
        FAMILIES,
        SD_TURBO_ENTRY,
        SDXL_TURBO_ENTRY,
        build_family_model,
        build_sd_turbo_architecture,
        build_sdxl_turbo_architecture,
    )

    home = home or cache / "home"
    home.mkdir(parents=True, exist_ok=True)
    registry = load_registry(home)
    started = time.perf_counter()
    spec = None
    if name == "sd-turbo-arch":
        folder = build_sd_turbo_architecture(cache / "sd-turbo-arch")
        spec = ModelSpec(id=name, path=str(folder), tiers=["draft"], **SD_TURBO_ENTRY)
    elif name == "sdxl-turbo-arch":
        folder = build_sdxl_turbo_architecture(cache / "sdxl-turbo-arch")
        spec = ModelSpec(id=name, path=str(folder), tiers=["draft"], **SDXL_TURBO_ENTRY)
    elif name.endswith("-tiny") and name[: -len("-tiny")] in FAMILIES:
        family = FAMILIES[name[: -len("-tiny")]]
        folder = build_family_model(family.name, cache / "families" / family.name)
        spec = ModelSpec.model_validate(family.registry_entry(name, folder))
    else:
        spec = registry.get(name)
        registry.resolve_path(spec)  # builds the built-in tiny on first use
    build_seconds = time.perf_counter() - started
    spec = spec.model_copy()
    spec._home = home
    registry.models[spec.id] = spec  # in memory only: --home's models.yaml is never written
    return registry, spec, build_seconds


def _parameters(pipe) -> int:
    import torch

    return sum(
        p.numel()
        for component in pipe.components.values()
        if isinstance(component, torch.nn.Module)
        for p in component.parameters()
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(
    name: str, batches: list[int], size: int | None, steps: int | None, repeat: int, cache: Path, home: Path | None
) -> list[dict]:
    import torch

    from asset_pipeline.models.generation import DraftGenerator, device_and_dtype

    registry, spec, build_seconds = _spec_for(name, cache, home)
    if steps is not None:
        spec = spec.model_copy(update={"steps": steps})
        spec._home = registry.home
    side = size or spec.resolution
    if side % spec.multiple:
        raise SystemExit(f"--size {side} is not a multiple of {spec.multiple} (model {name})")
    device, dtype = device_and_dtype(spec)
    generator = DraftGenerator(registry)

    started = time.perf_counter()
    pipe = generator.load(spec)
    load_seconds = time.perf_counter() - started
    rss_after_load = _peak_rss_mb()

    started = time.perf_counter()
    generator.generate(spec, [PROMPT], [NEGATIVE], [0], side, side)  # warm-up, untimed
    first_image = time.perf_counter() - started

    common = {
        "model": name,
        "pipeline": type(pipe).__name__,
        "parameters_m": round(_parameters(pipe) / 1e6, 1),
        "device": device,
        "dtype": str(dtype).removeprefix("torch."),
        "size": f"{side}x{side}",
        "steps": spec.steps,
        "load_s": round(load_seconds, 3),
        "first_image_s": round(first_image, 3),
        "build_s": round(build_seconds, 3),
        "rss_after_load_mb": round(rss_after_load),
        "torch_threads": torch.get_num_threads(),
    }
    rows = []
    for batch in batches:
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        calls = []
        for r in range(repeat):
            seeds = [1 + r * batch + i for i in range(batch)]
            started = time.perf_counter()
            generator.generate(spec, [PROMPT] * batch, [NEGATIVE] * batch, seeds, side, side)
            if device == "cuda":
                torch.cuda.synchronize()
            calls.append(time.perf_counter() - started)
        per_call = statistics.median(calls)
        rows.append(
            {
                **common,
                "batch": batch,
                "repeat": repeat,
                "s_per_call": round(per_call, 3),
                "s_per_image": round(per_call / batch, 3),
                "s_per_image_min": round(min(calls) / batch, 3),
                "images_per_s": round(batch / per_call, 3),
                "peak_rss_mb": round(_peak_rss_mb()),
                "cuda_max_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20) if device == "cuda" else None,
            }
        )
    return rows


# ------------------------------------------------------------------------ in the parent


def machine() -> dict:
    import diffusers
    import torch
    import transformers

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def table(rows: list[dict]) -> str:
    head = [
        "model",
        "device",
        "dtype",
        "size",
        "steps",
        "batch",
        "s/image",
        "s/call",
        "load s",
        "first image s",
        "peak RSS MB",
        "CUDA peak MB",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | error: {r['error']} |" + " |" * (len(head) - 2))
            continue
        cells = [
            r["model"],
            r["device"],
            r["dtype"],
            r["size"],
            r["steps"],
            r["batch"],
            f"{r['s_per_image']:.3f}",
            f"{r['s_per_call']:.3f}",
            f"{r['load_s']:.2f}",
            f"{r['first_image_s']:.2f}",
            r["peak_rss_mb"],
            "-" if r["cuda_max_memory_mb"] is None else r["cuda_max_memory_mb"],
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def run_child(name: str, args: argparse.Namespace, batches: list[int]) -> list[dict]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--one",
        name,
        "--batches",
        ",".join(map(str, batches)),
        "--repeat",
        str(args.repeat),
        "--cache",
        str(args.cache),
    ]
    for flag in ("size", "steps", "threads", "home"):
        if getattr(args, flag) is not None:
            command += [f"--{flag}", str(getattr(args, flag))]
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    print(f"# {name}: {time.perf_counter() - started:.1f} s in all", file=sys.stderr)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
    return [{"model": name, "error": f"exit {proc.returncode}: {tail}"}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tiny,sd-turbo-arch", help="comma-separated (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=4, help="the larger batch, measured after batch 1 (default 4)")
    parser.add_argument("--size", type=int, default=None, help="square side in px (default: each model's resolution)")
    parser.add_argument("--steps", type=int, default=None, help="override the model's steps")
    parser.add_argument("--repeat", type=int, default=1, help="timed calls per batch size; the median is reported")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--home", type=Path, default=None, help="home whose registry names other models")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where built models go (default %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results (default %(default)s)")
    parser.add_argument("--append", action="store_true", help="add this run to --out instead of replacing it")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--batches", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    if args.one:  # child: measure one model, print its rows as one JSON line
        rows = measure(
            args.one,
            [int(b) for b in args.batches.split(",")],
            args.size,
            args.steps,
            args.repeat,
            args.cache,
            args.home,
        )
        print(RESULT_TAG + json.dumps(rows), flush=True)
        return 0

    if args.batch < 1 or args.repeat < 1:
        parser.error("--batch and --repeat must be at least 1")
    batches = sorted({1, args.batch})
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    load_before = os.getloadavg()
    started = time.time()
    rows = [row for name in models for row in run_child(name, args, batches)]
    info = machine()
    info["loadavg_before"] = [round(x, 2) for x in load_before]
    info["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    run = {
        "machine": info,
        "config": {
            "models": models,
            "batches": batches,
            "size": args.size,
            "steps": args.steps,
            "repeat": args.repeat,
            "threads": args.threads,
            "prompt": PROMPT,
            "negative": NEGATIVE,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        },
        "results": rows,
    }
    print(table(rows))
    print(
        f"\n{info['cpu']} ({info['cpus_usable']} of {info['cpu_count']} CPUs usable, torch threads "
        f"{info['torch_threads']}); GPU: {info['cuda'] or 'none'}; load average "
        f"{info['loadavg_before'][0]} -> {info['loadavg_after'][0]}"
    )

    runs = []
    if args.append and args.out.exists():
        runs = json.loads(args.out.read_text()).get("runs", [])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps({"runs": runs + [run]}, indent=2) + "\n")
    os.replace(tmp, args.out)
    print(f"results: {args.out}", file=sys.stderr)
    return 0 if all("error" not in row for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
