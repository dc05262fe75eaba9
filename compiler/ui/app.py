"""The dashboard's web app (Starlette): a versioned, read-only JSON API under /api/v1 and a static front end.

Only GET and HEAD are served; any other method is a JSON 405. With a token (an exposed `--host`) every
request needs it: `?token=` (which sets a cookie), the cookie, or `Authorization: Bearer`; else JSON 401.
"""

from __future__ import annotations

import contextlib
import hmac
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..diagnostics import did_you_mean
from . import openapi
from .monitoring import Sampler, source_of
from .registry_view import RegistrySource, history_view, registry_view
from .snapshot import read_snapshot

STATIC = Path(__file__).parent / "static"
COOKIE = "modelctl_ui_token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
API = "/api/v1"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


class SnapshotCache:
    """One workspace read shared by every request (a page's requests, the periodic refresh).

    Older than `ttl` seconds, the snapshot is still served while one background thread reads a new one
    (stale-while-revalidate): a page never waits for a compile except the very first.
    """

    def __init__(self, root: Path, ttl: float = 3.0, read: Callable[[Path], dict] = read_snapshot) -> None:
        self.root, self.ttl, self._read = root, ttl, read
        self._lock = threading.Lock()
        self._value: dict | None = None
        self._at = 0.0
        self._refreshing = False

    def get(self) -> dict:
        with self._lock:
            if self._value is None:
                self._store(self._read(self.root))
                assert self._value is not None
                return self._value
            if time.monotonic() - self._at > self.ttl and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="modelctl-ui-refresh", daemon=True).start()
            return self._value

    def _refresh(self) -> None:
        try:
            value = self._read(self.root)
        except Exception as exc:  # noqa: BLE001 - keep serving the last good read, and say why
            value = {**(self._value or {}), "problems": [{"location": None, "message": f"refresh failed: {exc}"}]}
        with self._lock:
            self._store(value)
            self._refreshing = False

    def _store(self, value: dict) -> None:
        self._value, self._at = value, time.monotonic()
        value["readAt"] = time.time()


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


class Guard(BaseHTTPMiddleware):
    """Read-only methods, the token when one is set, and the security headers on every response."""

    def __init__(self, app: Any, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.method not in ("GET", "HEAD"):
            response: Response = _json({"error": f"method {request.method} not allowed: the UI is read-only"}, 405)
            response.headers["Allow"] = "GET, HEAD"
            return _secure(response)
        if self.token is None and request.url.hostname not in LOOPBACK_NAMES:
            # bound to loopback without a token: a page of another site that made its name point here
            # (DNS rebinding) sends its own Host; only the loopback names are answered
            return _secure(_json({"error": f"host {request.url.hostname!r} refused: open http://127.0.0.1/"}, 403))
        from_query = request.query_params.get("token")
        if self.token and not self._authorized(request, from_query):
            return _secure(_json({"error": "unauthorized: open the URL with ?token=… that modelctl ui printed"}, 401))
        if self.token and from_query and request.url.path == "/":
            # the page itself: set the cookie and drop the token from the address bar (and the history)
            response = RedirectResponse("/", status_code=303)
        else:
            response = await call_next(request)
        if self.token and from_query:
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        return _secure(response)

    def _authorized(self, request: Request, from_query: str | None) -> bool:
        header = request.headers.get("authorization", "")
        offered = [
            from_query,
            request.cookies.get(COOKIE),
            header[7:] if header.lower().startswith("bearer ") else None,
        ]
        assert self.token is not None
        return any(o is not None and hmac.compare_digest(o.encode(), self.token.encode()) for o in offered)


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def create_app(
    root: Path,
    *,
    token: str | None = None,
    baseline: Path | None = None,
    ttl: float = 3.0,
    sample_interval: float = 5.0,
) -> Starlette:
    root = Path(root).resolve()
    cache = SnapshotCache(root, ttl)
    sampler = Sampler(sample_interval, baseline)
    registry_source = RegistrySource(root)

    def snapshot() -> dict:
        return cache.get()

    def deployment(name: str) -> dict:
        snap = snapshot()
        found = [n for n in snap.get("nodes", []) if n["kind"] == "Deployment"]
        for n in found:
            if n["name"] == name:
                return n
        hint = did_you_mean(name, [n["name"] for n in found]) or ""
        raise ApiError(
            404, f"no deployment named {name!r} in the repo {hint}".rstrip(), known=[n["name"] for n in found]
        )

    def workspace(_: Request) -> JSONResponse:
        return _json(snapshot())

    def graph(_: Request) -> JSONResponse:
        snap = snapshot()
        nodes = snap.get("nodes", [])
        ids = {n["id"] for n in nodes}
        edges = [{"source": p, "target": n["id"]} for n in nodes for p in n.get("parents", []) if p in ids]
        keys = ("workspace", "root", "targets", "problems", "registry", "git")
        return _json({**{k: snap.get(k) for k in keys}, "nodes": nodes, "edges": edges})

    def of_kind(kind: str) -> Callable[[Request], JSONResponse]:
        def handler(_: Request) -> JSONResponse:
            snap = snapshot()
            keys = ("workspace", "root", "targets", "problems", "registry")
            return _json(
                {**{k: snap.get(k) for k in keys}, "items": [n for n in snap.get("nodes", []) if n["kind"] == kind]}
            )

        return handler

    def deployment_detail(request: Request) -> JSONResponse:
        from .details import recent_activity

        node = deployment(request.path_params["name"])
        snap = snapshot()
        return _json(
            {
                "deployment": node,
                "activity": recent_activity(root, snap["workspace"], node),
                "history": history_view(registry_source, limit=20, resource=node["id"])["actions"],
            }
        )

    def registry(_: Request) -> JSONResponse:
        return _json(registry_view(registry_source))

    def history(request: Request) -> JSONResponse:
        limit = _int(request, "limit", 200, 1, 1000)
        return _json(history_view(registry_source, limit=limit, resource=request.query_params.get("resource")))

    def monitoring(request: Request) -> JSONResponse:
        from ..graph import DeploymentNode
        from ..pipeline import compile_repo

        node = deployment(request.path_params["name"])
        if not sampler.watching(node["name"], node.get("url")):  # the first look: where its data is
            graph_node = compile_repo(root).require().nodes[node["id"]]
            assert isinstance(graph_node, DeploymentNode)
            source = source_of(root, graph_node, node.get("url"), snapshot()["workspace"])
            if isinstance(source, str):
                return _json({"deployment": node["name"], "points": {}, "error": source, "drift": None})
            sampler.watch(node["name"], source)
        return _json(sampler.report(node["name"], request.query_params.get("since", "1h")))

    def plan(_: Request) -> JSONResponse:
        snap = snapshot()
        keys = ("workspace", "root", "targets", "problems", "registry", "git")
        return _json({**{k: snap.get(k) for k in keys}, "plan": snap.get("plan"), "drift": snap.get("drift")})

    def pr_plan(request: Request) -> JSONResponse:
        import json

        from ..diagnostics import DiagnosticError
        from ..gitops.pr_plan import pr_plan as make_pr_plan
        from ..gitops.report import render_json, render_markdown

        base = request.query_params.get("base")
        head = request.query_params.get("head") or "HEAD"
        if not base:
            raise ApiError(400, "give the two revisions: ?base=REV&head=REV (head defaults to HEAD)")
        try:
            found = make_pr_plan(root, base, head)
        except DiagnosticError as err:
            raise ApiError(
                422, "a revision does not compile or does not exist", problems=[d.message for d in err.diagnostics]
            ) from None
        except Exception as exc:  # noqa: BLE001 - e.g. not a git repo: a 400 that says why
            raise ApiError(400, f"cannot compare {base}..{head}: {type(exc).__name__}: {exc}") from None
        return _json({"markdown": render_markdown(found), "plan": json.loads(render_json(found))})

    def spec(_: Request) -> JSONResponse:
        return _json(openapi.document())

    def index(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _secure(_json({"error": exc.message, **exc.extra}, exc.status))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _secure(_json({"error": exc.detail, "path": request.url.path}, exc.status_code))

    async def internal_error(_: Request, exc: Exception) -> Response:
        return _secure(_json({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500))

    routes = [
        Route("/", index),
        Route(f"{API}/workspace", workspace),
        Route(f"{API}/graph", graph),
        Route(f"{API}/deployments", of_kind("Deployment")),
        Route(f"{API}/deployments/{{name}}", deployment_detail),
        Route(f"{API}/endpoints", of_kind("Endpoint")),
        Route(f"{API}/registry", registry),
        Route(f"{API}/history", history),
        Route(f"{API}/monitoring/{{name}}", monitoring),
        Route(f"{API}/plan", plan),
        Route(f"{API}/plan/pr", pr_plan),
        Route(f"{API}/openapi.json", spec),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=token)],
        exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: internal_error},
        lifespan=_lifespan(sampler, cache),
    )
    app.state.cache = cache
    return app


def _lifespan(sampler: Sampler, cache: SnapshotCache) -> Callable[[Starlette], Any]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=cache.get, name="modelctl-ui-warm", daemon=True).start()  # the first read
        sampler.start()
        try:
            yield
        finally:
            sampler.stop()

    return lifespan


def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ApiError(400, f"{name} must be a whole number from {lo} to {hi}, not {raw!r}")
    return int(raw)
