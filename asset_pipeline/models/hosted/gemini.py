"""Google's image models on the Gemini API through the official `google-genai` SDK.

`gemini-2.5-flash-image` answers `models.generate_content` with an image part: the aspect
ratio goes in `imageConfig`, the seed in the generation config, a reference image as a part
of the request beside the prompt. The response names the model version and its own id.

Imagen 4 (`imagen-4.0-generate-001`, `-fast-`, `-ultra-`) is listed because the field compares
it, but Google shut it down on the Gemini API on 2026-08-17, and google-genai (since 2.20)
calls `generate_images` on Vertex AI only: an Imagen entry fails at once with that reason, and
its route falls back, without a request.
"""

from __future__ import annotations

from google import genai
from google.genai import errors, types

from asset_pipeline.models.hosted.calls import (
    BadRequest,
    ContentRefused,
    HostedError,
    KeyRejected,
    ModelUnavailable,
    NetworkError,
    RateLimited,
    RequestTimedOut,
    redact,
    retry_after_seconds,
    status_error,
)
from asset_pipeline.models.hosted.catalog import offer
from asset_pipeline.models.hosted.request import HostedImage, HostedRequest, decode_image

# Finish reasons that mean "refused", not "broken" (google.genai.types.FinishReason).
REFUSED = {
    "SAFETY",
    "IMAGE_SAFETY",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_PROHIBITED_CONTENT",
}
KEY_REASONS = {"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"}


def generate(request: HostedRequest, key: str) -> HostedImage:
    what = f"google {request.model}"
    retired = offer("google", request.model).retired
    if request.model.startswith("imagen-"):
        raise ModelUnavailable(f"{what}: retired by Google on {retired}; use gemini-2.5-flash-image")
    options = types.HttpOptions(base_url=request.base_url, timeout=round(request.timeout * 1000))
    client = genai.Client(api_key=key, http_options=options)
    parts: list = [request.prompt]
    if request.reference is not None:
        parts.append(types.Part.from_bytes(data=request.reference, mime_type="image/png"))
    config = types.GenerateContentConfig(
        response_modalities=["IMAGE"],
        image_config=types.ImageConfig(aspect_ratio=request.size_name),
        seed=request.seed % 2**31,
        **request.options,
    )
    try:
        response = client.models.generate_content(model=request.model, contents=parts, config=config)
    except errors.APIError as exc:
        raise _error(exc, what, key) from None
    except Exception as exc:  # httpx's (or httpx2's) own errors: the SDK passes them through
        name = type(exc).__name__
        if "Timeout" in name:
            raise RequestTimedOut(f"{what}: no answer within the timeout") from None
        if name in ("ConnectError", "RemoteProtocolError", "ReadError", "NetworkError"):
            raise NetworkError(f"{what}: could not connect ({name})") from None
        raise
    finally:
        client.close()
    blocked = response.prompt_feedback.block_reason if response.prompt_feedback else None
    if blocked:
        raise ContentRefused(f"{what}: refused by Google's safety filters ({_name(blocked)})")
    candidate = (response.candidates or [None])[0]
    image = next(
        (p.inline_data.data for p in (candidate.content.parts or []) if p.inline_data and p.inline_data.data)
        if candidate and candidate.content
        else iter(()),
        None,
    )
    if image is None:
        reason = _name(candidate.finish_reason) if candidate and candidate.finish_reason else "no candidate"
        if reason in REFUSED:
            raise ContentRefused(f"{what}: refused by Google's safety filters ({reason})")
        raise BadRequest(f"{what}: the response held no image ({reason})")
    return HostedImage(
        image=decode_image(image, what),
        request_id=response.response_id,
        model_version=response.model_version,
    )


def _name(value) -> str:
    return str(getattr(value, "value", value))


def _error(exc: errors.APIError, what: str, key: str) -> HostedError:
    status = int(exc.code or 0)
    details = (exc.details or {}).get("error", {}) if isinstance(exc.details, dict) else {}
    reasons = {d.get("reason") for d in details.get("details", []) if isinstance(d, dict)}
    if status in (401, 403) or reasons & KEY_REASONS:
        # Never the provider's message: the key is the caller's, the reason is enough.
        return KeyRejected(f"{what}: the key was refused ({status} {next(iter(reasons & KEY_REASONS), exc.status)})")
    message = redact(exc.message or exc.status or "", key)
    headers = getattr(exc.response, "headers", None)
    wait = retry_after_seconds(headers) if headers is not None else None
    if status == 429:
        # Google sends no Retry-After: its RetryInfo detail says how long ("30s"), where it says.
        delay = next((d.get("retryDelay") for d in details.get("details", []) if "retryDelay" in d), None)
        if wait is None and isinstance(delay, str) and delay.endswith("s"):
            try:
                wait = float(delay[:-1])
            except ValueError:
                wait = None
        return RateLimited(f"{what}: rate limited (429 {exc.status}): {message}", wait)
    return status_error(status, message, wait, what)
