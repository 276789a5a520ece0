"""The OpenAPI 3.1 document (`/openapi.json`) and the docs page (`/docs`).

Generated, not hand-written: the bodies' schemas come from pydantic models, the request's asset
from the very model that validates an asset in a brief (specs.AssetSpec), so the document cannot
drift from what the server accepts. OpenAPI 3.1 takes JSON Schema 2020-12 as it is, which is what
pydantic writes; the paths are data below. The docs page is rendered from the same document,
server-side with no script from elsewhere (the server may run with no network at all).
"""

from __future__ import annotations

import functools
import html
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from asset_pipeline import __version__
from asset_pipeline.api.problems import TYPES
from asset_pipeline.specs import AssetSpec, Brief

REF = "#/components/schemas/{model}"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    brand: str = Field(description="a brand with a file brands/<brand>.yaml in the home")
    asset: AssetSpec = Field(description="an asset as in a brief (its `id` defaults to `render`)")
    campaign: str | None = Field(default=None, description="groups renders in the catalog; default `realtime`")


class FileEntry(_Doc):
    format: str
    url: str
    sha256: str
    bytes: int


class CheckEntry(_Doc):
    check: str
    passed: bool
    value: float | None
    detail: str | None


class DeliverableAnswer(_Doc):
    size: str
    status: Literal["published", "rejected"]
    reasons: list[str]
    checks: list[CheckEntry]
    files: list[FileEntry]
    provenance: dict[str, str] = Field(default_factory=dict)


class RenderAnswer(_Doc):
    id: str
    status: Literal["done", "running", "failed"]
    deliverables: list[DeliverableAnswer] = Field(default_factory=list)
    url: str | None = None
    seconds: float | None = None
    timings: dict[str, float] = Field(
        default_factory=dict, description="seconds per stage (also the Server-Timing header, in ms)"
    )


class FieldError(_Doc):
    file: str
    field: str
    message: str
    line: str


class ProblemDetails(_Doc):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


class RunAnswer(_Doc):
    id: str
    campaign: str
    status: str
    url: str


class RunStatus(_Doc):
    id: str
    campaign: str
    status: str
    dagster_run_id: str | None = None
    stages: dict[str, str] = Field(default_factory=dict)
    deliverables: list[dict[str, Any]] = Field(default_factory=list)


class BriefAnswer(_Doc):
    campaign: str
    path: str
    brief_hash: str


class WebhookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    events: list[
        Literal["run.succeeded", "run.failed", "deliverable.published", "deliverable.rejected", "approval.needed"]
    ]


class WebhookAnswer(_Doc):
    id: str
    secret: str = Field(description="whsec_ and the base64 of the signing key (Standard Webhooks)")
    url: str
    events: list[str]


class Delivery(_Doc):
    id: str
    event: str
    state: Literal["pending", "delivered", "failed"]
    attempts: list[dict[str, Any]]


class Deliveries(_Doc):
    deliveries: list[Delivery]


MODELS = [
    RenderRequest,
    RenderAnswer,
    ProblemDetails,
    RunAnswer,
    RunStatus,
    BriefAnswer,
    Brief,
    WebhookRequest,
    WebhookAnswer,
    Deliveries,
]


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _problems(*statuses: int) -> dict:
    schema = {"application/problem+json": {"schema": _ref(ProblemDetails)}}
    titles = {status: title for status, title in TYPES.values()}
    return {str(s): {"description": titles.get(s, "error"), "content": schema} for s in statuses}


IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "a repeat with the same key and body gets the first answer; another body gets 409 (kept 24 h)",
}


def _id(name: str, description: str, pattern: str | None = None) -> dict:
    schema = {"type": "string", **({"pattern": pattern} if pattern else {})}
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


CAMPAIGN = _id("campaign", "a campaign id", "^[a-z0-9][a-z0-9_-]{0,63}$")


def _operation(op_id: str, summary: str, scope: str, responses: dict, **extra) -> dict:
    return {
        "operationId": op_id,
        "summary": summary,
        "security": [{"bearer": [scope]}],
        "description": f"Needs a token with the `{scope}` scope (or `admin`).",
        "responses": {**responses, **_problems(401, 403, 429, 500)},
        **extra,
    }


def _paths() -> dict:
    return {
        "/v1/renders": {
            "post": _operation(
                "createRender",
                "Render one asset now (real-time path)",
                "render",
                {
                    "200": _json(RenderAnswer, "done within the wait: every deliverable published or rejected"),
                    "202": _json(RenderAnswer, "still running after the wait; poll `url`"),
                    **_problems(400, 409, 413, 415, 422),
                },
                parameters=[
                    IDEMPOTENCY,
                    {
                        "name": "Prefer",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "example": "wait=10"},
                        "description": "wait=N: answer synchronously for up to N seconds (default 10), then 202",
                    },
                ],
                requestBody={"required": True, "content": {"application/json": {"schema": _ref(RenderRequest)}}},
            )
        },
        "/v1/renders/{id}": {
            "get": _operation(
                "getRender",
                "A real-time render's answer, once done",
                "read",
                {"200": _json(RenderAnswer, "the render"), **_problems(404)},
                parameters=[_id("id", "the render's id")],
            )
        },
        "/v1/files/{sha256}": {
            "get": _operation(
                "getFile",
                "A published or rendered file, by its sha256",
                "read",
                {
                    "200": {
                        "description": "the file's bytes",
                        "content": {
                            t: {"schema": {"type": "string", "format": "binary"}}
                            for t in ("image/png", "image/jpeg", "image/webp", "image/avif")
                        },
                    },
                    **_problems(404),
                },
                parameters=[_id("sha256", "the file's sha256", "^[0-9a-f]{64}$")],
            )
        },
        "/v1/briefs/{campaign}": {
            "put": _operation(
                "putBrief",
                "Write a campaign's brief (JSON or YAML), validated as `validate` validates it",
                "runs",
                {"200": _json(BriefAnswer, "written"), **_problems(400, 409, 413, 415, 422)},
                parameters=[CAMPAIGN, IDEMPOTENCY],
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ref(Brief)},
                        "application/yaml": {"schema": {"type": "string"}},
                    },
                },
            )
        },
        "/v1/campaigns/{campaign}/runs": {
            "post": _operation(
                "createRun",
                "Start a Dagster run of the campaign (batch path)",
                "runs",
                {"202": _json(RunAnswer, "started"), **_problems(404, 409, 422)},
                parameters=[CAMPAIGN, IDEMPOTENCY],
            )
        },
        "/v1/runs/{id}": {
            "get": _operation(
                "getRun",
                "A batch run: status, progress per stage, each deliverable's outcome",
                "read",
                {"200": _json(RunStatus, "the run"), **_problems(404)},
                parameters=[_id("id", "the run's id")],
            )
        },
        "/v1/campaigns/{campaign}": {
            "get": _operation(
                "getCampaign",
                "The campaign's manifest (published/<campaign>/manifest.json)",
                "read",
                {
                    "200": {
                        "description": "the manifest",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                }
                | _problems(404),
                parameters=[CAMPAIGN],
            )
        },
        "/v1/webhooks": {
            "post": _operation(
                "createWebhook",
                "Register a webhook (destination on config.yaml's webhooks.allow)",
                "admin",
                {"201": _json(WebhookAnswer, "registered; the secret is shown once"), **_problems(400, 409, 422)},
                parameters=[IDEMPOTENCY],
                requestBody={"required": True, "content": {"application/json": {"schema": _ref(WebhookRequest)}}},
            )
        },
        "/v1/webhooks/{id}/deliveries": {
            "get": _operation(
                "listDeliveries",
                "Every delivery of a webhook, with each attempt",
                "admin",
                {"200": _json(Deliveries, "the deliveries"), **_problems(404)},
                parameters=[_id("id", "the webhook's id")],
            )
        },
    }


@functools.cache
def document() -> dict:
    _, schemas = models_json_schema([(m, "validation") for m in MODELS], ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "asset_pipeline API",
            "version": __version__,
            "description": "Real-time renders and batch runs of campaign images, on the same stage code. "
            "Errors are RFC 9457 problem details.",
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def docs_page() -> str:
    """An HTML page of the operations and problem types, from the document itself."""
    doc, esc = document(), html.escape
    rows = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            scope = op["security"][0]["bearer"][0]
            codes = ", ".join(sorted(op["responses"]))
            rows.append(
                f"<tr><td><code>{method.upper()} {esc(path)}</code></td><td>{esc(op['summary'])}</td>"
                f"<td><code>{scope}</code></td><td>{codes}</td></tr>"
            )
    problems = "".join(
        f'<tr id="problem-{slug}"><td><code>{slug}</code></td><td>{status}</td><td>{esc(title)}</td></tr>'
        for slug, (status, title) in TYPES.items()
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>asset_pipeline API</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}}</style>
</head><body><h1>asset_pipeline API {esc(doc["info"]["version"])}</h1>
<p>{esc(doc["info"]["description"])} Send <code>Authorization: Bearer &lt;token&gt;</code>
(<code>asset-pipeline tokens create --scope …</code>). The machine-readable description is
<a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<h2>Operations</h2><table><tr><th>operation</th><th>what</th><th>scope</th><th>answers</th></tr>{"".join(rows)}</table>
<h2>Problem types</h2><table><tr><th>type</th><th>status</th><th>title</th></tr>{problems}</table>
</body></html>"""
