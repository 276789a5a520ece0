"""Place headline, body, CTA and disclaimer on a deliverable of a given final size.

Sizes start proportional to the image and step down until everything fits in
the template of the image's aspect family; below the brand's minimum font size
the layout is rejected with the numbers. Text is never truncated.

`text_block` is the one place that decides where lines go inside a box: the
renderer calls it too, so what is drawn is what was measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..specs import Brand
from .boxes import Layout, LayoutError, TextBox
from .fonts import load_font, missing_glyphs, resolve_font

ROLES = ("headline", "body", "cta", "disclaimer")

# font size of each role relative to the headline's
ROLE_SCALE = {"headline": 1.0, "body": 0.5, "cta": 0.5, "disclaimer": 0.3}
LINE_SPACING = {"headline": 1.1, "body": 1.2, "cta": 1.2, "disclaimer": 1.2}
# starting headline size as a fraction of the shorter side (banners are short, so more)
HEADLINE_START = {"square": 0.09, "landscape": 0.09, "portrait": 0.09, "banner": 0.42}
# stacked templates: (share of the inner width, share of the inner height at the bottom, alignment)
STACK_ZONES = {"square": (1.0, 0.6, "left"), "portrait": (1.0, 0.55, "center"), "landscape": (0.6, 1.0, "left")}
# space above a block, as a fraction of that block's font size
GAP_ABOVE = {"body": 0.4, "cta": 0.8, "disclaimer": 0.8}
CTA_MAX_LINES = 2


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
    """(horizontal, vertical) padding inside a box: room for the CTA plate, air for scrims and OCR.

    A scrim or plate covers exactly the box, so this is how far it reaches
    beyond the text; OCR crops exactly the box too. Vertically the line box
    (ascent + descent) already leaves air around most glyphs, and 14 px banner
    text has no height to spare.
    """
    if role == "cta":
        return round(0.6 * px), round(0.35 * px)
    return round(0.25 * px), round(0.1 * px)


# ---------------------------------------------------------------- line metrics (shared with render)


@dataclass(frozen=True)
class Block:
    width: int  # ink-inclusive size of the lines, px
    height: int
    origins: list[tuple[int, int]]  # each line's "la" anchor, relative to the block's top-left


def text_block(
    lines: list[str], font_path: str | Path, px: float, line_spacing: float = 1.2, align: str = "left"
) -> Block:
    """Where each line goes and how much room the lines take, glyph ink included.

    Lines are drawn with anchor "la" (left, ascender) one pitch apart; the block
    is the union of the nominal line boxes and the real ink (accents above the
    ascender, descenders, overhangs), so a box built from it contains every glyph.
    """
    if not lines:
        return Block(0, 0, [])
    font = load_font(str(font_path), px)
    ascent, descent = font.getmetrics()
    pitch = px * line_spacing
    widths = [font.getlength(line) for line in lines]
    full = max(widths)
    xs = [round((full - w) / 2) if align == "center" else 0 for w in widths]
    ys = [round(i * pitch) for i in range(len(lines))]
    left, top, right, bottom = 0.0, 0.0, full, ys[-1] + ascent + descent
    for x, y, line in zip(xs, ys, lines):
        ink_left, ink_top, ink_right, ink_bottom = font.getbbox(line, anchor="la")
        left, top = min(left, x + ink_left), min(top, y + ink_top)
        right, bottom = max(right, x + ink_right), max(bottom, y + ink_bottom)
    left, top = math.floor(left), math.floor(top)
    return Block(
        width=math.ceil(right) - left,
        height=math.ceil(bottom) - top,
        origins=[(x - left, y - top) for x, y in zip(xs, ys)],
    )


# ---------------------------------------------------------------- line breaking


def break_lines(words: list[str], measure: Callable[[str], float], max_width: float) -> list[str] | None:
    """Fewest lines that fit max_width, balanced so no line is needlessly short.

    Greedy filling finds how many lines are needed; among the breaks with that
    many lines we take the one with the smallest sum of squared line widths,
    which evens the lines out (no lone word on the last line when avoidable).
    None when a single word is wider than max_width (words are never split).
    """
    if not words:
        return []
    if any(measure(w) > max_width for w in words):
        return None
    count, line = 1, words[0]
    for word in words[1:]:
        if measure(line + " " + word) <= max_width:
            line += " " + word
        else:
            count, line = count + 1, word
    return balanced_lines(words, measure, count, max_width)


def balanced_lines(
    words: list[str], measure: Callable[[str], float], n: int, max_width: float = math.inf
) -> list[str] | None:
    """Split words into exactly n lines (each <= max_width) minimising the sum of squared widths."""
    total = len(words)
    n = min(n, total)
    widths: dict[tuple[int, int], float] = {}

    def width(i: int, j: int) -> float:
        if (i, j) not in widths:
            widths[i, j] = measure(" ".join(words[i:j]))
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
        lines.append(" ".join(words[i:j]))
        j = i
    return lines[::-1]


# ---------------------------------------------------------------- placement


class _NoFit(Exception):
    """This size does not fit; the message says why, with numbers."""


@dataclass(frozen=True)
class _Item:
    role: str
    text: str
    words: list[str]
    font: Path


@dataclass
class _Placed:
    item: _Item
    px: int
    lines: list[str]
    align: str
    w: int
    h: int
    x: int = 0
    y: int = 0


def _measure(font: Path, px: int) -> Callable[[str], float]:
    return load_font(str(font), px).getlength


def _place_block(item: _Item, px: int, lines: list[str], align: str) -> _Placed:
    pad_x, pad_y = box_padding(item.role, px)
    block = text_block(lines, item.font, px, LINE_SPACING[item.role], align)
    return _Placed(item, px, lines, align, block.width + 2 * pad_x, block.height + 2 * pad_y)


def _wrap(item: _Item, px: int, width: int, max_lines: int | None, align: str, where: str) -> _Placed:
    """Break an item's text into lines that fit `width` (box padding included) or raise _NoFit."""
    pad_x, _ = box_padding(item.role, px)
    measure = _measure(item.font, px)
    lines = break_lines(item.words, measure, width - 2 * pad_x)
    if lines is None:
        widest = max(item.words, key=measure)
        raise _NoFit(
            f"{item.role}: {widest!r} is {math.ceil(measure(widest))} px wide at {px} px, "
            f"{max(0, width - 2 * pad_x)} px available {where}"
        )
    if max_lines is not None and len(lines) > max_lines:
        raise _NoFit(f"{item.role} needs {len(lines)} lines at {px} px (max {max_lines}) {where}")
    return _place_block(item, px, lines, align)


def _max_lines(role: str, brand: Brand) -> int | None:
    return {"headline": brand.max_headline_lines, "cta": CTA_MAX_LINES}.get(role)


def _inner(width: int, height: int, brand: Brand) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the area inside the safe margin, in whole pixels."""
    margin = brand.safe_margin * min(width, height)
    return math.ceil(margin), math.ceil(margin), math.floor(width - margin), math.floor(height - margin)


def _stack(
    items: list[_Item],
    sizes: dict[str, int],
    family: str,
    width: int,
    height: int,
    brand: Brand,
    where: str,
    whole_area: bool = False,
) -> list[_Placed]:
    """Blocks one above the other, bottom-anchored: headline, body, CTA, disclaimer last.

    The text zone is the family's preferred part of the safe area, or all of it (whole_area).
    """
    share_w, share_h, align = STACK_ZONES[family]
    if whole_area:
        share_w, share_h = 1.0, 1.0
    left, top, right, bottom = _inner(width, height, brand)
    zone_w, zone_h = math.floor((right - left) * share_w), math.floor((bottom - top) * share_h)
    placed = []
    for item in items:
        cta = item.role == "cta"
        placed.append(
            _wrap(item, sizes[item.role], zone_w, _max_lines(item.role, brand), "center" if cta else align, where)
        )
    gaps = [round(GAP_ABOVE[p.item.role] * p.px) if i else 0 for i, p in enumerate(placed)]
    needed = sum(p.h for p in placed) + sum(gaps)
    if needed > zone_h:
        raise _NoFit(
            f"text needs {needed} px of height at {max(p.px for p in placed)} px, {zone_h} px available {where}"
        )
    y = bottom - needed
    for gap, p in zip(gaps, placed):
        y += gap
        p.x = left + (zone_w - p.w) // 2 if align == "center" else left
        p.y = y
        y += p.h
    return placed


def _row(items: list[_Item], sizes: dict[str, int], width: int, height: int, brand: Brand, where: str) -> list[_Placed]:
    """Banners: headline left, CTA right, body and disclaimer stacked in between if they fit."""
    left, top, right, bottom = _inner(width, height, brand)
    inner_h = bottom - top
    by_role = {item.role: item for item in items}
    gap = max(4, round(0.6 * sizes["body"]))

    def centre_vertically(p: _Placed) -> None:
        if p.h > inner_h:
            raise _NoFit(f"{p.item.role} needs {p.h} px of height at {p.px} px, {inner_h} px available {where}")
        p.y = top + (inner_h - p.h) // 2

    tail: list[_Placed] = []
    end = right  # the headline and the middle column end before this x
    if "cta" in by_role:
        cta = _wrap(by_role["cta"], sizes["cta"], right - left, 1, "center", where)
        cta.x = right - cta.w
        centre_vertically(cta)
        tail, end = [cta], cta.x - gap

    middle = [by_role[r] for r in ("body", "disclaimer") if r in by_role]
    headline = by_role.get("headline")
    # fewest headline lines first: one line reads best; more lines free width for the middle
    line_counts = range(1, min(brand.max_headline_lines, len(headline.words)) + 1) if headline else [0]
    reason = ""
    for count in line_counts:
        try:
            row, x = [], left
            if headline:
                px = sizes["headline"]
                lines = balanced_lines(headline.words, _measure(headline.font, px), count)
                head = _place_block(headline, px, lines, "left")
                head.x = left
                centre_vertically(head)
                if head.x + head.w > end:
                    raise _NoFit(
                        f"text needs {head.w + right - end} px of width at {px} px headline, "
                        f"{right - left} px available {where}"
                    )
                row, x = [head], head.x + head.w + gap
            if middle:
                column = [_wrap(item, sizes[item.role], end - x, None, "left", where) for item in middle]
                gaps = [round(0.3 * p.px) if i else 0 for i, p in enumerate(column)]
                needed = sum(p.h for p in column) + sum(gaps)
                if needed > inner_h:
                    raise _NoFit(
                        f"text needs {needed} px of height at {max(p.px for p in column)} px, "
                        f"{inner_h} px available {where}"
                    )
                y = top + (inner_h - needed) // 2
                for g, p in zip(gaps, column):
                    p.x, p.y = x, y + g
                    y += g + p.h
                row += column
            return row + tail
        except _NoFit as exc:
            reason = str(exc)
    raise _NoFit(reason)


def _sizes_to_try(start: int, minimum: int) -> list[int]:
    """Headline sizes from start down to the minimum, in steps of about 4%."""
    sizes, px = [], max(start, minimum)
    while px > minimum:
        sizes.append(px)
        px = min(px - 1, round(px * 0.96))
    return sizes + [minimum]


def layout_text(width: int, height: int, texts: dict[str, str | None], brand: Brand, brand_dir: Path) -> Layout:
    """Lay the texts out for a deliverable of width x height final pixels.

    texts maps roles (headline, body, cta, disclaimer) to text; empty ones are
    skipped. The brand's disclaimer is not added here: pass it in texts.
    Raises LayoutError when the text cannot fit at brand.min_font_px, or a
    font lacks a glyph; FontError when a brand font cannot be found.
    """
    unknown = set(texts) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown text roles {sorted(unknown)}; expected some of {ROLES}")
    where = f"in {width}x{height}"
    items = []
    for role in ROLES:
        text = texts.get(role)
        if not text or not text.strip():
            continue
        font = resolve_font(brand.fonts.headline if role == "headline" else brand.fonts.body, Path(brand_dir))
        missing = missing_glyphs(font, text)
        if missing:
            chars = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing)
            raise LayoutError(f"{role}: font {font.name} has no glyph for {chars}")
        items.append(_Item(role, text, text.split(), font))

    family = aspect_family(width, height)
    if not items:
        return Layout(width, height, [], family)

    start = round(HEADLINE_START[family] * min(width, height))
    # the family's preferred zone first; only if nothing fits there, the whole safe area
    attempts = [False] if family == "banner" else [False, True]
    reason = ""
    for whole_area in attempts:
        for headline_px in _sizes_to_try(start, brand.min_font_px):
            sizes = {role: max(brand.min_font_px, round(headline_px * scale)) for role, scale in ROLE_SCALE.items()}
            try:
                if family == "banner":
                    placed = _row(items, sizes, width, height, brand, where)
                else:
                    placed = _stack(items, sizes, family, width, height, brand, where, whole_area)
            except _NoFit as exc:
                reason = str(exc)
                continue
            placed.sort(key=lambda p: ROLES.index(p.item.role))
            return Layout(width, height, [_to_box(p, width, height, brand) for p in placed], family)
    raise LayoutError(reason)


def _to_box(p: _Placed, width: int, height: int, brand: Brand) -> TextBox:
    return TextBox(
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
    )
