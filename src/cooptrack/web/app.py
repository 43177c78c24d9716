"""The web application: the read API under /api/v1, the pages, static files (plotly.js from the
installed plotly package: no CDN), one error envelope for the API and one error page for
people."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cooptrack.errors import CooptrackError, StaleVersion, StoreUnavailable
from cooptrack.findings import Finding
from cooptrack.services.jobs import mark_interrupted
from cooptrack.store import Store
from cooptrack.store.db import pool_size
from cooptrack.web import (
    api,
    api_imports,
    api_write,
    pages,
    pages_auth,
    pages_edit,
    pages_forms,
    pages_imports,
    pages_organisations,
    pages_sources,
)
from cooptrack.web.auth import VerifiedTokens
from cooptrack.web.cache import IN_ROUTE, CachedReads, Memo, ResponseCache
from cooptrack.web.errors import BAD_PARAMETER, error_body, from_exception
from cooptrack.web.sessions import COOKIE as SESSION_COOKIE
from cooptrack.web.sessions import LoginThrottle, Sessions, TooManyAttempts

log = logging.getLogger("cooptrack.web")
access = logging.getLogger("cooptrack.web.access")
STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(store: Store, *, public_read: bool, read_threads: bool | None = None) -> FastAPI:
    """The application for ``store``. ``public_read``: anonymous users may read (and nothing
    else); without it every request must be signed in. ``read_threads``: the hot read routes run
    in the thread pool (True) or on the event loop's thread (False; see web/context.py's in_read);
    by default as COOPTRACK_READ_THREADS says (on unless it is "off")."""
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Requests run at once in this process's threads: no more than its pooled connections.
        anyio.to_thread.current_default_thread_limiter().total_tokens = pool_size()
        yield
        app.state.import_pool.shutdown(wait=True)
        app.state.cache.version.close()

    app = FastAPI(
        lifespan=lifespan,
        title="cooptrack",
        summary="Intergovernmental economic cooperation programmes: projects, indicators, targets, evidence.",
        version=_version(),
        docs_url="/docs", redoc_url=None, openapi_url="/api/v1/openapi.json",
    )
    app.state.store = store
    app.state.public_read = public_read
    app.state.read_threads = (read_threads if read_threads is not None
                              else os.environ.get("COOPTRACK_READ_THREADS", "on").strip().lower() != "off")
    app.state.tokens = VerifiedTokens()
    app.state.sessions = Sessions()
    app.state.throttle = LoginThrottle()
    app.state.import_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cooptrack-import")
    app.state.job_progress = {}
    # COOPTRACK_RESPONSE_CACHE=off computes every answer afresh (to measure, or to rule the cache out).
    caching = os.environ.get("COOPTRACK_RESPONSE_CACHE", "on").lower() not in ("off", "0", "no")
    app.state.cache = ResponseCache(store, enabled=caching)
    app.state.memo = Memo(app.state.cache.version, enabled=caching)
    mark_interrupted(store)

    app.include_router(api.router)
    app.include_router(api_write.router)
    app.include_router(pages_sources.router)  # before pages: /sources/new is not a source
    app.include_router(api_imports.router)
    app.include_router(pages_auth.router)
    app.include_router(pages_edit.router)
    app.include_router(pages_forms.router)
    app.include_router(pages_imports.router)
    app.include_router(pages_organisations.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(RequestEnvelope)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.exception_handler(CooptrackError)
    async def cooptrack_error(request: Request, exc: CooptrackError) -> Response:
        status, body = from_exception(exc, _rid(request))
        response = _respond(request, status, body)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="cooptrack"'
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(StaleDataError)
    async def lost_race(request: Request, exc: StaleDataError) -> Response:
        # Another writer changed the row between our read and our write: the same as a stale If-Match.
        status, body = from_exception(StaleVersion("the record was changed by someone else meanwhile; "
                                                   "fetch it again and reapply your change"), _rid(request))
        return _respond(request, status, body)

    @app.exception_handler(OperationalError)
    async def store_down(request: Request, exc: OperationalError) -> Response:
        log.warning("database error: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        status, body = from_exception(StoreUnavailable("the database is unavailable or busy; try again shortly"),
                                      _rid(request))
        response = _respond(request, status, body)
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        # A malformed query or path parameter is a 400 naming it; a request body that does not hold
        # what the endpoint documents is a 422 with a finding per field.
        findings = []
        in_body = False
        for e in exc.errors():
            where = e.get("loc", ())
            in_body = in_body or (bool(where) and where[0] == "body")
            loc = [str(x) for x in where if x not in ("query", "path", "body", "header")]
            name = ".".join(loc) or "request body"
            value = e.get("input")
            findings.append(Finding("invalid" if in_body else BAD_PARAMETER, f"{name}: {e.get('msg', 'invalid')}",
                                    field=name, value=None if value is None or isinstance(value, dict | list)
                                    else str(value)[:200]))
        first = findings[0]
        if in_body:
            body = error_body(422, "invalid_input", f"the request body is invalid: {first.message}"
                              + (f" (and {len(findings) - 1} more)" if len(findings) > 1 else "")
                              + "; nothing was written", findings, None, _rid(request))
            return _respond(request, 422, body)
        body = error_body(400, BAD_PARAMETER, f"parameter {first.field} is malformed ({first.message})", findings,
                          first.field, _rid(request))
        return _respond(request, 400, body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = "not_found" if exc.status_code == 404 else "method_not_allowed" if exc.status_code == 405 else "error"
        message = (f"no page or endpoint at {request.url.path}" if exc.status_code == 404 else str(exc.detail))
        return _respond(request, exc.status_code, error_body(exc.status_code, code, message, None, None, _rid(request)))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        body = error_body(500, "internal_error", "an unexpected error occurred; it has been logged "
                          f"with request id {_rid(request)}", None, None, _rid(request))
        return _respond(request, 500, body)

    return app


def serve_cached(app: FastAPI) -> Any:
    """The application with cached anonymous reads answered in front of it (see CachedReads)."""

    def logged(path: str, rid: str) -> None:
        access.info("request", extra={"request_id": rid, "method": "GET", "path": path, "status": 200,
                                      "ms": 0.0, "actor": "anonymous", "cache": "hit"})

    return CachedReads(app, app.state.cache, app.state.public_read, logged)


class RequestEnvelope:
    """Around every HTTP request (plain ASGI: no extra task or stream per request): its id, the
    caller's when plain (letters, digits, - and _; safe in logs), else a new one, on request.state
    and in the X-Request-ID header; a NUL character in a query parameter refused (400 naming it: no
    database stores it); read API answers served from the response cache; one access log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        given = request.headers.get("x-request-id", "")
        ok = 0 < len(given) <= 64 and all(c.isalnum() or c in "-_" for c in given)
        rid = request.state.request_id = given if ok else uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
            await send(message)

        nul = next((name for name, value in request.query_params.multi_items() if "\x00" in name + value), None)
        if nul is not None:
            message = f"parameter {nul!r} contains a NUL character; remove it"
            field = nul.replace("\x00", "")
            await _respond(request, 400, error_body(400, BAD_PARAMETER, message, [
                Finding(BAD_PARAMETER, message, field=field)], field, rid))(scope, receive, send_with_id)
        else:
            await _cached(request, self.app, send_with_id)
        principal = getattr(request.state, "principal", None)
        access.info("request", extra={
            "request_id": rid, "method": request.method, "path": request.url.path, "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 1), "actor": principal.name if principal else None})


async def _cached(request: Request, app: ASGIApp, send: Send) -> None:
    """Serve a read API answer from the cache when the data it reads has not changed since it was
    computed (who may read is checked first, as for any request); else let ``app`` answer, and
    keep a 200. The hot read routes do this themselves (IN_ROUTE, web/context.py's in_read)."""
    scope, receive = request.scope, request.receive
    cache: ResponseCache = request.app.state.cache
    path = request.url.path
    if request.method != "GET" or not cache.cacheable(path) or IN_ROUTE.fullmatch(path):
        await app(scope, receive, send)
        return
    try:
        version = await run_in_threadpool(_version_for_reader, request, path)
    except CooptrackError as exc:
        status, error = from_exception(exc, _rid(request))
        refused = _respond(request, status, error)
        if status == 401:
            refused.headers["WWW-Authenticate"] = 'Bearer realm="cooptrack"'
        await refused(scope, receive, send)
        return
    key = f"{path}?{request.url.query}"
    hit, how = cache.get(key, version), "hit"
    shared = cache.shared.enabled and cache.shared.wanted(path)
    if hit is None and shared:
        hit, how = await run_in_threadpool(cache.shared.get, key, version), "shared"
        if hit is not None:
            cache.put(key, version, *hit)
    if hit is not None:
        body, headers = hit
        await Response(body, media_type="application/json", headers={**headers, "X-Cache": how})(scope, receive, send)
        return
    messages: list[Message] = []

    async def keep(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, keep)
    start = messages[0]
    if start["status"] != 200:
        for message in messages:
            await send(message)
        return
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    kept = {k.decode("latin-1"): v.decode("latin-1") for k, v in start.get("headers", ()) if k.lower() == b"etag"}
    cache.put(key, version, body, kept)
    if shared:
        await run_in_threadpool(cache.shared.put, key, version, body, kept)
    await Response(body, status_code=200, media_type="application/json",
                   headers={**kept, "X-Cache": "miss"})(scope, receive, send)


def _version_for_reader(request: Request, path: str) -> str:
    """In one thread and (on PostgreSQL) one transaction: who asks, refused unless allowed to read
    (remembered on the request for the route), and the version of what ``path`` reads."""
    from cooptrack.services.context import Context
    from cooptrack.web.auth import check_allowed
    from cooptrack.web.cache import DataVersion, reads_of
    from cooptrack.web.context import DataTokens, identify

    cache: ResponseCache = request.app.state.cache
    public_read = request.app.state.public_read
    if public_read and "authorization" not in request.headers and SESSION_COOKIE not in request.cookies:
        return cache.version_for(path)
    with request.app.state.store.read(transaction=False) as session:
        tokens = DataTokens(request, session)  # read once: for the token check and the version
        who = identify(request, Context(session, actor="anonymous", tokens=tokens))
        check_allowed(who, "read", public_read)
        return DataVersion.of(reads_of(path), tokens())


def from_environment() -> Any:
    """The app as `cooptrack serve --workers N` starts it in each worker process: the database
    from COOPTRACK_DATABASE_URL, public reading from COOPTRACK_PUBLIC_READ=1."""
    from cooptrack.config import load_settings
    from cooptrack.web import logs

    logs.configure(os.environ.get("COOPTRACK_LOG_LEVEL", "info"))
    store = Store(load_settings().database_url)
    store.check()
    return serve_cached(create_app(store, public_read=os.environ.get("COOPTRACK_PUBLIC_READ") == "1"))


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _respond(request: Request, status: int, body: dict[str, Any]) -> Response:
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(body, status_code=status)
    return pages.error_page(request, status, body)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cooptrack")
    except PackageNotFoundError:
        return "0"
