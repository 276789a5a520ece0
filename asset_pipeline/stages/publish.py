"""Publication: write the deliverables that passed, versioned, with provenance.

Order of writes (each atomic): version files, `latest.png`, the history table,
the manifest, then the review gallery (`index.html`, see gallery.py). A run killed anywhere leaves the previous state readable,
and a re-run converges (files are deterministic, so rewrites are identical).
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from asset_pipeline import __version__
from asset_pipeline.home import Home
from asset_pipeline.publishing import content_credentials
from asset_pipeline.publishing.gallery import write_gallery
from asset_pipeline.specs import content_hash
from asset_pipeline.stages.quality import failures_by_deliverable
from asset_pipeline.storage.cache import ResultCache
from asset_pipeline.storage.files import atomic_write_bytes, file_lock
from asset_pipeline.storage.objects import ObjectStore, encode_png, sha256_bytes
from asset_pipeline.storage.tables import read_rows, write_rows

PUBLISHED_COMPRESS_LEVEL = 6  # files people download: smaller beats faster here


def deliverable_dir(campaign: str, asset: str, variant: int, size: str) -> str:
    return f"published/{campaign}/{asset}/variant{variant}/{size}"


def provenance(brief_row: dict, draft: dict, render: dict) -> dict[str, str]:
    """What goes into the PNG's text chunks: enough to say how the file was made."""
    return {
        "asset_pipeline:version": __version__,
        "campaign": brief_row["campaign"],
        "asset": brief_row["asset"],
        "variant": str(brief_row["variant"]),
        "size": brief_row["size"],
        "prompt": draft["prompt"],
        "negative_prompt": draft["negative_prompt"] or "",
        "model": draft["model"],
        "weights_hash": draft["weights_hash"],
        "seed": str(draft["seed"]),
        "steps": str(draft["steps"]),
        "guidance": str(draft["guidance"]),
        "palette_grade": str(draft.get("palette_grade") or 0.0),
        "brief_hash": brief_row["brief_hash"],
        "brand_hash": brief_row["brand_hash"],
        "draft_sha256": draft["image_sha256"],
        "render_sha256": render["image_sha256"],
        "upscale": render.get("engine") or "",  # lanczos, or diffusers:<model id>
    }


def _latest_by_deliverable(history: list[dict]) -> dict[tuple, dict]:
    latest: dict[tuple, dict] = {}
    for row in history:  # rows are appended in time order
        latest[(row["asset"], row["variant"], row["size"])] = row
    return latest


def _published_key(render: dict, text: dict[str, str], sign: bool) -> str:
    return content_hash(
        {"render": render["image_sha256"], "text": text, "level": PUBLISHED_COMPRESS_LEVEL, "c2pa": sign}
    )


def _plan_files(
    deliverables: list[dict],
    served: dict,
    render_of: dict,
    reasons: dict,
    last_good: dict,
    encoded: ResultCache,
    sign: bool,
) -> dict[tuple, tuple[dict[str, str], str, str | None, bool]]:
    """Per passing deliverable, in deliverable order: (provenance, cache key, signed sha if
    known, whether its published file must be encoded anew)."""
    plans = {}
    for row in deliverables:
        key = (row["asset"], row["variant"], row["size"])
        if reasons.get(key, ["checks: no check results"]):
            continue  # rejected: nothing to write
        render = render_of[key]
        text = provenance(row, served[key], render)
        cache_key = _published_key(render, text, sign)
        sha, good = encoded.get(cache_key), last_good.get(key)
        plans[key] = (text, cache_key, sha, sha is None or not good or good["sha256"] != sha)
    return plans


def _encode_in_order(todo: list[tuple], store: ObjectStore) -> Iterator[tuple[tuple, bytes]]:
    """(key, PNG bytes with provenance chunks, not yet signed) for each job, in order.

    Decoding the render and zlib at level 6 are most of publication's time and both release
    the GIL, so they run on a thread per core, a bounded window ahead of the (sequential)
    signing and writing, so memory stays a few images whatever the campaign's size.
    """
    workers = max(1, min(len(todo), os.cpu_count() or 1))

    def encode(job: tuple) -> bytes:
        _, image_sha, text = job
        return encode_png(store.open(image_sha), text, PUBLISHED_COMPRESS_LEVEL)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        window: deque = deque()
        for job in todo:
            window.append((job[0], pool.submit(encode, job)))
            if len(window) > 2 * workers:
                key, future = window.popleft()
                yield key, future.result()
        while window:
            key, future = window.popleft()
            yield key, future.result()


def publish(
    home: Home,
    deliverables: list[dict],
    drafts: list[dict],
    renders: list[dict],
    checks: list[dict],
    store: ObjectStore,
) -> tuple[dict, int]:
    """Publish what passed; returns the manifest (also written to disk) and the count of new versions."""
    campaign = deliverables[0]["campaign"]
    served = {(d["asset"], d["variant"], size): d for d in drafts for size in d["sizes"]}
    render_of = {(r["asset"], r["variant"], r["size"]): r for r in renders}
    reasons = failures_by_deliverable(checks)
    # Each history row keeps the checks it was judged by, so the lineage of an
    # old version still shows them after later runs replaced the checks table.
    judged: dict[tuple, list[dict]] = {}
    for check in checks:
        judged.setdefault((check["asset"], check["variant"], check["size"]), []).append(
            {name: check[name] for name in ("check", "passed", "value", "detail")}
        )
    encoded = ResultCache(home, "published")
    sign = content_credentials.available()
    now = datetime.now(UTC)

    with file_lock(home.locks / f"publish-{campaign}.lock"):
        history = read_rows(home, "publications", campaign)
        last_row = _latest_by_deliverable(history)
        last_good = _latest_by_deliverable([r for r in history if r["status"] == "published"])
        plans = _plan_files(deliverables, served, render_of, reasons, last_good, encoded, sign)
        fresh = _encode_in_order(
            [(key, render_of[key]["image_sha256"], text) for key, (text, _, _, new) in plans.items() if new], store
        )
        new_rows, entries = [], []
        for row in deliverables:
            key = (row["asset"], row["variant"], row["size"])
            draft, render = served[key], render_of[key]
            why = reasons.get(key, ["checks: no check results"])
            good = last_good.get(key)
            base = dict(
                campaign=campaign,
                asset=row["asset"],
                variant=row["variant"],
                size=row["size"],
                model=draft["model"],
                seed=draft["seed"],
                brief_hash=row["brief_hash"],
                brand_hash=row["brand_hash"],
                render_sha256=render["image_sha256"],
                checks=judged.get(key, []),
            )
            entry = dict(
                asset=row["asset"],
                variant=row["variant"],
                size=row["size"],
                model=draft["model"],
                seed=draft["seed"],
                reasons=why,
            )
            if why:
                entry.update(
                    status="rejected",
                    path=None,
                    sha256=None,
                    version=good["version"] if good else None,
                    latest_path=good and deliverable_dir(campaign, *key) + "/latest.png",
                )
                previous = last_row.get(key)
                repeated = (
                    previous
                    and previous["status"] == "rejected"
                    and list(previous["reasons"]) == why
                    and previous["render_sha256"] == render["image_sha256"]
                )
                if not repeated:  # history records changes of outcome, not every run
                    new_rows.append(
                        dict(
                            base,
                            status="rejected",
                            path=None,
                            sha256=None,
                            version=good["version"] if good else 0,
                            published_at=now,
                            reasons=why,
                        )
                    )
                entries.append(entry)
                continue

            text, cache_key, sha, new = plans[key]
            data = None
            if new:
                encoded_key, data = next(fresh)  # same order as the deliverables
                assert encoded_key == key
                if sign:  # C2PA content credentials, when c2pa-python is installed
                    data = content_credentials.sign_png(home, data, f"{campaign}/{'/'.join(map(str, key))}", text)
                sha = sha256_bytes(data)
                encoded.put(cache_key, sha)
            folder = deliverable_dir(campaign, *key)
            if good and good["sha256"] == sha:
                version, path = good["version"], good["path"]
            else:
                version = (good["version"] if good else 0) + 1
                path = f"{folder}/v{version}.png"
                atomic_write_bytes(home.inside(path), data)
                new_rows.append(
                    dict(base, status="published", path=path, sha256=sha, version=version, published_at=now, reasons=[])
                )
            latest = home.inside(folder, "latest.png")
            if data is not None or not latest.exists():
                atomic_write_bytes(latest, data or home.inside(path).read_bytes())
            entry.update(status="published", path=path, sha256=sha, version=version, latest_path=f"{folder}/latest.png")
            entries.append(entry)

        if new_rows:
            write_rows(home, "publications", campaign, history + new_rows)
        manifest = {
            "campaign": campaign,
            "brand": deliverables[0]["brand"],
            "brand_hash": deliverables[0]["brand_hash"],
            "brief_hash": deliverables[0]["brief_hash"],
            "pipeline_version": __version__,
            "deliverables": entries,
        }
        manifest_path = home.inside("published", campaign, "manifest.json")
        atomic_write_bytes(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
        write_gallery(home, manifest, history + new_rows, {k: r["image_sha256"] for k, r in render_of.items()}, store)
    return manifest, sum(r["status"] == "published" for r in new_rows)
