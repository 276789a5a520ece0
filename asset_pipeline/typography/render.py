"""Draw a Layout onto a background at the background's own size.

Font sizes scale by background.height / layout.height, so one layout renders
crisp at final size and as a small preview on a draft. Line positions come
from layout.text_block, the same function the layout engine measured with.
"""

from __future__ import annotations

from PIL import Image, ImageColor, ImageDraw

from .boxes import Layout
from .fonts import load_font
from .layout import text_block


def render_layout(background: Image.Image, layout: Layout) -> Image.Image:
    """A new RGB image: the background with scrims, plates and text drawn."""
    image = background.convert("RGB")
    scale = image.height / layout.height

    scrims = [box for box in layout.boxes if box.scrim]
    if scrims:  # translucent rectangles need a composite, not a plain draw
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for box in scrims:
            left, top, right, bottom = box.pixel_box(*image.size)
            draw.rectangle((left, top, right - 1, bottom - 1), fill=ImageColor.getrgb(box.scrim))
        image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")

    draw = ImageDraw.Draw(image)
    for box in layout.boxes:
        left, top, right, bottom = box.pixel_box(*image.size)
        if box.plate:
            draw.rectangle((left, top, right - 1, bottom - 1), fill=box.plate)
        if not box.lines:
            continue
        # exact integer size at final resolution; fractional sizes for previews
        px = box.font_px if scale == 1 else box.font_px * scale
        block = text_block(box.lines, box.font, px, box.line_spacing, box.align)
        font = load_font(box.font, px)
        # centre the block in its box: exact at final size (the box is the block
        # plus padding), and it spreads rounding evenly at preview sizes
        x0 = left + (right - left - block.width) // 2
        y0 = top + (bottom - top - block.height) // 2
        for line, (dx, dy) in zip(box.lines, block.origins):
            draw.text((x0 + dx, y0 + dy), line, font=font, fill=box.color, anchor="la")
    return image
