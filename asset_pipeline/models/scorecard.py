"""What `asset-pipeline models` and `evaluate` print: each model's status, latency and cost.

Reads the registry and each model's evaluation history only: no torch, no model load, so the
listing answers at once (a model's weights hash is read once per process, cached on mtimes).
"""

from __future__ import annotations

from asset_pipeline.config import load_config
from asset_pipeline.home import Home
from asset_pipeline.models.cost import cost_per_image, price_text
from asset_pipeline.models.evaluation import current_device, evaluation_history, evaluation_version, home_suite
from asset_pipeline.models.registry import is_draft_model, load_registry


def model_status(spec, present: bool, latest: dict | None, version: str | None) -> str:
    """absent | upscaler | not evaluated | stale | qualified | not qualified (| not gated ...)."""
    if not present:
        return "absent"
    if not is_draft_model(spec):
        return "upscaler"
    if latest is None:
        return "not evaluated" + ("" if spec.gated else " (not gated)")
    if latest["data_version"] != version:
        return "stale" + ("" if spec.gated else " (not gated)")
    return ("qualified" if latest["qualified"] else "not qualified") + ("" if spec.gated else " (not gated)")


def model_rows(home: Home) -> list[dict]:
    """The registry's rows (Registry.rows) with each model's status and its latest evaluation's numbers."""
    registry = load_registry(home.root)
    rates = load_config(home).cost
    suite_hash, device = home_suite(home).hash, current_device()
    rows = []
    for row in registry.rows():
        spec = registry.get(row["id"])
        history = evaluation_history(home, spec.id) if is_draft_model(spec) else []
        latest = history[-1] if history else None
        version = None
        if row["present"] and latest is not None:
            version = evaluation_version(spec, registry.weights_hash(spec), device, suite_hash)
        price = cost_per_image(spec, latest, rates)
        row.update(
            status=model_status(spec, row["present"], latest, version),
            p95_s=latest["p95_s"] if latest else None,
            images_per_minute=latest["images_per_minute"] if latest else None,
            cost_per_image=None if price.amount is None else price_text(price.amount, price.currency),
            evaluated_at=latest["evaluated_at"].strftime("%Y-%m-%d %H:%M") if latest else None,
            reasons=list(latest["reasons"]) if latest else [],
        )
        rows.append(row)
    return rows


def evaluation_line(row: dict) -> str:
    """One line per evaluation: the verdict, the numbers, the contact sheet."""
    if row.get("refused") or "p95_s" not in row:
        return f"{row['model']}: not evaluated: {'; '.join(row['reasons'])}"
    verdict = "qualified" if row["qualified"] else "NOT qualified: " + "; ".join(row["reasons"])
    numbers = []
    if row["p95_s"] is not None:
        numbers.append(f"p50 {row['p50_s']:.2f} s, p95 {row['p95_s']:.2f} s, {row['images_per_minute']:.1f} images/min")
    for name, label in (("hallucination_rate", "hallucinated text"), ("blank_rate", "blank")):
        if row.get(name) is not None:
            numbers.append(f"{label} {row[name]:.0%}")
    if row.get("deterministic") is not None:
        numbers.append("deterministic" if row["deterministic"] else "NOT deterministic")
    sheet = f"; contact sheet {row['contact_sheet']}" if row.get("contact_sheet") else ""
    return f"{row['model']}: {verdict}" + (f" ({', '.join(numbers)})" if numbers else "") + sheet
