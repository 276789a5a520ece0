"""Progress of `run`: one bar per stage on a terminal, plain lines elsewhere, read from the run's event log.

The steps report nothing to the terminal themselves: the drafts step logs one line per
batch to Dagster's run log (`draft_progress_line`), which the UI shows, and every step's
start and end is an event there anyway. `watch` follows that log from a thread while the
run executes, so an in-process run, a process per step and Celery workers all print the
same: whatever the executor, the events land in the home's instance.

- On a terminal (`TerminalProgress`, rich): a bar per stage, drafts k/n with elapsed time and
  ETA, then layout, renders, checks and publication as they start and finish.
- Elsewhere (`PlainProgress`): a line when a stage starts and ends, and one per 10% of drafts.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import dagster as dg

# Step keys (the ops behind the assets) -> what the terminal calls them.
STAGES = {
    "campaign_inputs": "inputs",
    "draft_images": "drafts",
    "typeset_images": "layout",
    "upscaled_images": "renders",
    "check_results": "checks",
    "quality_checks": "gates",
    "published_assets": "publication",
}
TAG = "asset_pipeline/invocation"  # finds the run a watcher follows, whichever executor launched it
_DRAFTS = re.compile(r"^drafts (\d+)/(\d+): (.*)$")


def draft_progress_line(done: int, total: int, detail: str) -> str:
    """The run-log line of one batch of drafts (what `watch` parses)."""
    return f"drafts {done}/{total}: {detail}"


def invocation_tag() -> dict[str, str]:
    return {TAG: uuid.uuid4().hex}


class PlainProgress:
    """Lines for a log file or a pipe: a stage's start and end, and drafts per 10%."""

    def __init__(self, campaign: str, stream: TextIO | None = None):
        self.campaign, self.stream = campaign, stream or sys.stderr
        self.started: dict[str, float] = {}
        self.tenths = -1

    def _say(self, text: str) -> None:
        print(f"{self.campaign}: {text}", file=self.stream, flush=True)

    def stage_started(self, stage: str, at: float | None = None) -> None:
        self.started[stage] = at or time.time()
        self._say(f"{stage} started")

    def drafts(self, done: int, total: int, detail: str) -> None:
        tenths = done * 10 // max(total, 1)
        if tenths > self.tenths:  # each 10% once; the last batch always reaches 100%
            self.tenths = tenths
            self._say(f"drafts {done}/{total} ({100 * done // max(total, 1)}%), last: {detail}")

    def stage_done(self, stage: str, failed: bool = False, at: float | None = None) -> None:
        at = at or time.time()
        seconds = at - self.started.get(stage, at)
        self._say(f"{stage} {'FAILED' if failed else 'done'} in {seconds:.1f} s")

    def close(self) -> None:
        pass


class TerminalProgress:
    """A rich progress display: one bar per stage, drafts k/n with elapsed time and ETA."""

    def __init__(self, campaign: str, stream: TextIO | None = None):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.campaign = campaign
        console = Console(file=stream or sys.stderr)
        self.bars = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, int] = {}
        self.bars.start()

    def _task(self, stage: str, total: int | None = 1) -> int:
        if stage not in self.tasks:
            self.tasks[stage] = self.bars.add_task(f"{self.campaign} {stage}", total=total)
        return self.tasks[stage]

    def stage_started(self, stage: str, at: float | None = None) -> None:
        self._task(stage, None if stage == "drafts" else 1)

    def drafts(self, done: int, total: int, detail: str) -> None:
        self.bars.update(self._task("drafts", total), total=total, completed=done)

    def stage_done(self, stage: str, failed: bool = False, at: float | None = None) -> None:
        task = self._task(stage)
        total = self.bars.tasks[task].total or 1
        if failed:
            self.bars.update(task, description=f"{self.campaign} {stage} FAILED")
            self.bars.stop_task(task)
        else:
            self.bars.update(task, total=total, completed=total)

    def close(self) -> None:
        self.bars.stop()


def reporter_for(campaign: str, stream: TextIO | None = None):
    """A bar display on a terminal, plain lines elsewhere."""
    stream = stream or sys.stderr
    return TerminalProgress(campaign, stream) if stream.isatty() else PlainProgress(campaign, stream)


def _relay(record, reporter) -> None:
    event = record.dagster_event
    if event is None:  # a log call from a step: the drafts' batch lines
        match = _DRAFTS.match(record.user_message or "")
        if match:
            reporter.drafts(int(match.group(1)), int(match.group(2)), match.group(3))
        return
    stage = STAGES.get(event.step_key or "")
    if stage is None:
        return
    at = record.timestamp  # when it happened, not when the watcher read it
    if event.event_type_value == "STEP_START":
        reporter.stage_started(stage, at)
    elif event.event_type_value == "STEP_SUCCESS":
        reporter.stage_done(stage, at=at)
    elif event.event_type_value == "STEP_FAILURE":
        reporter.stage_done(stage, failed=True, at=at)


@contextmanager
def watch(instance: dg.DagsterInstance, tags: dict[str, str], reporter, poll_s: float = 0.2) -> Iterator[None]:
    """Follow the run tagged `tags` while the block runs, relaying its stages to `reporter`."""
    stop = threading.Event()

    def follow() -> None:
        run_id, cursor = None, None
        while True:
            finished = stop.is_set()  # read first: one last pass after the run ends
            try:
                if run_id is None:
                    runs = instance.get_runs(filters=dg.RunsFilter(tags=tags), limit=1)
                    run_id = runs[0].run_id if runs else None
                while run_id is not None:  # only what is new: a run of many campaigns logs thousands of events
                    page = instance.get_records_for_run(run_id, cursor=cursor, limit=1000)
                    for record in page.records:
                        _relay(record.event_log_entry, reporter)
                    cursor = page.cursor
                    if not page.has_more:
                        break
            except Exception:  # progress is a courtesy: never let it break or stop a run
                pass
            if finished:
                return
            stop.wait(poll_s)

    thread = threading.Thread(target=follow, name="run-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
        reporter.close()
