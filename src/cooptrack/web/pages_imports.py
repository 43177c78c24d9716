"""Importing from the web pages: upload a file (IATI, UN Comtrade, a spreadsheet of projects;
for admins, a full backup to restore), then follow its job until the findings report is there.
The same path as the API's uploads: the same limits, checks and import services. Admins also
find the link to download a backup here."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import UploadFile

from cooptrack.errors import CooptrackError, InvalidInput, TooLarge
from cooptrack.findings import Finding
from cooptrack.services.context import Context
from cooptrack.services.jobs import DATAPACKAGE, KINDS, JobInput, get_job, job_view, safe_filename
from cooptrack.services.users import allowed
from cooptrack.store.models import ImportJob
from cooptrack.web.api_imports import check_before_job, check_kind, check_may_import, launch, save_upload, upload_limit
from cooptrack.web.auth import ANONYMOUS, Principal
from cooptrack.web.context import store_of
from cooptrack.web.pages_base import render
from cooptrack.web.pages_edit import signed_in
from cooptrack.web.sessions import check_csrf

router = APIRouter(include_in_schema=False)


def _jobs(request: Request) -> list[dict[str, object]]:
    with store_of(request).read() as session:
        rows = session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(30))
        return [job_view(r, request.app.state.job_progress.get(r.id)) for r in rows]


def _who(request: Request) -> Principal:
    who: Principal = getattr(request.state, "principal", ANONYMOUS)
    return who


def _page(request: Request, status: int = 200, error: str | None = None) -> Response:
    """The page: the kinds this user may import (a backup to restore: admins only), and for an
    admin the link to download a backup."""
    admin = allowed(_who(request).role, "admin")
    kinds = [k for k in KINDS if k != DATAPACKAGE or admin]
    return render(request, "imports.html", status=status, jobs=_jobs(request), kinds=kinds, error=error,
                  admin=admin, limit_mb=upload_limit() // (1024 * 1024))


@router.get("/imports")
def imports_page(request: Request) -> Response:
    signed_in(request, "edit")
    return _page(request)


async def _chunks(file: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await file.read(1 << 20):
        yield chunk


@router.post("/imports")
async def imports_upload(request: Request) -> Response:
    actor = signed_in(request, "edit")
    limit = upload_limit()
    declared = request.headers.get("content-length", "")
    try:
        if declared.isdigit() and int(declared) > limit + 64 * 1024:
            raise TooLarge(f"the file is over the upload limit of {limit:,} bytes (COOPTRACK_MAX_UPLOAD_MB)")
        form = await request.form()
        check_csrf(request, str(form.get("csrf", "")))
        kind = str(form.get("kind", ""))
        check_kind(kind)
        check_may_import(_who(request), kind)
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput("choose a file to import", [Finding("no_file", "choose a file to import", field="file")])
        name = safe_filename(file.filename)
        path, size = await save_upload(_chunks(file), kind, name, limit)
        programme = str(form.get("programme", "")).strip() or None
        job = JobInput(kind, path, dry_run=bool(form.get("dry_run")),
                       programme=None if kind == DATAPACKAGE else programme)  # the IATI field: not a restore's
        await check_before_job(request, job)
        job_id, _finished = await launch(request, job, actor, size)
    except CooptrackError as exc:
        if exc.http_status in (401, 403):
            raise
        return _page(request, exc.http_status, exc.message)
    return RedirectResponse(f"/imports/{job_id}", status_code=303)


@router.get("/imports/{job_id}")
def import_job_page(request: Request, job_id: int) -> Response:
    signed_in(request, "edit")
    with store_of(request).read() as session:
        row = get_job(Context(session, actor="web"), job_id)
        job = job_view(row, request.app.state.job_progress.get(job_id))
    return render(request, "import_job.html", job=job)
