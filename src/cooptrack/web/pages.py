"""The HTML pages. Each page calls the same service function as the API route that returns the
same thing (see api.py), so a page and the API cannot disagree; this layer only chooses the
language, formats and renders.

    /                          programmes with their headline figures
    /programmes/{code}         the dashboard, ?as_of=YYYY-MM-DD          (pages_dashboard)
    /projects, /projects.csv, /projects.xlsx, /projects/{code}           (pages_projects)
    /sources, /sources/{id}, /claims, /conflicts                         (pages_evidence)
    /lang/{code}?next=...      remembers the language in a cookie
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.services.browse import programme_summaries
from cooptrack.services.context import Context
from cooptrack.web import pages_dashboard, pages_evidence, pages_projects
from cooptrack.web.context import read_context
from cooptrack.web.i18n import COOKIE, LOCALES
from cooptrack.web.pages_base import error_page, render, safe_next

__all__ = ["router", "error_page"]

router = APIRouter(include_in_schema=False)
ONE_YEAR = 365 * 24 * 3600


@router.get("/")
def home(request: Request, ctx: Context = Depends(read_context)) -> Response:
    return render(request, "home.html", programmes=programme_summaries(ctx))


@router.get("/lang/{code}")
def choose_language(request: Request, code: str, next: str | None = None) -> Response:
    if code not in LOCALES:
        message = f"language '{code}' is not offered; use one of {', '.join(LOCALES)}"
        raise InvalidInput(message, [Finding("bad_parameter", message, field="lang", value=code)])
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, code, max_age=ONE_YEAR, path="/", samesite="lax", httponly=True)
    return response


router.include_router(pages_dashboard.router)
router.include_router(pages_projects.router)
router.include_router(pages_evidence.router)
