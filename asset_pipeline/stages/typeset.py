"""Typography pass: lay out each deliverable's text over its cropped draft.

The layout is made for the deliverable's final size (font sizes, min_font_px
and margins are all final-size rules) and stored as data; colours are chosen
from the draft pixels behind each box. A small preview is rendered at draft
scale for people to look at; the final text and logo are drawn by the upscale stage.
"""

from __future__ import annotations

from PIL import Image

from asset_pipeline.framing import crop_to_aspect
from asset_pipeline.presets import free_band
from asset_pipeline.specs import Brand, content_hash
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.typography.boxes import LayoutError
from asset_pipeline.typography.contrast import choose_colours
from asset_pipeline.typography.fonts import FontError
from asset_pipeline.typography.layout import layout_text
from asset_pipeline.typography.logo import LogoSource
from asset_pipeline.typography.product import ProductSource, place_product
from asset_pipeline.typography.render import render_layout

TEXT_ROLES = ("headline", "body", "cta", "disclaimer")


def deliverable_drafts(drafts: list[dict]) -> dict[tuple[str, int, str], dict]:
    """(asset, variant, size) -> the draft row that serves it."""
    return {(d["asset"], d["variant"], size): d for d in drafts for size in d["sizes"]}


def typeset(
    deliverables: list[dict],
    drafts: list[dict],
    brand: Brand,
    brand_dir,
    store: ObjectStore,
    logos: list[LogoSource] | None = None,
    typography_hash: str | None = None,
    products: dict[str, ProductSource] | None = None,
) -> list[dict]:
    """Layouts rows: one per deliverable, with the layout JSON or the reason it cannot be set.

    `logos` (the brand's logo and logo_small, from `preflight.brand_logos`) go into the object
    store by their sha256, so the upscale stage draws exactly the file this layout names.
    """
    served = deliverable_drafts(drafts)
    decoded: dict[str, Image.Image] = {}
    typography_hash = typography_hash or content_hash(brand.typography_part())
    logos = logos or []
    for logo in logos:
        store.put_bytes(logo.data)
    logo_bytes = {logo.sha256: logo.data for logo in logos}
    products = products or {}
    for product in products.values():
        store.put_bytes(product.cutout)
    rows = []
    for row in deliverables:
        draft = served[(row["asset"], row["variant"], row["size"])]
        texts = {role: row[role] for role in TEXT_ROLES if row.get(role)}
        out = {key: row[key] for key in ("campaign", "asset", "variant", "size")}
        out.update(
            draft_key=draft["draft_key"], typography_hash=typography_hash, layout=None, preview_sha256=None, error=None
        )
        sha = draft["image_sha256"]
        try:
            layout = layout_text(row["width"], row["height"], texts, brand, brand_dir, logos, free_band(row))
            layout = place_product(layout, products.get(row["asset"]))
            if not sha:  # pre-flight found it could not be laid out, so no draft was made for it
                raise LayoutError(draft["draft_reason"] or "no draft was generated for this deliverable")
            if sha not in decoded:  # decode each draft once, whatever number of sizes it serves
                decoded[sha] = store.open(sha)
            background = crop_to_aspect(decoded[sha], row["width"], row["height"], max_side=max(decoded[sha].size))
            layout = choose_colours(layout, background, brand)
        except (LayoutError, FontError) as exc:
            out["error"] = str(exc)
        else:
            out["layout"] = layout.to_json()
            mark = logo_bytes.get(layout.logo.sha256) if layout.logo else None
            cutout = products[row["asset"]].cutout if layout.product else None
            out["preview_sha256"] = store.put_image(render_layout(background, layout, mark, cutout))
        rows.append(out)
    return rows
