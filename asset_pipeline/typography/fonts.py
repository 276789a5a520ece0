"""Font lookup, loading and glyph coverage.

A brand names a font as a file beside the brand file, an absolute path, a bare
file name installed system-wide ("DejaVuSans-Bold.ttf"), a font's full or
PostScript name ("DejaVu Sans Bold"), or a fontconfig pattern ("DejaVu Sans:bold").
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2", ".pfb")
# fontconfig aliases that legitimately resolve to whatever the system default is
GENERIC_FAMILIES = {"sans-serif", "sans", "serif", "monospace", "mono", "system-ui"}


class FontError(Exception):
    """A font named by the brand cannot be found or loaded."""


def _fc(*args: str) -> str:
    try:
        result = subprocess.run(["fc-" + args[0], *args[1:]], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FontError(f"cannot run fc-{args[0]} to look fonts up: {exc}") from None
    return result.stdout


@lru_cache(maxsize=1)
def _installed_fonts() -> list[tuple[Path, set[str]]]:
    """(file, {full names, PostScript names, lower-cased}) for every installed font."""
    fonts = []
    for row in _fc("list", "-f", "%{file}|%{fullname}|%{postscriptname}\n").splitlines():
        file, _, rest = row.partition("|")
        if not file:
            continue
        names = {n.strip().lower() for part in rest.split("|") for n in part.split(",") if n.strip()}
        fonts.append((Path(file), names))
    return fonts


def _check_loadable(path: Path, name: str) -> Path:
    try:
        ImageFont.truetype(str(path), 12)
    except OSError as exc:
        raise FontError(f"font {name!r}: {path} is not a font Pillow can load ({exc})") from None
    return path


def _by_fontconfig(name: str) -> Path | None:
    """fc-match always answers with *some* font; accept it only if its family is the one asked for."""
    out = _fc("match", "-f", "%{family}|%{file}", "--", name)  # "--": a name like "-V" is not an option
    families, _, file = out.partition("|")
    if not file:
        return None
    wanted = name.split(":")[0].strip().lower()
    found = {f.strip().lower() for f in families.split(",")}
    if wanted in GENERIC_FAMILIES or wanted in found:
        return Path(file)
    return None


@lru_cache(maxsize=128)
def resolve_font(name: str, brand_dir: Path) -> Path:
    """Absolute path of the font file a brand names; FontError if there is none."""
    if not name or not name.strip():
        raise FontError("font name is empty")
    if not name.isprintable():  # a NUL or control character: no file or fontconfig name has one
        raise FontError(f"font name {name!r} has control characters")
    as_path = Path(name)
    if as_path.is_absolute():
        if not as_path.is_file():
            raise FontError(f"font {name!r}: no such file")
        return _check_loadable(as_path, name)
    beside = Path(brand_dir) / name
    if beside.is_file():
        return _check_loadable(beside.resolve(), name)

    installed = _installed_fonts()
    if as_path.suffix.lower() in FONT_SUFFIXES:
        # a bare file name: look for an installed file with that name (exact case first)
        for same in (lambda p: p.name == name, lambda p: p.name.lower() == name.lower()):
            for path, _ in installed:
                if same(path):
                    return _check_loadable(path, name)
        raise FontError(f"font {name!r}: no such file beside the brand file ({brand_dir}) nor installed on the system")

    for path, names in installed:  # "DejaVu Sans Bold", "DejaVuSans-Bold"
        if name.strip().lower() in names:
            return _check_loadable(path, name)
    path = _by_fontconfig(name)
    if path is None:
        raise FontError(
            f"font {name!r}: not a file beside the brand file ({brand_dir}), "
            "nor an installed font's name or fontconfig family"
        )
    return _check_loadable(path, name)


def font_version(path: str | Path) -> tuple[int, int]:
    """(mtime, size) of a font file: part of the caches' keys, so a file replaced while this
    process lives (a Dagster code server, the review app) is loaded again."""
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size


def load_font(path: str | Path, size: float) -> ImageFont.FreeTypeFont:
    """The font at a pixel size, cached (loading a face is much slower than measuring)."""
    return _load_font(str(path), font_version(path), size)


@lru_cache(maxsize=512)
def _load_font(path: str, version: tuple[int, int], size: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _plain_font(path: str) -> ImageFont.FreeTypeFont:
    return _load_plain_font(path, font_version(path))


@lru_cache(maxsize=64)
def _load_plain_font(path: str, version: tuple[int, int]) -> ImageFont.FreeTypeFont:
    # BASIC layout maps each character straight through the cmap: no shaping, no
    # inserted dotted circles, so a missing character shows up as the .notdef glyph.
    return ImageFont.truetype(path, 48, layout_engine=ImageFont.Layout.BASIC)


def _glyph_signature(font: ImageFont.FreeTypeFont, char: str) -> tuple:
    mask = font.getmask(char)
    return font.getbbox(char), font.getlength(char), mask.size, bytes(mask)


def _notdef_signature(path: str) -> tuple:
    return _notdef_of(path, font_version(path))


@lru_cache(maxsize=64)
def _notdef_of(path: str, version: tuple[int, int]) -> tuple:
    # U+10FFFF is a noncharacter: no font maps it, so it renders as .notdef
    return _glyph_signature(_plain_font(path), "\U0010ffff")


def missing_glyphs(font_path: str | Path, text: str) -> list[str]:
    """Characters of `text` the font has no glyph for (in order, each once).

    Pillow exposes no cmap, so a character counts as missing when it renders
    exactly like .notdef (same box, advance and bitmap). Whitespace never counts.
    """
    path = str(font_path)
    font = _plain_font(path)
    notdef = _notdef_signature(path)
    missing: list[str] = []
    for char in dict.fromkeys(text):
        if char.isspace():
            continue
        if _glyph_signature(font, char) == notdef:
            missing.append(char)
    return missing


# ---------------------------------------------------------------- fonts by script

MAX_FALLBACK_CANDIDATES = 40  # fontconfig's sorted list runs to every font; the covering ones come first
# Each script's own face among the Noto families the Makefile installs (fontconfig names). Tried
# before the brand's Latin font: fontconfig's own order puts DejaVu first for Arabic and Hebrew,
# whose Arabic tesseract reads far worse (pure-Arabic boxes: 80% at >= 0.95 with DejaVu, 95% with
# Noto Sans Arabic). Noto's script faces carry few Latin letters or digits (Noto Sans Thai and
# Hebrew have no digits), so a box that mixes in what the face lacks falls through to a font
# that covers all of it: one font per box, shaped as one run (raqm's bidi keeps mixed runs right).
SCRIPT_FACES = {
    "Arab": "Noto Sans Arabic",
    "Hebr": "Noto Sans Hebrew",
    "Jpan": "Noto Sans CJK JP",
    "Hans": "Noto Sans CJK SC",
    "Kore": "Noto Sans CJK KR",
    "Deva": "Noto Sans Devanagari",
    "Thai": "Noto Sans Thai",
}


@dataclass(frozen=True)
class FontChoice:
    """The font a text box is set in, and how it was chosen (recorded in the layout)."""

    path: Path
    # "fonts_by_script" (the brand's font for the script), "script_face" (SCRIPT_FACES), "brand"
    # (fonts.headline/body), or "fontconfig" (the first system font that covers the text)
    source: str


@lru_cache(maxsize=256)
def fontconfig_font(text: str, language: str, bold: bool) -> Path | None:
    """The first system font in fontconfig's order for `language` (and weight) that has every
    character of `text`; None when no installed font covers it."""
    pattern = f":lang={language}" + (":weight=bold" if bold else "")
    for line in _fc("match", "-s", "-f", "%{file}\n", pattern).splitlines()[:MAX_FALLBACK_CANDIDATES]:
        path = Path(line)
        if path.suffix.lower() in FONT_SUFFIXES and path.is_file() and not missing_glyphs(path, text):
            return path
    return None


def _script_face(script: str, bold: bool) -> Path | None:
    name = SCRIPT_FACES.get(script)
    if name is None:
        return None
    try:
        return resolve_font(name + (":bold" if bold else ""), Path("."))
    except FontError:  # not installed: fontconfig's fallback decides
        return None


def choose_font(
    text: str, base: str, by_script: str | None, brand_dir: Path, language: str, bold: bool, script: str = "Latn"
) -> FontChoice:
    """The font for a text in a locale: the brand's font for its script (`fonts_by_script`); else
    the script's own Noto face when it has every character; else the brand's font (`base`) when
    it has; else a system font that does (fontconfig, by the locale's language). When none
    covers the text, the brand's font is returned and the layout's glyph check names what is
    missing."""
    if by_script:
        return FontChoice(resolve_font(by_script, brand_dir), "fonts_by_script")
    face = _script_face(script, bold)
    if face is not None and not missing_glyphs(face, text):
        return FontChoice(face, "script_face")
    path = resolve_font(base, brand_dir)
    if not missing_glyphs(path, text):
        return FontChoice(path, "brand")
    found = fontconfig_font(text, language, bold)
    return FontChoice(found, "fontconfig") if found else FontChoice(path, "brand")
