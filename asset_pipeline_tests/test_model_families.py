"""Each architecture family the registry can route to (SD, SDXL, SD3, Flux) loads and drafts.

Tiny random pipelines from `families.py` stand in for real checkpoints: they go through
exactly the path a real one takes (models.yaml -> load_registry -> DraftGenerator ->
`from_pretrained(local_files_only=True)`), with `pipeline_class: auto` detecting the class.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing in these tests may reach a hub

import numpy as np
import pytest

from asset_pipeline.models import generation
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import draft_size, load_registry
from asset_pipeline.models.tiny import weights_hash
from asset_pipeline_tests.support.families import FAMILIES, build_family_model

FAMILY_NAMES = ["sd", "sdxl", "sd3", "flux"]
DELIVERABLE = (1200, 628)
PROMPT = "ceramic mug on a wooden table, studio light"


@pytest.fixture(scope="session")
def family_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {name: build_family_model(name, root / name) for name in FAMILY_NAMES}


@pytest.fixture(scope="session")
def family_home(tmp_path_factory, family_models) -> Path:
    """A home whose models.yaml registers each family's folder as `<family>-tiny` (class auto),
    and the SDXL one a second time with its class named explicitly."""
    home = tmp_path_factory.mktemp("family-home")
    entries = [FAMILIES[name].registry_entry(f"{name}-tiny", family_models[name]) for name in FAMILY_NAMES]
    entries.append(
        FAMILIES["sdxl"].registry_entry("sdxl-named", family_models["sdxl"], pipeline_class="StableDiffusionXLPipeline")
    )
    # JSON is YAML: the entries go in as they are.
    (home / "models.yaml").write_text(json.dumps({"models": entries}, indent=2), encoding="utf-8")
    return home


def png_sha(image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def test_families_describe_their_pipelines():
    assert set(FAMILY_NAMES) <= set(FAMILIES)
    for family in FAMILIES.values():
        assert family.multiple % family.min_multiple == 0, family.name
        assert family.min_multiple % family.vae_scale_factor == 0, family.name
        entry = family.registry_entry("x", "/m")
        assert entry["pipeline_class"] == "auto" and entry["multiple"] == family.multiple
    with pytest.raises(ValueError, match="unknown model family"):
        build_family_model("nope", Path("/nonexistent"))


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_family_folder_is_a_real_pipeline_of_its_class(family, family_models):
    folder = family_models[family]
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == FAMILIES[family].pipeline_class
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert not any(name.endswith((".bin", ".pt", ".ckpt")) for name in files)  # safetensors only
    components = {k: v for k, v in index.items() if isinstance(v, list) and v[0] is not None}
    for component, (_library, cls) in components.items():
        assert (folder / component).is_dir(), component
        if cls == "CLIPTokenizer":
            assert {f"{component}/vocab.json", f"{component}/merges.txt"} <= files
        if cls.startswith("T5Tokenizer"):
            assert f"{component}/tokenizer.json" in files


def test_rebuild_is_byte_identical(family_models, tmp_path):
    # SD3 has every kind of component (CLIP x2, T5 and its tokenizer, transformer, flow VAE).
    again = build_family_model("sd3", tmp_path / "sd3")
    assert weights_hash(again) == weights_hash(family_models["sd3"])
    assert build_family_model("sd3", again) == again  # an existing folder is kept as it is


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_family_drafts_through_the_registry(family, family_home):
    registry = load_registry(family_home)
    spec = registry.get(f"{family}-tiny")
    assert spec.pipeline_class == "auto"
    assert registry.weights_present(spec)
    width, height = draft_size(spec, *DELIVERABLE)
    assert width % FAMILIES[family].min_multiple == 0 and height % FAMILIES[family].min_multiple == 0

    generator = DraftGenerator(registry)
    pipe = generator.load(spec)
    assert type(pipe).__name__ == FAMILIES[family].pipeline_class  # "auto" found the class
    assert pipe.vae_scale_factor == FAMILIES[family].vae_scale_factor

    # A negative prompt too: the path the drafts stage takes with a brand's negative.
    first = generator.generate(spec, [PROMPT, PROMPT], ["blurry", "blurry"], [7, 8], width, height)
    again = generator.generate(spec, [PROMPT], ["blurry"], [7], width, height)
    assert [im.size for im in first] == [(width, height)] * 2 == [(352, 192)] * 2
    assert first[0].mode == "RGB"
    pixels = np.asarray(first[0], dtype=np.float32)
    assert np.isfinite(pixels).all() and pixels.max() > 0
    assert png_sha(first[0]) == png_sha(again[0])  # same seed, same bytes
    assert png_sha(first[0]) != png_sha(first[1])  # another seed, another image


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_explicit_pipeline_class_loads_the_same_folder(family_home):
    registry = load_registry(family_home)
    spec = registry.get("sdxl-named")
    assert spec.pipeline_class == "StableDiffusionXLPipeline"
    loads = generation.LOAD_COUNT
    images = DraftGenerator(registry).generate(spec, [PROMPT], [None], [3], *draft_size(spec, 628, 1200))
    assert images[0].size == (192, 352)
    assert generation.LOAD_COUNT == loads + 1
    auto = registry.get("sdxl-tiny")
    same = DraftGenerator(registry).generate(auto, [PROMPT], [None], [3], 192, 352)
    assert png_sha(same[0]) == png_sha(images[0])  # same weights, same pixels, whichever way loaded
