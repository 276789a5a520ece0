"""The embedded default draft model: committed weights, registry routing, colours, brand steering, corpus."""

from __future__ import annotations

import numpy as np
import pytest

from asset_pipeline.home import Home
from asset_pipeline.models import DraftGenerator, draft_size, load_registry
from asset_pipeline.models.embedded import EMBEDDED_ID, EMBEDDED_PATH, colour_name, palette_phrase, steered_prompt
from asset_pipeline_tests.conftest import write_brief
from training.corpus import held_out_prompts, is_held_out, sample
from training.evaluate import colour_check


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return load_registry(tmp_path_factory.mktemp("embedded-home"))


def test_committed_weights_are_small_safetensors(registry):
    folder = registry.resolve_path(registry.get(EMBEDDED_ID))
    assert folder is not None and str(folder) == EMBEDDED_PATH
    files = [p for p in folder.rglob("*") if p.is_file()]
    weights = [p for p in files if p.suffix in {".safetensors", ".bin", ".pt", ".ckpt"}]
    assert {p.suffix for p in weights} == {".safetensors"}
    assert sum(p.stat().st_size for p in files) <= 40 * 2**20


def test_embedded_is_the_default_draft_model_without_real_checkpoints(registry):
    draft = [spec.id for spec in registry.candidates("draft")]
    assert draft.index(EMBEDDED_ID) < draft.index("tiny")
    present = [spec.id for spec in registry.candidates("draft") if registry.weights_present(spec)]
    assert present[0] == EMBEDDED_ID  # no real checkpoint here: the embedded model is used


# Prompts the committed model gets right (a regression guard; benchmarks/embedded_model.py
# measures the rate on held-out prompts): each image's dominant colours must be the named ones.
PROMPTS = [
    ("navy (#1b2a57) studio backdrop", ["navy"]),
    ("mint (#a6e3c4) and white (#ffffff) stripes", ["mint", "white"]),
    ("purple (#6c3aa8) background with soft pink (#f29ab8) bokeh lights", ["purple", "pink"]),
    ("terracotta (#c0603c) paper texture", ["terracotta"]),
    ("charcoal (#2e3033) wall with a warm spotlight and soft shadow", ["charcoal"]),
]


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_drafts_have_the_size_and_named_colours(registry):
    spec = registry.get(EMBEDDED_ID)
    width, height = draft_size(spec, 1080, 1080)
    images = DraftGenerator(registry).generate(
        spec, [p for p, _ in PROMPTS], [None] * len(PROMPTS), [7] * len(PROMPTS), width, height
    )
    assert [im.size for im in images] == [(512, 512)] * len(PROMPTS)
    checks = {prompt: colour_check(im, colours) for (prompt, colours), im in zip(PROMPTS, images)}
    assert all(c["adherent"] for c in checks.values()), checks
    # Not one flat colour per prompt: two seeds give different backgrounds.
    other = DraftGenerator(registry).generate(spec, [PROMPTS[1][0]], [None], [8], width, height)[0]
    assert np.abs(np.asarray(other, float) - np.asarray(images[1], float)).mean() > 2


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_palette_grade_brings_drafts_to_the_named_colours(registry):
    from asset_pipeline.stages.drafts import cache_key

    graded = registry.get(EMBEDDED_ID)
    raw = graded.model_copy(update={"palette_grade": 0.0})
    assert graded.palette_grade > 0
    prompts = held_out_prompts(40)[::10]  # four held-out prompts, spread over patterns
    generator = DraftGenerator(registry)
    worst = {}
    for spec in (raw, graded):
        images = generator.generate(spec, [p for p, _, _ in prompts], [None] * 4, [0] * 4, 256, 256)
        worst[spec.palette_grade] = [
            colour_check(im, colours)["worst_delta_e"] for im, (_, _, colours) in zip(images, prompts)
        ]
    # Never off-palette where the raw draft was on it (ΔE 20), and much nearer in all.
    assert all(g <= max(r, 20) for g, r in zip(worst[graded.palette_grade], worst[0.0])), worst
    assert sum(worst[graded.palette_grade]) < sum(worst[0.0]) - 10, worst

    # A grade is part of what made the pixels: another strength is another cached draft.
    def key(spec):
        return cache_key(spec, "w", "p", None, 0, 256, 256)

    assert key(raw) != key(graded) != key(graded.model_copy(update={"palette_grade": 0.5}))


def test_brand_colours_are_named_and_put_first():
    assert colour_name("#FF5A36") == "coral"
    assert colour_name("#1a1a1a") == "black"  # nearer #111111 than charcoal #2e3033
    phrase = palette_phrase(["#FF5A36", "#FFFFFF", "#1A1A1A", "#ffffff"])
    assert phrase == "coral (#ff5a36), white (#ffffff) and black (#1a1a1a) palette"
    assert steered_prompt("a mug", ["#FF5A36"]) == "coral (#ff5a36) palette, a mug"
    assert steered_prompt("a mug", []) == "a mug"


def test_steered_prompt_fits_the_text_encoder(registry):
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(f"{EMBEDDED_PATH}/tokenizer")
    prompt = steered_prompt(
        "ceramic mug on a wooden table, studio light, clean product photography, soft daylight",
        ["#FF5A36", "#FFFFFF", "#1A1A1A"],
    )
    ids = tokenizer(prompt).input_ids
    assert len(ids) <= 77
    # Colour and pattern words are single tokens, so a palette costs few of the 77.
    for word in ("coral", "charcoal", "gradient", "bokeh", "stripes", "palette"):
        assert len(tokenizer(word).input_ids) == 3, word  # start, the word, end


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_drafts_stage_steers_only_the_embedded_model(registry, home):
    from asset_pipeline.stages.drafts import generate_drafts

    row = {
        "campaign": "c",
        "asset": "hero",
        "variant": 1,
        "size": "256x256",
        "width": 256,
        "height": 256,
        "prompt": "a mug",
        "negative_prompt": None,
        "tier": "draft",
        "model": None,
        "seed": 3,
        "brand": "acme",
        "palette": ["#FF5A36", "#FFFFFF", "#1A1A1A"],
    }
    embedded = generate_drafts([dict(row, model=EMBEDDED_ID)], load_registry(home), DraftGenerator(), Home(home))
    assert embedded[0]["prompt"].startswith("coral (#ff5a36), white (#ffffff) and black (#1a1a1a) palette, a mug")
    tiny = generate_drafts([dict(row, model="tiny")], load_registry(home), DraftGenerator(), Home(home))
    assert tiny[0]["prompt"] == "a mug"


def test_brand_steering_prefixes_only_models_that_opt_in(registry):
    from asset_pipeline.models.embedded import brand_steering
    from asset_pipeline.stages.drafts import DraftJob

    job = DraftJob(asset="hero", tier="draft", model=None, prompt="a mug", negative_prompt=None, seeds={1: 3})
    steer = brand_steering(["#FF5A36", "#FFFFFF", "#1A1A1A"])
    embedded, tiny = registry.get(EMBEDDED_ID), registry.get("tiny")
    assert steer(job, embedded).prompt == "coral (#ff5a36), white (#ffffff) and black (#1a1a1a) palette, a mug"
    # A re-roll on the next model starts from the brief's prompt again, not the steered one.
    assert steer(job, tiny) is job and job.prompt == "a mug"
    assert brand_steering(None)(job, embedded) is job and brand_steering([])(job, embedded) is job
    # Any model may opt in (models.yaml `brand_steering: true`), a retrained embedded model say.
    retrained = tiny.model_copy(update={"brand_steering": True})
    assert steer(job, retrained).prompt.startswith("coral (#ff5a36)")


def test_corpus_is_deterministic_and_keeps_held_out_prompts_out():
    a, b = sample(123, 64), sample(123, 64)
    assert a.caption == b.caption and np.array_equal(a.image, b.image)
    assert sample(124, 64).caption != a.caption or not np.array_equal(sample(124, 64).image, a.image)
    training = [sample(seed, 16) for seed in range(400)]
    assert not any(is_held_out(s.colours, s.pattern) for s in training)
    held = held_out_prompts(20)
    assert len({p for p, _, _ in held}) == 20
    assert all(is_held_out(colours, pattern) for _, pattern, colours in held)


BRIEF = """campaign: {campaign}
brand: acme
assets:
  - id: hero
    prompt: soft gradient
    headline: Spring Sale
    sizes: ["256x256"]
{model}"""


def test_the_palette_alone_steers_and_only_campaigns_the_embedded_model_draws(home):
    from asset_pipeline.orchestration.assets import input_versions
    from asset_pipeline.stages.briefs import expand_deliverables, load_campaign

    write_brief(home, "steered", BRIEF.format(campaign="steered", model="    model: embedded\n"))
    write_brief(home, "plain", BRIEF.format(campaign="plain", model=""))  # routed to tiny by the test home

    def versions() -> dict:
        return {c: input_versions(load_campaign(Home(home), c)) for c in ("steered", "plain")}

    before = versions()
    steered = load_campaign(Home(home), "steered")
    assert expand_deliverables(steered, Home(home))[0]["palette"] == ["#FF5A36", "#FFF3E0"]  # the brand's palette
    assert expand_deliverables(load_campaign(Home(home), "plain"), Home(home))[0]["palette"] == []

    brand = home / "brands" / "acme.yaml"
    # A text colour is typography only: no campaign's prompts change, whatever model draws it.
    brand.write_text(brand.read_text().replace('text: ["#FFFFFF", "#1A1A1A"]', 'text: ["#FFFFFF", "#222222"]'))
    after_text = versions()
    assert all(after_text[c]["brand_typography"] != before[c]["brand_typography"] for c in after_text)
    assert all(after_text[c]["brand_style"] == before[c]["brand_style"] for c in after_text)
    # The palette reaches the prompts of the embedded (palette-steered) campaign only.
    brand.write_text(brand.read_text().replace('palette: ["#FF5A36", "#FFF3E0"]', 'palette: ["#2255CC"]'))
    after_palette = versions()
    assert after_palette["steered"]["brand_style"] != after_text["steered"]["brand_style"]
    assert after_palette["plain"]["brand_style"] == after_text["plain"]["brand_style"]
    assert after_palette["plain"]["brand_typography"] == after_text["plain"]["brand_typography"]


def test_without_a_palette_the_accent_alone_steers(home):
    from asset_pipeline.specs import Brand

    assert Brand(brand="x", colors={"accent": "#123456"}).steering_palette() == ["#123456"]
    assert Brand(brand="x", palette=["#ABCDEF", "#000000"]).steering_palette() == ["#ABCDEF", "#000000"]


def test_vae_round_trip_keeps_corpus_colours_close(registry):
    """A regression guard on the VAE, the part that limits colour: its round trip alone."""
    from training.evaluate import vae_round_trip

    vae = DraftGenerator(registry).load(registry.get(EMBEDDED_ID)).vae
    measured = vae_round_trip(vae, count=4, size=256)
    assert measured["images"] == 4 and 0 <= measured["adherent_after"] <= 1
    assert measured["mean_pixel_delta_e"] < 16  # 11.5 for the committed weights at 512 px, 30 images
