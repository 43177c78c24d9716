"""IATI activity XML in and out: the rules of the import (what an activity becomes in the
register) and of the export (what a project becomes in IATI 2.03).

Import, per activity: the project through :func:`upsert_project` (matched on the IATI
identifier, so a re-import updates and never duplicates), a status event when the IATI status
differs from the project's current one, and the rows the import owns, replaced when they
differ: finance records (transactions, budgets, planned disbursements), tags (sectors in
other vocabularies than DAC 5-digit, extra recipient countries and regions) and documents.
All of it in the caller's transaction: without ``skip_invalid`` one error anywhere rolls
everything back; with it, a refused activity writes nothing and a refused file (not
well-formed, IATI 1.0x, a file-level error) is rolled back whole through a savepoint.

The modules: this one runs the import (files, batches, updates one by one); ``iati_findings``
holds the options, counts and findings; ``iati_mapping`` turns an activity into plain data for
the register (what the activity alone says: no database); ``iati_store`` adds what the register
says (countries, registered organisations, an updated project's own values) and writes (new
projects in batches, replaced rows, status events, organisations and sources); ``iati_export``
turns projects back into activities. Their public names are importable from here as before. A file
of ``formats.iati_piped.MIN_BYTES`` or more is read, checked and mapped in a second process while
this one checks against the register and writes: the same activities and findings, two cores
instead of one.

Decisions (see the README section "IATI"):

- The project's value is the sum of its commitments (transaction type 2; when it has none,
  of its incoming commitments, type 11) when they share one currency, dated by the earliest
  value date. Mixed currencies or a negative sum leave the value as it was, with a warning.
- What an activity does not say (no recipient country, no commitment, no dates...) keeps the
  registered value: an import fills, it never blanks. Aliases, national ids and the programme
  (unless ``--programme``) are cooptrack's own and stay.
- The status event is dated by what the activity says about that status (actual start for
  "in execution", actual end for "implemented" or "closed"), else the activity's
  last-updated-datetime, else the file's generated-datetime, else the actual start, else the
  import day; never before the project's latest event (it would reorder history). A change the
  lifecycle forbids is not recorded and gets a warning; leaving closed or cancelled is recorded
  with ``reopen`` (the publisher reports the activity as running again) and a warning.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding, Report
from cooptrack.formats.iati_piped import PipedFile, use_pipe
from cooptrack.formats.iati_read import IatiFile, load_schema
from cooptrack.formats.xmlsafe import XmlRefused
from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.iati_export import DEFAULT_CATEGORY, ROLE_CODES, ReportingOrg, export_activities
from cooptrack.services.iati_findings import SUMMARY_KEYS, ImportOptions, ImportRun, Item, refusal, warn
from cooptrack.services.iati_mapping import (
    COMMITMENT,
    INCOMING_COMMITMENT,
    ROLES,
    Prepared,
    location_name,
    prepare,
    slugify,
)
from cooptrack.services.iati_store import (
    _digest,
    _existing,
    _free_code,
    _record_status,
    _registered,
    _replace_rows,
    country_of_ref,
    create_many,
    project_spec,
)
from cooptrack.services.programmes import get_programme
from cooptrack.services.projects import (
    upsert_project,
)

__all__ = ["COMMITMENT", "DEFAULT_CATEGORY", "INCOMING_COMMITMENT", "ROLES", "ROLE_CODES", "SUMMARY_KEYS",
           "ImportOptions", "ImportResult", "ReportingOrg", "country_of_ref", "export_activities", "import_iati",
           "location_name", "slugify"]

# Activities written together. The batch left when the reading process ends is written after it:
# 64 rather than 200 took that tail from about 0.1 s to 0.01 s on a 50 MB file (2026-11-28).
BATCH = 64
# What a reading process applies to each activity it reads: the import receives prepared activities.
PREPARE = "cooptrack.services.iati_mapping:prepared_tuple"


@dataclass
class ImportResult:
    report: Report
    summary: dict[str, int]
    written: bool


def import_iati(ctx: Context, paths: Iterable[Path], options: ImportOptions,
                on_progress: Callable[[int], None] | None = None) -> ImportResult:
    """Import IATI activity files into the open transaction. Rolls the transaction back itself
    when nothing may be written (errors without ``skip_invalid``, or ``dry_run``)."""
    report = Report()
    run = ImportRun(ctx, options, report)
    if options.programme is not None:
        get_programme(ctx, options.programme)  # NotFound names it once, rather than once per activity
    schema = None
    if options.xsd is not None:
        try:
            schema = load_schema(options.xsd)
        except XmlRefused as exc:
            raise InvalidInput(exc.message, [Finding(exc.code, exc.message, field="--xsd")]) from None
    # An import allocates millions of small objects (elements' values, rows, findings) and makes
    # almost no reference cycles (measured: about 13,000 objects of garbage for a 50 MB file); the
    # cycle collector walking them over and over cost a fifth of the import. It runs again after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in paths:
            # A large file is read in a second process while this one maps, checks and writes.
            file = PipedFile(path, options.xsd, prepare=PREPARE) if use_pipe(path) else IatiFile(path, schema)
            _import_file(run, file, on_progress)
    finally:
        if collecting:
            gc.enable()
    written = report.valid and not options.dry_run
    if not written:
        ctx.session.rollback()
        if not report.valid:
            would = run.counts["created"] + run.counts["updated"] + run.counts["unchanged"]
            for key in ("created", "updated", "unchanged", "status_events", "finance_records", "documents"):
                run.counts[key] = 0
            run.counts["not_written"] = would
    return ImportResult(report, run.counts, written)


def _prepared(file: IatiFile | PipedFile) -> Iterator[Prepared]:
    """The file's activities prepared for the register (a reading process has done it already)."""
    if isinstance(file, PipedFile):
        make = Prepared._make
        return (make(t) for t in file)
    return (prepare(activity) for activity in file)


def _import_file(run: ImportRun, file: IatiFile | PipedFile, on_progress: Callable[[int], None] | None) -> None:
    savepoint = run.ctx.session.begin_nested()
    before = dict(run.counts)
    done = 0
    batch: list[Item] = []
    for prepared in _prepared(file):
        run.counts["activities"] += 1
        batch.append(Item(prepared))
        if len(batch) >= BATCH:
            _import_batch(run, batch)
            batch = []
            if on_progress is not None:
                on_progress(file.bytes_so_far - done)
                done = file.bytes_so_far
    _import_batch(run, batch)
    for finding in file.findings:
        run.add(finding)
    run.counts["files"] += 1
    if file.refused:
        savepoint.rollback()
        run.org_names.clear()  # what it knew of organisations and sources may have been rolled back
        run.org_ids.clear()
        run.sources.clear()
        refused_here = run.counts["activities"] - before["activities"]
        for key in ("created", "updated", "unchanged", "status_events", "finance_records", "documents",
                    "value_not_set"):
            run.counts[key] = before[key]
        run.counts["refused"] = before["refused"] + refused_here
    else:
        savepoint.commit()


def _import_batch(run: ImportRun, batch: list[Item]) -> None:
    """Activities whose identifier is not registered yet are created together (bulk); the others
    (updates, activities without identifier) go one by one through upsert_project."""
    if not batch:
        return
    known = _registered(run, [item.p.identifier for item in batch if item.p.identifier])
    outcomes: dict[int, str | None] = {}
    fresh: list[tuple[int, Item]] = []
    for i, item in enumerate(batch):
        hint = _check_identity(run, item)
        if not item.valid:
            outcomes[i] = None
        elif run.options.bulk and item.p.identifier and item.p.identifier not in known:
            fresh.append((i, item))
        else:
            outcomes[i] = _write_activity(run, item, hint)
    if fresh:
        outcomes.update(create_many(run, fresh))
    for i, item in enumerate(batch):
        for finding in item.findings:
            run.add(finding)
        run.counts[outcomes[i] or "refused"] += 1


def _check_identity(run: ImportRun, item: Item) -> str | None:
    """Identifier findings (empty: a warning and an id from the file; repeated: an error); returns
    the project id to use when the identifier is empty."""
    p = item.p
    identifier = p.identifier
    if not item.valid:
        return None  # refused by the reader's checks (or the schema): nothing more to say about it
    if not identifier:
        hint = slugify(f"{Path(p.source).stem}-{p.position}")
        warn(item, "iati-identifier", "empty_identifier", f"iati-identifier is empty; the project gets the id "
             f"'{hint}' and will be matched by that id on re-import")
        return hint
    if identifier in run.seen:
        item.findings.append(Finding(
            "duplicate_identifier", f"iati-identifier '{identifier}' appears twice in this import (first at "
            f"{run.seen[identifier]}); each activity must have its own", field="iati-identifier", value=identifier,
            row=p.line, source=p.source))
    else:
        run.seen[identifier] = f"{p.source} line {p.line}"
    return None


def _write_activity(run: ImportRun, item: Item, code_hint: str | None) -> str | None:
    ctx = run.ctx
    p = item.p
    existing = _existing(run, item, code_hint)
    code = existing.code if existing is not None else (code_hint or _free_code(run, p.identifier))
    spec = project_spec(run, item, code, existing)
    if not item.valid:
        return None
    old_status = existing.status if existing is not None else None
    try:
        project, outcome = upsert_project(ctx, spec)
    except InvalidInput as exc:
        refusal(item, exc)
        return None
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if project.iati != p.iati or project.narratives != p.narratives:
        before["iati"], after["iati"] = _digest([project.iati, project.narratives]), _digest([p.iati, p.narratives])
        project.iati, project.narratives = p.iati, p.narratives
    _replace_rows(run, project, item, before, after)
    ctx.session.flush()
    if _record_status(run, item, project, old_status):
        run.counts["status_events"] += 1
        after["status"] = project.status
    if after:
        audit.record(ctx, "import", "project", project.code, before or None,
                     {**after, "file": p.source, "line": p.line})
        if outcome == "unchanged":
            outcome = "updated"
    return outcome
