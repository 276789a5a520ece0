"""The hosted models' list prices (prices.json, shipped with the package), and the one question
the cost rows and budgets ask of them: what does one image of this entry, at this size and
quality, cost?
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

CURRENCY = "USD"  # every figure in prices.json


@dataclass(frozen=True)
class Price:
    provider: str
    model: str
    quality: str | None
    size: str  # "WxH", or "*" for every size
    per_image: float
    source: str  # the page read
    official: str  # the provider's pricing page the figure is from
    read: str  # the day it was read (ISO date)


@functools.cache
def price_table() -> tuple[Price, ...]:
    data = json.loads(resources.files(__package__).joinpath("prices.json").read_text())
    out = []
    for row in data["prices"]:
        origin = data["sources"][f"{row['provider']}/{row['model']}"]
        out.append(Price(**row, source=origin["source"], official=origin["official"], read=data["read"]))
    return tuple(out)


def list_price(provider: str, model: str, size: str, quality: str | None) -> Price | None:
    """The table's row for one image, an exact size before "*"; None when the table has none."""
    rows = [p for p in price_table() if (p.provider, p.model, p.quality) == (provider, model, quality)]
    return next((p for p in rows if p.size == size), None) or next((p for p in rows if p.size == "*"), None)


def price_per_image(entry: Any, size: str | tuple[int, int], quality: str | None = None) -> tuple[float, str] | None:
    """(amount, currency) of one image of a registry entry at `size` ("WxH" or (w, h)): the
    entry's own `cost.per_image` when models.yaml sets one, else the shipped table's figure for
    its provider, model (`path`) and quality; None when neither knows (or a local model)."""
    cost = getattr(entry, "cost", None)
    if cost is not None and getattr(cost, "per_image", None) is not None:
        return float(cost.per_image), str(getattr(cost, "currency", None) or CURRENCY)
    provider = getattr(entry, "provider", None)
    if provider is None:
        return None
    if not isinstance(size, str):
        size = f"{size[0]}x{size[1]}"
    found = list_price(provider, entry.path, size, quality if quality is not None else entry_quality(entry))
    return (found.per_image, CURRENCY) if found else None


def entry_quality(entry: Any) -> str | None:
    """The quality an entry asks for: its own, else its model's default (None: no such choice)."""
    from asset_pipeline.models.hosted.catalog import OFFERS

    if getattr(entry, "quality", None):
        return entry.quality
    offer = OFFERS.get((entry.provider, entry.path))
    return offer.qualities[0] if offer and offer.qualities else None
