"""Tesseract's own accuracy on clean text: black on white, the script's Noto face, no background.

    .venv/bin/python benchmarks/tesseract_limits.py [--sizes 24,32,48,72]

Where the legibility benchmark misses a box, this tells whether the pipeline's rendering is to
blame or tesseract's model is: each phrase is drawn as plainly as Pillow and raqm can, at several
sizes, and read with the script's model at psm 7 (one line). A phrase misread at every size is
the model's limit, not the typesetting's. Markdown on stdout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytesseract
from PIL import Image, ImageDraw, ImageFont

from asset_pipeline.locales import SCRIPTS
from asset_pipeline.typography.fonts import SCRIPT_FACES, resolve_font

# (script, phrase): the phrases the legibility benchmark misses, each beside a control
# without the suspect character.
PHRASES = [
    ("Hebr", "כולל מע״מ"),  # gershayim (U+05F4)
    ("Hebr", 'כולל מע"מ'),  # the ASCII quote typists use for it
    ("Hebr", "כולל מס"),  # control: no gershayim
    ("Hebr", "קנו עכשיו"),
]


def read(code: str, text: str, px: int) -> str:
    """`text` in script `code`'s face, black on white at `px`, as the script's model reads it."""
    script = SCRIPTS[code]
    font = ImageFont.truetype(resolve_font(SCRIPT_FACES[code], Path(".")), px, layout_engine=ImageFont.Layout.RAQM)
    direction = script.direction
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font, direction=direction)
    image = Image.new("L", (right - left + px, bottom - top + px), 255)
    ImageDraw.Draw(image).text((px // 2 - left, px // 2 - top), text, font=font, fill=0, direction=direction)
    return pytesseract.image_to_string(image, lang=script.tesseract, config="--psm 7").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="24,32,48,72", help="font sizes in px")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    print("| model | phrase | " + " | ".join(f"{px} px" for px in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for code, text in PHRASES:
        cells = []
        for px in sizes:
            got = read(code, text, px)
            cells.append("exact" if got == text else f"`{got}`")
        print(f"| {SCRIPTS[code].tesseract} | `{text}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
