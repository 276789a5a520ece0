"""The sample home's media: a product shot with alpha (a ceramic mug) and a logo (SVG).

    .venv/bin/python docs/make_sample_media.py   # writes data/media/products/mug.png, data/media/logos/sunny.svg

Drawn with Pillow and numpy, so the sample campaigns show a product and a logo without
shipping anyone's photograph. Deterministic: the same files every time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

MEDIA = Path(__file__).resolve().parent.parent / "data" / "media"
SCALE = 4  # drawn at 4x and scaled down: smooth edges without an antialiasing library

SUNNY_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="240" height="96" viewBox="0 0 240 96">
  <circle cx="48" cy="48" r="22" fill="#FFB000"/>
  <g stroke="#FFB000" stroke-width="6" stroke-linecap="round">
    <line x1="48" y1="6" x2="48" y2="16"/><line x1="48" y1="80" x2="48" y2="90"/>
    <line x1="6" y1="48" x2="16" y2="48"/><line x1="80" y1="48" x2="90" y2="48"/>
    <line x1="18" y1="18" x2="25" y2="25"/><line x1="71" y1="71" x2="78" y2="78"/>
    <line x1="18" y1="78" x2="25" y2="71"/><line x1="71" y1="25" x2="78" y2="18"/>
  </g>
  <rect x="104" y="30" width="124" height="14" rx="7" fill="#1B2A57"/>
  <rect x="104" y="54" width="84" height="12" rx="6" fill="#1B2A57" opacity="0.6"/>
</svg>
"""


def mug(width: int = 360, height: int = 320) -> Image.Image:
    """A glazed coral mug, lit from the left, on transparency."""
    w, h = width * SCALE, height * SCALE
    body = (int(0.08 * w), int(0.12 * h), int(0.74 * w), int(0.96 * h))
    # Shading across the body: a cylinder's cosine falloff, brightest left of centre.
    xs = np.linspace(-1.0, 1.0, body[2] - body[0])
    light = np.clip(np.cos((xs + 0.35) * 1.2), 0.0, 1.0) ** 0.8
    base = np.array([242, 107, 91], dtype=float)  # coral glaze
    column = base[None, :] * (0.45 + 0.6 * light[:, None])
    column = np.clip(column + 90 * np.clip(light[:, None] - 0.93, 0, 1) * 14, 0, 255)  # specular stripe
    shade = np.repeat(column[None, :, :], body[3] - body[1], axis=0).astype(np.uint8)
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    shape = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(shape)
    draw.rounded_rectangle(body, radius=int(0.06 * w), fill=255)
    # The handle: a thick ring on the right, behind the body's edge.
    ring = Image.new("L", (w, h), 0)
    ring_draw = ImageDraw.Draw(ring)
    cx, cy, r = int(0.74 * w), int(0.52 * h), int(0.19 * h)
    ring_draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    inner = int(r * 0.55)
    ring_draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=0)
    handle = Image.new("RGBA", (w, h), (170, 70, 60, 255))
    image.paste(handle, (0, 0), ring)
    fill = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    fill.paste(Image.fromarray(shade, "RGB").convert("RGBA"), (body[0], body[1]))
    image.paste(fill, (0, 0), shape)
    # The rim: a darker ellipse of the mug's opening.
    rim = ImageDraw.Draw(image)
    rim.ellipse((body[0], body[1] - int(0.05 * h), body[2], body[1] + int(0.07 * h)), fill=(120, 45, 40, 255))
    rim.ellipse(
        (body[0] + int(0.03 * w), body[1] - int(0.03 * h), body[2] - int(0.03 * w), body[1] + int(0.05 * h)),
        fill=(70, 30, 28, 255),
    )
    image = image.filter(ImageFilter.GaussianBlur(SCALE / 3))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def main() -> None:
    (MEDIA / "products").mkdir(parents=True, exist_ok=True)
    (MEDIA / "logos").mkdir(parents=True, exist_ok=True)
    mug().save(MEDIA / "products" / "mug.png", optimize=True)
    (MEDIA / "logos" / "sunny.svg").write_text(SUNNY_SVG, encoding="utf-8")
    print(f"wrote {MEDIA / 'products' / 'mug.png'} and {MEDIA / 'logos' / 'sunny.svg'}")


if __name__ == "__main__":
    main()
