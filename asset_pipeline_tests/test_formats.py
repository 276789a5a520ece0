"""Formats and budgets as plain functions: each format's encoding, the quality search and its
rejection with numbers, ICC profiles, deterministic bytes, provenance read back by independent
readers (exiftool for XMP, c2pa's Reader), then `publish` with several formats: the `files`
table and view, versions that follow the pixels, verify and repair of every format, lineage of
a WebP."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw

from asset_pipeline.home import Home
from asset_pipeline.lineage import lineage
from asset_pipeline.publishing import content_credentials
from asset_pipeline.publishing.encoding import (
    FORMATS,
    MAX_QUALITY,
    BudgetError,
    decode_check,
    encode,
    encode_within,
    read_provenance,
    srgb_profile,
)
from asset_pipeline.stages.publish import _signed_within, publish
from asset_pipeline.storage.catalog import query
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.tables import read_rows
from asset_pipeline.verification import verify

PROVENANCE = {"asset_pipeline:version": "0.1.0", "model": "tiny", "seed": "7", "prompt": 'mug & <table> "quoted"'}
KEY = {"campaign": "fmt", "asset": "hero", "variant": 1, "size": "320x240"}
exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool (libimage-exiftool-perl) missing")


def picture(seed: int = 0, size=(320, 240)) -> Image.Image:
    """A render-like picture: a smooth gradient, texture and a line of text."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w * 200 + 30, y / h * 180 + 40, (x + y) / (w + h) * 150 + 60], axis=-1)
    base += rng.normal(0, 6, base.shape)
    image = Image.fromarray(base.clip(0, 255).astype("uint8"))
    ImageDraw.Draw(image).text((20, h // 2), "Spring Sale 50% off", fill="white")
    return image


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_srgb_with_provenance_and_deterministic(fmt):
    image = picture()
    data = encode(image, fmt, None if fmt == "png" else 80, PROVENANCE)
    assert data == encode(image, fmt, None if fmt == "png" else 80, PROVENANCE)  # same input, same bytes
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}[fmt]
        assert decoded.size == image.size
        icc = decoded.info["icc_profile"]
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    assert "sRGB" in ImageCms.getProfileDescription(profile) and icc == srgb_profile()
    found_format, found = read_provenance(data)
    assert found_format == fmt and found["seed"] == "7" and found["prompt"] == PROVENANCE["prompt"]
    assert found["asset_pipeline:version"] == "0.1.0"


def test_the_srgb_profile_carries_no_clock():
    assert srgb_profile()[24:36] == bytes.fromhex("07d0 0001 0001 0000 0000 0000".replace(" ", ""))


@exiftool
@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif"])
def test_xmp_provenance_reads_back_with_exiftool(tmp_path, fmt):
    path = tmp_path / f"file.{fmt}"
    path.write_bytes(encode(picture(), fmt, 80, PROVENANCE))
    out = subprocess.run(
        ["exiftool", "-j", "-XMP:all", "-ICC_Profile:ProfileDescription", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    [tags] = json.loads(out.stdout)
    assert str(tags["Seed"]) == "7" and tags["Model"] == "tiny" and tags["Prompt"] == PROVENANCE["prompt"]
    assert "sRGB" in tags["ProfileDescription"]


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif"])
def test_the_search_finds_the_highest_quality_that_fits(fmt):
    image = picture(size=(480, 360))
    high = len(encode(image, fmt, MAX_QUALITY, PROVENANCE))
    low = len(encode(image, fmt, 60, PROVENANCE))
    budget_kb = (low + (high - low) / 3) / 1024
    found = encode_within(image, fmt, PROVENANCE, budget_kb, 60)
    assert 60 < found.quality < MAX_QUALITY and len(found.data) <= budget_kb * 1024
    assert len(encode(image, fmt, found.quality + 1, PROVENANCE)) > budget_kb * 1024
    assert found.data == encode_within(image, fmt, PROVENANCE, budget_kb, 60).data  # deterministic
    assert encode_within(image, fmt, PROVENANCE, high / 1024 + 1, 60).quality == MAX_QUALITY
    checked, problem = decode_check(found, image)
    assert problem is None and checked.psnr_db > 30


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif"])
def test_a_budget_out_of_reach_is_refused_with_the_numbers(fmt):
    image = picture(size=(480, 360))
    need = -(-len(encode(image, fmt, 60, PROVENANCE)) // 1024)
    with pytest.raises(BudgetError) as refused:
        encode_within(image, fmt, PROVENANCE, 2, 60)
    assert str(refused.value) == f"{fmt} needs {need} KB at quality 60, budget 2 KB"


def test_png_is_lossless_and_over_budget_is_refused():
    image = picture()
    png = encode_within(image, "png", PROVENANCE, None, 60)
    checked, problem = decode_check(png, image)
    assert png.quality is None and problem is None and checked.psnr_db is None  # exact pixels
    with pytest.raises(BudgetError, match=r"png needs [0-9]+ KB \(lossless\), budget 1 KB"):
        encode_within(image, "png", PROVENANCE, 1, 60)


def test_decode_check_catches_a_wrong_size_or_wrong_pixels():
    image = picture()
    other = encode_within(picture(seed=1).rotate(180), "jpeg", PROVENANCE, None, 60)
    assert "PSNR" in decode_check(other, image)[1]
    small = encode_within(image.resize((160, 120)), "webp", PROVENANCE, None, 60)
    assert decode_check(small, image)[1] == "webp: decodes to 160x120, not 320x240"


@pytest.mark.skipif(not content_credentials.available(), reason="c2pa-python missing")
@pytest.mark.parametrize("fmt", FORMATS)
def test_c2pa_signs_every_format_and_keeps_xmp(tmp_path, fmt):
    data = encode(picture(), fmt, None if fmt == "png" else 80, PROVENANCE)
    signed = content_credentials.sign(Home(tmp_path), data, fmt, "fmt/hero", PROVENANCE)
    store = content_credentials.read_manifest(signed, fmt)  # c2pa's own Reader, an independent parser
    active = store["manifests"][store["active_manifest"]]
    ours = next(a for a in active["assertions"] if a["label"] == "org.asset_pipeline.provenance")
    assert ours["data"]["seed"] == "7" and store["validation_state"] in ("Valid", "Trusted")
    assert read_provenance(signed)[1]["seed"] == "7"  # chunks / XMP survive signing
    with Image.open(io.BytesIO(signed)) as decoded:
        assert decoded.info.get("icc_profile") == srgb_profile()


@pytest.mark.skipif(not content_credentials.available(), reason="c2pa-python missing")
@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif"])
def test_the_search_keeps_room_for_the_content_credentials(tmp_path, fmt):
    """The signed file is what must fit: the search leaves the manifest's bytes free."""
    home, image = Home(tmp_path), picture(size=(480, 360))

    def sign(data, f):
        return content_credentials.sign(home, data, f, "fmt/hero", PROVENANCE)

    sizes = {q: len(encode(image, fmt, q, PROVENANCE)) for q in range(60, MAX_QUALITY + 1)}
    credentials = len(sign(encode(image, fmt, 80, PROVENANCE), fmt)) - sizes[80]
    # A quality whose next step up is bigger than the slack but smaller than the credentials.
    target = next(q for q in range(70, 94) if 300 < sizes[q + 1] - sizes[q] < credentials)
    budget_kb = (sizes[target] + credentials + 150) / 1024
    assert encode_within(image, fmt, PROVENANCE, budget_kb, 60).quality > target  # unsigned, more fits
    found = _signed_within(image, fmt, PROVENANCE, budget_kb, 60, sign)
    assert found.quality == target and len(found.data) <= budget_kb * 1024
    assert content_credentials.read_manifest(found.data, fmt)["active_manifest"]
    with pytest.raises(BudgetError) as refused:
        _signed_within(image, fmt, PROVENANCE, 5, 60, sign)
    message = re.fullmatch(
        rf"{fmt} needs (\d+) KB at quality 60, budget 5 KB \((\d+) bytes of it for content credentials\)",
        str(refused.value),
    )
    assert message and int(message[2]) >= credentials
    assert int(message[1]) == -(-(sizes[60] + int(message[2])) // 1024)  # the signed file's need, in KB


# ------------------------------------------------------------------ publish with formats


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(content_credentials, "available", lambda: False)  # signing: tested above
    return Home(tmp_path.resolve())


def _inputs(store, seed=0, formats=(("png", None), ("webp", 40.0), ("jpeg", 40.0)), brand_hash="b1", min_quality=60):
    render_sha = store.put_image(picture(seed))
    brief = dict(
        KEY,
        brief_hash="f1",
        brand_hash=brand_hash,
        brand="acme",
        formats=[{"format": f, "max_kb": kb} for f, kb in formats],
        min_quality=min_quality,
    )
    draft = {
        "asset": "hero", "variant": 1, "sizes": [KEY["size"]], "model": "tiny", "seed": 7, "prompt": "p",
        "negative_prompt": None, "weights_hash": "w", "steps": 2, "guidance": 0.0, "palette_grade": 0.0,
        "image_sha256": render_sha,
    }  # fmt: skip
    render = dict(KEY, image_sha256=render_sha, engine="lanczos")
    check = dict(KEY, render_sha256=render_sha, check="ocr", passed=True, value=1.0, detail="read back")
    return [brief], [draft], [render], [check]


def _publish(root, store, **kwargs):
    result = publish(root, *_inputs(store, **kwargs), store)
    [entry] = result.manifest["deliverables"]
    return entry, result.new_versions


def test_every_format_is_published_with_files_rows_and_manifest_entries(root):
    store = ObjectStore(root)
    entry, new = _publish(root, store)
    assert entry["status"] == "published" and new == 1
    assert [f["format"] for f in entry["files"]] == ["png", "webp", "jpeg"]
    assert entry["path"].endswith("/v1.png") and entry["sha256"] == entry["files"][0]["sha256"]  # the PNG
    for file in entry["files"]:
        data = (root.root / file["path"]).read_bytes()
        assert len(data) == file["bytes"] and set(file) == {"format", "path", "sha256", "bytes", "quality"}
        folder = file["path"].rpartition("/")[0]
        assert (root.root / folder / f"latest.{file['path'].rpartition('.')[2]}").read_bytes() == data
        if file["format"] != "png":
            assert file["bytes"] <= 40 * 1024 and 60 <= file["quality"] <= MAX_QUALITY
    _, rows = query(root, "SELECT format, version, path, sha256, bytes, quality FROM files ORDER BY format")
    assert [(r[0], r[1]) for r in rows] == [("jpeg", 1), ("png", 1), ("webp", 1)]
    assert verify(root)[1] == []


def test_without_png_the_history_names_the_first_format(root):
    store = ObjectStore(root)
    entry, _ = _publish(root, store, formats=(("avif", None), ("jpeg", None)))
    assert entry["path"].endswith("/v1.avif") and entry["latest_path"].endswith("/latest.avif")
    assert [f["quality"] for f in entry["files"]] == [80, 90]


def test_versions_follow_the_pixels_not_the_encoder(root):
    store = ObjectStore(root)
    first, _ = _publish(root, store)
    # Other budgets and a new format for the same pixels: the same version, the new format added.
    again, new = _publish(root, store, formats=(("png", None), ("webp", 30.0), ("jpeg", 40.0), ("avif", 30.0)))
    assert (again["version"], new) == (1, 0)
    files = {f["format"]: f for f in again["files"]}
    assert files["avif"]["path"].endswith("/v1.avif") and files["jpeg"] == first["files"][2]  # kept
    assert files["webp"]["bytes"] <= 30 * 1024
    if files["webp"] != first["files"][1]:  # re-encoded under the tighter budget: never over a published file
        assert files["webp"]["path"] != first["files"][1]["path"]
        assert (root.root / first["files"][1]["path"]).exists()
    rows = read_rows(root, "files", "fmt")
    assert sorted(r["format"] for r in rows) == ["avif", "jpeg", "png", "webp"] and {r["version"] for r in rows} == {1}
    assert verify(root)[1] == []
    # New pixels: a new version with every format.
    third, new = _publish(root, store, seed=5)
    assert (third["version"], new) == (2, 1) and all("/v2." in f["path"] for f in third["files"])


def test_a_budget_out_of_reach_rejects_the_deliverable_with_the_numbers(root):
    store = ObjectStore(root)
    entry, new = _publish(root, store, formats=(("png", None), ("jpeg", 1.0)))
    assert entry["status"] == "rejected" and new == 0 and entry["files"] == []
    [reason] = entry["reasons"]
    assert reason.startswith("budget: jpeg needs ") and reason.endswith(" KB at quality 60, budget 1 KB")
    assert not (root.root / "published" / "fmt" / "hero").exists()  # nothing written for it
    # The brand's min_quality moves the floor the budget may force.
    entry, _ = _publish(root, store, formats=(("jpeg", 1.0),), min_quality=10)
    assert "at quality 10, budget 1 KB" in entry["reasons"][0]


def test_every_format_is_verified_and_repaired_byte_for_byte(root):
    store = ObjectStore(root)
    entry, _ = _publish(root, store)
    webp = next(f for f in entry["files"] if f["format"] == "webp")
    good = (root.root / webp["path"]).read_bytes()
    (root.root / webp["path"]).write_bytes(b"not a webp")
    (root.root / webp["path"]).with_name("latest.webp").unlink()
    problems = verify(root)[1]
    assert any(p.startswith(f"{webp['path']}: sha256 ") for p in problems)
    assert any("latest.webp: missing" in p for p in problems)
    result = publish(root, *_inputs(store), store)
    assert webp["path"] in result.repaired and (root.root / webp["path"]).read_bytes() == good
    assert verify(root)[1] == []


def test_lineage_finds_a_webp_by_its_hash(root):
    store = ObjectStore(root)
    entry, _ = _publish(root, store)
    webp = next(f for f in entry["files"] if f["format"] == "webp")
    copy = root.root.parent / "downloaded.webp"  # anywhere, under any name: found by its sha256
    copy.write_bytes((root.root / webp["path"]).read_bytes())
    chain = lineage(root, copy)
    assert chain["format"] == "webp" and chain["sha256"] == webp["sha256"]
    assert chain["publication"]["version"] == 1 and chain["publication"]["path"] == entry["path"]
    assert chain["seed"] == 7 and chain["prompt"] == "p" and chain["model"]["id"] == "tiny"
    assert chain["encoding"]["quality"] == webp["quality"] and chain["pipeline_version"]
