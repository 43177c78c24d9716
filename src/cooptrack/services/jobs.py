"""Imports of uploaded files, as jobs: the same import services as the command line, each run
in one all-or-nothing transaction; the job row keeps who ran what, its state, its progress and
its findings report. A job whose process died is reported as interrupted: its transaction was
never committed, so it wrote nothing."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from cooptrack.errors import CooptrackError, NotFound, WrongType
from cooptrack.findings import Report
from cooptrack.formats import datapackage as dp
from cooptrack.services.audit import jsonable
from cooptrack.services.context import Context
from cooptrack.store import Store
from cooptrack.store.models import ImportJob
from cooptrack.store.types import utcnow

DATAPACKAGE = "datapackage"  # a full backup, restored into an empty database (admins only)
KINDS = ("iati", "trade", "projects", DATAPACKAGE)
SUFFIXES = {"iati": (".xml",), "trade": (".csv", ".json", ".txt"), "projects": (".csv", ".xlsx")}
OWNER = f"{socket.gethostname()}:{os.getpid()}"
Advance = Callable[[int], Any]


def safe_filename(name: str | None) -> str:
    """The last part of a client's file name, with anything but letters, digits, dot, dash and
    underscore replaced: never a path, never hidden, never empty."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\-]", "_", base, flags=re.UNICODE).lstrip(".")[:120]
    return base or "upload"


def sniff(kind: str, filename: str, head: bytes) -> None:
    """Refuse a file whose content does not match its kind and name (WrongType, HTTP 415). A data
    package is a ZIP whatever its name: told by its first bytes."""
    if kind == DATAPACKAGE:
        if not dp.is_zip(head):
            raise WrongType(f"'{filename}' is not a ZIP file; a data package is uploaded as the .zip that "
                            "GET /api/v1/backup or `cooptrack export datapackage FILE.zip` writes")
        return
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES[kind]:
        raise WrongType(f"a {kind} import takes {', '.join(SUFFIXES[kind])} files; '{filename}' is not one")
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    is_zip = head.startswith(b"PK\x03\x04")
    if suffix == ".xlsx":
        if not is_zip:
            raise WrongType(f"'{filename}' is named .xlsx but is not an Excel workbook (not a zip file)")
        return
    if is_zip or b"\x00" in head[:8192] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise WrongType(f"'{filename}' is a binary file, not {'XML' if kind == 'iati' else 'text'}")
    if kind == "iati" and not body.startswith(b"<"):
        raise WrongType(f"'{filename}' is not XML: an IATI file starts with '<'")


@dataclass
class JobInput:
    kind: str
    path: Path  # in a private folder, under the client's (safe) name
    dry_run: bool = False
    programme: str | None = None  # IATI: file the projects under this programme
    skip_invalid: bool = False


def create_job(store: Store, job: JobInput, actor: str, request_id: str | None) -> int:
    data = job.path.read_bytes() if job.path.stat().st_size < 64 * 1024 * 1024 else None
    digest = hashlib.sha256(data).hexdigest() if data is not None else _sha256(job.path)
    with store.write() as session:
        row = ImportJob(kind=job.kind, filename=job.path.name, size=job.path.stat().st_size, sha256=digest,
                        dry_run=job.dry_run, state="queued", progress=0, summary={}, report={}, owner=OWNER,
                        actor=actor, request_id=request_id, created_at=utcnow())
        session.add(row)
        session.flush()
        return row.id


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _set(store: Store, job_id: int, **values: Any) -> None:
    with store.engine.connect() as conn:
        conn.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
        conn.commit()


def run_job(store: Store, job_id: int, job: JobInput, actor: str, request_id: str | None,
            on_progress: Callable[[int, int | None], None] | None = None) -> None:
    """Run the import in one write transaction, then record its outcome on the job row."""
    _set(store, job_id, state="running")
    done = [0]
    total: list[int | None] = [None]

    def advance(n: int = 1) -> None:
        done[0] += n
        if on_progress:
            on_progress(done[0], total[0])

    @contextmanager
    def progress(expected: int | None) -> Any:
        total[0] = expected
        yield advance

    try:
        if job.kind == DATAPACKAGE:  # the restore is its own transaction, on an empty database
            report, summary = _restore(store, job, progress)
        else:
            with store.write() as session:
                ctx = Context(session, actor=actor, request_id=request_id)
                report, summary = _import(ctx, job, progress)
                if not report.valid or job.dry_run:
                    session.rollback()
        state = "done" if report.valid else "refused"
        _set(store, job_id, state=state, progress=done[0], total=total[0], summary=jsonable(summary),
             report=jsonable(report.as_dict()), finished_at=utcnow())
    except CooptrackError as exc:
        findings = list(getattr(exc, "findings", []) or [])
        refused = Report(findings=findings)
        _set(store, job_id, state="refused", error=exc.message, report=jsonable(refused.as_dict()) if findings else {},
             finished_at=utcnow())
    except Exception as exc:  # recorded for the user; the traceback goes to the log
        _set(store, job_id, state="failed", error=f"{type(exc).__name__}: {str(exc)[:500]}", finished_at=utcnow())
        raise


def _restore(store: Store, job: JobInput, progress: Callable[[int], Any]) -> tuple[Report, dict[str, int]]:
    from cooptrack.services.backup import restore_datapackage, zip_limits

    report, counts = restore_datapackage(store, job.path, dry_run=job.dry_run, limits=zip_limits(),
                                         label=f"'{job.path.name}'", progress=progress)
    return report, {"rows restored": sum(counts.values()), "tables": len(counts)}


def _import(ctx: Context, job: JobInput, progress: Callable[[int | None], Any]) -> tuple[Report, dict[str, int]]:
    if job.kind == "iati":
        from cooptrack.services.iati import ImportOptions, import_iati

        size = job.path.stat().st_size
        with progress(size) as advance:
            result = import_iati(ctx, [job.path], ImportOptions(job.programme, job.dry_run, job.skip_invalid, None,
                                                                1000), advance)
        return result.report, dict(result.summary)
    if job.kind == "trade":
        from cooptrack.services.trade import import_trade_file

        traded = import_trade_file(ctx, job.path, dry_run=job.dry_run, skip_invalid=job.skip_invalid,
                                   progress=progress)
        return traded.report, dict(traded.summary)
    from cooptrack.formats.tabular import read_sheet
    from cooptrack.services.tabular import import_projects

    sheet = read_sheet(job.path)
    imported = import_projects(ctx, sheet, dry_run=job.dry_run)
    return imported.report, dict(imported.summary)


def job_view(row: ImportJob, live: tuple[int, int | None] | None = None) -> dict[str, Any]:
    progress, total = live if live and row.state in ("queued", "running") else (row.progress, row.total)
    return jsonable({
        "id": row.id, "kind": row.kind, "filename": row.filename, "size": row.size, "sha256": row.sha256,
        "dry_run": row.dry_run, "state": row.state, "progress": progress, "total": total,
        "summary": row.summary, "report": row.report, "error": row.error, "actor": row.actor,
        "request_id": row.request_id, "created_at": row.created_at, "finished_at": row.finished_at,
    })


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: it reports for itself
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def get_job(ctx: Context, job_id: int) -> ImportJob:
    row = ctx.session.get(ImportJob, job_id)
    if row is None:
        raise NotFound(f"import job {job_id} does not exist")
    return row


def mark_interrupted(store: Store) -> int:
    """Jobs left queued or running by a process of this machine that no longer exists: they wrote
    nothing (their transaction never committed). Returns how many were marked."""
    with store.read() as session:
        stale = [r.id for r in session.scalars(select(ImportJob).where(ImportJob.state.in_(("queued", "running"))))
                 if not _alive(r.owner)]
    for job_id in stale:
        _set(store, job_id, state="interrupted", error="the server stopped before the import finished; "
             "nothing of it was written: upload the file again", finished_at=utcnow())
    return len(stale)
