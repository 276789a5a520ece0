"""Ideogram's API over httpx (it has no official Python SDK).

V_2, V_2_TURBO, V_2A and V_2A_TURBO: `POST /generate` with a JSON `image_request` (aspect ratio
as `ASPECT_16_9`), or `POST /remix` (multipart: the `image_request` as JSON, the reference as
`image_file`) when a reference image steers it. Ideogram 3.0 (`V_3`) has its own endpoints,
`/v1/ideogram-v3/generate` and `/remix`, with multipart fields, `16x9` ratios and a
`rendering_speed` (TURBO | DEFAULT | QUALITY: the entry's `quality`).

Either answers `data[0].url`, an ephemeral link the image is fetched from (without the key:
it is not Ideogram's API host that serves it). Magic Prompt stays off unless the entry's
`options` turn it on: the brief's prompt is what is drawn.
"""

from __future__ import annotations

import json

import httpx

from asset_pipeline.models.hosted.calls import (
    BadRequest,
    ContentRefused,
    HostedError,
    NetworkError,
    RequestTimedOut,
    redact,
    retry_after_seconds,
    status_error,
)
from asset_pipeline.models.hosted.request import HostedImage, HostedRequest, decode_image

BASE_URL = "https://api.ideogram.ai"
MAX_SEED = 2_147_483_647


def generate(request: HostedRequest, key: str) -> HostedImage:
    what = f"ideogram {request.model}"
    base = (request.base_url or BASE_URL).rstrip("/")
    # (1 - strength) of the reference's look is kept, as for local models; Ideogram weighs 1..100
    weight = max(1, min(100, round((1.0 - request.reference_strength) * 100)))
    with httpx.Client(timeout=request.timeout, headers={"Api-Key": key}) as client:
        try:
            if request.model == "V_3":
                response = _post_v3(client, base, request, weight)
            else:
                response = _post_v2(client, base, request, weight)
        except httpx.TimeoutException:
            raise RequestTimedOut(f"{what}: no answer within the timeout") from None
        except httpx.TransportError as exc:
            raise NetworkError(f"{what}: could not connect ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise _error(response, what, key)
        try:
            item = response.json()["data"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BadRequest(f"{what}: the response held no image") from None
        if item.get("is_image_safe") is False:
            raise ContentRefused(f"{what}: the image failed Ideogram's safety check")
        image = _fetch(item["url"], request.timeout, what)
    return HostedImage(
        image=decode_image(image, what),
        request_id=response.headers.get("x-request-id"),
        model_version=None,  # Ideogram names no version beyond the model
        revised_prompt=item.get("prompt") if item.get("prompt") != request.prompt else None,
    )


def _post_v2(client: httpx.Client, base: str, request: HostedRequest, weight: int) -> httpx.Response:
    image_request = {
        "prompt": request.prompt,
        "model": request.model,
        "aspect_ratio": request.size_name,
        "seed": request.seed % (MAX_SEED + 1),
        "magic_prompt_option": "OFF",
        "num_images": 1,
        **({"negative_prompt": request.negative} if request.negative else {}),
        **request.options,
    }
    if request.reference is None:
        return client.post(f"{base}/generate", json={"image_request": image_request})
    image_request["image_weight"] = weight
    return client.post(
        f"{base}/remix",
        data={"image_request": json.dumps(image_request)},
        files={"image_file": ("reference.png", request.reference, "image/png")},
    )


def _post_v3(client: httpx.Client, base: str, request: HostedRequest, weight: int) -> httpx.Response:
    fields = {
        "prompt": request.prompt,
        "aspect_ratio": request.size_name,
        "seed": str(request.seed % (MAX_SEED + 1)),
        "rendering_speed": (request.quality or "default").upper(),
        "magic_prompt": "OFF",
        "num_images": "1",
        **({"negative_prompt": request.negative} if request.negative else {}),
        **{k: str(v) for k, v in request.options.items()},
    }
    if request.reference is None:
        # multipart/form-data, as the 3.0 endpoints take (fields only: httpx needs a file to choose it)
        return client.post(f"{base}/v1/ideogram-v3/generate", files={k: (None, v) for k, v in fields.items()})
    fields["image_weight"] = str(weight)
    return client.post(
        f"{base}/v1/ideogram-v3/remix",
        data=fields,
        files={"image": ("reference.png", request.reference, "image/png")},
    )


def _fetch(url: str, timeout: float, what: str) -> bytes:
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.TimeoutException:
        raise RequestTimedOut(f"{what}: the image link gave no answer within the timeout") from None
    except httpx.TransportError as exc:
        raise NetworkError(f"{what}: could not fetch the image ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise status_error(response.status_code, "fetching the image", None, what)
    return response.content


def _error(response: httpx.Response, what: str, key: str) -> HostedError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail") or body.get("error") or body.get("message") if isinstance(body, dict) else None
    message = redact(
        detail if isinstance(detail, str) else json.dumps(detail) if detail else response.reason_phrase, key
    )
    if response.status_code == 422:  # Ideogram's answer to a prompt that fails its safety check
        return ContentRefused(f"{what}: refused by Ideogram's safety check: {message}")
    return status_error(response.status_code, message, retry_after_seconds(response.headers), what)
