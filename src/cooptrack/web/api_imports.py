"""Uploading an import file: POST the file itself as the request body, get the findings report.
A small file is imported at once (201); a larger one becomes a background job (202) whose
progress and report are polled at its Location. The same import services as the command line
run it, in one transaction: all of it is written, or none.

Full backups go both ways here too, for admins only: GET /backup gives the whole database as a
data package in a ZIP (what `cooptrack export datapackage FILE.zip` writes), and an upload of
kind ``datapackage`` restores one into an empty database. Before such an upload becomes a job,
the ZIP is checked for anything unsafe to unpack and the database for being empty: a refusal
there writes nothing at all, not even the job's record."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from cooptrack.errors import InvalidInput, TooLarge
from cooptrack.findings import Finding
from cooptrack.formats import tabular as tabular_format
from cooptrack.formats import zipsafe
from cooptrack.services import backup
from cooptrack.services.context import Context
from cooptrack.services.jobs import (
    DATAPACKAGE,
    KINDS,
    JobInput,
    create_job,
    get_job,
    job_view,
    run_job,
    safe_filename,
    sniff,
)
from cooptrack.store.models import ImportJob
from cooptrack.web.api import JSON
from cooptrack.web.api_write import WRITE_ERRORS
from cooptrack.web.auth import Principal, check_allowed
from cooptrack.web.context import identify, read_context, require, store_of
from cooptrack.web.schemas import ErrorEnvelope, RecordId

router = APIRouter(prefix="/api/v1", tags=["imports"], responses={
    **WRITE_ERRORS,
    413: {"model": ErrorEnvelope, "description": "The file is over the upload limit."},
    415: {"model": ErrorEnvelope, "description": "The content is not what the kind and file name say."},
})
MB = 1024 * 1024
SYNC_LIMIT = 1 * MB  # smaller files are imported while the request waits


def upload_limit() -> int:
    return int(float(os.environ.get("COOPTRACK_MAX_UPLOAD_MB", "100")) * MB)


def executor(request: Request) -> ThreadPoolExecutor:
    pool: ThreadPoolExecutor = request.app.state.import_pool
    return pool


@router.post("/imports", response_class=JSON, status_code=201, summary="Upload a file to import",
             responses={409: {"model": ErrorEnvelope,
                              "description": "datapackage: the database is not empty; nothing was written."}})
async def upload(
    request: Request,
    kind: str = Query(description="iati, trade (UN Comtrade), projects (CSV or Excel), or datapackage (a full "
                                  "backup's ZIP, restored into an empty database: admins only)."),
    filename: str = Query(description="The file's name; its extension says its format (.xml, .csv, .json, .xlsx)."),
    dry_run: bool = Query(False, description="Check and report; write nothing."),
    programme: str | None = Query(None, description="IATI: file the projects under this programme."),
    skip_invalid: bool = Query(False, description="IATI and trade: import the valid part, report the rest."),
    who: Principal = Depends(require("edit")),
) -> Any:
    """The request body is the file itself (any content type). Answers 201 with the finished job
    for a small file, 202 with a Location to poll for a large one. A job's `state` ends as
    `done` (written, or checked on a dry run), `refused` (findings with errors: nothing written),
    `failed` or `interrupted` (the server stopped: nothing written).

    A `datapackage` restore replaces the accounts of the empty database with the backup's: the
    token that uploaded it stops working once it is done, and the backup's tokens sign in."""
    check_kind(kind)
    check_may_import(who, kind, programme, skip_invalid)
    name = safe_filename(filename)
    limit = upload_limit()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the file is {int(declared):,} bytes, over the upload limit of {limit:,} bytes "
                       "(COOPTRACK_MAX_UPLOAD_MB); nothing was imported")
    path, size = await save_upload(request.stream(), kind, name, limit)
    job = JobInput(kind, path, dry_run, programme, skip_invalid)
    await check_before_job(request, job)
    job_id, finished = await launch(request, job, who.name, size)
    store = store_of(request)
    with store.read() as session:
        row = session.get(ImportJob, job_id)
        assert row is not None
        return JSON(job_view(row), status_code=201 if finished else 202,
                    headers={"Location": f"/api/v1/imports/{job_id}"})


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        message = f"kind '{kind}' is not an import kind; use one of {', '.join(KINDS)}"
        raise InvalidInput(message, [Finding("bad_parameter", message, field="kind", value=kind)])


def check_may_import(who: Principal, kind: str, programme: str | None = None, skip_invalid: bool = False) -> None:
    """A restore is for admins, and all or nothing: the IATI and trade options do not apply."""
    if kind != DATAPACKAGE:
        return
    check_allowed(who, "admin", public_read=False)
    for name, given in (("programme", programme), ("skip_invalid", skip_invalid)):
        if given:
            message = f"{name} does not apply to a datapackage upload: a backup is restored whole, or not at all"
            raise InvalidInput(message, [Finding("bad_parameter", message, field=name, value=str(given))])


async def check_before_job(request: Request, job: JobInput) -> None:
    """A workbook or a data package is a ZIP: refused here, before any job is recorded, when it
    is not safe to unpack (or a workbook's parts declare a DTD). A data package also when it is
    not a backup of this migration, the database is not empty, or (unless only checked) the
    backup has no admin to sign in with once it has replaced the accounts."""
    if job.kind == "projects" and job.path.suffix.lower() == ".xlsx":
        try:
            await run_in_threadpool(tabular_format.check_workbook_zip, job.path, zipsafe.zip_limits())
        except BaseException:
            shutil.rmtree(job.path.parent, ignore_errors=True)
            raise
        return
    if job.kind != DATAPACKAGE:
        return
    try:
        await run_in_threadpool(backup.check_restore, store_of(request), job.path, backup.zip_limits(),
                                f"'{job.path.name}'", not job.dry_run)
    except BaseException:
        shutil.rmtree(job.path.parent, ignore_errors=True)
        raise


async def save_upload(chunks: AsyncIterator[bytes], kind: str, name: str, limit: int) -> tuple[Path, int]:
    """The upload, counted against the limit as it arrives, in a private folder under its safe
    name; refused (and removed) when too large, empty or not what its kind and name say."""
    folder = Path(tempfile.mkdtemp(prefix="cooptrack-upload-"))
    path = folder / name
    try:
        size = 0
        head = b""
        with path.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"the file is over the upload limit of {limit:,} bytes "
                                   "(COOPTRACK_MAX_UPLOAD_MB); nothing was imported")
                if len(head) < 65536:
                    head += chunk[:65536 - len(head)]
                out.write(chunk)
        if size == 0:
            raise InvalidInput("the request body is empty: send the file itself as the body",
                               [Finding("empty_upload", "the request body is empty", field="body")])
        sniff(kind, name, head)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path, size


async def launch(request: Request, job: JobInput, actor: str, size: int) -> tuple[int, bool]:
    """Record the job and run it: at once for a small file (returns finished=True), else in the
    background. The upload's folder is removed when the job ends."""
    store = store_of(request)
    rid = getattr(request.state, "request_id", None)
    try:
        job_id = await run_in_threadpool(create_job, store, job, actor, rid)
    except BaseException:
        shutil.rmtree(job.path.parent, ignore_errors=True)
        raise
    live: dict[int, tuple[int, int | None]] = request.app.state.job_progress

    def work() -> None:
        try:
            run_job(store, job_id, job, actor, rid, lambda done, total: live.__setitem__(job_id, (done, total)))
        finally:
            live.pop(job_id, None)
            shutil.rmtree(job.path.parent, ignore_errors=True)

    if size <= SYNC_LIMIT:
        await run_in_threadpool(work)
        return job_id, True
    executor(request).submit(work)
    return job_id, False


@router.get("/imports/{job_id}", response_class=JSON, summary="An import job: state, progress, findings report")
def job(job_id: RecordId, request: Request, ctx: Context = Depends(read_context)) -> Any:
    require("edit")(request)
    row = get_job(ctx, job_id)
    return JSON(job_view(row, request.app.state.job_progress.get(job_id)))


@router.get("/imports", response_class=JSON, summary="Recent import jobs, newest first")
def jobs(request: Request, ctx: Context = Depends(read_context)) -> Any:
    require("edit")(request)
    rows = ctx.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(100))
    return JSON([job_view(r, request.app.state.job_progress.get(r.id)) for r in rows])


def admin_of(request: Request) -> Principal:
    """An admin, by token or signed-in session; a download changes nothing, so a session needs
    no CSRF token (the web page links here)."""
    with store_of(request).read() as session:
        who = identify(request, Context(session, actor="anonymous",
                                        request_id=getattr(request.state, "request_id", None)))
    check_allowed(who, "admin", public_read=False)
    return who


@router.get("/backup", tags=["backup"], summary="Download a full backup: the data package as a ZIP", responses={
    200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
          "description": "datapackage.json and one CSV per table, as `cooptrack export datapackage FILE.zip` "
                         "writes them."}}, response_class=FileResponse)
def download_backup(request: Request) -> FileResponse:
    """Admins only. The whole database in one consistent snapshot, as a ZIP named after today's
    date (UTC). Restore it with POST /api/v1/imports?kind=datapackage into an empty database, or
    with `cooptrack import datapackage FILE.zip`."""
    admin_of(request)
    folder = Path(tempfile.mkdtemp(prefix="cooptrack-backup-"))
    try:
        path = folder / "backup.zip"
        backup.export_datapackage_zip(store_of(request), path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    name = f"cooptrack-backup-{datetime.now(UTC).date().isoformat()}.zip"
    return FileResponse(path, media_type="application/zip", filename=name, headers={"Cache-Control": "no-store"},
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
