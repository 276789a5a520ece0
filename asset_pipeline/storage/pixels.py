"""Pixel hashes of renders: what a version follows (docs/pipeline.md, "Versions")."""

from __future__ import annotations

from PIL import Image

from asset_pipeline.home import Home
from asset_pipeline.storage.cache import ResultCache
from asset_pipeline.storage.objects import ObjectStore, pixels_sha256


class PixelHashes:
    """render sha256 -> pixels sha256, cached: a nothing-changed rebuild decodes no image."""

    def __init__(self, home: Home, store: ObjectStore):
        self.cache, self.store, self.home = ResultCache(home, "pixels"), store, home

    def of_render(self, sha: str) -> str:
        found = self.cache.get(sha)
        if not isinstance(found, str):
            found = pixels_sha256(self.store.open(sha))
            self.cache.put(sha, found)
        return found

    def remember(self, sha: str, image: Image.Image) -> None:
        """Record the pixel hash of a render just stored as `sha`, from the image in memory, so
        publication need not decode it again (hashed as `ObjectStore.open` would return it)."""
        self.cache.put(sha, pixels_sha256(image if image.mode == "RGB" else image.convert("RGB")))

    def of_published(self, row: dict) -> str | None:
        """A history row's pixel hash (rows written before the rule have none: decode their file)."""
        if row.get("pixels_sha256"):
            return row["pixels_sha256"]
        try:
            with Image.open(self.home.inside(row["path"])) as image:
                return pixels_sha256(image.convert("RGB"))
        except OSError:
            return None
