"""Content-addressed images: `objects/<sha[:2]>/<sha>.png`, named by the sha256 of their bytes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, PngImagePlugin

from asset_pipeline.home import Home
from asset_pipeline.storage.files import atomic_write_bytes

# Level 1 is several times faster than the default and only a little larger;
# intermediates are rewritten often, so speed wins here.
PNG_COMPRESS_LEVEL = 1


def encode_png(
    image: Image.Image, text: dict[str, str] | None = None, compress_level: int = PNG_COMPRESS_LEVEL
) -> bytes:
    info = None
    if text:
        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_itxt(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=compress_level)
    return buffer.getvalue()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ObjectStore:
    def __init__(self, home: Home):
        self.root = home.objects

    def path(self, sha: str) -> Path:
        if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
            raise ValueError(f"not a sha256: {sha!r}")
        return self.root / sha[:2] / f"{sha}.png"

    def put_bytes(self, data: bytes) -> str:
        sha = sha256_bytes(data)
        path = self.path(sha)
        if not path.exists():
            atomic_write_bytes(path, data)
        return sha

    def put_image(self, image: Image.Image) -> str:
        return self.put_bytes(encode_png(image))

    def exists(self, sha: str) -> bool:
        return self.path(sha).exists()

    def open(self, sha: str) -> Image.Image:
        with Image.open(self.path(sha)) as image:
            image.load()
            return image.convert("RGB") if image.mode != "RGB" else image.copy()
