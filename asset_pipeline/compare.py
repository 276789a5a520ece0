"""Side-by-side model comparison: the same drafts through several models, on one contact sheet.

For each asset of a campaign, its first variant's key visual is drafted by every model
named with exactly the request the drafts stage would send that model (`key_visual_request`:
the prompt with brand style, the palette prefix for palette-steered models, the negative,
the seed, the key visual's canvas at the model's own size, and the reference image by
image-to-image where the asset names one). The sheet has one row
per asset and one column per model; every cell shows the draft fitted into a fixed box
and a label with the model id, the asset, the draft size and the seconds it took. A
model that is absent, fails to load or fails to generate gets an error cell: the sheet
is still made. Nothing is cached or recorded in the catalog: this is a look, not a run.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from asset_pipeline.home import Home
from asset_pipeline.media import open_image
from asset_pipeline.models.generation import DraftGenerator
from asset_pipeline.models.registry import load_registry
from asset_pipeline.stages.briefs import expand_deliverables, load_campaign
from asset_pipeline.stages.drafts import key_visual_request
from asset_pipeline.storage.disk import is_disk_full
from asset_pipeline.storage.files import atomic_write_bytes

BOX = 256  # each draft is fitted (never stretched) into a BOX x BOX square
LABEL_HEIGHT = 40  # two lines of label under it
CELL_WIDTH = BOX
CELL_HEIGHT = BOX + LABEL_HEIGHT
BACKGROUND = (48, 48, 48)  # letterbox around drafts of other aspects
LABEL_BACKGROUND = (245, 245, 245)
LABEL_COLOUR = (20, 20, 20)
ERROR_BACKGROUND = (90, 20, 20)
ERROR_COLOUR = (255, 220, 220)
GRID_COLOUR = (255, 255, 255)
FONT_NAME = "DejaVuSans.ttf"
FONT_SIZE = 13


def sheet_font(size: int = FONT_SIZE) -> ImageFont.ImageFont:
    from asset_pipeline.typography.fonts import FontError, load_font, resolve_font

    try:
        return load_font(resolve_font(FONT_NAME, Path(".")), size)
    except FontError:  # a machine without DejaVu still gets a sheet
        return ImageFont.load_default(size)


def default_sheet_path(home: Path, campaign: str, model_ids: list[str]) -> Path:
    """`<home>/published/<campaign>/compare/<a+b+...>.png` (ids cannot hold '+')."""
    name = "+".join(model_ids)
    if len(name) > 200:  # keep within file-name limits; the hash keeps long lists apart
        name = name[:180] + "+" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return Home(Path(home)).published / campaign / "compare" / f"{name}.png"


def _first_drafts(home: Home, campaign: str) -> list[list[dict]]:
    """Each asset's first variant (its deliverable rows, every size), in brief order."""
    rows = expand_deliverables(load_campaign(home, campaign), home)
    firsts: dict[str, list[dict]] = {}
    for row in rows:  # rows come per asset, variant 1 first, sizes in brief order
        if row["variant"] == 1:
            firsts.setdefault(row["asset"], []).append(row)
    return list(firsts.values())


def _fit(image: Image.Image) -> Image.Image:
    """The image scaled to fit BOX x BOX, centred on the letterbox colour."""
    scale = min(BOX / image.width, BOX / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    box = Image.new("RGB", (BOX, BOX), BACKGROUND)
    box.paste(image.convert("RGB").resize(size, Image.Resampling.LANCZOS), ((BOX - size[0]) // 2, (BOX - size[1]) // 2))
    return box


def draw_cell(image: Image.Image | None, top: str, bottom: str, error: str | None, font) -> Image.Image:
    """One cell of a contact sheet: the image fitted into its box (or the error, on red), two label lines."""
    cell = Image.new("RGB", (CELL_WIDTH, CELL_HEIGHT), LABEL_BACKGROUND)
    draw = ImageDraw.Draw(cell)
    if image is not None:
        cell.paste(_fit(image), (0, 0))
    else:
        draw.rectangle((0, 0, BOX - 1, BOX - 1), fill=ERROR_BACKGROUND)
        lines = textwrap.wrap(f"error: {error}", width=34)[:12]
        draw.multiline_text((8, 8), "\n".join(lines), font=font, fill=ERROR_COLOUR, spacing=3)
    draw.text((6, BOX + 3), top, font=font, fill=LABEL_COLOUR)
    draw.text((6, BOX + 21), bottom, font=font, fill=LABEL_COLOUR)
    return cell


def _cell(row: dict, image: Image.Image | None, font) -> Image.Image:
    seconds = "failed" if row["seconds"] is None else f"{row['seconds']:.2f} s"
    size = f"{row['width']}x{row['height']}" if row["width"] else "?"
    return draw_cell(image, f"{row['model']}  {seconds}", f"{row['asset']}  {size}", row["error"], font)


def contact_sheet(rows: list[list[Image.Image]]) -> Image.Image:
    """Cells (draw_cell) in rows, with one-pixel grid lines between them."""
    columns = max([len(row) for row in rows] + [1])
    sheet = Image.new("RGB", (CELL_WIDTH * columns, CELL_HEIGHT * max(1, len(rows))), GRID_COLOUR)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            sheet.paste(cell, (c * CELL_WIDTH, r * CELL_HEIGHT))
    draw = ImageDraw.Draw(sheet)
    for c in range(1, columns):
        draw.line((c * CELL_WIDTH, 0, c * CELL_WIDTH, sheet.height), fill=GRID_COLOUR)
    for r in range(1, len(rows)):
        draw.line((0, r * CELL_HEIGHT, sheet.width, r * CELL_HEIGHT), fill=GRID_COLOUR)
    return sheet


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}"[:300]


def compare_models(home: Path, campaign: str, model_ids: list[str], out: Path | None = None) -> dict:
    """Draft each asset of `campaign` with every model in `model_ids` and save a contact sheet.

    Returns {"sheet": path of the PNG, "campaign", "models": model_ids, "assets": asset ids,
    "cell": [width, height], "size": [sheet width, sheet height], "load_seconds": {model: s or None},
    "rows": [{asset, model, seconds, width, height, error}]} with rows in (asset, model) order.
    `seconds` is generation time alone (the load is in load_seconds); `width` x `height`
    is the model's key visual canvas for the asset's sizes; `prompt` is what the model was sent. A model whose
    weights are absent or that fails gets `error` set and seconds None; an unknown model
    id raises UnknownModelError (and a bad campaign InputError) before anything runs.
    """
    home_obj = Home(Path(home).expanduser().resolve())
    model_ids = list(model_ids)
    if not model_ids:
        raise ValueError("name at least one model to compare")
    if len(set(model_ids)) != len(model_ids):
        raise ValueError(f"a model is named twice: {', '.join(model_ids)}")
    registry = load_registry(home_obj.root)
    specs = [registry.get(model_id) for model_id in model_ids]  # unknown ids fail here
    drafts = _first_drafts(home_obj, campaign)
    generator = DraftGenerator(registry)

    results: dict[tuple[str, str], tuple[dict, Image.Image | None]] = {}
    load_seconds: dict[str, float | None] = {}
    for spec in specs:  # model by model: one pipeline in memory at a time
        load_error = None
        started = time.perf_counter()
        try:
            if not registry.weights_present(spec):
                raise FileNotFoundError(f"weights not present ({spec.path})")
            generator.load(spec)
            load_seconds[spec.id] = round(time.perf_counter() - started, 3)
        except Exception as exc:  # any failure to load is this model's cell, not the sheet's
            if is_disk_full(exc):  # a full disk is no model's fault (storage/disk.py)
                raise
            load_error = _one_line(exc)
            load_seconds[spec.id] = None
        for variant_rows in drafts:
            job, width, height = key_visual_request(variant_rows, spec)
            row = {
                "asset": job.asset,
                "model": spec.id,
                "prompt": job.prompt,
                "seconds": None,
                "width": width,
                "height": height,
                "error": load_error,
            }
            image = None
            if load_error is None:
                started = time.perf_counter()
                try:
                    args = ([job.prompt], [job.negative_prompt], [job.seeds[1]], width, height)
                    if variant_rows[0].get("reference"):  # steered by its reference, as the drafts stage does
                        data = home_obj.media_path(variant_rows[0]["reference"]).read_bytes()
                        reference = open_image(data)
                        image = generator.restyle(spec, reference, *args, job.reference_strength)[0]
                    else:
                        image = generator.generate(spec, *args)[0]
                    row["seconds"] = round(time.perf_counter() - started, 3)
                except Exception as exc:
                    if is_disk_full(exc):
                        raise
                    row["error"] = _one_line(exc)
            results[(job.asset, spec.id)] = (row, image)

    font = sheet_font()
    rows, cells = [], []
    assets = [variant_rows[0]["asset"] for variant_rows in drafts]
    for asset in assets:
        cells.append([])
        for spec in specs:
            row, image = results[(asset, spec.id)]
            cells[-1].append(_cell(row, image, font))
            rows.append(row)
    sheet = contact_sheet(cells or [[]])

    path = Path(out) if out is not None else default_sheet_path(home_obj.root, campaign, model_ids)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
    return {
        "sheet": path,
        "campaign": campaign,
        "models": model_ids,
        "assets": assets,
        "cell": [CELL_WIDTH, CELL_HEIGHT],
        "size": [sheet.width, sheet.height],
        "load_seconds": load_seconds,
        "rows": rows,
    }
