"""Design benchmark: lay out random briefs over every size family and report the design figures.

    python benchmarks/design.py [--seed 7] [--briefs 240] [--checkout PATH] [--label after]
                                [--out benchmarks/results/design-after.json]
    python benchmarks/design.py --contact-sheet docs/layout-contact-sheet.jpg

`--checkout` runs the same measurement against another checkout's code (for example the
commit before issue 15: `git worktree add /tmp/before <commit>`), so "before" and "after"
are measured by one script. Every figure is measured from the layout data and from pixels
the checkout's own renderer draws, not from its own lint:

- alignment spread: within each stacked text block, how far apart the boxes' ink edges are
  (first ink column in left-aligned blocks, ink centre in centred ones), px at final size;
- headline / body, CTA / body and disclaimer / body font-size ratios;
- smallest ink margin (px, and for banners the horizontal margin over the height);
- scrims per text block (translucent rectangles behind one block) and text polarities
  per deliverable (distinct text colours, the CTA on its plate aside);
- CTA plate contrast: the plate colour against the median luminance round it (WCAG 1.4.11);
- product zone: share of the image reserved and free of text and logo (after only);
- rejections: briefs whose text does not fit a size.

Backgrounds are seeded photo-like fields (gradients, blobs, grain) in a random palette.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = [
    (1080, 1080), (300, 250), (1080, 1350),  # square
    (1200, 628), (1920, 1080),  # landscape
    (1080, 1920), (160, 600), (300, 600),  # portrait, skyscrapers
    (728, 90), (970, 250), (468, 60), (320, 100),  # banners
]  # fmt: skip
HEADLINES = [
    "Spring Sale", "Wonderful Weekend Deals", "Tea Time Treats", "1 Day Only", "Vases & Bowls",
    "Handmade ceramic mugs for every kitchen", "Fresh Coffee", "Autumn Collection", "Waffle Week",
    "Your favourite mug, now 50% off", "New In", "Limited Edition Garden Range",
]  # fmt: skip
BODIES = [
    "Up to 50% off mugs", "Free shipping on orders over $25", "Every plate, bowl and cup in the shop",
    "Handmade in small batches", "Tea, coffee and everything in between", None,
]  # fmt: skip
CTAS = ["Shop now", "Buy now", "Learn more", "Order today", "Get 50% off", None]
DISCLAIMERS = ["Offer ends May 31.", "Terms apply. While stocks last.", "Prices include VAT.", None]
PALETTES = [
    [(255, 90, 54), (255, 243, 224)], [(27, 42, 87), (135, 195, 235)], [(17, 128, 127), (243, 230, 196)],
    [(240, 240, 236), (190, 190, 200)], [(30, 30, 32), (90, 80, 70)], [(242, 107, 91), (246, 241, 225)],
]  # fmt: skip


def background(rng: random.Random, width: int, height: int):
    import numpy as np
    from PIL import Image

    w, h = max(8, width // 4), max(8, height // 4)
    a, b = (np.array(c, dtype=float) for c in rng.choice(PALETTES))
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    angle = rng.uniform(0, 6.3)
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = (t - t.min()) / max(1e-6, np.ptp(t))
    image = a * (1 - t[..., None]) + b * t[..., None]
    gen = np.random.default_rng(rng.randrange(2**32))
    for _ in range(rng.randint(2, 6)):
        cx, cy, r = gen.uniform(0, w), gen.uniform(0, h), gen.uniform(0.05, 0.3) * max(w, h)
        mask = np.exp(-(((np.mgrid[0:h, 0:w][1] - cx) ** 2 + (np.mgrid[0:h, 0:w][0] - cy) ** 2) / (2 * r * r)))
        image = image * (1 - mask[..., None] * 0.6) + gen.uniform(0, 255, 3) * mask[..., None] * 0.6
    image += gen.normal(0, 6, image.shape)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)


def briefs(seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for index in range(count):
        texts = {
            "headline": rng.choice(HEADLINES),
            "body": rng.choice(BODIES),
            "cta": rng.choice(CTAS),
            "disclaimer": rng.choice(DISCLAIMERS),
        }
        width, height = SIZES[index % len(SIZES)]
        out.append(
            {
                "texts": {k: v for k, v in texts.items() if v},
                "width": width,
                "height": height,
                "seed": rng.randrange(2**31),
            }
        )
    return out


def _ink_columns(image, box) -> tuple[int, int] | None:
    import numpy as np

    left, top, right, bottom = box.pixel_box(*image.size)
    ink = np.asarray(image.convert("L"))[max(0, top) : bottom, max(0, left) : right] > 127
    columns = np.flatnonzero(ink.any(axis=0))
    if columns.size == 0:
        return None
    return left + int(columns[0]), left + int(columns[-1]) + 1


def _blocks(layout) -> list[list]:
    """The stacked text blocks: the layout's own panels, or (older layouts) by template."""
    if getattr(layout, "panels", None):
        return [[b for b in layout.boxes if b.role in p.roles] for p in layout.panels]
    if layout.family != "banner":
        return [list(layout.boxes)]
    columns: dict[float, list] = {}
    for box in layout.boxes:  # the older banner row: boxes sharing a left edge are one column
        columns.setdefault(round(box.x, 3), []).append(box)
    return list(columns.values())


def measure(case: dict) -> dict:
    import dataclasses

    import numpy as np
    from PIL import Image

    from asset_pipeline.colour import luminance_ratio, pixel_luminance, relative_luminance
    from asset_pipeline.specs import Brand
    from asset_pipeline.typography import LayoutError, choose_colours, layout_text, render_layout

    brand = Brand(brand="bench")
    width, height = case["width"], case["height"]
    try:
        layout = layout_text(width, height, case["texts"], brand, HERE)
    except LayoutError as exc:
        return {"size": f"{width}x{height}", "rejected": str(exc)}
    bg = background(random.Random(case["seed"]), width, height)
    layout = choose_colours(layout, bg.resize((max(1, width // 2), max(1, height // 2))), brand)
    out: dict = {"size": f"{width}x{height}", "family": layout.family, "rejected": None}

    # ink edges from pixels: each box drawn alone, white on black, no plate
    plain = dataclasses.replace(
        layout,
        boxes=[dataclasses.replace(b, plate=None, scrim=None, color="#FFFFFF") for b in layout.boxes],
        **({"panels": []} if hasattr(layout, "panels") else {}),
    )
    drawn = render_layout(Image.new("RGB", (width, height)), plain)
    ink = {b.role: _ink_columns(drawn, b) for b in plain.boxes}
    spreads = []
    for block in _blocks(layout):
        edges = []
        for box in block:
            if ink.get(box.role) is None:
                continue
            left, right = ink[box.role]
            edges.append(left if box.align == "left" else (left + right) / 2)
        if len(edges) > 1:
            spreads.append(max(edges) - min(edges))
    out["alignment_px"] = max(spreads, default=0.0)

    sizes = {b.role: b.font_px for b in layout.boxes}
    if "body" in sizes:
        for role in ("headline", "cta", "disclaimer"):
            if role in sizes:
                out[f"{role}_over_body"] = sizes[role] / sizes["body"]

    mask = np.asarray(drawn.convert("L")) > 127
    ys, xs = np.nonzero(mask)
    if xs.size:
        out["margin_px"] = int(min(xs.min(), ys.min(), width - 1 - xs.max(), height - 1 - ys.max()))
        if layout.family == "banner":
            out["banner_side_margin_over_height"] = min(xs.min(), width - 1 - xs.max()) / height

    panels = getattr(layout, "panels", None) or []
    per_block = []
    for block in _blocks(layout):
        roles = {b.role for b in block if b.role != "cta"}
        if not roles:
            continue
        boxes = sum(1 for b in layout.boxes if b.role in roles and b.scrim)
        blocks = sum(1 for p in panels if p.kind == "scrim" and roles & set(p.roles))
        per_block.append(boxes + blocks)
    out["scrims_per_block"] = max(per_block, default=0)
    out["polarities"] = len({b.color for b in layout.boxes if b.role != "cta"})

    cta = next((b for b in layout.boxes if b.role == "cta" and b.plate), None)
    if cta is not None:
        final = render_layout(bg, layout)
        left, top, right, bottom = cta.pixel_box(width, height)
        grow = (getattr(cta, "plate_outline_px", None) or 0) if getattr(cta, "plate_outline", None) else 0
        ring = max(2, round(0.3 * cta.font_px))
        l2, t2, r2, b2 = left - grow - ring, top - grow - ring, right + grow + ring, bottom + grow + ring
        patch = np.asarray(final.crop((max(0, l2), max(0, t2), min(width, r2), min(height, b2))), dtype=float)
        inner = np.ones(patch.shape[:2], bool)
        inner[
            top - grow - max(0, t2) : bottom + grow - max(0, t2), left - grow - max(0, l2) : right + grow - max(0, l2)
        ] = False
        around = float(np.median(pixel_luminance(patch[inner]))) if inner.any() else 0.5
        edge = getattr(cta, "plate_outline", None) or cta.plate
        out["plate_contrast"] = luminance_ratio(relative_luminance(edge), around)

    zone = getattr(layout, "product_zone", None)
    if zone is not None:
        out["product_zone_share"] = zone[2] * zone[3]
    return out


def summarise(rows: list[dict]) -> dict:
    laid = [r for r in rows if not r["rejected"]]
    figures = {}
    keys = sorted({k for r in laid for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    for key in keys:
        values = sorted(r[key] for r in laid if key in r)
        if not values:
            continue
        q = statistics.quantiles(values, n=20) if len(values) > 1 else [values[0]] * 19
        figures[key] = {
            "n": len(values),
            "min": values[0],
            "p5": q[0],
            "median": statistics.median(values),
            "p95": q[-1],
            "max": values[-1],
        }
    extra = {
        "briefs": len(rows),
        "rejected": len(rows) - len(laid),
        "alignment_over_1px": sum(r["alignment_px"] > 1 for r in laid),
        "headline_under_1.5x_body": sum(r.get("headline_over_body", 9) < 1.5 for r in laid),
        "several_scrims_in_a_block": sum(r["scrims_per_block"] > 1 for r in laid),
        "mixed_polarity": sum(r["polarities"] > 1 for r in laid),
        "plate_under_3to1": sum(r.get("plate_contrast", 9) < 3 for r in laid),
        "banner_margin_under_half_height": sum(r.get("banner_side_margin_over_height", 9) < 0.5 for r in laid),
    }
    return {"figures": figures, "counts": extra}


def contact_sheet(seed: int, path: Path, count: int = 24) -> None:
    """24 layouts drawn over seeded backgrounds, product zones outlined, at one common scale."""
    from PIL import Image, ImageDraw, ImageFont

    from asset_pipeline.specs import Brand
    from asset_pipeline.typography import LayoutError, choose_colours, layout_text, render_layout
    from asset_pipeline.typography.logo import read_logo

    mark = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    draw = ImageDraw.Draw(mark)
    draw.rounded_rectangle((0, 0, 299, 99), 24, fill=(27, 42, 87, 255))
    draw.ellipse((18, 18, 82, 82), fill=(255, 255, 255, 255))
    draw.text((100, 22), "acme", fill=(255, 255, 255, 255), font=ImageFont.truetype("DejaVuSans-Bold.ttf", 48))
    import hashlib
    import io

    buf = io.BytesIO()
    mark.save(buf, "PNG")
    data = buf.getvalue()
    logo = read_logo("logo", "logos/acme.png", data, hashlib.sha256(data).hexdigest())
    brand = Brand(brand="acme", disclaimer=None, logo="logos/acme.png", logo_min_px=16)
    cases = briefs(seed, 400)
    tiles, seen = [], {}
    for case in cases:
        key = (case["width"], case["height"])
        if seen.get(key, 0) >= 3:
            continue
        try:
            layout = layout_text(case["width"], case["height"], case["texts"], brand, HERE, [logo])
        except LayoutError:
            continue
        bg = background(random.Random(case["seed"]), case["width"], case["height"])
        layout = choose_colours(layout, bg.resize((max(1, case["width"] // 2), max(1, case["height"] // 2))), brand)
        image = render_layout(bg, layout, data)
        x, y, w, h = layout.product_zone
        if w * image.width >= 2 and h * image.height >= 2:
            ImageDraw.Draw(image).rectangle(
                (x * image.width, y * image.height, (x + w) * image.width - 1, (y + h) * image.height - 1),
                outline=(0, 255, 120),
                width=max(1, image.width // 300),
            )
        tiles.append((f"{case['width']}x{case['height']} {layout.family}", image))
        seen[key] = seen.get(key, 0) + 1
        if len(tiles) == count:
            break
    cell, gap, label, per_row = 300, 14, 18, 6  # each layout fitted into a cell, labelled with its size
    font = ImageFont.truetype("DejaVuSans.ttf", 13)
    rows = (len(tiles) + per_row - 1) // per_row
    sheet = Image.new("RGB", (per_row * (cell + gap) + gap, rows * (cell + label + gap) + gap + 30), (244, 244, 242))
    draw = ImageDraw.Draw(sheet)
    title = f"{len(tiles)} layouts (issue 15), each fitted to its cell; product zones outlined in green"
    draw.text((gap, 8), title, fill=(40, 40, 40), font=font)
    for index, (name, image) in enumerate(tiles):
        scale = min(cell / image.width, cell / image.height)
        tile = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
        x = gap + (index % per_row) * (cell + gap) + (cell - tile.width) // 2
        y = 30 + gap + (index // per_row) * (cell + label + gap) + (cell - tile.height) // 2
        sheet.paste(tile, (x, y))
        draw.text(
            (gap + (index % per_row) * (cell + gap), 30 + gap + (index // per_row) * (cell + label + gap) + cell + 2),
            f"{name} (x{scale:.2f})",
            fill=(90, 90, 90),
            font=font,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=88, optimize=True) if path.suffix.lower() in (".jpg", ".jpeg") else sheet.save(
        path, optimize=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--briefs", type=int, default=240)
    parser.add_argument("--checkout", type=Path, default=HERE.parent, help="the code to measure")
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--contact-sheet", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(args.checkout.resolve()))
    if args.contact_sheet:
        contact_sheet(args.seed, args.contact_sheet)
        return
    rows = [measure(case) for case in briefs(args.seed, args.briefs)]
    result = {"label": args.label, "checkout": str(args.checkout), "seed": args.seed, **summarise(rows), "rows": rows}
    out = args.out or HERE / "results" / f"design-{args.label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    print(f"## design figures: {args.label} ({len(rows)} briefs, {result['counts']['rejected']} rejected)\n")
    print("| figure | n | min | p5 | median | p95 | max |\n| --- | --- | --- | --- | --- | --- | --- |")
    for key, f in result["figures"].items():
        print(
            f"| {key} | {f['n']} | {f['min']:.2f} | {f['p5']:.2f} | {f['median']:.2f} | {f['p95']:.2f} | {f['max']:.2f} |"
        )
    print("\n| count | deliverables |\n| --- | --- |")
    for key, value in result["counts"].items():
        print(f"| {key} | {value} |")


if __name__ == "__main__":
    main()
