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

# Parallel workers (`make test` runs `pytest -n 2`): one torch thread per process, set before torch
# is imported, and inherited by every command and server a test starts. Two workers each running
# two OpenMP threads on two cores spin against each other: torch work ran 3 to 7 times slower.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# The modules that take longest (`--durations`, 2-core VM, 2026-12-07), slowest first. Collected
# first so that parallel workers start on them (`--no-loadscope-reorder` keeps this order) and
# none is left to run alone at the end; the order of tests inside a module never changes.
LONGEST_MODULES = (
    "test_scale_out.py",
    "test_crash.py",
    "test_end_to_end.py",
    "test_progress.py",
    "test_evaluations.py",
    "test_damage_end_to_end.py",
    "test_locales_end_to_end.py",
    "test_hallucination.py",
    "test_publication.py",
    "test_size_families.py",
    "test_logo_end_to_end.py",
    "test_api_server.py",
    "test_disk_full.py",
    "test_key_visual.py",
    "test_review.py",
    "test_ui.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: index for index, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: file order otherwise


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


def cli_env(home: Path) -> dict:
    return dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))


def cli(home: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`asset-pipeline ARGS` against `home`, as a user would run it, in a process of its own.

    The process is forked from a server that has the heavy modules imported already
    (support/cli_server.py), so a command costs its work, not seconds of imports.
    `cli_process` runs `python -m asset_pipeline` itself, for tests of the entry point.
    """
    child = start_cli(home, *args)
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise
    return subprocess.CompletedProcess(
        ["asset-pipeline", *args], child.returncode, child.stdout.read_text(), child.stderr.read_text()
    )


def start_cli(home: Path, *args: str, terminal: str | None = None, env: dict | None = None):
    """Start `asset-pipeline ARGS` against `home` (a forked child: pid, wait(), kill(), its output files).

    `terminal`: the path of a pseudo-terminal's secondary end, to be the child's stdout and stderr
    (it opens it, so it is the child's controlling terminal); `env`: variables on top of the home's.
    """
    import tempfile

    from asset_pipeline_tests.support.cli_server import CliServer

    global _CLI_SERVER, _CLI_OUTPUT
    if _CLI_SERVER is None:
        _CLI_SERVER, _CLI_OUTPUT = CliServer(), Path(tempfile.mkdtemp(prefix="asset-pipeline-cli-"))
    output = Path(tempfile.mkdtemp(dir=_CLI_OUTPUT))
    stdout, stderr = (Path(terminal), Path(terminal)) if terminal else (output / "stdout", output / "stderr")
    child = _CLI_SERVER.start(args, {**cli_env(home), **(env or {})}, home.parent, stdout, stderr)
    child.stdout, child.stderr = stdout, stderr
    return child


_CLI_SERVER = _CLI_OUTPUT = None


def cli_process(home: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m asset_pipeline ARGS` against `home`: a whole new interpreter, imports and all."""
    return subprocess.run(
        [sys.executable, "-m", "asset_pipeline", *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=home.parent,
    )


def pytest_sessionfinish(session, exitstatus):
    if _CLI_SERVER is not None:
        _CLI_SERVER.close()
        shutil.rmtree(_CLI_OUTPUT, ignore_errors=True)


def free_port() -> int:
    """A TCP port nothing listens on now, on loopback (for servers a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
