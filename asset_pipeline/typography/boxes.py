"""The layout as data: text boxes in relative coordinates.

The typography pass produces a `Layout`; the upscale stage draws it again at
final resolution, and the checks OCR each box. Stored as JSON beside the render.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

Role = Literal["headline", "body", "cta", "disclaimer"]


@dataclass(frozen=True)
class TextBox:
    role: Role
    text: str  # the text as the brief gives it (what OCR must read back)
    lines: list[str]  # the text as broken into lines
    x: float  # left edge, fraction of the image width
    y: float  # top edge, fraction of the image height
    w: float  # width, fraction of the image width
    h: float  # height, fraction of the image height
    font: str  # absolute path of the font file
    font_px: int  # font size in px at the layout's (final) size
    color: str = "#FFFFFF"  # text colour, #RRGGBB
    plate: str | None = None  # colour of a solid plate behind the text, if any
    scrim: str | None = None  # colour of a translucent scrim behind the text, if any
    contrast: float | None = None  # WCAG ratio measured against what is behind the text
    align: Literal["left", "center"] = "left"
    line_spacing: float = 1.2

    def pixel_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in pixels of an image of the given size."""
        return (
            round(self.x * width),
            round(self.y * height),
            round((self.x + self.w) * width),
            round((self.y + self.h) * height),
        )


@dataclass(frozen=True)
class Layout:
    width: int  # the size the layout was made for (the deliverable's final size)
    height: int
    boxes: list[TextBox] = field(default_factory=list)
    family: str = "square"  # aspect family the layout template came from

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Layout:
        data = json.loads(text)
        boxes = [TextBox(**box) for box in data.pop("boxes")]
        return cls(boxes=boxes, **data)


class LayoutError(Exception):
    """Text cannot be laid out within the brand rules; the message gives the numbers."""
