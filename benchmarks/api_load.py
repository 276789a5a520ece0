"""HTTP API benchmark: real-time render latency, load, and the same deliverable through `run`.

    python benchmarks/api_load.py [--requests 50] [--new 10] [--clients 8] [--duration 60]
                                  [--size 1080x1080] [--out benchmarks/results/api_load.json]

In a fresh home with the sample brand and the built-in routes (the embedded model draws where
no real checkpoint is local), it starts `asset-pipeline serve` and measures, over HTTP:

- warm renders: one deliverable (`--size`, headline, body and CTA, PNG and JPEG, OCR-checked,
  C2PA-signed) whose key visual is cached, a new headline each time (so layout, render, checks
  and encoding all run), `--requests` of them one after another: p50, p95;
- new key visuals: the same with a new seed each time (`--new` requests): p50, p95;
- load: `--clients` threads posting such renders for `--duration` seconds, each sleeping for
  `Retry-After` on a 429: status counts (5xx must be 0, every non-2xx a 429 with Retry-After),
  throughput, p95 of the 2xx answers, and the server's peak RSS (VmHWM);
- side by side: the same deliverable through `asset-pipeline run` (a Dagster run, a process of
  its own), once with a new key visual and once with only the headline changed, and the ratio
  of the latter to the warm real-time p50.

Markdown on stdout, JSON at --out. Wall clock; the machine's cores and load are recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

BRAND = REPO / "data" / "brands" / "acme.yaml"
PROMPT = "ceramic mug on a wooden table, studio light"


def asset(size: str, headline: str, seed: int) -> dict:
    return {
        "prompt": PROMPT,
        "headline": headline,
        "body": "Up to 50% off mugs",
        "cta": "Shop now",
        "sizes": [size],
        "formats": ["png", "jpeg"],
        "seed": seed,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Client:
    def __init__(self, port: int, token: str):
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def render(self, body: dict) -> tuple[int, float, dict, dict]:
        data = json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}/v1/renders", data=data, method="POST")
        request.add_header("content-type", "application/json")
        request.add_header("authorization", f"Bearer {self.token}")
        request.add_header("prefer", "wait=60")
        started = time.perf_counter()
        try:
            response = urllib.request.urlopen(request, timeout=120)
            status = response.status
        except urllib.error.HTTPError as error:
            response, status = error, error.code
        payload = response.read()
        seconds = time.perf_counter() - started
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = {}
        return status, seconds, dict(response.headers), parsed


def start_server(home: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    log = open(home / "serve.log", "ab")  # noqa: SIM115 - the server's, for as long as it runs
    process = subprocess.Popen(
        [sys.executable, "-m", "asset_pipeline", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the server did not start; see {home / 'serve.log'}")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_s": round(statistics.median(values), 3),
        "p95_s": round(percentile(values, 0.95), 3),
        "max_s": round(max(values), 3),
    }


def stage_medians(answers: list[dict]) -> dict[str, float]:
    """The median seconds of each stage over the answers' `timings`: where a render's time goes."""
    stages = answers[0].get("timings", {}) if answers else {}
    return {stage: round(statistics.median(a["timings"][stage] for a in answers), 3) for stage in stages}


def sequential(client: Client, bodies: list[dict]) -> tuple[list[float], list[dict]]:
    seconds, answers = [], []
    for body in bodies:
        status, took, _, answer = client.render(body)
        if status != 200 or answer.get("status") != "done":
            raise SystemExit(f"render answered {status}: {json.dumps(answer)[:300]}")
        seconds.append(took)
        answers.append(answer)
    return seconds, answers


def load(client: Client, clients: int, duration: float, size: str, seed: int) -> dict:
    statuses: dict[int, int] = {}
    ok_seconds: list[float] = []
    bad: list[str] = []
    lock, stop = threading.Lock(), time.monotonic() + duration

    def worker(index: int) -> None:
        n = 0
        while time.monotonic() < stop:
            n += 1
            status, took, headers, answer = client.render(
                {"brand": "acme", "asset": asset(size, f"Deal {index}-{n}", seed)}
            )
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    ok_seconds.append(took)
                elif status != 429 or "Retry-After" not in headers:
                    bad.append(f"{status}: {json.dumps(answer)[:200]}")
            if status == 429:
                time.sleep(float(headers.get("Retry-After", 1)))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "not_429": bad[:5],
        "renders_per_s": round(len(ok_seconds) / wall, 2),
        **(
            {"p95_s": round(percentile(ok_seconds, 0.95), 3), "p50_s": round(statistics.median(ok_seconds), 3)}
            if ok_seconds
            else {}
        ),
    }


def via_run(home: Path, size: str, headline: str, seed: int) -> float:
    brief = {"campaign": "side", "brand": "acme", "assets": [{"id": "hero", **asset(size, headline, seed)}]}
    import yaml

    (home / "briefs" / "side.yaml").write_text(yaml.safe_dump(brief, sort_keys=False))
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "asset_pipeline", "run", "side", "--quiet"], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"run failed: {done.stderr[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--size", default="1080x1080")
    parser.add_argument("--out", default=str(HERE / "results" / "api_load.json"))
    parser.add_argument("--keep", action="store_true", help="keep the home (printed) for a look")
    args = parser.parse_args()

    from asset_pipeline.api.tokens import TokenStore
    from asset_pipeline.home import Home

    load_before = os.getloadavg()
    home = Path(tempfile.mkdtemp(prefix="api-load-")) / "home"
    (home / "brands").mkdir(parents=True)
    (home / "briefs").mkdir()
    shutil.copy(BRAND, home / "brands" / "acme.yaml")
    _, token = TokenStore(Home(home)).create(["render", "read"], "benchmark")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_server(home, port)
    client = Client(port, token)
    try:
        seed = 1234
        first_s, (first,) = sequential(client, [{"brand": "acme", "asset": asset(args.size, "Spring Sale", seed)}])
        model = first["deliverables"][0]["model"]
        checks = sorted({c["check"] for c in first["deliverables"][0]["checks"]})
        warm_s, warm = sequential(
            client,
            [{"brand": "acme", "asset": asset(args.size, f"Spring Sale {i}", seed)} for i in range(args.requests)],
        )
        assert all(a["drafts_generated"] == 0 for a in warm), "a warm render generated a key visual"
        published = sum(a["deliverables"][0]["status"] == "published" for a in warm)
        new_s, fresh = sequential(
            client,
            [{"brand": "acme", "asset": asset(args.size, "Spring Sale", seed + 1 + i)} for i in range(args.new)],
        )
        loaded = load(client, args.clients, args.duration, args.size, seed) if args.duration > 0 else None
        rss = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    run_new = via_run(home, args.size, "Spring Sale", seed + 1000)
    run_warm = via_run(home, args.size, "Autumn Sale", seed + 1000)
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "python": platform.python_version(),
        },
        "size": args.size,
        "model": model,
        "checks": checks,
        "first_request_s": round(first_s[0], 3),
        "warm_cached_key_visual": {**summary(warm_s), "published": published, "stage_p50_s": stage_medians(warm)},
        "new_key_visual": {**summary(new_s), "stage_p50_s": stage_medians(fresh)},
        "load": loaded,
        "server_peak_rss_mb": round(rss),
        "run": {
            "new_key_visual_s": round(run_new, 2),
            "headline_changed_s": round(run_warm, 2),
            "ratio_to_realtime_p50": round(run_warm / statistics.median(warm_s), 1),
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    w, n = result["warm_cached_key_visual"], result["new_key_visual"]
    print("| measure | n | p50 s | p95 s |\n|---|---|---|---|")
    print(f"| warm render, key visual cached ({args.size}, {model}) | {w['n']} | {w['p50_s']} | {w['p95_s']} |")
    print(f"| render with a new key visual | {n['n']} | {n['p50_s']} | {n['p95_s']} |")
    print(f"\nwarm render, median seconds per stage (the answer's `timings`): {json.dumps(w['stage_p50_s'])}")
    if loaded:
        print(f"\nload: {json.dumps(loaded)}")
    print(f"server peak RSS {result['server_peak_rss_mb']} MB; `run`: {json.dumps(result['run'])}")
    print(f"machine: {json.dumps(result['machine'])}")
    if args.keep:
        print(f"home kept at {home}")
    else:
        shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
