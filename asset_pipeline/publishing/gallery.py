"""The review gallery: `published/<campaign>/index.html`, one static page per campaign.

For reviewers without Dagster: thumbnails grouped by asset and size, each
deliverable's status, the reasons it was rejected, its version history and
links to every version. Links are relative, so the folder can be zipped, copied
or served by any web server. Thumbnails are small PNGs in `thumbs/`, named by
the sha256 of the image they show (so each is made once); a rejected
deliverable shows the render that failed, beside its last good version if any.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import datetime

import jinja2
import markupsafe
from PIL import Image

from asset_pipeline.echo import shown
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


# Jinja2 with autoescape: every value is HTML-escaped by the engine, none by hand. Values that
# come from input (ids, sizes, reasons) also go through `shown`: no control characters, short.
TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ campaign }}: review gallery</title>
<style>{{ style }}</style></head><body>
<h1>{{ campaign }}</h1>
<div class="meta">brand {{ brand }} · brief hash <code>{{ brief_hash }}</code> · brand hash <code>{{ brand_hash }}</code>
 · pipeline {{ pipeline }} · {{ published }} published, {{ rejected }} rejected · <a href="manifest.json">manifest.json</a></div>
{% for asset in assets %}<section class="asset" id="{{ asset.id }}"><h2>{{ asset.id }}</h2>
{% for size in asset.sizes %}<h3>{{ size.size }}</h3><div class="row">
{% for card in size.cards %}<div class="card" data-status="{{ card.status }}">
{% if card.link %}<a href="{{ card.link }}"><img src="{{ card.thumb }}" alt="{{ card.alt }}"></a>
{% elif card.thumb %}<img src="{{ card.thumb }}" alt="rejected render of {{ card.alt }}">{% endif %}
<div><span class="status {{ card.status }}">{{ card.status }}</span>
 <span class="small">variant {{ card.variant }} · model {{ card.model }} · seed {{ card.seed }}</span></div>
{% if card.latest %}<div class="small"><a href="{{ card.latest }}">{{ card.latest_label }}</a></div>{% endif %}
{% if card.reasons %}<ul class="reasons">{% for reason in card.reasons %}<li>{{ reason }}</li>{% endfor %}</ul>{% endif %}
{% if card.versions %}<div class="small">version history</div><ul class="history">
{% for v in card.versions %}<li><a href="{{ v.link }}">v{{ v.version }}</a> {{ v.when }} <code>{{ v.sha }}</code></li>
{% endfor %}</ul>{% endif %}
</div>
{% endfor %}</div>
{% endfor %}</section>
{% endfor %}</body></html>
"""
REASON_LIMIT = 300  # a rejection reason names checks and what they read; the manifest has it whole


@functools.cache
def _template() -> jinja2.Template:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(TEMPLATE)


def _card(
    home: Home, campaign: str, entry: dict, history: list[dict], render_sha: str | None, store: ObjectStore
) -> dict:
    status = entry["status"]
    card = {
        "status": shown(status),
        "variant": shown(entry["variant"]),
        "model": shown(entry["model"]),
        "seed": shown(entry["seed"]),
        "alt": f"{shown(entry['asset'])} variant {shown(entry['variant'])} {shown(entry['size'])}",
        "link": None,
        "thumb": None,
        "latest": None,
        "latest_label": None,
        "reasons": [shown(r, REASON_LIMIT) for r in entry["reasons"]],
        "versions": [],
    }
    if status == "published":
        card["thumb"] = _thumbnail(home, campaign, entry["sha256"], home.inside(entry["path"]))
        card["link"] = _relative(campaign, entry["path"])
    elif render_sha and store.exists(render_sha):
        card["thumb"] = _thumbnail(home, campaign, render_sha, store.path(render_sha))
    else:  # rejected before anything was rendered (pre-flight): show its last good version, if any
        good = [r for r in history if r["status"] == "published" and r.get("path")]
        if good and home.inside(good[-1]["path"]).exists():
            card["thumb"] = _thumbnail(home, campaign, good[-1]["sha256"], home.inside(good[-1]["path"]))
    if entry.get("latest_path"):
        card["latest"] = _relative(campaign, entry["latest_path"])
        card["latest_label"] = "latest" if status == "published" else f"latest good version (v{entry['version']})"
    card["versions"] = [
        {
            "link": _relative(campaign, r["path"]),
            "version": r["version"],
            "when": _when(r["published_at"]),
            "sha": r["sha256"][:12],
        }
        for r in reversed([r for r in history if r["status"] == "published"])
    ]
    return card


def write_gallery(
    home: Home, manifest: dict, history: list[dict], renders: dict[tuple, str | None], store: ObjectStore
) -> str:
    """Write `published/<campaign>/index.html` atomically; returns its home-relative path.

    `history` is the campaign's publications rows; `renders` maps (asset,
    variant, size) to the render's sha256 (shown for rejected deliverables).
    """
    campaign = manifest["campaign"]
    by_deliverable: dict[tuple, list[dict]] = defaultdict(list)
    for row in history:
        by_deliverable[(row["asset"], row["variant"], row["size"])].append(row)
    grouped: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for entry in manifest["deliverables"]:
        grouped[entry["asset"]][entry["size"]].append(entry)

    entries = manifest["deliverables"]
    published = sum(entry["status"] == "published" for entry in entries)
    assets = []
    for asset, sizes in grouped.items():
        rows = []
        for size, cards in sizes.items():
            made = []
            for entry in sorted(cards, key=lambda c: c["variant"]):
                key = (entry["asset"], entry["variant"], entry["size"])
                made.append(_card(home, campaign, entry, by_deliverable.get(key, []), renders.get(key), store))
            rows.append({"size": shown(size), "cards": made})
        assets.append({"id": shown(asset), "sizes": rows})
    page = _template().render(
        campaign=shown(campaign),
        style=markupsafe.Markup(STYLE),  # ours, not input
        brand=shown(manifest.get("brand")),
        brief_hash=manifest["brief_hash"][:12],
        brand_hash=manifest["brand_hash"][:12],
        pipeline=shown(manifest.get("pipeline_version")),
        published=published,
        rejected=len(entries) - published,
        assets=assets,
    )
    atomic_write_bytes(home.inside("published", campaign, "index.html"), page.encode("utf-8"))
    return f"published/{campaign}/index.html"
