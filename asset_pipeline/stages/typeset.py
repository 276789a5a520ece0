"""Typography pass: frame each deliverable in its key visual and lay out its text over it.

The frame is the largest box of the deliverable's aspect in its draft, centred on the key
visual's focal point (framing.crop_box), so every size of an asset shows the same picture.

The layout is made for the deliverable's final size (font sizes, min_font_px
and margins are all final-size rules) and stored as data; colours are chosen
from the draft pixels behind each box. A small preview is rendered at draft
scale for people to look at; the final text and logo are drawn by the upscale stage.

Layouts are cached by everything that shapes them (the deliverable's row, its draft, the
brand, the font and media files, the code), so a rebuild with nothing changed decodes no draft.
"""

from __future__ import annotations

from asset_pipeline.framing import Framer, crop_to_box, key_visual_of
from asset_pipeline.specs import Brand, content_hash
from asset_pipeline.stages.briefs import code_hash
from asset_pipeline.stages.preflight import deliverable_layout, script_problems
from asset_pipeline.storage.cache import ObjectResultCache
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.records import DELIVERABLE
from asset_pipeline.threads import thread_map
from asset_pipeline.typography.boxes import Layout, LayoutError
from asset_pipeline.typography.contrast import choose_colours
from asset_pipeline.typography.fonts import FontError
from asset_pipeline.typography.logo import LogoSource
from asset_pipeline.typography.product import ProductSource
from asset_pipeline.typography.render import render_layout

TEXT_ROLES = ("headline", "body", "cta", "disclaimer")


def deliverable_drafts(drafts: list[dict]) -> dict[tuple[str, int, str], dict]:
    """(asset, variant, size) -> the draft row that serves it (in every locale)."""
    return {(d["asset"], d["variant"], size): d for d in drafts for size in d["sizes"]}


def integrated_here(draft: dict, layout: Layout) -> bool:
    """Whether `draft` suits this deliverable's layout: any draft but a product integration, and
    an integration when the layout puts the product exactly where it was painted around."""
    if not draft.get("product_box"):
        return True
    if layout.product is None:
        return False
    box = (layout.product.x, layout.product.y, layout.product.w, layout.product.h)
    return all(abs(a - b) < 1e-9 for a, b in zip(box, draft["product_box"]))


def typeset(
    deliverables: list[dict],
    drafts: list[dict],
    brand: Brand,
    brand_dir,
    store: ObjectStore,
    logos: list[LogoSource] | None = None,
    typography_hash: str | None = None,
    products: dict[str, ProductSource] | None = None,
    cache: ObjectResultCache | None = None,
    files_hash: str = "",
) -> tuple[list[dict], int]:
    """Layouts rows (one per deliverable, with the layout JSON or the reason it cannot be set) and
    how many came from `cache`.

    `logos` (the brand's logo and logo_small, from `preflight.brand_logos`) go into the object
    store by their sha256, so the upscale stage draws exactly the file this layout names.
    `files_hash` stands for the input files a layout reads besides the brief (fonts, media):
    a change to one of them misses the cache.
    """
    served = deliverable_drafts(drafts)
    framer = Framer(drafts, store)
    typography_hash = typography_hash or content_hash(brand.typography_part())
    logos = logos or []
    for logo in logos:
        store.put_bytes(logo.data)
    logo_bytes = {logo.sha256: logo.data for logo in logos}
    products = products or {}
    for product in products.values():
        store.put_bytes(product.cutout)
    by_key = {d["draft_key"]: d for d in drafts}
    brand_part = content_hash(brand.model_dump(mode="json", exclude={"budget"}))  # a budget changes no pixel

    def cache_key(row: dict, draft: dict) -> str:
        key_visual = key_visual_of(by_key, draft)
        product = products.get(row["asset"])
        return content_hash(
            {
                "row": {k: row[k] for k in sorted(row) if k != "brief_hash"},  # an edit to another asset
                "draft": {
                    k: draft.get(k)
                    for k in ("draft_key", "image_sha256", "draft_reason", "extends", "inset", "product_box")
                },
                "key_visual": key_visual["image_sha256"],  # its focal point frames every size
                "brand": brand_part,
                "typography": typography_hash,
                "logos": sorted(logo.sha256 for logo in logos),
                "product": product.cutout_sha256 if product else None,
                "files": files_hash,
                # any change to the package's code: layout, fonts, contrast and rendering span many modules
                "code": code_hash(),
            }
        )

    rows: list[dict | None] = []
    todo: list[tuple[int, dict, str | None]] = []  # (index, deliverable row, cache key) of each to lay out
    for index, row in enumerate(deliverables):
        draft = served[(row["asset"], row["variant"], row["size"])]
        key = cache_key(row, draft) if cache is not None else None
        hit = cache.get(key) if key else None
        if hit:
            rows.append({**{k: row.get(k) for k in DELIVERABLE}, **hit})
        else:
            rows.append(None)
            todo.append((index, row, key))
    # Decode every draft and find every focal point first, so the threads below only read them.
    for _, row, _ in todo:
        draft = served[(row["asset"], row["variant"], row["size"])]
        for one_draft in (draft, by_key[draft["extends"]]) if draft.get("product_box") else (draft,):
            if one_draft["image_sha256"]:
                framer.image(one_draft["image_sha256"])
                framer.focal(one_draft)

    def one(row: dict) -> dict:
        draft = served[(row["asset"], row["variant"], row["size"])]
        texts = {role: row[role] for role in TEXT_ROLES if row.get(role)}
        out = {key: row.get(key) for key in DELIVERABLE}
        out.update(
            draft_key=draft["draft_key"],
            typography_hash=typography_hash,
            layout=None,
            preview_sha256=None,
            error=None,
            crop_box=[],
        )
        try:
            if wrong := script_problems(texts, row.get("locale")):
                raise LayoutError(wrong)
            layout = deliverable_layout(row, texts, brand, brand_dir, logos, products.get(row["asset"]))
            if not integrated_here(draft, layout):  # this locale's layout moved the product: cut from the base
                draft = by_key[draft["extends"]]
                out["draft_key"] = draft["draft_key"]
            sha = draft["image_sha256"]
            if not sha:  # pre-flight found it could not be laid out, so no draft was made for it
                raise LayoutError(draft["draft_reason"] or "no draft was generated for this deliverable")
            box = tuple(round(v, 3) for v in framer.box(draft, row["width"], row["height"]))
            image = framer.image(sha)
            background = crop_to_box(image, box, row["width"], row["height"], max_side=max(image.size))
            out["crop_box"] = list(box)
            layout = choose_colours(layout, background, brand)
        except (LayoutError, FontError) as exc:
            out["error"] = str(exc)
        else:
            out["layout"] = layout.to_json()
            mark = logo_bytes.get(layout.logo.sha256) if layout.logo else None
            cutout = products[row["asset"]].cutout if layout.product else None
            out["preview_sha256"] = store.put_image(render_layout(background, layout, mark, cutout))
        return out

    # Colour choice, compositing and the preview's encode release the GIL: a thread per core.
    for (index, _, key), out in zip(todo, thread_map(one, [row for _, row, _ in todo], name="layouts")):
        rows[index] = out
        if key:
            cache.put(key, {k: v for k, v in out.items() if k not in DELIVERABLE})  # the row, less who it is for
    return rows, len(deliverables) - len(todo)
