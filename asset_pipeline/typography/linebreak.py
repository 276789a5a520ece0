"""Where a line may break, by the text's script.

Scripts written with spaces (Latin, Arabic, Hebrew, Devanagari, Korean) break at spaces,
exactly as before locales existed: the units are the whitespace-separated words, joined
by one space. Scripts written without spaces (Japanese, Chinese, Thai) break where ICU's
line breaker (UAX #14 with ICU's tailorings) allows:

- Japanese with `lb=strict`, the kinsoku rules: no line starts with closing brackets,
  。、・ー, small kana or ！？, and none ends with an opening bracket;
- Chinese with ICU's default rules (no line starts with ，。、」 etc.);
- Thai through ICU's dictionary-based word segmentation (Thai has no spaces between words).

Units from ICU keep their trailing spaces, and a line is its units joined as they are,
stripped at both ends. Either way `join_units` turns a run of units into a line.
"""

from __future__ import annotations

from functools import lru_cache

import icu

from ..locales import Script, script_of

SPACE = " "


@lru_cache(maxsize=16)
def _icu_locale(script: str) -> icu.Locale:
    # kinsoku: ICU's strict line breaking is the JIS X 4051 set for Japanese
    return icu.Locale({"Jpan": "ja@lb=strict", "Hans": "zh", "Thai": "th"}.get(script, "root"))


def break_units(text: str, script: Script | None = None) -> tuple[list[str], str]:
    """(units, joiner): the pieces a line break may fall between, and what joins them."""
    script = script or script_of(text)
    if script.spaced:
        return text.split(), SPACE
    iterator = icu.BreakIterator.createLineInstance(_icu_locale(script.code))
    stripped = " ".join(text.split())  # runs of whitespace and line feeds from YAML become one space
    iterator.setText(stripped)
    units, start = [], 0
    for end in iterator:
        units.append(stripped[start:end])
        start = end
    return [u for u in units if u.strip()], ""


def join_units(units: list[str], joiner: str = SPACE) -> str:
    """One line of units: joined by `joiner` ("" for ICU units, which carry their spaces)."""
    return joiner.join(units).strip() if joiner == "" else joiner.join(units)
