"""Procedural training corpus: abstract marketing backgrounds with captions made from their parameters.

`sample(seed, size)` draws one background (pattern, colours, angles, textures) from a
numpy generator seeded with `seed`, renders it with numpy (and Pillow for blur and
shapes), and writes its caption from the same parameters, so caption and pixels always
agree and the same seed gives the same image on any machine. About 10-30 ms per 512 px
image on one core, so training renders its data on the fly.

Held-out prompts: a (colour pair, pattern) combination whose hash falls in one tenth is
never drawn for training (`is_held_out`); the benchmark's prompts come from that tenth.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from asset_pipeline.colour import hex_to_rgb
from asset_pipeline.models.embedded import COLOURS

PATTERNS = ("gradient", "radial", "bokeh", "stripes", "dots", "waves", "shapes", "texture", "studio", "spotlight")
NAMES = tuple(COLOURS)
RGB = {name: np.array(hex_to_rgb(code), dtype=np.float32) / 255.0 for name, code in COLOURS.items()}

# Words a brief or a brand style may add; seen in training so they do not throw the model.
FILLER = (
    "marketing background",
    "product backdrop",
    "clean",
    "minimal",
    "modern",
    "banner",
    "for a sale",
    "campaign background",
    "abstract",
    "elegant",
    "bright",
    "calm",
    "bold",
)


@dataclass
class Sample:
    image: np.ndarray  # uint8 HxWx3
    caption: str
    pattern: str
    colours: list[str] = field(default_factory=list)


def is_held_out(colours: list[str], pattern: str) -> bool:
    """One combination in ten (of the first two colours, or the only one, and the pattern) is kept out of training."""
    key = "|".join(sorted(colours[:2])) + "|" + pattern
    return hashlib.sha256(key.encode()).digest()[0] % 10 == 0


def _grid(size: int, rng: np.random.Generator, angle: float | None = None):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    return x, y


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]


def _along(x, y, angle: float) -> np.ndarray:
    """0..1 along a direction through the image centre."""
    ca, sa = math.cos(angle), math.sin(angle)
    d = (x - 0.5) * ca + (y - 0.5) * sa
    span = 0.5 * (abs(ca) + abs(sa))
    return np.clip(d / (2 * span) + 0.5, 0, 1)


def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3 - 2 * t)


def _direction(rng) -> tuple[float, str]:
    choice = rng.integers(4)
    return [(0.0, "horizontal"), (math.pi / 2, "vertical"), (math.pi / 4, "diagonal"), (3 * math.pi / 4, "diagonal")][
        choice
    ]


def _gradient(size, rng, c):
    x, y = _grid(size, rng)
    angle, word = _direction(rng)
    t = _smooth(_along(x, y, angle))
    if len(c) == 3:
        img = np.where((t < 0.5)[..., None], _mix(RGB[c[0]], RGB[c[1]], t * 2), _mix(RGB[c[1]], RGB[c[2]], t * 2 - 1))
        return img, f"{word} gradient of {{0}}, {{1}} and {{2}}"
    return _mix(RGB[c[0]], RGB[c[1]], t), rng.choice([f"{{0}} to {{1}} {word} gradient", "soft {0} to {1} gradient"])


def _radial(size, rng, c):
    x, y = _grid(size, rng)
    cx, cy = rng.uniform(0.3, 0.7, 2)
    r = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / rng.uniform(0.6, 0.9)
    return _mix(RGB[c[0]], RGB[c[1]], _smooth(np.clip(r, 0, 1))), rng.choice(
        ["radial gradient from {0} to {1}", "{0} glow fading to {1}"]
    )


def _bokeh(size, rng, c):
    img = np.broadcast_to(RGB[c[0]], (size, size, 3)) * rng.uniform(0.8, 1.0)
    x, y = _grid(size, rng)
    light = RGB[c[1]]
    for _ in range(int(rng.integers(12, 30))):
        cx, cy = rng.uniform(-0.05, 1.05, 2)
        radius = rng.uniform(0.02, 0.09)
        d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        alpha = np.clip((radius - d) / (radius * 0.35), 0, 1) * rng.uniform(0.35, 0.8)
        img = img * (1 - alpha[..., None]) + light[None, None, :] * alpha[..., None]
    return img, rng.choice(["{0} background with soft {1} bokeh lights", "{0} bokeh with {1} lights"])


def _stripes(size, rng, c):
    x, y = _grid(size, rng)
    angle, word = _direction(rng)
    count = int(rng.integers(4, 14))
    phase = (_along(x, y, angle) * count) % 1.0
    edge = 0.02 * count
    t = np.clip((np.abs(phase - 0.5) - 0.25) / edge + 0.5, 0, 1)
    width = "thin" if count > 9 else "wide"
    return _mix(RGB[c[0]], RGB[c[1]], t), rng.choice(
        [f"{{0}} and {{1}} {word} stripes", f"{width} {{1}} stripes on {{0}}"]
    )


def _dots(size, rng, c):
    x, y = _grid(size, rng)
    count = int(rng.integers(5, 12))
    gx, gy = (x * count) % 1.0 - 0.5, (y * count) % 1.0 - 0.5
    radius = rng.uniform(0.18, 0.32)
    d = np.sqrt(gx**2 + gy**2)
    t = np.clip((radius - d) * count * size / 6, 0, 1)
    return _mix(RGB[c[0]], RGB[c[1]], t), rng.choice(["{1} polka dots on {0}", "{0} background with {1} dots"])


def _waves(size, rng, c):
    x, y = _grid(size, rng)
    freq = rng.uniform(1.5, 4.0)
    amp = rng.uniform(0.03, 0.08)
    bands = int(rng.integers(3, 8))
    phase = ((y + amp * np.sin(2 * math.pi * freq * x + rng.uniform(0, 6.28))) * bands) % 1.0
    t = _smooth(np.abs(phase * 2 - 1))
    return _mix(RGB[c[0]], RGB[c[1]], t), rng.choice(["{0} and {1} waves", "flowing {1} waves on {0}"])


def _shapes(size, rng, c):
    canvas = Image.new("RGB", (size, size), tuple(int(v * 255) for v in RGB[c[0]]))
    draw = ImageDraw.Draw(canvas)
    fill = tuple(int(v * 255) for v in RGB[c[1]])
    kind = rng.choice(["circles", "triangles", "squares"])
    for _ in range(int(rng.integers(3, 8))):
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(0.06, 0.2) * size
        if kind == "circles":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif kind == "squares":
            a = rng.uniform(0, math.pi / 2)
            draw.polygon(
                [(cx + r * math.cos(a + k * math.pi / 2), cy + r * math.sin(a + k * math.pi / 2)) for k in range(4)],
                fill=fill,
            )
        else:
            a = rng.uniform(0, 2 * math.pi)
            draw.polygon(
                [
                    (cx + r * math.cos(a + k * 2 * math.pi / 3), cy + r * math.sin(a + k * 2 * math.pi / 3))
                    for k in range(3)
                ],
                fill=fill,
            )
    canvas = canvas.filter(ImageFilter.GaussianBlur(size / 512))
    return np.asarray(canvas, dtype=np.float32) / 255.0, rng.choice(
        [f"geometric {{1}} {kind} on {{0}}", f"{{0}} background with {{1}} {kind}"]
    )


def _noise_field(size, rng, cells: int) -> np.ndarray:
    small = rng.normal(0, 1, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(small, mode="F").resize((size, size), Image.BICUBIC))


def _texture(size, rng, c):
    kind = rng.choice(["paper", "grain", "noise"])
    base = np.broadcast_to(RGB[c[0]], (size, size, 3)).copy()
    if kind == "paper":
        n = 0.5 * _noise_field(size, rng, size // 4) + 0.5 * _noise_field(size, rng, 24)
        img = base * (1 + 0.05 * n[..., None])
    elif kind == "grain":
        img = base + rng.normal(0, 0.045, (size, size, 1)).astype(np.float32)
    else:
        img = base * (1 + 0.12 * _noise_field(size, rng, 12)[..., None])
    caption = {"paper": "{0} paper texture", "grain": "{0} with film grain", "noise": "{0} mottled noise texture"}[kind]
    return img, caption


def _studio(size, rng, c):
    x, y = _grid(size, rng)
    horizon = rng.uniform(0.55, 0.75)
    # the sweep: wall lighter at the top, curving into a darker floor
    t = _smooth(np.clip((y - horizon + 0.15) / 0.3, 0, 1))
    img = _mix(RGB[c[0]] * 1.05, RGB[c[0]] * 0.8, t)
    vignette = 1 - 0.25 * ((x - 0.5) ** 2 + (y - 0.45) ** 2) * 2
    img = img * vignette[..., None]
    return img, rng.choice(["{0} studio backdrop", "seamless {0} studio sweep"])


def _spotlight(size, rng, c):
    x, y = _grid(size, rng)
    cx, cy = rng.uniform(0.3, 0.7), rng.uniform(0.25, 0.5)
    d = np.sqrt(((x - cx) / 0.45) ** 2 + ((y - cy) / 0.35) ** 2)
    light = np.clip(1 - d, 0, 1) ** 1.5
    warm = rng.random() < 0.5
    tint = np.array([1.0, 0.93, 0.8] if warm else [0.85, 0.93, 1.0], dtype=np.float32)
    img = RGB[c[0]][None, None, :] * (0.8 + 0.35 * light[..., None] * tint[None, None, :])
    return img, "{0} wall with a " + ("warm" if warm else "cool") + " spotlight and soft shadow"


_RENDER = {
    "gradient": _gradient,
    "radial": _radial,
    "bokeh": _bokeh,
    "stripes": _stripes,
    "dots": _dots,
    "waves": _waves,
    "shapes": _shapes,
    "texture": _texture,
    "studio": _studio,
    "spotlight": _spotlight,
}
SINGLE_COLOUR = {"texture", "studio", "spotlight"}


def _colour_words(name: str, style: int) -> str:
    return {0: f"{name} ({COLOURS[name]})", 1: name, 2: COLOURS[name]}[style]


def caption_for(template: str, colours: list[str], style: int) -> str:
    return template.format(*(_colour_words(name, style) for name in colours))


def draw_colours(rng: np.random.Generator, count: int) -> list[str]:
    return [NAMES[i] for i in rng.choice(len(NAMES), size=count, replace=False)]


def render(pattern: str, colours: list[str], size: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Pixels (float, 0..1) and a caption template ({0}, {1}… stand for the colours)."""
    img, template = _RENDER[pattern](size, rng, colours)
    return np.clip(img, 0, 1), str(template)


def sample(seed: int, size: int = 512, held_out: bool = False) -> Sample:
    """One training (or, with held_out=True, one held-out) background with its caption."""
    rng = np.random.default_rng(seed)
    while True:
        pattern = str(rng.choice(PATTERNS))
        count = 1 if pattern in SINGLE_COLOUR else 3 if pattern == "gradient" and rng.random() < 0.25 else 2
        colours = draw_colours(rng, count)
        if is_held_out(colours, pattern) == held_out:
            break
    img, template = render(pattern, colours, size, rng)
    # Grain over other patterns sometimes: the "combinations" of the corpus.
    extra = ""
    if pattern not in SINGLE_COLOUR and rng.random() < 0.15:
        img = np.clip(img + rng.normal(0, 0.03, (size, size, 1)).astype(np.float32), 0, 1)
        extra = " with fine grain"
    used = colours[: template.count("{")]
    roll = rng.random()
    style = 0 if roll < 0.6 else 1 if roll < 0.85 else 2
    caption = caption_for(template, used, style) + extra
    roll = rng.random()
    if roll < 0.15:  # the brand-steering form: a palette phrase in front of other words
        caption = ", ".join([_palette(used, style), caption if rng.random() < 0.5 else str(rng.choice(FILLER))])
    elif roll < 0.3:
        caption = caption + ", " + str(rng.choice(FILLER))
    return Sample((img * 255 + 0.5).astype(np.uint8), caption, pattern, used)


def _palette(colours: list[str], style: int) -> str:
    parts = [_colour_words(name, style) for name in colours]
    return (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]) + " palette"


def held_out_prompts(count: int = 100, seed: int = 20_000) -> list[tuple[str, str, list[str]]]:
    """(prompt, pattern, colours) for `count` held-out combinations, names with hex as a brand would give."""
    rng = np.random.default_rng(seed)
    prompts, seen = [], set()
    while len(prompts) < count:
        pattern = str(rng.choice(PATTERNS))
        colours = draw_colours(rng, 1 if pattern in SINGLE_COLOUR else 2)
        if not is_held_out(colours, pattern):
            continue
        _img, template = render(pattern, colours, 16, rng)
        used = colours[: template.count("{")]
        prompt = caption_for(template, used, 0)
        if prompt in seen:
            continue
        seen.add(prompt)
        prompts.append((prompt, pattern, used))
    return prompts
