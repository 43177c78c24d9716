"""Evidence pages: sources, a source's text with every claim's span highlighted, the review
queue, and conflicting claims side by side."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cooptrack.domain.money import check_amount
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.services.browse import claim_view, conflict_views, list_source_views, source_detail
from cooptrack.services.claims import REVIEW_STATES, list_claims
from cooptrack.services.context import Context
from cooptrack.web.context import int_param, read_context
from cooptrack.web.pages_base import render

router = APIRouter(include_in_schema=False)


def _bad(name: str, value: str, message: str) -> InvalidInput:
    return InvalidInput(message, [Finding("bad_parameter", message, field=name, value=value)])


@router.get("/sources")
def sources_page(request: Request, ctx: Context = Depends(read_context)) -> Response:
    return render(request, "sources.html", sources=list_source_views(ctx))


@router.get("/sources/{code}")
def source_page(request: Request, code: str, ctx: Context = Depends(read_context)) -> Response:
    return render(request, "source.html", s=source_detail(ctx, code))


@router.get("/claims")
def claims_page(request: Request, programme: str | None = None, review: str = "pending",
                source: str | None = None, limit: str | None = None,
                ctx: Context = Depends(read_context)) -> Response:
    review = review or "pending"
    if review != "all" and review not in REVIEW_STATES:
        raise _bad("review", review, f"review '{review}' is not one of {', '.join(REVIEW_STATES)} or all")
    found = list_claims(ctx, programme or None, None if review == "all" else review,
                        int_param(source, "source", 0) or None, None, int_param(limit, "limit", 200))
    return render(request, "claims.html", claims=[claim_view(c) for c in found], review=review,
                  programme=programme or "", source=source or "", states=REVIEW_STATES)


@router.get("/conflicts")
def conflicts_page(request: Request, programme: str | None = None, tolerance: str = "5",
                   ctx: Context = Depends(read_context)) -> Response:
    try:
        share = check_amount(tolerance, "tolerance") / 100
    except InvalidInput:
        raise _bad("tolerance", tolerance, f"tolerance '{tolerance}' is not a percent; write e.g. 5") from None
    return render(request, "conflicts.html", conflicts=conflict_views(ctx, programme or None, Decimal(share)),
                  programme=programme or "", tolerance=tolerance)
