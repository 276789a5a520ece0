"""The upscale stage: Lanczos by default, a diffusers upscaler when the registry names one
whose weights are local, and text drawn again at final resolution either way.

The upscaler is a tiny random model of the SD x4 upscaler's architecture
(StableDiffusionUpscalePipeline, built from config by `build_tiny_upscaler`), registered in
models.yaml and loaded through the registry with `from_pretrained(local_files_only=True)`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import pytest
from PIL import Image

from asset_pipeline.checks.compare import text_similarity
from asset_pipeline.checks.tesseract import ocr_available
from asset_pipeline.framing import aspect_crop_box, crop_to_aspect
from asset_pipeline.home import Home
from asset_pipeline.models.registry import UPSCALE, load_registry
from asset_pipeline.models.upscaler import find_upscaler
from asset_pipeline.specs import Brand, InputError
from asset_pipeline.stages.upscale import background_for, needs_enlarging, upscale
from asset_pipeline.storage.cache import ObjectResultCache
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.typography import choose_colours, layout_text
from asset_pipeline_tests.support.families import TINY_UPSCALER_ENTRY, build_tiny_upscaler
from asset_pipeline_tests.support.ocr import read_boxes

BRAND = Brand(brand="acme", disclaimer="Offer ends May 31.")
TEXTS = {"headline": "Spring Sale", "cta": "Shop now"}


@pytest.fixture(scope="session")
def upscaler_model(tmp_path_factory) -> Path:
    return build_tiny_upscaler(tmp_path_factory.mktemp("upscaler") / "x4-tiny")


def write_models(home: Path, entries: list[dict], routes: dict | None = None) -> None:
    data = {"models": entries, **({"routes": routes} if routes else {})}
    (home / "models.yaml").write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML


@pytest.fixture
def upscaler_home(tmp_path, upscaler_model) -> Path:
    write_models(tmp_path, [{"id": "x4-tiny", "path": str(upscaler_model), **TINY_UPSCALER_ENTRY}])
    return tmp_path


def draft(seed: int = 0, side: int = 64) -> Image.Image:
    """A small smooth draft: a deliverable of any real size has to be enlarged from it."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC)


def png_sha(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return hashlib.sha256(buffer.getvalue()).hexdigest()


# ---------------------------------------------------------------- the registry


def test_the_upscale_route_puts_a_users_upscaler_first_and_draft_routes_never_see_it(upscaler_home):
    registry = load_registry(upscaler_home)
    assert registry.routes[UPSCALE][0] == "x4-tiny"
    assert "x4-tiny" not in registry.routes["draft"] + registry.routes["final"]
    assert registry.get("sd-x4-upscaler").pipeline_class == "StableDiffusionUpscalePipeline"
    with pytest.raises(ValueError, match="x4-tiny.*upscaler"):
        registry.candidates("draft", "x4-tiny")
    row = next(r for r in registry.rows() if r["id"] == "x4-tiny")
    assert row["present"] and row["routes"] == [UPSCALE]


def test_routing_a_draft_model_as_upscaler_is_an_input_error(tmp_path):
    write_models(tmp_path, [], routes={"upscale": ["tiny"]})
    with pytest.raises(InputError) as info:
        load_registry(tmp_path)
    assert "routes.upscale[0]" in str(info.value) and "not for tier 'upscale'" in str(info.value)


def test_without_local_upscaler_weights_the_engine_is_lanczos(tmp_path):
    # the built-in sd-x4-upscaler entry is absent here (no local weights), and [] turns routing off
    assert find_upscaler(load_registry(tmp_path)) is None
    write_models(tmp_path, [{"id": "x4-gone", "path": str(tmp_path / "nowhere"), **TINY_UPSCALER_ENTRY}])
    assert find_upscaler(load_registry(tmp_path)) is None
    write_models(tmp_path, [], routes={"upscale": []})
    assert load_registry(tmp_path).routes[UPSCALE] == []


# ---------------------------------------------------------------- the engine


def test_tiny_x4_upscaler_enlarges_to_the_exact_size_reproducibly(upscaler_home):
    upscaler = find_upscaler(load_registry(upscaler_home))
    assert upscaler is not None and upscaler.engine == "diffusers:x4-tiny"
    for width, height in [(300, 250), (728, 90), (160, 600)]:
        image, engine, failure = background_for(draft(), width, height, upscaler, "a mug", 7)
        assert image.size == (width, height) and image.mode == "RGB"
        assert engine == "diffusers:x4-tiny" and failure is None
    again, _, _ = background_for(draft(), 300, 250, upscaler, "a mug", 7)
    first, _, _ = background_for(draft(), 300, 250, upscaler, "a mug", 7)
    lanczos, engine, _ = background_for(draft(), 300, 250, None, "a mug", 7)
    assert png_sha(again) == png_sha(first)  # same seed, same pixels
    assert engine == "lanczos" and png_sha(lanczos) != png_sha(first)


def test_a_draft_that_already_has_the_pixels_is_only_scaled_down(upscaler_home):
    upscaler = find_upscaler(load_registry(upscaler_home))
    big = draft(side=512)
    box = lambda w, h: aspect_crop_box(big.width, big.height, w, h)  # noqa: E731
    assert not needs_enlarging(box(300, 250), 300, 250) and needs_enlarging(box(1080, 1080), 1080, 1080)
    image, engine, _ = background_for(big, 300, 250, upscaler, "a mug", 7)
    assert engine == "lanczos" and image.size == (300, 250)


@pytest.mark.skipif(not ocr_available(), reason="tesseract with 'eng' is not installed")
def test_upscale_stage_records_the_engine_and_text_is_drawn_at_final_resolution(upscaler_home, tmp_path):
    home = Home(tmp_path / "home")
    store = ObjectStore(home)
    source = draft(seed=3)
    sha = store.put_image(source)
    drafts = [{"draft_key": "k1", "image_sha256": sha, "prompt": "a mug", "seed": 11}]
    layouts = []
    for width, height in [(300, 250), (728, 90)]:
        layout = layout_text(width, height, TEXTS, BRAND, Path("."))
        layout = choose_colours(layout, crop_to_aspect(source, width, height, max_side=64), BRAND)
        layouts.append(
            {
                "campaign": "c",
                "asset": "a",
                "variant": 1,
                "size": f"{width}x{height}",
                "draft_key": "k1",
                "layout": layout.to_json(),
                "error": None,
            }
        )
    upscaler = find_upscaler(load_registry(upscaler_home))
    cache = ObjectResultCache(home, "renders", store)
    rows, reused = upscale(layouts, drafts, "brand", store, cache, upscaler)
    assert reused == 0 and [r["engine"] for r in rows] == ["diffusers:x4-tiny"] * 2
    for row, spec in zip(rows, layouts):
        image = store.open(row["image_sha256"])
        assert f"{image.width}x{image.height}" == row["size"]
        layout = type(layout).from_json(spec["layout"])
        for box, read in zip(layout.boxes, read_boxes(image, layout.boxes)):
            assert text_similarity(box.text, read) == 1.0, (row["size"], box.text, read)
    # a re-run reuses the renders and still knows which engine made them
    again, reused = upscale(layouts, drafts, "brand", store, cache, upscaler)
    assert reused == 2 and [r["engine"] for r in again] == ["diffusers:x4-tiny"] * 2
    lanczos_rows, _ = upscale(layouts, drafts, "brand", store, cache, None)
    assert [r["engine"] for r in lanczos_rows] == ["lanczos"] * 2
    assert lanczos_rows[0]["image_sha256"] != rows[0]["image_sha256"]
