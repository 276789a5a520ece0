"""Place headline, body, CTA, disclaimer and the brand's logo on a deliverable of a given final size,
and reserve the product zone.

One template per aspect family:

- square (1080x1080, 300x250): logo in its corner, the product zone in the upper part,
  one left-aligned text block at the bottom;
- landscape (1200x628): a left-aligned text column, the product zone to its right;
- portrait and skyscrapers (1080x1920, 160x600): they use their height: a centred headline
  group high (under the logo), the CTA and disclaimer low, the product zone between;
- banner (728x90, 320x50, 970x250): logo, a text column (headline, body, the disclaimer
  under them where a reader looks for terms), the product zone, then the CTA; horizontal
  margins of at least half the banner's height.

Within a block the glyphs' ink lines up optically (left edges in left-aligned templates,
centres in centred ones), from the shaped text (HarfBuzz through Pillow's raqm layout),
not from nominal advance boxes; boxes, plates and scrims grow outward from the text.

Sizes follow a type scale per family: the body starts proportional to the image and steps
down; the headline is `HEADLINE_RATIOS` times the body (at least 1.5x where space allows),
the CTA the body's size, the disclaimer `DISCLAIMER_SCALE` of it and never below
`min_font_px`. Below the minimum the layout is rejected with every reason and its numbers.
Text is never truncated.

`text_block` is the one place that decides where lines go inside a box: the renderer calls
it too, so what is drawn is what was measured.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..locales import locale_info
from ..specs import Brand
from .boxes import Layout, LayoutError, LogoBox, Panel, Rect, TextBox
from .fonts import choose_font, font_version, load_font, missing_glyphs, resolve_font
from .linebreak import SPACE, break_units, join_units
from .logo import LogoSource

ROLES = ("headline", "body", "cta", "disclaimer")

LINE_SPACING = {"headline": 1.1, "body": 1.2, "cta": 1.2, "disclaimer": 1.2}
# starting body size as a fraction of the shorter side (banners are short, so more)
BODY_START = {"square": 0.045, "landscape": 0.045, "portrait": 0.06, "banner": 0.2}
# headline / body, preferred first; portrait formats have the height for a larger headline
HEADLINE_RATIOS = {
    "square": (2.0, 1.75, 1.5),
    "landscape": (2.0, 1.75, 1.5),
    "portrait": (2.4, 2.0, 1.75, 1.5),
    "banner": (2.0, 1.75, 1.5),
}
MIN_HEADLINE_RATIO = 1.5
# when even min_font_px body leaves no room for a 1.5x headline: the ratios tried last
COMPROMISE_RATIOS = (1.4, 1.3, 1.2, 1.1, 1.0)
DISCLAIMER_SCALE = 0.6  # of the body size, never below min_font_px
# share of the inner height a square's text block may take before the whole area is tried
TEXT_SHARE = {"square": 0.6, "landscape": 1.0, "portrait": 1.0}
LANDSCAPE_COLUMN = 0.58  # share of the inner width the landscape text column takes
# space above a block, as a fraction of that block's font size
GAP_ABOVE = {"body": 0.4, "cta": 0.8, "disclaimer": 0.7}
CTA_MAX_LINES = 2
SCRIM_PAD = 0.45  # a block's scrim reaches this many body ems beyond its text (outward)
BANNER_LOGO_SHARE = 0.55  # a banner's logo is at least this share of its inner height
LOGO_MAX_WIDTH = {"square": 0.4, "landscape": 0.3, "portrait": 0.5, "banner": 0.22}  # of the width
PRODUCT_GAP = 0.5  # body ems kept between the product zone and text
# The product zone a template keeps at least, before the whole area is given to text: a share
# of the inner height (square, portrait) or width (landscape), or for banners a multiple of the
# inner height (a square the banner's height).
MIN_PRODUCT = {"square": 0.25, "landscape": 0.25, "portrait": 0.2, "banner": 1.0}


def aspect_family(width: int, height: int) -> str:
    ratio = width / height
    if ratio >= 3.0:
        return "banner"  # 728x90, 320x50, 970x250 ...
    if ratio > 1.3:
        return "landscape"  # 1200x628, 1920x1080
    if ratio >= 0.8:
        return "square"  # 1080x1080, 300x250, 1080x1350
    return "portrait"  # 1080x1920, 160x600


def box_padding(role: str, px: float) -> tuple[int, int]:
    """(horizontal, vertical) padding of a box around its text's ink: the CTA plate, air for OCR.

    Boxes grow outward from the ink, so this never moves text inward: the ink sits on the
    template's alignment line and the box reaches past it. OCR crops exactly the box.
    """
    if role == "cta":
        return round(0.6 * px), round(0.35 * px)
    return round(0.25 * px), round(0.1 * px)


# ---------------------------------------------------------------- line metrics (shared with render)


@dataclass(frozen=True)
class Block:
    width: int  # the lines' ink width, px
    height: int  # nominal line boxes and ink together, px
    origins: list[tuple[int, int]]  # each line's "la" anchor, relative to the block's top-left
    ink_top: int = 0  # first ink row, relative to the block's top
    ink_bottom: int = 0  # one past the last ink row


def ink_bounds(
    font_path: str, px: float, line: str, direction: str | None = None, language: str | None = None
) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a line's real ink relative to its "la" anchor, from the shaped
    glyphs' own bitmap (HarfBuzz through raqm, with the box's direction and language). Pillow's
    getbbox starts at the origin whatever the first glyph's side bearing ("1", "W"), so it
    cannot align ink; the mask can."""
    return _ink_bounds(str(font_path), font_version(font_path), px, line, direction, language)


@functools.lru_cache(maxsize=8192)
def _ink_bounds(
    font_path: str, version: tuple[int, int], px: float, line: str, direction: str | None, language: str | None
) -> tuple[float, float, float, float]:
    font = load_font(font_path, px)
    mask, (dx, dy) = font.getmask2(line, anchor="la", direction=direction, language=language)
    box = mask.getbbox()
    if box is None:  # only spaces: no ink, its advance box
        return font.getbbox(line, anchor="la", direction=direction, language=language)
    return dx + box[0], dy + box[1], dx + box[2], dy + box[3]


def text_block(
    lines: list[str],
    font_path: str | Path,
    px: float,
    line_spacing: float = 1.2,
    align: str = "left",
    direction: str | None = None,
    language: str | None = None,
) -> Block:
    """Where each line goes and how much room the lines take, glyph ink included.

    Lines are drawn with anchor "la" (left, ascender) one pitch apart. Each line is placed
    by its shaped ink, not its advance box: in left alignment every line's first ink column
    is the block's left edge (an "W" and a "1" with different side bearings line up), in
    centred alignment every line's ink centre is the block's centre. Horizontally the block
    is exactly the ink (right alignment, for mirrored templates, lines up the ink's right
    edges); vertically it is the union of the nominal line boxes and the ink
    (accents above the ascender, descenders), so a box built from it contains every glyph.
    """
    if not lines:
        return Block(0, 0, [])
    font = load_font(str(font_path), px)
    ascent, descent = font.getmetrics()
    pitch = px * line_spacing
    inks = [ink_bounds(str(font_path), px, line, direction, language) for line in lines]
    widths = [right - left for left, _, right, _ in inks]
    full = max(widths)
    if align == "center":
        xs = [round((full - w) / 2 - left) for w, (left, _, _, _) in zip(widths, inks)]
    elif align == "right":
        xs = [round(full - w - left) for w, (left, _, _, _) in zip(widths, inks)]
    else:
        xs = [round(-left) for left, _, _, _ in inks]
    ys = [round(i * pitch) for i in range(len(lines))]
    left = min(x + ink[0] for x, ink in zip(xs, inks))
    right = max(x + ink[2] for x, ink in zip(xs, inks))
    ink_top = min(y + ink[1] for y, ink in zip(ys, inks))
    ink_bottom = max(y + ink[3] for y, ink in zip(ys, inks))
    top, bottom = min(0.0, ink_top), max(ys[-1] + ascent + descent, ink_bottom)
    left, top = math.floor(left), math.floor(top)
    return Block(
        width=math.ceil(right) - left,
        height=math.ceil(bottom) - top,
        origins=[(x - left, y - top) for x, y in zip(xs, ys)],
        ink_top=math.floor(ink_top) - top,
        ink_bottom=math.ceil(ink_bottom) - top,
    )


# ---------------------------------------------------------------- line breaking


def break_lines(
    words: list[str], measure: Callable[[str], float], max_width: float, joiner: str = SPACE
) -> list[str] | None:
    """Fewest lines that fit max_width, balanced so no line is needlessly short.

    Greedy filling finds how many lines are needed; among the breaks with that
    many lines we take the one with the smallest sum of squared line widths,
    which evens the lines out (no lone word on the last line when avoidable).
    None when a single word is wider than max_width (words are never split). `words` are
    the units of `linebreak.break_units` (words, or the pieces between ICU's break
    opportunities, joined by `joiner`), so a line only ever breaks where the script allows.
    """
    if not words:
        return []
    if any(measure(join_units([w], joiner)) > max_width for w in words):
        return None
    count, start = 1, 0
    for end in range(1, len(words)):
        if measure(join_units(words[start : end + 1], joiner)) > max_width:
            count, start = count + 1, end
    return balanced_lines(words, measure, count, max_width, joiner)


def balanced_lines(
    words: list[str], measure: Callable[[str], float], n: int, max_width: float = math.inf, joiner: str = SPACE
) -> list[str] | None:
    """Split words into exactly n lines (each <= max_width) minimising the sum of squared widths."""
    total = len(words)
    n = min(n, total)
    widths: dict[tuple[int, int], float] = {}

    def width(i: int, j: int) -> float:
        if (i, j) not in widths:
            widths[i, j] = measure(join_units(words[i:j], joiner))
        return widths[i, j]

    best = [[math.inf] * (n + 1) for _ in range(total + 1)]
    back = [[0] * (n + 1) for _ in range(total + 1)]
    best[0][0] = 0.0
    for k in range(1, n + 1):
        for j in range(k, total - (n - k) + 1):
            for i in range(j - 1, k - 2, -1):  # the line words[i:j] grows as i goes down
                w = width(i, j)
                if w > max_width:
                    break
                cost = best[i][k - 1] + w * w
                if cost < best[j][k]:
                    best[j][k], back[j][k] = cost, i
    if best[total][n] == math.inf:
        return None
    lines, j = [], total
    for k in range(n, 0, -1):
        i = back[j][k]
        lines.append(join_units(words[i:j], joiner))
        j = i
    return lines[::-1]


# ---------------------------------------------------------------- placement


class _NoFit(Exception):
    """This plan does not fit; `problems` say why, with numbers, one line each."""

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else problems
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class _Item:
    role: str
    text: str
    words: list[str]
    font: Path
    joiner: str = SPACE
    direction: str | None = None
    language: str | None = None
    font_source: str | None = None


@dataclass
class _Placed:
    item: _Item
    px: int
    lines: list[str]
    align: str
    block: Block
    x: int = 0  # the box's top-left, px
    y: int = 0
    group: int = 0

    @property
    def pad(self) -> tuple[int, int]:
        return box_padding(self.item.role, self.px)

    @property
    def w(self) -> int:
        return self.block.width + 2 * self.pad[0]

    @property
    def h(self) -> int:
        return self.block.height + 2 * self.pad[1]

    @property
    def ink(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the ink in px: the renderer puts the block at the box's padding."""
        left, top = self.x + self.pad[0], self.y + self.pad[1]
        return left, top + self.block.ink_top, left + self.block.width, top + self.block.ink_bottom


@dataclass
class _Plan:
    placed: list[_Placed]
    groups: list[list[_Placed]]
    product: tuple[int, int, int, int]  # left, top, right, bottom px
    logo: tuple[int, int, int, int] | None = None
    clear: tuple[int, int, int, int] | None = None
    logo_source: LogoSource | None = None
    position: str = "top-left"
    body_px: int = 14
    notes: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=65536)
def _length(
    font: Path, version: tuple[int, int], px: int, text: str, direction: str | None = None, language: str | None = None
) -> float:
    return load_font(str(font), px).getlength(text, direction=direction, language=language)


def _measure(item: _Item, px: int) -> Callable[[str], float]:
    version = font_version(item.font)  # the caches' keys: a font file replaced in place is measured again
    if item.direction is None and item.language is None:
        return functools.partial(_length, item.font, version, px)
    return lambda text: _length(item.font, version, px, text, item.direction, item.language)


def _set(item: _Item, px: int, width: int, max_lines: int | None, align: str) -> _Placed:
    """Break an item's text into lines whose ink fits `width`, or raise _NoFit with the numbers."""
    measure = _measure(item, px)
    shaping = {"direction": item.direction, "language": item.language}
    lines = break_lines(item.words, measure, width, item.joiner)
    if lines is None:
        widest = max((join_units([w], item.joiner) for w in item.words), key=measure)
        raise _NoFit(
            f"{item.role}: {widest!r} is {math.ceil(measure(widest))} px wide at {px} px, {width} px available"
        )
    if max_lines is not None and len(lines) > max_lines:
        raise _NoFit(f"{item.role} needs {len(lines)} lines at {px} px, {max_lines} allowed")
    block = text_block(lines, item.font, px, LINE_SPACING[item.role], align, **shaping)
    if block.width > width:  # ink beyond the advance (an italic overhang): one more line if allowed
        more = balanced_lines(item.words, measure, len(lines) + 1, width, item.joiner)
        if more is None or (max_lines is not None and len(more) > max_lines):
            raise _NoFit(f"{item.role} needs {block.width} px of width at {px} px, {width} px available")
        lines, block = more, text_block(more, item.font, px, LINE_SPACING[item.role], align, **shaping)
    return _Placed(item, px, lines, align, block)


def _set_all(
    items: list[_Item],
    sizes: dict[str, int],
    width: int | Callable[[str], int],
    brand: Brand,
    align: str,
    cta_lines: int,
    max_lines_of: dict[str, int] | None = None,
):
    """Every item set to `width` (or width(role)); _NoFit lists every item that does not fit, not only the first.

    Lines allowed: the brand's max_headline_lines, `cta_lines`, and `max_lines_of` per role (if given)."""
    placed, problems = [], []
    for item in items:
        limits = {"headline": brand.max_headline_lines, "cta": cta_lines, **(max_lines_of or {})}
        max_lines = (
            min(limits["headline"], brand.max_headline_lines) if item.role == "headline" else limits.get(item.role)
        )
        room = width(item.role) if callable(width) else width
        try:
            placed.append(_set(item, sizes[item.role], room, max_lines, align))
        except _NoFit as exc:
            problems += exc.problems
    if problems:
        raise _NoFit(problems)
    return placed


def _gap(p: _Placed) -> int:
    return round(GAP_ABOVE.get(p.item.role, 0.0) * p.px)


def _column_height(placed: list[_Placed]) -> int:
    return sum(p.h for p in placed) + sum(_gap(p) for p in placed[1:])


def _stack(placed: list[_Placed], align_x: int, align: str, top: int) -> int:
    """Set boxes one under the other from `top`, their ink on the alignment line (the left edge, or
    the centre for centred blocks); returns the bottom."""
    y = top
    for index, p in enumerate(placed):
        y += _gap(p) if index else 0
        p.x = align_x - p.pad[0] - (round(p.block.width / 2) if align == "center" else 0)
        p.y = y
        y += p.h
    return y


def _inner(width: int, height: int, brand: Brand, family: str) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the area inside the safe margin, in whole pixels.

    Banners keep at least half their height free at each end, left and right.
    """
    margin = brand.safe_margin * min(width, height)
    side = max(margin, height / 2) if family == "banner" else margin
    return math.ceil(side), math.ceil(margin), math.floor(width - side), math.floor(height - margin)


def _sizes_to_try(start: int, minimum: int) -> list[int]:
    """Sizes from start down to the minimum, in steps of about 4%."""
    sizes, px = [], max(start, minimum)
    while px > minimum:
        sizes.append(px)
        px = min(px - 1, round(px * 0.96))
    return sizes + [minimum]


def type_scale(body: int, ratio: float, brand: Brand) -> dict[str, int]:
    """The four roles' sizes for a body size and a headline/body ratio."""
    minimum = brand.min_font_px
    body = max(minimum, body)
    return {
        "headline": max(minimum, round(body * ratio)),
        "body": body,
        "cta": body,
        "disclaimer": min(body, max(minimum, round(body * DISCLAIMER_SCALE))),
    }


def _size_plans(family: str, width: int, height: int, brand: Brand, compromise: bool) -> list[dict[str, int]]:
    """Type scales to try, preferred first: the family's ratios at every body size; or (compromise)
    the headline below 1.5x the body at min_font_px, tried only when no proper scale fits anywhere."""
    start = round(BODY_START[family] * min(width, height))
    if compromise:
        plans = [type_scale(brand.min_font_px, ratio, brand) for ratio in COMPROMISE_RATIOS]
    else:
        plans = [
            type_scale(body, ratio, brand)
            for body in _sizes_to_try(start, brand.min_font_px)
            for ratio in HEADLINE_RATIOS[family]
        ]
    return list({tuple(sorted(p.items())): p for p in plans}.values())


# ---------------------------------------------------------------- the logo


def _logo_position(brand: Brand, family: str) -> str:
    if brand.logo_position != "auto":
        return brand.logo_position
    return "top-left"  # every template keeps its top-left corner for the logo


def _logo_size(source: LogoSource, family: str, width: int, height: int, brand: Brand, inner) -> tuple[int, int]:
    """(w, h) of the logo here, or _NoFit with the numbers when it would be below logo_min_px."""
    left, top, right, bottom = inner
    short = min(width, height)
    wanted = max(brand.logo_size * short, brand.logo_min_px)
    if family == "banner":
        wanted = max(wanted, BANNER_LOGO_SHARE * (bottom - top))
    clear = 1 + 2 * brand.logo_clear_space
    max_h = (bottom - top) / (clear if family == "banner" else 1)
    max_w = min(LOGO_MAX_WIDTH[family] * width, right - left)
    h = min(wanted, max_h, max_w / source.aspect)
    w = h * source.aspect
    w, h = math.floor(w), math.floor(h)
    if min(w, h) < brand.logo_min_px:
        limit = "width" if max_w / source.aspect < min(wanted, max_h) else "height"
        raise _NoFit(
            f"{source.field}: {w}x{h} px at most in {width}x{height} (limited by the {limit} available), "
            f"logo_min_px is {brand.logo_min_px}"
        )
    return w, h


def _place_logo(
    logos: list[LogoSource], family: str, width: int, height: int, brand: Brand, inner, position: str
) -> tuple[LogoSource, tuple[int, int, int, int], tuple[int, int, int, int]]:
    """(source used, logo box, clear-space box) in px; the first source (logo, then logo_small) that fits."""
    problems = []
    for source in logos:
        try:
            w, h = _logo_size(source, family, width, height, brand, inner)
        except _NoFit as exc:
            problems += exc.problems
            continue
        left, top, right, bottom = inner
        clear = math.ceil(brand.logo_clear_space * h)
        if family == "banner":
            y = top + (bottom - top - h) // 2
            x = left if position.endswith("left") else right - w
        else:
            x = left if position.endswith("left") else right - w
            y = top if position.startswith("top") else bottom - h
        box = (x, y, x + w, y + h)
        grown = (max(0, x - clear), max(0, y - clear), min(width, x + w + clear), min(height, y + h + clear))
        return source, box, grown
    raise _NoFit(problems)


# ---------------------------------------------------------------- the templates


def _scrim_pad(sizes: dict[str, int]) -> int:
    return math.ceil(SCRIM_PAD * sizes["body"])


def _logo_strip(logo, family, width, height, brand, inner, pad: int, keeps_strip: bool):
    """(source, logo box, clear box, position, text zone top, text zone bottom) for a stacked template.

    With `keeps_strip`, the horizontal strip of the logo's clear space (and the block's scrim
    padding) is no text's: the text zone starts below it (a top logo) or ends above it."""
    left, top, right, bottom = inner
    position = _logo_position(brand, family)
    if not logo:
        return None, None, None, position, top, bottom
    source, box, clear = _place_logo(logo, family, width, height, brand, inner, position)
    if keeps_strip and position.startswith("top"):
        top = clear[3] + pad
    elif keeps_strip:
        bottom = clear[1] - pad
    return source, box, clear, position, top, bottom


def _template_stack(items, sizes, family, width, height, brand, logo, whole_area) -> _Plan:
    """Square and landscape: one left-aligned block at the bottom (landscape: a left column)."""
    inner = left, top, right, bottom = _inner(width, height, brand, family)
    pad = _scrim_pad(sizes)
    keeps_strip = family == "square" or _logo_position(brand, family).endswith("left")
    source, logo_box, clear, position, zone_top, zone_bottom = _logo_strip(
        logo, family, width, height, brand, inner, pad, keeps_strip
    )
    column = LANDSCAPE_COLUMN if family == "landscape" else 1.0
    if whole_area and family == "landscape":
        column = 0.75
    zone_w = math.floor((right - left) * column)
    share = 1.0 if whole_area else TEXT_SHARE[family]
    zone_h = math.floor((zone_bottom - zone_top) * share) if not whole_area else zone_bottom - zone_top
    align_x = max(left, max(box_padding(i.role, sizes[i.role])[0] for i in items))
    placed = _set_all(items, sizes, zone_w - (align_x - left), brand, "left", CTA_MAX_LINES)
    needed = _column_height(placed)
    if needed > zone_h:
        raise _NoFit(f"text needs {needed} px of height at {max(p.px for p in placed)} px, {zone_h} px available")
    text_top = zone_bottom - needed
    _stack(placed, align_x, "left", text_top)
    gap = math.ceil(PRODUCT_GAP * sizes["body"]) + pad
    if family == "landscape":
        ink_right = max(p.x + p.w for p in placed)
        product_top, product_bottom = top, bottom
        if logo_box and position.endswith("right"):
            product_top, product_bottom = (clear[3], bottom) if position.startswith("top") else (top, clear[1])
        product = (max(left + zone_w, ink_right) + gap, product_top, right, product_bottom)
    else:
        above = clear[3] if logo_box and position.startswith("top") else top
        product = (left, above, right, text_top - gap)
    return _Plan(placed, [placed], product, logo_box, clear, source, position, sizes["body"])


def _template_portrait(items, sizes, family, width, height, brand, logo, whole_area) -> _Plan:
    """Portrait and skyscrapers use their height: headline and body high, CTA and disclaimer low."""
    inner = left, top, right, bottom = _inner(width, height, brand, family)
    pad = _scrim_pad(sizes)
    source, logo_box, clear, position, zone_top, zone_bottom = _logo_strip(
        logo, family, width, height, brand, inner, pad, True
    )
    centre = (left + right) // 2

    def room(role: str) -> int:  # the ink within the safe area, the box (its padding beyond the ink) in the image
        return min(right - left, 2 * (min(centre, width - centre) - box_padding(role, sizes[role])[0]))

    placed = _set_all(items, sizes, room, brand, "center", CTA_MAX_LINES)
    high = [p for p in placed if p.item.role in ("headline", "body")]
    low = [p for p in placed if p.item.role in ("cta", "disclaimer")]
    gap = math.ceil(PRODUCT_GAP * sizes["body"]) + 2 * pad
    needed = _column_height(high) + _column_height(low) + (gap if high and low else 0)
    available = zone_bottom - zone_top
    if needed > available:
        raise _NoFit(f"text needs {needed} px of height at {max(p.px for p in placed)} px, {available} px available")
    high_bottom = _stack(high, centre, "center", zone_top) if high else zone_top
    low_top = zone_bottom - _column_height(low)
    if low:
        _stack(low, centre, "center", low_top)
    product_gap = math.ceil(PRODUCT_GAP * sizes["body"]) + pad
    product = (left, high_bottom + product_gap if high else zone_top, right, low_top - product_gap)
    groups = [g for g in (high, low) if g]
    return _Plan(placed, groups, product, logo_box, clear, source, position, sizes["body"])


# Banner arrangements, preferred first: groups of roles left to right; the last group (the CTA's)
# ends at the right margin. The disclaimer sits by the CTA (the offer's terms by its action), or
# under the headline's column when the banner is too short for the CTA and a line under it.
BANNER_MAX_LINES = {"body": 2, "disclaimer": 2}  # a banner's columns stay short: a reader glances at them
BANNER_ARRANGEMENTS = (
    (("headline", "body"), ("cta", "disclaimer")),
    (("headline", "body", "disclaimer"), ("cta",)),
    (("headline",), ("body", "disclaimer"), ("cta",)),
)


def _template_banner(items, sizes, family, width, height, brand, logo, whole_area, arrangement=0) -> _Plan:
    """Banners: logo, text columns, the product zone, then the CTA group at the right margin."""
    inner = left, top, right, bottom = _inner(width, height, brand, family)
    inner_h = bottom - top
    pad = _scrim_pad(sizes)
    gap = max(6, round(0.8 * sizes["body"]))
    logo_box = clear = source = None
    position = _logo_position(brand, family)
    start, end = left, right
    if logo:
        source, logo_box, clear = _place_logo(logo, family, width, height, brand, inner, position)
        if position.endswith("left"):
            start = clear[2] + pad
        else:
            end = clear[0] - pad
    by_role = {item.role: item for item in items}
    groups = [[by_role[r] for r in roles if r in by_role] for roles in BANNER_ARRANGEMENTS[arrangement]]
    *lead, last = [g for g in groups if g]
    if not any(i.role == "cta" for i in last):
        lead, last = [*lead, last], []
    problems: list[str] = []

    def fits(column: list[_Placed]) -> int:
        needed = _column_height(column)
        if needed > inner_h:
            roles = " and ".join(p.item.role for p in column)
            problems.append(
                f"{roles} need{'s' if len(column) == 1 else ''} {needed} px of height at "
                f"{max(p.px for p in column)} px, {inner_h} px available"
            )
        return needed

    tail: list[_Placed] = []
    if last:
        try:
            tail = _set_all(last, sizes, (end - start) // 2, brand, "center", 1)
        except _NoFit as exc:
            problems += exc.problems
        if tail:
            needed = fits(tail)
            centre = end - math.ceil(max(p.block.width for p in tail) / 2)  # the ink ends at the margin
            _stack(tail, centre, "center", top + (inner_h - needed) // 2)
            end = min(p.x for p in tail) - gap
    placed_columns: list[list[_Placed]] = []
    x = start
    # the product zone's share is kept from the text columns (unless this is the whole-area pass)
    reserve = 0 if whole_area else math.ceil(MIN_PRODUCT[family] * inner_h) + 2 * (pad + gap)
    for group in lead:
        align_x = x + max(box_padding(i.role, sizes[i.role])[0] for i in group)
        try:
            column = _set_all(group, sizes, end - reserve - align_x, brand, "left", 1, BANNER_MAX_LINES)
        except _NoFit as exc:
            problems += exc.problems
            continue
        needed = fits(column)
        _stack(column, align_x, "left", top + (inner_h - needed) // 2)
        placed_columns.append(column)
        x = max(p.x + p.w for p in column) + gap + 2 * pad
    if problems:
        raise _NoFit(problems)
    column_right = max((p.x + p.w for c in placed_columns for p in c), default=start)
    limit = (min(p.x for p in tail) - pad - gap) if tail else end
    product_left = column_right + pad + gap
    if product_left > limit:  # no room: an empty zone at the column's edge, touching nothing
        product_left = limit = column_right
    product = (product_left, top, max(product_left, limit), bottom)
    groups_out = [g for g in (*placed_columns, tail) if g]
    placed = [p for g in groups_out for p in g]
    return _Plan(placed, groups_out, product, logo_box, clear, source, position, sizes["body"])


def _image_only(family: str, width: int, height: int, brand: Brand, logo) -> _Plan:
    """No text (a background plate, a product-only ad): the logo where its template puts it, and the
    rest of the safe area the product zone (beside a banner's logo, under or over anyone else's)."""
    inner = left, top, right, bottom = _inner(width, height, brand, family)
    if family == "banner":
        position = _logo_position(brand, family)
        source = logo_box = clear = None
        if logo:
            source, logo_box, clear = _place_logo(logo, family, width, height, brand, inner, position)
            left, right = (clear[2], right) if position.endswith("left") else (left, clear[0])
    else:
        source, logo_box, clear, position, top, bottom = _logo_strip(logo, family, width, height, brand, inner, 0, True)
    return _Plan([], [], (left, top, right, bottom), logo_box, clear, source, position, brand.min_font_px)


TEMPLATES = {
    "square": _template_stack,
    "landscape": _template_stack,
    "portrait": _template_portrait,
    "banner": _template_banner,
}


# ---------------------------------------------------------------- the layout


def _items(texts: dict[str, str | None], brand: Brand, brand_dir: Path, locale: str | None = None) -> list[_Item]:
    unknown = set(texts) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown text roles {sorted(unknown)}; expected some of {ROLES}")
    items, problems = [], []
    info = locale_info(locale) if locale else None
    for role in ROLES:
        text = texts.get(role)
        if not text or not text.strip():
            continue
        base = brand.fonts.headline if role == "headline" else brand.fonts.body
        if info is None:  # no locale: the brand's fonts, spaces, no shaping hints, exactly as before locales
            font, item = resolve_font(base, Path(brand_dir)), None
        else:
            mapped = brand.fonts_by_script.get(info.script.code)
            name = (mapped.headline if role == "headline" else mapped.body) if mapped else None
            # one body font for body, CTA and disclaimer: a fallback that covers all of them
            cover = text if role == "headline" else " ".join(t for r, t in texts.items() if r != "headline" and t)
            bold = role == "headline"
            choice = choose_font(cover, base, name, Path(brand_dir), info.language, bold, info.script.code)
            font = choice.path
            words, joiner = break_units(text, info.script)
            direction = "rtl" if info.direction == "rtl" else None
            item = _Item(role, text, words, font, joiner, direction, info.language, choice.source)
        missing = missing_glyphs(font, text)
        if missing:
            chars = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing)
            problems.append(f"{role}: font {font.name} has no glyph for {chars}")
        items.append(item or _Item(role, text, text.split(), font))
    if problems:
        raise LayoutError(problems)
    return items


def layout_text(
    width: int,
    height: int,
    texts: dict[str, str | None],
    brand: Brand,
    brand_dir: Path,
    logos: list[LogoSource] | None = None,
    area: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    locale: str | None = None,
    max_text_cover: float | None = None,
) -> Layout:
    """Lay the texts (and the logo) out for a deliverable of width x height final pixels.

    `area` (left, top, right, bottom, fractions of the frame) is the part a channel leaves free
    (a story's interface covers its top and bottom, a reel's its sides too: presets.free_area):
    everything is laid out inside it. `max_text_cover`: the share of the whole frame text and
    logo may cover (`Layout.text_cover`), where the channel limits it; type is set smaller
    until they do, else LayoutError says by how much.

    texts maps roles (headline, body, cta, disclaimer) to text; empty ones are
    skipped. The brand's disclaimer is not added here: pass it in texts. `logos`
    are the brand's logo and then its logo_small, if any (the first that fits at
    logo_min_px is used). Raises LayoutError with every reason when the text
    cannot fit at brand.min_font_px, a font lacks a glyph, or the logo would be
    below logo_min_px; FontError when a brand font cannot be found.

    `locale` (a BCP 47 tag) sets the copy in its script: fonts by script (the brand's
    `fonts_by_script`, its own fonts, or a fontconfig font that covers the text), line
    breaks by the script's rules, shaping with its language and direction; a right-to-left
    locale mirrors the template (see `mirrored`).
    """
    if area != (0.0, 0.0, 1.0, 1.0):
        left, top = round(area[0] * width), round(area[1] * height)
        right, bottom = round(area[2] * width), round(area[3] * height)
        inner_cover = (
            None if max_text_cover is None else max_text_cover * width * height / ((right - left) * (bottom - top))
        )
        inside = layout_text(
            right - left, bottom - top, texts, brand, brand_dir, logos, locale=locale, max_text_cover=inner_cover
        )
        return _placed_in_area(inside, width, height, left, top)
    if locale and locale_info(locale).direction == "rtl":
        # lay the mirror image out, then mirror it: a pinned logo ends where the brand pinned it
        pinned = brand.logo_position != "auto"
        ltr_brand = (
            brand.model_copy(update={"logo_position": _mirror_position(brand.logo_position)}) if pinned else brand
        )
        return mirrored(_layout(width, height, texts, ltr_brand, brand_dir, logos, locale, max_text_cover))
    return _layout(width, height, texts, brand, brand_dir, logos, locale, max_text_cover)


def _layout(width, height, texts, brand, brand_dir, logos, locale, max_text_cover=None) -> Layout:
    items = _items(texts, brand, brand_dir, locale)
    family = aspect_family(width, height)
    if not items:  # an image-only deliverable is valid: the text templates need a text to place
        try:
            return _to_layout(_image_only(family, width, height, brand, logos), family, width, height, brand, locale)
        except _NoFit as exc:
            raise LayoutError(exc.problems) from None
    template = TEMPLATES[family]
    problems: list[str] = []
    least_cover = math.inf  # the least text cover of the plans that fit, when a channel's limit refused them all
    arrangements = range(len(BANNER_ARRANGEMENTS)) if family == "banner" else [None]
    passes = [(c, w, a) for c in (False, True) for w in (False, True) for a in arrangements]
    for compromise, whole_area, arrangement in passes:
        extra = {} if arrangement is None else {"arrangement": arrangement}
        for sizes in _size_plans(family, width, height, brand, compromise):
            try:
                plan = template(items, sizes, family, width, height, brand, logos or [], whole_area, **extra)
            except _NoFit as exc:
                if arrangement in (None, 0) or not problems:
                    problems = exc.problems  # the preferred arrangement's reasons are the ones to give
                continue
            if not whole_area and not _product_room(plan, family, width, height, brand):
                continue
            layout = _to_layout(plan, family, width, height, brand, locale)
            if max_text_cover is not None and (cover := layout.text_cover()) > max_text_cover:
                least_cover = min(least_cover, cover)
                continue  # smaller type, or another arrangement, covers less
            return layout
    if least_cover < math.inf:
        problems = [
            f"text and logo cover at least {least_cover:.0%} of the area laid out, even at {brand.min_font_px} px; "
            f"the channel allows {max_text_cover:.0%}: shorten the copy"
        ]
    if logos and any(p.startswith(("logo:", "logo_small:")) for p in problems):
        # the logo stopped every plan before the text was tried: say what the text needs too
        try:
            _layout(width, height, texts, brand, brand_dir, None, locale)
        except LayoutError as exc:
            problems = [p for p in problems if p.startswith(("logo:", "logo_small:"))] + exc.problems
    raise LayoutError(problems)


def _product_room(plan: _Plan, family: str, width: int, height: int, brand: Brand) -> bool:
    """Whether the plan leaves the template's product zone at least MIN_PRODUCT of the inner area."""
    left, top, right, bottom = _inner(width, height, brand, family)
    pl, pt, pr, pb = plan.product
    if family == "banner":
        return pr - pl >= MIN_PRODUCT[family] * (bottom - top)
    if family == "landscape":
        return pr - pl >= MIN_PRODUCT[family] * (right - left)
    return pb - pt >= MIN_PRODUCT[family] * (bottom - top)


def _to_layout(plan: _Plan, family: str, width: int, height: int, brand: Brand, locale: str | None = None) -> Layout:
    pad = math.ceil(SCRIM_PAD * plan.body_px)
    boxes, panels = [], []
    for index, group in enumerate(plan.groups):
        for p in group:
            p.group = index
        left = max(0, min(p.x for p in group) - pad)
        top = max(0, min(p.y for p in group) - pad)
        right = min(width, max(p.x + p.w for p in group) + pad)
        bottom = min(height, max(p.y + p.h for p in group) + pad)
        if plan.clear is not None:  # the scrim stops where the logo's clear space begins
            cl, ct, cr, cb = plan.clear
            if cl < right and left < cr:
                if cb <= min(p.y for p in group):
                    top = max(top, cb)
                elif ct >= max(p.y + p.h for p in group):
                    bottom = min(bottom, ct)
        panels.append(
            Panel(
                roles=[p.item.role for p in group],
                x=left / width,
                y=top / height,
                w=(right - left) / width,
                h=(bottom - top) / height,
            )
        )
    ordered = sorted(plan.placed, key=lambda p: ROLES.index(p.item.role))
    for p in ordered:
        il, it, ir, ib = p.ink
        boxes.append(
            TextBox(
                role=p.item.role,  # type: ignore[arg-type]
                text=p.item.text,
                lines=p.lines,
                x=p.x / width,
                y=p.y / height,
                w=p.w / width,
                h=p.h / height,
                font=str(p.item.font),
                font_px=p.px,
                plate=brand.colors.accent if p.item.role == "cta" else None,
                align=p.align,  # type: ignore[arg-type]
                line_spacing=LINE_SPACING[p.item.role],
                ink=(il / width, it / height, (ir - il) / width, (ib - it) / height),
                block=p.group,
                **_locale_fields(p.item, locale),
            )
        )
    logo = None
    if plan.logo is not None and plan.logo_source is not None:
        lx, ly, rx, ry = plan.logo
        cl, ct, cr, cb = plan.clear
        source = plan.logo_source
        logo = LogoBox(
            x=lx / width,
            y=ly / height,
            w=(rx - lx) / width,
            h=(ry - ly) / height,
            source=source.field,
            path=source.path,
            sha256=source.sha256,
            kind=source.kind,  # type: ignore[arg-type]
            clear=(cl / width, ct / height, (cr - cl) / width, (cb - ct) / height),
            position=plan.position,
        )
    pl, pt, pr, pb = plan.product
    pr, pb = max(pl, pr), max(pt, pb)
    product = (pl / width, pt / height, (pr - pl) / width, (pb - pt) / height)
    return Layout(width, height, boxes, family, panels=panels, logo=logo, product_zone=product)


def _placed_in_area(layout: Layout, width: int, height: int, left: int, top: int) -> Layout:
    """A layout made for an area of the frame (its own width x height), moved `left` px right and
    `top` px down into the whole frame: relative boxes rescale, font sizes (pixels) stay."""
    aw, ah = layout.width, layout.height

    def x(value: float) -> float:
        return (left + value * aw) / width

    def y(value: float) -> float:
        return (top + value * ah) / height

    def rect(r: Rect | None) -> Rect | None:
        return None if r is None else (x(r[0]), y(r[1]), r[2] * aw / width, r[3] * ah / height)

    def moved(item):
        return replace(item, x=x(item.x), y=y(item.y), w=item.w * aw / width, h=item.h * ah / height)

    boxes = [replace(moved(b), ink=rect(b.ink)) for b in layout.boxes]
    logo = replace(moved(layout.logo), clear=rect(layout.logo.clear)) if layout.logo else None
    return replace(
        layout,
        width=width,
        height=height,
        boxes=boxes,
        panels=[moved(p) for p in layout.panels],
        logo=logo,
        product_zone=rect(layout.product_zone),
    )


def _locale_fields(item: _Item, locale: str | None) -> dict:
    if locale is None:
        return {}
    return {
        "locale": locale,
        "script": locale_info(locale).script.code,
        "language": item.language,
        "direction": item.direction or "ltr",
        "font_source": item.font_source,
    }


def _mirror_position(position: str) -> str:
    return position.replace("left", "_").replace("right", "left").replace("_", "right")


def mirrored(layout: Layout) -> Layout:
    """The layout's mirror image for right-to-left copy: every box, panel, the logo and the product
    zone reflected across the vertical centre line; left-aligned text becomes right-aligned (its
    ink's right edges on the mirrored alignment line), centred text stays centred. The logo and
    the CTA change sides with the rest."""

    def rect(r: Rect | None) -> Rect | None:
        return None if r is None else (1.0 - r[0] - r[2], r[1], r[2], r[3])

    boxes = [
        replace(
            b,
            x=1.0 - b.x - b.w,
            ink=rect(b.ink),
            align="right" if b.align == "left" else b.align,
        )
        for b in layout.boxes
    ]
    panels = [replace(p, x=1.0 - p.x - p.w) for p in layout.panels]
    logo = layout.logo
    if logo is not None:
        logo = replace(logo, x=1.0 - logo.x - logo.w, clear=rect(logo.clear), position=_mirror_position(logo.position))
    return replace(layout, boxes=boxes, panels=panels, logo=logo, product_zone=rect(layout.product_zone))
