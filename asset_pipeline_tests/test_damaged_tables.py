"""Damaged table files, as plain functions over every table and every kind of damage.

A damaged file of a table a run makes again is set aside under tables/.corrupt/ (a note says
when and why) and reads as absent; a damaged history table (publications, approvals) is
refused and left where it is. The end-to-end run is in test_damage_end_to_end.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from asset_pipeline.home import Home
from asset_pipeline.orchestration.runner import CampaignSummary
from asset_pipeline.storage.compaction import compact, compacted_path
from asset_pipeline.storage.records import SCHEMAS
from asset_pipeline.storage.tables import (
    DERIVED,
    PARTITION_FIELD,
    DamagedTableError,
    quarantined_tables,
    read_rows,
    table_path,
    table_problem,
    write_rows,
)
from asset_pipeline.verification import verify_tables
from asset_pipeline_tests.support.damage import DAMAGES, damage_file

HISTORY = ("publications", "approvals")


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path / "home")


def _value(arrow_type: pa.DataType, name: str, campaign: str):
    """A plausible value of a column, so a sample file has real data pages."""
    if name == "campaign":
        return campaign
    if pa.types.is_struct(arrow_type):
        return {f.name: _value(f.type, f.name, campaign) for f in arrow_type}
    if pa.types.is_list(arrow_type):
        return [_value(arrow_type.value_type, name, campaign)]
    if pa.types.is_timestamp(arrow_type):
        return datetime(2026, 12, 7, tzinfo=UTC)
    if pa.types.is_boolean(arrow_type):
        return True
    if pa.types.is_integer(arrow_type):
        return 1
    if pa.types.is_floating(arrow_type):
        return 0.5
    return f"{name} of {campaign}"


def write_sample(home: Home, table: str, campaign: str) -> Path:
    """A valid one-row file of `table` (every column of its schema filled) at the campaign's path."""
    schema = SCHEMAS[table]
    row = {f.name: _value(f.type, f.name, campaign) for f in schema}
    row[PARTITION_FIELD.get(table, "campaign")] = campaign  # model_evaluations' files are a model's
    path = table_path(home, table, campaign)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([row], schema=schema), path)
    return path


def damage(home: Home, table: str, campaign: str, kind: str) -> Path:
    path = write_sample(home, table, campaign)
    other = None
    if kind == "another table's schema":  # a valid Parquet file, of the next table's schema
        other = write_sample(home, list(SCHEMAS)[(list(SCHEMAS).index(table) + 1) % len(SCHEMAS)], campaign)
    damage_file(path, kind, other)
    return path


@pytest.mark.parametrize("table", list(SCHEMAS))
def test_a_sound_file_of_every_table_reads_as_itself(home, table):
    write_sample(home, table, "good")
    assert table_problem(home, table, "good") is None
    assert [r[PARTITION_FIELD.get(table, "campaign")] for r in read_rows(home, table, "good")] == ["good"]
    assert quarantined_tables(home) == {}


@pytest.mark.parametrize("kind", DAMAGES)
@pytest.mark.parametrize("table", DERIVED)
def test_a_damaged_derived_table_is_set_aside_and_reads_as_absent(home, table, kind):
    path = damage(home, table, "good", kind)
    problem = table_problem(home, table, "good")
    assert problem and path.exists()  # asking moves nothing (verify is read-only)

    assert read_rows(home, table, "good") == []
    assert not path.exists()
    ((name, note),) = quarantined_tables(home).items()
    assert name.startswith(f".corrupt/{table}/good.") and name.endswith("Z.json")
    assert (home.tables / name).with_suffix(".parquet").is_file()  # the damaged bytes are kept
    assert note["path"] == f"tables/{table}/good.parquet" and note["reason"] == problem
    assert datetime.fromisoformat(note["at"]).tzinfo is not None
    if kind == "another table's schema":
        assert problem.startswith(f"not a {table} table: it has column(s) ")
    elif kind != "zero length":
        assert problem == "Parquet magic bytes not found in footer"


@pytest.mark.parametrize("kind", DAMAGES)
@pytest.mark.parametrize("table", DERIVED)
def test_a_damaged_derived_table_is_set_aside_when_a_stage_replaces_it_unread(home, table, kind):
    damage(home, table, "good", kind)
    write_sample(home, table, "other")
    rows = read_rows(home, table, "other")
    write_rows(
        home, table, "good", [dict(r, **{PARTITION_FIELD.get(table, "campaign"): "good"}) for r in rows]
    )  # a stage's new rows
    assert [r[PARTITION_FIELD.get(table, "campaign")] for r in read_rows(home, table, "good")] == ["good"]
    assert [n["path"] for n in quarantined_tables(home).values()] == [f"tables/{table}/good.parquet"]


@pytest.mark.parametrize("kind", DAMAGES)
@pytest.mark.parametrize("table", HISTORY)
def test_a_damaged_history_table_is_refused_and_left_in_place(home, table, kind):
    path = damage(home, table, "good", kind)
    before = path.read_bytes()
    with pytest.raises(DamagedTableError) as refused:
        read_rows(home, table, "good")
    line = str(refused.value)
    assert line.startswith(f"tables/{table}/good.parquet is unreadable (") and "\n" not in line
    assert "cannot be made again: restore it from a backup of the home" in line
    with pytest.raises(DamagedTableError):  # nor is it overwritten
        write_rows(home, table, "good", [])
    assert path.read_bytes() == before and quarantined_tables(home) == {}


def test_a_file_of_another_campaigns_rows_is_damage(home):
    path = write_sample(home, "drafts", "other")
    table_path(home, "drafts", "good").write_bytes(path.read_bytes())
    assert table_problem(home, "drafts", "good") == "it holds rows of campaign other"
    assert read_rows(home, "drafts", "good") == []


def test_verify_names_every_damaged_table_and_what_to_do(home):
    damage(home, "drafts", "good", "zero length")
    damage(home, "publications", "good", "random bytes")
    write_sample(home, "renders", "good")
    damaged = verify_tables(home, None)
    assert sorted(damaged) == [("drafts", "good"), ("publications", "good")]
    assert damaged[("drafts", "good")].endswith("the next run sets it aside and makes it again")
    assert damaged[("publications", "good")].startswith("tables/publications/good.parquet: unreadable (Parquet magic")
    assert damaged[("publications", "good")].endswith("restore it from a backup of the home")
    assert table_path(home, "drafts", "good").exists()  # verify moves nothing


def test_compaction_leaves_a_damaged_file_out_instead_of_failing(home):
    from asset_pipeline.storage.catalog import _typed

    write_sample(home, "checks", "good")
    damage(home, "checks", "bad", "random bytes")
    assert compact(home, "checks", *_typed("checks"), after=1)
    assert pq.read_table(compacted_path(home, "checks")).column("campaign").to_pylist() == ["good"]


def test_the_summary_says_which_table_was_made_again():
    summary = CampaignSummary(campaign="good", run_id="0123456789", success=True, published=1)
    summary.tables_repaired = ["tables/drafts/good.parquet was unreadable (Parquet magic bytes not found in footer)"]
    assert summary.line().splitlines()[1] == (
        "  repaired: tables/drafts/good.parquet was unreadable (Parquet magic bytes not found in footer); made again"
    )
