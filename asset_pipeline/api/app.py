"""The Starlette app of `asset-pipeline serve`: routes, auth, limits, idempotency, problem details.

Starlette rather than FastAPI: it is already installed (with Dagster's webserver) and the review
app is built on it, so the API adds no dependency and shares its patterns; the OpenAPI document is
generated from pydantic models all the same (openapi.py). Handlers are thin: the real-time path is
realtime.py, the batch path batch.py, webhooks webhooks.py.

Every answer that is not a success is an RFC 9457 problem (problems.py); an unexpected error is
logged on the server with its traceback and answered with a 500 problem that holds none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
from concurrent.futures import Future
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from asset_pipeline.api.bodies import parse_json, read_body
from asset_pipeline.api.idempotency import IdempotencyStore, Stored
from asset_pipeline.api.ids import ID_RE, SHA_RE, new_id
from asset_pipeline.api.openapi import docs_page, document
from asset_pipeline.api.problems import TYPES, ApiProblem, problem_response
from asset_pipeline.api.queues import RouteQueue
from asset_pipeline.api.tokens import Token, TokenStore, bearer
from asset_pipeline.home import Home, HomePathError
from asset_pipeline.specs import InputError, Problem
from asset_pipeline.storage.files import atomic_write_bytes

log = logging.getLogger("asset_pipeline.api")

DEFAULT_WAIT_S, MAX_WAIT_S = 10.0, 60.0
WAIT_RE = re.compile(r"(?:^|[;,]\s*)wait=([0-9]{1,4})(?:$|[;,\s])")
MEDIA = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}
# What each route may have running or waiting before it answers 429 (workers, queue depth).
QUEUES = {"renders": (1, 8), "runs": (1, 4)}


def _media_type(data: bytes) -> str:
    for magic, kind in MEDIA.items():
        if data.startswith(magic):
            return kind
    return "image/avif" if data[4:12] in (b"ftypavif", b"ftypavis") else "application/octet-stream"


def prefer_wait(header: str | None) -> float:
    match = WAIT_RE.search((header or "").replace(" ", ""))
    return min(float(match.group(1)), MAX_WAIT_S) if match else DEFAULT_WAIT_S


class Api:
    """The server's state: the home, its tokens and stores, the route queues, the renderer."""

    def __init__(self, home: Home, instance=None, queues: dict[str, tuple[int, int]] | None = None):
        from asset_pipeline.api.batch import Runs
        from asset_pipeline.api.realtime import Renderer
        from asset_pipeline.api.settings import load_webhooks_settings
        from asset_pipeline.api.webhooks import Webhooks

        self.home = home
        self.tokens = TokenStore(home)
        self.idempotency = IdempotencyStore(home)
        sizes = {**QUEUES, **(queues or {})}
        self.queues = {name: RouteQueue(name, *size) for name, size in sizes.items()}
        self.renderer = Renderer(home, instance)
        self.webhooks = Webhooks(home, load_webhooks_settings(home))
        self.runs = Runs(home, self.queues["runs"], self.webhooks, instance)
        self.jobs: dict[str, Future] = {}
        self.jobs_folder = home.root / "api" / "jobs"
        self._jobs_lock = threading.Lock()

    # ------------------------------------------------------------------ auth

    def authorize(self, request: Request, scope: str) -> Token:
        token = self.tokens.verify(bearer(request.headers.get("authorization")))
        if token is None:
            raise ApiProblem(
                "unauthorized",
                "send Authorization: Bearer <token> (asset-pipeline tokens create)",
                headers={"WWW-Authenticate": 'Bearer realm="asset_pipeline"'},
            )
        if not token.allows(scope):
            raise ApiProblem("forbidden", f"this needs a token with the {scope!r} scope (or 'admin')")
        return token

    # ------------------------------------------------------------------ idempotency

    async def idempotent(self, request: Request, token: Token, body: bytes, handle) -> Response:
        """`await handle()`, or the first answer to the same Idempotency-Key and body."""
        key = request.headers.get("idempotency-key")
        if key is None:
            return await _answer(handle)
        scope = f"{token.id} {request.method} {request.url.path}"
        stored = self.idempotency.begin(scope, key, body)
        if stored is not None:
            return Response(stored.body, stored.status, {**stored.headers, "Idempotent-Replayed": "true"})
        try:
            response = await _answer(handle)
        except BaseException:
            self.idempotency.abandon(scope, key)
            raise
        if response.status_code >= 500 or response.status_code == 429:
            self.idempotency.abandon(scope, key)  # not an answer to keep: the client may retry
            return response
        kept = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "location")}
        self.idempotency.finish(scope, key, body, Stored(response.status_code, kept, bytes(response.body)))
        return response

    # ------------------------------------------------------------------ render jobs

    def run_render(self, render_id: str, body: Any, plan) -> dict:
        answer = self.renderer.render(plan)
        atomic_write_bytes(self.jobs_folder / f"{render_id}.json", json.dumps(answer).encode())
        self.webhooks.emit_render(answer)
        return answer

    def job_answer(self, render_id: str) -> dict | None:
        with self._jobs_lock:
            future = self.jobs.get(render_id)
        if future is not None and not future.done():
            return {"id": render_id, "status": "running", "url": f"/v1/renders/{render_id}"}
        if future is not None and future.exception() is not None:
            return {"id": render_id, "status": "failed", "detail": _one_line(future.exception())}
        try:
            return json.loads((self.jobs_folder / f"{render_id}.json").read_bytes())
        except FileNotFoundError:
            return None


def _one_line(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{type(exc).__name__}: {first}"


async def _answer(handle) -> Response:
    try:
        return await handle()
    except ApiProblem as problem:
        return problem_response(problem)


def _input_problem(exc: InputError | HomePathError) -> ApiProblem:
    """422 listing every problem; a path that leaves the home (a symlink out) is one too."""
    problems = exc.problems if isinstance(exc, InputError) else [Problem(exc.relative, "", exc.reason)]
    count = len(problems)
    return ApiProblem("invalid-input", f"{count} problem{'s' * (count != 1)} with the input", problems)


def create_app(home: Home, instance=None, queues: dict[str, tuple[int, int]] | None = None) -> Starlette:
    api = Api(home, instance, queues)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(document())

    async def docs(request: Request) -> Response:
        return HTMLResponse(docs_page())

    async def create_render(request: Request) -> Response:
        token = api.authorize(request, "render")
        body = await read_body(request)

        async def handle() -> Response:
            from asset_pipeline.api.realtime import plan_render

            kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
            if kind not in ("application/json", ""):
                raise ApiProblem("unsupported-media-type", f"send application/json, not {kind[:80]!r}")
            data = parse_json(body)
            render_id = new_id("r")
            try:
                plan = await asyncio.to_thread(plan_render, api.home, data, render_id)
            except (InputError, HomePathError) as exc:
                raise _input_problem(exc) from None
            future = api.queues["renders"].submit(api.run_render, render_id, data, plan)
            with api._jobs_lock:
                api.jobs[render_id] = future
            wait = prefer_wait(request.headers.get("prefer"))
            try:
                answer = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), wait)
            except TimeoutError:
                url = f"/v1/renders/{render_id}"
                return JSONResponse(
                    {"id": render_id, "status": "running", "url": url, "deliverables": []},
                    status_code=202,
                    headers={"Location": url, "Preference-Applied": f"wait={wait:g}"},
                )
            return JSONResponse(
                answer, headers={"Location": f"/v1/renders/{render_id}", **server_timing(answer.get("timings", {}))}
            )

        return await api.idempotent(request, token, body, handle)

    async def get_render(request: Request) -> Response:
        api.authorize(request, "read")
        render_id = request.path_params["id"]
        answer = api.job_answer(render_id) if ID_RE.fullmatch(render_id) else None
        if answer is None:
            raise ApiProblem("not-found", "no such render")
        return JSONResponse(answer)

    async def get_file(request: Request) -> Response:
        api.authorize(request, "read")
        sha = request.path_params["sha256"]
        if SHA_RE.fullmatch(sha) is None:
            raise ApiProblem("not-found", "not a sha256 (64 lowercase hex digits)")
        known = api.renderer.files.get(sha)  # rendered here: no catalog query
        path = home.inside(known) if known else await asyncio.to_thread(_published_path, home, sha)
        if path is None:
            raise ApiProblem("not-found", "no published or rendered file has this sha256")
        data = path.read_bytes()
        headers = {"Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{sha}"'}
        return Response(data, media_type=_media_type(data), headers=headers)

    async def put_brief(request: Request) -> Response:
        from asset_pipeline.api.batch import put_brief as write_brief

        token = api.authorize(request, "runs")
        campaign = request.path_params["campaign"]
        body = await read_body(request)
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()

        async def handle() -> Response:
            try:
                answer = await asyncio.to_thread(write_brief, api.home, campaign, body, kind)
            except (InputError, HomePathError) as exc:
                raise _input_problem(exc) from None
            return JSONResponse(answer)

        return await api.idempotent(request, token, body, handle)

    async def create_run(request: Request) -> Response:
        token = api.authorize(request, "runs")
        campaign = request.path_params["campaign"]
        body = await read_body(request)

        async def handle() -> Response:
            try:
                answer = await asyncio.to_thread(api.runs.start, campaign)
            except (InputError, HomePathError) as exc:
                raise _input_problem(exc) from None
            return JSONResponse(answer, status_code=202, headers={"Location": answer["url"]})

        return await api.idempotent(request, token, body, handle)

    async def get_run(request: Request) -> Response:
        api.authorize(request, "read")
        return JSONResponse(await asyncio.to_thread(api.runs.status, request.path_params["id"]))

    async def get_campaign(request: Request) -> Response:
        from asset_pipeline.api.batch import manifest

        api.authorize(request, "read")
        return JSONResponse(await asyncio.to_thread(manifest, api.home, request.path_params["campaign"]))

    async def create_webhook(request: Request) -> Response:
        token = api.authorize(request, "admin")
        body = await read_body(request)

        async def handle() -> Response:
            try:
                answer = api.webhooks.register(parse_json(body))
            except (InputError, HomePathError) as exc:
                raise _input_problem(exc) from None
            return JSONResponse(answer, status_code=201)

        return await api.idempotent(request, token, body, handle)

    async def deliveries(request: Request) -> Response:
        api.authorize(request, "admin")
        return JSONResponse(api.webhooks.deliveries(request.path_params["id"]))

    async def not_found(request: Request, exc: HTTPException) -> Response:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "bad-request")
        return problem_response(ApiProblem(slug, exc.detail or TYPES[slug][1], status=exc.status_code))

    async def api_problem(request: Request, exc: ApiProblem) -> Response:
        return problem_response(exc)

    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)  # the server's log only
        return problem_response(ApiProblem("internal", "the server failed; its log has the details"))

    routes = [
        Route("/openapi.json", openapi_json),
        Route("/docs", docs),
        Route("/v1/renders", create_render, methods=["POST"]),
        Route("/v1/renders/{id}", get_render),
        Route("/v1/files/{sha256}", get_file),
        Route("/v1/briefs/{campaign}", put_brief, methods=["PUT"]),
        Route("/v1/campaigns/{campaign}/runs", create_run, methods=["POST"]),
        Route("/v1/runs/{id}", get_run),
        Route("/v1/campaigns/{campaign}", get_campaign),
        Route("/v1/webhooks", create_webhook, methods=["POST"]),
        Route("/v1/webhooks/{id}/deliveries", deliveries),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        api.webhooks.start()  # resumes what the outbox still holds
        threading.Thread(target=api.renderer.warm_up, name="api-warm-up", daemon=True).start()
        try:
            yield
        finally:
            api.webhooks.stop()
            for queue in api.queues.values():
                queue.shutdown()

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: not_found, ApiProblem: api_problem, Exception: internal},
        lifespan=lifespan,
    )
    app.state.api = api
    return app


def _published_path(home: Home, sha: str):
    """The file of a published (batch) or rendered (API) file with this sha256, or None."""
    from asset_pipeline.storage.catalog import query

    _, rows = query(home, f"SELECT path FROM files WHERE sha256 = '{sha}' LIMIT 1")  # sha matched [0-9a-f]{{64}}
    if not rows:
        return None
    try:
        path = home.inside(rows[0][0])
    except ValueError:
        return None
    return path if path.is_file() else None


def server_timing(timings: dict[str, float]) -> dict[str, str]:
    """The render's stage timings as a W3C Server-Timing header (milliseconds), which browsers' and
    HTTP clients' tools show beside the request."""
    if not timings:
        return {}
    return {"Server-Timing": ", ".join(f"{stage};dur={seconds * 1000:.0f}" for stage, seconds in timings.items())}


def serve(home: Home, host: str, port: int, queue: int = QUEUES["renders"][1]) -> None:
    """Run the API with uvicorn until interrupted, over the home's Dagster instance."""
    import uvicorn

    from asset_pipeline.models.generation import set_max_loaded
    from asset_pipeline.orchestration.instance import open_instance

    set_max_loaded(2)  # the real-time route's model and one more stay warm (least recently used out)
    instance = open_instance(home)
    config = uvicorn.Config(
        create_app(home, instance, {name: (workers, queue) for name, (workers, _) in QUEUES.items()}),
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        timeout_keep_alive=5,  # an idle connection is closed: slow clients hold no worker
        h11_max_incomplete_event_size=16 * 1024,  # headers beyond 16 KB are refused
        limit_concurrency=64,  # past this many connections, 503 at once instead of exhaustion
    )
    uvicorn.Server(config).run()
