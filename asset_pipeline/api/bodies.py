"""Reading request bodies within limits: size, time and JSON nesting depth.

A body is read as it streams in and refused (413) once it passes the cap; nothing past the cap
is kept, so a client cannot make the server buffer more than that; a client that sends it too slowly is cut off
(408). JSON deeper than MAX_DEPTH is refused before anything walks it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import yaml
from starlette.requests import Request

from asset_pipeline.api.problems import ApiProblem

MAX_BODY_BYTES = 1_000_000
MAX_DEPTH = 32  # a brief is 4 deep (brief, assets, asset, locales); 32 leaves room, and bounds the walk
BODY_TIMEOUT_S = 10.0
# A body over the cap is still read, and dropped, up to this much more before the 413: a server
# that closes on a client still sending makes the client's kernel reset the connection, and the
# client never reads the answer (nginx's "lingering close" does the same). Past it, it is cut off.
DRAIN_BYTES = 8_000_000


async def read_body(request: Request, limit: int = MAX_BODY_BYTES, timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    too_large = ApiProblem("payload-too-large", f"the body is over {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit + DRAIN_BYTES):
        raise too_large
    over = declared is not None and int(declared) > limit
    chunks, size = [], 0

    async def receive() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit + DRAIN_BYTES:
                break
            if size <= limit:
                chunks.append(chunk)

    try:
        await asyncio.wait_for(receive(), timeout_s)
    except TimeoutError:
        if over or size > limit:
            raise too_large from None
        raise ApiProblem("request-timeout", f"the body did not arrive within {timeout_s:g} s") from None
    if over or size > limit:
        raise too_large
    return b"".join(chunks)


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of a parsed JSON value, walked without recursion and stopped past `limit`."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, level = todo.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            todo.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_json(data: bytes) -> Any:
    """The body as JSON: 400 when it is not UTF-8 JSON, 422 when it nests past MAX_DEPTH."""
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ApiProblem("bad-request", f"the body is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ApiProblem(
            "bad-request", f"the body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise ApiProblem("invalid-input", f"the JSON nests deeper than {MAX_DEPTH} levels") from None
    if depth(value) > MAX_DEPTH:
        raise ApiProblem("invalid-input", f"the JSON nests deeper than {MAX_DEPTH} levels")
    return value


def parse_yaml(data: bytes) -> Any:
    """A YAML body (briefs may be sent as YAML), parsed as the brief loader parses files."""
    from asset_pipeline.specs import _UniqueKeyLoader

    try:
        value = yaml.load(data.decode("utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except UnicodeDecodeError as exc:
        raise ApiProblem("bad-request", f"the body is not UTF-8 (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ApiProblem("bad-request", f"the body is not YAML{where}: {reason}") from None
    except RecursionError:
        raise ApiProblem("invalid-input", f"the YAML nests deeper than {MAX_DEPTH} levels") from None
    if depth(value) > MAX_DEPTH:
        raise ApiProblem("invalid-input", f"the YAML nests deeper than {MAX_DEPTH} levels")
    return value
