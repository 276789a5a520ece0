"""`asset-pipeline ui`: the Dagster UI over the home's instance, on loopback only.

One campaign is built with the CLI, then the UI is started as a user starts it and
read as its clients read it: the GraphQL endpoint, and headless Debian Chromium
driven by selenium (nothing is downloaded). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from asset_pipeline_tests.conftest import REPO, cli, free_port, make_home, write_brief
from asset_pipeline_tests.support.browser import wait_until_serving

ARTIFACTS = REPO / "test-artifacts"
STAGES = ["campaign_briefs", "draft_images", "typeset_images", "upscaled_images", "published_assets"]
BRIEF = """\
campaign: north
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    headline: "Spring Sale"
    sizes: ["256x256", "512x256"]
"""


def non_loopback_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent; this only picks a route
            address = s.getsockname()[0]
        return None if address.startswith("127.") else address
    except OSError:
        return None


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


@pytest.fixture(scope="module")
def ui(tmp_path_factory, tiny_model):
    """(home, port): a home with one built campaign, and its UI started by `asset-pipeline ui`."""
    home = make_home(tmp_path_factory.mktemp("ui") / "home", tiny_model)
    write_brief(home, "north", BRIEF)
    built = cli(home, "run", "north")
    assert built.returncode == 0, built.stdout + built.stderr
    port = free_port()
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    process = subprocess.Popen(
        [sys.executable, "-m", "asset_pipeline", "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/server_info", "the UI")
        yield home, port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.slow
def test_graphql_lineage_metadata_and_loopback_only(ui):
    home, port = ui
    nodes = graphql(
        port,
        """{ assetNodes { assetKey { path } dependencyKeys { path }
        assetMaterializations(partitions: ["north"], limit: 1) { metadataEntries { label __typename } } } }""",
    )["assetNodes"]
    edges = {(dep["path"][0], node["assetKey"]["path"][0]) for node in nodes for dep in node["dependencyKeys"]}
    assert {
        ("brief_file", "campaign_briefs"),
        ("brand_style", "campaign_briefs"),
        ("campaign_briefs", "draft_images"),
        ("brand_typography", "brand_rules"),
        ("draft_images", "typeset_images"),
        ("brand_rules", "typeset_images"),
        ("typeset_images", "upscaled_images"),
        ("upscaled_images", "check_results"),
        ("check_results", "published_assets"),
    } <= edges
    assert (
        not {("brand_typography", "draft_images"), ("brand_rules", "draft_images")} & edges
    )  # colours never reach drafts

    metadata = {
        node["assetKey"]["path"][0]: {
            e["label"]: e["__typename"] for m in node["assetMaterializations"] for e in m["metadataEntries"]
        }
        for node in nodes
    }
    for stage in STAGES:
        assert metadata[stage]["seconds"] == "FloatMetadataEntry", stage
    for stage in STAGES[1:]:
        assert metadata[stage]["thumbnails"] == "MarkdownMetadataEntry", stage
    assert {"drafts", "generated", "cache_hits", "models", "fallbacks"} <= set(metadata["draft_images"])
    assert {"renders", "cache_hits"} <= set(metadata["upscaled_images"])
    assert {"published", "new_versions", "unchanged", "rejected"} <= set(metadata["published_assets"])

    # The home's instance settings: no onboarding modal, no telemetry (cli.py INSTANCE_SETTINGS).
    assert graphql(port, "{ shouldShowNux }")["shouldShowNux"] is False
    settings = (home / "dagster" / "dagster.yaml").read_text()
    assert "nux:\n  enabled: false" in settings and "telemetry:\n  enabled: false" in settings

    address = non_loopback_address()
    if address:  # bound to 127.0.0.1 only: another interface of this machine is refused
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=2).close()


@pytest.fixture
def browser():
    from selenium import webdriver

    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.fail("chromium and chromedriver are missing: `make system-packages` installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")), options=options
    )
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, xpath: str, seconds: float = 90):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(expected_conditions.presence_of_element_located((By.XPATH, xpath)))


def dismiss_welcome(driver) -> None:
    """The home's dagster.yaml turns the onboarding ("Join the Dagster community") modal off: none shows."""
    from selenium.webdriver.common.by import By

    body = driver.find_element(By.TAG_NAME, "body").text
    assert "Join the Dagster community" not in body, "the onboarding modal is showing"
    assert not driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']")


def screenshot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


@pytest.mark.slow
def test_browser_shows_the_graph_in_order_and_a_thumbnail(ui, browser):
    from selenium.webdriver.common.by import By

    home, port = ui
    browser.get(f"http://127.0.0.1:{port}/asset-groups")
    wait_for(browser, "//*[normalize-space()='published_assets']")
    time.sleep(2)  # the graph lays itself out after its nodes appear
    dismiss_welcome(browser)
    screenshot(browser, "ui-asset-graph.png")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert all(stage in body for stage in STAGES), body

    # In the graph (not the list beside it) each stage sits right of the one it depends on.
    def graph_x(name: str) -> float:
        found = browser.find_elements(By.XPATH, f"//*[normalize-space(text())='{name}']")
        return max(e.location["x"] for e in found)

    xs = [graph_x(s) for s in ["brief_file", *STAGES]]
    assert xs == sorted(xs) and len(set(xs)) == len(xs), dict(zip(["brief_file", *STAGES], xs))

    # One partition's materialization: its metadata, and a thumbnail behind "Show Markdown".
    browser.get(f"http://127.0.0.1:{port}/assets/draft_images?partition=north")
    row = wait_for(browser, "//tr[td[normalize-space()='thumbnails']]")
    dismiss_welcome(browser)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "north" in body and "cache_hits" in body and "tiny (1)" in body  # one key visual for both sizes
    row.find_element(By.XPATH, ".//*[contains(text(), 'Show Markdown')]").click()
    image = wait_for(browser, "//img[starts-with(@src, 'data:image/png;base64,')]", seconds=30)
    from asset_pipeline.models.registry import load_registry
    from asset_pipeline.stages.drafts import key_canvas

    canvas = key_canvas(load_registry(home).get("tiny"), [("", 256, 256), ("", 512, 256)])  # the key visual
    assert image.get_attribute("alt") == "hero v1 {}x{}".format(*canvas)
    assert image.get_attribute("naturalWidth") == "96"  # decoded: a real image, not a broken icon
    screenshot(browser, "ui-draft-thumbnails.png")
