"""OpenAI's Images API through the official `openai` SDK: dall-e-3 (quality standard | hd) and
gpt-image-1 (low | medium | high; a reference image goes to the edits endpoint).

Images come back base64 (`response_format: b64_json` for DALL·E 3; GPT Image always does);
DALL·E 3 also answers the prompt it rewrote and drew, which provenance keeps.
"""

from __future__ import annotations

import openai

from asset_pipeline.models.hosted.calls import (
    BadRequest,
    ContentRefused,
    HostedError,
    KeyRejected,
    NetworkError,
    QuotaExceeded,
    RequestTimedOut,
    redact,
    retry_after_seconds,
    status_error,
)
from asset_pipeline.models.hosted.request import HostedImage, HostedRequest, decode_image

REFUSALS = {"content_policy_violation", "moderation_blocked"}  # DALL·E 3's code, GPT Image's


def generate(request: HostedRequest, key: str) -> HostedImage:
    client = openai.OpenAI(api_key=key, base_url=request.base_url, timeout=request.timeout, max_retries=0)
    args = {"model": request.model, "prompt": request.prompt, "n": 1, "size": request.size_name, **request.options}
    if request.quality:
        args["quality"] = request.quality
    try:
        if request.reference is not None:
            result = client.images.edit(image=("reference.png", request.reference, "image/png"), **args)
        else:
            if request.model.startswith("dall-e"):
                args["response_format"] = "b64_json"
            result = client.images.generate(**args)
    except openai.APIError as exc:
        raise _error(exc, request.model, key) from None
    finally:
        client.close()
    if not result.data:
        raise BadRequest(f"openai {request.model}: the response held no image")
    item = result.data[0]
    if not item.b64_json:
        raise BadRequest(f"openai {request.model}: the response held no base64 image")
    return HostedImage(
        image=decode_image(item.b64_json, f"openai {request.model}"),
        request_id=getattr(result, "_request_id", None),
        model_version=None,  # the Images API names no version beyond the model
        revised_prompt=item.revised_prompt,
    )


def _error(exc: openai.APIError, model: str, key: str) -> HostedError:
    what = f"openai {model}"
    if isinstance(exc, openai.APITimeoutError):
        return RequestTimedOut(f"{what}: no answer within the timeout")
    if isinstance(exc, openai.APIConnectionError):
        return NetworkError(f"{what}: could not connect ({type(exc.__cause__ or exc).__name__})")
    if not isinstance(exc, openai.APIStatusError):
        return HostedError(f"{what}: {redact(str(exc), key)}")
    status, code = exc.status_code, getattr(exc, "code", None)
    body = exc.body if isinstance(exc.body, dict) else {}
    message = redact(body.get("message") or exc.message, key)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        # Never the provider's message: OpenAI's echoes part of the key.
        return KeyRejected(f"{what}: the key was refused ({status} {code or 'unauthorized'})")
    if code in REFUSALS:
        return ContentRefused(f"{what}: refused by OpenAI's content policy ({code})")
    if status == 429 and code == "insufficient_quota":
        return QuotaExceeded(f"{what}: quota exceeded ({code})")
    return status_error(status, message, retry_after_seconds(exc.response.headers), what)
