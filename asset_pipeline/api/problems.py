"""RFC 9457 problem details: every error the API answers, and nothing else (never a traceback).

A problem's `type` is a link into the docs page (`/docs#problem-<slug>`), its `title` the same for
every occurrence of the type, its `detail` this occurrence. Input problems carry `errors`: one per
field, worded as `asset-pipeline validate` words them (`line` is the very line it prints).
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from asset_pipeline.specs import Problem

MEDIA_TYPE = "application/problem+json"

# slug -> (status, title): the problem types this API answers with (the docs page lists them).
TYPES: dict[str, tuple[int, str]] = {
    "bad-request": (400, "The request is malformed"),
    "unauthorized": (401, "A valid bearer token is required"),
    "forbidden": (403, "The token lacks the scope this needs"),
    "not-found": (404, "No such resource"),
    "method-not-allowed": (405, "Method not allowed"),
    "request-timeout": (408, "The request body arrived too slowly"),
    "conflict": (409, "The request conflicts with the state of the resource"),
    "idempotency-key-reused": (409, "This Idempotency-Key was used with another request"),
    "idempotency-key-in-flight": (409, "A request with this Idempotency-Key is still being processed"),
    "payload-too-large": (413, "The request body is too large"),
    "unsupported-media-type": (415, "The body's media type is not accepted here"),
    "invalid-input": (422, "The input is invalid"),
    "too-many-requests": (429, "The queue for this route is full; retry later"),
    "internal": (500, "The server failed to handle the request"),
}


class ApiProblem(Exception):
    """An error answer: raised anywhere in a handler, turned into problem details by the app."""

    def __init__(
        self,
        slug: str,
        detail: str,
        errors: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ):
        super().__init__(detail)
        self.slug, self.detail, self.errors, self.headers = slug, detail, errors or [], headers or {}
        self.status = status or TYPES[slug][0]


def problem_body(slug: str, detail: str, status: int, errors: list[Problem] = ()) -> dict:
    body = {"type": f"/docs#problem-{slug}", "title": TYPES[slug][1], "status": status, "detail": detail}
    if errors:
        body["errors"] = [
            {"file": p.file, "field": p.field, "message": p.message, "line": str(p)} for p in dict.fromkeys(errors)
        ]
    return body


def problem_response(problem: ApiProblem) -> JSONResponse:
    return JSONResponse(
        problem_body(problem.slug, problem.detail, problem.status, problem.errors),
        status_code=problem.status,
        headers=problem.headers,
        media_type=MEDIA_TYPE,
    )
