"""Opening the images users put under media/ (product shots, reference images), refusing hostile ones.

A media file is whatever a user dropped in a folder: it may be huge, truncated, a
decompression bomb, or not an image at all. `open_image` decodes it only after checking its
byte count, its format and its pixel count, and says what is wrong in words a caller puts
after the file's name.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_MEDIA_BYTES = 200_000_000  # a 50 MP PNG of a photo is well under this
MAX_MEDIA_PIXELS = 50_000_000
IMAGE_FORMATS = ("PNG", "WEBP", "JPEG")


class MediaError(ValueError):
    """The file cannot be used; the message says why (the caller names the file)."""


def open_image(data: bytes) -> Image.Image:
    """The decoded image (RGB, or RGBA where it has alpha; upright), or MediaError."""
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaError(f"is {len(data)} bytes; the limit is {MAX_MEDIA_BYTES}")
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 MP and refuses from 179 MP; every warning is a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in IMAGE_FORMATS:
                    raise MediaError(f"is {image.format}, not PNG, WebP or JPEG")
                width, height = image.size
                if width * height > MAX_MEDIA_PIXELS:
                    raise MediaError(
                        f"is {width}x{height} = {width * height / 1e6:.1f} MP; "
                        f"the limit is {MAX_MEDIA_PIXELS / 1e6:.0f} MP"
                    )
                image.load()
                image = ImageOps.exif_transpose(image)  # a phone's JPEG is stored sideways
                alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
                return image.convert("RGBA" if alpha else "RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"is a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise MediaError("is not an image (PNG, WebP or JPEG expected)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated, corrupt, oversized chunks
        if isinstance(exc, MediaError):
            raise
        raise MediaError(f"cannot be decoded: {exc}") from None
