"""The read API under /api/v1. Every route calls the same service function as the page that
shows the same thing (see pages.py), so the two cannot disagree."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from cooptrack.domain.money import check_amount
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.services import audit
from cooptrack.services.audit import search as audit_search
from cooptrack.services.browse import (
    MAX_PAGE_SIZE,
    ProjectQuery,
    claim_detail,
    claim_view,
    conflict_views,
    list_source_views,
    observation_views,
    programme_summaries,
    project_detail,
    search_projects,
    source_detail,
)
from cooptrack.services.claims import REVIEW_STATES, list_claims
from cooptrack.services.context import Context
from cooptrack.services.dashboard import programme_dashboard
from cooptrack.services.editing import programme_view, read_observation
from cooptrack.services.organisations import list_organisations, organisation_detail
from cooptrack.services.programmes import get_programme
from cooptrack.web.auth import check_allowed
from cooptrack.web.context import as_of_param, identify, in_read, int_param, read_context
from cooptrack.web.schemas import (
    ErrorEnvelope,
    ObservationPageOut,
    OrganisationOut,
    OrganisationRow,
    ProgrammeSummary,
    ProjectPageOut,
    RecordId,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "A malformed parameter; `error.parameter` names it."},
    401: {"model": ErrorEnvelope, "description": "Not signed in (a server without --public-read), or a bad token."},
    403: {"model": ErrorEnvelope, "description": "The role does not allow this."},
    404: {"model": ErrorEnvelope, "description": "No such programme, project, source, claim or organisation."},
    503: {"model": ErrorEnvelope, "description": "The database is unavailable."},
}

router = APIRouter(prefix="/api/v1", responses=ERRORS)


def _exact(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class JSON(JSONResponse):
    """Exact decimals as strings, dates as ISO strings, UTF-8 as is (as audit.jsonable writes them)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_exact, option=orjson.OPT_NON_STR_KEYS)


def next_link(request: Request, page: int, pages: int) -> str | None:
    if page >= pages:
        return None
    return str(request.url.include_query_params(page=page + 1))


def project_query(programme: str | None, status: list[str] | None, sector: str | None, country: str | None,
                  value_min: str | None, value_max: str | None, q: str | None, sort: str | None,
                  page: str | None, page_size: str | None) -> ProjectQuery:
    """The project filters as the API and the projects page take them (the same parameters)."""
    sort = (sort or "code").strip()
    return ProjectQuery(
        programme=programme or None, status=[s for s in status or [] if s], sector=sector or None,
        country=country or None, value_min=value_min, value_max=value_max, text=q,
        sort=sort.lstrip("-"), descending=sort.startswith("-"),
        page=int_param(page, "page", 1), page_size=int_param(page_size, "page_size", 50))


@router.get("/programmes", response_model=list[ProgrammeSummary], response_class=JSON,
            summary="Programmes with parties, period and headline figures")
def programmes(ctx: Context = Depends(read_context)) -> Any:
    return JSON(programme_summaries(ctx))


@router.get("/programmes/{code}/overview", response_class=JSON, summary="Where a programme stands, as of a date")
def overview(code: str, as_of: str | None = Query(None, description="YYYY-MM-DD: the state known on that date."),
             ctx: Context = Depends(read_context)) -> Any:
    """The dashboard's data: `programme` (header), `headline` (package, implemented, in execution,
    not started: count and USD beside the reported figure), `by_status` and `by_industry`
    buckets, `timeline` (status events, newest first), `series` (trade turnover, investment,
    enterprises), `trade_sections` (exports and imports by HS section, each direction),
    `targets` (baseline, target, latest, percent achieved, on track), `reported`,
    `rates_used`."""
    return JSON(programme_dashboard(ctx, code, as_of_param(as_of)))


@router.get("/projects", response_model=ProjectPageOut, response_class=JSON, summary="Projects, filtered and paged")
async def projects(
    request: Request,
    programme: str | None = Query(None, description="Programme id."),
    status: list[str] | None = Query(None, description="One or more statuses (repeat or comma-separate)."),
    sector: str | None = Query(None, description="DAC 5-digit sector or 3-digit category."),
    country: str | None = Query(None, description="Host or partner country (name or ISO code)."),
    value_min: str | None = Query(None, description="Minimum value in USD."),
    value_max: str | None = Query(None, description="Maximum value in USD."),
    q: str | None = Query(None, description="Text in the id, title or description."),
    sort: str | None = Query(None, description="code, title, status, status_date, value or programme; "
                                               "a leading '-' sorts descending."),
    page: str | None = Query(None, description="Page number, from 1."),
    page_size: str | None = Query(None, description="Projects per page, 1 to 500 (default 50)."),
) -> Any:
    query = project_query(programme, status, sector, country, value_min, value_max, q, sort, page, page_size)

    def work(ctx: Context) -> JSON:
        found = search_projects(ctx, query)
        return JSON(found.as_dict() | {"next": next_link(request, found.page, found.pages)})

    return await in_read(request, work)


@router.get("/projects/{code}", response_class=JSON, summary="A project with its money, participants, history, claims")
async def project(code: str, request: Request) -> Any:
    """The ETag header carries the project's version: send it back in If-Match to edit it."""

    def work(ctx: Context) -> JSON:
        detail = project_detail(ctx, code)
        return JSON(detail, headers={"ETag": f'"{detail["version"]}"'})

    return await in_read(request, work)


@router.get("/programmes/{code}", response_class=JSON, summary="A programme's own fields (with its ETag)")
def programme(code: str, ctx: Context = Depends(read_context)) -> Any:
    found = get_programme(ctx, code)
    return JSON(programme_view(found), headers={"ETag": f'"{found.version}"'})


@router.get("/observations/{observation_id}", response_class=JSON, summary="One observation (with its ETag)")
async def observation(observation_id: RecordId, request: Request) -> Any:
    def work(ctx: Context) -> JSON:
        found = read_observation(ctx, observation_id)
        return JSON(found, headers={"ETag": f'"{found["version"]}"'})

    return await in_read(request, work)


@router.get("/observations", response_model=ObservationPageOut, response_class=JSON,
            summary="Indicator observations, filtered and paged")
async def observations(
    request: Request,
    indicator: str | None = None, reporter: str | None = None, partner: str | None = None,
    hs_code: str | None = None, as_of: str | None = None,
    page: str | None = None, page_size: str | None = None,
) -> Any:
    number, size = int_param(page, "page", 1), int_param(page_size, "page_size", 100)
    day = as_of_param(as_of)

    def work(ctx: Context) -> JSON:
        items, total = observation_views(ctx, indicator, reporter, partner, hs_code, day, number, size)
        pages = max(1, -(-total // size))
        return JSON({"items": items, "total": total, "page": number, "page_size": size,
                     "next": next_link(request, number, pages)})

    return await in_read(request, work)


@router.get("/programmes/{code}/targets", response_class=JSON, summary="A programme's targets and progress")
def targets(code: str, as_of: str | None = None, ctx: Context = Depends(read_context)) -> Any:
    return JSON(programme_dashboard(ctx, code, as_of_param(as_of))["targets"])


@router.get("/sources", response_class=JSON, summary="Sources with their claim counts")
def sources(ctx: Context = Depends(read_context)) -> Any:
    return JSON(list_source_views(ctx))


@router.get("/sources/{code}", response_class=JSON, summary="A source: text cut into claim spans, and its claims")
def source(code: str, ctx: Context = Depends(read_context)) -> Any:
    """The ETag header carries the source's version: send it back in If-Match to edit it."""
    detail = source_detail(ctx, code)
    return JSON(detail, headers={"ETag": f'"{detail["version"]}"'})


@router.get("/organisations", response_model=list[OrganisationRow], response_class=JSON,
            summary="Organisations taking part in projects, with their project counts by role",
            responses={200: {"description": "Every organisation matching the filters, by name."}})
def organisations(
    search: str | None = Query(None, description="Text in the name, an alias or the IATI identifier, in any case."),
    country: str | None = Query(None, description="Country (name or ISO code)."),
    kind: str | None = Query(None, description="IATI OrganisationType code: 10 government, 40 multilateral, "
                                               "70 private sector, ..."),
    ctx: Context = Depends(read_context),
) -> Any:
    """An unknown country or kind answers 400 naming the parameter."""
    return JSON(list_organisations(ctx, search, country, kind))


@router.get("/organisations/{organisation_id}", response_model=OrganisationOut, response_class=JSON,
            summary="An organisation with the projects it takes part in (with its ETag)",
            responses={200: {"description": "The organisation; the ETag header carries its version."}})
def organisation(organisation_id: RecordId, ctx: Context = Depends(read_context)) -> Any:
    """The ETag header carries the organisation's version: send it back in If-Match to edit it."""
    detail = organisation_detail(ctx, organisation_id)
    return JSON(audit.jsonable(detail), headers={"ETag": f'"{detail["version"]}"'})


@router.get("/claims", response_class=JSON, summary="Claims (the review queue by default)")
def claims(programme: str | None = None,
           review: str = Query("pending", description=f"{', '.join(REVIEW_STATES)} or all."),
           source: str | None = Query(None, description="Source number."),
           limit: str | None = None, ctx: Context = Depends(read_context)) -> Any:
    if review != "all" and review not in REVIEW_STATES:
        message = f"review '{review}' is not one of {', '.join(REVIEW_STATES)} or all"
        raise InvalidInput(message, [Finding("bad_parameter", message, field="review", value=review)])
    found = list_claims(ctx, programme, None if review == "all" else review,
                        int_param(source, "source", 0) or None, None, int_param(limit, "limit", 200))
    return JSON([claim_view(c) for c in found])


@router.get("/claims/{claim_id}", response_class=JSON, summary="A claim with its quote in context")
def claim(claim_id: RecordId, ctx: Context = Depends(read_context)) -> Any:
    detail = claim_detail(ctx, claim_id)
    return JSON(detail, headers={"ETag": f'"{detail["version"]}"'})


@router.get("/conflicts", response_class=JSON, summary="Conflicting and discrepant claims, side by side")
def conflicts(programme: str | None = None,
              tolerance: str = Query("5", description="Percent above which two figures conflict."),
              ctx: Context = Depends(read_context)) -> Any:
    try:
        share = check_amount(tolerance, "tolerance") / 100
    except InvalidInput:
        message = f"tolerance '{tolerance}' is not a percent; write e.g. 5"
        raise InvalidInput(message, [Finding("bad_parameter", message, field="tolerance", value=tolerance)]) from None
    return JSON(conflict_views(ctx, programme, Decimal(share)))


@router.get("/audit", response_class=JSON, summary="The audit log: who changed what, when (signed-in users only)")
def audit_log(
    request: Request,
    entity: str | None = Query(None, description="programme, project, observation, claim, user, api_token, ..."),
    entity_id: str | None = None, actor: str | None = None, action: str | None = None,
    since: str | None = Query(None, description="YYYY-MM-DD, inclusive."),
    until: str | None = Query(None, description="YYYY-MM-DD, inclusive."),
    request_id: str | None = None, page: str | None = None, page_size: str | None = None,
    ctx: Context = Depends(read_context),
) -> Any:
    """Newest first. The log is append-only: no door edits or deletes it. Anonymous readers of a
    --public-read server do not see it."""
    check_allowed(identify(request, ctx), "read", public_read=False)
    number, size = int_param(page, "page", 1), int_param(page_size, "page_size", 50)
    if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        name, value = ("page", number) if number < 1 else ("page_size", size)
        message = f"{name} {value} is out of range (page from 1, page_size 1 to {MAX_PAGE_SIZE})"
        raise InvalidInput(message, [Finding("bad_parameter", message, field=name, value=str(value))])
    items, total = audit_search(ctx, entity, entity_id, actor, action, as_of_param(since, "since"),
                                as_of_param(until, "until"), request_id, number, size)
    pages = max(1, -(-total // size))
    return JSON({"items": items, "total": total, "page": number, "page_size": size,
                 "next": next_link(request, number, pages)})
