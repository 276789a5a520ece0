"""Measuring one model on the evaluation suite: its drafts through the draft checks, layout, render
and OCR, its latency, memory and determinism, and a contact sheet (a row of `model_evaluations`).

The suite, the data version and the stored rows are models/evaluation.py's; this half runs the
stages and checks on a model's drafts, so it sits above them, beside compare.py, whose contact
sheet it shares.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from asset_pipeline.home import Home
from asset_pipeline.models.evaluation import (
    SHEET_COLUMNS,
    TYPESET_SIZE,
    WIDE,
    Suite,
    SuiteCopy,
    SuitePrompt,
    current_device,
    evaluation_version,
)


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}"[:300]


def _reset_peak_memory(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
        return
    try:  # Linux: "5" resets the process's peak resident set (VmHWM) to its current size
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # then the peak is the process's since it started


def _peak_memory_mb(device: str) -> float | None:
    if device == "cuda":
        import torch

        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _palette_delta_e(image, palette: list[str]) -> float:
    """Mean over the palette's colours of the CIEDE2000 to the nearest of the image's dominant colours."""
    from asset_pipeline.colour import delta_e, hex_to_rgb, lab
    from asset_pipeline.models.grading import dominant_colours

    centres, _shares = dominant_colours(image)
    wanted = lab([hex_to_rgb(code) for code in palette])
    return float(
        np.mean([float(np.min(delta_e(np.repeat(colour[None], len(centres), 0), centres))) for colour in wanted])
    )


def _typography_error(image, copy: SuiteCopy) -> str | None:
    """Lay the copy out over `image` (a square deliverable cut from it), render it and read it back:
    the OCR checks' failures, or None when every text box reads back."""
    from asset_pipeline.checks.suite import run_checks_parallel
    from asset_pipeline.framing import crop_to_aspect
    from asset_pipeline.specs import Brand
    from asset_pipeline.stages.preflight import deliverable_layout, deliverable_texts
    from asset_pipeline.typography.contrast import choose_colours
    from asset_pipeline.typography.render import render_layout

    brand = Brand(brand="evaluation")
    row = {"width": TYPESET_SIZE, "height": TYPESET_SIZE, **copy.model_dump()}
    layout = deliverable_layout(row, deliverable_texts(row), brand, Path("."), [])
    background = crop_to_aspect(image.convert("RGB"), TYPESET_SIZE, TYPESET_SIZE)
    layout = choose_colours(layout, background, brand)
    render = render_layout(background, layout, None, None)
    [results] = run_checks_parallel([(render, layout, brand, TYPESET_SIZE, TYPESET_SIZE)], hallucination=False)
    misread = [f"{r.detail}" for r in results if r.check == "ocr" and not r.passed]
    return "; ".join(misread) or None


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if values else None


def evaluate_model(
    home: Home,
    registry,
    spec,
    suite: Suite,
    generator=None,
    previous: dict | None = None,
    rates=None,
) -> dict:
    """Run `suite` on `spec` and return its evaluation row (storage/records.EvaluationRow), qualified
    against the model's thresholds and `previous` (its last evaluation). Nothing is stored here."""
    from asset_pipeline.config import load_config
    from asset_pipeline.models.cost import draft_cost
    from asset_pipeline.models.qualification import qualify, thresholds_for

    started = time.perf_counter()
    rates = rates if rates is not None else load_config(home).cost
    device = current_device()
    weights = None
    row: dict = {
        "model": spec.id,
        "evaluated_at": datetime.now(UTC),
        "pipeline_class": spec.pipeline_class,
        "steps": spec.steps,
        "guidance": spec.guidance,
        "scheduler": spec.scheduler,
        "resolution": spec.resolution,
        "dtype": spec.dtype,
        "device": device,
        "suite_hash": suite.hash,
        "prompts": len(suite.prompts),
        "images": 0,
        "loaded": False,
        "load_error": None,
        **dict.fromkeys(
            (
                "load_s",
                "peak_memory_mb",
                "p50_s",
                "p95_s",
                "images_per_minute",
                "hallucination_rate",
                "blank_rate",
                "palette_delta_e",
                "deterministic",
                "extension_defect_rate",
                "typography_error_rate",
                "contact_sheet",
            )
        ),
        "findings": [],
    }
    try:
        if not registry.weights_present(spec):
            raise FileNotFoundError(f"weights not present at {spec.path!r}")
        weights = registry.weights_hash(spec)
        row["data_version"] = evaluation_version(spec, weights, device, suite.hash)
        measured = _measure(home, spec, suite, generator, row)
    except Exception as exc:  # a model that fails (to load, out of memory) gets a row saying so, never a crash
        from asset_pipeline.storage.disk import is_disk_full

        if is_disk_full(exc):  # the machine's fault, not the model's (storage/disk.py)
            raise
        if row["loaded"]:
            row["findings"].append(f"evaluation stopped: {_one_line(exc)}")
            row["p95_s"] = None  # so it cannot qualify on what was measured before it stopped
        else:
            row["load_error"] = _one_line(exc)
        measured = 0.0
    row.setdefault("data_version", evaluation_version(spec, weights, device, suite.hash))
    row["weights_hash"] = weights
    price = draft_cost(spec, measured, row["images"], device, rates)
    row.update(cost=price.amount, currency=price.currency, seconds=round(time.perf_counter() - started, 3))
    return qualify(row, previous, thresholds_for(spec))


def _measure(home: Home, spec, suite: Suite, generator, row: dict) -> float:
    """Fill `row`'s measures; returns the seconds spent generating (the evaluation's cost)."""
    from asset_pipeline.checks.suite import run_draft_checks_of
    from asset_pipeline.checks.tesseract import ocr_available
    from asset_pipeline.framing import extension
    from asset_pipeline.models import generation
    from asset_pipeline.models.embedded import steered_prompt
    from asset_pipeline.models.registry import draft_size

    generator = generator or generation.DraftGenerator()
    device = row["device"]
    hosted = spec.provider is not None  # drawn by a provider's API: nothing to load here
    with generation.PIPELINE_LOCK:
        generation._unload()  # a cold load: the one loaded before (maybe this model) goes first
        _reset_peak_memory(device)
        started = time.perf_counter()
        if not hosted:
            generator.load(spec)
        row["load_s"], row["loaded"] = round(time.perf_counter() - started, 3), True
    width, height = draft_size(spec, 1, 1)
    generating = 0.0

    def draw(prompt: SuitePrompt):
        nonlocal generating
        palette = suite.palette_of(prompt) if spec.brand_steering else []
        text = steered_prompt(prompt.prompt, palette) if palette else prompt.prompt
        began = time.perf_counter()
        try:
            image, error = generator.generate(spec, [text], [None], [prompt.seed], width, height)[0], None
        except generation.GenerationError as exc:  # black or NaN output, or a failed call
            image, error = None, _one_line(exc)
        seconds = time.perf_counter() - began
        generating += seconds
        row["images"] += 1
        return image, error, seconds

    warm, _, _ = draw(suite.prompts[0])  # untimed: the first call pays one-off set-up
    drawn = [(prompt, *draw(prompt)) for prompt in suite.prompts]
    seconds = [s for _, _, _, s in drawn]
    row.update(
        p50_s=_percentile(seconds, 50),
        p95_s=_percentile(seconds, 95),
        images_per_minute=round(60 * len(seconds) / sum(seconds), 2) if sum(seconds) else None,
    )

    # Determinism: the warm-up and the first `repeat` prompts again, byte for byte (where both were made);
    # a model that says it is not reproducible (a hosted one) is not asked to be, nor paid to try.
    pairs = [(warm, drawn[0][1])] if spec.reproducible else []
    for prompt, image, _, _ in drawn[1 : suite.repeat] if spec.reproducible else []:
        pairs.append((image, draw(prompt)[0]))
    same = [a.tobytes() == b.tobytes() for a, b in pairs if a is not None and b is not None]
    row["deterministic"] = all(same) if same else None
    if not spec.reproducible:
        row["findings"].append("not reproducible (reproducible: false): determinism not measured")
    if row["deterministic"] is False:
        row["findings"].append("a repeat with the same seed gave other bytes")

    # Extensions: the first `extend` drafts outpainted to 4:1, as a wide size is served.
    extensions = []
    if hosted:  # it does not outpaint here: its wide sizes are cropped (models/generation.py)
        row["findings"].append("hosted: extensions are cropped, not outpainted; not measured")
    for prompt, image, _, _ in [d for d in drawn if d[1] is not None][: 0 if hosted else suite.extend]:
        gw, gh = draft_size(spec, *WIDE)
        began = time.perf_counter()
        try:
            made = generator.outpaint(spec, image, extension(width, height, gw, gh), prompt.prompt, None, prompt.seed)
            extensions.append((prompt, made, None))
        except Exception as exc:  # a model that cannot outpaint: a defect of its extensions
            from asset_pipeline.storage.disk import is_disk_full

            if is_disk_full(exc) or type(exc).__name__ == "OutOfMemoryError":
                raise
            extensions.append((prompt, None, _one_line(exc)))
        generating += time.perf_counter() - began
        row["images"] += 1

    row["peak_memory_mb"] = _peak_memory_mb(device)
    ocr = ocr_available()
    if not ocr:
        row["findings"].append("tesseract is not installed: hallucinated text was not measured")
    images = [image for _, image, _, _ in drawn if image is not None]
    checked = run_draft_checks_of(images + [e for _, e, _ in extensions if e is not None], ocr=ocr)
    verdicts = iter(checked)
    flags: dict[str, list[str]] = {}
    blank = text = 0
    for prompt, image, error, _ in drawn:
        found = [] if image is None else [r for r in next(verdicts) if not r.passed]
        if image is None or any(r.check == "not_blank" for r in found):
            blank += 1
            flags.setdefault(prompt.id, []).append("BLANK")
            row["findings"].append(f"{prompt.id}: {error or next(r.detail for r in found if r.check == 'not_blank')}")
        if any(r.check == "hallucinated_text" for r in found):
            text += 1
            flags.setdefault(prompt.id, []).append("TEXT")
            detail = next(r.detail for r in found if r.check == "hallucinated_text")
            row["findings"].append(f"{prompt.id}: hallucinated_text: {detail}"[:300])
    row["blank_rate"] = round(blank / len(drawn), 4)
    row["hallucination_rate"] = round(text / len(drawn), 4) if ocr else None
    defects = 0
    for prompt, made, error in extensions:
        found = [] if made is None else [r for r in next(verdicts) if not r.passed]
        if made is None or found:
            defects += 1
            why = error or "; ".join(f"{r.check}: {r.detail}" for r in found)
            row["findings"].append(f"{prompt.id} extended to 4:1: {why}"[:300])
    row["extension_defect_rate"] = round(defects / len(extensions), 4) if extensions else None

    if spec.brand_steering:
        scores = [
            _palette_delta_e(image, suite.palette_of(prompt))
            for prompt, image, _, _ in drawn
            if image is not None and prompt.palette
        ]
        row["palette_delta_e"] = round(float(np.mean(scores)), 2) if scores else None

    typeset = [(p, image) for p, image, _, _ in drawn if image is not None][: suite.typeset]
    if typeset and ocr:
        misread = 0
        for prompt, image in typeset:
            problem = _typography_error(image, suite.copy_)
            if problem:
                misread += 1
                row["findings"].append(f"{prompt.id} typeset: {problem}"[:300])
        row["typography_error_rate"] = round(misread / len(typeset), 4)

    row["contact_sheet"] = _write_sheet(home, spec.id, row["data_version"], drawn, extensions, flags)
    return generating


def sheet_path(model: str, data_version: str) -> str:
    """Where an evaluation's contact sheet goes, relative to the home."""
    return f"evaluations/{model}/{data_version[:16]}.png"


def _write_sheet(home: Home, model: str, version: str, drawn, extensions, flags: dict[str, list[str]]) -> str:
    """Every draft of the evaluation (then its extensions), SHEET_COLUMNS to a row, labelled."""
    from asset_pipeline.compare import contact_sheet, draw_cell, sheet_font
    from asset_pipeline.storage.files import atomic_write_bytes

    font = sheet_font()
    cells = [
        draw_cell(
            image,
            f"{model}  {seconds:.2f} s",
            f"{prompt.id}  {' '.join(flags.get(prompt.id, [])) or 'ok'}",
            error,
            font,
        )
        for prompt, image, error, seconds in drawn
    ]
    cells += [draw_cell(made, f"{model}  4:1 extension", prompt.id, error, font) for prompt, made, error in extensions]
    sheet = contact_sheet([cells[i : i + SHEET_COLUMNS] for i in range(0, len(cells), SHEET_COLUMNS)])
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    relative = sheet_path(model, version)
    atomic_write_bytes(home.inside(*relative.split("/")), buffer.getvalue())
    return relative
