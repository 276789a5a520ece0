"""Product shots as plain functions: the cut-out (alpha, plain studio, busy background refused with
its numbers), hostile media files, placement in the product zone, the composite and the
`product` check. Fixtures are made from skimage.data's photographs at test time."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asset_pipeline.checks.product import MAX_DIFF, MEAN_DIFF, check_product, pixel_difference
from asset_pipeline.feeds import load_brief
from asset_pipeline.home import Home
from asset_pipeline.specs import AssetSpec, Brand, InputError
from asset_pipeline.stages.briefs import take_snapshot
from asset_pipeline.stages.preflight import asset_products, deliverable_problems
from asset_pipeline.typography.boxes import Layout, LayoutError, to_pixels
from asset_pipeline.typography.layout import layout_text
from asset_pipeline.typography.product import (
    ALPHA_METHOD,
    CUTOUT_METHOD,
    MAX_BACKDROP_SPREAD,
    MIN_PRODUCT_PX,
    ProductError,
    composite_product,
    cut_out,
    place_product,
    product_image,
    read_product,
)
from asset_pipeline.typography.render import render_layout
from asset_pipeline_tests.conftest import SAMPLE_BRAND, cli, write_brief
from asset_pipeline_tests.support.products import (
    DISK,
    alpha_product,
    busy_photo,
    encode,
    png_claiming,
    studio_shot,
)

BRAND = Brand.model_validate({"brand": "acme"})
TEXTS = {"headline": "Spring Sale", "body": "Up to 50% off mugs", "cta": "Shop now"}


def cutout(source) -> Image.Image:
    return Image.open(io.BytesIO(source.cutout))


# ------------------------------------------------------------------ the cut-out


@pytest.mark.parametrize("fmt, options", [("PNG", {}), ("WEBP", {"lossless": True})])
def test_an_image_with_alpha_is_used_as_is_cropped_to_its_product(fmt, options):
    image = alpha_product(pad=40)
    source = read_product("cup.png", encode(image, fmt, **options), "0" * 64)
    assert source.method == ALPHA_METHOD
    assert (source.width, source.height) == (DISK, DISK)  # the transparent padding is gone
    expected = np.asarray(image.crop(image.getchannel("A").getbbox()))
    got = np.asarray(cutout(source))
    # the file's own pixels and alpha, untouched (where alpha is 0 the colour is meaningless)
    visible = expected[..., 3] > 0
    assert np.array_equal(got[..., 3], expected[..., 3])
    assert np.array_equal(got[visible], expected[visible])


def test_a_plain_studio_shot_is_cut_out_to_the_product_deterministically():
    shot, truth = studio_shot()
    first = read_product("cup.png", encode(shot), "1" * 64)
    again = read_product("cup.png", encode(shot), "1" * 64)
    assert first.method == CUTOUT_METHOD and "backdrop spread" in first.detail
    assert (first.mask_sha256, first.cutout) == (again.mask_sha256, again.cutout)  # deterministic
    ys, xs = np.nonzero(truth)
    assert (first.width, first.height) == (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    got = np.asarray(cutout(first))
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    mask, want = got[..., 3] >= 128, truth[box]
    iou = (mask & want).sum() / (mask | want).sum()
    assert iou >= 0.995, iou
    # colour is the source's own, unchanged, wherever the mask keeps it
    source = np.asarray(shot)[box]
    assert np.array_equal(got[..., :3][mask], source[mask])


def test_a_studio_shot_as_jpeg_and_the_skimage_logo_on_white_are_cut_out():
    shot, truth = studio_shot(backdrop=(250, 250, 250), noise=1.0, gradient=20.0, seed=3)
    jpeg = encode(shot, "JPEG", quality=90)
    assert read_product("cup.jpg", jpeg, "2" * 64).method == CUTOUT_METHOD
    alpha, _ = cut_out(np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")))  # at the shot's own size
    mask = alpha >= 128
    assert (mask & truth).sum() / (mask | truth).sum() >= 0.98  # JPEG's ringing costs a pixel at the rim

    from skimage import data

    logo = Image.fromarray(data.logo()).convert("RGB")  # opaque, on white
    source = read_product("logo.png", encode(logo), "3" * 64)
    alpha = np.asarray(cutout(source).getchannel("A"))
    assert source.method == CUTOUT_METHOD
    assert alpha[0, 0] == 0 and alpha.max() == 255  # the white corners are gone, the mark stays


def test_an_opaque_photo_on_a_busy_background_is_refused_with_the_numbers():
    with pytest.raises(ProductError) as caught:
        read_product("coffee.jpg", busy_photo(), "4" * 64)
    message = str(caught.value)
    spread = float(re.search(r"spread is ΔE ([0-9.]+)", message).group(1))
    assert spread > MAX_BACKDROP_SPREAD and f"above the {MAX_BACKDROP_SPREAD:g}" in message
    assert re.search(r"[0-9]+% of the border", message) and "alpha" in message


# ------------------------------------------------------------------ hostile media files


@pytest.fixture
def media_home(home) -> Path:
    (home / "media" / "products").mkdir(parents=True)
    return home


def brief_naming(home: Path, product: str) -> None:
    write_brief(
        home,
        "shots",
        f'campaign: shots\nbrand: acme\nassets:\n  - id: hero\n    prompt: "mug"\n'
        f'    sizes: ["1080x1080"]\n    product: "{product}"\n',
    )


def problems_for(home: Path, name: str, data: bytes | None) -> list[str]:
    if data is not None:
        (home / "media" / "products" / name).write_bytes(data)
    brief_naming(home, f"products/{name}")
    brief = load_brief(home / "briefs" / "shots.yaml", "briefs/shots.yaml")
    with pytest.raises(InputError) as caught:
        asset_products(Home(home.resolve()), brief, "briefs/shots.yaml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    "name, data, says",
    [
        ("missing.png", None, "media/products/missing.png: no such file"),
        ("notes.png", b"this is not an image\n" * 10, "is not an image"),
        ("truncated.png", encode(alpha_product())[:2000], "cannot be decoded"),
        ("huge.png", png_claiming(8000, 7000), "is 8000x7000 = 56.0 MP; the limit is 50 MP"),
        ("bomb.png", png_claiming(40000, 40000), "decompression bomb"),
        ("anim.webp", None, None),  # filled below: a GIF named .webp
    ],
)
def test_hostile_product_files_are_input_errors_naming_the_file(media_home, name, data, says):
    if name == "anim.webp":
        data, says = encode(Image.new("P", (8, 8)), "GIF"), "is GIF, not PNG, WebP or JPEG"
    [problem] = problems_for(media_home, name, data)
    assert problem.startswith(f"briefs/shots.yaml: assets(id=hero).product: media/products/{name}"), problem
    assert says in problem and "Traceback" not in problem


def test_product_paths_never_leave_media(media_home, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(encode(alpha_product()))
    (media_home / "media" / "products" / "link.png").symlink_to(outside)
    [problem] = problems_for(media_home, "link.png", None)
    assert "leaves media/" in problem or "escapes the home" in problem
    (media_home / "media" / "products" / "loop.png").symlink_to(media_home / "media" / "products" / "loop.png")
    [problem] = problems_for(media_home, "loop.png", None)
    assert "media/products/loop.png" in problem and "cannot be resolved" in problem
    for bad in ("../brands/acme.png", "/etc/passwd.png", "products/../../x.png", "products/cup.gif"):
        with pytest.raises(ValueError):
            AssetSpec.model_validate({"id": "a", "prompt": "p", "sizes": ["64x64"], "product": bad})


def test_the_snapshot_records_the_product_file_and_its_hash(media_home):
    data = encode(alpha_product())
    (media_home / "media" / "products" / "cup.png").write_bytes(data)
    brief_naming(media_home, "products/cup.png")
    inputs = take_snapshot(Home(media_home.resolve()), "shots")
    import hashlib

    files = {f.path: f.sha256 for f in inputs.input_files}
    assert files["media/products/cup.png"] == hashlib.sha256(data).hexdigest()
    assert inputs.media == ()  # the brand's media (its typography hash) stay the brand's alone
    (media_home / "media" / "products" / "cup.png").unlink()
    with pytest.raises(InputError, match="media/products/cup.png: no such file"):
        take_snapshot(Home(media_home.resolve()), "shots")  # nothing of the run is written


# ------------------------------------------------------------------ placement, composite, check


@pytest.fixture(scope="module")
def studio_source():
    shot, _ = studio_shot()
    return read_product("products/cup.png", encode(shot), "5" * 64)


def background(width: int, height: int) -> Image.Image:
    """A draft-like background: a smooth two-colour gradient with some texture."""
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack([60 + 120 * xs / width, 90 + 60 * ys / height, 160 - 80 * xs / width], axis=2)
    base += 8 * np.sin(xs / 17.0)[..., None]
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def laid_out(width: int, height: int, source) -> Layout:
    layout = layout_text(width, height, TEXTS, BRAND, SAMPLE_BRAND.parent)
    return place_product(layout, source)


@pytest.mark.parametrize("size", [(1080, 1080), (1200, 628), (1080, 1920), (728, 90)])
def test_the_product_is_composited_whole_inside_its_zone_and_passes_its_check(studio_source, size):
    width, height = size
    layout = laid_out(width, height, studio_source)
    zone = to_pixels(layout.product_zone, width, height)
    left, top, right, bottom = layout.product.pixel_box(width, height)
    assert zone[0] <= left and zone[1] <= top and right <= zone[2] and bottom <= zone[3]
    # scaled to fit, never cropped: the box keeps the cut-out's aspect and touches two sides of the zone
    assert abs((right - left) / (bottom - top) - studio_source.aspect) < 0.02
    plain = render_layout(background(width, height), layout)
    rendered = render_layout(background(width, height), layout, product=studio_source.cutout)
    changed = np.any(np.asarray(plain) != np.asarray(rendered), axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.any()  # every pixel it changed, the contact shadow's included, lies in the zone
    assert zone[0] <= xs.min() and xs.max() < zone[2] and zone[1] <= ys.min() and ys.max() < zone[3]
    # the shadow darkens the background just under the product's base
    under = (
        np.asarray(rendered, float)[bottom : bottom + 2, left:right]
        - np.asarray(plain, float)[bottom : bottom + 2, left:right]
    )
    assert under.mean() < -3
    results = check_product(rendered, layout, studio_source.cutout)
    assert [r.passed for r in results] == [True, True, True], [r.detail for r in results]
    worst, mean, count = pixel_difference(rendered, layout, studio_source.cutout)
    assert worst <= MAX_DIFF and mean <= MEAN_DIFF and count > 0.5 * (right - left) * (bottom - top)


def test_the_product_check_fails_on_altered_pixels_a_second_resampling_an_overlap_and_the_frame(studio_source):
    layout = laid_out(1080, 1080, studio_source)
    rendered = render_layout(background(1080, 1080), layout, product=studio_source.cutout)
    left, top, right, bottom = layout.product.pixel_box(1080, 1080)

    touched = rendered.copy()
    cx, cy = (left + right) // 2, (top + bottom) // 2
    touched.paste((255, 255, 255), (cx - 20, cy - 5, cx + 20, cy + 5))  # a scribble across its middle
    pixels = check_product(touched, layout, studio_source.cutout)[0]
    assert not pixels.passed and pixels.value > 10 * MAX_DIFF

    # the product taken from a half-size copy (an upscaled draft's pixels): resampled twice
    half = product_image(studio_source.cutout, (right - left) // 2, (bottom - top) // 2)
    twice = background(1080, 1080)
    again = half.resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    twice.paste(again.convert("RGB"), (left, top), again.getchannel("A"))
    pixels = check_product(twice, layout, studio_source.cutout)[0]
    assert not pixels.passed, pixels.detail

    headline = layout.box("headline")
    moved = replace(layout, boxes=[replace(headline, x=layout.product.x, y=layout.product.y), *layout.boxes[1:]])
    overlap = check_product(rendered, moved, studio_source.cutout)[2]
    assert not overlap.passed and "headline covers" in overlap.detail

    outside = replace(layout, product=replace(layout.product, x=0.9))
    assert not check_product(rendered, outside, studio_source.cutout)[1].passed
    assert check_product(rendered, replace(layout, product=None), None) == []


def test_a_zone_too_small_for_the_product_is_a_layout_rejection(studio_source):
    layout = Layout(1080, 1080, product_zone=(0.4, 0.4, 0.2, 0.02))  # 216 x 22 px
    with pytest.raises(LayoutError) as caught:
        place_product(layout, studio_source)
    message = str(caught.value)
    assert message.startswith("product:") and f"under the {MIN_PRODUCT_PX} px minimum" in message
    assert "216x22 px" in message
    # pre-flight says so for a deliverable whose texts leave the product no room
    row = {"width": 320, "height": 50, "headline": "Spring Sale on every handmade mug", "cta": "Shop now"}
    problems = deliverable_problems(row, BRAND, SAMPLE_BRAND.parent, [], studio_source)
    assert any("product:" in p and "minimum" in p for p in problems), problems


def test_composite_draws_nothing_for_an_empty_box(studio_source):
    image = background(64, 64)
    assert composite_product(image, studio_source.cutout, (10, 10, 10, 30)) is image


def test_a_csv_feed_names_products_like_the_yaml_and_a_bad_path_names_its_line(media_home):
    (media_home / "briefs" / "feed.csv").write_text(
        'id,prompt,sizes,product\nhero,mug,1080x1080,products/cup.png\nside,mug,1080x1080,"../../etc/x.png"\n'
    )
    write_brief(media_home, "feed", "campaign: feed\nbrand: acme\nassets_csv: feed.csv\n")
    with pytest.raises(InputError) as caught:
        load_brief(media_home / "briefs" / "feed.yaml", "briefs/feed.yaml")
    [problem] = caught.value.problems
    assert problem.file == "briefs/feed.csv:3" and problem.field == "product" and "'..'" in problem.message
    (media_home / "briefs" / "feed.csv").write_text("id,prompt,sizes,product\nhero,mug,1080x1080,products/cup.png\n")
    [asset] = load_brief(media_home / "briefs" / "feed.yaml", "briefs/feed.yaml").assets
    assert asset.product == "products/cup.png"


def test_validate_reports_each_bad_product_on_one_line_without_a_traceback(media_home):
    products = media_home / "media" / "products"
    (products / "coffee.jpg").write_bytes(busy_photo())
    (products / "bomb.png").write_bytes(png_claiming(40000, 40000))
    write_brief(
        media_home,
        "shots",
        "campaign: shots\nbrand: acme\nassets:\n"
        '  - {id: busy, prompt: mug, sizes: ["1080x1080"], product: products/coffee.jpg}\n'
        '  - {id: bomb, prompt: mug, sizes: ["1080x1080"], product: products/bomb.png}\n'
        '  - {id: gone, prompt: mug, sizes: ["1080x1080"], product: products/gone.png}\n',
    )
    result = cli(media_home, "validate")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if "product" in line]
    assert len(lines) == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert any(
        "assets(id=busy).product: media/products/coffee.jpg is opaque" in line and "ΔE" in line for line in lines
    )
    assert any("media/products/bomb.png is a decompression bomb" in line for line in lines)
    assert any("media/products/gone.png: no such file" in line for line in lines)
