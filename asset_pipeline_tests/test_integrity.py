"""Integrity under damage: objects verified on read, published files repaired from the
content store, publication that leaves history, manifest and latest agreeing whatever
write fails, and `verify` reporting every disagreement."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from asset_pipeline.home import Home
from asset_pipeline.stages import publish as publish_module
from asset_pipeline.stages.drafts import DraftCache
from asset_pipeline.stages.publish import publish
from asset_pipeline.storage.objects import CorruptObjectError, ObjectStore, encode_png
from asset_pipeline.storage.tables import read_rows
from asset_pipeline.verification import verify
from asset_pipeline_tests.test_version_rule import _inputs


@pytest.fixture
def root(tmp_path, monkeypatch):
    from asset_pipeline.publishing import content_credentials

    monkeypatch.setattr(content_credentials, "available", lambda: False)
    return Home(tmp_path.resolve())


def test_a_swapped_object_is_quarantined_and_a_cache_miss(root):
    store = ObjectStore(root)
    sha = store.put_image(Image.new("RGB", (16, 16), "#123456"))
    cache = DraftCache(root, store)
    cache.put("k", {"image_sha256": sha, "model": "tiny", "seconds": 0.1})
    # Another valid PNG under the same name, as a careless copy or an attacker would leave it.
    store.path(sha).write_bytes(encode_png(Image.new("RGB", (16, 16), "#654321")))
    fresh = ObjectStore(root)
    assert DraftCache(root, fresh).get("k") is None  # regenerated, never trusted
    assert not fresh.path(sha).exists() and (root.objects / ".corrupt" / f"{sha}.png").exists()
    assert fresh.quarantined() == 1
    # Putting the right bytes again restores the object.
    assert fresh.put_image(Image.new("RGB", (16, 16), "#123456")) == sha and fresh.exists(sha)


def test_a_flipped_object_is_named_when_opened(root):
    store = ObjectStore(root)
    sha = store.put_image(Image.new("RGB", (16, 16), "#123456"))
    data = bytearray(store.path(sha).read_bytes())
    data[40] ^= 0xFF
    store.path(sha).write_bytes(bytes(data))
    with pytest.raises(CorruptObjectError, match=rf"object {sha[:12]}… in objects/ is damaged"):
        ObjectStore(root).open(sha)
    assert ObjectStore(root).quarantined() == 1


def _published(root):
    store = ObjectStore(root)
    result = publish(root, *_inputs(store, "#336699"), store)
    [entry] = result.manifest["deliverables"]
    return store, entry


@pytest.mark.parametrize("target", ["version", "latest"])
@pytest.mark.parametrize("damage", ["deleted", "garbled"])
def test_damaged_published_files_are_restored_byte_for_byte_with_no_new_version(root, target, damage):
    store, entry = _published(root)
    path = root.root / (entry["path"] if target == "version" else entry["latest_path"])
    original = path.read_bytes()
    if damage == "deleted":
        path.unlink()
    else:
        path.write_bytes(original[:100] + b"garbage")
    checked, problems = verify(root)
    assert len(problems) == 1 and problems[0].startswith(str(path.relative_to(root.root)))
    result = publish(root, *_inputs(store, "#336699"), store)
    assert path.read_bytes() == original and result.new_versions == 0
    assert result.repaired == [str(path.relative_to(root.root))]
    assert [r["version"] for r in read_rows(root, "publications", "rule")] == [1]
    assert verify(root)[1] == []


def test_verify_reports_a_manifest_that_disagrees_with_the_history(root):
    _, entry = _published(root)
    manifest_path = root.root / "published" / "rule" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["deliverables"][0]["version"] = 7
    manifest_path.write_text(json.dumps(manifest))
    checked, problems = verify(root)
    assert checked == 3 and problems == [
        "published/rule/manifest.json: hero v1 64x64: names v7, the history's latest is v1"
    ]


def _agree(root: Home) -> None:
    """History, manifest and latest.png name the same version."""
    history = [r for r in read_rows(root, "publications", "rule") if r["status"] == "published"]
    manifest = json.loads((root.root / "published" / "rule" / "manifest.json").read_text())
    [entry] = manifest["deliverables"]
    assert (entry["version"], entry["sha256"]) == (history[-1]["version"], history[-1]["sha256"])
    assert publish_module.sha256_file(root.root / entry["latest_path"]) == entry["sha256"]


def test_a_failure_at_any_write_leaves_history_manifest_and_latest_agreeing(root, monkeypatch):
    from asset_pipeline.publishing import gallery

    store, _ = _published(root)
    real = {
        (publish_module, "atomic_write_bytes"): publish_module.atomic_write_bytes,
        (publish_module, "write_rows"): publish_module.write_rows,
        (gallery, "atomic_write_bytes"): gallery.atomic_write_bytes,
    }

    def attempt(colour: str, fail_at: int | None) -> int:
        """Publish new pixels, failing the fail_at-th write; returns how many writes were tried."""
        calls = []

        def wrap(function):
            def write(*args, **kwargs):
                calls.append(function)
                if len(calls) == fail_at:
                    raise OSError(28, "No space left on device")
                return function(*args, **kwargs)

            return write

        for (module, name), function in real.items():
            monkeypatch.setattr(module, name, wrap(function))
        try:
            publish(root, *_inputs(store, colour), store)
        except OSError:
            assert fail_at is not None and len(calls) >= fail_at  # the rest are the roll-back's writes
        finally:
            monkeypatch.undo()
        return len(calls)

    writes = attempt("#000001", None)  # a clean publication of new pixels, to count its writes
    assert writes >= 4  # version file, history, manifest, latest (and the gallery's)
    for fail_at in range(1, writes + 1):
        attempt(f"#00{fail_at:02x}00", fail_at)
        _agree(root)
        assert verify(root)[1] == []
