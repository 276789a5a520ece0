"""Content-addressed images: `objects/<sha[:2]>/<sha>.png`, named by the sha256 of their bytes, verified on read."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

from PIL import Image, PngImagePlugin

from asset_pipeline.home import Home
from asset_pipeline.storage.files import atomic_write_bytes, sha256_file

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


def pixels_sha256(image: Image.Image) -> str:
    """sha256 of an image's decoded pixels, mode and size: equal exactly when the pixels are."""
    digest = hashlib.sha256(f"{image.mode} {image.width}x{image.height}\n".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


class CorruptObjectError(OSError):
    """An object whose bytes do not hash to its name (it has been quarantined)."""


class ObjectStore:
    """Every read verifies the object's sha256 (streamed). A damaged object is moved to
    `objects/.corrupt/` and treated as absent, so the stage that needs it makes it again."""

    QUARANTINE = ".corrupt"

    def __init__(self, home: Home):
        self.root = home.objects
        self._verified: set[str] = set()  # verified by this store: each object is hashed once

    def _quarantine(self, path: Path) -> None:
        target = self.root / self.QUARANTINE / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # another process got there first
            os.replace(path, target)

    def quarantined(self) -> int:
        folder = self.root / self.QUARANTINE
        return sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0

    def verified(self, sha: str) -> bool:
        """Whether the object is present and undamaged; a damaged one is quarantined."""
        if sha in self._verified:
            return True
        path = self.path(sha)
        try:
            actual = sha256_file(path)
        except FileNotFoundError:
            return False
        if actual != sha:
            self._quarantine(path)
            return False
        self._verified.add(sha)
        return True

    def path(self, sha: str) -> Path:
        if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
            raise ValueError(f"not a sha256: {sha!r}")
        return self.root / sha[:2] / f"{sha}.png"

    def put_bytes(self, data: bytes) -> str:
        sha = sha256_bytes(data)
        if not self.verified(sha):
            atomic_write_bytes(self.path(sha), data)
            self._verified.add(sha)
        return sha

    def put_image(self, image: Image.Image) -> str:
        return self.put_bytes(encode_png(image))

    def exists(self, sha: str) -> bool:
        return self.verified(sha)

    def read_bytes(self, sha: str) -> bytes:
        path = self.path(sha)
        data = path.read_bytes()
        if sha not in self._verified:
            if sha256_bytes(data) != sha:
                self._quarantine(path)
                raise CorruptObjectError(
                    f"object {sha[:12]}… in objects/ is damaged (its bytes hash to {sha256_bytes(data)[:12]}…); "
                    f"moved to objects/{self.QUARANTINE}/"
                )
            self._verified.add(sha)
        return data

    def open(self, sha: str) -> Image.Image:
        with Image.open(io.BytesIO(self.read_bytes(sha))) as image:
            image.load()
            return image.convert("RGB") if image.mode != "RGB" else image.copy()
