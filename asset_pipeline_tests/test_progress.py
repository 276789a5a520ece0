"""Progress on and off a terminal, and failures that name their step and root cause.

Off a terminal: plain lines per stage and per 10% of drafts (the reporter alone, and a run
in-process), the same from the multiprocess executor (slow, one test: both runs). On a
terminal: `asset-pipeline run` under a pseudo-terminal draws rich bars. Root causes: out of
memory, a full disk and missing weights are raised inside a real run's draft step; an
unreachable Celery result store, whose failure is the executor's and not a step's, is given to
the summary as Dagster records it (an engine event's error chain).
"""

from __future__ import annotations

import io
import os
import pty
import re
import select
import sys
import time
from types import SimpleNamespace

import pytest

from asset_pipeline_tests.conftest import make_home, start_cli, write_brief

BRIEF = """\
campaign: watch
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    headline: "Spring Sale"
    sizes: ["256x256", "512x256"]
    variants: 3
"""


def test_plain_progress_prints_each_tenth_of_drafts_once():
    from asset_pipeline.orchestration.progress import PlainProgress

    out = io.StringIO()
    reporter = PlainProgress("c", out)
    reporter.stage_started("drafts", at=100.0)
    for done in range(1, 31):
        reporter.drafts(done, 30, "tiny")
    reporter.stage_done("drafts", at=112.5)
    lines = out.getvalue().splitlines()
    assert lines[0] == "c: drafts started" and lines[-1] == "c: drafts done in 12.5 s"
    tenths = [line for line in lines if re.match(r"c: drafts \d+/30 ", line)]
    assert len(tenths) == 11 and tenths[0].startswith("c: drafts 1/30 (3%)")  # the first batch, then each 10%
    assert tenths[-1].startswith("c: drafts 30/30 (100%)")


def _run(home, monkeypatch, **kwargs):
    from asset_pipeline.home import Home
    from asset_pipeline.orchestration.runner import run_campaigns

    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    (home / "dagster").mkdir(exist_ok=True)
    write_brief(home, "watch", BRIEF)
    return run_campaigns(Home(home), ["watch"], **kwargs)[0]


def _shape(lines: list[str]) -> list[str]:
    """Progress lines without their timings and batch details: what every executor must print alike."""
    return [re.sub(r"(\d+\.\d s|, last: .*)$", "", line) for line in lines]


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_off_a_terminal_one_line_per_stage_and_the_same_from_the_multiprocess_executor(
    tmp_path, tiny_model, monkeypatch
):
    """Off a terminal, one line per stage and per drafts batch. The progress comes from the run's
    event log, not from the step's process: a process per step (the multiprocess executor)
    prints the same stage and drafts lines as a run in-process."""
    from asset_pipeline.orchestration.progress import PlainProgress

    printed = {}
    for executor in ("in_process", "multiprocess"):
        home = make_home(tmp_path / executor, tiny_model)  # a home each: both generate their drafts
        out = io.StringIO()
        summary = _run(home, monkeypatch, executor=executor, progress=lambda c, out=out: PlainProgress(c, out))
        assert summary.success, summary.error
        printed[executor] = out.getvalue().splitlines()
    lines = printed["in_process"]
    for stage in ("inputs", "drafts", "layout", "renders", "checks", "publication"):
        assert f"watch: {stage} started" in lines, lines
        assert any(re.fullmatch(rf"watch: {stage} done in \d+\.\d s", line) for line in lines), lines
    batches = [line for line in lines if line.startswith("watch: drafts ") and "/" in line]
    assert batches and batches[-1].startswith("watch: drafts 3/3 (100%)"), lines  # 3 variants: one key visual each
    assert any(line.startswith("watch: drafts 3/3 (100%)") for line in printed["multiprocess"]), printed
    assert _shape(printed["multiprocess"]) == _shape(lines), printed


@pytest.mark.slow
def test_on_a_terminal_run_draws_progress_bars(home):
    """`asset-pipeline run` under a pseudo-terminal: rich bars with k/n, elapsed time and ETA."""
    write_brief(home, "watch", BRIEF)
    primary, secondary = pty.openpty()
    # A forked child opens the terminal itself: the secondary end stays open here until it has ended.
    process = start_cli(home, "run", "watch", terminal=os.ttyname(secondary), env={"COLUMNS": "120", "TERM": "xterm"})
    chunks, deadline = [], time.time() + 600
    while time.time() < deadline:
        ready, _, _ = select.select([primary], [], [], 1)
        if ready:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(secondary)
    os.close(primary)
    text = b"".join(chunks).decode("utf-8", "replace")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert process.returncode == 0, plain[-3000:]
    assert "━" in plain  # rich's bar
    assert re.search(r"watch drafts\s+━+\s+3/3", plain), plain[-3000:]
    assert "ETA" in plain and "elapsed" in plain
    assert "watch publication" in plain and "watch: 3 published" not in plain  # bars, not the plain lines
    assert "watch: 6 published" in plain  # the summary still follows


# ---------------------------------------------------------------- root causes


def _failing_generator(monkeypatch, error: BaseException):
    from asset_pipeline.models import generation

    def generate(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(generation.DraftGenerator, "generate", generate)


def test_out_of_memory_names_the_step_and_the_cause(home, monkeypatch):
    _failing_generator(monkeypatch, MemoryError("cannot allocate 4294967296 bytes"))
    summary = _run(home, monkeypatch)
    assert not summary.success
    assert summary.error.startswith("step draft_images: out of memory (MemoryError: cannot allocate"), summary.error
    assert "Traceback" in summary.traceback or "Stack Trace" in summary.traceback  # what --debug prints


def test_a_full_disk_names_the_step_and_the_cause(home, monkeypatch):
    _failing_generator(monkeypatch, OSError(28, "No space left on device"))
    summary = _run(home, monkeypatch)
    assert summary.error == "step draft_images: OSError: [Errno 28] No space left on device", summary.error


def test_missing_weights_name_the_step_and_the_model(home, monkeypatch):
    from asset_pipeline.models.registry import Registry

    monkeypatch.setattr(Registry, "weights_present", lambda self, spec: False)
    summary = _run(home, monkeypatch)
    assert summary.error.startswith("step draft_images: DraftError: asset 'hero': no model could generate"), (
        summary.error
    )
    assert "tiny: weights not present" in summary.error


def test_an_unreachable_result_store_is_named_not_just_run_failed():
    """The executor's own failure (no step failed): the innermost error of the engine event's chain."""
    from dagster._utils.error import serializable_error_info_from_exc_info

    from asset_pipeline.orchestration.runner import _failure

    message = (
        "Retry limit exceeded while trying to reconnect to the Celery result store backend. "
        "The Celery application must be restarted."
    )
    try:
        try:
            raise RuntimeError(message)
        except RuntimeError as exc:
            raise ConnectionError("wrapped by the executor") from exc
    except ConnectionError:
        error = serializable_error_info_from_exc_info(sys.exc_info())
    error = error._replace(cls_name="DagsterExecutionInterruptedError", message="the executor stopped")._replace(
        cause=error.cause
    )
    events = [
        SimpleNamespace(is_step_failure=False, event_type_value="ENGINE_EVENT", step_key=None,
                        event_specific_data=SimpleNamespace(error=None)),
        SimpleNamespace(is_step_failure=False, event_type_value="ENGINE_EVENT", step_key=None,
                        event_specific_data=SimpleNamespace(error=error)),
        SimpleNamespace(is_step_failure=False, event_type_value="RUN_FAILURE", step_key=None,
                        event_specific_data=SimpleNamespace(error=None)),
    ]  # fmt: skip
    line, traceback = _failure(SimpleNamespace(all_events=events))
    assert line == f"run: RuntimeError: {message}"
    assert "wrapped by the executor" not in line and message in traceback
