"""Model evaluations, qualification, measured routing, cost and budgets (issue 31).

Plain functions first (milliseconds); then the `model_evaluations` asset and the gate on tiny-sized
models with a two-prompt suite (support/evaluations.py); the CLI end to end is in
test_evaluations_cli.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image

from asset_pipeline.config import CostRates
from asset_pipeline.gate import ModelGate, stale_models
from asset_pipeline.home import Home
from asset_pipeline.measure import evaluate_model
from asset_pipeline.models.cost import ModelCost, cost_per_image, deliverable_costs, draft_cost, money
from asset_pipeline.models.evaluation import (
    evaluation_history,
    evaluation_version,
    load_suite,
    store_evaluation,
)
from asset_pipeline.models.qualification import DEFAULT_THRESHOLDS, Thresholds, qualify, regressions
from asset_pipeline.models.registry import load_registry
from asset_pipeline.models.routing import RouteRule, rank, route_for
from asset_pipeline.orchestration.evaluations import judge_evaluation
from asset_pipeline.specs import Brand, Brief, InputError, RunBudget
from asset_pipeline.stages.preflight import budget_problem, run_budget
from asset_pipeline.storage.catalog import query
from asset_pipeline_tests.support import evaluations as ev
from asset_pipeline_tests.support import text_models

# ------------------------------------------------------------------ the suite and the data version


def test_the_shipped_suite_has_every_kind_fixed_seeds_and_palettes():
    suite = load_suite()
    kinds = [p.kind for p in suite.prompts]
    assert len(suite.prompts) >= 24
    assert {"product", "scene", "texture", "text_bait"} == set(kinds) and kinds.count("text_bait") >= 6
    assert 2 <= len(suite.palettes) <= 3 and len({p.seed for p in suite.prompts}) == len(suite.prompts)
    assert {p.kind for p in suite.first(4).prompts} == set(kinds)  # interleaved: any first N covers the kinds
    assert suite.first(4).hash != suite.hash


def test_a_broken_suite_file_is_one_line_per_problem(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text("prompts:\n  - {id: a, kind: portrait, seed: 1, prompt: x, palette: nope}\n")
    with pytest.raises(InputError) as caught:
        load_suite(path)
    assert "prompts[0]" in str(caught.value) and "kind" in str(caught.value)


def test_the_data_version_follows_everything_that_decides_the_output(home):
    spec = load_registry(home).get("tiny")
    base = evaluation_version(spec, "w1", "cpu", "s1")
    assert evaluation_version(spec, "w1", "cpu", "s1") == base
    changed = [
        evaluation_version(spec, "w2", "cpu", "s1"),
        evaluation_version(spec, "w1", "cuda", "s1"),
        evaluation_version(spec, "w1", "cpu", "s2"),
        *(
            evaluation_version(spec.model_copy(update={field: value}), "w1", "cpu", "s1")
            for field, value in [
                ("pipeline_class", "StableDiffusionXLPipeline"),
                ("steps", 3),
                ("guidance", 1.5),
                ("scheduler", "EulerDiscreteScheduler"),
                ("resolution", 512),
                ("dtype", "float16"),
            ]
        ),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


# ------------------------------------------------------------------ qualification


def _row(**measures) -> dict:
    row = {
        "loaded": True,
        "load_error": None,
        "p50_s": 1.0,
        "p95_s": 1.2,
        "images_per_minute": 50.0,
        "hallucination_rate": 0.0,
        "blank_rate": 0.0,
        "palette_delta_e": None,
        "deterministic": True,
        "extension_defect_rate": 0.0,
        "typography_error_rate": 0.0,
        "device": "cpu",
    }
    return {**row, **measures}


def test_thresholds_fail_a_black_or_lettering_model_and_a_model_override_wins():
    assert qualify(_row(), None, DEFAULT_THRESHOLDS)["qualified"]
    black = qualify(_row(blank_rate=1.0), None, DEFAULT_THRESHOLDS)
    assert not black["qualified"] and black["threshold_failures"] == [
        "blank or black 100% of drafts, above the max 10%"
    ]
    lettering = qualify(_row(hallucination_rate=1.0), None, DEFAULT_THRESHOLDS)
    assert "hallucinated text in 100% of drafts, above the max 30%" in lettering["reasons"]
    # models.yaml's `qualification:` for one model: a looser limit for it alone
    assert qualify(_row(hallucination_rate=1.0), None, DEFAULT_THRESHOLDS.over(Thresholds(max_hallucination_rate=1.0)))[
        "qualified"
    ]
    unloaded = qualify(_row(loaded=False, load_error="OSError: no model_index.json"), None, DEFAULT_THRESHOLDS)
    assert unloaded["reasons"] == ["did not load: OSError: no model_index.json"]


def test_the_regression_rule_compares_with_the_previous_evaluation():
    before = _row(p95_s=1.0, hallucination_rate=0.10)
    assert regressions(_row(p95_s=1.25, hallucination_rate=0.15), before) == []  # at the limits: passes
    slower = regressions(_row(p95_s=1.3, hallucination_rate=0.10), before)
    assert slower == ["p95 1.30 s is 30% slower than the previous evaluation's 1.00 s (at most 25%)"]
    worse = qualify(_row(p95_s=1.0, hallucination_rate=0.16), before, DEFAULT_THRESHOLDS)
    assert not worse["qualified"] and worse["reasons"][0].startswith(
        "regression: hallucinated text in 16% of drafts, 6 points more"
    )
    assert regressions(_row(p95_s=9.0), None) == [] and regressions(_row(p95_s=9.0), _row(loaded=False)) == []
    assert regressions(_row(p95_s=1.3), before, Thresholds(max_p95_increase=1.0)) == []  # a model's own limit


def test_the_asset_checks_judge_the_latest_evaluation():
    passing, failing = (
        qualify(_row(), None, DEFAULT_THRESHOLDS),
        qualify(_row(blank_rate=1.0, p95_s=5.0), _row(), DEFAULT_THRESHOLDS),
    )
    for row in (passing, failing):
        row["data_version"] = "v"
    assert [r.passed for r in judge_evaluation([passing])] == [True, True]
    thresholds, regression = judge_evaluation([passing, failing])
    assert (thresholds.check_name, thresholds.passed, regression.check_name, regression.passed) == (
        "qualification_thresholds",
        False,
        "no_regression",
        False,
    )
    assert [r.passed for r in judge_evaluation([])] == [False, False]


# ------------------------------------------------------------------ cost and budgets


def test_cost_is_the_model_price_else_seconds_at_the_device_rate_else_unknown(home):
    spec = load_registry(home).get("tiny")
    priced = spec.model_copy(update={"cost": ModelCost(per_image=0.004)})
    hourly = spec.model_copy(update={"cost": ModelCost(per_gpu_hour=3.6, currency="EUR")})
    rates = CostRates(cpu_per_hour=0.36)
    assert draft_cost(priced, 9.0, 3, "cpu", rates).amount == pytest.approx(0.012)
    assert (draft_cost(hourly, 10.0, 1, "cpu", rates).amount, draft_cost(hourly, 10.0, 1, "cpu", rates).currency) == (
        pytest.approx(0.01),
        "EUR",
    )
    assert draft_cost(spec, 10.0, 1, "cpu", rates).amount == pytest.approx(0.001)
    assert draft_cost(spec, 10.0, 1, "cuda", rates).amount is None  # no rate for the device: unknown, never 0
    assert draft_cost(spec, 10.0, 1, "cpu", CostRates()).amount is None
    # a price per image before any generation: a per-image price, else measured speed at the rate
    assert cost_per_image(priced, None, rates).amount == 0.004
    assert cost_per_image(spec, None, rates).amount is None
    assert cost_per_image(spec, {"images_per_minute": 6.0, "device": "cpu"}, rates).amount == pytest.approx(0.001)
    with pytest.raises(ValueError, match="exactly one of per_image and per_gpu_hour"):
        ModelCost(per_image=1.0, per_gpu_hour=2.0)


def test_a_key_visuals_cost_is_shared_among_the_deliverables_that_use_it():
    key = {"draft_key": "k", "extends": None, "made_cost": 0.006, "currency": "USD"}
    wide = {"draft_key": "e", "extends": "k", "made_cost": 0.004, "currency": "USD"}
    served = {("a", 1, "1x1", None): key, ("a", 1, "2x1", None): key, ("a", 1, "4x1", None): wide}
    costs = deliverable_costs([], [key, wide], served)
    assert [costs[k].amount for k in served] == [0.002, 0.002, 0.006]  # 0.006 / 3 each; the extension is 4x1's
    assert sum(c.amount for c in costs.values()) == pytest.approx(0.010)
    unknown = deliverable_costs([], [dict(key, made_cost=None), wide], served)
    assert unknown[("a", 1, "4x1", None)].amount is None


def test_budget_refusal_names_the_numbers_and_the_brief_wins_over_the_brand():
    brand = Brand(brand="acme", budget=RunBudget(per_run=1.0, per_month=5.0))
    brief = Brief(campaign="c", brand="acme", assets=[], assets_csv="x.csv", budget=RunBudget(per_run=0.10))
    budget = run_budget(brief, brand)
    assert (budget.per_run, budget.per_month) == (0.10, 5.0)
    from asset_pipeline.models.cost import Price

    prices = {"hosted": Price(0.004, "USD"), "local": Price(None, "USD")}
    assert (
        budget_problem(budget, {"hosted": 48}, prices)
        == "budget: needs 48 drafts x 0.004 USD = 0.192 USD, budget 0.10 USD"
    )
    assert budget_problem(budget, {"hosted": 25}, prices) is None
    assert "per_month budget 5.00 USD" in budget_problem(budget, {"hosted": 25}, prices, spent_this_month=4.95)
    assert "the cost of a draft from local is unknown" in budget_problem(budget, {"local": 1}, prices)
    assert budget_problem(budget, {"local": 0}, prices) is None  # nothing to generate: nothing to pay
    assert (money(0.1), money(0.004), money(0.192), money(12)) == ("0.10", "0.004", "0.192", "12.00")


def test_the_spending_ledger_counts_this_calendar_month(home):
    from asset_pipeline.stages.preflight import month_spend, record_spending

    drafts = [
        {"model": "hosted", "images": 2, "seconds": 1.0, "cost": 0.008, "currency": "USD"},
        {"model": "hosted", "images": 0, "seconds": 0.0, "cost": 0.0, "currency": "USD"},  # a cache hit
    ]
    now = datetime(2026, 12, 7, tzinfo=UTC)
    record_spending(Home(home), "c", drafts, now=now - timedelta(days=40))  # last month's
    record_spending(Home(home), "c", drafts, now=now)
    record_spending(Home(home), "c", drafts[1:], now=now)  # nothing generated: no entry
    assert month_spend(Home(home), "c", now) == pytest.approx(0.008)
    [(rows, total)] = query(Home(home), "SELECT count(*), sum(drafts) FROM spending")[1]
    assert (rows, total) == (2, 4)


def test_evaluating_a_priced_model_is_refused_past_the_evaluation_budget(home):
    ev.use_small_suite(home, extra_config="evaluation_budget: 0.01\n")
    (home / "models.yaml").write_text(
        "models:\n"
        + ev.entry("hosted", "models/tiny", extra=", cost: {per_image: 0.004}")
        + "routes:\n  draft: [hosted, tiny]\n"
    )
    registry = load_registry(home)
    gate = ModelGate(Home(home), registry)
    refused = "evaluation refused: needs 4 images x 0.004 USD = 0.016 USD, evaluation_budget 0.01 USD"
    assert gate.evaluation_refused(registry.get("hosted")) == refused
    verdict = gate.verdict(registry.get("hosted"))  # refused: not evaluated, so it may not draw
    assert (verdict.qualified, verdict.reason) == (False, refused)
    assert evaluation_history(Home(home), "hosted") == []
    assert gate.verdict(registry.get("tiny")).qualified  # not priced, not gated


# ------------------------------------------------------------------ measured routing


def _measured_home(home: Path, rows: dict[str, dict], rule: str, rates: str = "") -> tuple:
    """A home whose models a, b, c (the tiny weights) have current evaluations with these measures."""
    ev.use_small_suite(home, extra_config=rates)
    models = "".join(
        ev.entry(m, "models/tiny", extra=extra)
        for m, extra in [("a", ""), ("b", ", cost: {per_image: 0.01}"), ("c", "")]
    )
    (home / "models.yaml").write_text(f"models:\n{models}routes:\n  draft: {rule}\n")
    registry = load_registry(home)
    gate = ModelGate(Home(home), registry, evaluate=False)
    now = datetime.now(UTC)
    for model, measures in rows.items():
        spec = registry.get(model)
        row = qualify(_row(**measures), None, DEFAULT_THRESHOLDS)
        row.update(
            model=model,
            data_version=gate.version(spec),
            evaluated_at=now,
            weights_hash=registry.weights_hash(spec),
            pipeline_class=spec.pipeline_class,
            steps=spec.steps,
            guidance=spec.guidance,
            scheduler=None,
            resolution=spec.resolution,
            dtype=spec.dtype,
            suite_hash=gate.suite.hash,
            prompts=2,
            images=4,
            load_s=0.1,
            peak_memory_mb=500.0,
            seconds=1.0,
            cost=None,
            currency="USD",
            contact_sheet=None,
            findings=[],
        )
        store_evaluation(Home(home), row)
    return registry, ModelGate(Home(home), registry, evaluate=False)


def test_a_rule_route_picks_the_fastest_qualified_model_within_its_limits(home):
    rows = {"a": {"p95_s": 3.0}, "b": {"p95_s": 0.5, "blank_rate": 1.0}, "c": {"p95_s": 1.5}}
    registry, gate = _measured_home(home, rows, "{select: fastest, max_p95_s: 2.0, models: [a, b, c]}")
    route = route_for(registry, "draft", None, gate)
    assert [s.id for s in route.models] == ["c"]  # b is fastest but not qualified (black); a is over 2 s
    assert route.reason == "draft rule fastest within max_p95_s 2: c (c p95 1.50 s)"
    assert any(s.startswith("b: not qualified: blank or black 100%") for s in route.skipped)
    assert "a: outside the draft rule: p95 3.00 s, above the max 2" in route.skipped
    # the real-time route follows the draft route's rule unless models.yaml gives its own
    assert [s.id for s in route_for(registry, "realtime", None, gate).models] == ["c"]


def test_a_rule_route_picks_the_cheapest_by_price_or_measured_seconds(home):
    rows = {"a": {"images_per_minute": 5.0}, "b": {"images_per_minute": 600.0}, "c": {"images_per_minute": 60.0}}
    rule = "{select: cheapest, models: [a, b, c]}"
    registry, gate = _measured_home(home, rows, rule, rates="cost: {cpu_per_hour: 3.6}\n")
    route = route_for(registry, "draft", None, gate)
    # c: 1 s an image at 3.6/h = 0.001; b: its price, 0.01 (however fast); a: 12 s = 0.012
    assert [s.id for s in route.models] == ["c", "b", "a"]
    assert route.reason.startswith("draft rule cheapest: c (c p95 1.20 s 0.0010/image; b")
    # without a rate the measured models' cost is unknown: they rank after the priced one
    rule = RouteRule.model_validate({"select": "cheapest", "models": ["a", "b"]})
    measured = [(registry.get("a"), _row()), (registry.get("b"), _row())]
    ranked = rank(rule, measured, lambda spec, evaluation: 0.01 if spec.id == "b" else None)
    assert [s.id for s in ranked.models] == ["b", "a"]


def test_an_evaluation_the_drafts_stage_made_shows_in_the_ui_as_a_runless_materialization(home):
    from asset_pipeline.orchestration.evaluations import report_evaluation

    _measured_home(home, {"a": {}}, "[a]")
    [row] = evaluation_history(Home(home), "a")
    instance = dg.DagsterInstance.ephemeral()
    report_evaluation(instance, row)
    event = instance.get_latest_materialization_event(dg.AssetKey("model_evaluations")).asset_materialization
    assert (event.partition, event.tags["dagster/data_version"]) == ("a", row["data_version"])
    assert event.metadata["qualified"].value is True and instance.has_dynamic_partition("models", "a")


# ------------------------------------------------------------------ evaluations of real (tiny) models


def test_a_model_that_cannot_load_gets_a_row_saying_so(home):
    broken = home / "models" / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text("{not json")
    (home / "models.yaml").write_text("models:\n" + ev.entry("broken", "models/broken"))
    registry = load_registry(home)
    row = evaluate_model(Home(home), registry, registry.get("broken"), load_suite(prompts=2))
    assert not row["loaded"] and not row["qualified"] and row["images"] == 0
    assert row["load_error"].startswith(("OSError", "JSONDecodeError", "ValueError")) and "\n" not in row["load_error"]
    assert row["reasons"] == [f"did not load: {row['load_error']}"]


@pytest.mark.slow
def test_model_evaluations_materializes_and_changed_weights_are_evaluated_again(home, tiny_model):
    """The asset on one partition; then the gate: unchanged weights evaluate nothing, changed ones again."""
    from asset_pipeline.orchestration.evaluations import model_evaluations, models, qualification_checks
    from asset_pipeline.orchestration.resources import PipelineResource

    ev.use_small_suite(home)
    ev.copy_weights(tiny_model, home / "models" / "copy")
    (home / "models.yaml").write_text(
        "models:\n"
        + ev.entry("copy", "models/copy", extra=", qualification: {max_p95_increase: 100}")  # latency here is noise
        + "routes:\n  draft: [copy, tiny]\n"
    )
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(models.name, ["copy"])
    result = dg.materialize(
        [model_evaluations, qualification_checks],
        partition_key="copy",
        instance=instance,
        resources={"pipeline": PipelineResource(home=str(home))},
    )
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"qualification_thresholds": True, "no_regression": True}
    [row] = evaluation_history(Home(home), "copy")
    assert row["qualified"] and row["loaded"] and row["deterministic"] and row["images"] == 4
    assert row["p50_s"] > 0 and row["p95_s"] >= row["p50_s"] and row["images_per_minute"] > 0
    assert (row["hallucination_rate"], row["blank_rate"], row["extension_defect_rate"]) == (0.0, 0.0, 0.0)
    assert row["typography_error_rate"] == 0.0 and row["peak_memory_mb"] > 100
    materialization = result.asset_materializations_for_node("model_evaluations")[0]
    assert materialization.tags["dagster/data_version"] == row["data_version"]
    with Image.open(home / row["contact_sheet"]) as sheet:  # 2 drafts and 1 extension, in one row
        assert sheet.size == (3 * 256, 296)
    [(model, qualified, p95)] = query(Home(home), "SELECT model, qualified, p95_s FROM model_evaluations")[1]
    assert (model, qualified, p95) == ("copy", True, row["p95_s"])

    registry = load_registry(home)
    gate = ModelGate(Home(home), registry)
    assert stale_models(gate, ["copy"]) == [] and gate.verdict(registry.get("copy")).qualified  # unchanged: nothing run
    assert len(evaluation_history(Home(home), "copy")) == 1

    ev.change_weights(home / "models" / "copy")
    registry = load_registry(home)
    gate = ModelGate(Home(home), registry)
    assert [s.id for s in stale_models(gate, ["copy"])] == ["copy"]
    assert gate.verdict(registry.get("copy")).qualified  # evaluated again, before it may draw
    first, second = evaluation_history(Home(home), "copy")
    assert second["data_version"] != first["data_version"] and second["weights_hash"] != first["weights_hash"]
    assert second["evaluated_at"] - first["evaluated_at"] < timedelta(minutes=10)


@pytest.mark.slow
def test_broken_models_fail_qualification_and_the_route_falls_back_with_the_reasons(home, tiny_model, monkeypatch):
    """Weights that give black images, and a model that letters every draft: both evaluated before
    they draw, both not qualified, and the draft comes from the next model, the reasons recorded."""
    from asset_pipeline.models.generation import DraftGenerator
    from asset_pipeline.stages.drafts import generate_drafts
    from asset_pipeline_tests.support.drafts import brief_rows

    text_models.register(monkeypatch)
    ev.use_small_suite(home, extend=0, typeset=0)
    ev.blacken(ev.copy_weights(tiny_model, home / "models" / "black"))
    models = ev.entry("black", "models/black") + ev.entry("letters", "models/tiny", "SignPaintingPipeline")
    (home / "models.yaml").write_text(f"models:\n{models}routes:\n  draft: [black, letters, tiny]\n")
    registry = load_registry(home)
    gate = ModelGate(Home(home), registry)
    [row] = generate_drafts(brief_rows(None, seed=3), registry, DraftGenerator(registry), Home(home), gate=gate)

    assert row["model"] == "tiny" and row["draft_passed"]
    black, letters = row["fallbacks"]
    assert black.startswith("black: not qualified: blank or black 100% of drafts, above the max 10%")
    assert letters.startswith("letters: not qualified: hallucinated text in 100% of drafts, above the max 30%")
    assert row["route_reason"] == "draft route [black, letters, tiny]: the first that may draw"
    [black_row] = evaluation_history(Home(home), "black")
    assert black_row["blank_rate"] == 1.0 and black_row["deterministic"] is None  # no image to compare
    assert "mug: GenerationError: output is a black image" in black_row["findings"]
    [letters_row] = evaluation_history(Home(home), "letters")
    assert letters_row["hallucination_rate"] == 1.0 and "'OPEN'" in " ".join(letters_row["findings"])
    assert (home / letters_row["contact_sheet"]).is_file()


# ------------------------------------------------------------------ the command line, end to end

BRIEF = """\
campaign: spendy
brand: acme
budget: {{per_run: {budget}}}
assets:
  - id: hero
    prompt: "ceramic mug on a table"
    headline: "Spring Sale"
    sizes: ["256x256", "512x100"]
"""


@pytest.fixture(scope="module")
def priced_home(tmp_path_factory, tiny_model):
    """A home whose draft route starts with a priced, gated model on the tiny weights: a run over
    budget (refused), then one within it, then the same run again; the commands' outputs kept."""
    from asset_pipeline_tests.conftest import cli, make_home, write_brief

    home = make_home(tmp_path_factory.mktemp("priced") / "home", tiny_model)
    ev.use_small_suite(home, extend=0, typeset=0, extra_config="evaluation_budget: 1.0\ncost: {cpu_per_hour: 0.36}\n")
    # its latency on a busy test machine is noise: the regression rule is tested on its own
    noisy = ", qualification: {max_p95_increase: 100}"
    models = ev.entry("hosted", "models/tiny", extra=", cost: {per_image: 0.004}" + noisy)
    (home / "models.yaml").write_text(f"models:\n{models}routes:\n  draft: [hosted, tiny]\n  final: [tiny]\n")
    write_brief(home, "spendy", BRIEF.format(budget=0.001))
    over = cli(home, "run", "spendy")
    written_after_refusal = sorted(p.relative_to(home).as_posix() for p in (home / "tables").rglob("*.parquet"))
    write_brief(home, "spendy", BRIEF.format(budget=1.0))
    first = cli(home, "run", "spendy")
    sql = cli(
        home,
        "sql",
        "SELECT kind, model, images, cost, made_cost, currency, device, route_reason FROM drafts",
        "--format",
        "json",
    )
    costs = cli(home, "sql", "SELECT * FROM costs", "--format", "json")
    again = cli(home, "run", "spendy")
    sql_again = cli(home, "sql", "SELECT kind, cost, made_cost FROM drafts", "--format", "json")
    return {
        "home": home,
        "over": over,
        "written_after_refusal": written_after_refusal,
        "first": first,
        "drafts": sql,
        "costs": costs,
        "again": again,
        "drafts_again": sql_again,
        "models": cli(home, "models", "--format", "json"),
        "evaluate": cli(home, "evaluate", "hosted", "--prompts", "1"),
    }


@pytest.mark.slow
def test_a_run_over_budget_is_refused_before_any_generation(priced_home):
    import json

    over = priced_home["over"]
    assert over.returncode == 2, over.stderr
    assert "briefs/spendy.yaml: budget: needs 2 drafts x 0.004 USD = 0.008 USD, budget 0.001 USD" in over.stderr
    # The model was evaluated (its cost is known before it draws); nothing of the campaign was written.
    assert priced_home["written_after_refusal"] == ["tables/model_evaluations/hosted.parquet"]
    assert json.loads(priced_home["models"].stdout)  # (used below)


@pytest.mark.slow
def test_drafts_record_seconds_device_and_cost_and_deliverables_carry_their_share(priced_home):
    import json

    home, first = priced_home["home"], priced_home["first"]
    assert first.returncode == 0, first.stdout + first.stderr
    drafts = json.loads(priced_home["drafts"].stdout)
    assert {d["kind"] for d in drafts} == {"key", "extension"}
    for draft in drafts:
        assert (draft["model"], draft["images"], draft["cost"], draft["made_cost"]) == ("hosted", 1, 0.004, 0.004)
        assert (draft["currency"], draft["device"]) == ("USD", "cpu")
        assert draft["route_reason"] == "draft route [hosted, tiny]: the first that may draw"
    [costs] = json.loads(priced_home["costs"].stdout)
    assert {k: costs[k] for k in ("campaign", "asset", "model", "drafts", "currency")} == {
        "campaign": "spendy",
        "asset": "hero",
        "model": "hosted",
        "drafts": 2,
        "currency": "USD",
    }
    assert costs["cost"] == pytest.approx(0.008) and costs["spent"] == pytest.approx(0.008) and costs["seconds"] > 0
    manifest = json.loads((home / "published" / "spendy" / "manifest.json").read_text())
    shares = {e["size"]: e["cost"] for e in manifest["deliverables"]}
    # the key visual's 0.004 is shared by both sizes; the 512x100 extension's 0.004 is its own
    assert shares == {"256x256": pytest.approx(0.002), "512x100": pytest.approx(0.006)}
    assert {e["currency"] for e in manifest["deliverables"]} == {"USD"}

    from asset_pipeline_tests.conftest import cli

    path = next(e["path"] for e in manifest["deliverables"] if e["size"] == "512x100")
    lineage = cli(home, "lineage", path)
    assert "route     draft route [hosted, tiny]: the first that may draw" in lineage.stdout
    assert "cost      0.006 USD (drafts on cpu)" in lineage.stdout


@pytest.mark.slow
def test_a_run_with_nothing_changed_evaluates_nothing_and_spends_nothing(priced_home):
    import json

    again = priced_home["again"]
    assert again.returncode == 0 and "drafts 0 generated" in again.stdout, again.stdout + again.stderr
    for draft in json.loads(priced_home["drafts_again"].stdout):
        assert (draft["cost"], draft["made_cost"]) == (0.0, 0.004)  # a cache hit: made before, free now
    history = evaluation_history(Home(priced_home["home"]), "hosted")
    assert len(history) == 2 and history[0]["prompts"] == 2  # the run's one, and `evaluate --prompts 1`'s


@pytest.mark.slow
def test_models_and_evaluate_show_status_latency_and_cost(priced_home):
    import json

    rows = {r["id"]: r for r in json.loads(priced_home["models"].stdout)}
    hosted = rows["hosted"]
    assert (hosted["status"], hosted["cost_per_image"]) == ("qualified", "0.004 USD")
    assert hosted["p95_s"] > 0 and hosted["images_per_minute"] > 0 and hosted["evaluated_at"]
    assert rows["tiny"]["status"] == "not evaluated (not gated)" and rows["sd-turbo"]["status"] == "absent"
    evaluate = priced_home["evaluate"]
    assert evaluate.returncode == 0, evaluate.stderr
    assert (
        evaluate.stdout.startswith("hosted: qualified (p50 ") and "contact sheet evaluations/hosted/" in evaluate.stdout
    )
