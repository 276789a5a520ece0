"""How a hosted request fails, and the one retry policy every provider's adapter runs under.

Each adapter turns its SDK's errors into these, with a message of one line that never holds
the key (`redact`). The SDKs' own retries are off: OpenAI's honours Retry-After but
google-genai's does not, so one policy (`with_retries`, on tenacity) serves all three.
Transient failures (429, 5xx, timeouts, network) are retried with exponential backoff,
waiting what Retry-After asks for where the provider says; the rest fail at once.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

BACKOFF_S = 0.5  # the first wait; doubled per retry
MAX_WAIT_S = 60.0  # a Retry-After beyond this is capped: a draft is better served by the next model
T = TypeVar("T")


class HostedError(RuntimeError):
    """A hosted model produced no image. The message is one line, without the key."""


class KeyMissing(HostedError):
    pass


class KeyRejected(HostedError):
    """The provider refused the key (401/403): no request with it will succeed."""


class ContentRefused(HostedError):
    """The provider's content policy refused the prompt or the image."""


class QuotaExceeded(HostedError):
    """The account's quota or credit is spent (not a rate limit that waiting clears)."""


class ModelUnavailable(HostedError):
    """The provider does not serve this model (unknown, retired, or not to this account)."""


class BadRequest(HostedError):
    pass


class Transient(HostedError):
    """A failure that may clear: retried. `retry_after`: seconds the provider asked to wait."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Transient):
    pass


class ServerError(Transient):
    pass


class NetworkError(Transient):
    pass


class RequestTimedOut(Transient):
    pass


def redact(text: str, secret: str | None) -> str:
    """`text` on one line, with the secret (if any) replaced, at most 300 characters."""
    line = " ".join(str(text).split())
    if secret:
        line = line.replace(secret, "[key]")
    return line[:300]


def retry_after_seconds(headers) -> float | None:
    """Seconds a Retry-After header (or Retry-After-Ms) asks for: a number or an HTTP date."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if scale == 1.0 else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    return None


def _wait(state: tenacity.RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    asked = getattr(exc, "retry_after", None)
    if asked is not None:
        return min(asked, MAX_WAIT_S)
    return min(BACKOFF_S * 2 ** (state.attempt_number - 1), MAX_WAIT_S)


def with_retries(call: Callable[[], T], retries: int) -> T:
    """`call()`, retried up to `retries` times on a Transient failure; the last failure is raised."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(retries + 1),
        retry=tenacity.retry_if_exception_type(Transient),
        wait=_wait,
        reraise=True,
    )
    return retrying(call)


def status_error(status: int, message: str, retry_after: float | None, what: str) -> HostedError:
    """The error for an HTTP status that the adapter found no more specific reason for."""
    if status in (401, 403):
        return KeyRejected(f"{what} refused the key ({status})")
    if status == 402:
        return QuotaExceeded(f"{what}: payment required (402): {message}")
    if status == 404:
        return ModelUnavailable(f"{what}: not found (404): {message}")
    if status == 408:
        return RequestTimedOut(f"{what}: request timed out (408)", retry_after)
    if status == 429:
        return RateLimited(f"{what}: rate limited (429): {message}", retry_after)
    if status >= 500:
        return ServerError(f"{what}: server error ({status}): {message}", retry_after)
    return BadRequest(f"{what}: request refused ({status}): {message}")
