"""Adding a source from the web pages, for signed-in editors: upload a document (text, HTML or
PDF) with its title, publisher and date. The same path as `POST /api/v1/sources`: the same size
limit, the same reading of the file and the same checks; the form carries the session's CSRF
token, and an invalid one comes back with each finding beside its field, nothing written."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cooptrack.errors import AlreadyExists, CooptrackError, InvalidInput
from cooptrack.findings import Finding
from cooptrack.services.jobs import safe_filename
from cooptrack.services.sources import KINDS, SourceSpec
from cooptrack.web.api_write import MB, read_limited, source_limit, store_document, too_large
from cooptrack.web.context import store_of
from cooptrack.web.pages_base import render
from cooptrack.web.pages_edit import signed_in
from cooptrack.web.sessions import check_csrf

router = APIRouter(include_in_schema=False)

# The form's text fields, in order (the file comes first).
FIELDS = ("title", "code", "publisher", "url", "published", "language", "kind", "credit", "note")
# How the services name a field in a finding -> the form's field.
LABELS = {"title": "title", "source id": "code", "publisher": "publisher", "url": "url", "published": "published",
          "language": "language", "kind": "kind", "credit": "credit", "file": "file"}
MULTIPART_OVERHEAD = 64 * 1024  # the form's other fields and boundaries, on top of the file


def _page(request: Request, status: int = 200, values: dict[str, str] | None = None,
          errors: dict[str, list[str]] | None = None, loose: list[str] | None = None,
          existing: dict[str, object] | None = None) -> Response:
    return render(request, "source_form.html", status=status, values=values or dict.fromkeys(FIELDS, ""),
                  errors=errors or {}, loose=loose or [], existing=existing, kinds=KINDS,
                  limit_mb=max(1, source_limit() // MB))


def _placed(exc: CooptrackError) -> tuple[dict[str, list[str]], list[str]]:
    """Each finding beside its field; a refused file (too large, wrong type) beside the file, a
    taken id beside the id."""
    findings: list[Finding] = list(getattr(exc, "findings", []) or [])
    if not findings:
        field = "code" if isinstance(exc, AlreadyExists) else "file"
        return {field: [exc.message]}, []
    placed: dict[str, list[str]] = {}
    loose: list[str] = []
    for f in findings:
        name = LABELS.get((f.field or "").strip().lower())
        if name:
            placed.setdefault(name, []).append(f.message)
        else:
            loose.append(f.message)
    return placed, loose


async def _chunks(file: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await file.read(1 << 20):
        yield chunk


@router.get("/sources/new")
def source_form(request: Request) -> Response:
    signed_in(request, "edit")
    return _page(request)


@router.post("/sources/new")
async def source_save(request: Request) -> Response:
    actor = signed_in(request, "edit")
    limit = source_limit()
    values = dict.fromkeys(FIELDS, "")
    try:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
            raise too_large(limit)
        form = await request.form()
        check_csrf(request, str(form.get("csrf", "")))
        values = {f: str(form.get(f, "")).strip() for f in FIELDS}
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            message = "choose the document to upload (a text, HTML or PDF file)"
            raise InvalidInput(message, [Finding("no_file", message, field="file")])
        data = await read_limited(_chunks(file), limit)
        spec = SourceSpec(title=values["title"], code=values["code"] or None, publisher=values["publisher"] or None,
                          url=values["url"] or None, published=values["published"] or None,
                          language=values["language"] or None, kind=values["kind"] or None,
                          credit=values["credit"] or None, note=values["note"] or None)
        detail, _version, new = await run_in_threadpool(
            store_document, store_of(request), actor, getattr(request.state, "request_id", None), spec, data,
            safe_filename(file.filename))
    except CooptrackError as exc:
        if exc.http_status in (401, 403):
            raise
        errors, loose = _placed(exc)
        return _page(request, exc.http_status, values, errors, loose)
    if not new:
        return _page(request, values=values, existing=detail)
    return RedirectResponse(f"/sources/{detail['id']}", status_code=303)
