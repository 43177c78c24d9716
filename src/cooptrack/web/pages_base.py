"""What every page shares: the Jinja2 environments (one per locale, its catalog installed, so
concurrent requests in different languages never share state), rendering, safe JSON for the
charts, query strings, and the error page."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from cooptrack.web.i18n import LANGUAGE_NAMES, LOCALES, formatter, locale_of, translations

log = logging.getLogger("cooptrack.web")
TEMPLATES = Path(__file__).parent / "templates"
NAV = (("home", "/"), ("projects", "/projects"), ("sources", "/sources"), ("organisations", "/organisations"),
       ("claims", "/claims"), ("conflicts", "/conflicts"))


@cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True, lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.tests["longer"] = lambda value, n: len(value) > n
    env.globals.update(formatter(locale).helpers())
    env.globals.update(locale=locale, LOCALES=LOCALES, LANGUAGE_NAMES=LANGUAGE_NAMES, NAV=NAV, qs=qs)
    return env


def current_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    locale = locale_of(request)
    page = environment(locale).get_template(template).render(
        request=request, here=current_path(request), path=request.url.path, **context)
    response = HTMLResponse(page, status_code=status)
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["Content-Language"] = locale
    return response


def chart_json(data: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` escaped as
    unicode escapes so no text in the data can close the script element."""
    text = json.dumps(data, ensure_ascii=False, default=_plain, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def qs(params: Mapping[str, Any], **changes: Any) -> str:
    """A query string from ``params`` with ``changes`` applied; empty values left out, lists
    repeated (``status=a&status=b``)."""
    merged = {**params, **changes}
    pairs: list[tuple[str, str]] = []
    for key, value in merged.items():
        values: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, str(v)) for v in values if v is not None and str(v) != "")
    return urlencode(pairs)


def safe_next(target: str | None) -> str:
    """A same-site relative path to go back to; anything else (``//evil``, ``https://...``,
    backslashes that browsers read as slashes) falls back to ``/``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 0x20 or ch == "\\" for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def error_page(request: Request, status: int, body: dict[str, Any]) -> Response:
    error = body.get("error", {})
    try:
        return render(request, "error.html", status=status, status_code=status,
                      message=error.get("message", ""), parameter=error.get("parameter"),
                      request_id=body.get("request_id"))
    except Exception:  # the error page must never fail in turn
        log.exception("the error page failed to render")
        return HTMLResponse(f"<!doctype html><title>{status}</title><h1 data-testid=error-status>{status}</h1>"
                            f"<p>{escape(error.get('message', ''))}</p><p><a href=\"/\">Home</a></p>",
                            status_code=status)
