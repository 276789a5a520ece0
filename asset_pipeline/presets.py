"""Size presets: channel sizes a brief may name instead of WxH (`medium-rectangle`, `story`, ...).

The table is data (presets.json, beside this file), each figure with its source. A preset
gives a size and may carry:

- `keep_out`: the channel's safe zones, as the boxes outside them, i.e. the parts of the
  frame the app's interface covers (a story's top and bottom bands). Boxes are fractions of
  the width and height (left, top, right, bottom); no text, CTA or logo may overlap one;
- `formats` and `max_kb`: the channel's default file formats and byte budget, used when the
  asset names none.

The layout reads the zones of a deliverable from its `briefs` row (`keep_out`) through
`keep_out_boxes`, and `overlapping_zones` measures a laid-out box against them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).with_name("presets.json")


@dataclass(frozen=True)
class Zone:
    """A box a channel's interface covers, in fractions of the frame (0..1)."""

    left: float
    top: float
    right: float
    bottom: float
    reason: str


@dataclass(frozen=True)
class Preset:
    name: str
    width: int
    height: int
    channel: str
    source: str
    keep_out: tuple[Zone, ...] = ()
    formats: tuple[str, ...] = ()
    max_kb: float | None = None

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


@functools.cache
def presets() -> dict[str, Preset]:
    """The shipped table, by name (read once)."""
    data = json.loads(TABLE.read_text(encoding="utf-8"))["presets"]
    table = {}
    for name, item in data.items():
        width, height = (int(side) for side in item["size"].split("x"))
        zones = tuple(Zone(**zone) for zone in item.get("keep_out", ()))
        for zone in zones:
            if not 0.0 <= zone.left < zone.right <= 1.0 or not 0.0 <= zone.top < zone.bottom <= 1.0:
                raise ValueError(f"presets.json: {name}: keep_out box {zone} is not inside the frame")
        table[name] = Preset(
            name=name,
            width=width,
            height=height,
            channel=item["channel"],
            source=item["source"],
            keep_out=zones,
            formats=tuple(item.get("formats", ())),
            max_kb=item.get("max_kb"),
        )
    return table


def find(name: str) -> Preset | None:
    return presets().get(name) if isinstance(name, str) else None


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


def free_band(row: Mapping) -> tuple[float, float]:
    """(top, bottom) of the horizontal band, as fractions of the height, that no full-width zone
    covers: the simplest way for a layout to honour a story's bands is to lay out inside it."""
    top, bottom = 0.0, 1.0
    for item in row.get("keep_out") or ():
        zone = _zone(item)
        if zone.left <= 0.0 and zone.right >= 1.0:  # a full-width band
            if zone.top <= 0.0:
                top = max(top, zone.bottom)
            elif zone.bottom >= 1.0:
                bottom = min(bottom, zone.top)
    return top, bottom


def layout_overlaps(layout: Mapping, zones: Iterable[Zone | Mapping]) -> list[str]:
    """`role: zone reason` for every laid-out box (a layout's relative x, y, w, h boxes, as the
    `layouts` table stores them) that overlaps a keep-out zone: what a design check reports."""
    found = []
    zones = list(zones)
    for box in layout.get("boxes", ()):
        rect = (box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"])
        found += [f"{box.get('role', 'box')}: {reason}" for reason in overlapping_zones(rect, zones, 1, 1)]
    return found
