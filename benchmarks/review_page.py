"""Review page load time for a 200-deliverable campaign (target: under 1 s, thumbnails lazy).

    python benchmarks/review_page.py [--assets 50] [--sizes 4] [--browser] [--out benchmarks/results/review_page.json]

Makes a home whose campaign has `assets` x `sizes` deliverables, each with two published
versions (so every card has a version history and a pixel-difference view) and 14 check
rows, written through the same tables, manifest and gallery code a run uses (no model runs:
what is measured is the page, not the pipeline). Then, against `asset-pipeline review`'s app
served by uvicorn on loopback, it measures:

- the server's time for `GET /campaigns/<campaign>` (first request, and the median of 10);
- with --browser, headless Chromium's navigation to the page: DOMContentLoaded and the load
  event (which waits for the images that are in view: the rest are `loading="lazy"`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SIZES = ["300x250", "728x90", "1080x1080", "1200x628", "160x600", "320x50"]
CHECKS = ["ocr", "hallucination", "contrast", "margins", "size", "blank", "edge", "font_px", "lines", "banned"]
CHECKS += ["logo", "product", "draft", "lint"]


def build_home(root: Path, assets: int, sizes: int) -> tuple[Path, int]:
    from PIL import Image

    from asset_pipeline.home import Home
    from asset_pipeline.publishing.gallery import write_gallery
    from asset_pipeline.stages.publish import deliverable_dir
    from asset_pipeline.storage.files import atomic_write_bytes
    from asset_pipeline.storage.objects import ObjectStore, encode_png, pixels_sha256, sha256_bytes
    from asset_pipeline.storage.tables import write_rows

    home = Home(root)
    store = ObjectStore(home)
    campaign, now = "bench", datetime.now(UTC)
    history, entries, renders, checks = [], [], [], []
    for a in range(assets):
        for size in SIZES[:sizes]:
            width, height = map(int, size.split("x"))
            key = (f"asset{a:03d}", 1, size)
            folder = deliverable_dir(campaign, *key)
            for version in (1, 2):
                image = Image.new("RGB", (width, height), ((a * 37 + version * 90) % 256, 120, 200))
                data = encode_png(image)
                path = f"{folder}/v{version}.png"
                atomic_write_bytes(home.inside(path), data)
                render = store.put_image(image)
                history.append(
                    dict(
                        campaign=campaign,
                        asset=key[0],
                        variant=1,
                        size=size,
                        status="published",
                        path=path,
                        sha256=sha256_bytes(data),
                        version=version,
                        published_at=now,
                        model="tiny",
                        seed=a,
                        brief_hash="b" * 64,
                        brand_hash="c" * 64,
                        render_sha256=render,
                        pixels_sha256=pixels_sha256(image),
                        change="pixels",
                        reasons=[],
                        checks=[],
                    )
                )
            renders.append(
                dict(
                    campaign=campaign,
                    asset=key[0],
                    variant=1,
                    size=size,
                    image_sha256=render,
                    brand_hash="c" * 64,
                    draft_sha256="d" * 64,
                    layout=None,
                    engine="lanczos",
                    error=None,
                    upscaler_error=None,
                )
            )
            checks += [
                dict(
                    campaign=campaign,
                    asset=key[0],
                    variant=1,
                    size=size,
                    render_sha256=render,
                    check=name,
                    passed=True,
                    value=0.97,
                    detail="ok",
                )
                for name in CHECKS
            ]
            last = history[-1]
            entries.append(
                dict(
                    asset=key[0],
                    variant=1,
                    size=size,
                    model="tiny",
                    seed=a,
                    reasons=[],
                    status="published",
                    path=last["path"],
                    sha256=last["sha256"],
                    version=2,
                    latest_path=f"{folder}/latest.png",
                )
            )
    write_rows(home, "publications", campaign, history)
    write_rows(home, "renders", campaign, renders)
    write_rows(home, "checks", campaign, checks)
    write_rows(home, "approvals", campaign, [])
    manifest = {
        "campaign": campaign,
        "brand": "acme",
        "brand_hash": "c" * 64,
        "brief_hash": "b" * 64,
        "pipeline_version": "bench",
        "inputs": {},
        "deliverables": entries,
    }
    atomic_write_bytes(home.inside("published", campaign, "manifest.json"), json.dumps(manifest).encode())
    write_gallery(home, manifest, history, store)  # thumbnails and diffs, as a run makes them
    return root, len(entries)


def serve(root: Path, port: int):
    import uvicorn

    from asset_pipeline.home import Home
    from asset_pipeline.review.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(Home(root), "b" * 32), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread


def fetch(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
    return time.perf_counter() - started, body


def browser_timing(url: str) -> dict:
    from asset_pipeline_tests.support.browser import start_chromium

    driver = start_chromium()
    try:
        runs = []
        for _ in range(3):
            driver.get(url)
            timing = driver.execute_script(
                "const t = performance.getEntriesByType('navigation')[0];"
                "return {dom: t.domContentLoadedEventEnd, load: t.loadEventEnd,"
                " images: document.images.length,"
                " loaded: Array.from(document.images).filter(i => i.complete && i.naturalWidth).length};"
            )
            runs.append(timing)
        return {
            "dom_content_loaded_ms": round(statistics.median(r["dom"] for r in runs)),
            "load_event_ms": round(statistics.median(r["load"] for r in runs)),
            "images_in_page": runs[-1]["images"],
            "images_loaded_at_load": runs[-1]["loaded"],
        }
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=50)
    parser.add_argument("--sizes", type=int, default=4)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "review_page.json")
    args = parser.parse_args()
    from asset_pipeline_tests.conftest import free_port

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        root, deliverables = build_home(Path(tmp) / "home", args.assets, args.sizes)
        setup = time.perf_counter() - started
        port = free_port()
        server, thread = serve(root, port)
        url = f"http://127.0.0.1:{port}/campaigns/bench"
        first, body = fetch(url)
        warm = [fetch(url)[0] for _ in range(10)]
        result = {
            "deliverables": deliverables,
            "setup_s": round(setup, 2),
            "server_first_request_s": round(first, 3),
            "server_median_s": round(statistics.median(warm), 3),
            "html_kb": round(len(body) / 1024, 1),
            "lazy_images": body.count(b'loading="lazy"'),
            "cpus": os.cpu_count(),
        }
        if args.browser:
            result.update(browser_timing(url))
        server.should_exit = True
        thread.join(timeout=10)
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
