"""Tesseract's own accuracy on clean text: black on white, the script's Noto face, no background.

    python benchmarks/tesseract_limits.py [--sizes 24,32,48,72]

Where the legibility benchmark misses a box, this tells whether the pipeline's rendering is to
blame or tesseract's model is: each phrase is drawn as plainly as Pillow and raqm can, at several
sizes, and read with the script's model at psm 7 (one line). A phrase misread at every size is
the model's limit, not the typesetting's. Markdown on stdout.
"""

from __future__ import annotations

import argparse
import subprocess

import pytesseract
from PIL import Image, ImageDraw, ImageFont

# (language, direction, font family, phrase): the phrases the legibility benchmark misses,
# each beside a control without the suspect character.
PHRASES = [
    ("heb", "rtl", "Noto Sans Hebrew", "כולל מע״מ"),  # gershayim (U+05F4)
    ("heb", "rtl", "Noto Sans Hebrew", 'כולל מע"מ'),  # the ASCII quote typists use for it
    ("heb", "rtl", "Noto Sans Hebrew", "כולל מס"),  # control: no gershayim
    ("heb", "rtl", "Noto Sans Hebrew", "קנו עכשיו"),
]


def read(lang: str, direction: str, family: str, text: str, px: int) -> str:
    path = subprocess.run(["fc-match", "-f", "%{file}", "--", family], capture_output=True, text=True).stdout
    font = ImageFont.truetype(path, px, layout_engine=ImageFont.Layout.RAQM)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font, direction=direction)
    image = Image.new("L", (right - left + px, bottom - top + px), 255)
    ImageDraw.Draw(image).text((px // 2 - left, px // 2 - top), text, font=font, fill=0, direction=direction)
    return pytesseract.image_to_string(image, lang=lang, config="--psm 7").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="24,32,48,72", help="font sizes in px")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    print("| model | phrase | " + " | ".join(f"{px} px" for px in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for lang, direction, family, text in PHRASES:
        cells = []
        for px in sizes:
            got = read(lang, direction, family, text, px)
            cells.append("exact" if got == text else f"`{got}`")
        print(f"| {lang} | `{text}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
