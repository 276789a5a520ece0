"""Parquet tables, content-addressed objects and the DuckDB catalog."""

import os

import duckdb
import pytest
from PIL import Image

from asset_pipeline.framing import aspect_crop_box, crop_to_aspect
from asset_pipeline.home import Home
from asset_pipeline.storage.catalog import VIEWS, query, refresh_catalog
from asset_pipeline.storage.files import atomic_write_bytes, sha256_file
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.tables import RecordError, read_rows, write_rows


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path.resolve())


def check_row(campaign: str, passed: bool) -> dict:
    return dict(
        campaign=campaign,
        asset="hero",
        variant=1,
        size="1080x1080",
        render_sha256="a" * 64,
        check="ocr",
        passed=passed,
        value=0.5,
        detail="x",
    )


def test_tables_round_trip_without_temporaries(home):
    write_rows(home, "checks", "spring", [check_row("spring", True)])
    write_rows(home, "checks", "spring", [check_row("spring", False)])  # replaces, never appends
    assert [r["passed"] for r in read_rows(home, "checks", "spring")] == [False]
    assert sorted(p.name for p in (home.tables / "checks").iterdir()) == ["spring.parquet"]


def test_failed_write_keeps_the_old_file(home, monkeypatch):
    target = home.root / "x.bin"
    atomic_write_bytes(target, b"old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in home.root.iterdir()] == ["x.bin"]


def test_ids_cannot_escape_the_home(home):
    with pytest.raises(ValueError, match="escapes the home"):
        home.brief_path("../../etc/passwd")
    with pytest.raises(ValueError):
        read_rows(home, "checks", "../evil")


def test_objects_are_content_addressed(home):
    store = ObjectStore(home)
    sha = store.put_image(Image.new("RGB", (64, 64), "red"))
    assert sha256_file(store.path(sha)) == sha
    assert store.put_image(Image.new("RGB", (64, 64), "red")) == sha
    assert store.open(sha).getpixel((0, 0)) == (255, 0, 0)


def test_catalog_views_exist_before_and_after_data(home, tmp_path, monkeypatch):
    refresh_catalog(home)
    for view in VIEWS:
        assert query(home, f"SELECT count(*) FROM {view}")[1] == [(0,)]
    write_rows(home, "checks", "a", [check_row("a", True)])
    write_rows(home, "checks", "b", [check_row("b", False)])
    refresh_catalog(home)
    # Read-only, from another working directory: the views use absolute paths.
    monkeypatch.chdir(tmp_path.parent)
    with duckdb.connect(str(home.catalog), read_only=True) as con:
        rows = con.execute("SELECT campaign, passed FROM checks ORDER BY campaign").fetchall()
    assert rows == [("a", True), ("b", False)]


@pytest.mark.parametrize("src, dst", [((256, 256), (1200, 628)), ((256, 256), (1080, 1920)), ((512, 128), (728, 90))])
def test_crop_keeps_aspect_and_never_stretches(src, dst):
    left, top, right, bottom = aspect_crop_box(*src, *dst)
    assert abs((right - left) / (bottom - top) - dst[0] / dst[1]) < 1e-9
    assert left >= 0 and top >= 0 and right <= src[0] and bottom <= src[1]
    assert crop_to_aspect(Image.new("RGB", src), *dst).size == dst


def test_rows_are_checked_against_their_record(home):
    row = check_row("spring", True)
    with pytest.raises(RecordError, match="unknown field.*pased"):
        write_rows(home, "checks", "spring", [dict(row, pased=True)])
    with pytest.raises(RecordError, match="missing field.*detail"):
        write_rows(home, "checks", "spring", [{k: v for k, v in row.items() if k != "detail"}])
    with pytest.raises(RecordError, match=r"checks row 0\.passed: None where a value is required"):
        write_rows(home, "checks", "spring", [dict(row, passed=None)])
    with pytest.raises(RecordError, match=r"\.variant: expected int, got str"):
        write_rows(home, "checks", "spring", [dict(row, variant="1")])
    with pytest.raises(RecordError, match="campaign.*autumn"):
        write_rows(home, "checks", "spring", [check_row("autumn", True)])
    assert not (home.tables / "checks" / "spring.parquet").exists()  # nothing half-written


def test_a_copied_or_moved_home_queries_its_own_tables(tmp_path):
    import shutil

    first = Home((tmp_path / "first").resolve())
    write_rows(first, "checks", "spring", [check_row("spring", True)])
    refresh_catalog(first)
    copy = Home((tmp_path / "copy").resolve())
    shutil.copytree(first.root, copy.root)
    write_rows(copy, "checks", "spring", [check_row("spring", False), check_row("spring", False)])
    assert query(copy, "SELECT count(*), bool_or(passed) FROM checks")[1] == [(2, False)]
    assert query(first, "SELECT count(*), bool_or(passed) FROM checks")[1] == [(1, True)]
    moved = Home((tmp_path / "moved").resolve())
    shutil.move(first.root, moved.root)
    assert query(moved, "SELECT count(*) FROM checks")[1] == [(1,)]
    # Any DuckDB client sees the right tables afterwards, from any working directory.
    with duckdb.connect(str(moved.catalog), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM checks").fetchone() == (1,)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_catalog_is_rebuilt_from_the_tables(home, damage, capsys):
    write_rows(home, "checks", "spring", [check_row("spring", True)])
    refresh_catalog(home)
    data = home.catalog.read_bytes()
    home.catalog.write_bytes(os.urandom(5000) if damage == "garbage" else data[: len(data) // 3])
    assert query(home, "SELECT count(*) FROM checks")[1] == [(1,)]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rebuilt from the Parquet tables" in err
    assert (home.root / "catalog.duckdb.corrupt").exists()


def test_files_written_before_a_column_existed_read_as_null(home):
    """A home upgraded in place: its old Parquet files lack the newer columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    old = check_row("spring", True)
    del old["render_sha256"]  # written before check results were keyed by their render
    folder = home.tables / "checks"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([old]), folder / "spring.parquet")
    assert query(home, "SELECT campaign, render_sha256, passed FROM checks")[1] == [("spring", None, True)]
    assert not (home.root / "catalog.duckdb.corrupt").exists()  # a missing column is not a damaged file
