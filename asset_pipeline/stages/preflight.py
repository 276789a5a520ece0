"""Pre-flight: lay out every deliverable before any model runs, and say everything that is wrong.

The same layout code as the typography pass (fonts, glyph coverage, fit at min_font_px, the
logo at logo_min_px), plus the banned terms, with no draft: the layout needs only the
deliverable's size, its texts and the brand. `asset-pipeline validate` prints every problem
of every deliverable; the drafts stage generates no draft for a deliverable that has one.

And the budget: the drafts a run plans (cache hits are free), each at its model's cost per image
(models/cost.py), against the brief's `budget` (else the brand's). A run over it is refused before
anything is generated or written: `budget: needs 48 drafts x 0.004 USD = 0.192 USD, budget 0.10 USD`.
`per_month` counts what the campaign's runs spent this calendar month (the `spending` ledger).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from asset_pipeline.checks.suite import check_banned_terms
from asset_pipeline.home import Home
from asset_pipeline.locales import locale_info, scripts_of
from asset_pipeline.models.cost import Price, money
from asset_pipeline.presets import free_area
from asset_pipeline.specs import Brand, Brief, InputError, Problem, RunBudget, content_hash
from asset_pipeline.stages.briefs import brand_media, product_files
from asset_pipeline.storage.cache import ResultCache
from asset_pipeline.storage.objects import ObjectStore, sha256_bytes
from asset_pipeline.storage.records import deliverable_key
from asset_pipeline.storage.tables import read_rows
from asset_pipeline.typography.boxes import Layout, LayoutError, ProductBox
from asset_pipeline.typography.fonts import FontError
from asset_pipeline.typography.layout import layout_text
from asset_pipeline.typography.logo import LogoError, LogoSource, read_logo
from asset_pipeline.typography.product import (
    CUTOUT_METHOD,
    INPAINT,
    ProductError,
    ProductSource,
    place_product,
    read_product,
)

TEXT_ROLES = ("headline", "body", "cta", "disclaimer")


# ------------------------------------------------------------------ budgets


def run_budget(brief: Brief, brand: Brand) -> RunBudget | None:
    """The campaign's budget: each limit the brief sets, else the brand's."""
    if brief.budget is None and brand.budget is None:
        return None
    mine, theirs = brief.budget, brand.budget
    per_run = mine.per_run if mine and mine.per_run is not None else (theirs.per_run if theirs else None)
    per_month = mine.per_month if mine and mine.per_month is not None else (theirs.per_month if theirs else None)
    return RunBudget(per_run=per_run, per_month=per_month)


def budget_problem(
    budget: RunBudget | None,
    planned: dict[str, int],
    prices: dict[str, Price],
    spent_this_month: float = 0.0,
) -> str | None:
    """Why the planned drafts (model id -> count, each at its price per image) are over `budget`,
    with the numbers; None when they fit (or there is no budget)."""
    if budget is None or not any(planned.values()):
        return None
    unknown = sorted(m for m, n in planned.items() if n and prices[m].amount is None)
    if unknown:
        return (
            f"budget: the cost of a draft from {', '.join(unknown)} is unknown (no price in models.yaml, no rate "
            f"for its device in config.yaml, or no evaluation to time it yet: asset-pipeline evaluate {unknown[0]})"
        )
    currency = next(prices[m].currency for m, n in planned.items() if n)
    parts = [f"{n} drafts x {money(prices[m].amount)} {prices[m].currency}" for m, n in sorted(planned.items()) if n]
    total = sum(n * prices[m].amount for m, n in planned.items() if n)
    needs = f"needs {' + '.join(parts)} = {money(total)} {currency}"
    if budget.per_run is not None and total > budget.per_run + 1e-12:
        return f"budget: {needs}, budget {money(budget.per_run)} {currency}"
    if budget.per_month is not None and spent_this_month + total > budget.per_month + 1e-12:
        return (
            f"budget: {needs}, {money(spent_this_month)} {currency} spent this month already, "
            f"per_month budget {money(budget.per_month)} {currency}"
        )
    return None


def check_budget(
    home: Home, campaign: str, brief: Brief, brand: Brand, deliverables: list[dict], registry, gate
) -> str | None:
    """Pre-flight's budget check of one campaign run: its planned drafts (cache hits free) at their
    models' cost per image, against the brief's (or the brand's) budget. No model is loaded."""
    from asset_pipeline.models.cost import cost_per_image
    from asset_pipeline.stages.drafts import drafts_to_make

    budget = run_budget(brief, brand)
    if budget is None:
        return None
    planned = drafts_to_make(deliverables, registry, home, gate)
    prices = {m: cost_per_image(registry.get(m), gate.verdict(registry.get(m)).evaluation, gate.rates) for m in planned}
    return budget_problem(budget, planned, prices, month_spend(home, campaign))


def month_spend(home: Home, campaign: str, now: datetime | None = None) -> float:
    """What the campaign's runs spent on drafts this calendar month (UTC), from its spending ledger."""
    now = now or datetime.now(UTC)
    return sum(
        row["cost"] or 0.0
        for row in read_rows(home, "spending", campaign)
        if (row["run_at"].year, row["run_at"].month) == (now.year, now.month)
    )


def brand_logos(home: Home, brand: Brand, label: str, expected: dict[str, str] | None = None) -> list[LogoSource]:
    """The brand's logo, then its logo_small, read from media/ and checked; InputError otherwise.

    `expected` maps "media/<path>" to the sha256 the run's snapshot recorded: a file edited
    since then is refused rather than mixed into this run.
    """
    logos, problems = [], []
    for field, relative, path in brand_media(home, brand, label):
        data = path.read_bytes()
        sha = sha256_bytes(data)
        want = (expected or {}).get(f"media/{relative}")
        if want is not None and want != sha:
            problems.append(Problem(label, field, f"media/{relative} changed since the run's snapshot; run again"))
            continue
        try:
            logos.append(read_logo(field, relative, data, sha))
        except LogoError as exc:
            problems.append(Problem(label, field, f"media/{relative} {exc}"))
    if problems:
        raise InputError(problems)
    return logos


def _cached_product(home: Home, relative: str, data: bytes, sha: str) -> ProductSource:
    """read_product, with the cut-out kept in the object store and its numbers in the cache by
    the file's sha256: each product file is cut out once, whichever stage or run asks first."""
    cache, store = ResultCache(home, "products"), ObjectStore(home)
    key = content_hash({"source": sha, "method": CUTOUT_METHOD})
    hit = cache.get(key)
    try:
        return ProductSource(path=relative, sha256=sha, cutout=store.read_bytes(hit["cutout_sha256"]), **hit)
    except (TypeError, KeyError, ValueError, OSError):  # no entry, an old or damaged one: cut it out again
        pass
    source = read_product(relative, data, sha)
    store.put_bytes(source.cutout)
    fields = ("method", "mask_sha256", "cutout_sha256", "width", "height", "detail")
    cache.put(key, {name: getattr(source, name) for name in fields})
    return source


def asset_products(
    home: Home, brief: Brief, label: str, expected: dict[str, str] | None = None
) -> dict[str, ProductSource]:
    """asset id -> its product shot, read from media/, checked and cut out; InputError with one
    problem (brief, field, media path, why) per file that cannot be used.

    `expected` maps "media/<path>" to the sha256 the run's snapshot recorded, as for logos."""
    files, problems = product_files(home, brief, label)
    found, read = {}, {}
    for asset_id, field, relative, path in files:
        if relative not in read:
            try:
                data = path.read_bytes()
                sha = sha256_bytes(data)
                want = (expected or {}).get(f"media/{relative}")
                if want is not None and want != sha:
                    raise ProductError("changed since the run's snapshot; run again")
                read[relative] = _cached_product(home, relative, data, sha)
            except OSError as exc:
                read[relative] = f"cannot be read: {exc.strerror or exc}"
            except ProductError as exc:
                read[relative] = str(exc)
        if isinstance(read[relative], str):
            problems.append(Problem(label, field, f"media/{relative} {read[relative]}"))
        else:
            found[asset_id] = read[relative]
    if problems:
        raise InputError(problems)
    return found


def deliverable_texts(row: dict) -> dict[str, str]:
    return {role: row[role] for role in TEXT_ROLES if row.get(role)}


# Han is part of Japanese and Korean writing: a headline of kanji alone is Japanese text.
_SCRIPT_ALSO = {"Jpan": {"Hans"}, "Kore": {"Hans"}}


def script_problems(texts: dict[str, str], locale: str | None) -> list[str]:
    """A text with no letter in its locale's script (the brand's English disclaimer in an Arabic
    deliverable): it would be set and read as the locale's script, so it is refused up front."""
    if locale is None:
        return []
    script = locale_info(locale).script.code
    problems = []
    for role, text in texts.items():
        found = set(scripts_of(text))
        if found and not found & {script, *_SCRIPT_ALSO.get(script, ())}:
            where = "the brand's disclaimer" if role == "disclaimer" else role
            problems.append(
                f"{role}: {where} {text!r} is not written in {locale}'s script ({script}); "
                f"give locales.{locale}.{role} in the brief"
            )
    return problems


def deliverable_layout(
    row: dict, texts: dict[str, str], brand: Brand, brand_dir: Path, logos: list[LogoSource], product=None
) -> Layout:
    """The deliverable's layout at its final size, its product placed: what pre-flight, the drafts
    stage's product placements and typesetting all lay out. LayoutError or FontError when it cannot be."""
    layout = layout_text(
        row["width"],
        row["height"],
        texts,
        brand,
        brand_dir,
        logos,
        free_area(row),  # inside the preset channel's safe zones
        locale=row.get("locale"),
        max_text_cover=row.get("max_text_cover"),
    )
    return place_product(layout, product)


def deliverable_problems(
    row: dict, brand: Brand, brand_dir: Path, logos: list[LogoSource], product: ProductSource | None = None
) -> list[str]:
    """Everything that stops one deliverable, one line each; empty when it can be laid out
    (with its product shot, when it has one, at MIN_PRODUCT_PX or more)."""
    texts = deliverable_texts(row)
    problems = []
    locale = row.get("locale")
    problems += script_problems(texts, locale)
    banned = check_banned_terms(list(texts.values()), brand.banned_terms_for(locale), list(texts))
    if not banned.passed:
        problems += banned.detail.split("; ")
    try:
        deliverable_layout(row, texts, brand, brand_dir, logos, product)
    except LayoutError as exc:
        problems += exc.problems
    except FontError as exc:
        problems.append(str(exc))
    return problems


def preflight(
    deliverables: list[dict],
    brand: Brand,
    brand_dir: Path,
    logos: list[LogoSource],
    products: dict[str, ProductSource] | None = None,
) -> dict[tuple[str, int, str, str | None], list[str]]:
    """(asset, variant, size, locale) -> its problems, for the deliverables that have any.

    Variants share their texts, so each (asset, size, locale) is laid out once.
    """
    seen: dict[tuple[str, str, str | None], list[str]] = {}
    found = {}
    for row in deliverables:
        key = (row["asset"], row["size"], row.get("locale"))
        if key not in seen:
            seen[key] = deliverable_problems(row, brand, brand_dir, logos, (products or {}).get(row["asset"]))
        if seen[key]:
            found[deliverable_key(row)] = seen[key]
    return found


def product_placements(
    deliverables: list[dict],
    brand: Brand,
    brand_dir: Path,
    logos: list[LogoSource],
    products: dict[str, ProductSource] | None = None,
) -> dict[tuple[str, str], ProductBox]:
    """(asset, size) -> where the product stands in that size, for the assets that integrate it
    (product_integration: inpaint): the drafts stage repaints the scene around that box.

    Drafts are shared by a size's locales, so the box is the first locale's; a locale whose
    layout puts the product elsewhere (a mirrored right-to-left layout) is cut from the draft
    without the integration (stages/typeset.py). Sizes that cannot be laid out have none."""
    found: dict[tuple[str, str], ProductBox] = {}
    for row in deliverables:
        product = (products or {}).get(row["asset"])
        key = (row["asset"], row["size"])
        if product is None or row.get("product_integration") != INPAINT or key in found:
            continue
        try:
            found[key] = deliverable_layout(row, deliverable_texts(row), brand, brand_dir, logos, product).product
        except (LayoutError, FontError):  # pre-flight reports it; such a size gets no draft at all
            continue
    return found


def preflight_problems(
    label: str, deliverables: list[dict], brand: Brand, brand_dir: Path, logos, products=None
) -> list[Problem]:
    """One Problem per problem per (asset, size, locale): `briefs/x.yaml: asset hero, 160x600: headline needs ...`
    (`asset hero, 160x600, ja-JP: ...` with locales)."""
    out, shown = [], set()
    for (asset, _variant, size, locale), problems in preflight(deliverables, brand, brand_dir, logos, products).items():
        where = f"asset {asset}, {size}" + (f", {locale}" if locale else "")
        for problem in problems:
            if (where, problem) not in shown:
                shown.add((where, problem))
                out.append(Problem(label, where, problem))
    return out


class BudgetError(Exception):
    """A run whose planned drafts cost more than its budget: refused before anything is generated."""


def record_spending(home: Home, campaign: str, drafts: list[dict], now: datetime | None = None) -> None:
    """Add this run's spend on the campaign's drafts (by model) to its ledger; nothing when nothing was generated."""
    from asset_pipeline.storage.tables import write_rows

    made: dict[str, dict] = {}
    for row in drafts:
        if not row.get("images"):
            continue
        entry = made.setdefault(row["model"], {"drafts": 0, "seconds": 0.0, "cost": 0.0, "currency": row["currency"]})
        entry["drafts"] += row["images"]
        entry["seconds"] += row["seconds"]
        entry["cost"] = None if entry["cost"] is None or row["cost"] is None else entry["cost"] + row["cost"]
    if made:
        at = now or datetime.now(UTC)
        new = [{"campaign": campaign, "run_at": at, "model": model, **entry} for model, entry in sorted(made.items())]
        write_rows(home, "spending", campaign, read_rows(home, "spending", campaign) + new)
