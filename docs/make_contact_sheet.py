"""A contact sheet of one campaign's published deliverables, at their true relative sizes.

Reads `published/<campaign>/manifest.json` under a home and lays every published deliverable
out at one common scale (so a 728x90 banner is as small beside a 1080x1920 story as it
really is), packed into columns, each labelled with asset, variant and size; the title
names the model(s) that drew them.
Regenerate the README's picture from a throwaway home:

    cp -r data /tmp/demo-home
    ASSET_PIPELINE_HOME=/tmp/demo-home DAGSTER_HOME=/tmp/demo-home/dagster \
        .venv/bin/asset-pipeline run --all
    .venv/bin/python docs/make_contact_sheet.py --home /tmp/demo-home --campaign spring-sale

Only Pillow is needed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (244, 244, 242)
INK = (40, 40, 40)
MUTED = (110, 110, 110)
GAP = 16  # pixels between tiles and around the sheet
LABEL_HEIGHT = 22
TITLE_HEIGHT = 40


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for candidate in (name, f"/usr/share/fonts/truetype/dejavu/{name}"):
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def published(
    home: Path, campaign: str, max_variants: int, asset: str | None = None, size: str | None = None
) -> list[dict]:
    """The published deliverables (variants 1..max_variants; one asset's and one size's, if named),
    in manifest order (with locales: every locale of each)."""
    manifest = json.loads((home / "published" / campaign / "manifest.json").read_text())
    return [
        item
        for item in manifest["deliverables"]
        if item["status"] == "published"
        and item["variant"] <= max_variants
        and asset in (None, item["asset"])
        and size in (None, item["size"])
    ]


def size_of(item: dict) -> tuple[int, int]:
    width, height = (int(n) for n in item["size"].split("x"))
    return width, height


def pack(items: list[dict], scale: float) -> list[list[dict]]:
    """Columns of tiles, tallest first: a tile goes under an earlier column it is no wider than
    while that column stays within the tallest tile's height, else it starts a new column."""
    label = (LABEL_HEIGHT + GAP) / scale  # a label and a gap, in the deliverables' own pixels
    ordered = sorted(items, key=lambda item: -size_of(item)[1])  # stable: manifest order within a height
    limit = size_of(ordered[0])[1] + label
    columns: list[list[dict]] = []
    for item in ordered:
        width, height = size_of(item)
        for column in columns:
            used = sum(size_of(other)[1] + label for other in column)
            if width <= size_of(column[0])[0] and used + height + label <= limit:
                column.append(item)
                break
        else:
            columns.append([item])
    return columns


def layout(items: list[dict], width: int) -> tuple[float, list[list[dict]]]:
    """One scale for every tile, so relative sizes stay true; the packed columns fill the width."""
    scale = 1.0
    for _ in range(8):  # the packing depends on the scale only through labels and gaps
        columns = pack(items, scale)
        native = sum(size_of(column[0])[0] for column in columns)
        fitted = min(1.0, (width - GAP * (len(columns) + 1)) / native)
        if abs(fitted - scale) < 1e-3:
            break
        scale = fitted
    return scale, columns


def contact_sheet(
    home: Path, campaign: str, width: int, max_variants: int, asset: str | None = None, size: str | None = None
) -> Image.Image:
    items = published(home, campaign, max_variants, asset, size)
    if not items:
        raise SystemExit(f"no published deliverables in {home / 'published' / campaign}")
    return sheet_of(home, items, width, f"{campaign} / {asset}" if asset else campaign)


def sheet_of(home: Path, items: list[dict], width: int, title: str) -> Image.Image:
    """The tiles of `items` at one scale, packed into columns under `title`."""
    scale, columns = layout(items, width)
    column_height = max(
        sum(round(size_of(item)[1] * scale) + LABEL_HEIGHT + GAP for item in column) for column in columns
    )
    sheet = Image.new("RGB", (width, TITLE_HEIGHT + GAP + column_height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    title_font = font(20, bold=True)
    draw.text((GAP, GAP), title, font=title_font, fill=INK)
    models = ", ".join(dict.fromkeys(item["model"] for item in items))
    note = f"{len(items)} published deliverables, each at {scale:.2f}x its true size; drafts by {models}"
    draw.text((GAP + draw.textlength(title, font=title_font) + 14, GAP + 5), note, font=font(14), fill=MUTED)

    label_font = font(12)
    x = GAP
    for column in columns:
        y = TITLE_HEIGHT + GAP
        for item in column:
            w, h = size_of(item)
            with Image.open(home / item["path"]) as image:
                tile = image.convert("RGB").resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)
            sheet.paste(tile, (x, y))
            label = f"{item['asset']} v{item['variant']} · {item['size']}"
            if item.get("locale"):  # briefs with locales: one tile per locale
                label += f" · {item['locale']}"
            draw.text((x, y + tile.height + 4), label, font=label_font, fill=INK)
            y += tile.height + LABEL_HEIGHT + GAP
        x += round(size_of(column[0])[0] * scale) + GAP
    return sheet


def locale_rows(home: Path, campaign: str, width: int, max_variants: int, asset: str | None) -> Image.Image:
    """One sheet per locale, titled with it, stacked: a brief with locales read row by row."""
    items = published(home, campaign, max_variants, asset)
    tags = list(dict.fromkeys(item["locale"] for item in items if item.get("locale")))
    if not tags:
        raise SystemExit(f"no published deliverables with a locale in {home / 'published' / campaign}")
    parts = [
        sheet_of(home, [i for i in items if i.get("locale") == tag], width, f"{asset or campaign} / {tag}")
        for tag in tags
    ]
    sheet = Image.new("RGB", (width, sum(part.height for part in parts)), BACKGROUND)
    y = 0
    for part in parts:
        sheet.paste(part, (0, y))
        y += part.height
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="an ASSET_PIPELINE_HOME after a run")
    parser.add_argument("--campaign", default="spring-sale")
    parser.add_argument("--width", type=int, default=1400, help="sheet width in pixels")
    parser.add_argument("--asset", default=None, help="only this asset's deliverables (all its sizes)")
    parser.add_argument("--by-locale", action="store_true", help="one row per locale (briefs with locales)")
    parser.add_argument("--size", default=None, help="only this size (WxH), e.g. one tile per locale")
    parser.add_argument("--max-variants", type=int, default=16, help="show variants 1..N of each asset")
    parser.add_argument("--colors", type=int, default=0, help="quantize to N colours (smaller PNG); 0 keeps RGB")
    parser.add_argument("--quality", type=int, default=82, help="JPEG quality, for a .jpg --out")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("sample-output.png"))
    args = parser.parse_args()

    if args.by_locale:
        sheet = locale_rows(args.home, args.campaign, args.width, args.max_variants, args.asset)
    else:
        sheet = contact_sheet(args.home, args.campaign, args.width, args.max_variants, args.asset, args.size)
    if args.colors:
        sheet = sheet.quantize(args.colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    if args.out.suffix.lower() in (".jpg", ".jpeg"):
        sheet.convert("RGB").save(args.out, quality=args.quality, optimize=True)
    else:
        sheet.save(args.out, optimize=True)
    print(f"{args.out}: {sheet.width}x{sheet.height}, {args.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
