"""Upscale: scale the draft background to each deliverable's size, then draw the text
again at final resolution from the layout, so text is never an upscaled blur."""

from __future__ import annotations

from asset_pipeline.specs import content_hash
from asset_pipeline.stages.cache import ResultCache
from asset_pipeline.stages.framing import crop_to_aspect
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.typography.boxes import Layout
from asset_pipeline.typography.render import render_layout

ENGINE = "lanczos"
RENDER_CODE_VERSION = "1"  # bump when rendering changes pixels, to invalidate cached renders


def upscale(layouts: list[dict], drafts: list[dict], brand_hash: str, store: ObjectStore, cache: ResultCache) -> tuple[list[dict], int]:
    """Renders rows (one per deliverable) and how many were reused from the cache."""
    by_key = {d["draft_key"]: d for d in drafts}
    decoded = {}
    rows, reused = [], 0
    for row in layouts:
        draft = by_key[row["draft_key"]]
        out = {key: row[key] for key in ("campaign", "asset", "variant", "size")}
        out.update(brand_hash=brand_hash, draft_sha256=draft["image_sha256"], layout=row["layout"],
                   engine=ENGINE, image_sha256=None, error=row["error"])
        if row["error"] is None:
            key = content_hash({"draft": draft["image_sha256"], "layout": row["layout"],
                                "engine": ENGINE, "code": RENDER_CODE_VERSION})
            hit = cache.get(key)
            if hit and store.exists(hit):
                out["image_sha256"], reused = hit, reused + 1
            else:
                layout = Layout.from_json(row["layout"])
                sha = draft["image_sha256"]
                if sha not in decoded:
                    decoded[sha] = store.open(sha)
                background = crop_to_aspect(decoded[sha], layout.width, layout.height)
                out["image_sha256"] = store.put_image(render_layout(background, layout))
                cache.put(key, out["image_sha256"])
        rows.append(out)
    return rows, reused
