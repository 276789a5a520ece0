"""The review gallery: `published/<campaign>/index.html`, one static page per campaign.

For reviewers without Dagster: thumbnails grouped by asset and size, each
deliverable's status, the reasons it was rejected, its version history and
links to every version. Links are relative, so the folder can be zipped, copied
or served by any web server. Thumbnails are small PNGs in `thumbs/`, named by
the sha256 of the image they show (so each is made once); a rejected
deliverable shows the render that failed, beside its last good version if any.
"""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import datetime

from PIL import Image

from asset_pipeline.home import Home
from asset_pipeline.storage.files import atomic_write_bytes
from asset_pipeline.storage.objects import ObjectStore, encode_png

THUMB_SIDE = 240  # px, the longer side

STYLE = """
body { font-family: DejaVu Sans, sans-serif; margin: 24px; color: #1a1a1a; background: #f6f6f4; }
h1 { margin-bottom: 4px; } .meta { color: #555; font-size: 13px; margin-bottom: 24px; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; color: #444; margin: 16px 0 8px; }
.row { display: flex; flex-wrap: wrap; gap: 16px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px; width: 260px; }
.card img { display: block; max-width: 240px; max-height: 240px; margin: 0 auto 8px; border: 1px solid #eee; }
.status { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px; font-weight: bold; }
.published { background: #d8f3dc; color: #1b5e20; } .rejected { background: #ffd6d6; color: #8b0000; }
.reasons { font-size: 12px; color: #8b0000; padding-left: 16px; overflow-wrap: anywhere; }
.history { font-size: 12px; color: #333; padding-left: 16px; }
.small { font-size: 12px; color: #555; }
"""


def _thumbnail(home: Home, campaign: str, sha: str, source) -> str:
    """The thumbnail's path relative to the campaign folder, making it if needed."""
    relative = f"thumbs/{sha}.png"
    path = home.inside("published", campaign, "thumbs", f"{sha}.png")
    if not path.exists():
        with Image.open(source) as image:
            image.load()
            thumb = image.convert("RGB")
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        atomic_write_bytes(path, encode_png(thumb))
    return relative


def _relative(campaign: str, path: str) -> str:
    """A home-relative `published/<campaign>/...` path as a link from the campaign folder."""
    prefix = f"published/{campaign}/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else str(value)


def _card(
    home: Home, campaign: str, entry: dict, history: list[dict], render_sha: str | None, store: ObjectStore
) -> str:
    e = html.escape
    status = entry["status"]
    parts = [f'<div class="card" data-status="{status}">']
    if status == "published":
        thumb = _thumbnail(home, campaign, entry["sha256"], home.inside(entry["path"]))
        parts.append(
            f'<a href="{e(_relative(campaign, entry["path"]))}"><img src="{e(thumb)}" '
            f'alt="{e(entry["asset"])} variant {entry["variant"]} {e(entry["size"])}"></a>'
        )
    elif render_sha and store.exists(render_sha):
        thumb = _thumbnail(home, campaign, render_sha, store.path(render_sha))
        parts.append(
            f'<img src="{e(thumb)}" alt="rejected render of {e(entry["asset"])} '
            f'variant {entry["variant"]} {e(entry["size"])}">'
        )
    parts.append(
        f'<div><span class="status {status}">{status}</span> '
        f'<span class="small">variant {entry["variant"]} · model {e(str(entry["model"]))} · '
        f"seed {entry['seed']}</span></div>"
    )
    if entry.get("latest_path"):
        label = "latest" if status == "published" else f"latest good version (v{entry['version']})"
        parts.append(f'<div class="small"><a href="{e(_relative(campaign, entry["latest_path"]))}">{label}</a></div>')
    if entry["reasons"]:
        parts.append('<ul class="reasons">' + "".join(f"<li>{e(r)}</li>" for r in entry["reasons"]) + "</ul>")
    versions = [r for r in history if r["status"] == "published"]
    if versions:
        items = "".join(
            f'<li><a href="{e(_relative(campaign, r["path"]))}">v{r["version"]}</a> '
            f"{_when(r['published_at'])} <code>{r['sha256'][:12]}</code></li>"
            for r in reversed(versions)
        )
        parts.append(f'<div class="small">version history</div><ul class="history">{items}</ul>')
    parts.append("</div>")
    return "".join(parts)


def write_gallery(
    home: Home, manifest: dict, history: list[dict], renders: dict[tuple, str | None], store: ObjectStore
) -> str:
    """Write `published/<campaign>/index.html` atomically; returns its home-relative path.

    `history` is the campaign's publications rows; `renders` maps (asset,
    variant, size) to the render's sha256 (shown for rejected deliverables).
    """
    e = html.escape
    campaign = manifest["campaign"]
    by_deliverable: dict[tuple, list[dict]] = defaultdict(list)
    for row in history:
        by_deliverable[(row["asset"], row["variant"], row["size"])].append(row)
    grouped: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for entry in manifest["deliverables"]:
        grouped[entry["asset"]][entry["size"]].append(entry)

    entries = manifest["deliverables"]
    published = sum(entry["status"] == "published" for entry in entries)
    body = [
        f"<h1>{e(campaign)}</h1>",
        f'<div class="meta">brand {e(str(manifest.get("brand")))} · brief hash <code>{e(manifest["brief_hash"][:12])}</code>'
        f" · brand hash <code>{e(manifest['brand_hash'][:12])}</code> · pipeline {e(str(manifest.get('pipeline_version')))}"
        f" · {published} published, {len(entries) - published} rejected"
        f' · <a href="manifest.json">manifest.json</a></div>',
    ]
    for asset, sizes in grouped.items():
        body.append(f'<section class="asset" id="{e(asset)}"><h2>{e(asset)}</h2>')
        for size, cards in sizes.items():
            body.append(f'<h3>{e(size)}</h3><div class="row">')
            for entry in sorted(cards, key=lambda c: c["variant"]):
                key = (entry["asset"], entry["variant"], entry["size"])
                body.append(_card(home, campaign, entry, by_deliverable.get(key, []), renders.get(key), store))
            body.append("</div>")
        body.append("</section>")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(campaign)}: review gallery</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
    atomic_write_bytes(home.inside("published", campaign, "index.html"), page.encode("utf-8"))
    return f"published/{campaign}/index.html"
