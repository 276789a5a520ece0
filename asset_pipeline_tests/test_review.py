"""The reviewer's web app: approvals gate final-tier publication, rejections re-roll drafts.

A brand with `require_approval: true` and a final-tier brief are built once with the CLI;
Starlette's TestClient checks the HTTP interface and its refusals on a copy of that home,
and headless Debian Chromium approves one deliverable and rejects another through the page
of a server started as a user starts it (`asset-pipeline review`), then the next run
re-rolls the rejected draft.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from asset_pipeline_tests.conftest import REPO, cli, free_port, make_home, write_brief
from asset_pipeline_tests.support import browser

ARTIFACTS = REPO / "test-artifacts"
TOKEN = "t" * 8 + "review-token-0123"
BRIEF = """\
campaign: gated
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    headline: "Spring Sale"
    sizes: ["256x256", "512x256"]
    tier: final
    formats: [png, webp]
  - id: side
    prompt: "teapot on a shelf"
    headline: "New"
    sizes: ["256x256"]
    tier: final
  - id: note
    prompt: "a cup of tea"
    sizes: ["256x256"]
"""


def manifest(home: Path) -> dict:
    return json.loads((home / "published" / "gated" / "manifest.json").read_text())


def entry(home: Path, asset: str, size: str = "256x256") -> dict:
    return next(e for e in manifest(home)["deliverables"] if (e["asset"], e["size"]) == (asset, size))


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model) -> Path:
    """A home whose brand requires approval, built once: final-tier deliverables are pending."""
    home = make_home(tmp_path_factory.mktemp("review") / "home", tiny_model)
    brand = home / "brands" / "acme.yaml"
    brand.write_text(brand.read_text() + "require_approval: true\n")
    write_brief(home, "gated", BRIEF)
    result = cli(home, "run", "gated")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 pending approval" in result.stdout, result.stdout
    return home


@pytest.fixture
def home(built, tmp_path) -> Path:
    """A copy of the built home, for a test that writes decisions."""
    copy = tmp_path / "home"
    shutil.copytree(built, copy, symlinks=True)
    return copy


def test_final_tier_waits_as_pending_and_latest_does_not_move(built):
    hero = entry(built, "hero")
    assert hero["status"] == "pending" and hero["version"] == 1 and hero["path"].endswith("/v1.png")
    assert (built / hero["path"]).is_file()  # the reviewer can see the file...
    assert hero["latest_path"] is None and not (built / "published/gated/hero/variant1/256x256/latest.png").exists()
    # every format of the pending version is written (and in the files view); no `latest` file moves
    assert [f["format"] for f in hero["files"]] == ["png", "webp"]
    assert all((built / f["path"]).is_file() for f in hero["files"])
    assert not (built / "published/gated/hero/variant1/256x256/latest.webp").exists()
    assert entry(built, "note")["status"] == "published"  # draft tier: no approval needed
    page = (built / "published" / "gated" / "index.html").read_text()
    assert "<script" not in page and 'data-status="pending"' in page and 'loading="lazy"' in page


def client(home: Path, host: str = "127.0.0.1"):
    from starlette.testclient import TestClient

    from asset_pipeline.home import Home
    from asset_pipeline.review.app import create_app

    return TestClient(create_app(Home(home), TOKEN, host), base_url="http://127.0.0.1:8000")


def decision(asset="hero", size="256x256", version=1, verdict="approve", comment=None) -> dict:
    return {
        "campaign": "gated",
        "asset": asset,
        "variant": 1,
        "size": size,
        "version": version,
        "decision": verdict,
        "comment": comment,
    }


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_the_http_interface_reads_and_refuses(home):
    app = client(home)
    assert app.get("/").status_code == 200 and "gated" in app.get("/").text
    page = app.get("/campaigns/gated")
    assert page.status_code == 200 and "approve v1" in page.text and "Content-Security-Policy" in page.headers
    data = app.get("/api/campaigns/gated").json()
    statuses = {(d["asset"], d["size"]): d["status"] for d in data["deliverables"]}
    assert statuses[("hero", "256x256")] == "pending" and statuses[("note", "256x256")] == "published"
    assert {c["check"] for c in data["deliverables"][0]["checks"]} >= {"ocr", "contrast"}
    assert app.get("/api/campaigns/nope").status_code == 404
    thumb = page.text.split('src="/campaigns/gated/files/thumbs/')[1].split('"')[0]
    assert app.get(f"/campaigns/gated/files/thumbs/{thumb}").status_code == 200
    assert app.get("/campaigns/gated/files/../../../models.yaml").status_code == 404

    # Writes: 403 without the token, with a wrong one, from another origin, or a session without CSRF.
    assert app.post("/api/approvals", json=decision()).status_code == 403
    assert app.post("/api/approvals", json=decision(), headers={"Authorization": "Bearer wrong"}).status_code == 403
    evil = {**BEARER, "Origin": "http://evil.example"}
    assert app.post("/api/approvals", json=decision(), headers=evil).status_code == 403
    cross = {**BEARER, "Sec-Fetch-Site": "cross-site"}
    assert app.post("/api/approvals", json=decision(), headers=cross).status_code == 403
    login = app.get(f"/?token={TOKEN}", follow_redirects=False)
    assert login.status_code == 303 and "httponly" in login.headers["set-cookie"].lower()
    assert "samesite=strict" in login.headers["set-cookie"].lower()
    assert app.post("/api/approvals", json=decision()).status_code == 403  # the cookie alone is not enough
    assert app.get("/", headers={"Host": "rebound.example"}).status_code == 400  # DNS rebinding

    # 404 for an unknown deliverable or version, 400 for a body that is not a decision.
    assert app.post("/api/approvals", json=decision(asset="ghost"), headers=BEARER).status_code == 404
    assert app.post("/api/approvals", json=decision(version=7), headers=BEARER).status_code == 404
    assert app.post("/api/approvals", json=decision(verdict="reject"), headers=BEARER).status_code == 400
    assert app.post("/api/approvals", json={**decision(), "extra": 1}, headers=BEARER).status_code == 400
    assert entry(home, "hero")["status"] == "pending"  # nothing was decided


def test_approval_publishes_and_moves_latest_rejection_records_the_reason(home):
    from asset_pipeline.home import Home
    from asset_pipeline.storage.catalog import query
    from asset_pipeline.storage.files import sha256_file

    app = client(home)
    answer = app.post("/api/approvals", json=decision(comment="lovely"), headers=BEARER)
    assert answer.status_code == 200, answer.text
    row = answer.json()
    assert (row["decision"], row["version"], row["comment"], row["by"]) == ("approve", 1, "lovely", "reviewer")
    hero = entry(home, "hero")
    assert hero["status"] == "published" and hero["latest_path"]
    assert sha256_file(home / hero["latest_path"]) == hero["sha256"]
    # each format's latest file moves to the approved version's file of that format
    folder = home / "published/gated/hero/variant1/256x256"
    assert {f["format"]: sha256_file(folder / f"latest.{f['format']}") for f in hero["files"]} == {
        f["format"]: f["sha256"] for f in hero["files"]
    }
    _, rows = query(Home(home), "SELECT format, version FROM files WHERE asset = 'hero' AND size = '256x256'")
    assert sorted(rows) == [("png", 1), ("webp", 1)]

    # the browser's way: the session cookie and the page's CSRF token
    app.get(f"/?token={TOKEN}")
    csrf = app.get("/campaigns/gated").text.split('name="csrf-token" content="')[1].split('"')[0]
    rejected = app.post(
        "/api/approvals",
        json=decision(asset="side", verdict="reject", comment="too dark"),
        headers={"X-CSRF-Token": csrf, "Origin": "http://127.0.0.1:8000"},
    )
    assert rejected.status_code == 200, rejected.text
    side = entry(home, "side")
    assert side["status"] == "rejected" and side["reasons"] == ["review: v1 rejected by reviewer: too dark"]

    _, rows = query(Home(home), 'SELECT asset, size, version, decision, comment FROM approvals ORDER BY "at"')
    assert rows == [("hero", "256x256", 1, "approve", "lovely"), ("side", "256x256", 1, "reject", "too dark")]
    _, rows = query(Home(home), "SELECT status, change FROM publications WHERE asset = 'hero' AND size = '256x256'")
    assert rows == [("pending", "pixels"), ("published", "approval")]
    verified = cli(home, "verify", "gated")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_review_refuses_to_bind_off_loopback_without_a_token(home, monkeypatch, capsys):
    from asset_pipeline import cli as cli_module

    monkeypatch.delenv("ASSET_PIPELINE_REVIEW_TOKEN", raising=False)
    monkeypatch.setenv("ASSET_PIPELINE_HOME", str(home))
    assert cli_module.main(["review", "--host", "0.0.0.0", "--port", str(free_port())]) == 2
    assert "is not loopback" in capsys.readouterr().err
    assert cli_module.main(["review", "--token", "short", "--port", str(free_port())]) == 2
    assert "at least 16 characters" in capsys.readouterr().err


# ---------------------------------------------------------------- the browser, and the next run


@pytest.fixture
def chromium():
    if not browser.available():
        pytest.fail("Debian's chromium and chromium-driver are missing: `make setup-test` installs them")
    driver = browser.start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def server(home):
    """`asset-pipeline review` started as a user starts it; (home, port)."""
    port = free_port()
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    process = subprocess.Popen(
        [sys.executable, "-m", "asset_pipeline", "review", "--port", str(port), "--token", TOKEN],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        browser.wait_until_serving(process, f"http://127.0.0.1:{port}/", "the review app", seconds=60)
        yield home, port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def card(driver, asset: str, size: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'.card[data-asset="{asset}"][data-size="{size}"]')


def wait_status(driver, asset: str, size: str, status: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: card(d, asset, size).get_attribute("data-status") == status)


@pytest.mark.slow
def test_chromium_approves_one_rejects_another_and_the_next_run_rerolls(server, chromium):
    from selenium.webdriver.common.by import By

    from asset_pipeline.home import Home
    from asset_pipeline.storage.catalog import query
    from asset_pipeline.storage.tables import read_rows

    home, port = server
    base = f"http://127.0.0.1:{port}"
    chromium.get(f"{base}/?token={TOKEN}")  # the printed link: sets the session, drops the token from the URL
    assert "token" not in chromium.current_url
    chromium.find_element(By.LINK_TEXT, "gated").click()
    wait_status(chromium, "hero", "256x256", "pending")
    sizes = chromium.find_elements(By.CSS_SELECTOR, "section#hero .card .frame img")
    widths = [image.size["width"] for image in sizes[:2]]
    assert widths[1] == 2 * widths[0]  # 512x256 beside 256x256, at true relative scale
    ARTIFACTS.mkdir(exist_ok=True)
    chromium.save_screenshot(str(ARTIFACTS / "review-pending.png"))

    card(chromium, "hero", "256x256").find_element(By.CSS_SELECTOR, "button[data-decision=approve]").click()
    wait_status(chromium, "hero", "256x256", "published")
    rejecting = card(chromium, "side", "256x256")
    rejecting.find_element(By.CSS_SELECTOR, ".decide input").send_keys("too dark")
    rejecting.find_element(By.CSS_SELECTOR, "button[data-decision=reject]").click()
    wait_status(chromium, "side", "256x256", "rejected")
    assert "too dark" in card(chromium, "side", "256x256").text

    # The lightbox opens the deliverable at 100%.
    card(chromium, "hero", "512x256").find_element(By.CSS_SELECTOR, "a.frame").click()
    full = chromium.find_element(By.CSS_SELECTOR, ".lightbox:target img")
    time.sleep(0.5)
    assert chromium.execute_script("return arguments[0].naturalWidth", full) == 512
    chromium.save_screenshot(str(ARTIFACTS / "review-lightbox.png"))
    chromium.get(f"{base}/campaigns/gated")
    chromium.save_screenshot(str(ARTIFACTS / "review-decided.png"))

    # A write from another origin, or without the token, is refused by the live server.
    for headers in ({"Origin": "http://evil.example", **BEARER}, {}):
        request = urllib.request.Request(
            f"{base}/api/approvals",
            data=json.dumps(decision(size="512x256")).encode(),
            headers={"Content-Type": "application/json", **headers},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403

    _, rows = query(Home(home), 'SELECT asset, size, version, decision, comment, "by" FROM approvals ORDER BY "at"')
    assert rows == [
        ("hero", "256x256", 1, "approve", None, "reviewer"),
        ("side", "256x256", 1, "reject", "too dark", "reviewer"),
    ]
    _, rows = query(Home(home), "SELECT asset, size, status FROM publications WHERE status = 'published'")
    assert ("hero", "256x256", "published") in rows
    assert (home / entry(home, "hero")["latest_path"]).is_file()

    # The next run re-rolls the rejected draft with its next seed, recorded as the reason.
    before = {d["asset"]: d for d in read_rows(Home(home), "drafts", "gated")}
    again = cli(home, "run", "gated")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "drafts 1 generated (1 rejected by a reviewer)" in again.stdout, again.stdout
    after = {d["asset"]: d for d in read_rows(Home(home), "drafts", "gated")}
    assert after["side"]["seed"] != before["side"]["seed"] and not after["side"]["cache_hit"]
    assert after["side"]["attempts"][0]["reason"] == "review: 256x256 v1 rejected by reviewer: too dark"
    assert after["hero"]["seed"] == before["hero"]["seed"]  # approved: untouched
    side = entry(home, "side")
    assert (side["status"], side["version"]) == ("pending", 2)  # a new version needs a new approval
    assert entry(home, "hero")["status"] == "published"
