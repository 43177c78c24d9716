"""Uploading an import file: POST the file itself as the request body, get the findings report.
A small file is imported at once (201); a larger one becomes a background job (202) whose
progress and report are polled at its Location. The same import services as the command line
run it, in one transaction: all of it is written, or none."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from cooptrack.errors import InvalidInput, TooLarge
from cooptrack.findings import Finding
from cooptrack.services.context import Context
from cooptrack.services.jobs import KINDS, JobInput, create_job, get_job, job_view, run_job, safe_filename, sniff
from cooptrack.store.models import ImportJob
from cooptrack.web.api import JSON
from cooptrack.web.api_write import WRITE_ERRORS
from cooptrack.web.auth import Principal
from cooptrack.web.context import read_context, require, store_of
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


@router.post("/imports", response_class=JSON, status_code=201, summary="Upload a file to import")
async def upload(
    request: Request,
    kind: str = Query(description="iati, trade (UN Comtrade) or projects (CSV or Excel)."),
    filename: str = Query(description="The file's name; its extension says its format (.xml, .csv, .json, .xlsx)."),
    dry_run: bool = Query(False, description="Check and report; write nothing."),
    programme: str | None = Query(None, description="IATI: file the projects under this programme."),
    skip_invalid: bool = Query(False, description="IATI and trade: import the valid part, report the rest."),
    who: Principal = Depends(require("edit")),
) -> Any:
    """The request body is the file itself (any content type). Answers 201 with the finished job
    for a small file, 202 with a Location to poll for a large one. A job's `state` ends as
    `done` (written, or checked on a dry run), `refused` (findings with errors: nothing written),
    `failed` or `interrupted` (the server stopped: nothing written)."""
    check_kind(kind)
    name = safe_filename(filename)
    limit = upload_limit()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the file is {int(declared):,} bytes, over the upload limit of {limit:,} bytes "
                       "(COOPTRACK_MAX_UPLOAD_MB); nothing was imported")
    path, size = await save_upload(request.stream(), kind, name, limit)
    job = JobInput(kind, path, dry_run, programme, skip_invalid)
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
