"""Hallucinated text: words a model painted into the picture that nobody asked for.

Diffusion models like to add signage, fake logos and gibberish captions. Two
places are checked: the draft (before any typesetting, so every confident word
is unwanted), and the final image outside the layout's text boxes (the boxes
are painted over with their surroundings' median colour first, so the brand's
own text is never read).

Tesseract reads the whole (downscaled) image in sparse-text mode and reports a
confidence per word. Only words that look like real words count, so that the
colour noise of the random `tiny` model, on which tesseract finds a few short
blobs of "text" at low confidence, never rejects a draft. The thresholds:

- MIN_CONFIDENCE 85: tesseract's LSTM gives clearly painted words 94-97, while
  on the tiny model's noise no fragment of three or more letters went above 70
  (72 drafts: 12 seeds x 6 sizes from 64 to 256 px, each read at 1x and 2x);
  85 sits between, with room on both sides.
- MIN_LETTERS 3: one- and two-letter "words" ("a", "Il", "=") are what
  tesseract makes of edges and texture; real hallucinated signage ("SALE",
  "OPEN", "COFFEE") is longer.
- MIN_LETTER_SHARE 0.75: at least three quarters of the characters are
  letters, so runs of punctuation and digits from texture ("|/-1", "1111")
  are not words.
"""

from __future__ import annotations

import tempfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from asset_pipeline.checks import tesseract
from asset_pipeline.checks.result import CheckResult
from asset_pipeline.checks.tesseract import ENGLISH, OCRError
from asset_pipeline.locales import SCRIPTS, locale_info
from asset_pipeline.typography.boxes import Layout

MIN_CONFIDENCE = 85.0
MIN_LETTERS = 3
MIN_LETTER_SHARE = 0.75
# The longer side, in px, at which images are read. Tesseract's page segmentation
# finds a word at one scale and misses it at another (a clear 28 px "OPEN DAILY"
# sign over the tiny model's noise: missed at 256 px, found at 512), so a draft
# is read twice, at its own size and at double, capped at DRAFT_MAX_SIDE. A
# final image is read once, at FINAL_MAX_SIDE: outside the boxes its pixels are
# the draft's, upscaled, so reading it at about twice a draft's size loses
# nothing, while a full-size read of a busy 1080 px page was both slower (1-2 s)
# and worse (tesseract's layout analysis gave up on it).
DRAFT_MAX_SIDE = 1024
FINAL_MAX_SIDE = 512
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float
    box: tuple[int, int, int, int]  # (left, top, right, bottom) in the checked image's pixels

    def where(self) -> str:
        left, top, right, bottom = self.box
        return f"{self.text!r} ({self.confidence:.0f}%) at ({left}, {top})-({right}, {bottom})"


def _is_letter(char: str) -> bool:
    # a mark counts with its letter: Devanagari vowel signs and viramas, Thai vowels above and below
    return char.isalpha() or unicodedata.category(char).startswith("M")


def is_confident_word(text: str, confidence: float) -> bool:
    """Whether one OCR word is confident and word-like enough to count as painted text."""
    letters = sum(map(_is_letter, text))
    return confidence >= MIN_CONFIDENCE and letters >= MIN_LETTERS and letters / max(1, len(text)) >= MIN_LETTER_SHARE


def read_words(image: Image.Image, side: int | None = None, lang: str = ENGLISH) -> list[Word]:
    """Every word tesseract finds anywhere in the image, with its confidence and box.

    The image is read scaled to a longer side of `side` px (default: as it is), with the
    tesseract model `lang`; boxes are in the given image's pixels (the scaling is undone).
    """
    return read_words_of_pages([image], side, lang)[0]


def read_words_of_pages(images: list[Image.Image], side: int | None = None, lang: str = ENGLISH) -> list[list[Word]]:
    """`read_words` of each image, all in one tesseract process: its start-up (loading the
    model, about 0.14 s) was half the cost of reading a draft. Tesseract reads each page of a
    listed input on its own, so the words are the same as one process per image."""
    if not images:
        return []
    scales = [side / max(image.size) if side else 1.0 for image in images]
    with tempfile.TemporaryDirectory(prefix="words-") as tmp:
        paths = []
        for index, (image, scale) in enumerate(zip(images, scales)):
            page = image.convert("L")
            if abs(scale - 1.0) > 0.01:
                size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
                page = page.resize(size, Image.Resampling.LANCZOS)
            path = Path(tmp) / f"{index:04d}.png"
            page.save(path, compress_level=1)
            paths.append(str(path))
        listing = Path(tmp) / "pages.txt"  # a text file as the input is a list of images, one per line
        listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
        what = "the whole image" if len(images) == 1 else f"{len(images)} whole images"
        # psm 11: sparse text, find as much text as possible in no particular order.
        out = tesseract.run(str(listing), lang, 11, TIMEOUT_S * len(images), "tsv", what=what)
    words: list[list[Word]] = [[] for _ in images]
    lines: list[list[tuple]] = [[] for _ in images]
    for line in out.splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) != 12 or fields[0] != "5" or not fields[11].strip():  # level 5 = word
            continue
        page = int(fields[1]) - 1  # page_num counts from 1 over the listed images
        if not 0 <= page < len(images):
            raise OCRError(f"tesseract returned page {page + 1} for {len(images)} images")
        left, top, width, height = (int(v) for v in fields[6:10])
        box = tuple(round(v / scales[page]) for v in (left, top, left + width, top + height))
        words[page].append(Word(fields[11].strip(), float(fields[10]), box))
        lines[page].append(tuple(fields[2:5]))  # block, paragraph, line
    if lang in UNSPACED_MODELS:
        return [_runs(page_words, page_lines) for page_words, page_lines in zip(words, lines)]
    return words


# Models of scripts written without spaces: tesseract's sparse mode gives each character as a
# "word", so confident neighbours on one line are joined into runs before they are judged.
UNSPACED_MODELS = {s.tesseract for s in SCRIPTS.values() if not s.spaced}


def _runs(words: list[Word], lines: list[tuple]) -> list[Word]:
    """Adjacent words of one line joined while each is at MIN_CONFIDENCE or more; the run's
    confidence is its least confident character's."""
    runs: list[Word] = []
    previous = None
    for word, line in zip(words, lines):
        if runs and line == previous and word.confidence >= MIN_CONFIDENCE and runs[-1].confidence >= MIN_CONFIDENCE:
            last = runs[-1]
            box = (min(last.box[0], word.box[0]), min(last.box[1], word.box[1]))
            box += (max(last.box[2], word.box[2]), max(last.box[3], word.box[3]))
            runs[-1] = Word(last.text + word.text, min(last.confidence, word.confidence), box)
        else:
            runs.append(word)
        previous = line
    return runs


def languages_for(locales: list[str | None]) -> tuple[str, ...]:
    """English, then the tesseract model of each locale's script (each once): what a campaign's
    images are read with for hallucinated text."""
    models = [ENGLISH] + [locale_info(tag).script.tesseract for tag in locales if tag]
    return tuple(dict.fromkeys(m for m in models if m != SCRIPTS["Latn"].tesseract or m == ENGLISH))


def mask_text_boxes(image: Image.Image, layout: Layout) -> Image.Image:
    """A copy with each layout box (and a margin for plates and scrims) painted flat.

    The fill is the median colour of the image, so no edge is left for
    tesseract to read as a letter.
    """
    masked = image.convert("RGB")
    fill = tuple(int(v) for v in np.median(np.asarray(masked).reshape(-1, 3), axis=0))
    draw = ImageDraw.Draw(masked)
    scale = image.height / layout.height
    for box in layout.boxes:
        left, top, right, bottom = box.pixel_box(image.width, image.height)
        grow = round(box.font_px * scale / 2) + 2  # plates and scrims reach past the glyphs' box
        draw.rectangle((left - grow, top - grow, right + grow, bottom + grow), fill=fill)
    if layout.product is not None:  # the product's own label is the brand's, not the model's invention
        left, top, right, bottom = layout.product.pixel_box(image.width, image.height)
        draw.rectangle((left, top, right, bottom), fill=fill)
    return masked


def check_hallucinated_text(
    image: Image.Image, layout: Layout | None = None, languages: tuple[str, ...] = (ENGLISH,)
) -> CheckResult:
    """Fails when the image shows confident words of its own; value = how many.

    Without `layout` the image is a draft and any confident word fails it; with
    one, the layout's boxes are left out. The detail quotes each word with its
    confidence and position. `languages` are the tesseract models it is read with, one
    pass each: English, and for a campaign in other scripts their models too
    (`languages_for`), since a model reads only its own script's letters.
    """
    return check_hallucinated_texts([(image, layout, languages)])[0]


def check_hallucinated_texts(
    items: list[tuple[Image.Image, Layout | None, tuple[str, ...]]],
) -> list[CheckResult]:
    """`check_hallucinated_text` of each (image, layout, languages), with one tesseract process
    per (model, scale) for all of them."""
    pages = []  # (where, page, sides) per item
    for image, layout, _ in items:
        if layout is None:
            sides = sorted({min(max(image.size), DRAFT_MAX_SIDE), min(2 * max(image.size), DRAFT_MAX_SIDE)})
            pages.append(("draft", image, sides))
        else:
            pages.append(("image outside the text boxes", mask_text_boxes(image, layout), [FINAL_MAX_SIDE]))
    read: dict[tuple[int, str, int], list[Word]] = {}  # (item, model, side) -> words
    failed: dict[int, OCRError] = {}
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)  # (model, side) -> the items read so
    for i, ((_, _, languages), (_, _, sides)) in enumerate(zip(items, pages)):
        for lang in languages:
            for side in sides:
                groups[(lang, side)].append(i)
    for (lang, side), wanted in sorted(groups.items()):
        try:
            for i, found in zip(wanted, read_words_of_pages([pages[i][1] for i in wanted], side, lang)):
                read[(i, lang, side)] = found
        except OCRError as exc:
            for i in wanted:
                failed.setdefault(i, exc)
    return [
        CheckResult("hallucinated_text", False, None, f"could not OCR the {where}: {failed[i]}")
        if i in failed
        else _judge_words([w for lang in languages for side in sides for w in read[(i, lang, side)]], where)
        for i, ((_, _, languages), (where, _, sides)) in enumerate(zip(items, pages))
    ]


def _judge_words(words: list[Word], where: str) -> CheckResult:
    found, seen = [], set()
    for word in words:  # the same word read at two scales counts once
        if is_confident_word(word.text, word.confidence) and word.text not in seen:
            seen.add(word.text)
            found.append(word)
    if found:
        quoted = ", ".join(w.where() for w in found[:10]) + (" ..." if len(found) > 10 else "")
        return CheckResult(
            "hallucinated_text", False, float(len(found)), f"{len(found)} word(s) painted into the {where}: {quoted}"
        )
    return CheckResult(
        "hallucinated_text",
        True,
        0.0,
        f"no confident words in the {where} ({len(words)} OCR fragments below the thresholds)",
    )
