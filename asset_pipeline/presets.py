"""Size presets: channel placements a brief may name instead of WxH (`iab/medium-rectangle`,
`meta/story`, `pinterest/standard`, ...), each with the channel's own rules.

The table is data (presets.json, beside this file), each figure citing its source (title, URL,
where the stored copy was read, and the date: docs/channels.md lists them). A preset is named
`<channel>/<placement>`; the names from before channels (`medium-rectangle`, `story`, ...) are
aliases. A preset carries the channel's rules, and each is checked somewhere:

- `accepts`: the formats the channel takes. A brief asking for another is refused at
  validation, before anything is drawn (`unaccepted_formats`, from specs.AssetSpec);
- `formats`: the default formats when the asset names none;
- `max_kb`: the channel's byte limit, a ceiling: an asset's own budget may only be lower
  (`byte_limit`); publication's encoder keeps every file under it or rejects it;
- `ratio`, `tolerance`, `min`: the channel's aspect ratio, its tolerance and minimum size; the
  table's own size is held to them when it is read, and the size check holds the render to
  the exact size;
- `keep_out`: the channel's safe zones, as bands along an edge of the frame that the app's
  interface covers (a story's top and bottom, a reel's sides too). Fractions of the width and
  height (left, top, right, bottom); the layout lays out inside the rest (`free_area`) and the
  design check measures every text box and the logo against them;
- `max_text_cover`: the share of the image that text (a CTA with its plate) and the logo may
  cover, where the channel limits it (Google's responsive display ads: 20%). The layout keeps
  under it and the design check measures it.

A brief's size never becomes a path: rows carry the resolved WxH as `size` and the preset's
channel name as `preset`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).with_name("presets.json")
FIGURES = ("size", "ratio", "tolerance", "min", "accepts", "max_kb", "keep_out", "max_text_cover")


@dataclass(frozen=True)
class Zone:
    """A box a channel's interface covers, in fractions of the frame (0..1)."""

    left: float
    top: float
    right: float
    bottom: float
    reason: str


@dataclass(frozen=True)
class Source:
    title: str
    url: str  # the channel's own page
    read: str  # the date the stored copy was read (ISO)
    copy: str | None = None  # where that copy was read, when not at `url`
    note: str | None = None


@dataclass(frozen=True)
class Preset:
    name: str  # <channel>/<placement>
    width: int
    height: int
    channel: str  # the channel's display name (IAB display, Meta, ...)
    placement: str
    accepts: tuple[str, ...]
    formats: tuple[str, ...]
    max_kb: float | None
    ratio: str
    tolerance: float
    minimum: tuple[int, int] | None = None
    keep_out: tuple[Zone, ...] = ()
    max_text_cover: float | None = None
    aliases: tuple[str, ...] = ()
    cite: tuple[tuple[str, Source], ...] = ()  # (figure, source)
    note: str | None = None

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def source(self) -> str:
        """Every source, one line: `figure: title <url> (read DATE)` joined."""
        return "; ".join(f"{figure}: {s.title} <{s.url}> (read {s.read})" for figure, s in self.cite)


def _pair(text: str, sep: str) -> tuple[int, int]:
    a, b = (int(part) for part in text.split(sep))
    return a, b


def _edge_band(zone: Zone) -> str | None:
    """Which edge a zone is a band along (top, bottom, left, right), or None."""
    if zone.left <= 0 and zone.right >= 1:
        return "top" if zone.top <= 0 else "bottom" if zone.bottom >= 1 else None
    if zone.top <= 0 and zone.bottom >= 1:
        return "left" if zone.left <= 0 else "right" if zone.right >= 1 else None
    return None


def table_problems(name: str, item: Mapping, sources: Mapping) -> list[str]:
    """What is wrong with one entry of the table, one line each: a size that breaks its own
    channel's ratio (beyond the tolerance) or minimum, a zone that is not an edge band, a figure
    without a source."""
    problems = []
    width, height = _pair(item["size"], "x")
    rw, rh = (float(part) for part in item["ratio"].split(":"))
    off = abs((width / height) / (rw / rh) - 1)
    # within the tolerance, or 2 px of the exact ratio (a channel's own sizes round: X's 800x418 for 1.91:1)
    if off > item.get("tolerance", 0.0) and abs(width - height * rw / rh) > 2:
        problems.append(
            f"{item['size']} is {off:.1%} off its ratio {item['ratio']} (tolerance {item['tolerance']:.0%})"
        )
    least = _pair(item["min"], "x") if "min" in item else (0, 0)
    if width < least[0] or height < least[1]:
        problems.append(f"{item['size']} is under the channel's minimum {item['min']}")
    for zone in (Zone(**z) for z in item.get("keep_out", ())):
        if not (0.0 <= zone.left < zone.right <= 1.0 and 0.0 <= zone.top < zone.bottom <= 1.0):
            problems.append(f"keep_out box {zone} is not inside the frame")
        elif _edge_band(zone) is None:
            problems.append(f"keep_out box {zone} is not a band along one edge of the frame")
    if not set(item["formats"]) <= set(item["accepts"]):
        problems.append(f"default formats {item['formats']} are not all accepted ({item['accepts']})")
    cited = item.get("cite", {})
    for figure in FIGURES:
        given = (
            figure in item and item[figure] not in ((), [], None) and not (figure == "tolerance" and not item[figure])
        )
        if given and cited.get(figure) not in sources:
            problems.append(f"{figure} has no source")
    return problems


@functools.cache
def presets() -> dict[str, Preset]:
    """The shipped table by canonical name (read once; a broken table raises ValueError)."""
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    sources = {key: Source(**value) for key, value in data["sources"].items()}
    table = {}
    for name, item in data["presets"].items():
        problems = table_problems(name, item, data["sources"])
        if problems:
            raise ValueError(f"presets.json: {name}: {'; '.join(problems)}")
        width, height = _pair(item["size"], "x")
        channel = name.partition("/")[0]
        table[name] = Preset(
            name=name,
            width=width,
            height=height,
            channel=data["channels"][channel],
            placement=item["placement"],
            accepts=tuple(item["accepts"]),
            formats=tuple(item["formats"]),
            max_kb=item.get("max_kb"),
            ratio=item["ratio"],
            tolerance=item.get("tolerance", 0.0),
            minimum=_pair(item["min"], "x") if "min" in item else None,
            keep_out=tuple(Zone(**zone) for zone in item.get("keep_out", ())),
            max_text_cover=item.get("max_text_cover"),
            aliases=tuple(item.get("aliases", ())),
            cite=tuple((figure, sources[key]) for figure, key in item.get("cite", {}).items()),
            note=item.get("note"),
        )
    return table


@functools.cache
def aliases() -> dict[str, str]:
    """Names kept from before channel names -> the canonical preset name."""
    found: dict[str, str] = {}
    for preset in presets().values():
        for alias in preset.aliases:
            if alias in found or alias in presets():
                raise ValueError(f"presets.json: alias '{alias}' names two presets")
            found[alias] = preset.name
    return found


def names() -> list[str]:
    """Every name a brief may give: canonical names, then the aliases."""
    return [*presets(), *aliases()]


def channels() -> list[str]:
    return sorted({name.partition("/")[0] for name in presets()})


def find(name: str) -> Preset | None:
    """The preset a name (canonical or alias) gives; None for anything else."""
    if not isinstance(name, str):
        return None
    return presets().get(aliases().get(name, name))


def unaccepted_formats(preset: Preset, formats: Iterable[str]) -> list[str]:
    """The formats of `formats` the preset's channel does not take, in order."""
    return [fmt for fmt in formats if fmt not in preset.accepts]


def byte_limit(preset: Preset | None, asked: float | None) -> float | None:
    """The budget of one file: the asset's, capped by the channel's limit (the stricter wins)."""
    limit = preset.max_kb if preset else None
    if asked is None or limit is None:
        return asked if limit is None else limit
    return min(asked, limit)


# ------------------------------------------------------------------ for the layout and the design checks


def _zone(item: Zone | Mapping) -> Zone:
    return (
        item if isinstance(item, Zone) else Zone(**{k: item[k] for k in ("left", "top", "right", "bottom", "reason")})
    )


def keep_out_boxes(
    row: Mapping, width: int | None = None, height: int | None = None
) -> list[tuple[int, int, int, int]]:
    """The boxes a deliverable's text, CTA and logo must stay out of, in pixels (left, top, right,
    bottom) of a frame of `width` x `height` (default: the row's own size). `row` is a `briefs` row;
    rows without zones (plain WxH sizes, rows written before presets) give none."""
    width = width if width is not None else row["width"]
    height = height if height is not None else row["height"]
    boxes = []
    for item in row.get("keep_out") or ():
        zone = _zone(item)
        boxes.append(
            (round(zone.left * width), round(zone.top * height), round(zone.right * width), round(zone.bottom * height))
        )
    return boxes


def overlapping_zones(
    box: tuple[float, float, float, float], zones: Iterable[Zone | Mapping], width: int, height: int
) -> list[str]:
    """The reasons of every zone a pixel box (left, top, right, bottom) overlaps; empty when it is clear."""
    left, top, right, bottom = box
    hits = []
    for item in zones:
        zone = _zone(item)
        z_left, z_top, z_right, z_bottom = (
            zone.left * width,
            zone.top * height,
            zone.right * width,
            zone.bottom * height,
        )
        if left < z_right and z_left < right and top < z_bottom and z_top < bottom:
            hits.append(zone.reason)
    return hits


def free_area(row: Mapping) -> tuple[float, float, float, float]:
    """(left, top, right, bottom), fractions of the frame, of the part no zone covers: every zone
    is a band along an edge (the table is held to that), so the rest is one rectangle, and a
    layout honours the channel's zones by laying out inside it."""
    left, top, right, bottom = 0.0, 0.0, 1.0, 1.0
    for item in row.get("keep_out") or ():
        zone = _zone(item)
        edge = _edge_band(zone)
        if edge == "top":
            top = max(top, zone.bottom)
        elif edge == "bottom":
            bottom = min(bottom, zone.top)
        elif edge == "left":
            left = max(left, zone.right)
        elif edge == "right":
            right = min(right, zone.left)
    return left, top, right, bottom


def layout_overlaps(layout: Mapping, zones: Iterable[Zone | Mapping]) -> list[str]:
    """`role: zone reason` for every laid-out box (a layout's relative x, y, w, h boxes, as the
    `layouts` table stores them) that overlaps a keep-out zone: what a design check reports."""
    found = []
    zones = list(zones)
    for box in layout.get("boxes", ()):
        rect = (box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"])
        found += [f"{box.get('role', 'box')}: {reason}" for reason in overlapping_zones(rect, zones, 1, 1)]
    return found
