"""Runs whose process died: marked failed, with the reason, when the next `run` starts.

A run killed with `kill -9` (or by the OOM killer, or a power cut) never reports its own end,
so the instance would show it STARTED forever. Every run `asset-pipeline run` launches carries
the launching process's pid, host and start time as tags (`launch_tags`). Before launching
anything, `fail_dead_runs` looks at the instance's unfinished runs: one whose launching process
is gone (no such pid, or the pid now belongs to a process that started later) is reported failed
through the instance's API, as Dagster's own run monitoring does for launched runs.

Runs without the tags (launched from the UI, say) are judged by the pid Dagster records in the
run's "Executing steps ..." engine event, and only when that pid is gone or was reused since the
run started; a run with no pid at all, or launched on another host, is left as it is.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType, JobFailureData, RunFailureReason

from asset_pipeline.home import Home
from asset_pipeline.storage.files import file_lock

PID_TAG = "asset_pipeline/pid"
HOST_TAG = "asset_pipeline/host"
PROCESS_STARTED_TAG = "asset_pipeline/process_started"  # clock ticks after boot, /proc/<pid>/stat field 22

UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
# Without our tags, only runs that have begun executing have a pid to judge.
STARTED_ONLY = {dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING}


def _process_start_ticks(pid: int) -> int | None:
    """When `pid` started, in clock ticks after boot; None when there is no such process (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    return int(stat.rpartition(")")[2].split()[19])


def _boot_time() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def launch_tags() -> dict[str, str]:
    """Tags naming this process, for every run it launches."""
    started = _process_start_ticks(os.getpid())
    return {
        PID_TAG: str(os.getpid()),
        HOST_TAG: socket.gethostname(),
        **({PROCESS_STARTED_TAG: str(started)} if started is not None else {}),
    }


def _engine_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid Dagster recorded as executing the run's steps ("Executing steps in process (pid: N)")."""
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        data = event.engine_event_data if event else None
        if data is None or not (event.message or "").startswith("Executing steps"):
            continue
        value = data.metadata.get("pid")
        text = getattr(value, "value", value)
        if isinstance(text, str) and text.isascii() and text.isdigit():
            return int(text)
    return None


def why_dead(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """Why `run`'s process is known to be gone, or None when it may still be running."""
    tags = run.tags
    if tags.get(HOST_TAG, socket.gethostname()) != socket.gethostname():
        return None  # another machine's process: it cannot be looked at from here
    tagged = tags.get(PID_TAG, "")
    if tagged.isascii() and tagged.isdigit():
        pid, recorded = int(tagged), tags.get(PROCESS_STARTED_TAG)
        if not _alive(pid):
            return f"its process (pid {pid}) is gone"
        now = _process_start_ticks(pid)
        if recorded is not None and now is not None and str(now) != recorded:
            return f"its process (pid {pid}) is gone; the pid now belongs to another process"
        return None
    if run.status not in STARTED_ONLY:
        return None
    pid = _engine_pid(instance, run.run_id)
    if pid is None:
        return None
    if not _alive(pid):
        return f"its process (pid {pid}) is gone"
    ticks, boot, record = _process_start_ticks(pid), _boot_time(), instance.get_run_record_by_id(run.run_id)
    started_at = record.start_time if record is not None else None
    if ticks is not None and boot is not None and started_at is not None:
        if boot + ticks / os.sysconf("SC_CLK_TCK") > started_at + 1:  # a process younger than the run
            return f"its process (pid {pid}) is gone; the pid now belongs to another process"
    return None


def fail_dead_runs(home: Home, instance: dg.DagsterInstance | None = None) -> dict[str, str]:
    """Mark every unfinished run whose process died as failed, saying why; returns this process's launch tags.

    Called once at the start of `run_campaigns`; the tags go on every run it launches.
    """
    with file_lock(home.locks / "instance.lock"):  # one `run` at a time opens the instance and judges
        instance = instance or dg.DagsterInstance.get()
        for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
            reason = why_dead(instance, run)
            if reason is None:
                continue
            message = (
                f"Marked failed by asset-pipeline (pid {os.getpid()}) at {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                f"the run was left {run.status.value} and {reason} (killed, or the machine stopped)."
            )
            instance.report_run_failed(
                run, message, JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION)
            )
        free_finished_runs_slots(instance)
    return launch_tags()


def free_finished_runs_slots(instance: dg.DagsterInstance) -> list[str]:
    """Free the `generation` slots (and queued claims) still held by runs that have ended; returns their ids.

    A slot left claimed would make every later draft step wait for it forever. Dagster's daemon
    frees these (`free_slots_after_run_end_seconds`); a `run` without a daemon does it here. Besides
    the runs just marked failed, this covers a process killed after marking a dead run failed but
    before freeing its slot, and runs deleted from the instance.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holders = set(storage.get_concurrency_run_ids())  # runs with a queued or granted claim
    for pool in storage.get_concurrency_keys():
        holders.update(slot.run_id for slot in storage.get_concurrency_info(pool).claimed_slots)
    if not holders:
        return []
    unfinished = {
        r.run_id for r in instance.get_runs(filters=dg.RunsFilter(run_ids=list(holders), statuses=UNFINISHED))
    }
    ended = sorted(holders - unfinished)
    for run_id in ended:
        storage.free_concurrency_slots_for_run(run_id)
    return ended
