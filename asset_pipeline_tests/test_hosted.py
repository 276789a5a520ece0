"""Hosted models (models/hosted/): each adapter, the real one on its real SDK, against a loopback
server that speaks its provider's documented HTTP API (support/provider_server.py); then the
drafts stage over them as a Dagster materialization: fallbacks, the cache, the price on the
draft row, and the key in no file of the home or the instance.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image

from asset_pipeline.home import Home
from asset_pipeline.models.hosted import HostedGenerator, draft_columns, fingerprint, price_per_image
from asset_pipeline.models.hosted.calls import (
    ContentRefused,
    KeyMissing,
    KeyRejected,
    ModelUnavailable,
    RequestTimedOut,
    ServerError,
)
from asset_pipeline.models.hosted.catalog import nearest_size
from asset_pipeline.models.registry import ModelSpec, draft_size, load_registry
from asset_pipeline.specs import InputError
from asset_pipeline_tests.conftest import write_brief
from asset_pipeline_tests.support.provider_server import (
    GEMINI_PATH,
    IDEOGRAM_PATH,
    IDEOGRAM_V3_PATH,
    IMAGE_PATH,
    OPENAI_EDIT_PATH,
    OPENAI_PATH,
    ProviderServer,
    Reply,
    gemini_error,
    gemini_image,
    ideogram_image,
    openai_error,
    openai_image,
    small_png,
)

KEY_ENV = "ASSET_PIPELINE_TEST_HOSTED_KEY"


@pytest.fixture
def server():
    found = ProviderServer()
    found.script(IMAGE_PATH, Reply(200, small_png(3)))
    yield found
    found.close()


@pytest.fixture
def key(monkeypatch) -> str:
    value = "sk-test-" + secrets.token_hex(16)  # unique: a grep for it finds only leaks
    monkeypatch.setenv(KEY_ENV, value)
    return value


def entry(server, provider: str, model: str, **fields) -> ModelSpec:
    base = server.url + ("/v1" if provider == "openai" else "")
    defaults = {"timeout": 5.0, "retries": 2}
    return ModelSpec(
        id=f"t-{provider}", provider=provider, path=model, api_key_env=KEY_ENV, base_url=base, **{**defaults, **fields}
    )


def draw(spec: ModelSpec, size=(1024, 1024), generator=None, **extra) -> Image.Image:
    [image] = (generator or HostedGenerator()).generate(spec, ["a mug"], ["text"], [7], *size, **extra)
    return image


# ---------------------------------------------------------------- plain functions


def test_sizes_go_to_the_nearest_offered_aspect_and_prices_come_from_the_table_or_the_entry():
    assert nearest_size("openai", "dall-e-3", 1200, 628) == (1792, 1024)
    assert nearest_size("openai", "dall-e-3", 1080, 1920) == (1024, 1792)
    assert nearest_size("ideogram", "V_2", 728, 90) == (1536, 512)  # 3:1, the widest it draws
    assert nearest_size("google", "gemini-2.5-flash-image", 1080, 1350) == (896, 1152)  # 4:5
    registry = load_registry(Path("/nonexistent-home"))
    hd, standard = registry.get("dall-e-3-hd"), registry.get("dall-e-3")
    assert draft_size(hd, 1200, 628) == (1792, 1024)
    assert price_per_image(hd, (1792, 1024)) == (0.12, "USD")
    assert price_per_image(standard, "1024x1024") == (0.04, "USD")
    assert price_per_image(registry.get("gpt-image-1"), "1536x1024", "high") == (0.25, "USD")
    assert price_per_image(registry.get("ideogram-v3-turbo"), (1312, 736)) == (0.03, "USD")
    assert price_per_image(registry.get("tiny"), (256, 256)) is None
    priced = ModelSpec(id="mine", provider="ideogram", path="V_2A", cost={"per_image": 0.5, "currency": "EUR"})
    assert price_per_image(priced, (1024, 1024)) == (0.5, "EUR")
    # the quality is part of the cache key's stand-in for weights; the endpoint is not
    assert fingerprint(standard) != fingerprint(hd)
    assert fingerprint(standard) == fingerprint(standard.model_copy(update={"base_url": "http://proxy:8080/v1"}))


def test_models_yaml_hosted_entries_are_checked(tmp_path):
    def problems(text: str) -> str:
        (tmp_path / "models.yaml").write_text(text)
        with pytest.raises(InputError) as caught:
            load_registry(tmp_path)
        return str(caught.value)

    assert "not reproducible" in problems(
        "models:\n  - {id: a, provider: openai, path: dall-e-3, reproducible: true}\n"
    )
    assert "'ultra' is not one dall-e-3 takes (standard, hd)" in problems(
        "models:\n  - {id: a, provider: openai, path: dall-e-3, quality: ultra}\n"
    )
    assert "no model 'dall-e-9' here; known: dall-e-3" in problems(
        "models:\n  - {id: a, provider: openai, path: dall-e-9}\n"
    )
    assert "for hosted models" in problems("models:\n  - {id: a, path: x, steps: 1, guidance: 0, base_url: http://x}\n")
    (tmp_path / "models.yaml").write_text(
        "models:\n  - {id: mine, provider: ideogram, path: V_2_TURBO, api_key_env: MY_IDEOGRAM, tiers: [draft]}\n"
    )
    spec = load_registry(tmp_path).get("mine")
    assert (spec.reproducible, spec.steps, spec.api_key_env) == (False, 1, "MY_IDEOGRAM")


def test_openai_dalle3_draft_with_its_revised_prompt(server, key):
    server.script(OPENAI_PATH, openai_image())
    image = draw(entry(server, "openai", "dall-e-3", quality="hd"), (1792, 1024))
    assert image.size == (1792, 1024)
    [seen] = server.requests
    assert seen.headers["authorization"] == f"Bearer {key}"
    body = json.loads(seen.body)
    assert body["model"] == "dall-e-3" and body["size"] == "1792x1024" and body["quality"] == "hd"
    assert body["response_format"] == "b64_json" and body["n"] == 1
    assert body["prompt"] == "a mug. Avoid: text"  # no negative prompt in this API: it goes in the prompt
    assert image.info["hosted"]["provider_request_id"] == "req_openai_1"
    assert image.info["hosted"]["revised_prompt"] == "a revised mug"


def test_gpt_image_takes_a_reference_through_the_edits_endpoint(server, key):
    server.script(OPENAI_EDIT_PATH, openai_image(revised_prompt=None, request_id="req_edit"))
    reference = Image.new("RGB", (40, 30), "#ff5a36")
    image = draw(entry(server, "openai", "gpt-image-1", quality="low"), (1536, 1024), reference=reference)
    [seen] = server.requests
    assert seen.path == OPENAI_EDIT_PATH and seen.headers["content-type"].startswith("multipart/form-data")
    assert b'name="model"' in seen.body and b"gpt-image-1" in seen.body and b"\x89PNG" in seen.body
    assert image.info["hosted"]["provider_request_id"] == "req_edit"


def test_ideogram_draft_sends_seed_aspect_and_negative_and_fetches_the_linked_image(server, key):
    server.script(IDEOGRAM_PATH, ideogram_image(server))
    image = draw(entry(server, "ideogram", "V_2_TURBO"), (1312, 736))
    generate, fetch = server.requests
    assert generate.headers["api-key"] == key and fetch.path == IMAGE_PATH
    assert "api-key" not in fetch.headers  # the image host is not Ideogram's API: no key there
    sent = json.loads(generate.body)["image_request"]
    assert sent["model"] == "V_2_TURBO" and sent["aspect_ratio"] == "ASPECT_16_9" and sent["seed"] == 7
    assert sent["negative_prompt"] == "text" and sent["magic_prompt_option"] == "OFF"
    assert image.size == (1312, 736) and image.info["hosted"]["provider_request_id"] == "ideo_req_1"


def test_ideogram_v3_uses_its_multipart_endpoint_and_rendering_speed(server, key):
    server.script(IDEOGRAM_V3_PATH, ideogram_image(server))
    draw(entry(server, "ideogram", "V_3", quality="turbo"), (1024, 1024))
    seen = server.requests[0]
    assert seen.path == IDEOGRAM_V3_PATH and seen.headers["content-type"].startswith("multipart/form-data")
    assert b'name="rendering_speed"\r\n\r\nTURBO' in seen.body and b'name="aspect_ratio"\r\n\r\n1x1' in seen.body


def test_gemini_draft_names_its_model_version_and_response_id(server, key):
    server.script(GEMINI_PATH, gemini_image())
    image = draw(entry(server, "google", "gemini-2.5-flash-image"), (1344, 768))
    [seen] = server.requests
    assert seen.headers["x-goog-api-key"] == key
    body = json.loads(seen.body)
    assert body["generationConfig"]["imageConfig"]["aspectRatio"] == "16:9"
    assert body["generationConfig"]["seed"] == 7 and body["generationConfig"]["responseModalities"] == ["IMAGE"]
    assert body["contents"][0]["parts"][0]["text"] == "a mug. Avoid: text"
    hosted = image.info["hosted"]
    assert (hosted["provider_model_version"], hosted["provider_request_id"]) == (
        "gemini-2.5-flash-image-001",
        "gemini_resp_1",
    )


def test_a_429_waits_what_retry_after_asks_then_succeeds(server, key):
    server.script(
        OPENAI_PATH,
        openai_error(429, "rate_limit_exceeded", "Rate limit reached", "requests", **{"Retry-After": "1"}),
        openai_image(),
    )
    started = time.monotonic()
    draw(entry(server, "openai", "dall-e-3"))
    assert server.count(OPENAI_PATH) == 2 and time.monotonic() - started >= 0.95


def test_a_500_on_every_attempt_gives_up_after_the_retries(server, key):
    server.script(IDEOGRAM_PATH, Reply(500, {"detail": "Internal Server Error"}))
    with pytest.raises(ServerError, match="server error \\(500\\)"):
        draw(entry(server, "ideogram", "V_2", retries=1))
    assert server.count(IDEOGRAM_PATH) == 2


@pytest.mark.parametrize(
    "provider, model, path, reply",
    [
        (
            "openai",
            "dall-e-3",
            OPENAI_PATH,
            openai_error(400, "content_policy_violation", "Your request was rejected by our safety system."),
        ),
        ("ideogram", "V_2", IDEOGRAM_PATH, Reply(422, {"detail": "Prompt failed the safety check"})),
        ("google", "gemini-2.5-flash-image", GEMINI_PATH, Reply(200, {"promptFeedback": {"blockReason": "SAFETY"}})),
    ],
)
def test_a_content_policy_refusal_is_a_clear_reason_and_not_retried(server, key, provider, model, path, reply):
    server.script(path, reply)
    with pytest.raises(ContentRefused) as caught:
        draw(entry(server, provider, model))
    assert server.count(path) == 1 and "\n" not in str(caught.value) and "refused" in str(caught.value)


@pytest.mark.parametrize(
    "provider, model, path, reply",
    [
        ("openai", "dall-e-3", OPENAI_PATH, None),  # OpenAI's body echoes part of the key: never shown
        (
            "google",
            "gemini-2.5-flash-image",
            GEMINI_PATH,
            gemini_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"),
        ),
        ("ideogram", "V_2", IDEOGRAM_PATH, Reply(401, {"detail": "Unauthorized"})),
    ],
)
def test_a_wrong_key_is_one_line_once_and_never_asked_again(server, key, provider, model, path, reply):
    if reply is None:
        reply = openai_error(401, "invalid_api_key", f"Incorrect API key provided: {key}.")
    server.script(path, reply)
    generator, spec = HostedGenerator(), entry(server, provider, model)
    with pytest.raises(KeyRejected) as first:
        draw(spec, generator=generator)
    with pytest.raises(KeyRejected):  # the next draft of this model falls back without a request
        draw(spec, generator=generator)
    assert server.count(path) == 1
    message = str(first.value)
    assert "key was refused" in message or "refused the key" in message
    assert key not in message and key[-8:] not in message


def test_a_slow_provider_times_out_per_request(server, key):
    server.script(IDEOGRAM_PATH, Reply(200, {}, delay=1.5))
    started = time.monotonic()
    with pytest.raises(RequestTimedOut):
        draw(entry(server, "ideogram", "V_2", timeout=0.2, retries=0))
    assert time.monotonic() - started < 1.2


def test_no_key_and_retired_models_make_no_request(server, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(KeyMissing, match=KEY_ENV):
        draw(entry(server, "openai", "dall-e-3"))
    monkeypatch.setenv(KEY_ENV, "k")
    with pytest.raises(ModelUnavailable, match="retired by Google on 2026-08-17"):
        draw(entry(server, "google", "imagen-4.0-generate-001"), (1408, 768))
    assert server.requests == []


def test_validation_names_a_reference_given_to_a_model_that_takes_none(home):
    from asset_pipeline.validation import validate_home

    (home / "media").mkdir(exist_ok=True)
    Image.new("RGB", (64, 64), "#336699").save(home / "media" / "mood.png")
    write_brief(
        home,
        "refs",
        "campaign: refs\nbrand: acme\nassets:\n  - id: hero\n    prompt: a mug\n    sizes: ['300x250']\n"
        "    model: dall-e-3\n    reference: mood.png\n",
    )
    found = [str(p) for p in validate_home(Home(home))]
    assert any("assets[0](id=hero).reference" in p and "takes no reference image" in p for p in found), found


def test_models_command_lists_hosted_entries_with_presence_and_price(home, monkeypatch, capsys):
    from asset_pipeline.cli import cmd_models

    monkeypatch.setenv("IDEOGRAM_API_KEY", "present-for-this-test")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert cmd_models(type("Args", (), {"format": "table"})(), Home(home)) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "hosted: openai" in lines["dall-e-3-hd"] and "no: OPENAI_API_KEY is not set" in lines["dall-e-3-hd"]
    assert " 0.08 USD " in lines["dall-e-3-hd"]  # its list price per image (the cost_per_image column)
    assert lines["ideogram-v2-turbo"].rstrip().endswith(" yes") and " 0.05 USD " in lines["ideogram-v2-turbo"]
    assert "retired by Google on 2026-08-17" in lines["imagen-4"]


def test_draft_columns_carry_provenance_and_price_for_the_cost_rows():
    spec = ModelSpec(id="d", provider="openai", path="dall-e-3", quality="hd")
    entry_ = {"hosted": {"provider_request_id": "req_9", "revised_prompt": "x", "provider_model_version": None}}
    columns = draft_columns(spec, entry_, 1024, 1792)
    assert columns["price_per_image"] == 0.12 and columns["price_currency"] == "USD"
    assert columns["provider_request_id"] == "req_9" and columns["reproducible"] is False
    assert draft_columns(ModelSpec(id="l", path="x", steps=1, guidance=0.0), None, 64, 64) == {}


# ---------------------------------------------------------------- the drafts stage over hosted models

BRIEF = """\
campaign: hosted
brand: acme
assets:
  - id: ideo
    prompt: "a mug"
    sizes: ["320x180"]
    tier: draft
  - id: broken
    prompt: "a cup"
    sizes: ["300x250"]
    tier: final
"""


@pytest.mark.slow
def test_drafts_stage_hosted_route_falls_back_caches_prices_and_keeps_the_key_out_of_every_file(
    home, server, key, monkeypatch
):
    from asset_pipeline.orchestration.assets import INPUT_SOURCES, campaign_inputs, draft_images
    from asset_pipeline.orchestration.resources import PipelineResource
    from asset_pipeline.storage.tables import read_rows

    server.script(IDEOGRAM_PATH, ideogram_image(server, request_id="ideo_stage"))
    server.script(OPENAI_PATH, openai_error(500, "server_error", "The server had an error", "server_error"))
    (home / "models.yaml").write_text(
        "models:\n"
        # not gated: this tests the adapters in the drafts stage, not qualification (test_evaluations.py)
        f"  - {{id: ideo, provider: ideogram, path: V_2_TURBO, api_key_env: {KEY_ENV}, base_url: '{server.url}',"
        " timeout: 5, retries: 1, tiers: [draft], gated: false}\n"
        f"  - {{id: oai, provider: openai, path: dall-e-3, api_key_env: {KEY_ENV}, base_url: '{server.url}/v1',"
        " timeout: 5, retries: 1, tiers: [final], gated: false}\n"
        "routes:\n  draft: [ideo, tiny]\n  final: [oai, tiny]\n"
    )
    write_brief(home, "hosted", BRIEF)
    (home / "dagster").mkdir()  # the instance on disk under the home, so its event log is searched too
    instance = dg.DagsterInstance.local_temp(tempdir=str(home / "dagster"))
    instance.add_dynamic_partitions("campaigns", ["hosted"])
    resources = {"pipeline": PipelineResource(home=str(home))}

    def run() -> list[dict]:
        snapshot = [campaign_inputs, *INPUT_SOURCES]
        assert dg.materialize(
            snapshot, partition_key="hosted", instance=instance, resources=resources, selection=[*campaign_inputs.keys]
        ).success
        assert dg.materialize([draft_images], partition_key="hosted", instance=instance, resources=resources).success
        return {r["asset"]: r for r in read_rows(Home(home.resolve()), "drafts", "hosted")}

    first = run()
    ideo, broken = first["ideo"], first["broken"]
    assert (ideo["model"], ideo["provider"], ideo["width"], ideo["height"]) == ("ideo", "ideogram", 1312, 736)
    assert (ideo["price_per_image"], ideo["price_currency"], ideo["reproducible"]) == (0.05, "USD", False)
    assert ideo["provider_request_id"] == "ideo_stage" and ideo["draft_passed"] and not ideo["cache_hit"]
    # 500 on both attempts: the route's next model drew it, and the row says why
    assert broken["model"] == "tiny" and broken["provider"] is None and broken["reproducible"]
    assert any(f.startswith("oai: ServerError") and "500" in f for f in broken["fallbacks"]), broken["fallbacks"]
    assert server.count(OPENAI_PATH) == 2 and server.count(IDEOGRAM_PATH) == 1

    calls = len(server.requests)
    again = run()  # nothing changed: the cached hosted draft is reused, no request at all
    assert again["ideo"]["cache_hit"] and again["ideo"]["image_sha256"] == ideo["image_sha256"]
    assert again["ideo"]["provider_request_id"] == "ideo_stage"  # the cached draft keeps its provenance
    assert server.count(IDEOGRAM_PATH) == 1 and len(server.requests) == calls + 2  # only oai's retried 500s

    secret = key.encode()
    leaked = [p for p in home.rglob("*") if p.is_file() and not p.is_symlink() and secret in p.read_bytes()]
    assert (home / "dagster").is_dir() and not leaked, leaked
