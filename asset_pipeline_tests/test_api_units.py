"""The HTTP API's parts as plain functions: tokens, webhook signatures, the allow-list, idempotency,
body limits, queues, the realtime route and request validation (no server; milliseconds each)."""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest

from asset_pipeline.api.app import prefer_wait
from asset_pipeline.api.bodies import MAX_DEPTH, parse_json
from asset_pipeline.api.idempotency import IdempotencyStore, Stored
from asset_pipeline.api.openapi import document
from asset_pipeline.api.problems import ApiProblem
from asset_pipeline.api.queues import RouteQueue
from asset_pipeline.api.realtime import request_problems
from asset_pipeline.api.settings import WebhooksSettings, load_webhooks_settings
from asset_pipeline.api.tokens import TokenStore
from asset_pipeline.api.webhooks import sign
from asset_pipeline.home import Home
from asset_pipeline.models.registry import REALTIME, load_registry
from asset_pipeline.specs import InputError
from asset_pipeline_tests.conftest import SAMPLE_BRAND


def test_a_token_is_stored_only_as_its_hash_and_checked_with_its_scopes(tmp_path):
    store = TokenStore(Home(tmp_path))
    record, token = store.create(["render", "read"], "shop")
    stored = (tmp_path / "api" / "tokens.json").read_text()
    assert token not in stored and record.sha256 in stored
    assert store.verify(token) == record
    assert record.allows("render") and record.allows("read") and not record.allows("runs")
    assert store.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None  # one character off
    assert store.verify("apt_" + record.id) is None and store.verify(None) is None
    admin = store.create(["admin"])[0]
    assert admin.allows("runs") and admin.allows("review")
    store.revoke(record.id)
    assert store.verify(token) is None  # a second store (another process) sees the revocation
    assert TokenStore(Home(tmp_path)).verify(token) is None
    with pytest.raises(ValueError, match="choose from"):
        store.create(["everything"])


def test_webhook_signatures_match_the_standard_webhooks_test_vector():
    # The specification's own example: a receiver's library verifies what this signs.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_allow_list_matches_scheme_host_port_and_path_and_the_backoff_is_bounded(tmp_path):
    settings = WebhooksSettings(
        allow=["http://127.0.0.1:9000", "https://hooks.example.com/acme/"], retry_base_s=2, retry_max_s=10
    )
    assert settings.allows("http://127.0.0.1:9000/hook")
    assert settings.allows("https://hooks.example.com/acme/in")
    assert not settings.allows("https://hooks.example.com/other")
    assert not settings.allows("http://127.0.0.1:9001/hook")  # another port
    assert not settings.allows("https://127.0.0.1:9000/hook")  # another scheme
    assert not settings.allows("http://127.0.0.1.evil.com:9000/")
    assert not settings.allows("http://user:pw@127.0.0.1:9000/")
    assert not settings.allows("file:///etc/passwd")
    assert [settings.retry_delay(n) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]
    (tmp_path / "config.yaml").write_text("signing: {key: k.pem}\nwebhooks:\n  allow: [ftp://x]\n")
    with pytest.raises(InputError, match="webhooks.allow"):
        load_webhooks_settings(Home(tmp_path))


def test_an_idempotency_key_replays_the_first_answer_refuses_another_body_and_survives_a_restart(tmp_path):
    first = IdempotencyStore(Home(tmp_path))
    assert first.begin("tok POST /v1/renders", "k1", b"{}") is None
    with pytest.raises(ApiProblem) as in_flight:
        first.begin("tok POST /v1/renders", "k1", b"{}")
    assert in_flight.value.status == 409
    first.finish("tok POST /v1/renders", "k1", b"{}", Stored(200, {"content-type": "application/json"}, b'{"id":1}'))
    again = IdempotencyStore(Home(tmp_path))  # a restarted server
    assert again.begin("tok POST /v1/renders", "k1", b"{}") == Stored(
        200, {"content-type": "application/json"}, b'{"id":1}'
    )
    with pytest.raises(ApiProblem) as reused:
        again.begin("tok POST /v1/renders", "k1", b'{"other": 1}')
    assert reused.value.slug == "idempotency-key-reused"
    assert again.begin("other-token POST /v1/renders", "k1", b"{}") is None  # keys are per token
    expired = IdempotencyStore(Home(tmp_path), keep_s=0)
    assert expired.begin("tok POST /v1/renders", "k1", b'{"other": 1}') is None  # past its time: a new request
    with pytest.raises(ApiProblem):
        first.check_key("has space")


def test_json_bodies_are_refused_when_broken_or_too_deep():
    assert parse_json(b'{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    for body, slug in [(b"{", "bad-request"), (b"\xff", "bad-request"), (b"[" * 100_000 + b"]" * 100_000, None)]:
        with pytest.raises(ApiProblem) as info:
            parse_json(body)
        assert slug is None or info.value.slug == slug
    deep = json.dumps(json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))).encode()
    with pytest.raises(ApiProblem, match="deeper"):
        parse_json(deep)


def test_prefer_wait_is_read_and_bounded():
    assert prefer_wait(None) == 10
    assert prefer_wait("wait=3") == 3
    assert prefer_wait("respond-async, wait=0") == 0
    assert prefer_wait("wait=9999") == 60


def test_a_full_route_queue_refuses_at_once_with_retry_after():
    queue, release = RouteQueue("renders", workers=1, depth=1), threading.Event()
    running = queue.submit(release.wait, 5)
    waiting = queue.submit(time.sleep, 0)
    with pytest.raises(ApiProblem) as info:
        queue.submit(time.sleep, 0)
    assert info.value.status == 429 and info.value.headers["Retry-After"] == "1"
    release.set()
    running.result(5), waiting.result(5)
    queue.submit(time.sleep, 0).result(5)  # room again once they are done
    queue.shutdown()


def test_the_realtime_route_defaults_to_the_draft_route_and_can_be_given(tmp_path):
    registry = load_registry(tmp_path)
    assert registry.realtime_route() == registry.routes["draft"] and REALTIME not in registry.routes
    routed = registry.for_realtime()
    assert [s.id for s in routed.candidates("final")] == registry.routes["draft"]
    (tmp_path / "models.yaml").write_text("routes:\n  realtime: [tiny]\n")
    assert [s.id for s in load_registry(tmp_path).for_realtime().candidates("draft")] == ["tiny"]
    (tmp_path / "models.yaml").write_text("routes:\n  realtime: [sd-x4-upscaler, nope]\n")
    with pytest.raises(InputError) as info:
        load_registry(tmp_path)
    assert {p.field for p in info.value.problems} == {"routes.realtime[0]", "routes.realtime[1]"}


def test_a_render_request_is_validated_as_an_asset_in_a_brief_with_every_problem_listed(tmp_path):
    home = tmp_path  # a brand file is all validation reads (no model)
    (home / "brands").mkdir()
    shutil.copy(SAMPLE_BRAND, home / "brands" / "acme.yaml")
    (home / "briefs").mkdir()
    brief, problems = request_problems(
        Home(home), {"brand": "nope", "asset": {"sizes": ["300x25o"], "formats": ["gif"]}, "extra": 1}
    )
    lines = [str(p) for p in problems]
    assert brief is None
    assert "request: extra: unknown key (typo?)" in lines
    assert "request: brand: brand 'nope' has no file brands/nope.yaml" in lines
    assert "request: asset.prompt: required field is missing" in lines
    assert any(line.startswith("request: asset.sizes: '300x25o' is not WxH") for line in lines)
    assert any(line.startswith("request: asset.formats[0]:") for line in lines)
    (home / "briefs" / "spring.yaml").write_text("campaign: spring\n")
    _, taken = request_problems(
        Home(home), {"brand": "acme", "asset": {"prompt": "x", "sizes": ["64x64"]}, "campaign": "spring"}
    )
    assert [p.field for p in taken] == ["campaign"]  # a batch campaign's name is not a real-time group
    brief, problems = request_problems(Home(home), {"brand": "acme", "asset": {"prompt": "a mug", "sizes": ["64x64"]}})
    assert problems == [] and brief.campaign == "realtime" and brief.assets[0].id == "render"


def test_the_openapi_document_resolves_every_reference():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    text = json.dumps(doc)
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs and refs <= set(doc["components"]["schemas"])
    operations = {op["operationId"] for methods in doc["paths"].values() for op in methods.values()}
    assert len(operations) == sum(len(m) for m in doc["paths"].values())  # unique, as generators need
    assert {"createRender", "getFile", "putBrief", "createRun", "getRun", "getCampaign", "createWebhook"} <= operations


def test_appending_rows_keeps_the_file_and_checks_only_the_new_rows(tmp_path):
    from asset_pipeline.storage.records import RecordError
    from asset_pipeline.storage.tables import append_rows, read_rows, write_rows

    home = Home(tmp_path)
    row = {"campaign": "rt", "asset": "a", "variant": 1, "size": "64x64", "render_sha256": None}
    row |= {"check": "size", "passed": True, "value": None, "detail": "ok"}
    write_rows(home, "checks", "rt", [row])
    append_rows(home, "checks", "rt", [dict(row, check="ocr", origin="api", request_id="r1")])
    assert [(r["check"], r["origin"], r["request_id"]) for r in read_rows(home, "checks", "rt")] == [
        ("size", "run", None),
        ("ocr", "api", "r1"),
    ]
    with pytest.raises(RecordError):
        append_rows(home, "checks", "rt", [dict(row, campaign="other")])
    assert len(read_rows(home, "checks", "rt")) == 2


def test_loaded_models_are_kept_up_to_a_bound_least_recently_used_dropped_first(tiny_model, tmp_path):
    from asset_pipeline.models import generation
    from asset_pipeline.models.registry import ModelSpec

    generation._unload()
    base = {"id": "tiny", "path": str(tiny_model), "steps": 1, "guidance": 0.0}
    first, second = ModelSpec(**base), ModelSpec(**base, scheduler="EulerDiscreteScheduler")  # two pipelines
    generator, loads = generation.DraftGenerator(), generation.LOAD_COUNT
    try:
        generation.set_max_loaded(2)
        generator.load(first), generator.load(second), generator.load(first)
        assert generation.LOAD_COUNT == loads + 2  # both stayed loaded
        generation.set_max_loaded(1)  # the least recently used (second) goes
        generator.load(first)
        assert generation.LOAD_COUNT == loads + 2
        generator.load(second)
        assert generation.LOAD_COUNT == loads + 3 and len(generation._LOADED) == 1
    finally:
        generation.set_max_loaded(1)
        generation._unload()


def test_a_body_that_arrives_too_slowly_is_cut_off_and_one_too_large_refused():
    import asyncio

    from starlette.requests import Request

    from asset_pipeline.api.bodies import read_body

    async def stalled():
        await asyncio.sleep(5)  # a client that sent its headers and then nothing

    async def flood():
        return {"type": "http.request", "body": b"x" * 4096, "more_body": True}

    def request(receive, length=None):
        headers = [(b"content-length", str(length).encode())] if length is not None else []
        return Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive)

    with pytest.raises(ApiProblem) as slow:
        asyncio.run(read_body(request(stalled), timeout_s=0.05))
    assert slow.value.status == 408
    with pytest.raises(ApiProblem) as declared:
        asyncio.run(read_body(request(stalled, 100_000_000)))
    assert declared.value.status == 413  # refused on its Content-Length, before reading a byte
    with pytest.raises(ApiProblem) as stalled_over:
        asyncio.run(read_body(request(stalled, 2_000_000), timeout_s=0.05))
    assert stalled_over.value.status == 413  # its Content-Length is over the cap, whatever arrives
    sent = []

    async def sized(total=2_000_000, chunk=65_536):
        sent.append(min(chunk, total - chunk * len(sent)))
        return {"type": "http.request", "body": b"x" * sent[-1], "more_body": sum(sent) < total}

    with pytest.raises(ApiProblem) as drained:
        asyncio.run(read_body(request(sized, 2_000_000)))
    # read to its end before the 413, so the client, done sending, reads the answer (no reset)
    assert drained.value.status == 413 and sum(sent) == 2_000_000
    with pytest.raises(ApiProblem) as streamed:
        asyncio.run(read_body(request(flood), limit=10_000))  # no length given: cut off past the cap
    assert streamed.value.status == 413
