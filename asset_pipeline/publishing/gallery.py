"""The review grid: `published/<campaign>/index.html` (static) and the review app's page, from one template.

For reviewers with or without the server: one section per asset, one row per variant, every
size side by side at true relative scale, each opening at 100% in a lightbox (CSS `:target`, no
script); the copy, prompt, model, seed, palette and every check's value; the version history
with a side-by-side and pixel-difference view between consecutive versions; the reasons for
a rejection, with the layout preview of a deliverable that could not be laid out.

`campaign_view` gathers all of it from the manifest, the history and the stages' tables;
`render_campaign` renders it with `templates/campaign.html` (which includes `grid.html`).
The static page's links are relative, so the folder can be zipped, copied or served by any
web server; the review app renders the same view with `base` pointing at its file route
and `interactive` adding the approve / reject controls. Thumbnails are small PNGs in
`thumbs/`, named by the sha256 of the image they show (so each is made once).
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import jinja2
import markupsafe
from PIL import Image, ImageChops

from asset_pipeline.echo import shown
from asset_pipeline.home import Home
from asset_pipeline.storage.files import atomic_write_bytes
from asset_pipeline.storage.objects import ObjectStore, encode_png
from asset_pipeline.storage.records import deliverable_key
from asset_pipeline.storage.tables import read_rows
from asset_pipeline.threads import thread_map

THUMB_SIDE = 240  # px, the longer side; also the longest side of an asset's largest size in the grid
REASON_LIMIT = 300  # a rejection reason names checks and what they read; the manifest has it whole
TEXT_LIMIT = 400  # prompts and copy: the manifest and catalog have them whole
TEMPLATES = Path(__file__).with_name("templates")
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


@functools.cache
def environment() -> jinja2.Environment:
    """Jinja2 with autoescape: every value is HTML-escaped by the engine, none by hand."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )


@functools.cache
def style() -> markupsafe.Markup:
    return markupsafe.Markup((TEMPLATES / "style.css").read_text(encoding="utf-8"))  # ours, not input


def _thumbnail(home: Home, campaign: str, sha: str, source) -> str | None:
    """The thumbnail's path relative to the campaign folder, making it if needed (None: no source)."""
    relative = f"thumbs/{sha}.png"
    path = home.inside("published", campaign, "thumbs", f"{sha}.png")
    if not path.exists():
        try:
            with Image.open(source) as image:
                image.load()
                thumb = image.convert("RGB")
        except (OSError, ValueError):
            return None
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        atomic_write_bytes(path, encode_png(thumb))
    return relative


def _make_thumbnails(home: Home, campaign: str, history: list[dict]) -> None:
    """Every version file's thumbnail, a thread per core: decoding the files is most of a page's
    cost, and Pillow's decoder and resampling release the GIL."""
    files = {r["sha256"]: r["path"] for r in history if r.get("sha256") and r.get("path")}
    thread_map(lambda item: _thumbnail(home, campaign, item[0], home.inside(item[1])), files.items(), name="thumbnails")


def _difference(home: Home, campaign: str, before: str, after: str) -> str | None:
    """A thumbnail of the pixel difference between two versions' thumbnails (amplified)."""
    name = f"diff-{before[:16]}-{after[:16]}.png"
    path = home.inside("published", campaign, "thumbs", name)
    if not path.exists():
        folder = home.inside("published", campaign, "thumbs")
        try:
            with Image.open(folder / f"{before}.png") as a, Image.open(folder / f"{after}.png") as b:
                a, b = a.convert("RGB"), b.convert("RGB")
        except OSError:
            return None
        if a.size != b.size:
            b = b.resize(a.size)
        diff = ImageChops.difference(a, b).convert("L").point(lambda v: min(255, v * 4))
        atomic_write_bytes(path, encode_png(diff.convert("RGB")))
    return f"thumbs/{name}"


def _relative(campaign: str, path: str) -> str:
    """A home-relative `published/<campaign>/...` path as a link from the campaign folder."""
    prefix = f"published/{campaign}/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else str(value)


def _size(size: str) -> tuple[int, int]:
    match = re.match(r"^(\d+)x(\d+)$", size)
    return (int(match.group(1)), int(match.group(2))) if match else (THUMB_SIDE, THUMB_SIDE)


def _value(value) -> str:
    if value is None:
        return ""
    return f"{value:.3g}" if isinstance(value, float) else shown(value)


def _palette(snapshot: dict | None, brief_row: dict | None) -> list[str]:
    colours = list((brief_row or {}).get("palette") or [])
    if not colours and snapshot:
        try:  # the brand's palette (its background colours), by default its accent: as Brand.steering_palette
            brand = json.loads(snapshot["brand_json"])
            colours = list(brand.get("palette") or [(brand.get("colors") or {}).get("accent")])
        except (ValueError, TypeError, AttributeError):
            colours = []
    return [c for c in colours if isinstance(c, str) and _HEX.match(c)]


def campaign_view(home: Home, manifest: dict, history: list[dict], store: ObjectStore | None) -> dict:
    """Everything the review grid shows for one campaign, as plain data (every input value `shown`)."""
    campaign = manifest["campaign"]
    keyed = lambda rows: {deliverable_key(r): r for r in rows}  # noqa: E731
    briefs = keyed(read_rows(home, "briefs", campaign))
    renders = keyed(read_rows(home, "renders", campaign))
    layouts = keyed(read_rows(home, "layouts", campaign))
    drafts = {(d["asset"], d["variant"], size): d for d in read_rows(home, "drafts", campaign) for size in d["sizes"]}
    snapshots = read_rows(home, "snapshots", campaign)
    checks: dict[tuple, list[dict]] = defaultdict(list)
    for check in read_rows(home, "checks", campaign):
        key = deliverable_key(check)
        render = renders.get(key)
        if render is None or check["render_sha256"] == render["image_sha256"]:
            checks[key].append(check)
    by_deliverable: dict[tuple, list[dict]] = defaultdict(list)
    for row in history:
        by_deliverable[deliverable_key(row)].append(row)
    _make_thumbnails(home, campaign, history)

    grouped: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for entry in manifest["deliverables"]:
        grouped[entry["asset"]][entry["variant"]].append(entry)

    def thumb_of(sha: str | None, source) -> str | None:
        return _thumbnail(home, campaign, sha, source) if sha and source is not None else None

    def object_source(sha: str | None):
        return store.path(sha) if sha and store is not None and store.exists(sha) else None

    assets, counter = [], 0
    for asset, variants in grouped.items():
        sizes = [_size(e["size"]) for entries in variants.values() for e in entries]
        scale = min(1.0, THUMB_SIDE / max(max(w, h) for w, h in sizes))  # one scale per asset: true relative sizes
        first = next(iter(variants.values()))[0]
        brief = briefs.get(deliverable_key(first)) or {}
        rows, decidable_asset = [], False
        for variant, entries in sorted(variants.items()):
            key0 = deliverable_key(entries[0])
            draft, brief_row = drafts.get(key0[:3]) or {}, briefs.get(key0) or {}
            cards = []
            for entry in entries:
                counter += 1
                key = deliverable_key(entry)
                width, height = _size(entry["size"])
                card = _card(home, campaign, entry, by_deliverable.get(key, []), checks.get(key, []), counter)
                card.update(width=width, height=height, w=max(1, round(width * scale)), h=max(1, round(height * scale)))
                render = renders.get(key) or {}
                layout = layouts.get(key) or {}
                if entry["status"] == "published" or entry["status"] == "pending":
                    card["thumb"] = thumb_of(entry["sha256"], home.inside(entry["path"]))
                    card["full"] = _relative(campaign, entry["path"])
                else:  # rejected: the render that failed (at thumbnail size in the static page)
                    card["thumb"] = thumb_of(render.get("image_sha256"), object_source(render.get("image_sha256")))
                    # rejected before anything was rendered (pre-flight): its last good version, if any
                    if card["thumb"] is None:
                        good = [r for r in by_deliverable.get(key, []) if r["status"] == "published" and r.get("path")]
                        if good and home.inside(good[-1]["path"]).exists():
                            card["thumb"] = thumb_of(good[-1]["sha256"], home.inside(good[-1]["path"]))
                    card["full"] = card["thumb"]
                    card["render_sha256"] = render.get("image_sha256")
                if layout.get("error") and layout.get("preview_sha256"):  # could not be laid out: show the attempt
                    card["preview"] = thumb_of(layout["preview_sha256"], object_source(layout["preview_sha256"]))
                decidable_asset = decidable_asset or card["decidable"]
                cards.append(card)
            attempts = draft.get("attempts") or []
            rows.append(
                {
                    "variant": variant,
                    "tier": shown(brief_row.get("tier", "")),
                    "model": shown(draft.get("model") or entries[0].get("model")),
                    "seed": shown(draft.get("seed") if draft else entries[0].get("seed")),
                    "prompt": shown(draft.get("prompt") or brief_row.get("prompt") or "", TEXT_LIMIT),
                    "negative": shown(draft.get("negative_prompt") or "", TEXT_LIMIT),
                    "palette": _palette(snapshots[0] if snapshots else None, brief_row),
                    "attempts": shown(" | ".join(f"seed {a['seed']}: {a['reason'] or 'passed'}" for a in attempts), 600)
                    if len(attempts) > 1
                    else "",
                    "cards": cards,
                }
            )
        copy = [(label, shown(brief[label], TEXT_LIMIT)) for label in ("headline", "body", "cta") if brief.get(label)]
        assets.append({"id": shown(asset), "texts": copy, "variants": rows, "decidable": decidable_asset})

    entries = manifest["deliverables"]
    count = lambda status: sum(e["status"] == status for e in entries)  # noqa: E731
    return {
        "campaign": shown(campaign),
        "brand": shown(manifest.get("brand")),
        "brief_hash": shown(manifest.get("brief_hash", ""))[:12],
        "brand_hash": shown(manifest.get("brand_hash", ""))[:12],
        "pipeline": shown(manifest.get("pipeline_version")),
        "published": count("published"),
        "pending": count("pending"),
        "rejected": count("rejected"),
        "assets": assets,
    }


def _card(home: Home, campaign: str, entry: dict, history: list[dict], checks: list[dict], number: int) -> dict:
    status = entry["status"]
    made = [r for r in history if r["status"] in ("published", "pending") and r.get("path")]
    current = made[-1]["version"] if made else None
    card = {
        "id": f"d{number}",
        "asset": shown(entry["asset"]),
        "variant": shown(entry["variant"]),
        "size": shown(entry["size"]),
        "locale": shown(entry.get("locale") or ""),  # empty: the brief has no locales
        "status": shown(status),
        "version": current if status != "published" else entry.get("version"),
        "alt": f"{shown(entry['asset'])} variant {shown(entry['variant'])} {shown(entry['size'])}"
        + (f" {shown(entry['locale'])}" if entry.get("locale") else ""),
        "thumb": None,
        "full": None,
        "preview": None,
        "latest": None,
        "latest_label": None,
        "reasons": [shown(r, REASON_LIMIT) for r in entry.get("reasons") or []],
        "checks": [
            {
                "check": shown(c["check"]),
                "passed": c["passed"],
                "value": _value(c["value"]),
                "detail": _value(c["detail"]),
            }
            for c in checks
        ],
        "failed": sum(not c["passed"] for c in checks),
        "versions": [],
        # a reviewer decides on the version made last (pending, published, or rejected by a reviewer)
        "decidable": current is not None
        and (status != "rejected" or all(r.startswith("review:") for r in entry.get("reasons") or [])),
    }
    if status == "rejected" and not card["decidable"]:
        card["version"] = None  # rejected by its checks: it has no version; `latest` names the last good one
    if entry.get("latest_path"):
        card["latest"] = _relative(campaign, entry["latest_path"])
        card["latest_label"] = (
            "latest" if status == "published" else f"latest good version (v{shown(entry.get('version'))})"
        )
    versions, seen = [], {}
    for row in made:
        if row["version"] in seen:  # an approval or new provenance of the same version: one entry
            seen[row["version"]]["status"] = shown(row["status"])
            continue
        link = _relative(campaign, row["path"])
        item = {
            "version": row["version"],
            "status": shown(row["status"]),
            "link": link,
            "thumb": _thumbnail(home, campaign, row["sha256"], home.inside(row["path"])) or link,
            "when": _when(row["published_at"]),
            "sha": row["sha256"],
            "diff": None,
            "previous": None,
            "previous_link": None,
        }
        if versions:
            before = versions[-1]
            item.update(
                previous=before["version"],
                previous_link=before["link"],
                diff=_difference(home, campaign, before["sha"], row["sha256"]),
            )
        seen[row["version"]] = item
        versions.append(item)
    card["versions"] = list(reversed(versions))
    return card


def render_campaign(view: dict, base: str = "", interactive: bool = False, csrf: str = "") -> str:
    """The campaign page: static (`base` ""), or the review app's (links under `base`, with controls)."""
    return (
        environment()
        .get_template("campaign.html")
        .render(**view, style=style(), base=base, interactive=interactive, csrf=csrf)
    )


def write_gallery(home: Home, manifest: dict, history: list[dict], store: ObjectStore | None) -> str:
    """Write `published/<campaign>/index.html` atomically; returns its home-relative path.

    `history` is the campaign's publications rows; the other tables are read from the home.
    """
    campaign = manifest["campaign"]
    page = render_campaign(campaign_view(home, manifest, history, store))
    atomic_write_bytes(home.inside("published", campaign, "index.html"), page.encode("utf-8"))
    return f"published/{campaign}/index.html"
