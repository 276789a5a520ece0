"""A full disk: the run fails cleanly (exit 2, one line, no traceback), nothing published before
changes, nothing is left half-written, and the same run succeeds once there is room again."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from asset_pipeline.storage.disk import disk_full_line
from asset_pipeline_tests.conftest import cli, make_home, write_brief

BRIEF = """\
campaign: roomy
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug"
    headline: "{headline}"
    sizes: ["256x256", "256x320"]
    seed: 5
"""
TMPFS_MB = 40
TEMPORARY_MARKERS = (".tmp", ".partial", ".building-")


def snapshot(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leftovers(home: Path) -> list[str]:
    return [
        p.as_posix() for p in home.rglob("*") if p.is_file() and any(marker in p.name for marker in TEMPORARY_MARKERS)
    ]


@pytest.fixture
def small_disk(tmp_path):
    """A TMPFS_MB tmpfs (root can mount one); None where this machine does not allow it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


# Runs `asset-pipeline run` with the disk made full on entry to one stage's function (as the
# assets module calls it): argv is DISK (a mount to fill, or "-": limit file sizes instead), STAGE, ARGS.
FULL_AT_STAGE = """
import os, resource, signal, sys, uuid
from pathlib import Path
import asset_pipeline.orchestration.assets as assets
from asset_pipeline.cli import main

disk, stage = sys.argv[1], sys.argv[2]
original = getattr(assets, stage)

def full_then_run(*args, **kwargs):
    if disk == "-":  # where no small disk can be mounted: a write past 64 KiB fails instead
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    else:
        with open(Path(disk) / f"filler-{uuid.uuid4().hex}", "wb") as out:
            try:
                while True:
                    out.write(bytes(1 << 20))
            except OSError:
                pass
    return original(*args, **kwargs)

setattr(assets, stage, full_then_run)
sys.exit(main(sys.argv[3:]))
"""
# What `run` may print on stderr besides the one clean line: its progress (orchestration/progress.py).
PROGRESS = re.compile(r"^roomy: (\w+ started|\w+ (done|FAILED) in [\d.]+ s|drafts \d+/\d+ \(\d+%\), last: .*)$")
STAGES = {"drafts": "generate_drafts", "renders": "upscale", "publication": "publish"}


def run_with_full_disk(home: Path, disk: Path | None, stage: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    return subprocess.run(
        [sys.executable, "-c", FULL_AT_STAGE, str(disk or "-"), STAGES[stage], "run", "roomy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=home.parent,
    )


@pytest.mark.slow
def test_full_disk_at_each_stage_fails_cleanly_and_keeps_what_was_published(small_disk, tmp_path, tiny_model):
    # The whole home is on the small disk: its Dagster instance's SQLite fills up with the rest.
    home = make_home((small_disk or tmp_path) / "home", tiny_model)
    write_brief(home, "roomy", BRIEF.format(headline="Spring Sale"))
    first = cli(home, "run", "roomy")
    assert first.returncode == 0, first.stdout + first.stderr
    before = snapshot(home / "published")
    manifest_before = json.loads((home / "published" / "roomy" / "manifest.json").read_text())

    # A changed headline: every deliverable would get a new version, but the disk fills at each stage in turn.
    write_brief(home, "roomy", BRIEF.format(headline="Summer Sale"))
    for stage in STAGES:
        failed = run_with_full_disk(home, small_disk, stage)
        assert failed.returncode == 2, failed.stdout + failed.stderr
        assert "Traceback" not in failed.stdout + failed.stderr
        if small_disk is not None:
            *progress, last = failed.stderr.strip().splitlines()
            assert last.startswith(f"error: no space left on device under {home} (") and last == disk_full_line(home)
            assert [line for line in progress if not PROGRESS.match(line)] == [], f"{stage}:\n{failed.stderr}"
            for filler in small_disk.glob("filler-*"):
                filler.unlink()
        assert snapshot(home / "published") == before, stage  # earlier publications byte-identical
        assert leftovers(home) == [], stage

    # Room again: the same run completes, with a new version of every deliverable.
    again = cli(home, "run", "roomy")
    assert again.returncode == 0, again.stdout + again.stderr
    manifest = json.loads((home / "published" / "roomy" / "manifest.json").read_text())
    assert [e["version"] for e in manifest["deliverables"]] == [
        e["version"] + 1 for e in manifest_before["deliverables"]
    ]
    for path, sha in before.items():  # old versions still readable at their own paths
        if "/v" in path and path.endswith(".png") and not path.endswith("latest.png"):
            assert hashlib.sha256((home / "published" / path).read_bytes()).hexdigest() == sha
    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as con:
        dupes = con.execute(
            "SELECT count(*) - count(DISTINCT (asset, variant, size, version)) "
            "FROM publications WHERE status = 'published'"
        ).fetchone()[0]
    assert dupes == 0
    assert leftovers(home) == []


# ------------------------------------------- a full disk is never a reason to fall back to another model


def _disk_full(path: str = "/home/objects/ab/x.png.tmp") -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


TWO_MODELS = """\
models:
  - {id: tiny2, path: models/tiny, pipeline_class: StableDiffusionPipeline, steps: 2, guidance: 0,
     resolution: 256, multiple: 16, tiers: [draft, final]}
routes:
  draft: [tiny, tiny2]
  final: [tiny, tiny2]
"""


ROW = {
    "campaign": "roomy",
    "asset": "hero",
    "variant": 1,
    "size": "256x256",
    "width": 256,
    "height": 256,
    "prompt": "a mug",
    "negative_prompt": None,
    "tier": "draft",
    "model": None,
    "seed": 5,
    "palette": [],
}


def test_loading_fails_fast_on_a_full_disk_without_trying_the_next_model(home, monkeypatch):
    from asset_pipeline.home import Home
    from asset_pipeline.models import generation
    from asset_pipeline.models.registry import load_registry
    from asset_pipeline.stages import drafts

    (home / "models.yaml").write_text(TWO_MODELS)
    registry = load_registry(home)
    loads = []

    def load(self, spec):
        loads.append(spec.id)
        raise _disk_full()

    monkeypatch.setattr(generation.DraftGenerator, "load", load)
    with pytest.raises(OSError) as caught:
        drafts.generate_drafts([ROW], registry, generation.DraftGenerator(registry), Home(home.resolve()))
    assert caught.value.errno == errno.ENOSPC and loads == ["tiny"]


def test_drafts_stage_fails_fast_on_a_full_disk_without_trying_the_next_model(home, monkeypatch):
    from PIL import Image

    from asset_pipeline.home import Home
    from asset_pipeline.models.generation import DraftGenerator
    from asset_pipeline.models.registry import load_registry
    from asset_pipeline.stages import drafts

    (home / "models.yaml").write_text(TWO_MODELS)
    registry = load_registry(home)
    generated = []

    def generate(self, spec, prompts, negatives, seeds, width, height):
        generated.append(spec.id)
        return [Image.new("RGB", (width, height), (200, 120, 40)) for _ in prompts]

    def put_image(self, image):
        raise _disk_full()

    monkeypatch.setattr(DraftGenerator, "generate", generate)
    monkeypatch.setattr(drafts.ObjectStore, "put_image", put_image)
    with pytest.raises(OSError) as caught:
        drafts.generate_drafts([ROW], registry, DraftGenerator(registry), Home(home.resolve()))
    assert caught.value.errno == errno.ENOSPC
    assert generated == ["tiny"]  # tiny2 was never asked: the disk, not the model, failed


def test_a_full_disk_reads_as_one_documented_line(tmp_path):
    from asset_pipeline.storage.disk import disk_full_line, is_disk_full, mentions_disk_full

    try:
        try:
            raise _disk_full()
        except OSError as exc:
            raise RuntimeError("step failed") from exc
    except RuntimeError as exc:
        assert is_disk_full(exc)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert mentions_disk_full("step draft_images: OSError: [Errno 28] No space left on device: '/h/x.tmp'")
    line = disk_full_line(tmp_path)
    assert line.startswith(f"error: no space left on device under {tmp_path} (") and "\n" not in line
