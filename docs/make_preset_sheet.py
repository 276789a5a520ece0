"""docs/preset-contact-sheet.jpg: one product campaign in every size preset, each at its full size.

Builds a throwaway home from the sample one (brand `acme`, the sample mug, the embedded model),
writes a brief with one asset whose sizes are every preset in asset_pipeline/presets.json, runs
it, and lays the published deliverables out at 1:1 (the contact sheet of make_contact_sheet.py
at scale 1), each labelled with its preset, size and the `seams` check's value (its failures in
red, a rejected deliverable's reason in its place):

    .venv/bin/python docs/make_preset_sheet.py [--home /tmp/preset-home] [--out docs/preset-contact-sheet.jpg]

`--crop-banners OUT.png` also writes the banners (160x600 and 728x90) alone at 2x, for a
before/after beside a run of another checkout (docs/seams-before-after.jpg: main before the seam
fix, and this). The campaign runs as `python -m asset_pipeline`, which puts the working folder
first on the path: run it from outside any checkout, with PYTHONPATH naming the one to run:

    cd /tmp && PYTHONPATH=/path/to/other/checkout /path/to/.venv/bin/python \
        /path/to/this/docs/make_preset_sheet.py --home /tmp/before --out /tmp/before.jpg --crop-banners /tmp/b.png
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_contact_sheet import BACKGROUND, GAP, INK, LABEL_HEIGHT, TITLE_HEIGHT, font, pack  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CAMPAIGN = "presets"
FAILED = (190, 30, 30)
BRIEF = """\
campaign: presets
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table, studio light"
    headline: "Spring Sale"
    cta: "Shop now"
    seed: 1234
    sizes: {sizes}
    formats: [png]
    product: products/mug.png
"""


def preset_sizes() -> dict[str, str]:
    """preset name -> WxH, from the table the pipeline reads."""
    table = json.loads((REPO / "asset_pipeline" / "presets.json").read_text())["presets"]
    return {name: entry["size"] for name, entry in table.items()}


def build(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
    for part in ("brands", "media"):
        shutil.copytree(REPO / "data" / part, home / part)
    (home / "briefs").mkdir()
    (home / "briefs" / f"{CAMPAIGN}.yaml").write_text(BRIEF.format(sizes=json.dumps(list(preset_sizes()))))
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    # exit status 1 (some deliverables rejected) still leaves a sheet to look at
    done = subprocess.run([sys.executable, "-m", "asset_pipeline", "run", CAMPAIGN], env=env)
    if done.returncode not in (0, 1):
        raise SystemExit(done.returncode)


def seam_values(home: Path) -> dict[str, tuple[float, bool]]:
    """size -> (the seams check's value, passed), from the checks table (none before the check existed)."""
    import pyarrow.parquet as pq

    path = home / "tables" / "checks" / f"{CAMPAIGN}.parquet"
    rows = pq.read_table(path).to_pylist() if path.exists() else []
    return {r["size"]: (r["value"], r["passed"]) for r in rows if r["check"] == "seams"}


def deliverables(home: Path) -> list[dict]:
    manifest = json.loads((home / "published" / CAMPAIGN / "manifest.json").read_text())
    return manifest["deliverables"]


def tile(home: Path, item: dict) -> Image.Image:
    """The deliverable's published file, or (rejected, with no earlier version) a grey stand-in."""
    if item.get("path"):
        with Image.open(home / item["path"]) as image:
            return image.convert("RGB")
    width, height = (int(n) for n in item["size"].split("x"))
    return Image.new("RGB", (width, height), (200, 200, 200))


def sheet(home: Path) -> Image.Image:
    names = {size: name for name, size in preset_sizes().items()}
    seams = seam_values(home)
    items = deliverables(home)
    columns = pack(items, 1.0)
    width = GAP + sum(int(column[0]["size"].split("x")[0]) + GAP for column in columns)
    height = (
        TITLE_HEIGHT
        + GAP
        + max(sum(int(item["size"].split("x")[1]) + LABEL_HEIGHT + GAP for item in column) for column in columns)
    )
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.text((GAP, GAP), f"{CAMPAIGN}: every size preset at full size (1:1)", font=font(20, bold=True), fill=INK)
    x = GAP
    for column in columns:
        y = TITLE_HEIGHT + GAP
        for item in column:
            image = tile(home, item)
            canvas.paste(image, (x, y))
            value, passed = seams.get(item["size"], (None, True))
            label = f"{names.get(item['size'], '')} {item['size']} · {item['status']}"
            label += f" · seams {value:.2f}" if value is not None else ""
            if item["status"] != "published":
                label += f" · {'; '.join(item.get('reasons') or [])[:150]}"
            draw.text((x, y + image.height + 4), label, font=font(14), fill=INK if passed else FAILED)
            y += image.height + LABEL_HEIGHT + GAP
        x += int(column[0]["size"].split("x")[0]) + GAP
    return canvas


def banners(home: Path, out: Path) -> None:
    """The 728x90 and the 160x600 side by side at 2x, for a before/after."""
    found = {item["size"]: tile(home, item) for item in deliverables(home)}
    wide, tall = found["728x90"], found["160x600"]
    canvas = Image.new("RGB", (2 * wide.width + 2 * tall.width + 3 * GAP, 2 * tall.height + 2 * GAP), BACKGROUND)
    canvas.paste(tall.resize((2 * tall.width, 2 * tall.height), Image.Resampling.NEAREST), (GAP, GAP))
    canvas.paste(
        wide.resize((2 * wide.width, 2 * wide.height), Image.Resampling.NEAREST), (2 * tall.width + 2 * GAP, GAP)
    )
    canvas.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/preset-home"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "preset-contact-sheet.jpg")
    parser.add_argument("--no-run", action="store_true", help="lay out what the home already published")
    parser.add_argument("--crop-banners", type=Path, default=None, help="also write the banners alone here")
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality, for a .jpg --out")
    args = parser.parse_args()

    if not args.no_run:
        build(args.home)
    image = sheet(args.home)
    if args.out.suffix.lower() in (".jpg", ".jpeg"):
        image.save(args.out, quality=args.quality, optimize=True)
    else:
        image.save(args.out, optimize=True)
    print(f"{args.out}: {image.width}x{image.height}, {args.out.stat().st_size // 1024} KB")
    if args.crop_banners:
        banners(args.home, args.crop_banners)


if __name__ == "__main__":
    main()
