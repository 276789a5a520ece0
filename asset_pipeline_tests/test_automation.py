"""The brief sensor and the nightly schedule, evaluated as Dagster evaluates them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from asset_pipeline.home import Home
from asset_pipeline.orchestration.automation import nightly_cron
from asset_pipeline.orchestration.definitions import brief_sensor, nightly_rebuild
from asset_pipeline.stages.briefs import load_campaign
from asset_pipeline_tests.conftest import write_brief

BRIEF = "campaign: {c}\nbrand: acme\nassets:\n  - id: a\n    prompt: p\n    headline: Hi\n    sizes: ['256x256']\n"


@pytest.fixture
def instance(home, monkeypatch):
    monkeypatch.setenv("ASSET_PIPELINE_HOME", str(home))
    with dg.instance_for_test() as instance:
        yield instance


def tick(instance, cursor=None) -> tuple[dg.SensorResult, str]:
    result = brief_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
    for request in result.dynamic_partitions_requests or []:  # what the daemon would apply
        if isinstance(request, dg.AddDynamicPartitionsRequest) and request.partition_keys:
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        elif isinstance(request, dg.DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result, result.cursor


def test_sensor_new_changed_invalid_and_deleted_briefs(home, instance):
    write_brief(home, "one", BRIEF.format(c="one"))
    write_brief(home, "two", BRIEF.format(c="two"))
    result, cursor = tick(instance)
    assert sorted(r.partition_key for r in result.run_requests) == ["one", "two"]
    assert sorted(instance.get_dynamic_partitions("campaigns")) == ["one", "two"]

    result, cursor = tick(instance, cursor)
    assert result.run_requests == []  # nothing changed, nothing requested

    write_brief(home, "one", BRIEF.format(c="one").replace("Hi", "Hello"))
    write_brief(home, "bad", "campaign: bad\nbrand: acme\nassets: []\n")
    result, cursor = tick(instance, cursor)
    assert [r.partition_key for r in result.run_requests] == ["one"]
    assert "bad" not in json.loads(cursor) and "bad" not in instance.get_dynamic_partitions("campaigns")

    published = home / "published" / "two"
    published.mkdir(parents=True)
    (published / "manifest.json").write_text("{}")
    (home / "briefs" / "two.yaml").unlink()
    result, cursor = tick(instance, cursor)
    assert result.run_requests == [] and instance.get_dynamic_partitions("campaigns") == ["one"]
    assert (published / "manifest.json").exists()  # history is kept


def test_brand_change_retriggers_its_campaigns(home, instance):
    write_brief(home, "one", BRIEF.format(c="one"))
    _, cursor = tick(instance)
    brand = home / "brands" / "acme.yaml"
    brand.write_text(brand.read_text().replace("#FF5A36", "#2255CC"))
    result, _ = tick(instance, cursor)
    assert [r.partition_key for r in result.run_requests] == ["one"]
    # The edit is observed at once, so the UI can mark typesetting stale before the run.
    inputs = load_campaign(Home(home.resolve()), "one")
    observed = {
        (e.asset_key.to_user_string(), e.partition): e.tags["dagster/data_version"] for e in result.asset_events
    }
    assert observed == {
        ("brand_typography", "one"): inputs.brand_typography_hash,
        ("brand_style", "one"): inputs.brand_generation_hash,
        ("brief_file", "one"): inputs.brief_hash,
    }


def campaigns_of(requests, instance) -> list[list[str]]:
    """The campaigns each run request covers: its partition, or its range of partitions."""
    order = instance.get_dynamic_partitions("campaigns")
    covered = []
    for request in requests:
        if request.partition_key:
            covered.append([request.partition_key])
        else:
            first = order.index(request.tags["dagster/asset_partition_range_start"])
            covered.append(order[first : order.index(request.tags["dagster/asset_partition_range_end"]) + 1])
    return covered


def test_nightly_schedule_requests_every_valid_campaign(home, instance):
    write_brief(home, "one", BRIEF.format(c="one"))
    write_brief(home, "bad", "campaign: bad\nbrand: nobody\nassets: []\n")
    requests = nightly_rebuild(dg.build_schedule_context(instance=instance))
    assert [r.partition_key for r in requests] == ["one"]
    assert instance.get_dynamic_partitions("campaigns") == ["one"]


def test_nightly_cron_is_configurable_and_checked(monkeypatch):
    monkeypatch.delenv("ASSET_PIPELINE_NIGHTLY_CRON", raising=False)
    assert nightly_cron() == "0 2 * * *"
    monkeypatch.setenv("ASSET_PIPELINE_NIGHTLY_CRON", "every night")
    with pytest.raises(ValueError, match="ASSET_PIPELINE_NIGHTLY_CRON: 'every night' is not a cron schedule"):
        nightly_cron()
    # The code location reads it when it loads, as the daemon and the UI load it.
    env = dict(os.environ, ASSET_PIPELINE_NIGHTLY_CRON="30 4 * * 1-5")
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "from asset_pipeline.orchestration.definitions import "
            "nightly_rebuild; print(nightly_rebuild.cron_schedule)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.stdout.strip() == "30 4 * * 1-5", loaded.stderr


# ---------------------------------------------------------------- only what changed gets a run


def _publish_all(home, monkeypatch, campaigns):
    from asset_pipeline.orchestration.runner import run_campaigns

    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    (home / "dagster").mkdir(exist_ok=True)
    summaries = run_campaigns(Home(home.resolve()), campaigns)
    assert all(s.success for s in summaries), [s.line() for s in summaries]


def test_freshness_reads_only_the_recorded_hashes(home):
    from asset_pipeline.freshness import check_freshness
    from asset_pipeline.models.registry import load_registry
    from asset_pipeline.stages.briefs import inputs_fingerprint, models_part
    from asset_pipeline.storage.files import sha256_file
    from asset_pipeline.storage.records import InputFile

    root = Home(home.resolve())
    for campaign in ("one", "two"):
        write_brief(home, campaign, BRIEF.format(c=campaign))
        files = [InputFile(path, sha256_file(home / path)) for path in (f"briefs/{campaign}.yaml", "brands/acme.yaml")]
        manifest = home / "published" / campaign / "manifest.json"
        manifest.parent.mkdir(parents=True)
        fingerprint = inputs_fingerprint(files, models_part(load_registry(root.root)))
        manifest.write_text(json.dumps({"inputs": {"fingerprint": fingerprint, "files": [f.__dict__ for f in files]}}))
    write_brief(home, "new", BRIEF.format(c="new"))
    assert check_freshness(root, ["one", "two", "new"]).stale == {"new": "never published"}
    (home / "briefs" / "two.yaml").write_text(BRIEF.format(c="two").replace("Hi", "Hello"))
    assert check_freshness(root, ["one", "two"]).stale == {"two": "changed: briefs/two.yaml"}
    (home / "models.yaml").write_text("routes:\n  draft: [tiny]\n  final: [tiny, embedded]\n")
    assert check_freshness(root, ["one"]).stale == {"one": "the models or the code changed"}


@pytest.mark.slow
def test_nightly_requests_runs_only_for_changed_campaigns(home, instance, monkeypatch):
    brand = home / "brands" / "other.yaml"
    brand.write_text((home / "brands" / "acme.yaml").read_text().replace("brand: acme", "brand: other"))
    names = {"one": "acme", "two": "acme", "three": "other", "four": "acme", "five": "other"}
    for campaign, name in names.items():
        write_brief(home, campaign, BRIEF.format(c=campaign).replace("brand: acme", f"brand: {name}"))

    def requested() -> list[list[str]]:
        return campaigns_of(nightly_rebuild(dg.build_schedule_context(instance=instance)), instance)

    # Nothing published yet: every campaign, as one range run (partitions are added in name order).
    assert requested() == [["five", "four", "one", "three", "two"]]
    _publish_all(home, monkeypatch, list(names))
    assert requested() == []  # nothing changed: no run at all
    write_brief(home, "two", BRIEF.format(c="two").replace("Hi", "Hello"))
    assert requested() == [["two"]]  # a run of its own: a range would take in its fresh neighbours
    brand.write_text(brand.read_text().replace("min_contrast: 4.5", "min_contrast: 5"))  # reaches its campaigns only
    assert requested() == [["five"], ["three", "two"]]  # stale neighbours share a run; 'four' and 'one' are left out
