"""Draw a Layout onto a background at the background's own size.

Font sizes scale by background.height / layout.height, so one layout renders
crisp at final size and as a small preview on a draft. Line positions come
from layout.text_block, the same function the layout engine measured with.
The logo is drawn from its source file's bytes at the size it is shown
(typography.logo), and the product from its cut-out (typography.product), never resampled
from another image.
"""

from __future__ import annotations

import math

from PIL import Image, ImageColor, ImageDraw

from .boxes import Layout, TextBox
from .fonts import load_font
from .layout import Block, ink_bounds, text_block
from .logo import logo_image
from .product import composite_product

# Below this size FreeType's hinting snaps stems to whole pixels and closes the gaps
# between some letters: DejaVu Sans's "rn" at 14-15 px touches and reads as "m" (to
# tesseract and to a quick reader: "Learn" as "Leam"). Small text is drawn at SUPERSAMPLE
# times the size and averaged down instead, which keeps the gaps as light columns.
SUPERSAMPLE_BELOW_PX = 20
SUPERSAMPLE = 4


def render_layout(
    background: Image.Image, layout: Layout, logo: bytes | None = None, product: bytes | None = None
) -> Image.Image:
    """A new RGB image: the background, (given its cut-out's bytes) the product shot with its contact
    shadow, then scrims, plates, text and (given its source bytes) the logo.

    The product goes first so that anything drawn over it by mistake shows in the `product` check."""
    image = background.convert("RGB")
    scale = image.height / layout.height
    if layout.product is not None and product is not None:
        image = composite_product(image, product, layout.product.pixel_box(*image.size))

    rects = [(p.pixel_box(*image.size), p.colour) for p in layout.panels if p.kind == "scrim" and p.colour]
    rects += [(b.pixel_box(*image.size), b.scrim) for b in layout.boxes if b.scrim]  # older layouts: per box
    if rects:  # translucent rectangles need a composite, not a plain draw
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for (left, top, right, bottom), colour in rects:
            draw.rectangle((left, top, right - 1, bottom - 1), fill=ImageColor.getrgb(colour))
        image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")

    draw = ImageDraw.Draw(image)
    for box in layout.boxes:
        left, top, right, bottom = box.pixel_box(*image.size)
        if box.plate:
            if box.plate_outline:
                width = max(1, round((box.plate_outline_px or 2) * scale))
                draw.rectangle(
                    (left - width, top - width, right - 1 + width, bottom - 1 + width), fill=box.plate_outline
                )
            draw.rectangle((left, top, right - 1, bottom - 1), fill=box.plate)
        if not box.lines:
            continue
        px, block, x0, y0 = _placed(box, *image.size, scale)
        if px < SUPERSAMPLE_BELOW_PX:
            _draw_supersampled(image, box, block, px, x0, y0)
        else:
            font = load_font(box.font, px)
            for line, (dx, dy) in zip(box.lines, block.origins):
                draw.text((x0 + dx, y0 + dy), line, font=font, fill=box.color, anchor="la", **box.shaping())
    if layout.logo is not None and logo is not None:
        left, top, right, bottom = layout.logo.pixel_box(*image.size)
        mark = logo_image(layout.logo.kind, logo, right - left, bottom - top)
        image.paste(mark.convert("RGB"), (left, top), mark.getchannel("A"))
    return image


def _placed(box: TextBox, width: int, height: int, scale: float) -> tuple[float, Block, int, int]:
    """(font px, the lines' Block, the block's top-left) of a box drawn on a width x height image."""
    left, top, right, bottom = box.pixel_box(width, height)
    # exact integer size at final resolution; fractional sizes for previews
    px = box.font_px if scale == 1 else box.font_px * scale
    block = text_block(box.lines, box.font, px, box.line_spacing, box.align, **box.shaping())
    # centre the block in its box: exact at final size (the box is the block
    # plus padding), and it spreads rounding evenly at preview sizes
    x0 = left + (right - left - block.width) // 2
    y0 = top + (bottom - top - block.height) // 2
    return px, block, x0, y0


def line_rects(box: TextBox, width: int, height: int, layout_height: int) -> list[tuple[int, int, int, int]]:
    """Each line's ink as drawn on a width x height image of a layout made at `layout_height`:
    (left, top, right, bottom) pixels, from the same placement `render_layout` draws with.

    OCR reads each line of a box on its own from these (checks.ocr). Raises OSError when the
    box's font cannot be loaded."""
    px, block, x0, y0 = _placed(box, width, height, height / layout_height)
    rects = []
    for line, (dx, dy) in zip(box.lines, block.origins):
        left, top, right, bottom = ink_bounds(box.font, px, line, box.direction, box.language)
        rects.append(
            (
                math.floor(x0 + dx + left),
                math.floor(y0 + dy + top),
                math.ceil(x0 + dx + right),
                math.ceil(y0 + dy + bottom),
            )
        )
    return rects


def span_extent(box: TextBox, width: int, height: int, layout_height: int, line: int, start: int, end: int):
    """(left, right) pixels of the characters [start, end) of one line as drawn, for a span that the
    bidi algorithm keeps in one piece (a Latin name or a number inside Arabic): from the advances
    of the text before it and of the span, measured right to left in a right-to-left box."""
    px, block, x0, _ = _placed(box, width, height, height / layout_height)
    font = load_font(box.font, px)
    text = box.lines[line]
    origin = x0 + block.origins[line][0]
    before = font.getlength(text[:start], **box.shaping())
    span = font.getlength(text[start:end], **box.shaping())
    if box.direction == "rtl":
        right = origin + font.getlength(text, **box.shaping()) - before
        return math.floor(right - span), math.ceil(right)
    return math.floor(origin + before), math.ceil(origin + before + span)


def _draw_supersampled(image: Image.Image, box: TextBox, block: Block, px: float, x0: int, y0: int) -> None:
    """Draw the lines as a SUPERSAMPLE x mask, averaged down, then fill the text colour through it."""
    pad = 2  # room for ink that the block's rounding leaves at its edge
    k = SUPERSAMPLE
    mask = Image.new("L", ((block.width + 2 * pad) * k, (block.height + 2 * pad) * k), 0)
    draw = ImageDraw.Draw(mask)
    font = load_font(box.font, px * k)
    for line, (dx, dy) in zip(box.lines, block.origins):
        draw.text(((dx + pad) * k, (dy + pad) * k), line, font=font, fill=255, anchor="la", **box.shaping())
    mask = mask.resize((block.width + 2 * pad, block.height + 2 * pad), Image.Resampling.BOX)
    image.paste(ImageColor.getrgb(box.color), (x0 - pad, y0 - pad), mask)
