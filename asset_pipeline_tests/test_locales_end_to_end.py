"""Locales through the whole pipeline (issue 18, phase 2): real CLI runs of the tiny model in a
real Dagster instance, real fonts, real tesseract in each locale's script, real Parquet and DuckDB."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from asset_pipeline.specs import content_hash, load_brief
from asset_pipeline.stages.publish import deliverable_dir
from asset_pipeline_tests.conftest import SAMPLE_BRAND, cli, make_home, write_brief

# Copy that phase 1's measurements read back (benchmarks/results/legibility-locales.md): no "%"
# or Latin brand names inside non-Latin text, which Debian's models misread.
LOCALES = """\
locales:
  en-US: {headline: "Spring Sale", body: "Handmade mugs for every table", cta: "Shop now"}
  de-DE: {headline: "Frühlingsangebot", body: "Handgemachte Tassen für jeden Tisch", cta: "Jetzt kaufen"}
  ar-SA: {headline: "تخفيضات الربيع", body: "أكواب خزفية مصنوعة يدويا", cta: "تسوق الآن"}
  ja-JP: {headline: "春のセール開催中", body: "手作りのマグカップ", cta: "今すぐ購入"}
  th-TH: {headline: "ลดราคาฤดูใบไม้ผลิ", body: "จัดส่งฟรีทุกคำสั่งซื้อ", cta: "ซื้อเลย"}
"""
FRENCH = '  fr-FR: {headline: "Soldes de printemps", body: "Des tasses faites main", cta: "Acheter"}\n'
ASSETS = """\
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    sizes: ["1080x1080", "1200x628"]
"""
SIZES = ["1080x1080", "1200x628"]
TAGS = ["ar-SA", "de-DE", "en-US", "ja-JP", "th-TH"]
SCRIPTS = {"ar-SA": "ara", "ja-JP": "jpn", "th-TH": "tha"}


def brief(campaign: str, locales: str = LOCALES) -> str:
    return f"campaign: {campaign}\nbrand: acme\n{locales}{ASSETS}"


def sql(home: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as con:
        return con.execute(query).fetchall()


def manifest(home: Path, campaign: str) -> dict:
    return json.loads((home / "published" / campaign / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_model):
    """A campaign in five locales, published; then a sixth locale added to it and run again."""
    home = make_home(tmp_path_factory.mktemp("locales") / "home", tiny_model)
    # The sample brand's disclaimer is English: it cannot stand in an Arabic deliverable
    # (tested below), so this campaign's brand has none.
    text = SAMPLE_BRAND.read_text(encoding="utf-8").replace('disclaimer: "Offer ends May 31."\n', "")
    (home / "brands" / "acme.yaml").write_text(text, encoding="utf-8")
    write_brief(home, "world", brief("world"))
    first = cli(home, "run", "world")
    before = manifest(home, "world")
    drafts_before = sql(home, "SELECT draft_key, image_sha256 FROM drafts ORDER BY draft_key")
    ocr = sql(
        home,
        "SELECT locale, count(*), bool_and(passed), string_agg(detail, ' | ') FROM checks "
        "WHERE \"check\" = 'ocr' GROUP BY locale ORDER BY locale",
    )
    write_brief(home, "world", brief("world", LOCALES + FRENCH))
    second = cli(home, "run", "world")
    return home, first, before, drafts_before, second, ocr


@pytest.mark.slow
def test_five_locales_publish_every_deliverable_ocr_verified_in_its_script(world):
    home, first, before, _, _, ocr = world
    assert first.returncode == 0, first.stdout + first.stderr
    entries = before["deliverables"]
    assert sorted((e["size"], e["locale"]) for e in entries) == sorted((s, t) for s in SIZES for t in TAGS)
    assert [e for e in entries if e["status"] != "published"] == []
    for entry in entries:
        folder = f"published/world/hero/variant1/{entry['size']}/{entry['locale']}"
        assert entry["path"] == f"{folder}/v1.png"
        data = (home / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    # every box of every deliverable was read back (one ocr row per box), each in its script
    assert [row[0] for row in ocr] == TAGS
    for locale, count, passed, detail in ocr:
        assert count >= 3 * len(SIZES) and passed, (locale, detail)
    # each box was set and read in its locale's script (OCR picks the model by the box's script)
    layouts = dict(sql(home, "SELECT locale, layout FROM layouts WHERE size = '1080x1080'"))
    for locale, script in {"ar-SA": "Arab", "ja-JP": "Jpan", "th-TH": "Thai", "de-DE": "Latn"}.items():
        assert {box["script"] for box in json.loads(layouts[locale])["boxes"]} == {script}, locale
    # one key visual for the asset, whatever the number of locales
    assert "drafts 1 generated" in first.stdout, first.stdout


@pytest.mark.slow
def test_every_view_with_size_has_locale(world):
    home = world[0]
    for view in ("briefs", "layouts", "renders", "checks", "publications", "files", "approvals"):
        columns = [row[0] for row in sql(home, f"DESCRIBE {view}")]
        assert "size" in columns and "locale" in columns, view
    locales = {row[0] for row in sql(home, "SELECT DISTINCT locale FROM files")}
    assert locales == {*TAGS, "fr-FR"}
    # a render is one per (asset, variant, size, locale): the key the tables share
    assert sql(home, "SELECT count(*), count(DISTINCT (size, locale)) FROM renders") == [(12, 12)]


@pytest.mark.slow
def test_a_locale_added_to_a_published_campaign_generates_no_draft(world):
    home, _, before, drafts_before, second, _ = world
    assert second.returncode == 0, second.stdout + second.stderr
    assert "drafts 0 generated" in second.stdout, second.stdout
    assert sql(home, "SELECT draft_key, image_sha256 FROM drafts ORDER BY draft_key") == drafts_before
    assert sql(home, "SELECT bool_and(cache_hit) FROM drafts") == [(True,)]
    after = {(e["size"], e["locale"]): e for e in manifest(home, "world")["deliverables"]}
    assert {k for k, e in after.items() if e["status"] == "published"} == {
        (s, t) for s in SIZES for t in [*TAGS, "fr-FR"]
    }
    for entry in before["deliverables"]:  # the five published locales keep their version and file
        now = after[(entry["size"], entry["locale"])]
        assert (now["version"], now["path"], now["sha256"]) == (entry["version"], entry["path"], entry["sha256"])


@pytest.mark.slow
def test_verify_and_lineage_follow_the_locale(world):
    home = world[0]
    result = cli(home, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    path = home / "published/world/hero/variant1/1080x1080/ar-SA/latest.png"
    result = cli(home, "lineage", str(path), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    chain = json.loads(result.stdout)
    assert chain["publication"]["locale"] == "ar-SA"
    assert any(c["check"] == "ocr" and c["passed"] for c in chain["checks"])


@pytest.mark.slow
def test_per_locale_banned_terms_reject_only_that_locale(home):
    text = SAMPLE_BRAND.read_text(encoding="utf-8").replace('disclaimer: "Offer ends May 31."\n', "")
    (home / "brands" / "acme.yaml").write_text(text + "banned_terms_by_locale: {de-DE: [Tassen]}\n", encoding="utf-8")
    two = "\n".join(LOCALES.splitlines()[:3]) + "\n"  # en-US and de-DE
    write_brief(home, "banned", brief("banned", two).replace('["1080x1080", "1200x628"]', '["1080x1080"]'))
    result = cli(home, "run", "banned")
    entries = {e["locale"]: e for e in manifest(home, "banned")["deliverables"]}
    assert entries["en-US"]["status"] == "published", result.stdout
    assert entries["de-DE"]["status"] == "rejected"
    assert any("banned term 'Tassen'" in reason for reason in entries["de-DE"]["reasons"]), entries["de-DE"]
    assert "drafts 1 generated" in result.stdout  # the rejected locale's draft is the other's


def test_unknown_locale_tags_are_named_with_file_and_field(home):
    write_brief(home, "bad", brief("bad", 'locales:\n  xx-QQ: {headline: "Hi"}\n'))
    write_brief(
        home,
        "bad2",
        "campaign: bad2\nbrand: acme\nassets:\n  - id: hero\n    prompt: mug\n    sizes: [1080x1080]\n"
        '    locales: {ru-RU: {headline: "Весенняя распродажа"}}\n',
    )
    result = cli(home, "validate")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert "briefs/bad.yaml: locales.xx-QQ" in out, out
    assert "briefs/bad2.yaml: assets[0](id=hero).locales.ru-RU" in out, out


def test_the_brands_disclaimer_in_another_script_is_refused_naming_the_field_to_give(home):
    write_brief(home, "mixed", brief("mixed"))  # the sample brand's disclaimer is English
    result = cli(home, "validate")
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in out
    assert "asset hero, 1080x1080, ar-SA: disclaimer:" in out and "give locales.ar-SA.disclaimer" in out, out
    assert "en-US: disclaimer" not in out and "de-DE: disclaimer" not in out  # Latin locales keep it


def test_an_asset_overrides_the_campaign_copy_per_tag(home):
    from asset_pipeline.specs import load_brand
    from asset_pipeline.stages.briefs import locale_copies

    text = brief("over").replace(
        '    sizes: ["1080x1080", "1200x628"]\n',
        '    sizes: ["1080x1080"]\n    locales:\n      de-DE: {headline: "Nur heute"}\n',
    )
    path = write_brief(home, "over", text)
    loaded, brand = load_brief(path), load_brand(home / "brands" / "acme.yaml")
    copies = dict(locale_copies(loaded, loaded.assets[0], brand))
    assert sorted(copies) == TAGS
    assert copies["de-DE"]["headline"] == "Nur heute" and copies["de-DE"]["body"] is None
    assert copies["en-US"]["headline"] == "Spring Sale"


# data/briefs/spring-sale.yaml as it was when locales arrived (main at 47ad5cc)
PRE_LOCALES_BRIEF = """\
campaign: spring-sale
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table, studio light"
    negative_prompt: "blurry"
    headline: "Spring Sale"
    body: "Up to 50% off mugs"
    cta: "Shop now"
    sizes: ["1080x1080", "1200x628", "1080x1920"]
    variants: 2
  - id: leaderboard
    prompt: "row of pastel ceramic mugs on a shelf"
    headline: "Spring Sale: 50% off"
    cta: "Shop"
    sizes: ["728x90"]
"""


def test_a_brief_without_locales_hashes_and_lays_out_as_before(tmp_path):
    path = tmp_path / "spring-sale.yaml"
    path.write_text(PRE_LOCALES_BRIEF, encoding="utf-8")
    brief = load_brief(path)
    # computed by the code before locales existed (main at 47ad5cc): nothing of this brief re-runs
    assert content_hash(brief.hash_part()) == "595953cb304de0bc5abd19ad1bd8eb6f459a6872faa6d77e7afcde058ce92e74"
    assert deliverable_dir("c", "hero", 1, "1080x1080") == "published/c/hero/variant1/1080x1080"
    assert deliverable_dir("c", "hero", 1, "1080x1080", None) == "published/c/hero/variant1/1080x1080"


def test_csv_feeds_refuse_a_locales_column_naming_the_file(home):
    write_brief(home, "feed", "campaign: feed\nbrand: acme\nassets_csv: feed.csv\n")
    (home / "briefs" / "feed.csv").write_text("id,prompt,sizes,locales\nhero,mug,1080x1080,de-DE\n", encoding="utf-8")
    result = cli(home, "validate")
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in out
    assert "briefs/feed.csv:1: locales:" in out, out
