"""The projects list (the API's filters, sort and paging, by the same parameter names), its
downloads as CSV and Excel (every page of the selection), and the project page."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from cooptrack.domain.status import Status
from cooptrack.formats.tabular import Value, write_csv, write_xlsx
from cooptrack.services.browse import MAX_PAGE_SIZE, ProjectQuery, programme_summaries, project_detail, search_projects
from cooptrack.services.context import Context
from cooptrack.services.overview import UNRECORDED
from cooptrack.web.api import project_query
from cooptrack.web.context import read_context
from cooptrack.web.pages_base import render
from cooptrack.web.pages_organisations import organisation_ids

router = APIRouter(include_in_schema=False)

STATUSES = [*(s.value for s in Status), UNRECORDED]
COLUMNS = ("code", "title", "programme", "industry", "status", "status_since", "host_country", "partner_country",
           "sectors", "value_amount", "value_currency", "value_date", "usd")
SORTABLE = (("code", "code"), ("title", "title"), ("programme", "programme"), ("status", "status"),
            ("status_date", "status_since"), ("value", "usd"))
FILTERS = ("programme", "status", "sector", "country", "value_min", "value_max", "q", "sort")


class ProjectFilters:
    """The project parameters of the request, as given (for links and the form)."""

    def __init__(self, programme: str | None = Query(None), status: list[str] | None = Query(None),
                 sector: str | None = Query(None), country: str | None = Query(None),
                 value_min: str | None = Query(None), value_max: str | None = Query(None),
                 q: str | None = Query(None), sort: str | None = Query(None), page: str | None = Query(None),
                 page_size: str | None = Query(None)) -> None:
        self.values: dict[str, Any] = {
            "programme": programme, "status": [s for s in status or [] if s], "sector": sector, "country": country,
            "value_min": value_min, "value_max": value_max, "q": q, "sort": sort, "page": page,
            "page_size": page_size}

    def query(self) -> ProjectQuery:
        v = self.values
        return project_query(v["programme"], v["status"], v["sector"], v["country"], v["value_min"], v["value_max"],
                             v["q"], v["sort"], v["page"], v["page_size"])

    def selection(self) -> dict[str, Any]:
        """The filters and sort without paging: what a download takes."""
        return {k: self.values[k] for k in FILTERS}


@router.get("/projects")
def projects_page(request: Request, filters: ProjectFilters = Depends(),
                  ctx: Context = Depends(read_context)) -> Response:
    query = filters.query()
    found = search_projects(ctx, query)
    params = filters.values
    keep = {k: v for k, v in params.items() if k != "page"}
    if query.page_size == 50:
        keep["page_size"] = None
    sort_key = ("-" if query.descending else "") + query.sort
    return render(request, "projects.html", found=found, params=params, keep=keep, sort_key=sort_key,
                  selection=filters.selection(), statuses=STATUSES, sortable=SORTABLE,
                  programmes=programme_summaries(ctx), pages=found.pages)


def selection_rows(ctx: Context, query: ProjectQuery) -> Iterator[list[Value]]:
    """Every project of the selection, page after page of the largest size."""
    page = 1
    while True:
        found = search_projects(ctx, replace(query, page=page, page_size=MAX_PAGE_SIZE))
        for p in found.items:
            value = p["value"] or {}
            yield [p["code"], p["title"], p["programme"], p["industry"], p["status"], p["status_since"],
                   p["host_country"], p["partner_country"], "; ".join(p["sectors"]), value.get("amount"),
                   value.get("currency"), value.get("value_date"), p["usd"]]
        if page >= found.pages:
            return
        page += 1


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


@router.get("/projects.csv")
def projects_csv(filters: ProjectFilters = Depends(), ctx: Context = Depends(read_context)) -> Response:
    query = filters.query()
    stream = io.StringIO()
    write_csv(stream, COLUMNS, selection_rows(ctx, query), bom=True)
    return Response(stream.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers=_attachment("projects.csv"))


@router.get("/projects.xlsx")
def projects_xlsx(filters: ProjectFilters = Depends(), ctx: Context = Depends(read_context)) -> Response:
    query = filters.query()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "projects.xlsx"
        write_xlsx(path, "projects", COLUMNS, selection_rows(ctx, query),
                   widths=(24, 48, 16, 24, 14, 12, 8, 8, 16, 18, 8, 12, 18))
        content = path.read_bytes()
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers=_attachment("projects.xlsx"))


@router.get("/projects/{code}")
def project_page(request: Request, code: str, ctx: Context = Depends(read_context)) -> Response:
    detail = project_detail(ctx, code)
    return render(request, "project.html", p=detail,
                  organisation_ids=organisation_ids(ctx, (x["name"] for x in detail["participants"])))
