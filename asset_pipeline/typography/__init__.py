"""Typography: lay text out within brand rules, pick legible colours, draw it.

Contrast itself (WCAG luminance and ratios) is `asset_pipeline.colour`'s.
"""

from .boxes import Layout, LayoutError, TextBox
from .contrast import background_luminance, choose_colours
from .fonts import FontError, load_font, missing_glyphs, resolve_font
from .layout import aspect_family, break_lines, layout_text, text_block
from .render import render_layout

__all__ = [
    "FontError",
    "Layout",
    "LayoutError",
    "TextBox",
    "aspect_family",
    "background_luminance",
    "break_lines",
    "choose_colours",
    "layout_text",
    "load_font",
    "missing_glyphs",
    "render_layout",
    "resolve_font",
    "text_block",
]
