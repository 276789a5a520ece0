"""The HTTP API end to end: a real `asset-pipeline serve` on loopback (started once for the module),
a real HTTP client (urllib), a webhook receiver on loopback written from the Standard Webhooks
specification, the tiny model and 256x256 renders.

The tests run in file order and share the server and its home: the render test's key visual is
the one the later requests reuse, and the last test restarts the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image

from asset_pipeline.api.tokens import TokenStore
from asset_pipeline.home import Home
from asset_pipeline.storage.catalog import query
from asset_pipeline.verification import verify
from asset_pipeline_tests.conftest import cli, free_port, make_home

pytestmark = pytest.mark.slow

ASSET = {
    "prompt": "ceramic mug on a wooden table",
    "headline": "Spring Sale",
    "body": "Up to 50% off mugs",
    "cta": "Shop now",
    "sizes": ["256x256"],
    "formats": ["png", "jpeg"],
    "seed": 7,
}


# ---------------------------------------------------------------- a receiver written from the spec


class Receiver:
    """Verifies each delivery as standardwebhooks.com says: HMAC-SHA256 over "id.timestamp.body"
    with the base64-decoded secret, compared with each "v1,<base64>" of webhook-signature."""

    def __init__(self):
        self.secrets: dict[str, str] = {}  # path -> the secret of the webhook registered there
        self.received: list[dict] = []
        self.failed_once: set[str] = set()
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                msg_id, stamp = self.headers["webhook-id"], self.headers["webhook-timestamp"]
                key = base64.b64decode(receiver.secrets[self.path].split("_", 1)[1])
                expected = base64.b64encode(
                    hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
                )
                given = [s.split(",", 1)[1] for s in self.headers["webhook-signature"].split(" ")]
                verified = any(hmac.compare_digest(expected.decode(), g) for g in given)
                fresh = abs(time.time() - int(stamp)) < 300
                receiver.received.append(
                    {"path": self.path, "id": msg_id, "verified": verified and fresh, "body": json.loads(body)}
                )
                # /flaky fails each message's first delivery; /down fails while the flag is set
                fail = (self.path == "/flaky" and msg_id not in receiver.failed_once) or (
                    self.path == "/down" and receiver.down
                )
                receiver.failed_once.add(msg_id)
                self.send_response(500 if fail else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# ---------------------------------------------------------------- the server


class Server:
    def __init__(self, home: Path):
        self.home, self.port, self.process = home, free_port(), None

    def start(self) -> None:
        env = dict(os.environ, ASSET_PIPELINE_HOME=str(self.home), DAGSTER_HOME=str(self.home / "dagster"))
        command = [sys.executable, "-m", "asset_pipeline", "serve", "--port", str(self.port), "--queue", "0"]
        self.log = open(self.home / "serve.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.home / "serve.log").read_text()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/openapi.json", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory, tiny_model):
    root = make_home(tmp_path_factory.mktemp("api") / "home", tiny_model)
    receiver = Receiver()
    allow = f"http://127.0.0.1:{receiver.port}"
    (root / "config.yaml").write_text(
        f"webhooks:\n  allow: [{allow}]\n  retry_base_s: 0.3\n  retry_max_s: 1\n  max_attempts: 20\n"
    )
    store = TokenStore(Home(root))
    tokens = {scope: store.create([scope], f"test {scope}")[1] for scope in ("render", "read", "runs", "admin")}
    server = Server(root)
    server.start()
    yield {"home": root, "server": server, "tokens": tokens, "receiver": receiver, "allow": allow}
    server.stop()
    receiver.server.shutdown()


def call(api, method: str, path: str, body=None, token: str | None = "admin", headers=None, raw: bytes | None = None):
    """(status, headers, parsed JSON body or bytes) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{api['server'].port}{path}", data=data, method=method)
    if data is not None and raw is None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {api['tokens'].get(token, token)}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        response = urllib.request.urlopen(request, timeout=120)
        status = response.status
    except urllib.error.HTTPError as error:
        response, status = error, error.code
    payload = response.read()
    kind = response.headers.get("content-type", "")
    return status, response.headers, json.loads(payload) if "json" in kind else payload


def wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def written(home: Path) -> set[str]:
    """Every file under the home but the server's log, the Dagster instance, locks and the catalog."""
    skip = ("serve.log", "dagster/", ".locks/", "catalog.duckdb", "tables/_compacted")
    files = (p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file())
    return {f for f in files if not f.startswith(skip)}


# ---------------------------------------------------------------- tests


def test_tokens_are_printed_once_alone_on_the_last_line_listed_and_revoked(api):
    made = cli(api["home"], "tokens", "create", "--scope", "read", "--name", "ci")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("apt_") and " " not in token
    assert token not in (api["home"] / "api" / "tokens.json").read_text()
    assert call(api, "GET", "/v1/renders/r1", token=token)[0] == 404  # valid, and allowed to read
    token_id = token.split("_")[1]
    listed = cli(api["home"], "tokens", "list", "--format", "json")
    assert token_id in listed.stdout and "ci" in listed.stdout and token not in listed.stdout
    assert cli(api["home"], "tokens", "revoke", token_id).returncode == 0
    assert call(api, "GET", "/v1/renders/r1", token=token)[0] == 401
    bad = cli(api["home"], "tokens", "create", "--scope", "root")
    assert bad.returncode == 2 and "choose from" in bad.stderr and "Traceback" not in bad.stderr


def test_auth_and_scopes(api):
    status, headers, body = call(api, "POST", "/v1/renders", {"brand": "acme"}, token=None)
    assert status == 401 and body["type"] == "/docs#problem-unauthorized" and "Bearer" in headers["WWW-Authenticate"]
    assert headers["content-type"] == "application/problem+json"
    assert call(api, "POST", "/v1/renders", {}, token="apt_000000000000_" + "x" * 43)[0] == 401
    status, _, body = call(api, "POST", "/v1/renders", {}, token="read")
    assert status == 403 and "'render' scope" in body["detail"]
    assert call(api, "PUT", "/v1/briefs/x", {}, token="render")[0] == 403
    assert call(api, "POST", "/v1/webhooks", {}, token="runs")[0] == 403
    assert call(api, "GET", "/v1/campaigns/none", token="render")[0] == 403
    assert call(api, "GET", "/v1/campaigns/none", token="read")[0] == 404  # read, and nothing there


def test_the_openapi_document_and_the_docs_page_are_served(api):
    status, _, doc = call(api, "GET", "/openapi.json", token=None)
    assert status == 200 and doc["openapi"] == "3.1.0" and "/v1/renders" in doc["paths"]
    status, headers, page = call(api, "GET", "/docs", token=None)
    assert status == 200 and b"problem-invalid-input" in page and b"POST /v1/renders" in page


def test_hostile_bodies_get_a_clear_4xx_and_write_nothing(api):
    home = api["home"]
    before = written(home)
    big = json.dumps({"brand": "acme", "asset": {"prompt": "x" * 1_100_000}}).encode()
    cases = [
        ("POST", "/v1/renders", b"{not json", {}, 400),
        ("POST", "/v1/renders", b"\xff\xfe", {}, 400),
        ("POST", "/v1/renders", big, {}, 413),
        ("POST", "/v1/renders", b"[" * 50 + b"]" * 50, {}, 422),
        ("POST", "/v1/renders", b'{"brand": "acme"}', {"content-type": "text/plain"}, 415),
        ("POST", "/v1/renders", json.dumps({"brand": "acme", "asset": ASSET, "admin": True}).encode(), {}, 422),
        ("POST", "/v1/renders", json.dumps({"brand": "../etc", "asset": ASSET}).encode(), {}, 422),
        (
            "POST",
            "/v1/renders",
            json.dumps({"brand": "acme", "asset": {**ASSET, "product": "../x.png"}}).encode(),
            {},
            422,
        ),
        ("PUT", "/v1/briefs/..%2Fevil", b"{}", {}, 404),
        ("PUT", "/v1/briefs/Evil", b"{}", {}, 404),
        (
            "POST",
            "/v1/webhooks",
            json.dumps({"url": "http://169.254.169.254/", "events": ["run.failed"]}).encode(),
            {},
            422,
        ),
        ("POST", "/v1/webhooks", json.dumps({"url": api["allow"], "events": ["everything"]}).encode(), {}, 422),
        ("GET", "/v1/files/" + "0" * 64, None, {}, 404),
        ("GET", "/v1/files/..%2F..%2Fetc%2Fpasswd", None, {}, 404),
        ("GET", "/v1/runs/..%2Fx", None, {}, 404),
        ("DELETE", "/v1/renders", None, {}, 405),
    ]
    for method, path, raw, headers, expected in cases:
        headers = {"content-type": "application/json", **headers} if raw is not None else headers
        status, got, body = call(api, method, path, raw=raw, headers=headers)
        assert status == expected, (path, raw[:60] if raw else None, body)
        assert got["content-type"] == "application/problem+json" and body["title"] and body["detail"]
        assert "Traceback" not in json.dumps(body)
    _, _, body = call(api, "POST", "/v1/renders", {"brand": "acme", "asset": {**ASSET, "sizes": ["300x25o"]}, "x": 1})
    assert {e["line"] for e in body["errors"]} >= {
        "request: x: unknown key (typo?)",
        "request: asset.sizes: '300x25o' is not WxH (for example 1080x1080) or a size preset (e.g. meta/story); "
        "channels: google, iab, linkedin, meta, pinterest, tiktok, x, youtube (docs/channels.md)",
    }
    assert written(home) == before  # nothing written for any of them


def test_a_render_end_to_end_then_a_second_one_reuses_the_key_visual(api):
    home, receiver = api["home"], api["receiver"]
    receiver.secrets["/flaky"] = call(
        api, "POST", "/v1/webhooks", {"url": f"{api['allow']}/flaky", "events": ["deliverable.published"]}
    )[2]["secret"]
    first = {"brand": "acme", "asset": ASSET}  # the first render loads the model: wait for it
    status, _, answer = call(api, "POST", "/v1/renders", first, token="render", headers={"Prefer": "wait=120"})
    assert status == 200 and answer["status"] == "done", answer
    (deliverable,) = answer["deliverables"]
    assert deliverable["status"] == "published" and deliverable["reasons"] == []
    checks = {c["check"] for c in deliverable["checks"]}
    assert {"ocr", "contrast", "size", "not_blank"} <= checks and all(c["passed"] for c in deliverable["checks"])
    assert [f["format"] for f in deliverable["files"]] == ["png", "jpeg"]
    assert deliverable["provenance"]["prompt"].startswith(ASSET["prompt"])
    for file in deliverable["files"]:
        status, headers, data = call(api, "GET", file["url"], token="read")
        assert status == 200 and hashlib.sha256(data).hexdigest() == file["sha256"] and len(data) == file["bytes"]
        assert Image.open(io.BytesIO(data)).size == (256, 256)
        assert headers["content-type"] == f"image/{file['format']}"
    # recorded: catalog rows of the API with the request id, lineage, and the Dagster event
    _, rows = query(
        Home(home), f"SELECT origin, request_id, status FROM publications WHERE request_id = '{answer['id']}'"
    )
    assert rows == [("api", answer["id"], "published")]
    _, checked = query(
        Home(home), f"SELECT count(*) FROM checks WHERE origin = 'api' AND request_id = '{answer['id']}'"
    )
    assert checked[0][0] == len(deliverable["checks"])
    chain = cli(home, "lineage", deliverable["files"][1]["sha256"])
    assert chain.returncode == 0, chain.stderr
    assert answer["id"] in chain.stdout and "model     tiny" in chain.stdout and "c2pa      signed" in chain.stdout
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("realtime_renders"))
    assert event is not None and event.asset_materialization.metadata["request_id"].value == answer["id"]
    # new copy on the same prompt and seed: the key visual comes from the cache, nothing is generated
    status, headers, second = call(
        api, "POST", "/v1/renders", {"brand": "acme", "asset": {**ASSET, "headline": "Summer Sale"}}, token="render"
    )
    assert status == 200 and second["drafts_generated"] == 0 and answer["drafts_generated"] >= 1
    # where the time went: each stage's seconds in the answer, and as Server-Timing (ms)
    stages = ["prepare", "drafts", "typeset", "upscale", "checks", "encode", "files", "record", "report"]
    assert list(second["timings"]) == stages and all(v >= 0 for v in second["timings"].values())
    assert sum(second["timings"][s] for s in stages[:-1]) <= second["seconds"] + 0.01
    timing = dict(part.split(";dur=") for part in headers["Server-Timing"].split(", "))
    assert list(timing) == stages and float(timing["checks"]) == round(second["timings"]["checks"] * 1000)
    assert second["deliverables"][0]["key_visual"] == {**deliverable["key_visual"], "cache_hit": True}
    assert second["deliverables"][0]["files"][0]["sha256"] != deliverable["files"][0]["sha256"]
    # the webhook: first delivery answered 500, retried with the same id, every attempt signed
    flaky = wait_for(lambda: (got := [r for r in receiver.received if r["path"] == "/flaky"])[3:] and got)
    ids = [r["id"] for r in flaky]
    assert all(r["verified"] for r in flaky) and len(set(ids)) == 2 and all(ids.count(i) == 2 for i in set(ids))
    assert {r["body"]["data"]["render"] for r in flaky} == {answer["id"], second["id"]}


def test_an_idempotent_repeat_gets_the_first_answer_and_another_body_409(api):
    home = api["home"]
    body = {"brand": "acme", "asset": {**ASSET, "headline": "Autumn Sale"}}
    key = {"Idempotency-Key": "order-4711"}
    first = call(api, "POST", "/v1/renders", body, token="render", headers=key)
    requests = len(list((home / "api" / "requests").iterdir()))
    again = call(api, "POST", "/v1/renders", body, token="render", headers=key)
    assert first[0] == again[0] == 200 and again[2] == first[2] and again[1]["Idempotent-Replayed"] == "true"
    assert len(list((home / "api" / "requests").iterdir())) == requests  # no work the second time
    status, _, problem = call(api, "POST", "/v1/renders", {**body, "campaign": "other"}, token="render", headers=key)
    assert status == 409 and problem["type"] == "/docs#problem-idempotency-key-reused"


def test_a_full_render_queue_answers_429_with_retry_after(api):
    # The server runs with --queue 0: one render at a time, none waiting.
    body = {"brand": "acme", "asset": {**ASSET, "headline": "Winter Sale"}}
    status, headers, running = call(api, "POST", "/v1/renders", body, token="render", headers={"Prefer": "wait=0"})
    assert status == 202 and running["status"] == "running" and headers["Location"] == running["url"]
    status, headers, problem = call(api, "POST", "/v1/renders", body, token="render")
    assert status == 429 and headers["Retry-After"] == "1" and problem["type"] == "/docs#problem-too-many-requests"
    done = wait_for(lambda: (a := call(api, "GET", running["url"], token="read")[2])["status"] == "done" and a)
    assert done["deliverables"][0]["status"] == "published"


def test_a_brief_over_http_is_validated_then_run_as_a_dagster_run(api):
    home, receiver = api["home"], api["receiver"]
    receiver.secrets["/runs"] = call(
        api,
        "POST",
        "/v1/webhooks",
        {"url": f"{api['allow']}/runs", "events": ["run.succeeded", "deliverable.published"]},
    )[2]["secret"]
    bad = "campaign: mugs\nbrand: acme\nassets:\n  - id: hero\n    sizes: ['300x25o']\n    colour: red\n"
    status, _, problem = call(
        api, "PUT", "/v1/briefs/mugs", raw=bad.encode(), token="runs", headers={"content-type": "application/yaml"}
    )
    assert status == 422 and not (home / "briefs" / "mugs.yaml").exists()
    lines = {e["line"] for e in problem["errors"]}
    assert "briefs/mugs.yaml: assets[0](id=hero).prompt: required field is missing" in lines
    assert "briefs/mugs.yaml: assets[0](id=hero).colour: unknown key (typo?)" in lines
    brief = {"campaign": "mugs", "brand": "acme", "assets": [{"id": "hero", **ASSET}]}
    status, _, written_brief = call(api, "PUT", "/v1/briefs/mugs", brief, token="runs")
    assert status == 200 and (home / "briefs" / "mugs.yaml").exists() and written_brief["path"] == "briefs/mugs.yaml"
    status, headers, run = call(
        api, "POST", "/v1/campaigns/mugs/runs", token="runs", headers={"Idempotency-Key": "run-1"}
    )
    assert status == 202 and headers["Location"] == f"/v1/runs/{run['id']}"
    finished = wait_for(
        lambda: (r := call(api, "GET", run["url"], token="read")[2])["status"] in ("succeeded", "failed") and r, 300
    )
    assert finished["status"] == "succeeded", finished
    assert (
        finished["stages"] == dict.fromkeys(finished["stages"], "succeeded")
        and "published_assets" in finished["stages"]
    )
    assert finished["deliverables"][0]["status"] == "published" and finished["dagster_run_id"]
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        assert instance.get_run_by_id(finished["dagster_run_id"]).status == dg.DagsterRunStatus.SUCCESS
    status, _, manifest = call(api, "GET", "/v1/campaigns/mugs", token="read")
    assert status == 200 and manifest["deliverables"][0]["sha256"]
    _, rows = query(Home(home), "SELECT DISTINCT origin FROM publications WHERE campaign = 'mugs'")
    assert rows == [("run",)]
    assert verify(Home(home))[1] == []  # the batch campaign and the real-time renders' files all check out
    events = wait_for(
        lambda: (
            {r["body"]["type"] for r in receiver.received if r["path"] == "/runs"}
            >= {"run.succeeded", "deliverable.published"}
            and receiver.received
        )
    )
    assert all(r["verified"] for r in events if r["path"] == "/runs")


def test_a_pending_delivery_is_resumed_after_a_restart(api):
    receiver, server = api["receiver"], api["server"]
    receiver.down = True
    hook = call(api, "POST", "/v1/webhooks", {"url": f"{api['allow']}/down", "events": ["deliverable.rejected"]})[2]
    receiver.secrets["/down"] = hook["secret"]
    banned = {"brand": "acme", "asset": {**ASSET, "headline": "Guaranteed results"}}  # a banned term: rejected
    status, _, answer = call(api, "POST", "/v1/renders", banned, token="render")
    assert (
        status == 200 and answer["deliverables"][0]["status"] == "rejected" and answer["deliverables"][0]["files"] == []
    )
    assert any("banned" in reason for reason in answer["deliverables"][0]["reasons"])
    wait_for(lambda: [r for r in receiver.received if r["path"] == "/down"])
    server.stop()
    receiver.down = False
    server.start()
    deliveries = wait_for(
        lambda: (
            (d := call(api, "GET", f"/v1/webhooks/{hook['id']}/deliveries")[2]["deliveries"])
            and d[0]["state"] == "delivered"
            and d
        )
    )
    (delivery,) = deliveries
    assert len(delivery["attempts"]) >= 2 and delivery["attempts"][-1]["status"] == 204
    down = [r for r in receiver.received if r["path"] == "/down"]
    assert {r["id"] for r in down} == {delivery["id"]} and all(r["verified"] for r in down)
