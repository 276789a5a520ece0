"""A contact sheet of one asset's copy typeset in every supported locale (issue 18, phase 1).

Each tile is the typography's own output (`layout_text(..., locale=...)`, `choose_colours`,
`render_layout`) over one smooth background, at 1080x1080 and as a 728x90 banner, labelled
with the locale, the fonts chosen and the lowest OCR similarity of its boxes, read with the
locale's tesseract model. It shows the machinery, not a pipeline run: the brief's `locales`
field is not wired into the graph yet.

    .venv/bin/python docs/make_locales_sheet.py [--out docs/locales-contact-sheet.jpg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from asset_pipeline.checks.compare import text_similarity  # noqa: E402
from asset_pipeline.checks.ocr import box_readings, read_boxes  # noqa: E402
from asset_pipeline.specs import Brand  # noqa: E402
from asset_pipeline.typography import choose_colours, layout_text, load_font, render_layout  # noqa: E402
from asset_pipeline.typography.fonts import resolve_font  # noqa: E402

COPY = {
    "en-US": ("Spring Sale", "Up to 50% off handmade mugs", "Shop now"),
    "de-DE": ("Frühlingsangebot", "Bis zu 50% auf handgemachte Tassen", "Jetzt kaufen"),
    "ar-SA": ("تخفيضات الربيع", "خصم حتى 50% على أكواب ACME", "تسوق الآن"),
    "he-IL": ("מבצע האביב", "משלוח חינם לכל ההזמנות", "קנו עכשיו"),
    "ja-JP": ("春のセール開催中", "手作りのマグカップが最大50%オフ。「今だけ」の特別価格です。", "今すぐ購入"),
    "zh-CN": ("春季大促销", "手工陶瓷杯最高五折优惠，数量有限，售完即止。", "立即购买"),
    "ko-KR": ("봄맞이 세일", "수제 머그컵 최대 50% 할인", "지금 구매"),
    "hi-IN": ("वसंत सेल", "हाथ से बने मग पर 50% तक की छूट", "अभी खरीदें"),
    "th-TH": ("ลดราคาฤดูใบไม้ผลิ", "จัดส่งฟรีทุกคำสั่งซื้อ", "ซื้อเลย"),
}
TILE = 300  # px of a 1080x1080 tile on the sheet


def background(width: int, height: int) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    t = (x + y) / 2
    image = (1 - t)[..., None] * np.array([224, 168, 120]) + t[..., None] * np.array([60, 96, 140])
    return Image.fromarray(image.astype(np.uint8))


def tile(locale: str, width: int, height: int, brand: Brand) -> tuple[Image.Image, str]:
    headline, body, cta = COPY[locale]
    layout = layout_text(width, height, {"headline": headline, "body": body, "cta": cta}, brand, REPO, locale=locale)
    back = background(width, height)
    layout = choose_colours(layout, back, brand)
    image = render_layout(back, layout)
    reads = read_boxes(layout.boxes, [box_readings(image, box) for box in layout.boxes])
    worst = min(text_similarity(b.text, r, b.script) for b, r in zip(layout.boxes, reads))
    fonts = sorted({Path(b.font).stem.replace("-Regular", "").replace("-Bold", "") for b in layout.boxes})
    return image, f"{locale} {'+'.join(f.replace('NotoSans', 'Noto') for f in fonts)} OCR {worst:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "locales-contact-sheet.jpg")
    args = parser.parse_args()
    brand = Brand(brand="acme")
    label_font = load_font(resolve_font("DejaVuSans.ttf", REPO), 12)
    gap, label = 12, 20
    columns = 3
    cell_w, cell_h = TILE, TILE + label + gap
    banner_h = round(cell_w * 90 / 728)
    rows = -(-len(COPY) // columns)
    banner_w = columns * (cell_w + gap) - gap
    sheet_h = gap + rows * (cell_h + banner_h + gap) + gap
    sheet = Image.new("RGB", (gap + banner_w + gap, sheet_h), (244, 244, 242))
    draw = ImageDraw.Draw(sheet)
    y = gap
    locales = list(COPY)
    for row in range(rows):
        group = locales[row * columns : (row + 1) * columns]
        for col, locale in enumerate(group):
            image, caption = tile(locale, 1080, 1080, brand)
            x = gap + col * (cell_w + gap)
            sheet.paste(image.resize((TILE, TILE), Image.Resampling.LANCZOS), (x, y + label))
            draw.text((x, y + 2), caption, font=label_font, fill=(40, 40, 40))
            print(caption)
        y += cell_h
        # each locale as a 728x90 banner under its square (right to left moves the CTA to the left)
        for col, locale in enumerate(group):
            image, _ = tile(locale, 728, 90, brand)
            sheet.paste(image.resize((cell_w, banner_h), Image.Resampling.LANCZOS), (gap + col * (cell_w + gap), y))
        y += banner_h + gap
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=88)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
