"""Legibility benchmark: does tesseract read back every text box the typography sets?

    python benchmarks/legibility.py [--seed 4242] [--cases 240] [--workers 2] [--no-drafts]
                                    [--out benchmarks/results/legibility.json]
    python benchmarks/legibility.py --locales all [--cases 60]   # --cases per locale

With --locales (a comma-separated list of BCP 47 tags, or `all`: en-US, de-DE, ar-SA, he-IL,
ja-JP, zh-CN, ko-KR, hi-IN, th-TH) every case is set in its locale (fonts by script, line
breaks by the script's rules, right-to-left templates mirrored) and read with tesseract's model
for the locale's script. Per script it reports the share of boxes at similarity >= 0.95 and the
share read exactly (both over NFC grapheme clusters, `checks.compare.comparable`), and, to compare
with the text-rendering literature, AnyText's sentence accuracy (the read line equals the
expected one) and NED (mean of 1 - edit distance / the longer length), over code points after
collapsing whitespace. Copy per locale: benchmarks/locale_corpus.py.

A seeded corpus of campaign texts (accents, digits, %, $, &, apostrophes, typographic
quotes and dashes, ligature-prone words, long and short headlines, all caps) is set over
busy and low-contrast backgrounds (colour and grey noise at draft and at final scale,
stripes, checkerboards, photo-like gradients with blobs and grain, flat mid-grey, and real
drafts of the built-in tiny diffusers model) at eight deliverable sizes, including
1080x1920 and 728x90, through the pipeline's own code in the pipeline's order:

    crop to aspect at draft scale -> layout_text -> choose_colours (on the draft crop)
    -> crop + Lanczos to final size -> render_layout -> checks.ocr (box_readings, read_boxes)

OCR goes through the checks' code: every box's crops (the whole box, and each line alone) are
prepared by `box_readings` and a batch of cases is read by one tesseract process per worker,
psm and model (`read_boxes`: the whole box first, the other readings where it is not exact), as
`run_checks_parallel` does.

Reported per text box:
  similarity >= 0.95   the checks' own `text_similarity` (NFKC, typographic quotes and
                       dashes as ASCII, whitespace collapsed, accents compared by base letter)
  exact                read == expected after normalising case and whitespace (and quotes,
                       dashes and accents as the checks do)
  exact, accents kept  the same without folding accents: tesseract's English model has no
                       reliable accented capitals, so this one is reported, not targeted

Targets: >= 99% and >= 97%. A case whose text does not fit its size is a layout rejection
(the pipeline rejects it with the numbers), counted apart and not as a box. Markdown on
stdout, JSON at --out with every box (and every miss with what was read).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # runnable as a plain script from anywhere
    sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from asset_pipeline.checks.compare import comparable, fold_diacritics, normalize_text, text_similarity  # noqa: E402
from asset_pipeline.checks.ocr import box_readings, read_boxes  # noqa: E402
from asset_pipeline.framing import crop_to_aspect  # noqa: E402
from asset_pipeline.locales import locale_info  # noqa: E402
from asset_pipeline.specs import Brand  # noqa: E402
from asset_pipeline.typography import LayoutError, choose_colours, layout_text, render_layout  # noqa: E402

DEFAULT_SEED = 4242
DEFAULT_OUT = HERE / "results" / "legibility.json"
SIZES = [(1080, 1080), (1200, 628), (1080, 1920), (728, 90), (300, 250), (160, 600), (970, 250), (468, 64)]
BANNERS = {(728, 90), (468, 64), (970, 250)}
BACKGROUNDS = ["colour-noise", "grey-noise", "fine-noise", "stripes", "checker", "photo", "flat-mid-grey", "draft"]
SIMILARITY_TARGET, EXACT_TARGET = 0.99, 0.97

# ------------------------------------------------------------------------------ the corpus

PLAIN = (
    "spring sale summer mugs coffee handmade ceramic plates bowls kitchen morning brew fresh new "
    "collection weekend offer deals today shop free shipping gift season limited edition home table "
    "cups tea garden autumn winter classic favourites studio light bright bold local market"
).split()
ACCENTED = (
    "Café Crème Brûlée Été Noël Déjà Señor Jalapeño Über Façade Naïve Rosé Fiancée Piñata "
    "Smörgåsbord São Müller Zoë Crêpes Entrée Soirée Protégé Garçon Mañana Köln"
).split()
NUMERIC = ["50%", "$19.99", "2 for 1", "24/7", "$5", "100%", "2026", "No. 1", "3 days", "$250", "10%", "1,000"]
AMPERSAND = ["&", "Tea & Cake", "Salt & Pepper", "Mix & Match", "R&D"]
APOSTROPHES = ["Don't", "It's", "We're", "Mum's", "Today’s", "Let’s", "Y'all", "Chef’s", "Isn't", "O'Neill"]
TYPOGRAPHIC = ["“Best mug ever”", "Mugs — and more", "Wait for it…", "‘Limited’ run", "9–5"]
LIGATURES = ["office", "fluffy", "waffle", "affordable", "first", "flat", "fifty", "offline", "shuffle"]
CTAS = [
    "Shop now",
    "Buy now",
    "Learn more",
    "Order today",
    "Get 50% off",
    "Book a table",
    "See more",
    "Sign up",
    "Try it free",
    "Claim $5",
    "Let’s go",
    "Shop the sale",
]
DISCLAIMERS = [
    "Offer ends May 31.",
    "Terms apply. While stocks last.",
    "Prices include VAT.",
    "Valid in stores & online until 30/06.",
    "Not valid with other offers.",
    "Min. spend $25. One per customer.",
    "Available while supplies last.",
]
FEATURES = ("accents", "digits", "symbols", "apostrophes", "typographic", "ligatures", "all_caps", "long")


# pool -> (weight, words, features a word from it brings)
POOLS = {
    "plain": (10, PLAIN, ()),
    "accents": (3, ACCENTED, ("accents",)),
    "numeric": (2, NUMERIC, ("digits",)),
    "amp": (1, AMPERSAND, ("symbols",)),
    "apos": (2, APOSTROPHES, ("apostrophes",)),
    "typo": (1, TYPOGRAPHIC, ("typographic",)),
    "liga": (2, LIGATURES, ("ligatures",)),
}


def _phrase(rng: random.Random, words: int) -> tuple[str, set[str]]:
    """A phrase of `words` picks from the pools (some picks are two words); which features it has."""
    parts, features = [], set()
    names = list(POOLS)
    for _ in range(words):
        _, pool, brings = POOLS[rng.choices(names, weights=[POOLS[n][0] for n in names])[0]]
        word = rng.choice(pool)
        parts.append(word)
        features.update(brings)
        if any(c in word for c in "%$&"):
            features.add("symbols")
    text = " ".join(parts)
    return text[0].upper() + text[1:], features


@dataclass
class Case:
    index: int
    width: int
    height: int
    background: str
    scale: str  # "draft": made at model resolution and upscaled; "final": at final size
    seed: int
    texts: dict[str, str]
    features: dict[str, list[str]] = field(default_factory=dict)  # role -> features
    locale: str | None = None


def make_corpus(seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        width, height = SIZES[index % len(SIZES)]
        banner = (width, height) in BANNERS
        background = BACKGROUNDS[(index // len(SIZES)) % len(BACKGROUNDS)]
        texts, features = {}, {}
        long_headline = not banner and rng.random() < 0.3
        headline, feats = _phrase(rng, rng.randint(7, 11) if long_headline else rng.randint(1, 3))
        if len(headline) > 120:
            headline = headline[:120].rsplit(" ", 1)[0]
        if long_headline:
            feats.add("long")
        if rng.random() < 0.3:
            headline = headline.upper()
            feats.add("all_caps")
        texts["headline"], features["headline"] = headline, sorted(feats)
        if rng.random() < (0.4 if banner else 0.8):
            body, feats = _phrase(rng, rng.randint(2, 4) if banner else rng.randint(3, 12))
            texts["body"], features["body"] = body, sorted(feats)
        if rng.random() < 0.75:
            cta = rng.choice(CTAS)
            texts["cta"] = cta.upper() if rng.random() < 0.2 else cta
            features["cta"] = sorted(
                {"all_caps"}
                if texts["cta"].isupper()
                else set()
                | ({"digits", "symbols"} if "$" in cta or "%" in cta else set())
                | ({"apostrophes"} if "’" in cta else set())
            )
        if rng.random() < (0.3 if banner else 0.6):
            texts["disclaimer"] = rng.choice(DISCLAIMERS)
            features["disclaimer"] = sorted({"digits"} if any(c.isdigit() for c in texts["disclaimer"]) else set())
        scale = "final" if background == "fine-noise" else rng.choice(["draft", "draft", "final"])
        cases.append(Case(index, width, height, background, scale, rng.randrange(2**31), texts, features))
    return cases


def make_locale_corpus(seed: int, count: int, locales: list[str]) -> list[Case]:
    """`count` cases per locale: en-US from the Latin corpus, the others from locale_corpus.COPY,
    at the same sizes and backgrounds."""
    from benchmarks.locale_corpus import COPY

    cases: list[Case] = []
    for number, tag in enumerate(locales):
        if tag == "en-US":
            latin = make_corpus(seed, count)
        else:
            latin = make_corpus(seed + number, count)  # sizes, backgrounds, seeds; texts replaced
        rng = random.Random(f"{seed}-{tag}")
        spaced = locale_info(tag).script.spaced
        for case in latin:
            case.index, case.locale = len(cases), tag
            if tag != "en-US":
                copy, banner = COPY[tag], (case.width, case.height) in BANNERS
                texts = {"headline": rng.choice(copy["headline"])}
                if rng.random() < (0.4 if banner else 0.8):
                    parts = rng.sample(copy["body"], 1 if banner or rng.random() < 0.6 else 2)
                    texts["body"] = ("" if not spaced else " ").join(parts)
                if rng.random() < 0.75:
                    texts["cta"] = rng.choice(copy["cta"])
                if rng.random() < (0.3 if banner else 0.6):
                    texts["disclaimer"] = rng.choice(copy["disclaimer"])
                features = {
                    role: sorted({"digits"} if any(c.isdigit() for c in text) else set())
                    for role, text in texts.items()
                }
                case.texts, case.features = texts, features
            cases.append(case)
    return cases


# ------------------------------------------------------------------------------ backgrounds


def _source_size(case: Case) -> tuple[int, int]:
    """Draft-scale backgrounds are ~256..512 px on the long side, like a model's output."""
    if case.scale == "final":
        return case.width, case.height
    side = 384
    ratio = min(max(case.width / case.height, 0.25), 4.0)  # models clamp their aspect; the crop does the rest
    return (side, max(64, round(side / ratio))) if ratio >= 1 else (max(64, round(side * ratio)), side)


def make_background(case: Case, drafts: list[Image.Image]) -> Image.Image:
    rng = np.random.default_rng(case.seed)
    w, h = _source_size(case)
    kind = case.background
    if kind in ("colour-noise", "fine-noise"):
        return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    if kind == "grey-noise":
        grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
        return Image.fromarray(np.stack([grey] * 3, axis=-1))
    if kind == "stripes":
        angle, period = rng.uniform(0, math.pi), rng.uniform(3, 40)
        y, x = np.mgrid[0:h, 0:w]
        phase = (x * math.cos(angle) + y * math.sin(angle)) / period
        mask = (np.sin(2 * math.pi * phase) > 0)[..., None]
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        return Image.fromarray(np.where(mask, a, b).astype(np.uint8))
    if kind == "checker":
        cell = int(rng.integers(2, 24))
        y, x = np.mgrid[0:h, 0:w]
        mask = (((x // cell) + (y // cell)) % 2 == 0)[..., None]
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        return Image.fromarray(np.where(mask, a, b).astype(np.uint8))
    if kind == "photo":
        # photo-like: a smooth two-colour gradient, soft coloured blobs, a little grain
        y, x = np.mgrid[0:h, 0:w] / max(w, h)
        angle = rng.uniform(0, 2 * math.pi)
        t = x * math.cos(angle) + y * math.sin(angle)
        t = (t - t.min()) / max(1e-6, np.ptp(t))
        image = (1 - t)[..., None] * rng.uniform(0, 255, 3) + t[..., None] * rng.uniform(0, 255, 3)
        for _ in range(int(rng.integers(3, 9))):
            cx, cy, r = rng.uniform(0, w / max(w, h)), rng.uniform(0, h / max(w, h)), rng.uniform(0.05, 0.35)
            weight = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
            image = image * (1 - weight) + weight * rng.uniform(0, 255, 3)
        image += rng.normal(0, rng.uniform(2, 10), image.shape)
        return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    if kind == "flat-mid-grey":
        # where neither white nor near-black text reaches 4.5:1, with a little grain
        level = rng.integers(105, 135)
        image = np.full((h, w, 3), level, dtype=np.float64) + rng.normal(0, 3, (h, w, 3))
        return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    if kind == "draft":
        if drafts:
            return drafts[case.seed % len(drafts)]
        return make_background(Case(case.index, case.width, case.height, "photo", case.scale, case.seed, {}), [])
    raise ValueError(kind)


def tiny_drafts(count: int, cache: Path) -> list[Image.Image]:
    """Real drafts of the built-in tiny diffusers model, at its native 256 px."""
    from asset_pipeline.models.generation import DraftGenerator
    from asset_pipeline.models.registry import TINY_ID, load_registry
    from asset_pipeline.models.tiny import ensure_tiny_model

    home = cache / "legibility-home"
    ensure_tiny_model(home / "models" / "tiny")
    registry = load_registry(home)
    spec = registry.get(TINY_ID)
    prompts = [
        "ceramic mug on a wooden table, studio light",
        "row of mugs, soft daylight",
        "summer garden party",
        "coffee beans close up",
    ]
    return DraftGenerator(registry).generate(
        spec,
        [prompts[i % len(prompts)] for i in range(count)],
        [None] * count,
        list(range(1000, 1000 + count)),
        spec.resolution,
        spec.resolution,
    )


# ------------------------------------------------------------------------------ one case


def treatment(box, layout=None) -> str:
    """plate (the CTA's), the scrim of the box's block (one per block) with its alpha, or bare."""
    if box.plate:
        return "plate"
    panel = next((p for p in getattr(layout, "panels", []) if box.role in p.roles), None)
    scrim = panel.colour if panel is not None and panel.kind == "scrim" else box.scrim
    if scrim:
        alpha = int(scrim[7:9], 16) / 255
        return "panel 1.00" if alpha == 1 else f"scrim {alpha:.2f}"
    return "bare"


def set_case(case: Case, brand: Brand, drafts: list[Image.Image]):
    """(layout, (each box's readings,)) or (None, reason) when the text does not fit."""
    source = make_background(case, drafts)
    draft_crop = crop_to_aspect(source, case.width, case.height, max_side=max(source.size))
    try:
        layout = layout_text(case.width, case.height, case.texts, brand, REPO, locale=case.locale)
    except LayoutError as exc:
        return None, str(exc)
    layout = choose_colours(layout, draft_crop, brand)
    final = render_layout(crop_to_aspect(source, case.width, case.height), layout)
    return layout, ([box_readings(final, box) for box in layout.boxes],)


def fold(text: str) -> str:
    return normalize_text(text).casefold()


def run_chunk(cases: list[Case], brand: Brand, drafts: list[Image.Image]) -> tuple[list[dict], list[dict]]:
    """Set every case of a chunk, then OCR all their boxes with one tesseract process per psm and model."""
    laid, rejected = [], []
    for case in cases:
        layout, extra = set_case(case, brand, drafts)
        if layout is None:
            rejected.append(
                {"case": case.index, "size": f"{case.width}x{case.height}", "reason": extra, "texts": case.texts}
            )
        else:
            laid.append((case, layout, *extra))
    every_box = [box for _, layout, _ in laid for box in layout.boxes]
    texts = iter(read_boxes(every_box, [r for _, _, rs in laid for r in rs]))
    boxes = []
    for case, layout, _ in laid:
        for box in layout.boxes:
            read = next(texts)
            similarity = text_similarity(box.text, read, box.script)
            expected_line, read_line = " ".join(box.text.split()), " ".join(read.split())
            boxes.append(
                {
                    "case": case.index,
                    "locale": case.locale or "",
                    "script": box.script or "Latn",
                    "font": Path(box.font).name,
                    "font_source": box.font_source or "brand",
                    "size": f"{case.width}x{case.height}",
                    "family": layout.family,
                    "background": case.background,
                    "scale": case.scale,
                    "role": box.role,
                    "font_px": box.font_px,
                    "lines": len(box.lines),
                    "treatment": treatment(box, layout),
                    "contrast": round(box.contrast or 0, 2),
                    "expected": box.text,
                    "read": read,
                    "similarity": round(similarity, 4),
                    "exact": (
                        fold(fold_diacritics(box.text)) == fold(fold_diacritics(read))
                        if box.script in (None, "Latn")
                        else comparable(box.text, box.script) == comparable(read, box.script)
                    ),
                    "exact_accents_kept": fold(box.text) == fold(read),
                    # AnyText's figures: over code points, whitespace collapsed, nothing else folded
                    "sentence_exact": expected_line == read_line,
                    "ned": 1
                    - Levenshtein.distance(expected_line, read_line) / max(1, len(expected_line), len(read_line)),
                    "features": case.features.get(box.role, []),
                }
            )
    return boxes, rejected


# ------------------------------------------------------------------------------ report


def _shares(rows: list[dict]) -> dict:
    n = len(rows)
    return {
        "boxes": n,
        "similarity_ge_0.95": sum(r["similarity"] >= 0.95 for r in rows) / n if n else None,
        "exact": sum(r["exact"] for r in rows) / n if n else None,
        "exact_accents_kept": sum(r["exact_accents_kept"] for r in rows) / n if n else None,
        "anytext_sentence_accuracy": sum(r["sentence_exact"] for r in rows) / n if n else None,
        "anytext_ned": sum(r["ned"] for r in rows) / n if n else None,
        "similarity_min": min((r["similarity"] for r in rows), default=None),
    }


def summarise(boxes: list[dict]) -> dict:
    groups: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in boxes:
        groups["size"][row["size"]].append(row)
        groups["background"][row["background"]].append(row)
        groups["role"][row["role"]].append(row)
        groups["treatment"][row["treatment"].split()[0]].append(row)
        groups["script"][row["script"]].append(row)
        if row["locale"]:
            groups["locale"][row["locale"]].append(row)
            groups["script size"][f"{row['script']} {row['size']}"].append(row)
            groups["script role"][f"{row['script']} {row['role']}"].append(row)
        for feature in row["features"]:
            groups["feature"][feature].append(row)
    return {
        "all": _shares(boxes),
        **{name: {key: _shares(rows) for key, rows in sorted(group.items())} for name, group in groups.items()},
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def markdown(summary: dict, meta: dict, misses: list[dict], rejected: list[dict]) -> str:
    out = [
        f"Legibility: seed {meta['seed']}, {meta['cases']} cases, {summary['all']['boxes']} text boxes, "
        f"{len(rejected)} cases rejected as not fitting, {meta['seconds']:.0f} s on {meta['cpus']} CPUs",
        "",
    ]
    out += ["| group | value | boxes | similarity >= 0.95 | exact | exact, accents kept |", "|---|---|---|---|---|---|"]
    a = summary["all"]
    out.append(
        f"| **all** | | {a['boxes']} | **{_pct(a['similarity_ge_0.95'])}** | **{_pct(a['exact'])}** "
        f"| {_pct(a['exact_accents_kept'])} |"
    )
    for group in ("size", "background", "role", "treatment", "feature"):
        for key, s in summary.get(group, {}).items():
            out.append(
                f"| {group} | {key} | {s['boxes']} | {_pct(s['similarity_ge_0.95'])} | {_pct(s['exact'])} "
                f"| {_pct(s['exact_accents_kept'])} |"
            )
    if meta.get("locales"):
        out += script_table(summary)
    target = _targets_met(summary, bool(meta.get("locales")))
    out += [
        "",
        f"Targets: similarity >= 0.95 for >= {SIMILARITY_TARGET:.0%}, exact for >= {EXACT_TARGET:.0%}: "
        f"{'met' if target else 'MISSED'}",
    ]
    if misses:
        out += [
            "",
            "Boxes not read exactly:",
            "",
            "| case | size | background | role | px | treatment | expected | read | similarity |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for m in misses:
            out.append(
                f"| {m['case']} | {m['size']} | {m['background']}/{m['scale']} | {m['role']} | {m['font_px']} "
                f"| {m['treatment']} | {m['expected']!r} | {m['read']!r} | {m['similarity']:.3f} |"
            )
    if rejected:
        out += ["", "Cases rejected at layout (text does not fit; the pipeline rejects these with the numbers):", ""]
        out += [f"- case {r['case']} {r['size']}: {r['reason']}" for r in rejected]
    return "\n".join(out)


SCRIPT_TARGET = 0.98  # boxes at similarity >= 0.95, every script but Latin (which keeps SIMILARITY_TARGET)


def script_table(summary: dict) -> list[str]:
    out = [
        "",
        "Per script (similarity and exact over NFC grapheme clusters; AnyText's sentence accuracy and NED "
        "over code points):",
        "",
        "| script | boxes | similarity >= 0.95 | exact | AnyText Sen.Acc | AnyText NED | lowest similarity | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for script, s in summary["script"].items():
        target = SIMILARITY_TARGET if script == "Latn" else SCRIPT_TARGET
        met = (s["similarity_ge_0.95"] or 0) >= target
        out.append(
            f"| {script} | {s['boxes']} | {_pct(s['similarity_ge_0.95'])} | {_pct(s['exact'])} "
            f"| {_pct(s['anytext_sentence_accuracy'])} | {s['anytext_ned']:.4f} | {s['similarity_min']:.3f} "
            f"| {target:.0%} {'met' if met else 'MISSED'} |"
        )
    out += [
        "",
        "| group | value | boxes | similarity >= 0.95 | exact | Sen.Acc | NED |",
        "|---|---|---|---|---|---|---|",
    ]
    for group in ("locale", "script size", "script role"):
        for key, s in summary.get(group, {}).items():
            out.append(
                f"| {group} | {key} | {s['boxes']} | {_pct(s['similarity_ge_0.95'])} | {_pct(s['exact'])} "
                f"| {_pct(s['anytext_sentence_accuracy'])} | {s['anytext_ned']:.4f} |"
            )
    return out


def _targets_met(summary: dict, by_script: bool) -> bool:
    if by_script:
        return all(
            (s["similarity_ge_0.95"] or 0) >= (SIMILARITY_TARGET if script == "Latn" else SCRIPT_TARGET)
            for script, s in summary["script"].items()
        )
    a = summary["all"]
    return (a["similarity_ge_0.95"] or 0) >= SIMILARITY_TARGET and (a["exact"] or 0) >= EXACT_TARGET


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--cases", type=int, default=240)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--drafts", type=int, default=8, help="tiny-model drafts to use as backgrounds (0: none)")
    parser.add_argument("--no-drafts", action="store_true", help="same as --drafts 0")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--locales", help="comma-separated BCP 47 tags, or 'all' (cases per locale: --cases)")
    args = parser.parse_args(argv)
    locales = None
    if args.locales:
        from benchmarks.locale_corpus import LOCALES

        locales = list(LOCALES) if args.locales == "all" else args.locales.split(",")
        if args.out == DEFAULT_OUT:
            args.out = HERE / "results" / "legibility-locales.json"

    started = time.perf_counter()
    brand = Brand(brand="benchmark")  # the sample brand's rules: DejaVu, white / #1A1A1A, 4.5:1, 14 px
    drafts = [] if args.no_drafts or args.drafts <= 0 else tiny_drafts(args.drafts, args.cache)
    cases = make_locale_corpus(args.seed, args.cases, locales) if locales else make_corpus(args.seed, args.cases)
    chunks = [cases[i :: max(1, args.workers * 4)] for i in range(max(1, args.workers * 4))]
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        results = list(pool.map(lambda chunk: run_chunk(chunk, brand, drafts), chunks))
    boxes = sorted((b for bs, _ in results for b in bs), key=lambda b: (b["case"], b["role"]))
    rejected = sorted((r for _, rs in results for r in rs), key=lambda r: r["case"])
    misses = [b for b in boxes if not b["exact"]]
    summary = summarise(boxes)
    meta = {
        "seed": args.seed,
        "cases": len(cases),
        "locales": locales,
        "drafts": len(drafts),
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "seconds": time.perf_counter() - started,
    }
    print(markdown(summary, meta, misses, rejected))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=args.out.parent, delete=False, suffix=".tmp", encoding="utf-8") as tmp:
        json.dump(
            {"meta": meta, "summary": summary, "rejected": rejected, "misses": misses, "boxes": boxes},
            tmp,
            indent=1,
            ensure_ascii=False,
        )
    os.replace(tmp.name, args.out)
    return 0 if _targets_met(summary, bool(locales)) else 1


if __name__ == "__main__":
    sys.exit(main())
