"""Locales and scripts: what a BCP 47 tag means for typesetting and OCR.

A locale's script comes from ICU's likely subtags (`ja-JP` -> Jpan, `zh-CN` -> Hans,
`ar-SA` -> Arab), a text's scripts from the Unicode Script property (ICU's UScript).
Script codes are ISO 15924, the keys of a brand's `fonts_by_script`.

Each supported script says how it is written (direction, whether words are separated
by spaces, whether it has case) and which tesseract model reads it. Only scripts with
an OCR model are supported: a deliverable this pipeline cannot verify is not published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import icu

# A BCP 47 language tag as briefs use it: language, optional script, optional region
# (`en-US`, `zh-Hans-CN`, `de`); matched whole over ASCII.
TAG_RE = re.compile("[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?")


@dataclass(frozen=True)
class Script:
    code: str  # ISO 15924
    name: str
    tesseract: str  # the tesseract model that reads it (Debian: tesseract-ocr-<name with '-' for '_'>)
    direction: str = "ltr"  # "ltr" | "rtl"
    spaced: bool = True  # words separated by spaces: lines break at spaces, else by ICU's line breaker
    cased: bool = False  # upper and lower case: banned terms match case-insensitively


SCRIPTS = {
    s.code: s
    for s in (
        Script("Latn", "Latin", "eng", cased=True),
        Script("Arab", "Arabic", "ara", direction="rtl"),
        Script("Hebr", "Hebrew", "heb", direction="rtl"),
        Script("Jpan", "Japanese", "jpn", spaced=False),
        Script("Hans", "Simplified Chinese", "chi_sim", spaced=False),
        Script("Kore", "Korean", "kor"),  # Hangul is written with spaces; lines break at them (keep-all)
        Script("Deva", "Devanagari", "hin"),
        Script("Thai", "Thai", "tha", spaced=False),
    )
}

# Unicode Script values that belong to a writing system above (Japanese mixes Han and kana,
# Korean Hangul and Han). Han alone is taken as Simplified Chinese unless the locale says.
_WRITING_SYSTEM = {"Hira": "Jpan", "Kana": "Jpan", "Hang": "Kore", "Hani": "Hans"}
# Common (digits, punctuation, spaces) and Inherited (combining marks) belong to their neighbours.
_NEUTRAL = {"Zyyy", "Zinh", "Zzzz"}


class LocaleError(ValueError):
    """A locale tag that is malformed or names a script this pipeline cannot typeset and read."""


@dataclass(frozen=True)
class Locale:
    tag: str  # as given: "ja-JP"
    language: str  # "ja": what HarfBuzz (raqm) is told, for localised glyph forms
    script: Script

    @property
    def direction(self) -> str:
        return self.script.direction


@lru_cache(maxsize=256)
def locale_info(tag: str) -> Locale:
    """The Locale for a BCP 47 tag; LocaleError when it is malformed or its script is unsupported."""
    if not isinstance(tag, str) or TAG_RE.fullmatch(tag) is None:
        raise LocaleError(f"'{tag}' is not a BCP 47 tag such as en-US, ja-JP or zh-Hans-CN")
    likely = icu.Locale.forLanguageTag(tag).addLikelySubtags()
    code = likely.getScript()
    if code not in SCRIPTS:
        supported = ", ".join(f"{s.code} ({s.name})" for s in SCRIPTS.values())
        raise LocaleError(
            f"'{tag}' is written in {code or 'an unknown script'}, which has no support here: {supported}"
        )
    language = likely.getLanguage()
    # HarfBuzz picks Chinese glyph forms by the script subtag (zh-Hans -> ZHS)
    return Locale(tag, f"{language}-{code}" if language == "zh" else language, SCRIPTS[code])


def char_script(char: str) -> str:
    """The ISO 15924 code of one character's Unicode Script property (Zyyy for common ones)."""
    return icu.Script.getScript(char).getShortName()


def scripts_of(text: str) -> list[str]:
    """The writing systems of a text, in order of first use (Jpan for kana, Kore for Hangul;
    Han is Jpan in a text with kana, Kore in one with Hangul, else Hans)."""
    found = dict.fromkeys(_WRITING_SYSTEM.get(s, s) for s in map(char_script, text) if s not in _NEUTRAL)
    if "Hans" in found and ({"Jpan", "Kore"} & found.keys()):
        del found["Hans"]
    return list(found)


def script_of(text: str, locale: str | None = None) -> Script:
    """The script a text is typeset and read in: its locale's, else the first one it uses."""
    if locale is not None:
        return locale_info(locale).script
    for code in scripts_of(text):
        if code in SCRIPTS:
            return SCRIPTS[code]
    return SCRIPTS["Latn"]
