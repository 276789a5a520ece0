"""The version rule, on `publish` as a plain function: a version grows when the published
pixels change, and only then; provenance-only changes are recorded without a new number."""

from __future__ import annotations

import pytest
from PIL import Image

from asset_pipeline.home import Home
from asset_pipeline.stages.publish import publish
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.tables import read_rows

KEY = {"campaign": "rule", "asset": "hero", "variant": 1, "size": "64x64"}


def _inputs(store: ObjectStore, colour: str, brand_hash: str = "b1", passed: bool = True):
    render_sha = store.put_image(Image.new("RGB", (64, 64), colour))
    brief = dict(KEY, brief_hash="f1", brand_hash=brand_hash, brand="acme")
    draft = {
        "asset": "hero", "variant": 1, "sizes": ["64x64"], "model": "tiny", "seed": 7, "prompt": "p",
        "negative_prompt": None, "weights_hash": "w", "steps": 2, "guidance": 0.0, "palette_grade": 0.0,
        "image_sha256": render_sha,
    }  # fmt: skip
    render = dict(KEY, image_sha256=render_sha, engine="lanczos")
    check = dict(KEY, render_sha256=render_sha, check="ocr", passed=passed, value=1.0, detail="read back")
    return [brief], [draft], [render], [check]


@pytest.fixture
def root(tmp_path, monkeypatch):
    from asset_pipeline.publishing import content_credentials

    monkeypatch.setattr(content_credentials, "available", lambda: False)  # signing is tested elsewhere
    return Home(tmp_path)


def _publish(root: Home, *rows):
    result = publish(root, *rows, ObjectStore(root))
    [entry] = result.manifest["deliverables"]
    return (
        entry,
        result.new_versions,
        [(r["status"], r["version"], r["change"]) for r in read_rows(root, "publications", "rule")],
    )


def test_changed_pixels_make_a_new_version_and_keep_the_old(root):
    store = ObjectStore(root)
    first, new, _ = _publish(root, *_inputs(store, "#336699"))
    assert (first["version"], new) == (1, 1)
    second, new, history = _publish(root, *_inputs(store, "#993366"))
    assert (second["version"], new) == (2, 1) and second["path"].endswith("/v2.png")
    assert (root.root / first["path"]).exists() and history == [("published", 1, "pixels"), ("published", 2, "pixels")]


def test_same_pixels_with_new_provenance_keep_the_version_and_record_the_change(root):
    store = ObjectStore(root)
    first, _, _ = _publish(root, *_inputs(store, "#336699"))
    before = (root.root / first["path"]).read_bytes()
    again, new, history = _publish(root, *_inputs(store, "#336699", brand_hash="b2"))
    assert (again["version"], again["path"], again["sha256"], new) == (1, first["path"], first["sha256"], 0)
    assert (root.root / first["path"]).read_bytes() == before  # a version file is never rewritten
    assert history == [("published", 1, "pixels"), ("published", 1, "provenance")]
    # Nothing changed at all: nothing recorded.
    _, new, unchanged = _publish(root, *_inputs(store, "#336699", brand_hash="b2"))
    assert new == 0 and unchanged == history


def test_rejected_after_good_then_good_again_is_the_same_version(root):
    store = ObjectStore(root)
    _publish(root, *_inputs(store, "#336699"))
    rejected, _, _ = _publish(root, *_inputs(store, "#336699", brand_hash="b2", passed=False))
    assert rejected["status"] == "rejected" and rejected["version"] == 1
    back, new, history = _publish(root, *_inputs(store, "#336699"))
    assert (back["status"], back["version"], new) == ("published", 1, 0)
    assert history == [("published", 1, "pixels"), ("rejected", 1, "rejected"), ("published", 1, "provenance")]


def test_cleared_caches_give_no_new_version(root):
    import shutil

    store = ObjectStore(root)
    _publish(root, *_inputs(store, "#336699"))
    shutil.rmtree(root.cache)
    again, new, _ = _publish(root, *_inputs(store, "#336699"))
    assert (again["version"], new) == (1, 0)
