"""`asset-pipeline ui`: the Dagster UI over the home's instance, on loopback only."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def non_loopback_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent; this only picks a route
            address = s.getsockname()[0]
        return None if address.startswith("127.") else address
    except OSError:
        return None


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


@pytest.mark.slow
def test_ui_serves_the_asset_graph_on_loopback(home):
    port = free_port()
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    process = subprocess.Popen([sys.executable, "-m", "asset_pipeline", "ui", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.time() < deadline, "the UI did not start"
                time.sleep(0.5)
        nodes = graphql(port, "{ assetNodes { assetKey { path } dependencyKeys { path } } }")["assetNodes"]
        edges = {(dep["path"][0], node["assetKey"]["path"][0]) for node in nodes for dep in node["dependencyKeys"]}
        assert {("campaign_briefs", "draft_images"), ("draft_images", "typeset_images"),
                ("typeset_images", "upscaled_images"), ("upscaled_images", "published_assets"),
                ("brand_typography", "typeset_images"), ("brand_style", "campaign_briefs"),
                ("brief_file", "campaign_briefs")} <= edges
        address = non_loopback_address()
        if address:  # bound to 127.0.0.1 only: another interface of this machine is refused
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
