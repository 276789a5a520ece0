"""Models: the tiny pipeline, the registry and models.yaml, routing with fallback, determinism."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing in these tests may reach a hub

import numpy as np
import pytest

from asset_pipeline.models import generation
from asset_pipeline.models.generation import DraftGenerator, GenerationError
from asset_pipeline.models.registry import ModelSpec, UnknownModelError, draft_size, load_registry
from asset_pipeline.models.tiny import ensure_tiny_model, weights_hash
from asset_pipeline.specs import InputError
from asset_pipeline.stages.drafts import DraftError
from asset_pipeline_tests.support.drafts import brief_rows, drafts_for

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory, tiny_model) -> Path:
    """A home whose models/tiny is the session's one build (conftest's `tiny_model`)."""
    home = tmp_path_factory.mktemp("home")
    (home / "models").mkdir()
    (home / "models" / "tiny").symlink_to(tiny_model, target_is_directory=True)
    return home


def png_sha(image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def write_models_yaml(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "models.yaml").write_text(textwrap.dedent(text), encoding="utf-8")


# ------------------------------------------------------------------ tiny model


def test_tiny_model_builds_byte_identically(tiny_model, tmp_path):
    first = tiny_model
    registry = load_registry(tmp_path)  # the registry builds the built-in tiny on first use
    second = registry.resolve_path(registry.get("tiny"))
    assert second == tmp_path / "models" / "tiny"
    assert weights_hash(first) == weights_hash(second)
    files = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    # A genuine pipeline folder, with locally written tokenizer files and safetensors weights.
    for name in (
        "model_index.json",
        "tokenizer/vocab.json",
        "tokenizer/merges.txt",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/model.safetensors",
    ):
        assert name in files
    # Nothing is left beside it but the lock file.
    assert sorted(p.name for p in second.parent.iterdir()) == [".tiny.lock", "tiny"]


def test_existing_tiny_model_is_not_rebuilt(tiny_home):
    folder = tiny_home / "models" / "tiny"
    before = (folder / "unet" / "config.json").stat().st_mtime_ns
    assert ensure_tiny_model(folder) == folder
    assert (folder / "unet" / "config.json").stat().st_mtime_ns == before


def test_concurrent_builds_build_once(tmp_path):
    folder = tmp_path / "tiny"
    results, errors = [], []

    def build():
        try:
            results.append(ensure_tiny_model(folder))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [folder, folder]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tiny.lock", "tiny"]


def test_weights_hash_follows_content(tiny_model, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    original = weights_hash(copy)
    assert weights_hash(copy) == original  # cached, same answer
    config = copy / "scheduler" / "scheduler_config.json"
    config.write_text(config.read_text().replace('"trailing"', '"leading"'))
    assert weights_hash(copy) != original


def test_tiny_loads_with_from_pretrained_and_generates_requested_sizes(tiny_home):
    import torch
    from diffusers import DiffusionPipeline, StableDiffusionPipeline

    folder = tiny_home / "models" / "tiny"
    pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
    assert isinstance(pipe, StableDiffusionPipeline)
    assert pipe.vae_scale_factor == 2  # the UNet sees a 128x128 latent at 256 px

    registry = load_registry(tiny_home)
    spec = registry.get("tiny")
    generator = DraftGenerator()  # a registry spec knows its home
    generation._unload()  # an earlier test of this process may have loaded the same tiny model
    loads = generation.LOAD_COUNT
    square = generator.generate(spec, ["a red mug", "a red mug"], [None, "blurry"], [1, 2], 256, 256)
    wide = generator.generate(spec, ["a red mug"], [None], [1], 352, 192)
    assert [im.size for im in square] == [(256, 256), (256, 256)]
    assert wide[0].size == (352, 192) and wide[0].mode == "RGB"
    assert png_sha(square[0]) != png_sha(square[1])  # different seeds, different images
    assert generation.LOAD_COUNT == loads + 1  # loaded once, then reused within the process


DETERMINISM_SCRIPT = """
import hashlib, io, sys
from pathlib import Path
import torch
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import load_registry

torch.set_num_threads(int(sys.argv[2]))  # pixels may depend on the thread count: match the test's
registry = load_registry(Path(sys.argv[1]))
images = DraftGenerator(registry).generate(registry.get("tiny"), ["ceramic mug, studio light"], ["blurry"], [1234], 256, 256)
buffer = io.BytesIO()
images[0].save(buffer, format="PNG")
print(hashlib.sha256(buffer.getvalue()).hexdigest())
"""


@pytest.mark.slow  # two CLI processes generate the same drafts
def test_same_inputs_give_identical_png_bytes_across_processes(tiny_home):
    import torch

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", DETERMINISM_SCRIPT, str(tiny_home), str(torch.get_num_threads())],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr[-2000:]
        outputs.append(stdout.strip().splitlines()[-1])
    registry = load_registry(tiny_home)
    here = DraftGenerator(registry).generate(
        registry.get("tiny"), ["ceramic mug, studio light"], ["blurry"], [1234], 256, 256
    )
    assert outputs[0] == outputs[1] == png_sha(here[0])


# -------------------------------------------------------------------- registry


def test_builtin_registry_lists_tiny_present_and_real_models_absent(tmp_path):
    registry = load_registry(tmp_path)
    rows = {row["id"]: row for row in registry.rows()}
    assert {"tiny", "sd-turbo", "sdxl-turbo", "sd35-medium", "flux-schnell"} <= set(rows)
    assert rows["tiny"]["present"] is True
    assert rows["sd-turbo"]["present"] is False
    assert set(rows["tiny"]) >= {"id", "path", "pipeline_class", "tiers", "steps", "resolution", "present"}
    assert not (tmp_path / "models").exists()  # listing never builds the tiny model
    for tier in ("draft", "final"):
        assert [s.id for s in registry.candidates(tier)][-1] == "tiny"
    assert [s.id for s in registry.candidates("final", "sd-turbo")] == ["sd-turbo"]
    with pytest.raises(UnknownModelError):
        registry.get("nope")


def test_hub_id_resolves_from_the_local_cache_only(tmp_path, monkeypatch):
    import huggingface_hub.constants

    cache = tmp_path / "hf"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    registry = load_registry(tmp_path / "home")
    spec = registry.get("sd-turbo")
    assert registry.resolve_path(spec) is None and not registry.weights_present(spec)

    repo = cache / "models--stabilityai--sd-turbo"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "model_index.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    assert registry.resolve_path(spec) == snapshot and registry.weights_present(spec)


def test_models_yaml_errors_name_file_and_field(tmp_path):
    write_models_yaml(
        tmp_path,
        """
        models:
          - id: good
            path: /nowhere
            steps: 4
            guidance: 0
          - id: bad
            path: /nowhere
            steps: 0
            guidance: 1.5
            colour: red
    """,
    )
    with pytest.raises(InputError) as caught:
        load_registry(tmp_path)
    fields = {p.field: p for p in caught.value.problems}
    assert all(p.file == "models.yaml" for p in caught.value.problems)
    steps = [f for f in fields if f.startswith("models[1]") and f.endswith(".steps")]
    unknown = [f for f in fields if f.startswith("models[1]") and f.endswith(".colour")]
    assert steps and unknown, fields
    assert "unknown key" in fields[unknown[0]].message


@pytest.mark.parametrize(
    "text, field, words",
    [
        (
            """
     models:
       - {id: a, path: x, steps: 1, guidance: 0}
       - {id: a, path: y, steps: 1, guidance: 0}
     """,
            "models[1](id=a).id",
            "twice",
        ),
        (
            """
     routes:
       draft: [tiny, ghost]
     """,
            "routes.draft[1]",
            "unknown model",
        ),
        (
            """
     routes:
       draft: [sd35-medium, tiny]
     """,
            "routes.draft[0]",
            "not for tier",
        ),
        (
            """
     models: []
     route: {}
     """,
            "route",
            "unknown key",
        ),
        (
            """
     models:
       - {id: a, path: x, steps: 1, guidance: 0, dtype: float64}
     """,
            "models[0](id=a).dtype",
            "float32",
        ),
        (
            """
     models:
       - {id: a, path: x, steps: 1, guidance: 0, palette_grade: 1.5}
     """,
            "models[0](id=a).palette_grade",
            "less than or equal to 1",
        ),
    ],
)
def test_models_yaml_rejects(tmp_path, text, field, words):
    write_models_yaml(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_registry(tmp_path)
    problems = {p.field: p.message for p in caught.value.problems}
    assert field in problems, problems
    assert words in problems[field]


def test_models_yaml_extends_and_overrides(tmp_path):
    write_models_yaml(
        tmp_path,
        """
        models:
          - id: mine
            path: weights/mine
            steps: 3
            guidance: 1.0
            tiers: [draft]
            palette_grade: 0.5
            brand_steering: true
          - id: sdxl-turbo
            path: stabilityai/sdxl-turbo
            steps: 2
            guidance: 0
            tiers: [draft]
        routes:
          final: [tiny]
    """,
    )
    registry = load_registry(tmp_path)
    assert [s.id for s in registry.candidates("draft")] == ["mine", "sd-turbo", "sdxl-turbo", "embedded", "tiny"]
    assert [s.id for s in registry.candidates("final")] == ["tiny"]
    assert registry.get("sdxl-turbo").steps == 2
    mine = registry.get("mine")
    assert mine.palette_grade == 0.5 and mine.brand_steering and not registry.get("sdxl-turbo").brand_steering


# --------------------------------------------------------- routing and fallback


def test_broken_model_first_in_route_falls_back_to_tiny(tiny_model, tmp_path):
    home = tmp_path / "home"
    broken = home / "weights" / "broken"
    broken.mkdir(parents=True)
    (broken / "model_index.json").write_text("{ this is not json")
    (home / "models").mkdir()
    (home / "models" / "tiny").symlink_to(tiny_model)  # reuse the session build
    write_models_yaml(
        home,
        """
        models:
          - {id: broken, path: weights/broken, steps: 1, guidance: 0, tiers: [draft]}
        routes:
          draft: [broken, sd-turbo, tiny]
    """,
    )
    registry = load_registry(home)
    candidates = registry.candidates("draft")
    assert candidates[0].id == "broken" and registry.weights_present(candidates[0])

    [row] = drafts_for(home, brief_rows(None, seed=5, sizes=((1200, 628),)))
    assert row["model"] == "tiny"
    assert (row["width"], row["height"]) == draft_size(registry.get("tiny"), 1200, 628)
    assert row["fallbacks"][0].startswith("broken: ")
    assert any(f.startswith("sd-turbo: weights not present") for f in row["fallbacks"])

    # Named explicitly, the broken model has nothing to fall back to.
    with pytest.raises(DraftError, match="no model could generate its drafts: broken: "):
        drafts_for(home, brief_rows("broken", seed=5))


def test_nan_and_black_output_are_refused():
    with pytest.raises(GenerationError, match="black"):
        generation.to_images(np.zeros((1, 8, 8, 3), dtype=np.float32))
    with pytest.raises(GenerationError, match="NaN"):
        generation.to_images(np.full((1, 8, 8, 3), np.nan, dtype=np.float32))
    assert generation.to_images(np.full((1, 8, 8, 3), 0.5, dtype=np.float32))[0].getpixel((0, 0)) == (128, 128, 128)


# ------------------------------------------------------------------ draft size


def spec_for(resolution: int, multiple: int) -> ModelSpec:
    return ModelSpec(id="m", path="x", steps=1, guidance=0, resolution=resolution, multiple=multiple)


@pytest.mark.parametrize(
    "resolution, multiple, size, expected",
    [
        (256, 16, (1080, 1080), (256, 256)),
        (512, 8, (64, 64), (512, 512)),  # small deliverables still draft at native size
        (256, 16, (1200, 628), (352, 192)),
        (256, 16, (628, 1200), (192, 352)),
        (256, 16, (4096, 64), (512, 128)),  # 64:1 clamped to 4:1; the caller crops
        (256, 16, (64, 4096), (128, 512)),
        (1024, 16, (1920, 1080), (1360, 768)),
    ],
)
def test_draft_size(resolution, multiple, size, expected):
    spec = spec_for(resolution, multiple)
    width, height = draft_size(spec, *size)
    assert (width, height) == expected
    assert width % multiple == 0 and height % multiple == 0
    assert max(width / height, height / width) <= 4.0


def test_the_drafts_stage_says_why_it_generated():
    from asset_pipeline.stages.drafts import why_generated

    old = {"asset": "a", "variant": 1, "aspect": "512x512", "prompt": "p", "negative_prompt": None, "seed": 1,
           "model": "tiny", "weights_hash": "w", "image_sha256": "x", "cache_hit": False}  # fmt: skip
    rows = [
        dict(old, prompt="coral palette, p"),  # the steering palette changed
        dict(old, asset="b"),  # no previous draft
        dict(old, cache_hit=True),  # reused: not counted
    ]
    previous = [old, dict(old, asset="c")]
    assert why_generated(previous, rows, ["#FF5A36"], ["#2255CC"]) == {"brand palette changed": 1, "new": 1}
    assert why_generated(previous, [dict(old, seed=2), dict(old)], [], []) == {"seed changed": 1, "cache miss": 1}
    assert why_generated(previous, [dict(old, prompt="q")], [], []) == {"prompt changed": 1}
