"""How what tesseract read in a box is compared with the box's copy.

Both texts are first brought to one comparable form (`folded`): NFKC, typographic quotes and
dashes as ASCII, one space per whitespace run, every Unicode decimal digit as its ASCII digit
(Arabic-Indic, Devanagari, Thai, full-width: `unicodedata.decimal`), Latin accents and Arabic's
hamza on alef folded, the side of a percent sign in right-to-left text, and no spaces at all in
scripts written without them.

Then two rules (`compare_reading`):
- **Exact strings** must read back exactly: every number of the copy (a run with a digit,
  with its currency sign or percent sign and inner separators: "$49.99", "50%", "31.05.",
  "SAVE20"), and each of the brand's `exact_terms` found in it (case-insensitive). A wrong
  price, percentage or date is a legal problem, not a typo.
- **Similarity** (1 - normalised edit distance over grapheme clusters) for the text as a whole,
  so one misread letter in a long headline still passes.

A digit read where the copy has a letter that looks like it ("0ff" for "Off", "5ale" for
"Sale") is an OCR confusion, not a number: outside the copy's numbers such a digit counts as
the letter (`DIGIT_LOOKALIKES`). Inside a number nothing is mapped: "S0%" for "50%" fails.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import regex
from rapidfuzz.distance import Levenshtein

from asset_pipeline.locales import SCRIPTS

# Typographic characters mapped to what tesseract (and a typist) usually emits.
_TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        # Arabic's own percent sign and decimal and thousands separators (NFKC keeps them): the
        # same signs as "%", "." and ",", which tesseract's English runs read there
        "\u066a": "%",
        "\u066b": ".",
        "\u066c": ",",
        "\u00ad": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
        # bidi controls: invisible, and tesseract's right-to-left models emit them around Latin runs
        "\u200e": None,
        "\u200f": None,
        "\u061c": None,
        **dict.fromkeys(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])),
    }
)
# Arabic alef with hamza or madda read as the bare alef: tesseract's Arabic model drops the mark
# often ("الآن" as "الان"), as the English model drops Latin accents; folded the same way.
_ARABIC_ALEF = str.maketrans(dict.fromkeys("\u0622\u0623\u0625\u0671", "\u0627"))
# A number with a percent sign in a right-to-left line is drawn "%50" (the bidi algorithm puts
# the sign on the number's left), "$50" as "50$", and the English model reads those pixels left
# to right: the two orders are the same text there (both are compared with the sign after).
_RTL_SIGN = regex.compile(r"([\p{Sc}%])([0-9][0-9.,]*)")

# Letters that OCR reads as a digit in bold or small type ("0ff" for "Off"). Only this way
# round: a digit of the copy read as a letter is a wrong number.
DIGIT_LOOKALIKES: dict[str, str] = {
    "0": "OoDQ",
    "1": "lIi|",
    "2": "Zz",
    "4": "A",
    "5": "Ss",
    "6": "Gb",
    "8": "B",
    "9": "gq",
}

_SIGN = r"[\p{Sc}%‰‱]"  # a currency sign (Unicode category Sc) or a percent or per-mille sign


def _number_pattern(letters: str) -> regex.Pattern[str]:
    """A number: digits, with `letters` beside them (a code: "SAVE20"), inner separators
    ("1,299.00", "31.05.2026", "24/7", "10:00"), a sign in front ("-20%") and a currency or
    percent sign on either side, perhaps after one space ("49 €", "$ 5")."""
    unit = f"[{letters}0-9]"
    return regex.compile(rf"(?:{_SIGN} ?)?[+-]?{unit}*[0-9]{unit}*(?:[.,:/'-]{unit}+)*(?: ?{_SIGN})?")


# Latin letters join a number only where words are separated by spaces: without spaces (Japanese,
# Chinese, Thai) a Latin word and a number side by side are two words.
_NUMBER = {True: _number_pattern(r"\p{Latin}"), False: _number_pattern("")}


def normalize_text(text: str) -> str:
    """NFKC, typographic quotes/dashes to ASCII, whitespace runs to one space.

    Case is kept: brand text in the wrong case is wrong text.
    """
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHIC)
    return " ".join(text.split())


def fold_diacritics(text: str) -> str:
    """The text without combining marks: "L'ÉTÉ EST LÀ" -> "L'ETE EST LA", "Crème" -> "Creme"."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def graphemes(text: str) -> list[str]:
    """The text's extended grapheme clusters (UAX #29) after NFC: what a reader counts as one
    character (a Devanagari conjunct's parts, a Thai consonant with its tone mark, é as one)."""
    return regex.findall(r"\X", unicodedata.normalize("NFC", text))


@dataclass(frozen=True)
class Folded:
    """A text in its comparable form, and where each of its characters came from."""

    text: str  # the comparable form
    source: str  # `normalize_text` of the text: what messages show
    origin: tuple[int, ...]  # for each character of `text`, its index in `source`

    def shown(self, start: int, end: int) -> str:
        """The part of `source` that `text[start:end]` came from."""
        if start >= end:
            return ""
        return self.source[self.origin[start] : self.origin[end - 1] + 1]


def folded(text: str, script: str | None = None) -> Folded:
    """The text as it is compared, in `script` (ISO 15924; None: Latin).

    Latin folds accents (see `text_similarity`), Arabic the hamza and madda on alef, right-to-left
    scripts the side of a number that its percent or currency sign is on (`_RTL_SIGN`). Every decimal digit
    is its ASCII digit: the renderer draws the copy's own digits, and a model may answer in either.
    Scripts written without spaces (Japanese, Chinese, Thai) drop whitespace: tesseract's models
    for them put spaces between characters, or leave out the spaces a Thai phrase has, and neither
    changes what a reader reads. Marks are never folded outside Latin: a dakuten, a virama or a
    Thai tone mark changes the word.
    """
    source = normalize_text(text)
    info = SCRIPTS.get(script or "Latn", SCRIPTS["Latn"])
    chars, origin = [], []
    for i, char in enumerate(source):
        if unicodedata.category(char) == "Nd":
            char = str(unicodedata.decimal(char))
        elif char.isspace() and not info.spaced:
            continue
        elif info.code == "Latn":
            char = fold_diacritics(char)
        elif info.code == "Arab":
            char = char.translate(_ARABIC_ALEF)
        chars.append(char)
        origin += [i] * len(char)
    out = "".join(chars)
    if info.direction == "rtl":
        out = _RTL_SIGN.sub(r"\2\1", out)  # moves the sign within the number: origins still hold
    return Folded(out, source, tuple(origin))


def comparable(text: str, script: str | None = None) -> list[str]:
    """The grapheme clusters OCR is compared over, for a text in `script` (`folded`)."""
    return graphemes(folded(text, script).text)


def text_similarity(expected: str, actual: str, script: str | None = None) -> float:
    """1 - normalised Levenshtein distance over the normalised texts' grapheme clusters
    (case-sensitive; in Latin, diacritics ignored).

    1.0 means identical (two empty texts included), 0.0 nothing in common.
    Accents are compared as their base letters: tesseract's English model reads
    É, È and À as E, E and A, and è as é, on any background, so an accented
    headline ("L'ÉTÉ EST LÀ") could never pass. The text is drawn from the
    brief's own characters (a font without one is rejected at layout), so a
    render cannot drop an accent that the check would then miss. Other scripts are
    compared mark for mark (`folded`).
    """
    return 1.0 - Levenshtein.normalized_distance(comparable(expected, script), comparable(actual, script))


# ---------------------------------------------------------------- strings that must read exactly


@dataclass(frozen=True)
class Exact:
    start: int  # in the copy's `Folded.text`
    end: int
    term: bool  # one of the brand's exact_terms (case-insensitive), else a number


def exact_strings(copy: Folded, script: str | None = None, terms: Sequence[str] = ()) -> list[Exact]:
    """The parts of the copy that must read back exactly: each of `terms` it contains (as whole
    words where the script separates words, in any case), and each number outside them."""
    spaced = SCRIPTS.get(script or "Latn", SCRIPTS["Latn"]).spaced
    found: list[Exact] = []
    for term in terms:
        words = folded(term, script).text.split()
        if not words:
            continue
        pattern = regex.escape(" ".join(words))
        if spaced:
            pattern = rf"(?<!\w){pattern}(?!\w)"
        found += [Exact(*m.span(), True) for m in regex.finditer(pattern, copy.text, regex.IGNORECASE)]
    for match in _NUMBER[spaced].finditer(copy.text):
        start, end = match.span()
        if not any(t.start <= start and end <= t.end for t in found):
            found.append(Exact(start, end, False))
    return sorted(set(found), key=lambda e: (e.start, e.end))


def _aligned(ops, start: int, end: int) -> tuple[int, int] | None:
    """The part of the reading that the copy's [start, end) was aligned with (None: none of it
    was read). Characters read inside the span count; those read just before or after it are
    the caller's to add (`_extend`)."""
    pieces = []
    for op in ops:
        if op.tag == "insert":
            if start < op.src_start < end:
                pieces.append((op.dest_start, op.dest_end))
            continue
        first, last = max(op.src_start, start), min(op.src_end, end)
        if first >= last or op.tag == "delete":
            continue
        if op.tag == "equal" or op.src_end - op.src_start == op.dest_end - op.dest_start:
            pieces.append((op.dest_start + first - op.src_start, op.dest_start + last - op.src_start))
        else:  # a replacement of another length: all of it
            pieces.append((op.dest_start, op.dest_end))
    return (min(a for a, _ in pieces), max(b for _, b in pieces)) if pieces else None


def _extend(text: str, span: tuple[int, int], term: bool, spaced: bool) -> tuple[int, int]:
    """The span grown to the whole word (a term) or the whole number (a number) it sits in, so a
    digit or letter read just beside it counts: "150%" for "50%" is not "50%"."""
    start, end = span
    if term:
        if spaced:
            while start > 0 and regex.match(r"\w", text[start - 1]):
                start -= 1
            while end < len(text) and regex.match(r"\w", text[end]):
                end += 1
        return start, end
    for match in _NUMBER[spaced].finditer(text):
        if match.start() < end and start < match.end():
            start, end = min(start, match.start()), max(end, match.end())
    return start, end


def _same(expected: str, read: str, term: bool) -> bool:
    """Exact, up to case for a term and up to the spaces between a number and its sign."""
    if term:
        return expected.casefold() == read.casefold()
    return "".join(expected.split()) == "".join(read.split())


@dataclass(frozen=True)
class Comparison:
    similarity: float
    misreads: list[tuple[str, str]]  # (string of the copy, what was read there) for each exact string read otherwise
    exact: list[str]  # the copy's strings that had to read exactly
    as_read: str  # the reading, with look-alike digits outside numbers taken as letters (normalize_text)

    @property
    def score(self) -> tuple[int, float]:
        """Orders readings of one box: fewer misread exact strings first, then similarity."""
        return (-len(self.misreads), self.similarity)


def compare_reading(expected: str, actual: str, script: str | None = None, terms: Sequence[str] = ()) -> Comparison:
    """Compare what was read in a box with its copy: the exact strings (`exact_strings`), and the
    similarity of the whole after look-alike digits outside them are taken as the copy's letters."""
    copy, read = folded(expected, script), folded(actual, script)
    spaced = SCRIPTS.get(script or "Latn", SCRIPTS["Latn"]).spaced
    exact = exact_strings(copy, script, terms)
    numbers = [e for e in exact if not e.term]
    ops = Levenshtein.opcodes(copy.text, read.text)

    # "0ff" for "Off": a digit read for a look-alike letter of the copy, outside its numbers
    text, shown = list(read.text), list(read.source)
    for op in ops:
        if op.tag != "replace" or op.src_end - op.src_start != op.dest_end - op.dest_start:
            continue
        for k in range(op.src_end - op.src_start):
            i, j = op.src_start + k, op.dest_start + k
            letter = copy.text[i]
            if letter in DIGIT_LOOKALIKES.get(text[j], "") and not any(n.start <= i < n.end for n in numbers):
                text[j] = letter
                shown[read.origin[j]] = letter
    deconfused = "".join(text)

    misreads = []
    for part in exact:
        span = _aligned(ops, part.start, part.end)
        span = _extend(deconfused, span, part.term, spaced) if span else (0, 0)
        if not _same(copy.text[part.start : part.end], deconfused[span[0] : span[1]], part.term):
            misreads.append((copy.shown(part.start, part.end), read.shown(*span)))
    similarity = 1.0 - Levenshtein.normalized_distance(graphemes(copy.text), graphemes(deconfused))
    return Comparison(similarity, misreads, [copy.shown(e.start, e.end) for e in exact], normalize_text("".join(shown)))
