"""The brief sensor and the nightly schedule, evaluated as Dagster evaluates them."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from asset_pipeline.orchestration.definitions import brief_sensor, nightly_rebuild
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


def test_nightly_schedule_requests_every_valid_campaign(home, instance):
    write_brief(home, "one", BRIEF.format(c="one"))
    write_brief(home, "bad", "campaign: bad\nbrand: nobody\nassets: []\n")
    requests = nightly_rebuild(dg.build_schedule_context(instance=instance))
    assert [r.partition_key for r in requests] == ["one"]
    assert instance.get_dynamic_partitions("campaigns") == ["one"]
