"""Model evaluations: the shipped suite run on one model, measured, recorded and qualified.

An evaluation's data version (`evaluation_version`) hashes everything that decides the model's
output (weights hash, pipeline class, steps, guidance, scheduler, resolution, dtype, device) and
the suite's hash; when any of them changes the model's evaluation is stale, and it is evaluated
again before it draws production drafts (gate.py).

What one evaluation does, all through the drafts stage's own code (DraftGenerator, the draft
checks, the layout, renderer and OCR of the later stages):

1. a cold load, timed, with the peak memory from then on (CUDA: torch's peak; CPU: the process's
   peak resident set, reset first where Linux allows);
2. one untimed warm-up draft, then each suite prompt at the model's resolution, timed one by one:
   p50, p95 and images per minute are warm latencies;
3. the draft checks over every draft (hallucinated text, blank or black; a black output the
   generator refuses counts as blank);
4. determinism: the warm-up and the first `repeat` prompts drawn again must give the same bytes;
5. the first `extend` drafts outpainted to 4:1 (as a wide size is served) and the extensions put
   through the same draft checks: edge band, blank, painted text;
6. the first `typeset` drafts laid out with the suite's copy, rendered and read back by OCR: the
   share whose text does not read back is the typography error rate;
7. palette ΔE for palette-steered models: from each palette colour to the nearest dominant colour;
8. a contact sheet of every draft, labelled with its seconds and what the checks found.

A model that cannot load gets a row saying so in one line, and is not qualified.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from asset_pipeline.home import Home
from asset_pipeline.specs import HexColour, Identifier, InputError, Problem, _Strict, _validate, content_hash, read_yaml

SUITE_FILE = Path(__file__).with_name("evaluation_suite.yaml")
# Bump when what an evaluation measures, or how, changes: every model's evaluation goes stale.
EVALUATION_CODE = "1"
WIDE = (4000, 1000)  # the aspect an extension is tested at: 4:1, the widest a draft is made for
TYPESET_SIZE = 512  # the side of the square deliverable the typography test renders
SHEET_COLUMNS = 4


class SuitePrompt(_Strict):
    id: Identifier
    kind: Literal["product", "scene", "texture", "text_bait"]
    prompt: str = Field(min_length=1, max_length=1000)
    seed: int = Field(ge=0, le=2**32 - 1, strict=True)
    palette: str | None = None  # a name from the suite's palettes


class SuiteCopy(_Strict):
    headline: str = Field(min_length=1, max_length=120)
    body: str | None = Field(default=None, max_length=300)
    cta: str | None = Field(default=None, max_length=40)


class Suite(_Strict):
    palettes: dict[Identifier, list[HexColour]] = Field(default_factory=dict)
    repeat: int = Field(default=2, ge=1, le=100, strict=True)
    extend: int = Field(default=2, ge=0, le=100, strict=True)
    typeset: int = Field(default=3, ge=0, le=100, strict=True)
    copy_: SuiteCopy = Field(default_factory=lambda: SuiteCopy(headline="Spring Sale"), alias="copy")
    prompts: list[SuitePrompt] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> Suite:
        seen = set()
        for prompt in self.prompts:
            if prompt.id in seen:
                raise ValueError(f"prompt id {prompt.id!r} is used twice")
            seen.add(prompt.id)
            if prompt.palette is not None and prompt.palette not in self.palettes:
                raise ValueError(f"prompt {prompt.id!r}: unknown palette {prompt.palette!r}")
        return self

    def first(self, count: int | None) -> Suite:
        """The suite cut to its first `count` prompts (None: all)."""
        if count is None or count >= len(self.prompts):
            return self
        return self.model_copy(update={"prompts": self.prompts[:count]})

    @property
    def hash(self) -> str:
        return content_hash({"suite": self.model_dump(mode="json", by_alias=True), "code": EVALUATION_CODE})

    def palette_of(self, prompt: SuitePrompt) -> list[str]:
        return list(self.palettes.get(prompt.palette or "", []))


def load_suite(path: Path | None = None, prompts: int | None = None, label: str | None = None) -> Suite:
    """The suite in `path` (default: the shipped one), cut to its first `prompts`; InputError otherwise."""
    path = Path(path) if path is not None else SUITE_FILE
    label = label or (path.name if path == SUITE_FILE else str(path))
    data = read_yaml(path, label)
    if not isinstance(data, dict):
        raise InputError([Problem(label, "(top level)", "must be a mapping with `prompts`")])
    return _validate(Suite, data, label).first(prompts)


def home_suite(home: Home) -> Suite:
    """The suite the home's config.yaml asks for (`evaluation: {suite, prompts}`), else the shipped one."""
    from asset_pipeline.config import CONFIG_FILE, load_config

    settings = load_config(home).evaluation
    if settings.suite is None:
        return load_suite(prompts=settings.prompts)
    path = home.root / Path(settings.suite).expanduser()
    return load_suite(path, settings.prompts, label=f"{CONFIG_FILE}: evaluation.suite {settings.suite}")


# ------------------------------------------------------------------ the data version


def current_device() -> str:
    """The device drafts would run on: torch's answer when torch is loaded, else a look at the
    installed torch and the driver, without importing torch (2 s a process: a rebuild that
    generates nothing must not pay it to learn that its evaluations are still current)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return "cpu"
    from importlib.util import find_spec

    found = find_spec("torch")
    if found is None or not found.submodule_search_locations:
        return "cpu"
    lib = Path(next(iter(found.submodule_search_locations))) / "lib"
    cuda_build = any(lib.glob("libtorch_cuda*.so*"))
    return "cuda" if cuda_build and Path("/proc/driver/nvidia/version").exists() else "cpu"


def evaluation_version(spec, weights_hash: str | None, device: str, suite_hash: str) -> str:
    """What an evaluation of `spec` measured: everything that decides its output, and the suite."""
    return content_hash(
        {
            "weights": weights_hash,
            "pipeline": spec.pipeline_class,
            "steps": spec.steps,
            "guidance": spec.guidance,
            "scheduler": spec.scheduler,
            "resolution": spec.resolution,
            "multiple": spec.multiple,
            "dtype": spec.dtype,
            "device": device,
            "palette_grade": spec.palette_grade,
            "brand_steering": spec.brand_steering,
            "suite": suite_hash,
        }
    )


# ------------------------------------------------------------------ history


def evaluation_history(home: Home, model: str) -> list[dict]:
    """Every evaluation of `model`, oldest first."""
    from asset_pipeline.storage.tables import read_rows

    return sorted(read_rows(home, "model_evaluations", model), key=lambda r: r["evaluated_at"])


def latest_evaluation(home: Home, model: str) -> dict | None:
    history = evaluation_history(home, model)
    return history[-1] if history else None


def store_evaluation(home: Home, row: dict) -> None:
    """Add `row` to its model's history (one file per model, replaced atomically)."""
    from asset_pipeline.storage.files import file_lock
    from asset_pipeline.storage.tables import write_rows

    with file_lock(home.locks / f"evaluations-{row['model']}.lock"):
        write_rows(home, "model_evaluations", row["model"], [*evaluation_history(home, row["model"]), row])


# ------------------------------------------------------------------ measuring
