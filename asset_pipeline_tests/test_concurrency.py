"""Concurrency limits in the home's instance: the `generation` pool and the run queue."""

from __future__ import annotations

import os
import subprocess
import uuid

import dagster as dg
import yaml

from asset_pipeline.cli import GENERATION_SLOTS, MAX_CONCURRENT_RUNS, _instance_settings
from asset_pipeline.home import Home


def test_the_homes_instance_caps_generation_and_queued_runs(tmp_path, monkeypatch):
    config = tmp_path / "dagster.yaml"
    _instance_settings(config)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        limits = instance.get_concurrency_config()
        assert limits.run_queue_config.max_concurrent_runs == MAX_CONCURRENT_RUNS == 2
        # draft_images declares pool="generation": it gets the default limit, one step at a time
        assert instance.event_log_storage.get_concurrency_info("generation").limit == GENERATION_SLOTS == 1
    # A user's own limits are kept as written.
    config.write_text(yaml.safe_dump({"concurrency": {"pools": {"default_limit": 4}}}))
    _instance_settings(config)
    assert yaml.safe_load(config.read_text())["concurrency"] == {"pools": {"default_limit": 4}}


def test_a_dead_runs_generation_slot_is_freed(tmp_path):
    from asset_pipeline.orchestration import stale_runs

    _instance_settings(tmp_path / "dagster.yaml")
    dead = subprocess.Popen(["true"])
    dead.wait()
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        run = dg.DagsterRun(
            job_name="build_campaign",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
            tags={stale_runs.PID_TAG: str(dead.pid)},
        )
        instance.add_run(run)
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("generation")
        assert storage.claim_concurrency_slot("generation", run.run_id, "draft_images").is_claimed
        waiting = str(uuid.uuid4())  # the next run's draft step queues behind the dead one
        assert not storage.claim_concurrency_slot("generation", waiting, "draft_images").is_claimed
        stale_runs.fail_dead_runs(Home(tmp_path), instance)  # as the next `run` does first
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert storage.get_concurrency_info("generation").claimed_slots == []
        assert storage.claim_concurrency_slot("generation", waiting, "draft_images").is_claimed
    assert os.path.exists(tmp_path / "dagster.yaml")


def test_a_slot_left_by_a_run_that_already_ended_is_freed(tmp_path):
    """A `run` killed after marking a dead run failed, but before freeing its slot, leaves a FAILURE
    run holding `generation`: the next `run` must free it, or its draft step waits forever."""
    from asset_pipeline.orchestration import stale_runs

    _instance_settings(tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        ended, alive = (
            dg.DagsterRun(job_name="build_campaign", run_id=str(uuid.uuid4()), status=status, tags=tags)
            for status, tags in [
                (dg.DagsterRunStatus.FAILURE, {}),
                (dg.DagsterRunStatus.STARTED, stale_runs.launch_tags()),  # this process: alive
            ]
        )
        instance.add_run(ended)
        instance.add_run(alive)
        storage = instance.event_log_storage
        storage.set_concurrency_slots("generation", 2)
        assert storage.claim_concurrency_slot("generation", ended.run_id, "draft_images").is_claimed
        assert storage.claim_concurrency_slot("generation", alive.run_id, "draft_images").is_claimed
        stale_runs.fail_dead_runs(Home(tmp_path), instance)
        holders = {slot.run_id for slot in storage.get_concurrency_info("generation").claimed_slots}
        assert holders == {alive.run_id}  # the live run keeps its slot
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
