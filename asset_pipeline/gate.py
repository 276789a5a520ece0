"""The gate every draft model passes before it draws production drafts.

`ModelGate(home, registry).verdict(spec)` answers whether `spec` may draw: from its latest
evaluation when that evaluation is of its current data version (models/evaluation.py), else
after evaluating it now (and recording the evaluation). Batch runs (the drafts stage, so `run`,
the automation and the UI alike), pre-flight and the HTTP API's real-time path all ask this one
gate, so no path lets an unevaluated model draw.

A model that is not `gated` (the built-in tiny) always may. An evaluation of a priced model
costs money: its own cost is reckoned first and refused past the home's `evaluation_budget`,
and a model whose evaluation was refused may not draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from asset_pipeline.config import load_config
from asset_pipeline.home import Home
from asset_pipeline.measure import evaluate_model
from asset_pipeline.models.cost import cost_per_image, price_text
from asset_pipeline.models.evaluation import (
    Suite,
    current_device,
    evaluation_history,
    evaluation_version,
    home_suite,
    store_evaluation,
)
from asset_pipeline.models.registry import ModelSpec, Registry, is_draft_model
from asset_pipeline.storage.files import file_lock


@dataclass(frozen=True)
class Verdict:
    model: str
    qualified: bool
    reason: str  # why it may not draw ("" when it may)
    evaluation: dict | None  # its current evaluation, if it has one


class ModelGate:
    """Qualification verdicts for one home's registry, evaluating stale models when `evaluate`.

    `on_evaluated(row)` is told of each evaluation made here (the drafts stage reports it to the
    Dagster instance). Verdicts are kept for the gate's life: one per model per run."""

    def __init__(
        self,
        home: Home,
        registry: Registry,
        evaluate: bool = True,
        generator=None,
        on_evaluated: Callable[[dict], None] | None = None,
        suite: Suite | None = None,
    ):
        config = load_config(home)
        self.home, self.registry, self.evaluate, self.generator = home, registry, evaluate, generator
        self.on_evaluated = on_evaluated
        self.rates, self.evaluation_budget = config.cost, config.evaluation_budget
        self._suite = suite
        self._verdicts: dict[str, Verdict] = {}

    @property
    def suite(self) -> Suite:
        if self._suite is None:
            self._suite = home_suite(self.home)
        return self._suite

    def version(self, spec: ModelSpec) -> str:
        """The data version an evaluation of `spec` would have now."""
        return evaluation_version(spec, self.registry.weights_hash(spec), current_device(), self.suite.hash)

    def current(self, spec: ModelSpec) -> dict | None:
        """Its latest evaluation, when that is of its current data version (None without weights)."""
        if not self.registry.weights_present(spec):
            return None
        history = evaluation_history(self.home, spec.id)
        return history[-1] if history and history[-1]["data_version"] == self.version(spec) else None

    def stale(self, spec: ModelSpec) -> bool:
        return self.registry.weights_present(spec) and self.current(spec) is None

    def verdict(self, spec: ModelSpec) -> Verdict:
        if spec.id not in self._verdicts:
            self._verdicts[spec.id] = self._verdict(spec)
        return self._verdicts[spec.id]

    __call__ = verdict

    def _verdict(self, spec: ModelSpec) -> Verdict:
        if not spec.gated or not is_draft_model(spec):
            return Verdict(spec.id, True, "", self._latest(spec))
        if not self.registry.weights_present(spec):
            return Verdict(spec.id, False, "weights not present", None)
        evaluation = self.current(spec)
        if evaluation is None:
            if not self.evaluate:
                return Verdict(
                    spec.id, False, f"not evaluated since it changed (asset-pipeline evaluate {spec.id})", None
                )
            refused = self.evaluation_refused(spec)
            if refused:
                return Verdict(spec.id, False, refused, None)
            evaluation = self.run_evaluation(spec)
        reason = "" if evaluation["qualified"] else "not qualified: " + "; ".join(evaluation["reasons"])
        return Verdict(spec.id, evaluation["qualified"], reason, evaluation)

    def _latest(self, spec: ModelSpec) -> dict | None:
        history = evaluation_history(self.home, spec.id)
        return history[-1] if history else None

    def run_evaluation(self, spec: ModelSpec, force: bool = False) -> dict:
        """Evaluate `spec` now and record it, unless another process just did (a lock per model;
        `force`: even so). A model without weights gets a row that says so."""
        with file_lock(self.home.locks / f"evaluate-{spec.id}.lock"):
            evaluation = None if force else self.current(spec)
            if evaluation is not None:
                return evaluation
            history = evaluation_history(self.home, spec.id)
            previous = next((row for row in reversed(history) if row["loaded"]), None)
            row = evaluate_model(self.home, self.registry, spec, self.suite, self.generator, previous, self.rates)
            store_evaluation(self.home, row)
        self._verdicts.pop(spec.id, None)
        if self.on_evaluated is not None:
            self.on_evaluated(row)
        return row

    def evaluation_images(self, spec: ModelSpec | None = None) -> int:
        """Images one evaluation generates: a warm-up, each prompt, the repeats and the extensions
        (no repeats for a model that is not reproducible, no extensions for a hosted one)."""
        suite = self.suite
        repeats = max(0, min(suite.repeat, len(suite.prompts)) - 1) if spec is None or spec.reproducible else 0
        extensions = 0 if spec is not None and spec.provider is not None else suite.extend
        return 1 + len(suite.prompts) + repeats + extensions

    def evaluation_refused(self, spec: ModelSpec) -> str | None:
        """Why evaluating a priced model would cost more than the home's evaluation_budget (None: it may)."""
        if (spec.cost is None and spec.provider is None) or self.evaluation_budget is None:
            return None
        images = self.evaluation_images(spec)
        price = cost_per_image(spec, self._latest(spec), self.rates)
        if price.amount is None:
            return (
                f"evaluation refused: its cost is unknown ({spec.id} is priced per GPU hour and has no evaluation "
                f"to time it), evaluation_budget {price_text(self.evaluation_budget, price.currency)}"
            )
        total = images * price.amount
        if total <= self.evaluation_budget + 1e-12:
            return None
        return (
            f"evaluation refused: needs {images} images x {price_text(price.amount, price.currency)} = "
            f"{price_text(total, price.currency)}, evaluation_budget {price_text(self.evaluation_budget, price.currency)}"
        )

    def price(self, spec: ModelSpec, evaluation: dict | None = None) -> float | None:
        """What one more draft from `spec` costs (None: unknown)."""
        return cost_per_image(spec, evaluation or self._latest(spec), self.rates).amount


def stale_models(gate: ModelGate, model_ids: list[str] | None = None) -> list[ModelSpec]:
    """The draft models with local weights whose evaluation is missing or stale (of `model_ids`, or all)."""
    specs = [gate.registry.get(m) for m in model_ids] if model_ids else list(gate.registry.models.values())
    return [spec for spec in specs if is_draft_model(spec) and gate.stale(spec)]
