"""Metadata helpers: small base64 thumbnails and tables for the Dagster UI."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import dagster as dg
from PIL import Image

from asset_pipeline.storage.objects import ObjectStore

THUMB_SIDE = 96
MAX_THUMBS = 8


def thumbnails(store: ObjectStore, items: list[tuple[str, str]]) -> dg.MetadataValue:
    """Markdown with up to MAX_THUMBS (label, image sha) thumbnails, inlined as base64 PNG."""
    return thumbnails_of_files([(label, store.path(sha)) for label, sha in items])


def thumbnails_of_files(items: list[tuple[str, Path]]) -> dg.MetadataValue:
    """Markdown with up to MAX_THUMBS (label, image file) thumbnails, inlined as base64 PNG."""
    cells = []
    for label, path in items[:MAX_THUMBS]:
        with Image.open(path) as image:
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="PNG")
        data = base64.b64encode(buffer.getvalue()).decode()
        cells.append(f"![{label}](data:image/png;base64,{data}) `{label}`")
    more = f"\n\n…and {len(items) - MAX_THUMBS} more" if len(items) > MAX_THUMBS else ""
    return dg.MetadataValue.md("\n\n".join(cells) + more if cells else "_no images_")


def table(rows: list[dict], columns: list[str]) -> dg.MetadataValue:
    """A markdown table (readable in the UI's metadata panel, and cheap to build)."""
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "".join(
        "| " + " | ".join(str(row.get(c, "")).replace("|", "\\|").replace("\n", " ") for c in columns) + " |\n"
        for row in rows
    )
    return dg.MetadataValue.md(head + body)
