"""SECURITY.md's guarantees, each tried the way an attacker would: a pickled checkpoint, class
names that are not diffusers classes, and storage that must hold no pickle."""

from __future__ import annotations

import json
import pickle
import shutil
import uuid

import pytest

from asset_pipeline.models.registry import load_registry
from asset_pipeline.specs import InputError
from asset_pipeline_tests.conftest import cli, write_brief
from asset_pipeline_tests.support.drafts import brief_rows, drafts_for

PICKLE_PROTOCOL_MARKS = tuple(bytes([0x80, n]) for n in range(2, 6))


class _Bomb:
    """Unpickling this runs `open(marker, "w")`: proof that a loader executed pickled code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_a_pickled_checkpoint_is_never_unpickled(home, tiny_model, tmp_path):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    hostile = home / "models" / "hostile"
    shutil.copytree(tiny_model, hostile)
    unet = hostile / "unet"
    (unet / "diffusion_pytorch_model.safetensors").unlink()
    (unet / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps({"weights": _Bomb(str(marker))}))
    (home / "models.yaml").write_text(
        "models:\n  - {id: hostile, path: models/hostile, pipeline_class: StableDiffusionPipeline, "
        "steps: 2, guidance: 0, resolution: 256, multiple: 16}\n"
        "routes:\n  draft: [hostile, tiny]\n"
    )

    [row] = drafts_for(home, brief_rows(None, seed=1))

    assert not marker.exists()  # the pickle was never loaded
    assert row["model"] == "tiny" and row["image_sha256"]
    assert row["fallbacks"] and row["fallbacks"][0].startswith("hostile:")


@pytest.mark.parametrize(
    "field, value",
    [
        ("pipeline_class", "os.system"),
        ("pipeline_class", "__import__('os').system"),
        ("scheduler", "subprocess.Popen"),
    ],
)
def test_class_names_are_diffusers_names_never_import_paths(home, field, value):
    (home / "models.yaml").write_text(
        f'models:\n  - {{id: evil, path: models/tiny, steps: 1, guidance: 0, {field}: "{value}"}}\n'
    )
    with pytest.raises(InputError) as caught:
        load_registry(home)
    assert any(p.field == f"models[0](id=evil).{field}" for p in caught.value.problems)


def test_a_model_folder_without_model_index_is_absent(home):
    (home / "models.yaml").write_text("models:\n  - {id: etc, path: /etc, steps: 1, guidance: 0}\n")
    listed = cli(home, "models", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert {row["id"]: row["present"] for row in json.loads(listed.stdout)}["etc"] is False


@pytest.mark.slow  # a full CLI run
def test_storage_holds_no_pickle(home):
    write_brief(
        home,
        "plain",
        "campaign: plain\nbrand: acme\nassets:\n"
        "  - {id: hero, prompt: mug, headline: Spring Sale, sizes: ['256x256']}\n",
    )
    result = cli(home, "run", "plain")
    assert result.returncode == 0, result.stdout + result.stderr

    checked = 0
    for path in home.rglob("*"):
        if not path.is_file() or path.is_relative_to(home / "dagster") or path.is_relative_to(home / "models"):
            continue  # the Dagster instance's own SQLite files; the model folder is checked below
        head = path.read_bytes()[:8]
        assert not head.startswith(PICKLE_PROTOCOL_MARKS), path
        if path.suffix == ".parquet":
            assert head.startswith(b"PAR1"), path
        elif path.suffix == ".png":
            assert head.startswith(b"\x89PNG"), path
        elif path.suffix == ".json":
            json.loads(path.read_text())
        checked += 1
    assert checked > 5
    weights = [p.name for p in (home / "models" / "tiny").resolve().rglob("*") if p.is_file()]
    assert not [n for n in weights if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]
