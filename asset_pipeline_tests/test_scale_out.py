"""Several campaigns at once, steps on Celery workers, Postgres as the instance storage.

Everything real and on loopback: `asset-pipeline run` processes, Dagster's multiprocess
executor, a Debian redis-server and a Celery worker, a Debian PostgreSQL server, each
started (and stopped) by the test.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from asset_pipeline_tests.conftest import REPO, cli, free_port, start_cli, write_brief

CAMPAIGNS = ["north", "south", "west"]
BRIEF = """\
campaign: {c}
brand: acme
assets:
  - id: banner
    prompt: "a mug, {c} edition"
    headline: "Spring Sale"
    sizes: ["256x256", "320x256"]
"""
# The smallest campaign a run can have: one deliverable, for tests about runs rather than sizes.
ONE_SIZE_BRIEF = BRIEF.replace('["256x256", "320x256"]', '["256x256"]')


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.time() < deadline, f"nothing listens on {port}: {log.read_text()}"
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def env_for(home: Path, **extra: str) -> dict:
    return dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"), **extra)


def catalog(home: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


def assert_catalog_consistent(
    home: Path, campaigns: list[str], sizes: tuple[str, ...] = ("256x256", "320x256")
) -> None:
    """Every deliverable published once, at version 1, with its checks; no duplicate rows."""
    expected = {(c, "banner", 1, size) for c in campaigns for size in sizes}
    published = catalog(home, "SELECT campaign, asset, variant, size, status, version FROM publications")
    assert sorted(published) == sorted((*d, "published", 1) for d in expected)
    for view in ("briefs", "renders"):
        rows = catalog(home, f"SELECT campaign, asset, variant, size FROM {view}")
        assert sorted(rows) == sorted(expected), view
    checked = catalog(home, "SELECT DISTINCT campaign, asset, variant, size FROM checks WHERE \"check\" = 'ocr'")
    assert sorted(checked) == sorted(expected)
    duplicates = catalog(
        home,
        'SELECT campaign, asset, variant, size, "check", detail, count(*) FROM checks GROUP BY ALL HAVING count(*) > 1',
    )
    assert duplicates == []
    assert sorted(catalog(home, "SELECT campaign, count(*) FROM drafts GROUP BY ALL")) == [
        (c, 1) for c in sorted(campaigns)
    ]  # one key visual serves every size


def successful_runs(home: Path) -> dict[str, dg.DagsterRunStatus]:
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        return {run.tags["dagster/partition"]: run.status for run in instance.get_runs()}


# Both executors in one trial: each campaign's run under one, all three processes at once.
EXECUTORS = {"north": "in_process", "south": "multiprocess", "west": "in_process"}


@pytest.mark.slow
def test_three_campaigns_at_once(home):
    """Three `asset-pipeline run` processes at the same time, in one home and one instance."""
    for campaign in CAMPAIGNS:
        write_brief(home, campaign, BRIEF.format(c=campaign))
    assert cli(home, "validate").returncode == 0  # creates the instance folder, as a first user would
    # three processes of their own, side by side (forked with the imports done: support/cli_server.py)
    processes = {
        campaign: start_cli(home, "run", campaign, "--executor", EXECUTORS[campaign]) for campaign in CAMPAIGNS
    }
    assert all(process.poll() is None for process in processes.values()), "all three run at the same time"
    for campaign, process in processes.items():
        process.wait(timeout=900)
        out, err = process.stdout.read_text(), process.stderr.read_text()
        assert process.returncode == 0, out + err
        assert f"{campaign}: 2 published (2 new versions)" in out
        assert "lock" not in err.lower(), err  # neither DuckDB's nor SQLite's
    assert successful_runs(home) == {c: dg.DagsterRunStatus.SUCCESS for c in CAMPAIGNS}
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        ran_under = {run.tags["dagster/partition"]: run.tags["asset_pipeline/executor"] for run in instance.get_runs()}
    assert ran_under == EXECUTORS
    assert_catalog_consistent(home, CAMPAIGNS)


@pytest.mark.slow
def test_a_range_run_of_three_campaigns_under_the_multiprocess_executor(home):
    """`run --all --executor multiprocess`: one Dagster run over the range, each step in its own process."""
    for campaign in CAMPAIGNS:
        write_brief(home, campaign, ONE_SIZE_BRIEF.format(c=campaign))
    result = cli(home, "run", "--all", "--executor", "multiprocess")
    assert result.returncode == 0, result.stdout + result.stderr
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        (run,) = instance.get_runs()
        step_pids = {e.dagster_event.pid for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)}
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["asset_pipeline/executor"] == "multiprocess"
    assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
        "north",
        "west",
    )
    assert len(step_pids) > 1, "steps ran in processes of their own"
    for campaign in CAMPAIGNS:
        assert f"{campaign}: 1 published (1 new versions)" in result.stdout
        assert f"run {run.run_id[:8]}" in result.stdout
        manifest = json.loads((home / "published" / campaign / "manifest.json").read_text())
        assert manifest["campaign"] == campaign and [d["status"] for d in manifest["deliverables"]] == ["published"]
    assert_catalog_consistent(home, CAMPAIGNS, sizes=("256x256",))


def submit_backfill(home: Path, kind: str, campaigns: list[str]) -> str:
    """A backfill over `campaigns` as the UI submits one: "assets" from the asset graph's "Materialize all",
    "job" from build_campaign's own "Launch backfill" (its partition set, the observed sources included).

    The asset backfill is of the stages, not the observed sources: it waits for materializations,
    and an observation is none, so it would count them failed.
    """
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.remote_origin import (
        ManagedGrpcPythonEnvCodeLocationOrigin,
        RemotePartitionSetOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.remote_representation.external_data import partition_set_snap_name_for_job_name
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.utils import make_new_backfill_id

    from asset_pipeline.orchestration.definitions import STAGES, build_campaign, defs

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        instance.add_dynamic_partitions("campaigns", campaigns)  # what `run` or the brief sensor registers
        common = {"backfill_id": make_new_backfill_id(), "backfill_timestamp": time.time(), "tags": {}}
        if kind == "assets":
            backfill = PartitionBackfill.from_asset_partitions(
                **common,
                asset_graph=defs.resolve_asset_graph(),
                partition_names=campaigns,
                asset_selection=sorted(key for stage in STAGES for key in stage.keys),
                dynamic_partitions_store=instance,
                all_partitions=False,
                title=None,
                description=None,
                run_config=None,
            )
        else:  # the daemon finds the job by location, repository and partition set name
            location = ManagedGrpcPythonEnvCodeLocationOrigin(
                LoadableTargetOrigin(executable_path=sys.executable, module_name=defs.__module__), "asset_pipeline"
            )
            backfill = PartitionBackfill(
                **common,
                partition_set_origin=RemotePartitionSetOrigin(
                    repository_origin=RemoteRepositoryOrigin(
                        code_location_origin=location, repository_name="__repository__"
                    ),
                    partition_set_name=partition_set_snap_name_for_job_name(build_campaign.name),
                ),
                status=BulkActionStatus.REQUESTED,
                partition_names=campaigns,
                from_failure=False,
                reexecution_steps=None,
                asset_selection=None,
            )
        instance.add_backfill(backfill)
    return backfill.backfill_id


def everything_requested(backfill) -> bool:
    """Whether the daemon has launched runs for all of the backfill's partitions (no later tick adds one)."""
    if backfill.is_asset_backfill:
        data = backfill.asset_backfill_data
        return data.requested_subset == data.target_subset
    return (
        backfill.status.value != "REQUESTED" or backfill.last_submitted_partition_name == backfill.partition_names[-1]
    )


def wait_for_backfill_runs(home: Path, backfill_id: str, daemon: subprocess.Popen, log: Path, seconds: float):
    """The backfill's runs, once the daemon has requested every partition of it and the runs ended.

    Not its COMPLETED status: the daemon's backfill loop ticks every 30 s and would only then notice
    the runs ended.
    """
    deadline = time.time() + seconds
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        while True:
            backfill = instance.get_backfill(backfill_id)
            runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            if everything_requested(backfill) and runs and all(r.is_finished for r in runs):
                return runs
            assert daemon.poll() is None, f"the daemon exited: {log.read_text()}"
            statuses = [r.status.value for r in runs]
            assert time.time() < deadline, f"backfill not done after {seconds} s, runs {statuses}: {log.read_text()}"
            time.sleep(1)


# The two ways the UI submits a backfill, each over campaigns of its own, in one daemon session.
BACKFILLS = {"assets": CAMPAIGNS, "job": ["alpha", "beta", "gamma"]}


@pytest.mark.slow
def test_daemon_backfills_of_three_campaigns_are_one_run_over_the_range_each(home, tmp_path):
    """Backfills submitted as the UI does (asset and job), launched by a real `dagster-daemon` over the home's instance."""
    for campaigns in BACKFILLS.values():
        for campaign in campaigns:
            write_brief(home, campaign, ONE_SIZE_BRIEF.format(c=campaign))
    assert cli(home, "validate").returncode == 0  # writes the home's dagster.yaml: its run queue is the daemon's
    backfill_ids = {kind: submit_backfill(home, kind, campaigns) for kind, campaigns in BACKFILLS.items()}
    log = tmp_path / "daemon.log"
    # The daemon's code server and the runs it launches import this checkout, whatever is installed.
    env = env_for(home, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    daemon = subprocess.Popen(
        [sys.executable, "-m", "dagster._daemon", "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        runs_of = {
            kind: wait_for_backfill_runs(home, id_, daemon, log, seconds=300) for kind, id_ in backfill_ids.items()
        }
    finally:
        stop(daemon)
    for kind, campaigns in BACKFILLS.items():
        runs = runs_of[kind]
        assert len(runs) == 1, (
            f"{kind}: the single-run backfill policy puts the whole range in one run: {log.read_text()}"
        )
        (run,) = runs
        assert run.status == dg.DagsterRunStatus.SUCCESS, kind
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            step_pids = {
                e.dagster_event.pid for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
            }
            messages = [e.user_message for e in instance.all_logs(run.run_id)]
        assert len(step_pids) == 1, f"{kind}: every step in the run's one process, the model loaded once"
        # each campaign's summary line is in the run's log (the UI)
        for campaign in campaigns:
            assert f"{campaign}: 1 published, 0 rejected; 1 new versions" in messages, kind
        assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
            campaigns[0],
            campaigns[-1],
        ), kind
        for campaign in campaigns:
            manifest = json.loads((home / "published" / campaign / "manifest.json").read_text())
            assert manifest["campaign"] == campaign and [d["status"] for d in manifest["deliverables"]] == ["published"]
    assert not list(home.glob("runs/*.json")), "no run ledger is left behind"
    assert_catalog_consistent(home, [c for campaigns in BACKFILLS.values() for c in campaigns], sizes=("256x256",))


@pytest.mark.slow
def test_a_campaign_runs_on_celery_workers_over_redis(home, tmp_path):
    """The distributed executor: each step is a Celery task, run by a worker process."""
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is missing: `make system-packages` installs it")
    write_brief(home, "north", BRIEF.format(c="north"))
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis_log, worker_log = tmp_path / "redis.log", tmp_path / "worker.log"
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=redis_log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = None
    try:
        wait_for_port(port, redis, redis_log)
        # A worker of a fresh interpreter: it shares only the broker, the home and the instance.
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "dagster_celery.app",
                "-b",
                broker,
                "--result-backend",
                broker,
                "worker",
                "-Q",
                "dagster",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "-n",
                "asset-pipeline-test@%h",
            ],
            env=env_for(home),
            stdout=worker_log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        result = cli(home, "run", "north", "--executor", "celery", "--broker", broker)
        assert result.returncode == 0, result.stdout + result.stderr + worker_log.read_text()
        assert "north: 2 published (2 new versions)" in result.stdout
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            (run,) = instance.get_runs()
            assert run.tags["asset_pipeline/executor"] == "celery"
            step_pids = {
                e.dagster_event.pid for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
            }
        assert step_pids == {worker.pid}, "every step ran in the Celery worker"
        assert_catalog_consistent(home, ["north"])
    finally:
        if worker:
            stop(worker)
        stop(redis)


def _postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.mark.slow
def test_postgres_as_the_instance_storage(home):
    """Runs, events and schedules in PostgreSQL instead of the home's SQLite files."""
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.fail("PostgreSQL is missing: `make system-packages` installs it")
    # The server refuses to run as root: as root, it runs as the `postgres` user.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="asset-pipeline-pg-"))
    if as_user:
        shutil.chown(data, "postgres")
    port = free_port()
    try:
        subprocess.run(
            [*as_user, initdb, "-D", str(data / "db"), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data}"
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data / "db"), "-o", options, "-l", str(data / "log"), "-w", "start"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        (home / "dagster").mkdir()
        (home / "dagster" / "dagster.yaml").write_text(
            "telemetry:\n  enabled: false\n"
            f"storage:\n  postgres:\n    postgres_url: postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres\n"
        )
        write_brief(home, "north", BRIEF.format(c="north"))
        result = cli(home, "run", "north")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "north: 2 published (2 new versions)" in result.stdout

        import psycopg2

        with psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres") as con:
            with con.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
                assert cursor.fetchone() == (1,)
                cursor.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
                assert cursor.fetchone()[0] >= 5  # one per stage
        assert not list((home / "dagster").rglob("*.db")), "nothing went to SQLite"
        assert_catalog_consistent(home, ["north"])
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data / "db"), "-m", "fast", "-w", "stop"], capture_output=True, timeout=120
        )
        shutil.rmtree(data, ignore_errors=True)


def test_celery_executor_without_a_broker_is_a_clear_error(home):
    write_brief(home, "north", BRIEF.format(c="north"))
    result = cli(home, "run", "north", "--executor", "celery")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --executor celery needs --broker URL (or $ASSET_PIPELINE_CELERY_BROKER)"
    assert not (home / "published").exists()
