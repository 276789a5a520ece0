"""The layout as data: text boxes, the scrims behind text blocks, the logo and the product zone,
all in relative coordinates.

The typography pass produces a `Layout`; the upscale stage draws it again at
final resolution, the checks OCR each box and lint the design from the same
numbers. Stored as JSON beside the render.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

Role = Literal["headline", "body", "cta", "disclaimer"]
Rect = tuple[float, float, float, float]  # (x, y, w, h), fractions of the image's width and height


def to_pixels(rect: Rect, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) in pixels of a relative (x, y, w, h) on an image of the given size."""
    x, y, w, h = rect
    return round(x * width), round(y * height), round((x + w) * width), round((y + h) * height)


LOCALE_FIELDS = ("locale", "script", "language", "direction", "font_source")


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
    plate: str | None = None  # colour of a solid plate behind the text, if any (the CTA's)
    scrim: str | None = None  # older layouts only: a scrim per box; now the block's Panel carries it
    contrast: float | None = None  # WCAG ratio measured against what is behind the text
    align: Literal["left", "center", "right"] = "left"  # right: a mirrored (right-to-left) template
    line_spacing: float = 1.2
    # The glyphs' ink as shaped (HarfBuzz through Pillow's raqm layout), (x, y, w, h) relative:
    # what optical alignment lines up and what the safe margin keeps inside.
    ink: Rect | None = None
    block: int | None = None  # index of the Panel (text block) this box belongs to
    # CTA plate against its surroundings (WCAG 1.4.11 non-text contrast): how it is set apart
    # ("accent": the accent plate alone reaches it; "alternate": another allowed colour does;
    # "outline": the accent plate with an outline that does) and the ratio reached.
    plate_treatment: str | None = None
    plate_outline: str | None = None
    plate_outline_px: int | None = None
    plate_contrast: float | None = None
    # Locales (all None for a deliverable without one): the BCP 47 tag, the ISO 15924 script the
    # box is set and read in, what HarfBuzz is told (language, direction), and how the font was
    # chosen ("brand", "fonts_by_script" or "fontconfig").
    locale: str | None = None
    script: str | None = None
    language: str | None = None
    direction: Literal["ltr", "rtl"] | None = None
    font_source: str | None = None

    def shaping(self) -> dict[str, str | None]:
        """The keyword arguments that shape this box's text in Pillow (raqm): direction, language."""
        return {"direction": self.direction, "language": self.language}

    def pixel_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in pixels of an image of the given size."""
        return to_pixels((self.x, self.y, self.w, self.h), width, height)

    def ink_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The ink's (left, top, right, bottom) in pixels; the box itself for layouts without ink data."""
        return to_pixels(self.ink, width, height) if self.ink else self.pixel_box(width, height)

    def seen_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """What a viewer sees of the box, in pixels: the box, or its plate with the plate's outline."""
        left, top, right, bottom = self.pixel_box(width, height)
        grow = (self.plate_outline_px or 0) if self.plate and self.plate_outline else 0
        return left - grow, top - grow, right + grow, bottom + grow


@dataclass(frozen=True)
class Panel:
    """One treatment behind a whole text block: a scrim (or nothing) that covers all its boxes."""

    roles: list[str]  # the boxes of the block, top to bottom
    x: float
    y: float
    w: float
    h: float
    kind: Literal["none", "scrim"] = "none"
    colour: str | None = None  # "#RRGGBBAA" for a scrim

    def pixel_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        return to_pixels((self.x, self.y, self.w, self.h), width, height)


@dataclass(frozen=True)
class LogoBox:
    """Where the brand's logo is drawn (from its source file, at final resolution) and its clear space."""

    x: float
    y: float
    w: float
    h: float
    source: str  # the brand field it came from: "logo" or "logo_small"
    path: str  # relative to the home's media/
    sha256: str  # of the source file: the renderer draws exactly this file
    kind: Literal["png", "svg"] = "png"
    clear: Rect = (0.0, 0.0, 0.0, 0.0)  # the clear space: the logo grown by logo_clear_space x its height
    position: str = "top-left"

    def pixel_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        return to_pixels((self.x, self.y, self.w, self.h), width, height)

    def clear_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        return to_pixels(self.clear, width, height)


@dataclass(frozen=True)
class ProductBox:
    """Where the product shot is composited (from its cut-out, at final resolution), inside the product zone.

    The box is the product itself, scaled to fit the zone and never cropped; its contact shadow
    lies below it, inside the zone too."""

    x: float
    y: float
    w: float
    h: float
    path: str  # the source file, relative to the home's media/
    sha256: str  # of the source file
    cutout_sha256: str  # of the cut-out (an RGBA PNG in the object store): the renderer draws exactly this
    mask_sha256: str  # of the cut-out's alpha channel
    method: str  # how the mask was made: "alpha" (the file's own) or the cut-out method's name

    def pixel_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        return to_pixels((self.x, self.y, self.w, self.h), width, height)


@dataclass(frozen=True)
class Layout:
    width: int  # the size the layout was made for (the deliverable's final size)
    height: int
    boxes: list[TextBox] = field(default_factory=list)
    family: str = "square"  # aspect family the layout template came from
    panels: list[Panel] = field(default_factory=list)  # one per text block
    polarity: str | None = None  # the one text colour of the deliverable's blocks (a CTA on its plate aside)
    logo: LogoBox | None = None
    # The template's focal box for the product shot, (x, y, w, h) fractions: never under text or logo.
    product_zone: Rect | None = None
    product: ProductBox | None = None  # the product shot placed in the zone, when the asset has one

    def to_json(self) -> str:
        data = asdict(self)
        if data["product"] is None:  # layouts without a product keep their JSON, and so their cache keys
            del data["product"]
        for box in data["boxes"]:  # a layout without locales stays byte for byte what it was
            for name in LOCALE_FIELDS:
                if box[name] is None:
                    del box[name]
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Layout:
        data = json.loads(text)
        boxes = [TextBox(**_tuples(box, "ink")) for box in data.pop("boxes")]
        panels = [Panel(**panel) for panel in data.pop("panels", [])]
        logo = data.pop("logo", None)
        logo = LogoBox(**_tuples(logo, "clear")) if logo else None
        zone = data.pop("product_zone", None)
        product = data.pop("product", None)
        return cls(
            boxes=boxes,
            panels=panels,
            logo=logo,
            product_zone=tuple(zone) if zone else None,
            product=ProductBox(**product) if product else None,
            **data,
        )

    def box(self, role: str) -> TextBox | None:
        return next((b for b in self.boxes if b.role == role), None)

    def covered(self) -> list[tuple[str, tuple[int, int, int, int]]]:
        """(role, pixel box) of what covers the picture: every text box (a CTA with its plate) and the logo."""
        found = [(box.role, box.seen_box(self.width, self.height)) for box in self.boxes]
        if self.logo is not None:
            found.append(("logo", self.logo.pixel_box(self.width, self.height)))
        return found

    def text_cover(self) -> float:
        """The share of the frame that text boxes and the logo cover (their union, clipped to the
        frame): what a channel that limits text on an image measures. The logo counts, as a logo
        with words does for Google; a word mark and a symbol cannot be told apart here."""
        boxes = [
            (max(0, x0), max(0, y0), min(self.width, x1), min(self.height, y1))
            for _, (x0, y0, x1, y1) in self.covered()
        ]
        boxes = [box for box in boxes if box[0] < box[2] and box[1] < box[3]]
        xs = sorted({x for box in boxes for x in (box[0], box[2])})
        area = 0
        for x0, x1 in zip(xs, xs[1:]):  # the union by vertical strips: each strip's covered height
            spans = sorted((top, bottom) for left, top, right, bottom in boxes if left <= x0 and x1 <= right)
            covered, reach = 0, None
            for top, bottom in spans:
                if reach is None or top > reach:
                    covered, reach = covered + bottom - top, bottom
                elif bottom > reach:
                    covered, reach = covered + bottom - reach, bottom
            area += (x1 - x0) * covered
        return area / (self.width * self.height)


def _tuples(data: dict, *keys: str) -> dict:
    return {k: (tuple(v) if k in keys and v is not None else v) for k, v in data.items()}


class LayoutError(Exception):
    """Text cannot be laid out within the brand rules; the message gives the numbers.

    `problems` lists every reason, one line each (the message joins them).
    """

    def __init__(self, message: str | list[str]):
        self.problems = [message] if isinstance(message, str) else list(message)
        super().__init__("; ".join(self.problems))
