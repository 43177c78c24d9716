"""The HTML pages (being built: see issue 5)."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)


def error_page(request: Request, status: int, body: dict[str, Any]) -> Response:
    message = html.escape(body["error"]["message"])
    return HTMLResponse(f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{message}</p>", status_code=status)
