"""What a draft costs: a model's own price, else its measured seconds at the home's rate for its device.

A registry entry may state a price (`cost: {per_image: 0.004, currency: USD}` for a hosted model
billed per image, or `{per_gpu_hour: 2.5}` for a machine rented by the hour). A model without one
is costed at the home's default rate for the device it ran on (`config.yaml`:
`cost: {cpu_per_hour, cuda_per_hour, currency}`). With neither, its cost is unknown: None, never 0,
so a total over it is unknown too rather than quietly too low.

Pre-flight needs a price per image before anything is generated: a per-image price is one; an
hourly one is taken over the seconds per image of the model's latest evaluation (its images per
minute), and is unknown until the model has been evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import model_validator

from asset_pipeline.config import CostRates, Currency
from asset_pipeline.specs import Money, _Strict

SECONDS_PER_HOUR = 3600.0


class ModelCost(_Strict):
    """A registry entry's own price: per image, or per GPU hour."""

    per_image: Money | None = None
    per_gpu_hour: Money | None = None
    currency: Currency = "USD"

    @model_validator(mode="after")
    def _one_price(self) -> ModelCost:
        if (self.per_image is None) == (self.per_gpu_hour is None):
            raise ValueError("give exactly one of per_image and per_gpu_hour")
        return self


@dataclass(frozen=True)
class Price:
    amount: float | None  # None: unknown
    currency: str


def per_image_price(spec, size: tuple[int, int] | None = None) -> Price | None:
    """A price per image: the entry's own `cost.per_image`, else a hosted model's list price at
    `size` (models/hosted/prices.json; default: its square size); None for a model priced by time."""
    own: ModelCost | None = spec.cost
    if own is not None and own.per_image is not None:
        return Price(own.per_image, own.currency)
    if getattr(spec, "provider", None) is not None:
        from asset_pipeline.models.hosted import price_per_image
        from asset_pipeline.models.hosted.catalog import nearest_size

        found = price_per_image(spec, size or nearest_size(spec.provider, spec.path, 1, 1))
        return Price(*found) if found else Price(None, "USD")
    return None


def draft_cost(
    spec, seconds: float, images: int, device: str | None, rates: CostRates, size: tuple[int, int] | None = None
) -> Price:
    """The cost of `images` images (at `size`) that took `seconds` of generation on `device` with `spec`."""
    each = per_image_price(spec, size)
    if each is not None:
        return Price(None if each.amount is None else each.amount * images, each.currency)
    own: ModelCost | None = spec.cost
    if own is not None:
        return Price(seconds * own.per_gpu_hour / SECONDS_PER_HOUR, own.currency)
    rate = rates.per_hour(device)
    return Price(None if rate is None else seconds * rate / SECONDS_PER_HOUR, rates.currency)


def cost_per_image(spec, evaluation: dict | None, rates: CostRates) -> Price:
    """What one more draft from `spec` will cost: its per-image price, else its measured seconds per
    image (the evaluation's images per minute) at its hourly price or the device's rate."""
    each = per_image_price(spec)
    if each is not None:
        return each
    own: ModelCost | None = spec.cost
    speed = (evaluation or {}).get("images_per_minute")
    if not speed:
        return Price(None, own.currency if own else rates.currency)
    return draft_cost(spec, 60.0 / speed, 1, (evaluation or {}).get("device"), rates)


def money(amount: float) -> str:
    """0.004 -> '0.004', 0.1 -> '0.10', 0.192 -> '0.192': as many decimals as it has (two at least, four at most)."""
    text = f"{amount:.4f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def price_text(amount: float | None, currency: str | None) -> str:
    """'0.004 USD', or 'unknown'."""
    return "unknown" if amount is None else f"{money(amount)} {currency or ''}".rstrip()


def deliverable_costs(deliverables: list[dict], drafts: list[dict], served: dict) -> dict[tuple, Price]:
    """deliverable key -> its share of what the drafts it used cost to make (drafts rows' `made_cost`).

    A deliverable uses the draft it is cut from and every draft that one was made from (an extension's
    key visual); each draft's cost is shared equally among the deliverables that use it, so a key
    visual's cost is shared among its sizes (and locales) and the shares add up to the drafts' cost.
    `served`: deliverable key -> its drafts row. Unknown anywhere in the chain: unknown (None)."""
    by_key = {d["draft_key"]: d for d in drafts if d.get("draft_key")}

    def chain(draft: dict) -> list[dict]:
        found = [draft]
        while found[-1].get("extends") and found[-1]["extends"] in by_key and len(found) < 8:
            found.append(by_key[found[-1]["extends"]])
        return found

    def identity(draft: dict):  # a row written before drafts had keys is itself
        return draft.get("draft_key") or id(draft)

    used = {key: chain(served[key]) for key in served}
    users: dict = {}
    for drafts_used in used.values():
        for draft in drafts_used:
            users[identity(draft)] = users.get(identity(draft), 0) + 1
    costs = {}
    for key, drafts_used in used.items():
        shares = [None if d.get("made_cost") is None else d["made_cost"] / users[identity(d)] for d in drafts_used]
        currency = next((d.get("currency") for d in drafts_used if d.get("currency")), None)
        costs[key] = Price(None if None in shares else round(sum(shares), 8), currency)
    return costs
