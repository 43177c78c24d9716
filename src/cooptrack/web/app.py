"""The web application: the read API under /api/v1, the pages, static files (plotly.js from the
installed plotly package: no CDN), one error envelope for the API and one error page for
people."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cooptrack.errors import CooptrackError, StoreUnavailable
from cooptrack.findings import Finding
from cooptrack.store import Store
from cooptrack.web import api, pages
from cooptrack.web.errors import BAD_PARAMETER, error_body, from_exception

log = logging.getLogger("cooptrack.web")
STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(store: Store) -> FastAPI:
    app = FastAPI(
        title="cooptrack",
        summary="Intergovernmental economic cooperation programmes: projects, indicators, targets, evidence.",
        version=_version(),
        docs_url="/docs", redoc_url=None, openapi_url="/api/v1/openapi.json",
    )
    app.state.store = store

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        request.state.request_id = rid[:64]
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.exception_handler(CooptrackError)
    async def cooptrack_error(request: Request, exc: CooptrackError) -> Response:
        status, body = from_exception(exc, _rid(request))
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
        findings = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ()) if x not in ("query", "path", "body")]
            name = ".".join(loc) or "request"
            value = e.get("input")
            findings.append(Finding(BAD_PARAMETER, f"{name}: {e.get('msg', 'invalid')}", field=name,
                                    value=None if value is None else str(value)[:200]))
        first = findings[0]
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
