"""Typography: lay text out within brand rules, pick legible colours, draw it."""

from .boxes import Layout, LayoutError, TextBox
from .contrast import (
    background_luminance,
    choose_colors,
    contrast_ratio,
    relative_luminance,
    worst_case_contrast,
)
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
    "choose_colors",
    "contrast_ratio",
    "layout_text",
    "load_font",
    "missing_glyphs",
    "relative_luminance",
    "render_layout",
    "resolve_font",
    "text_block",
    "worst_case_contrast",
]
