"""Shared fixtures: a throwaway home with the sample brand, and the tiny model built once."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_BRAND = REPO / "data" / "brands" / "acme.yaml"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _load_anyio_eagerly() -> None:
    """Resolve anyio's lazy submodules now, on the main thread.

    anyio is a pytest plugin, so pytest rewrites its modules with `ast.parse` on import; its
    lazy importer would do that later in Starlette's worker thread, and CPython 3.11.7's AST
    converter is not thread-safe (gh-106905: "AST constructor recursion depth mismatch").
    """
    import anyio

    for name in dir(anyio):
        getattr(anyio, name)


_load_anyio_eagerly()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from asset_pipeline.models.tiny import ensure_tiny_model

    return ensure_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


def make_home(root: Path, tiny_model: Path) -> Path:
    (root / "briefs").mkdir(parents=True)
    (root / "brands").mkdir()
    shutil.copy(SAMPLE_BRAND, root / "brands" / "acme.yaml")
    (root / "models").mkdir()
    # The registry's built-in `tiny` lives at <home>/models/tiny; share one build across tests.
    (root / "models" / "tiny").symlink_to(tiny_model, target_is_directory=True)
    # Tests route to the random tiny model (fast); the embedded default has its own tests.
    (root / "models.yaml").write_text("routes:\n  draft: [tiny]\n  final: [tiny]\n", encoding="utf-8")
    return root


@pytest.fixture
def home(tmp_path, tiny_model) -> Path:
    return make_home(tmp_path / "home", tiny_model)


def write_brief(home: Path, campaign: str, text: str) -> Path:
    path = home / "briefs" / f"{campaign}.yaml"
    path.write_text(text)
    return path


def cli(home: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m asset_pipeline ARGS` against `home`, as a user would run it."""
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    return subprocess.run(
        [sys.executable, "-m", "asset_pipeline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=home.parent,
    )


def free_port() -> int:
    """A TCP port nothing listens on now, on loopback (for servers a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
