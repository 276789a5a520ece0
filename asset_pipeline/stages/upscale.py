"""Upscale: scale the draft background to each deliverable's size, then draw the text
again at final resolution from the layout, and the logo from its source file, so neither
is ever an upscaled blur.

The background is scaled with Lanczos, or enlarged by a diffusers upscaler when the
registry's `upscale` route names one whose weights are local (`find_upscaler`). The
upscaler is used only where the deliverable is larger than the draft's crop for it (a
draft that already has the pixels is only scaled down); if it fails, that deliverable
falls back to Lanczos and the row says why. Each row records the engine that made its
background.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image

from asset_pipeline.framing import Box, aspect_crop_box, crop_to_box, key_visual_of
from asset_pipeline.specs import content_hash
from asset_pipeline.storage.cache import ObjectResultCache
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.pixels import PixelHashes
from asset_pipeline.storage.records import DELIVERABLE
from asset_pipeline.threads import thread_map
from asset_pipeline.typography.boxes import Layout
from asset_pipeline.typography.render import render_layout

if TYPE_CHECKING:  # the upscaler pulls in torch; the Lanczos path never needs it
    from asset_pipeline.models.upscaler import DiffusionUpscaler

LANCZOS = "lanczos"
RENDER_CODE_VERSION = "4"  # bump when rendering changes pixels, to invalidate cached renders


def needs_enlarging(box: Box, width: int, height: int) -> bool:
    """Whether the deliverable is larger than its crop box of the draft (so pixels must be invented)."""
    return width > box[2] - box[0] + 0.5 or height > box[3] - box[1] + 0.5


def background_for(
    draft: Image.Image,
    width: int,
    height: int,
    upscaler: DiffusionUpscaler | None,
    prompt: str,
    seed: int,
    box: Box | None = None,
) -> tuple[Image.Image, str, str | None]:
    """(background at exactly width x height, engine used, why the upscaler was not used if it failed).

    `box` is the deliverable's crop of the draft (the typeset stage's frame); default: the centre."""
    box = box or aspect_crop_box(draft.width, draft.height, width, height)
    if upscaler is not None and needs_enlarging(box, width, height):
        from asset_pipeline.models.generation import GenerationError

        crop = crop_to_box(draft, box, width, height, max_side=max(draft.size))
        try:
            return upscaler.enlarge(crop, width, height, prompt, seed), upscaler.engine, None
        except (GenerationError, FileNotFoundError, OSError, ValueError) as exc:
            return crop_to_box(draft, box, width, height), LANCZOS, f"{upscaler.engine}: {exc}"
    return crop_to_box(draft, box, width, height), LANCZOS, None


def upscale(
    layouts: list[dict],
    drafts: list[dict],
    brand_hash: str,
    store: ObjectStore,
    cache: ObjectResultCache,
    upscaler: DiffusionUpscaler | None = None,
    pixels: PixelHashes | None = None,
) -> tuple[list[dict], int]:
    """Renders rows (one per deliverable) and how many were reused from the cache.

    `pixels` is told each new render's pixel hash while the image is in memory."""
    by_key = {d["draft_key"]: d for d in drafts}

    def key_visual(draft: dict) -> str | None:
        return key_visual_of(by_key, draft)["image_sha256"] or None

    decoded = {}
    rows, reused = [], 0
    todo: list[tuple] = []  # (row, cache key, decoded draft, draft row) of each render to make
    for row in layouts:
        draft = by_key[row["draft_key"]]
        out = {key: row.get(key) for key in DELIVERABLE}
        out.update(
            brand_hash=brand_hash,
            draft_sha256=draft["image_sha256"],
            layout=row["layout"],
            engine=None,
            upscaler_error=None,
            image_sha256=None,
            error=row["error"],
            crop_box=list(row.get("crop_box") or []),
            key_visual_sha256=key_visual(draft),
        )
        if row["error"] is None:
            # The cache is keyed by the engine that would be tried; a hit also knows which one ran.
            key = content_hash(
                {
                    "draft": draft["image_sha256"],
                    "crop": out["crop_box"],
                    "layout": row["layout"],
                    "engine": upscaler.cache_part() if upscaler else LANCZOS,
                    "prompt": draft.get("prompt") if upscaler else None,
                    "seed": draft.get("seed") if upscaler else None,
                    "code": RENDER_CODE_VERSION,
                }
            )
            hit = cache.get(key)
            if hit:
                out.update(
                    image_sha256=hit["image_sha256"], engine=hit["engine"], upscaler_error=hit.get("upscaler_error")
                )
                reused += 1
            else:
                sha = draft["image_sha256"]
                if sha not in decoded:
                    decoded[sha] = store.open(sha)
                todo.append((out, key, decoded[sha], draft))  # the threads only read the decoded draft
        rows.append(out)

    def render(job: tuple) -> None:
        out, key, image, draft = job
        layout = Layout.from_json(out["layout"])
        background, engine, failure = background_for(
            image,
            layout.width,
            layout.height,
            upscaler,
            draft.get("prompt") or "",
            int(draft.get("seed") or 0),
            tuple(out["crop_box"]) or None,
        )
        # the logo from its source file's bytes (by sha256), at final resolution
        mark = store.read_bytes(layout.logo.sha256) if layout.logo else None
        # the product from its cut-out (by sha256), resampled once to its box at final size
        cutout = store.read_bytes(layout.product.cutout_sha256) if layout.product else None
        image = render_layout(background, layout, mark, cutout)
        out.update(image_sha256=store.put_image(image), engine=engine, upscaler_error=failure)
        if pixels is not None:
            pixels.remember(out["image_sha256"], image)
        cache.put(key, {k: out[k] for k in ("image_sha256", "engine", "upscaler_error")})

    # Lanczos, compositing and the PNG encode release the GIL, so renders run on a thread per
    # core; a diffusion upscaler is one pipeline (not thread-safe) that already uses every core.
    thread_map(render, todo, workers=1 if upscaler is not None else None, name="renders")
    return rows, reused
