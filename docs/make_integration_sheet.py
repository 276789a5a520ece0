"""docs/product_integration.png: one asset in four sizes, its product composited (top row) and
integrated (`product_integration: inpaint`, bottom row), with a close-up of each square.

Both assets share prompt and seed, so they share a key visual: the difference is the ring.
Builds a throwaway home from the sample one (embedded model, the sample mug) and runs it:

    .venv/bin/python docs/make_integration_sheet.py [--home /tmp/integration-home]
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
from make_contact_sheet import BACKGROUND, GAP, INK, font  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SIZES = ["1080x1080", "1200x628", "1080x1920", "300x250"]
TILE = 260  # the longer side of each deliverable's tile
ASSET = """\
  - id: {id}
    prompt: "ceramic mug on a wooden table"
    headline: "Spring Sale"
    cta: "Shop now"
    seed: 1234
    sizes: {sizes}
    product: products/mug.png
    product_integration: {integration}
"""


def build(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
    for part in ("brands", "media"):
        shutil.copytree(REPO / "data" / part, home / part)
    (home / "briefs").mkdir()
    assets = "".join(
        ASSET.format(id=name, sizes=json.dumps(SIZES), integration=name) for name in ("composite", "inpaint")
    )
    (home / "briefs" / "integration.yaml").write_text(f"campaign: integration\nbrand: sunny\nassets:\n{assets}")
    env = dict(os.environ, ASSET_PIPELINE_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    subprocess.run([sys.executable, "-m", "asset_pipeline", "run", "integration"], env=env, check=True)


def sheet(home: Path, out: Path) -> None:
    manifest = json.loads((home / "published" / "integration" / "manifest.json").read_text())
    files = {(e["asset"], e["size"]): home / e["path"] for e in manifest["deliverables"] if e.get("path")}
    rows = ("composite", "inpaint")
    width = GAP + (len(SIZES) + 1) * (TILE + GAP)
    height = GAP + len(rows) * (TILE + 30 + GAP)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for r, asset in enumerate(rows):
        top = GAP + r * (TILE + 30 + GAP)
        for c, size in enumerate([*SIZES, "close-up"]):
            left = GAP + c * (TILE + GAP)
            if size == "close-up":  # the square's middle, at full resolution
                with Image.open(files[(asset, "1080x1080")]) as image:
                    tile = image.convert("RGB").crop((290, 140, 290 + TILE * 2, 140 + TILE * 2)).resize((TILE, TILE))
            else:
                with Image.open(files[(asset, size)]) as image:
                    tile = image.convert("RGB")
                    tile.thumbnail((TILE, TILE), Image.Resampling.LANCZOS)
            canvas.paste(tile, (left, top + 26))
            draw.text((left, top + 4), f"{asset}: {size}", fill=INK, font=font(14, bold=c == 0))
    canvas.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/integration-home"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "product_integration.png")
    args = parser.parse_args()
    build(args.home)
    sheet(args.home, args.out)
    print(args.out)


if __name__ == "__main__":
    main()
