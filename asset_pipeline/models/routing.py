"""Measured routing: a route may be a rule that picks among qualified models by their latest evaluation.

```yaml
routes:
  realtime: {select: fastest, max_p95_s: 2.0, models: [sdxl-turbo, sd-turbo, embedded]}
  final: {select: cheapest, max_hallucination_rate: 0.02, models: [flux-schnell, sd35-medium]}
```

`select`: `first` (the listed order, as a plain list route), `fastest` (lowest p95), `cheapest`
(lowest cost per image, models/cost.py; an unknown cost ranks last) or `best` (fewest defects:
hallucinated text, blank drafts and misread text together, then p95). The rule's `max_*` and
`min_*` fields are that route's thresholds (models/qualification.py): a qualified model outside
them is skipped for this route only. Ties keep the listed order. The models left, in rank order,
are the route: the first draws, the rest are its fallbacks, as in a list route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import Field

from asset_pipeline.models.qualification import Thresholds, threshold_failures
from asset_pipeline.specs import Identifier

Select = Literal["first", "fastest", "cheapest", "best"]


class RouteRule(Thresholds):
    select: Select = "first"
    models: list[Identifier] = Field(min_length=1)

    def limits(self) -> Thresholds:
        return Thresholds(**self.model_dump(include=set(Thresholds.model_fields)))

    def describe(self) -> str:
        limits = ", ".join(
            f"{k} {v:g}" for k, v in self.limits().model_dump(exclude_none=True).items() if k != "require_deterministic"
        )
        return f"{self.select}" + (f" within {limits}" if limits else "")


@dataclass
class Route:
    """The models to try for a job, in order, what was left out and why, and why this order."""

    models: list  # ModelSpec, in the order they are tried
    skipped: list[str] = field(default_factory=list)  # "model: why", for the drafts rows' fallbacks
    reason: str = ""


def _defects(evaluation: dict) -> float:
    return sum(evaluation.get(k) or 0.0 for k in ("hallucination_rate", "blank_rate", "typography_error_rate"))


def rank(
    rule: RouteRule,
    measured: list[tuple[object, dict | None]],
    price: Callable[[object, dict | None], float | None],
    tier: str = "route",
) -> Route:
    """The rule applied to `measured` ((spec, its latest evaluation) of each qualified model, in
    the rule's order): the ones within the rule's limits, best first by its `select`."""
    limits, skipped, eligible = rule.limits(), [], []
    for spec, evaluation in measured:
        if evaluation is None:
            if rule.select != "first" or limits.model_dump(exclude_none=True):
                skipped.append(f"{spec.id}: no evaluation to choose by")
                continue
            eligible.append((spec, {}))
            continue
        outside = threshold_failures(evaluation, limits)
        if outside:
            skipped.append(f"{spec.id}: outside the {tier} rule: {'; '.join(outside)}")
        else:
            eligible.append((spec, evaluation))
    inf = float("inf")
    keys = {
        "first": lambda item: 0,
        "fastest": lambda item: item[1].get("p95_s") or inf,
        "cheapest": lambda item: (inf if price(*item) is None else price(*item), item[1].get("p95_s") or inf),
        "best": lambda item: (_defects(item[1]), item[1].get("p95_s") or inf),
    }
    ordered = sorted(eligible, key=keys[rule.select])  # stable: ties keep the listed order
    if not ordered:
        return Route([], skipped, f"{tier} rule {rule.describe()}: no model qualifies")
    shown = "; ".join(_measures(spec, ev, price) for spec, ev in ordered)
    reason = f"{tier} rule {rule.describe()}: {ordered[0][0].id} ({shown})"
    return Route([spec for spec, _ in ordered], skipped, reason)


def _measures(spec, evaluation: dict, price) -> str:
    parts = [spec.id]
    if evaluation.get("p95_s") is not None:
        parts.append(f"p95 {evaluation['p95_s']:.2f} s")
    cost = price(spec, evaluation)
    if cost is not None:
        parts.append(f"{cost:.4f}/image")
    return " ".join(parts)


class Gate(Protocol):
    """What routing and the drafts stage ask of a qualification gate (asset_pipeline/gate.py's
    ModelGate, which evaluates stale models and so sits above the stages it serves)."""

    def verdict(self, spec: Any) -> Any: ...

    def price(self, spec: Any, evaluation: dict | None) -> Any: ...


def route_for(registry, tier: str, explicit: str | None = None, gate: Gate | None = None) -> Route:
    """The models a job of `tier` tries, in order (`explicit`: the one its brief names).

    A list route keeps its order; the drafts stage passes over a model that has no weights or
    that `gate` (gate.py) does not qualify. A rule route is ranked here, over its qualified
    models' latest evaluations: every one of its models is judged (and evaluated if stale) first."""
    if explicit is not None:
        return Route(registry.candidates(tier, explicit), [], f"model {explicit} named by the brief")
    specs = registry.candidates(tier)
    rule = registry.rule(tier)
    if rule is None:
        ids = ", ".join(spec.id for spec in specs)
        return Route(specs, [], f"{tier} route [{ids}]: the first that may draw")
    measured, skipped = [], []
    for spec in specs:
        if not registry.weights_present(spec):
            skipped.append(f"{spec.id}: weights not present")
            continue
        verdict = gate.verdict(spec) if gate is not None else None
        if verdict is not None and not verdict.qualified:
            skipped.append(f"{spec.id}: {verdict.reason}")
            continue
        measured.append((spec, verdict.evaluation if verdict is not None else None))
    ranked = rank(rule, measured, gate.price if gate is not None else (lambda spec, evaluation: None), tier)
    return Route(ranked.models, skipped + ranked.skipped, ranked.reason)
