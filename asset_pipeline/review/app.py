"""`asset-pipeline review`: the reviewer's web app over the home (Starlette, Jinja2, uvicorn).

Routes (CONTRACT.md section 7):

- `GET /` the campaigns; `GET /campaigns/<campaign>` the review page (the gallery's grid,
  from the same templates, with approve / reject controls);
- `GET /api/campaigns/<campaign>` JSON: the manifest's deliverables with status and checks;
- `POST /api/approvals` JSON `{campaign, asset, variant, size, version, decision, comment}`,
  with `Authorization: Bearer <token>`, or the browser's session cookie and CSRF header; the
  token is the one printed at start-up (or `--token`), or an API token (`asset-pipeline tokens
  create --scope review`; `admin` serves too; `read` reads where reading needs a token);
- `GET /campaigns/<campaign>/files/<path>` the campaign's published files and thumbnails.

Security: the server binds loopback unless given a token (cli.py refuses otherwise). Every
write needs the token: as a Bearer header, or as the session cookie that opening the
printed link (`/?token=...`) sets (HttpOnly, SameSite=Strict) together with the CSRF token
the page carries, which a page on another origin can neither read nor send. A request whose
`Origin` (or `Sec-Fetch-Site`) says it came from another origin is refused with 403 before
anything else, and a `Host` header that is not this server's is refused too (DNS rebinding).
Off loopback, reading needs the token as well. Everything shown goes through the templates'
autoescape; decisions are written under the campaign's publication lock (stages/publish.py
`decide`): the server never opens the DuckDB catalog for writing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from asset_pipeline.api.tokens import TokenStore, bearer
from asset_pipeline.echo import shown
from asset_pipeline.home import Home, HomePathError
from asset_pipeline.locales import TAG_RE
from asset_pipeline.publishing.gallery import TEMPLATES, campaign_view, environment, render_campaign, style
from asset_pipeline.specs import is_identifier
from asset_pipeline.stages.publish import DecisionError, decide
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.storage.records import deliverable_key
from asset_pipeline.storage.tables import read_rows

COOKIE = "asset_pipeline_review"
SERVED = {".png", ".jpg", ".jpeg", ".webp", ".avif", ".json"}
IMMUTABLE = re.compile(r"(^|/)(thumbs/[^/]+|v\d+\.[a-z]+)$")  # content-named or versioned: never change
FIELDS = {"campaign", "asset", "variant", "size", "locale", "version", "decision", "comment", "by"}
REQUIRED = FIELDS - {"comment", "by", "locale"}  # locale: only for campaigns whose brief has locales
COMMENT_LIMIT = 2000
CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _derived(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


class Review:
    """The app's state: the home, the token and what is derived from it."""

    def __init__(self, home: Home, token: str, host: str = "127.0.0.1"):
        self.home, self.token, self.host = home, token, host
        self.session = _derived(token, "session")  # the cookie's value: the token itself never goes in a cookie
        self.csrf = _derived(token, "csrf")  # what the page carries, and the browser must send back
        self.open_reads = is_loopback(host)
        self.tokens = TokenStore(home)  # the API's tokens (`asset-pipeline tokens`): one scheme for both

    # ---------------------------------------------------------------- who may do what

    def accepts(self, token: str | None, scope: str = "review") -> bool:
        """The start-up token, or a stored API token with `scope` (or `review`, or `admin`)."""
        if token is None:
            return False
        if _same(token, self.token):
            return True
        record = self.tokens.verify(token)
        return record is not None and (record.allows(scope) or record.allows("review"))

    def bearer(self, request: Request, scope: str = "review") -> bool:
        return self.accepts(bearer(request.headers.get("authorization")), scope)

    def has_session(self, request: Request) -> bool:
        return _same(request.cookies.get(COOKIE), self.session)

    def foreign(self, request: Request) -> bool:
        """Whether the browser says the request came from a page on another origin."""
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            return True
        return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")

    def may_write(self, request: Request) -> bool:
        if self.foreign(request):
            return False
        if self.bearer(request):
            return True
        return self.has_session(request) and _same(request.headers.get("x-csrf-token"), self.csrf)

    def may_read(self, request: Request) -> bool:
        return self.open_reads or self.bearer(request, "read") or self.has_session(request)

    # ---------------------------------------------------------------- data

    def manifest(self, campaign: str) -> dict | None:
        if not is_identifier(campaign):
            return None
        try:
            return json.loads(self.home.inside("published", campaign, "manifest.json").read_bytes())
        except (FileNotFoundError, HomePathError, ValueError):
            return None

    def campaigns(self) -> list[dict]:
        found = []
        folder = self.home.published
        for path in sorted(folder.glob("*/manifest.json")) if folder.is_dir() else []:
            manifest = self.manifest(path.parent.name)
            if manifest is None:
                continue
            statuses = [e["status"] for e in manifest["deliverables"]]
            found.append(
                {
                    "campaign": shown(manifest["campaign"]),
                    "brand": shown(manifest.get("brand")),
                    **{s: statuses.count(s) for s in ("published", "pending", "rejected")},
                }
            )
        return found


def _secure(response: Response) -> Response:
    response.headers.update(
        {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",  # the start-up link carries the token
            "X-Frame-Options": "DENY",
        }
    )
    return response


def _refused(reason: str, status: int = 403) -> JSONResponse:
    return _secure(JSONResponse({"error": reason}, status_code=status))


def _login(review: Review, request: Request) -> Response | None:
    """`?token=...` (the link printed at start-up): set the session cookie and drop the token from the URL."""
    token = request.query_params.get("token")
    if token is None:
        return None
    if not review.accepts(token):
        return _refused("wrong token")
    response = RedirectResponse(request.url.path, status_code=303)
    response.set_cookie(COOKIE, review.session, httponly=True, samesite="strict", path="/")
    return _secure(response)


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def parse_decision(body: object) -> tuple[dict | None, str | None]:
    """(the decision, None) or (None, why the body is not one)."""
    if not isinstance(body, dict):
        return None, "the body must be a JSON object"
    unknown = sorted(set(body) - FIELDS)
    missing = sorted(REQUIRED - set(body))
    if unknown or missing:
        return None, "; ".join(
            [f"unknown field(s) {', '.join(map(shown, unknown))}"] * bool(unknown)
            + [f"missing field(s) {', '.join(missing)}"] * bool(missing)
        )
    for name in ("campaign", "asset"):
        if not isinstance(body[name], str) or not is_identifier(body[name]):
            return None, f"{name}: not an id"
    for name in ("variant", "version"):
        if not isinstance(body[name], int) or isinstance(body[name], bool) or body[name] < 1:
            return None, f"{name}: must be a whole number from 1"
    if not isinstance(body["size"], str) or not 0 < len(body["size"]) <= 64:
        return None, "size: not a size"
    locale = body.get("locale")
    if locale is not None and (not isinstance(locale, str) or TAG_RE.fullmatch(locale) is None):
        return None, "locale: not a BCP 47 tag such as de-DE"
    if body["decision"] not in ("approve", "reject"):
        return None, "decision: must be approve or reject"
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > COMMENT_LIMIT):
        return None, f"comment: a string of at most {COMMENT_LIMIT} characters"
    comment = comment.strip() if comment else None
    if body["decision"] == "reject" and not comment:
        return None, "comment: a rejection says why (the next run re-rolls the draft with it as the reason)"
    by = body.get("by")
    if by is not None and (not isinstance(by, str) or not 0 < len(by) <= 80 or not by.isprintable()):
        return None, "by: a name of at most 80 printable characters"
    return {
        "campaign": body["campaign"],
        "asset": body["asset"],
        "variant": body["variant"],
        "size": body["size"],
        "locale": locale,
        "version": body["version"],
        "decision": body["decision"],
        "comment": comment,
        "by": by or "reviewer",
    }, None


def _checks_by_deliverable(home: Home, campaign: str) -> dict[tuple, list[dict]]:
    renders = {deliverable_key(r): r["image_sha256"] for r in read_rows(home, "renders", campaign)}
    found: dict[tuple, list[dict]] = {}
    for c in read_rows(home, "checks", campaign):
        key = deliverable_key(c)
        if c["render_sha256"] == renders.get(key):
            found.setdefault(key, []).append({k: c[k] for k in ("check", "passed", "value", "detail")})
    return found


def create_app(home: Home, token: str, host: str = "127.0.0.1") -> Starlette:
    review = Review(home, token, host)
    store = ObjectStore(home)

    async def index(request: Request) -> Response:
        if (login := _login(review, request)) is not None:
            return login
        if not review.may_read(request):
            return _refused("open the link printed at start-up (it carries the token)")
        page = (
            environment()
            .get_template("campaigns.html")
            .render(campaigns=review.campaigns(), style=style(), home=shown(home.root, 200))
        )
        return _secure(HTMLResponse(page))

    async def campaign_page(request: Request) -> Response:
        if (login := _login(review, request)) is not None:
            return login
        if not review.may_read(request):
            return _refused("open the link printed at start-up (it carries the token)")
        campaign = request.path_params["campaign"]
        manifest = review.manifest(campaign)
        if manifest is None:
            return _secure(HTMLResponse("no such campaign", status_code=404))
        view = campaign_view(home, manifest, read_rows(home, "publications", campaign), store)
        page = render_campaign(view, base=f"/campaigns/{campaign}/files/", interactive=True, csrf=review.csrf)
        return _secure(HTMLResponse(page))

    async def campaign_file(request: Request) -> Response:
        if not review.may_read(request):
            return _refused("no session")
        campaign, path = request.path_params["campaign"], request.path_params["path"]
        if not is_identifier(campaign) or Path(path).suffix.lower() not in SERVED or "\\" in path:
            return Response(status_code=404)
        try:
            file = home.inside("published", campaign, *path.split("/"))
        except HomePathError:
            return Response(status_code=404)
        if home.inside("published", campaign) not in file.parents or not file.is_file():
            return Response(status_code=404)
        cache = "public, max-age=31536000, immutable" if IMMUTABLE.search(path) else "no-cache"
        return _secure(FileResponse(file, headers={"Cache-Control": cache}))

    async def campaign_json(request: Request) -> Response:
        if not review.may_read(request):
            return _refused("no session")
        campaign = request.path_params["campaign"]
        manifest = review.manifest(campaign)
        if manifest is None:
            return _refused(f"no campaign {shown(campaign)!r}", 404)
        checks = _checks_by_deliverable(home, campaign)
        deliverables = [
            dict(entry, checks=checks.get(deliverable_key(entry), [])) for entry in manifest["deliverables"]
        ]
        fields = ("campaign", "brand", "brand_hash", "brief_hash")
        return _secure(JSONResponse({**{k: manifest.get(k) for k in fields}, "deliverables": deliverables}))

    async def approvals(request: Request) -> Response:
        if not review.may_write(request):
            return _refused("a decision needs the token (Authorization: Bearer) or this app's own page")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _refused("the body is not JSON", 400)
        decision, problem = parse_decision(body)
        if problem:
            return _refused(problem, 400)
        try:
            row = decide(home, decision, store)
        except DecisionError as exc:
            return _refused(shown(exc, 300), exc.status)
        return _secure(JSONResponse({k: _iso(v) if k == "at" else v for k, v in row.items()}))

    async def script(request: Request) -> Response:
        return _secure(FileResponse(TEMPLATES / "review.js", media_type="text/javascript"))

    routes = [
        Route("/", index),
        Route("/campaigns/{campaign}", campaign_page),
        Route("/campaigns/{campaign}/files/{path:path}", campaign_file),
        Route("/api/campaigns/{campaign}", campaign_json),
        Route("/api/approvals", approvals, methods=["POST"]),
        Route("/static/review.js", script),
    ]
    # Bound to every interface, any name may reach it (reads need the token there); else only its own names.
    allowed = ["*"] if host in ("0.0.0.0", "::") else sorted({"127.0.0.1", "localhost", "::1", host})
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed)])


def serve(home: Home, token: str, host: str, port: int) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(home, token, host), host=host, port=port, log_level="warning", server_header=False)
