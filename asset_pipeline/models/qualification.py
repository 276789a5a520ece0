"""Qualification: whether a model's evaluation lets it draw production drafts.

Two rules, each an asset check on `model_evaluations` (orchestration/evaluations.py):

- thresholds: the project defaults below, overridden per model (`qualification:` on its
  models.yaml entry) and, for the models a route rule chooses among, per route (the rule's own
  `max_*` fields, models/routing.py);
- regression: the model against its own previous evaluation. p95 more than REGRESSION_P95
  slower, or a hallucination rate more than REGRESSION_HALLUCINATION higher, fails: a new set
  of weights must not be worse than the one it replaces, even within the thresholds.

A model that did not load is never qualified. Everything here is plain functions over
evaluation rows (storage/records.EvaluationRow as dicts): no torch, no Dagster.
"""

from __future__ import annotations

from pydantic import Field

from asset_pipeline.specs import _Strict

REGRESSION_P95 = 0.25  # p95 more than 25% slower than the previous evaluation fails
REGRESSION_HALLUCINATION = 0.05  # a hallucination rate more than 5 points higher fails

Rate = float  # a share, 0..1


class Thresholds(_Strict):
    """Limits on an evaluation's measures; None: no limit on that measure."""

    max_p95_s: float | None = Field(default=None, gt=0.0)
    min_images_per_minute: float | None = Field(default=None, gt=0.0)
    max_hallucination_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    max_blank_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    max_palette_delta_e: float | None = Field(default=None, gt=0.0)
    max_extension_defect_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    max_typography_error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    require_deterministic: bool | None = None
    # The regression rule's limits against the previous evaluation: p95 up by this share, hallucinated
    # text up by this many points (a share). A model whose latency is noisy on its machine may loosen them.
    max_p95_increase: float | None = Field(default=None, ge=0.0)
    max_hallucination_increase: float | None = Field(default=None, ge=0.0, le=1.0)

    def over(self, other: Thresholds | None) -> Thresholds:
        """These limits with `other`'s given ones in their place."""
        if other is None:
            return self
        return self.model_copy(update=other.model_dump(exclude_none=True))


# The project's defaults. The suite has text-bait prompts (a shop sign, a newspaper) in about one
# prompt in four, so a model that letters every one of them, and nothing else, still passes at 0.30;
# one that letters every draft (1.0) does not. Latency has no default: what is fast enough depends
# on the route (`realtime: {max_p95_s: 2}`), and the regression rule catches a model that slows.
DEFAULT_THRESHOLDS = Thresholds(
    max_hallucination_rate=0.30,
    max_blank_rate=0.10,
    max_palette_delta_e=30.0,
    max_extension_defect_rate=0.5,
    max_typography_error_rate=0.25,
    require_deterministic=True,
    max_p95_increase=REGRESSION_P95,
    max_hallucination_increase=REGRESSION_HALLUCINATION,
)

# measure -> (threshold field, "max" or "min", how to show it)
_LIMITS = {
    "p95_s": ("max_p95_s", "max", "p95 {:.2f} s"),
    "images_per_minute": ("min_images_per_minute", "min", "{:.1f} images/min"),
    "hallucination_rate": ("max_hallucination_rate", "max", "hallucinated text in {:.0%} of drafts"),
    "blank_rate": ("max_blank_rate", "max", "blank or black {:.0%} of drafts"),
    "palette_delta_e": ("max_palette_delta_e", "max", "palette ΔE {:.1f}"),
    "extension_defect_rate": ("max_extension_defect_rate", "max", "{:.0%} of extensions defective"),
    "typography_error_rate": ("max_typography_error_rate", "max", "text misread in {:.0%} of renders"),
}


def _shown(value: float, field: str) -> str:
    return f"{value:.0%}" if field.endswith("rate") else f"{value:g}"


def threshold_failures(row: dict, thresholds: Thresholds) -> list[str]:
    """One line per measure of `row` outside `thresholds` (a measure not taken is not judged)."""
    if not row.get("loaded"):
        return [f"did not load: {row.get('load_error') or 'unknown error'}"]
    found = []
    for measure, (field, kind, text) in _LIMITS.items():
        limit, value = getattr(thresholds, field), row.get(measure)
        if limit is None or value is None:
            continue
        if (kind == "max" and value > limit) or (kind == "min" and value < limit):
            bound = "above" if kind == "max" else "below"
            found.append(f"{text.format(value)}, {bound} the {kind} {_shown(limit, field)}")
    if thresholds.require_deterministic and row.get("deterministic") is False:
        found.append("not deterministic: a repeat with the same seed gave other bytes")
    if row.get("p95_s") is None:
        found.append("no image was generated")
    return found


def regressions(row: dict, previous: dict | None, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[str]:
    """How `row` is worse than the model's previous evaluation (one that loaded), one line each."""
    if previous is None or not previous.get("loaded") or not row.get("loaded"):
        return []
    found = []
    slower, more = thresholds.max_p95_increase, thresholds.max_hallucination_increase
    before, now = previous.get("p95_s"), row.get("p95_s")
    if slower is not None and before and now is not None and now > before * (1 + slower):
        found.append(
            f"p95 {now:.2f} s is {now / before - 1:.0%} slower than the previous evaluation's {before:.2f} s "
            f"(at most {slower:.0%})"
        )
    before, now = previous.get("hallucination_rate"), row.get("hallucination_rate")
    if more is not None and before is not None and now is not None and now > before + more + 1e-9:
        found.append(
            f"hallucinated text in {now:.0%} of drafts, {100 * (now - before):.0f} points more than the previous "
            f"evaluation's {before:.0%} (at most {100 * more:.0f})"
        )
    return found


def qualify(row: dict, previous: dict | None, thresholds: Thresholds) -> dict:
    """`row` with its verdict filled in: threshold_failures, regressions, reasons, qualified."""
    failures, worse = threshold_failures(row, thresholds), regressions(row, previous, thresholds)
    reasons = [*failures, *(f"regression: {r}" for r in worse)]
    return {**row, "threshold_failures": failures, "regressions": worse, "reasons": reasons, "qualified": not reasons}


def thresholds_for(spec, route: Thresholds | None = None) -> Thresholds:
    """The project defaults, then the model's own (`qualification:` in models.yaml), then the route's."""
    return DEFAULT_THRESHOLDS.over(getattr(spec, "qualification", None)).over(route)
