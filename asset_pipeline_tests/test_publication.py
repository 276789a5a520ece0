"""Versioned publication, lineage of old versions and the review gallery, through
real CLI runs (Dagster, the tiny model, tesseract) and headless Debian Chromium."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from asset_pipeline_tests.conftest import REPO, cli, make_home, write_brief

ARTIFACTS = REPO / "test-artifacts"
# Four full CLI runs of one campaign (the story below), then the gallery in Chromium.
pytestmark = pytest.mark.slow

BRIEF = """\
campaign: versions
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    headline: "{headline}"
    cta: "Shop now"
    sizes: ["512x512", "640x320"]
  - id: side
    prompt: "row of mugs"
    headline: "Mugs"
    sizes: ["512x512"]
"""
HERO = ("hero", 1, "512x512")
PROVENANCE_KEYS = {
    "prompt",
    "negative_prompt",
    "model",
    "weights_hash",
    "seed",
    "steps",
    "guidance",
    "palette_grade",
    "upscale",
    "brief_hash",
    "brand_hash",
    "asset_pipeline:version",
}


def manifest_entry(home: Path, key=HERO) -> dict:
    manifest = json.loads((home / "published" / "versions" / "manifest.json").read_text())
    return next(e for e in manifest["deliverables"] if (e["asset"], e["variant"], e["size"]) == key)


def history(home: Path, key=HERO) -> list[tuple]:
    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT status, version, path, sha256 FROM publications WHERE asset = ? AND variant = ? AND size = ? "
            "ORDER BY published_at, version",
            list(key),
        ).fetchall()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def story(tmp_path_factory, tiny_model):
    """Four runs of one campaign: first, unchanged, changed headline, banned headline."""
    home = make_home(tmp_path_factory.mktemp("pub") / "home", tiny_model)
    steps = {}
    for name, headline in [
        ("first", "Spring Sale"),
        ("unchanged", "Spring Sale"),
        ("changed", "Summer Sale"),
        ("rejected", "Guaranteed Sale"),
    ]:
        write_brief(home, "versions", BRIEF.format(headline=headline))
        result = cli(home, "run", "versions")
        steps[name] = {
            "result": result,
            "entry": manifest_entry(home),
            "history": history(home),
            "side": manifest_entry(home, ("side", 1, "512x512")),
        }
        # A snapshot of v1's bytes as first published, to show they are never touched.
        if name == "first":
            steps[name]["v1_sha"] = sha(home / steps[name]["entry"]["path"])
    return home, steps


def test_first_run_publishes_version_1_with_full_provenance(story):
    home, steps = story
    first = steps["first"]
    assert first["result"].returncode == 0, first["result"].stdout + first["result"].stderr
    entry = first["entry"]
    assert entry["version"] == 1 and entry["path"].endswith("/512x512/v1.png")
    with Image.open(home / entry["path"]) as image:
        chunks = dict(image.text)
    assert PROVENANCE_KEYS <= set(chunks), PROVENANCE_KEYS - set(chunks)
    assert chunks["seed"] == str(entry["seed"]) and chunks["model"] == "tiny"
    assert int(chunks["steps"]) == 2 and float(chunks["guidance"]) == 0.0
    assert (
        float(chunks["palette_grade"]) == 0.0 and chunks["upscale"] == "lanczos"
    )  # tiny grades nothing; no upscaler here
    assert "text, letters, watermark" in chunks["negative_prompt"] and len(chunks["weights_hash"]) == 64


def test_published_file_carries_signed_c2pa_credentials(story):
    from asset_pipeline.publishing import content_credentials

    if not content_credentials.available():
        pytest.skip("c2pa-python is not installed")
    home, steps = story
    store = content_credentials.read_manifest((home / steps["first"]["entry"]["path"]).read_bytes())
    active = store["manifests"][store["active_manifest"]]
    text = json.dumps(active)
    assert content_credentials.DIGITAL_SOURCE_TYPE in text
    provenance = next(a["data"] for a in active["assertions"] if a["label"] == "org.asset_pipeline.provenance")
    assert provenance["seed"] == str(steps["first"]["entry"]["seed"])
    assert active["signature_info"]["common_name"] == content_credentials.TEST_SIGNER_NAME
    # Signed with the home's local test certificate, made once.
    assert (home / "keys" / "c2pa-signer.pem").exists() and (
        home / "keys" / "c2pa-signer.key"
    ).stat().st_mode & 0o077 == 0


def test_unchanged_content_publishes_no_new_version(story):
    _, steps = story
    unchanged = steps["unchanged"]
    assert unchanged["result"].returncode == 0
    assert "(0 new versions)" in unchanged["result"].stdout
    assert unchanged["history"] == steps["first"]["history"]
    assert unchanged["entry"]["version"] == 1 and unchanged["entry"]["sha256"] == steps["first"]["entry"]["sha256"]


def test_changed_content_publishes_version_2_and_keeps_version_1(story):
    home, steps = story
    changed = steps["changed"]["entry"]
    first = steps["first"]["entry"]
    assert changed["version"] == 2 and changed["path"].endswith("/v2.png") and changed["sha256"] != first["sha256"]
    assert [row[:2] for row in steps["changed"]["history"]] == [("published", 1), ("published", 2)]
    assert sha(home / first["path"]) == steps["first"]["v1_sha"] == first["sha256"]  # v1 still readable, untouched
    # The side asset's pixels did not change, only its provenance (the brief's hash): no new
    # version; its v1 file stays as first published, and the history records the new inputs.
    side_first, side_changed = steps["first"]["side"], steps["changed"]["side"]
    assert side_changed["version"] == 1 and side_changed["path"] == side_first["path"]
    assert sha(home / side_first["path"]) == side_first["sha256"] == side_changed["sha256"]
    side_history = history(home, ("side", 1, "512x512"))
    # One row per brief that made these pixels (first, changed, banned headline): all version 1.
    assert [row[:2] for row in side_history] == [("published", 1)] * 3


def test_rejected_after_good_keeps_the_good_version_as_latest(story):
    home, steps = story
    rejected = steps["rejected"]
    assert rejected["result"].returncode == 1, rejected["result"].stdout + rejected["result"].stderr
    entry, good = rejected["entry"], steps["changed"]["entry"]
    assert entry["status"] == "rejected" and entry["path"] is None and entry["sha256"] is None
    assert any("banned term 'guaranteed'" in reason for reason in entry["reasons"])
    assert entry["version"] == 2 and entry["latest_path"] == good["path"].replace("v2.png", "latest.png")
    assert sha(home / entry["latest_path"]) == good["sha256"]
    assert [row[:2] for row in rejected["history"]] == [("published", 1), ("published", 2), ("rejected", 2)]


def test_lineage_of_an_old_version_found_by_file_hash(story, tmp_path):
    home, steps = story
    first, changed = steps["first"]["entry"], steps["changed"]["entry"]
    # Found by content, not by path: a copy elsewhere is still recognised.
    copy = tmp_path / "downloaded.png"
    shutil.copy(home / first["path"], copy)
    result = cli(home, "lineage", str(copy), "--format", "json")
    assert result.returncode == 0, result.stderr
    chain = json.loads(result.stdout)
    assert chain["sha256"] == first["sha256"] and chain["publication"]["version"] == 1
    assert chain["brief"]["current"] is False  # the brief has changed twice since
    assert chain["model"]["id"] == "tiny" and len(chain["model"]["weights_hash"]) == 64
    assert chain["seed"] == first["seed"] and chain["draft"]["sha256"]
    assert chain["render"]["upscale"] == "lanczos"
    # The checks v1 was judged by, with their values, though later runs replaced the checks table.
    ocr = [c for c in chain["checks"] if c["check"] == "ocr"]
    assert ocr and all(c["passed"] and c["value"] >= 0.9 for c in ocr)
    assert any("'Spring Sale'" in c["detail"] for c in ocr)
    assert {c["check"] for c in chain["checks"]} >= {"draft", "hallucinated_text", "size", "contrast"}

    text = cli(home, "lineage", str(home / changed["path"]))
    assert text.returncode == 0 and "version 2" in text.stdout and "'Summer Sale'" in text.stdout
    assert "pass ocr" in text.stdout and "(upscale lanczos)" in text.stdout
    from asset_pipeline.publishing import content_credentials

    if content_credentials.available():
        assert chain["c2pa"]["signer"] == content_credentials.TEST_SIGNER_NAME
        assert chain["c2pa"]["digital_source_type"] == content_credentials.DIGITAL_SOURCE_TYPE


def test_lineage_of_a_file_never_published_is_a_clear_error(story, tmp_path):
    home, _ = story
    stranger = tmp_path / "stranger.png"
    Image.new("RGB", (8, 8)).save(stranger)
    result = cli(home, "lineage", str(stranger))
    assert result.returncode == 2 and "was never published" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------- the review gallery


def test_gallery_is_static_with_relative_links(story):
    home, _ = story
    page = (home / "published" / "versions" / "index.html").read_text()
    assert str(home) not in page and "<script" not in page
    assert 'href="hero/variant1/512x512/v1.png"' in page and 'href="hero/variant1/512x512/v2.png"' in page
    assert "banned term" in page and "latest good version (v2)" in page


@pytest.fixture
def chromium():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,2000",
        "--allow-file-access-from-files",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def test_gallery_renders_in_chromium_with_visible_thumbnails(story, chromium):
    from selenium.webdriver.common.by import By

    home, _ = story
    chromium.get((home / "published" / "versions" / "index.html").as_uri())
    assert chromium.title == "versions: review gallery"
    assets = [h.text for h in chromium.find_elements(By.CSS_SELECTOR, "section.asset h2")]
    assert assets == ["hero", "side"]
    sizes = [h.text for h in chromium.find_elements(By.CSS_SELECTOR, "section#hero h3")]
    assert sizes == ["512x512", "640x320"]
    images = chromium.find_elements(By.CSS_SELECTOR, ".card > a.frame img")  # one per deliverable
    assert len(images) == 3
    time.sleep(1)  # thumbnails are lazy: they load once laid out in view
    for image in images:  # loaded (a broken link has naturalWidth 0) and laid out
        assert chromium.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0
        assert image.is_displayed() and image.size["width"] > 50
    statuses = [s.text for s in chromium.find_elements(By.CSS_SELECTOR, ".status")]
    assert sorted(statuses) == ["published", "rejected", "rejected"]  # banned headline: both hero sizes
    history = chromium.find_element(By.CSS_SELECTOR, "section#hero .versions").text
    assert "v2" in history and "v1" in history and "diff v1→v2" in history
    # All sizes of an asset side by side, at true relative scale (640x320 is 1.25 times as wide as 512x512).
    hero = chromium.find_elements(By.CSS_SELECTOR, "section#hero .card > a.frame")
    assert hero[0].location["y"] == hero[1].location["y"]
    assert abs(hero[1].size["width"] / hero[0].size["width"] - 1.25) < 0.02

    # The screenshot is the test's artifact: test-artifacts/ (git-ignored) in the checkout.
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "gallery.png"
    assert chromium.save_screenshot(str(shot))
    with Image.open(shot) as image:
        assert image.width >= 1000 and len(image.convert("L").getcolors()) > 16  # not a blank page
