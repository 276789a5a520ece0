"""The whole pipeline through the CLI: real Dagster runs in a real instance, the real
tiny diffusers model, real tesseract, real Parquet and DuckDB files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from asset_pipeline_tests.conftest import cli, write_brief

BRIEF = """\
campaign: launch
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    headline: "Spring Sale"
    body: "Up to 50% off mugs"
    cta: "Shop now"
    sizes: ["1080x1080", "1200x628", "1080x1920"]
    variants: 2
  - id: strip
    prompt: "row of mugs"
    headline: "Spring Sale"
    cta: "Shop"
    sizes: ["728x90"]
"""


def sql(home: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model):
    """One full build, shared by the read-only assertions below."""
    from asset_pipeline_tests.conftest import make_home

    home = make_home(tmp_path_factory.mktemp("e2e") / "home", tiny_model)
    write_brief(home, "launch", BRIEF)
    result = cli(home, "run", "launch")
    return home, result


@pytest.mark.slow  # shares the module's full CLI run
def test_run_publishes_every_deliverable(built):
    home, result = built
    assert result.returncode == 0, result.stdout + result.stderr
    assert "launch: 7 published (7 new versions), 0 rejected; drafts" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # shares the module's full CLI run
def test_manifest_files_and_provenance(built):
    home, _ = built
    manifest = json.loads((home / "published" / "launch" / "manifest.json").read_text())
    assert manifest["campaign"] == "launch" and len(manifest["brief_hash"]) == 64 and len(manifest["brand_hash"]) == 64
    entries = manifest["deliverables"]
    assert {(e["asset"], e["variant"], e["size"]) for e in entries} == {
        ("hero", v, s) for v in (1, 2) for s in ("1080x1080", "1200x628", "1080x1920")
    } | {("strip", 1, "728x90")}
    for entry in entries:
        assert entry["status"] == "published" and entry["reasons"] == [] and entry["version"] == 1
        path = home / entry["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        with Image.open(path) as image:
            assert image.format == "PNG" and f"{image.width}x{image.height}" == entry["size"]
            chunks = image.text
        assert chunks["model"] == entry["model"] == "tiny"
        assert chunks["seed"] == str(entry["seed"])
        assert chunks["brief_hash"] == manifest["brief_hash"] and chunks["brand_hash"] == manifest["brand_hash"]
        assert "ceramic mug" in chunks["prompt"] or "row of mugs" in chunks["prompt"]
        assert (path.parent / "latest.png").read_bytes() == path.read_bytes()
    # Variants of one asset get consecutive seeds, hence different drafts.
    seeds = {e["variant"]: e["seed"] for e in entries if e["asset"] == "hero"}
    assert seeds[2] == seeds[1] + 1


@pytest.mark.slow  # shares the module's full CLI run
def test_catalog_agrees_with_the_manifest(built):
    home, _ = built
    assert sql(home, "SELECT count(*) FROM briefs WHERE campaign = 'launch'") == [(7,)]
    drafts = sql(home, "SELECT asset, variant, model, cache_hit, width % 16, height % 16 FROM drafts")
    # one key visual per (asset, variant): hero 2 (its 3 aspects share one canvas), strip 1
    assert len(drafts) == 3 and all(d[2] == "tiny" and d[3] is False and d[4:] == (0, 0) for d in drafts)
    assert sql(home, "SELECT count(*) FROM renders WHERE image_sha256 IS NOT NULL") == [(7,)]
    published = sql(home, "SELECT path, sha256, version, status FROM publications ORDER BY path")
    manifest = json.loads((home / "published" / "launch" / "manifest.json").read_text())
    assert published == sorted((e["path"], e["sha256"], 1, "published") for e in manifest["deliverables"])


@pytest.mark.slow  # shares the module's full CLI run
def test_ocr_read_every_text_box_back(built):
    home, _ = built
    rows = sql(home, "SELECT asset, size, passed, value, detail FROM checks WHERE \"check\" = 'ocr'")
    # hero: headline, body, cta, disclaimer; strip: headline, cta, disclaimer (if it fits)
    assert len(rows) >= 6 * 4 + 2
    assert all(passed and value >= 0.9 for _, _, passed, value, _ in rows), rows
    checks = {row[0] for row in sql(home, 'SELECT DISTINCT "check" FROM checks')}
    assert {"ocr", "banned_terms", "size", "not_blank", "contrast", "min_font", "safe_margin", "layout"} <= checks


@pytest.mark.slow  # shares the module's full CLI run
def test_lineage_of_a_published_file(built):
    home, _ = built
    manifest = json.loads((home / "published" / "launch" / "manifest.json").read_text())
    entry = manifest["deliverables"][0]
    result = cli(home, "lineage", str(home / entry["path"]), "--format", "json")
    assert result.returncode == 0, result.stderr
    chain = json.loads(result.stdout)
    assert chain["sha256"] == entry["sha256"] and chain["seed"] == entry["seed"]
    assert chain["model"]["id"] == "tiny" and len(chain["model"]["weights_hash"]) == 64
    assert chain["brief"]["hash"] == manifest["brief_hash"] and chain["brand"]["file"] == "brands/acme.yaml"
    assert {c["check"] for c in chain["checks"]} >= {"ocr", "size"}


@pytest.mark.slow
def test_rerun_and_brand_change(built):
    """Nothing changed: no generation, no new version. Colour change: no generation, new versions."""
    home, _ = built
    before = tree_digest(home / "published")
    again = cli(home, "run", "launch")
    assert again.returncode == 0, again.stderr
    assert "0 new versions" in again.stdout and "drafts 0 generated, 3 reused" in again.stdout
    assert tree_digest(home / "published") == before
    assert sql(home, "SELECT count(*) FROM publications") == [(7,)]

    brand = home / "brands" / "acme.yaml"
    brand.write_text(brand.read_text().replace('accent: "#FF5A36"', 'accent: "#2255CC"'))
    recolour = cli(home, "run", "launch")
    assert recolour.returncode == 0, recolour.stderr
    assert "drafts 0 generated, 3 reused" in recolour.stdout
    assert sql(home, "SELECT max(version), count(*) FROM publications") == [(2, 14)]
    for path in before:  # earlier versions stay readable, byte for byte
        if path.endswith("v1.png"):
            assert tree_digest(home / "published")[path] == before[path]


@pytest.mark.slow  # a full CLI run
def test_rejected_deliverable_is_listed_and_the_rest_publish(home):
    write_brief(
        home,
        "mixed",
        BRIEF.replace("campaign: launch", "campaign: mixed").replace(
            'headline: "Spring Sale"\n    cta: "Shop"', 'headline: "Guaranteed savings"\n    cta: "Shop"'
        ),
    )
    result = cli(home, "run", "mixed")
    assert result.returncode == 1, result.stdout + result.stderr
    manifest = json.loads((home / "published" / "mixed" / "manifest.json").read_text())
    rejected = [e for e in manifest["deliverables"] if e["status"] == "rejected"]
    assert [(e["asset"], e["size"]) for e in rejected] == [("strip", "728x90")]
    assert rejected[0]["path"] is None and any("guaranteed" in r.lower() for r in rejected[0]["reasons"])
    assert not (home / "published" / "mixed" / "strip").exists()
    assert sum(e["status"] == "published" for e in manifest["deliverables"]) == 6
    # pre-flight finds the banned term before any draft: no draft for it, rejected with the reason
    assert "pre-flight: briefs/mixed.yaml: asset strip, 728x90: banned term 'guaranteed'" in result.stdout
    assert "rejected strip v1 728x90: " in result.stdout and "banned term 'guaranteed'" in result.stdout


@pytest.mark.parametrize(
    "brief, expected",
    [
        ("campaign: bad\nbrand: acme\nassets: []\n", "briefs/bad.yaml: assets: "),
        (
            "campaign: bad\nbrand: nobody\nassets:\n  - id: a\n    prompt: p\n    sizes: ['100x100']\n",
            "briefs/bad.yaml: brand: brand 'nobody' has no file",
        ),
        (
            "campaign: bad\nbrand: acme\nassets:\n  - id: a\n    prompt: p\n    sizes: ['100x100']\n    model: nope\n",
            "briefs/bad.yaml: assets[0](id=a).model: unknown model 'nope'",
        ),
        (
            "campaign: bad\nbrand: acme\nassets:\n  - id: a\n    prompt: p\n    size: ['100x100']\n",
            "briefs/bad.yaml: assets[0](id=a).size: unknown key",
        ),
    ],
)
def test_bad_input_exits_2_with_one_clear_line_and_writes_nothing(home, brief, expected):
    write_brief(home, "bad", brief)
    for command in (["validate"], ["run", "bad"]):
        result = cli(home, *command)
        assert result.returncode == 2, result.stdout + result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr
    assert not (home / "published" / "bad").exists()
    assert not (home / "tables").exists() or not list((home / "tables").rglob("bad.parquet"))


def test_bad_brand_font_is_reported_by_validate(home):
    brand = home / "brands" / "acme.yaml"
    brand.write_text(brand.read_text().replace("DejaVuSans-Bold.ttf", "NoSuchFont-Bold.ttf"))
    write_brief(home, "ok", BRIEF.replace("campaign: launch", "campaign: ok"))
    result = cli(home, "validate")
    assert result.returncode == 2
    assert "brands/acme.yaml: fonts.headline: " in result.stderr and "NoSuchFont-Bold.ttf" in result.stderr


def test_models_and_sql_commands(home):
    models = cli(home, "models", "--format", "json")
    assert models.returncode == 0, models.stderr
    rows = {row["id"]: row for row in json.loads(models.stdout)}
    assert rows["tiny"]["present"] is True
    assert any(not row["present"] for row in rows.values())  # real checkpoints are not on this machine
    empty = cli(home, "sql", "SELECT count(*) AS n FROM publications", "--format", "csv")
    assert empty.returncode == 0 and empty.stdout.splitlines() == ["n", "0"]
    broken = cli(home, "sql", "SELECT * FROM nowhere")
    assert broken.returncode == 2 and "nowhere" in broken.stderr
