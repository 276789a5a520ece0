"""The key visual: one draft per (asset, variant), every size a crop of it, extensions by outpainting."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from asset_pipeline.checks.seams import check_seams
from asset_pipeline.framing import (
    MIN_KEPT,
    Extension,
    Framer,
    canvas_aspect,
    crop_box,
    crop_to_aspect,
    extension,
    focal_point,
    kept_share,
)
from asset_pipeline.home import Home
from asset_pipeline.models import generation
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import load_registry
from asset_pipeline.specs import AssetSpec, InputError
from asset_pipeline.stages.briefs import expand_deliverables, take_snapshot
from asset_pipeline.stages.drafts import generate_drafts
from asset_pipeline.stages.quality import composition_boundaries
from asset_pipeline.stages.upscale import background_for
from asset_pipeline.storage.files import sha256_file
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline_tests.conftest import write_brief
from asset_pipeline_tests.support.drafts import brief_rows, drafts_for

SOCIAL = {"square": 1.0, "portrait": 4 / 5, "story": 9 / 16, "link": 1.91, "video": 16 / 9}

# ------------------------------------------------------------------ framing, plain functions


def test_social_formats_share_one_canvas_without_extensions():
    aspects = list(SOCIAL.values())
    canvas = canvas_aspect(aspects)
    assert min(kept_share(canvas, a) for a in aspects) >= MIN_KEPT
    assert canvas_aspect([1.0]) == 1.0
    # square + link: between the two, each crop keeps over 70%
    both = canvas_aspect([1.0, 1.91])
    assert 1.0 < both < 1.91 and min(kept_share(both, 1.0), kept_share(both, 1.91)) > 0.7


def test_a_banner_beside_a_square_leaves_the_square_whole_and_extends_the_banner():
    canvas = canvas_aspect([1.0, 728 / 90])
    assert canvas == 1.0  # one extension either way: the square keeps all of the picture
    assert kept_share(canvas, 728 / 90) < MIN_KEPT


def test_crop_box_is_centred_on_the_focal_point_and_stays_inside():
    left, top, right, bottom = crop_box(400, 200, 100, 100, focal=(0.75, 0.5))
    assert (right - left, bottom - top) == (200.0, 200.0) and (left + right) / 2 == 300.0
    # a focal point at the edge: the box stops at the edge, never leaves the image
    assert crop_box(400, 200, 100, 100, focal=(1.0, 0.5)) == (200.0, 0.0, 400.0, 200.0)
    # a taller target in a wide source is full height; aspect exactly the target's
    left, t, r, b = crop_box(400, 200, 90, 160, focal=(0.2, 0.9))
    assert b - t == 200 and abs((r - left) / (b - t) - 90 / 160) < 1e-9 and left >= 0


def test_focal_point_finds_the_salient_region():
    image = Image.new("RGB", (400, 300), (200, 190, 180))
    ImageDraw.Draw(image).ellipse((280, 40, 360, 120), fill=(20, 40, 200))
    x, y = focal_point(image)
    assert abs(x - 0.8) < 0.05 and abs(y - 80 / 300) < 0.05
    assert focal_point(Image.new("RGB", (64, 32), "grey")) == (0.5, 0.5)


def test_extension_holds_the_key_visual_centred_and_unstretched():
    ext = extension(256, 256, 512, 128)
    left, top, right, bottom = ext.inset
    assert (right - left, bottom - top) == (128, 128) and left == 192 and top == 0
    # the key visual's focal point moves with it
    assert ext.focal((0.5, 0.5)) == (0.5, 0.5)
    assert Extension(512, 128, (192, 0, 320, 128)).focal((0.0, 1.0)) == (192 / 512, 1.0)


# ------------------------------------------------------------------ the drafts stage, tiny model


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_one_key_visual_per_asset_and_variant_and_the_sizes_agree(home):
    sizes = ((1080, 1080), (1200, 628))
    rows = drafts_for(home, brief_rows(None, seed=11, variants=2, sizes=sizes))
    assert len(rows) == 2 and {r["kind"] for r in rows} == {"key"}  # 2 variants, not 2 x 2 aspects
    assert all(sorted(r["sizes"]) == ["1080x1080", "1200x628"] for r in rows)
    assert all(not r["cache_hit"] for r in rows)

    store = ObjectStore(Home(home))
    framer = Framer(rows, store)
    key = rows[0]
    image = framer.image(key["image_sha256"])
    boxes = {size: framer.box(key, *size) for size in sizes}
    backgrounds = {size: background_for(image, *size, None, "", 0, boxes[size])[0] for size in sizes}
    # The boxes overlap in the key visual; there, both sizes show the same pixels after scaling.
    (al, at, ar, ab), (bl, bt, br, bb) = boxes[sizes[0]], boxes[sizes[1]]
    overlap = (max(al, bl), max(at, bt), min(ar, br), min(ab, bb))
    assert overlap[2] - overlap[0] > 0.5 * image.width and overlap[3] - overlap[1] > 0.5 * image.height

    def region(size, box):
        scale = size[0] / (box[2] - box[0])
        x0, y0, x1, y1 = ((v - o) * scale for v, o in zip(overlap, (box[0], box[1], box[0], box[1])))
        part = backgrounds[size].crop((round(x0), round(y0), round(x1), round(y1)))
        return np.asarray(part.resize((200, 200), Image.Resampling.LANCZOS), dtype=float)

    same = np.abs(region(sizes[0], boxes[sizes[0]]) - region(sizes[1], boxes[sizes[1]])).mean()
    other = background_for(framer.image(rows[1]["image_sha256"]), *sizes[1], None, "", 0, boxes[sizes[1]])[0]
    scale = sizes[1][0] / (boxes[sizes[1]][2] - boxes[sizes[1]][0])
    assert other.size == backgrounds[sizes[1]].size
    different = np.abs(np.asarray(other, dtype=float) - np.asarray(backgrounds[sizes[1]], dtype=float)).mean()
    assert same < 4.0 and different > 4 * same, (same, different, scale)  # the same picture, not just similar

    again = drafts_for(home, brief_rows(None, seed=11, variants=2, sizes=sizes))
    assert all(r["cache_hit"] for r in again) and [r["image_sha256"] for r in again] == [
        r["image_sha256"] for r in rows
    ]


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_an_extreme_aspect_outpaints_the_key_visual_with_the_loaded_model(home):
    sizes = ((1080, 1080), (728, 90))
    loads = generation.LOAD_COUNT
    rows = drafts_for(home, brief_rows(None, seed=5, sizes=sizes))
    key = next(r for r in rows if r["kind"] == "key")
    [ext] = [r for r in rows if r["kind"] == "extension"]
    assert key["sizes"] == ["1080x1080"] and ext["sizes"] == ["728x90"]
    assert ext["extends"] == key["draft_key"] and ext["seed"] == key["seed"] and not key["notes"]
    assert ext["width"] / ext["height"] == 4.0  # as wide as the model goes; the 728x90 crop keeps half
    assert kept_share(ext["width"] / ext["height"], 728 / 90) >= MIN_KEPT
    assert generation.LOAD_COUNT - loads <= 1  # inpainting came from the loaded pipeline (from_pipe)

    store = ObjectStore(Home(home))
    key_image, ext_image = store.open(key["image_sha256"]), store.open(ext["image_sha256"])
    left, top, right, bottom = ext["inset"]
    # Inside its inset, less the band the model repainted, the extension is the key visual's own pixels.
    kept = generation.kept_inset(Extension(ext["width"], ext["height"], tuple(ext["inset"])))
    inner = np.asarray(ext_image.crop(kept), dtype=float)
    expected = key_image.resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    expected = np.asarray(expected.crop((kept[0] - left, kept[1] - top, kept[2] - left, kept[3] - top)), dtype=float)
    assert np.abs(inner - expected).max() == 0.0
    # Outside it, the model painted something new (not the edge pixels smeared outwards).
    outside = np.asarray(ext_image.crop((0, 0, left, ext["height"])), dtype=float)
    smeared = np.repeat(np.asarray(ext_image.crop((left, 0, left + 1, ext["height"])), dtype=float), left, axis=1)
    assert np.abs(outside - smeared).mean() > 2.0

    # The banner's crop is centred on the key visual's focal point, moved into the extension.
    framer = Framer(rows, store)
    box = framer.box(ext, 728, 90)
    assert box[0] >= 0 and box[2] <= ext["width"] and abs((box[2] - box[0]) / (box[3] - box[1]) - 728 / 90) < 1e-9

    # Cached like any draft: the rerun paints nothing.
    again = drafts_for(home, brief_rows(None, seed=5, sizes=sizes))
    assert all(r["cache_hit"] for r in again)


def test_a_model_that_cannot_inpaint_crops_the_banner_instead_and_says_so(home, monkeypatch):
    def refuse(*args, **kwargs):
        raise generation.GenerationError("tiny cannot inpaint: no such pipeline")

    monkeypatch.setattr(DraftGenerator, "outpaint", refuse)
    rows = drafts_for(home, brief_rows(None, seed=5, sizes=((1080, 1080), (728, 90))))
    [key] = rows
    assert key["sizes"] == ["1080x1080", "728x90"]
    assert key["notes"] == [
        "728x90: outpainting failed (GenerationError: tiny cannot inpaint: no such pipeline); cropped instead"
    ]


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
@pytest.mark.parametrize("model", ["embedded"])
def test_the_embedded_model_outpaints_through_latent_blending(home, model):
    registry = load_registry(home)
    spec = registry.get(model)
    generator = DraftGenerator(registry)
    (key,) = generator.generate(spec, ["coral palette, ceramic mug"], [None], [3], 256, 256)
    ext = extension(256, 256, 512, 128)
    out = generator.outpaint(spec, key, ext, "coral palette, ceramic mug", None, 3)
    assert out.size == (512, 128)
    left, top, right, bottom = kept = generation.kept_inset(ext)
    inner = np.asarray(out.crop(kept), dtype=float)
    expected = np.asarray(key.resize((128, 128), Image.Resampling.LANCZOS), dtype=float)
    assert np.abs(inner - expected[top:bottom, left - ext.inset[0] : right - ext.inset[0]]).max() == 0.0
    # and it meets the painting without a seam, judged where it was assembled
    boundaries = composition_boundaries({"width": 512, "height": 128, "inset": list(ext.inset)}, [], 728, 90)
    assert boundaries, "the key visual's edges fall inside the banner"
    seams = check_seams(crop_to_aspect(out, 728, 90), boundaries=boundaries)
    assert seams.passed, seams.detail
    # The same call gives the same bytes (seeded), and another seed a different extension.
    assert generator.outpaint(spec, key, ext, "coral palette, ceramic mug", None, 3).tobytes() == out.tobytes()
    assert generator.outpaint(spec, key, ext, "coral palette, ceramic mug", None, 4).tobytes() != out.tobytes()


# ------------------------------------------------------------------ reference images


def reference_brief(home, reference: str | None, strength: float = 0.6, second: str | None = None) -> None:
    lines = ["campaign: refs", "brand: acme", "assets:"]
    for asset, ref in (("hero", reference), ("other", second)):
        lines += [f"  - id: {asset}", '    prompt: "ceramic mug"', '    sizes: ["256x256", "320x256"]', "    seed: 9"]
        if ref:
            lines += [f"    reference: {ref}", f"    reference_strength: {strength}"]
    write_brief(home, "refs", "\n".join(lines) + "\n")


def snapshot_drafts(home) -> list[dict]:
    root = Home(home.resolve())
    inputs = take_snapshot(root, "refs")
    rows = expand_deliverables(inputs, root)
    return generate_drafts(rows, inputs.registry, DraftGenerator(inputs.registry), root)


@pytest.fixture
def ref_home(home):
    from skimage import data

    (home / "media" / "moods").mkdir(parents=True)
    Image.fromarray(data.astronaut()).save(home / "media" / "moods" / "astronaut.png")
    Image.fromarray(data.coffee()).convert("RGB").save(home / "media" / "moods" / "coffee.jpg", quality=90)
    return home


@pytest.mark.slow  # seconds of model work, whole runs or kill trials: make test runs it, test-fast not
def test_a_reference_steers_the_key_visual_and_is_part_of_its_key(ref_home):
    reference_brief(ref_home, None)
    plain = {r["asset"]: r for r in snapshot_drafts(ref_home)}
    reference_brief(ref_home, "moods/astronaut.png")
    astronaut = {r["asset"]: r for r in snapshot_drafts(ref_home)}
    reference_brief(ref_home, "moods/coffee.jpg")
    coffee = {r["asset"]: r for r in snapshot_drafts(ref_home)}

    # Same seed, same prompt: a different reference gives a different key visual.
    shas = {plain["hero"]["image_sha256"], astronaut["hero"]["image_sha256"], coffee["hero"]["image_sha256"]}
    assert len(shas) == 3 and not astronaut["hero"]["cache_hit"]
    assert astronaut["hero"]["reference_sha256"] == sha256_file(ref_home / "media" / "moods" / "astronaut.png")
    assert astronaut["hero"]["reference_strength"] == 0.6
    # The asset without a reference kept its cached draft: a reference is its own asset's input.
    assert astronaut["other"]["cache_hit"] and astronaut["other"]["image_sha256"] == plain["other"]["image_sha256"]

    # The strength is in the key: another strength draws again; the same one is cached.
    reference_brief(ref_home, "moods/coffee.jpg", strength=0.9)
    stronger = {r["asset"]: r for r in snapshot_drafts(ref_home)}
    assert not stronger["hero"]["cache_hit"] and stronger["hero"]["image_sha256"] != coffee["hero"]["image_sha256"]
    assert snapshot_drafts(ref_home)[0]["cache_hit"]

    # A changed reference file (same name) regenerates its asset's key visual only.
    Image.fromarray(np.asarray(Image.open(ref_home / "media" / "moods" / "coffee.jpg"))[::-1]).save(
        ref_home / "media" / "moods" / "coffee.jpg", quality=90
    )
    flipped = {r["asset"]: r for r in snapshot_drafts(ref_home)}
    assert not flipped["hero"]["cache_hit"] and flipped["other"]["cache_hit"]


@pytest.mark.parametrize(
    "name, data, says",
    [
        ("missing.png", None, "media/moods/missing.png: no such file"),
        ("notes.png", b"not an image\n" * 20, "is not an image"),
        ("huge.png", "huge", "the limit is 50 MP"),
        ("bomb.png", "bomb", "decompression bomb"),
    ],
)
def test_hostile_reference_files_are_input_errors_naming_the_file(ref_home, name, data, says):
    from asset_pipeline_tests.support.products import png_claiming

    if data == "huge":
        data = png_claiming(8000, 7000)
    elif data == "bomb":
        data = png_claiming(40000, 40000)
    if data is not None:
        (ref_home / "media" / "moods" / name).write_bytes(data)
    reference_brief(ref_home, f"moods/{name}")
    with pytest.raises(InputError) as caught:
        take_snapshot(Home(ref_home.resolve()), "refs")
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"briefs/refs.yaml: assets(id=hero).reference: media/moods/{name}"), problem
    assert says in problem
    assert not (ref_home / "tables" / "snapshots").exists()  # nothing of the run was written


def test_reference_paths_never_leave_media(ref_home, tmp_path):
    outside = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(outside)
    (ref_home / "media" / "moods" / "link.png").symlink_to(outside)
    reference_brief(ref_home, "moods/link.png")
    with pytest.raises(InputError, match="leaves media/|escapes the home"):
        take_snapshot(Home(ref_home.resolve()), "refs")
    for bad in ("../brands/x.png", "/etc/x.png", "moods/../../x.png", "moods/anim.gif"):
        with pytest.raises(ValueError):
            AssetSpec.model_validate({"id": "a", "prompt": "p", "sizes": ["64x64"], "reference": bad})
    with pytest.raises(ValueError):
        AssetSpec.model_validate({"id": "a", "prompt": "p", "sizes": ["64x64"], "reference_strength": 1.5})


# ------------------------------------------------------------------ end to end, through the CLI

FAMILIES = ["1080x1080", "1200x628", "1080x1920", "728x90", "160x600"]  # square, landscape, story, banners


@pytest.mark.slow
def test_a_campaign_with_product_and_logo_publishes_one_picture_in_every_size_family(home):
    import json

    from asset_pipeline_tests.conftest import cli
    from asset_pipeline_tests.support.products import alpha_product, encode
    from asset_pipeline_tests.test_logo_end_to_end import logo

    (home / "media" / "logos").mkdir(parents=True)
    (home / "media" / "products").mkdir()
    (home / "media" / "logos" / "acme.png").write_bytes(logo((20, 60, 160)))
    (home / "media" / "products" / "cup.png").write_bytes(encode(alpha_product()))
    brand = home / "brands" / "acme.yaml"
    brand.write_text(brand.read_text() + "logo: logos/acme.png\nlogo_min_px: 16\n")
    write_brief(
        home,
        "launch",
        'campaign: launch\nbrand: acme\nassets:\n  - id: hero\n    prompt: "ceramic mug on a wooden table"\n'
        f'    headline: "Spring Sale"\n    cta: "Shop now"\n    sizes: {json.dumps(FAMILIES)}\n'
        "    product: products/cup.png\n",
    )
    result = cli(home, "run", "launch")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"launch: {len(FAMILIES)} published" in result.stdout

    root = Home(home)
    from asset_pipeline.storage.tables import read_rows

    drafts = read_rows(root, "drafts", "launch")
    [key] = [d for d in drafts if d["kind"] == "key"]
    extensions = [d for d in drafts if d["kind"] == "extension"]
    assert sorted(s for d in extensions for s in d["sizes"]) == ["160x600", "728x90"]  # the banners are extended
    assert all(d["extends"] == key["draft_key"] for d in extensions)
    renders = {r["size"]: r for r in read_rows(root, "renders", "launch")}
    assert all(r["key_visual_sha256"] == key["image_sha256"] and len(r["crop_box"]) == 4 for r in renders.values())

    manifest = json.loads((home / "published" / "launch" / "manifest.json").read_text())
    banner = next(e for e in manifest["deliverables"] if e["size"] == "728x90")
    chain = json.loads(cli(home, "lineage", str(home / banner["path"]), "--format", "json").stdout)
    assert chain["media"]["product"]["sha256"] == sha256_file(home / "media" / "products" / "cup.png")
    assert chain["media"]["logo"]["sha256"] == sha256_file(home / "media" / "logos" / "acme.png")
    assert chain["draft"]["key_visual_sha256"] == key["image_sha256"] and "outpainted" in chain["draft"]["extension"]
    checks = {c["check"]: c["passed"] for c in chain["checks"]}
    assert checks.get("product") is True and checks.get("ocr") is True
