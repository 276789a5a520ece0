"""What an adapter is asked for and what it gives back: plain records, the same for every provider."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

from PIL import Image

from asset_pipeline.models.hosted.calls import BadRequest


@dataclass(frozen=True)
class HostedRequest:
    model: str  # the provider's model name (the entry's `path`)
    prompt: str
    negative: str | None
    seed: int
    size: tuple[int, int]  # one of the model's offered sizes
    size_name: str  # how the request names it
    quality: str | None
    base_url: str | None
    timeout: float  # seconds per request
    reference: bytes | None = None  # a PNG that steers the image (image-to-image), if any
    reference_strength: float = 0.6  # 0 keeps the reference, 1 ignores it (as for local models)
    options: dict = field(default_factory=dict)  # the entry's provider parameters, sent as given


@dataclass
class HostedImage:
    image: Image.Image
    request_id: str | None  # the provider's id of the request, for its support and its logs
    model_version: str | None  # the version the provider says served it, where it says
    revised_prompt: str | None = None  # the prompt the provider rewrote and drew (DALL·E 3)


def decode_image(data: bytes | str, what: str) -> Image.Image:
    """An image from raw or base64 bytes, loaded (so a truncated one fails here, not later)."""
    raw = base64.b64decode(data) if isinstance(data, str) else data
    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except Exception as exc:
        raise BadRequest(f"{what}: the response's image could not be read ({type(exc).__name__})") from None
    return image.convert("RGB")


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()
