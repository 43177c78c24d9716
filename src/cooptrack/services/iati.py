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

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import countrynames
from sqlalchemy import Table, delete, func, insert, select

from cooptrack import codes
from cooptrack.domain.countries import find_country
from cooptrack.domain.period import Period
from cooptrack.domain.status import TERMINAL, Status
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding, Report
from cooptrack.formats.iati_read import (
    Activity,
    ActivityDate,
    Coded,
    DocumentLink,
    IatiFile,
    Money,
    Narrative,
    Org,
    Place,
    first_text,
    load_schema,
    parse_day,
)
from cooptrack.formats.xmlsafe import XmlRefused
from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.programmes import get_programme
from cooptrack.services.projects import (
    LocationSpec,
    ParticipantSpec,
    ProjectSpec,
    StatusSpec,
    add_status_event,
    check_project,
    upsert_project,
)
from cooptrack.store.models import (
    AuditEvent,
    FinanceRecord,
    Location,
    Organisation,
    Participant,
    Programme,
    Project,
    ProjectDocument,
    ProjectSector,
    ProjectTag,
    Source,
    StatusEvent,
)
from cooptrack.store.types import utcnow

ROLES = {"1": "funding", "2": "accountable", "3": "extending", "4": "implementing"}
# The register's field names in upsert_project's findings, as the IATI elements they come from.
_FIELDS = {"title": "title/narrative", "planned start": "activity-date[@type=1]/@iso-date",
           "actual start": "activity-date[@type=2]/@iso-date", "planned end": "activity-date[@type=3]/@iso-date",
           "actual end": "activity-date[@type=4]/@iso-date", "host country": "recipient-country/@code",
           "partner country": "reporting-org/@ref", "sectors": "sector", "value": "transaction/value",
           "currency": "transaction/value/@currency", "value date": "transaction/value/@value-date"}
COMMITMENT, INCOMING_COMMITMENT = "2", "11"
_SLUG_BAD = re.compile(r"[^a-z0-9._-]")
_Tag = tuple[str, str, str | None, Decimal | None]
SUMMARY_KEYS = ("files", "activities", "created", "updated", "unchanged", "refused", "status_events",
                "finance_records", "documents", "value_not_set")


@dataclass
class ImportOptions:
    programme: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    xsd: Path | None = None
    max_warnings: int = 1000
    bulk: bool = True  # new projects through batched Core inserts; False: one upsert_project each


@dataclass
class ImportResult:
    report: Report
    summary: dict[str, int]
    written: bool


def slugify(identifier: str) -> str:
    """A project id from an IATI identifier: lower case, other characters than a-z 0-9 . _ -
    replaced by '-', starting with a letter or digit, at most 64 characters."""
    slug = _SLUG_BAD.sub("-", identifier.strip().lower()).lstrip("._-")
    return (slug or "activity")[:64]


def country_of_ref(ref: str | None) -> str | None:
    """The country of an IATI organisation identifier (its registration agency prefix, e.g.
    KR-GOV-010 -> KOR), or None (XM-DAC-..., XI-IATI-... are not countries)."""
    if not ref or len(ref) < 3 or ref[2] != "-":
        return None
    code: str | None = countrynames.mappings.get(ref[:2].upper())
    return code


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _narratives_json(items: list[Narrative]) -> list[dict[str, str]]:
    return [n.as_json() for n in items]


def _digest(rows: list[Any]) -> str:
    """A short fingerprint of rows for the audit log (which rows an import replaced)."""
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


@dataclass
class _Run:
    ctx: Context
    options: ImportOptions
    report: Report
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMARY_KEYS, 0))
    seen: dict[str, str] = field(default_factory=dict)  # identifier -> where first seen
    org_names: dict[str, str | None] = field(default_factory=dict)  # IATI ref -> registered name
    sources: dict[str, int] = field(default_factory=dict)  # url -> source id
    org_ids: dict[tuple[str, str], int] = field(default_factory=dict)  # ("name"|"ref", value) -> id
    warnings_dropped: int = 0

    warnings: int = 0

    def add(self, finding: Finding) -> None:
        """Keep a finding: every error, warnings up to ``max_warnings``. With ``skip_invalid`` the
        errors that refused an activity or a file are kept as warnings: the import went on."""
        if finding.severity == "error" and self.options.skip_invalid:
            finding = replace(finding, severity="warning")
        elif finding.severity == "warning":
            if self.warnings >= self.options.max_warnings:
                self.warnings_dropped += 1
                self.report.truncated = True
                return
            self.warnings += 1
        self.report.findings.append(finding)


def import_iati(ctx: Context, paths: Iterable[Path], options: ImportOptions,
                on_progress: Callable[[int], None] | None = None) -> ImportResult:
    """Import IATI activity files into the open transaction. Rolls the transaction back itself
    when nothing may be written (errors without ``skip_invalid``, or ``dry_run``)."""
    report = Report()
    run = _Run(ctx, options, report)
    if options.programme is not None:
        get_programme(ctx, options.programme)  # NotFound names it once, rather than once per activity
    schema = None
    if options.xsd is not None:
        try:
            schema = load_schema(options.xsd)
        except XmlRefused as exc:
            raise InvalidInput(exc.message, [Finding(exc.code, exc.message, field="--xsd")]) from None
    for path in paths:
        _import_file(run, IatiFile(path, schema), on_progress)
    written = report.valid and not options.dry_run
    if not written:
        ctx.session.rollback()
        if not report.valid:
            would = run.counts["created"] + run.counts["updated"] + run.counts["unchanged"]
            for key in ("created", "updated", "unchanged", "status_events", "finance_records", "documents"):
                run.counts[key] = 0
            run.counts["not_written"] = would
    return ImportResult(report, run.counts, written)


BATCH = 200


def _import_file(run: _Run, file: IatiFile, on_progress: Callable[[int], None] | None) -> None:
    savepoint = run.ctx.session.begin_nested()
    before = dict(run.counts)
    done = 0
    batch: list[Activity] = []
    for activity in file:
        run.counts["activities"] += 1
        batch.append(activity)
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


def _import_batch(run: _Run, batch: list[Activity]) -> None:
    """Activities whose identifier is not registered yet are created together (bulk); the others
    (updates, activities without identifier) go one by one through upsert_project."""
    if not batch:
        return
    known = _registered(run, [a.identifier for a in batch if a.identifier])
    outcomes: dict[int, str | None] = {}
    fresh: list[tuple[int, Activity]] = []
    for i, activity in enumerate(batch):
        hint = _check_identity(run, activity)
        if not activity.valid:
            outcomes[i] = None
        elif run.options.bulk and activity.identifier and activity.identifier not in known:
            fresh.append((i, activity))
        else:
            outcomes[i] = _write_activity(run, activity, hint)
    if fresh:
        outcomes.update(create_many(run, fresh))
    for i, activity in enumerate(batch):
        for finding in activity.findings:
            run.add(finding)
        run.counts[outcomes[i] or "refused"] += 1


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start: start + size]


def _registered(run: _Run, identifiers: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(identifiers))):
        found.update(x for x in run.ctx.session.scalars(select(Project.iati_identifier)
                                                         .where(Project.iati_identifier.in_(chunk))) if x)
    return found


def _check_identity(run: _Run, activity: Activity) -> str | None:
    """Identifier findings (empty: a warning and an id from the file; repeated: an error); returns
    the project id to use when the identifier is empty."""
    identifier = activity.identifier
    if not activity.valid:
        return None  # refused by the reader's checks (or the schema): nothing more to say about it
    if not identifier:
        hint = slugify(f"{Path(activity.source).stem}-{activity.position}")
        _warn(activity, "iati-identifier", "empty_identifier", f"iati-identifier is empty; the project gets the id "
              f"'{hint}' and will be matched by that id on re-import")
        return hint
    if identifier in run.seen:
        activity.findings.append(Finding(
            "duplicate_identifier", f"iati-identifier '{identifier}' appears twice in this import (first at "
            f"{run.seen[identifier]}); each activity must have its own", field="iati-identifier", value=identifier,
            row=activity.line, source=activity.source))
    else:
        run.seen[identifier] = f"{activity.source} line {activity.line}"
    return None


def _warn(activity: Activity, where: str, code: str, message: str, value: object = None) -> None:
    activity.findings.append(Finding(code, message, field=where, value=None if value is None else str(value),
                                     row=activity.line, source=activity.source, severity="warning"))


@dataclass
class _Mapped:
    spec: ProjectSpec
    iati: dict[str, Any]
    narratives: dict[str, Any]
    tags: list[_Tag]
    finance: list[dict[str, Any]]
    documents: list[dict[str, Any]]


def _existing(run: _Run, activity: Activity, code_hint: str | None) -> Project | None:
    session = run.ctx.session
    if activity.identifier:
        return session.scalar(select(Project).where(Project.iati_identifier == activity.identifier))
    return session.scalar(select(Project).where(Project.code == code_hint))


def _free_code(run: _Run, identifier: str, taken: set[str] | None = None) -> str:
    base = slugify(identifier)
    code, n = base, 1
    while (taken is not None and code in taken) or \
            run.ctx.session.scalar(select(Project.id).where(Project.code == code)) is not None:
        n += 1
        suffix = f"-{n}"
        code = base[: 64 - len(suffix)] + suffix
    return code


def _write_activity(run: _Run, activity: Activity, code_hint: str | None) -> str | None:
    ctx = run.ctx
    existing = _existing(run, activity, code_hint)
    code = existing.code if existing is not None else (code_hint or _free_code(run, activity.identifier))
    mapped = _map(run, activity, code, existing)
    if not activity.valid:
        return None
    old_status = existing.status if existing is not None else None
    try:
        project, outcome = upsert_project(ctx, mapped.spec)
    except InvalidInput as exc:
        _refusal(activity, exc)
        return None
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if project.iati != mapped.iati or project.narratives != mapped.narratives:
        before["iati"], after["iati"] = _digest([project.iati, project.narratives]), _digest(
            [mapped.iati, mapped.narratives])
        project.iati, project.narratives = mapped.iati, mapped.narratives
    _replace_rows(run, project, mapped, before, after)
    ctx.session.flush()
    if _record_status(run, activity, project, old_status):
        run.counts["status_events"] += 1
        after["status"] = project.status
    if after:
        audit.record(ctx, "import", "project", project.code, before or None,
                     {**after, "file": activity.source, "line": activity.line})
        if outcome == "unchanged":
            outcome = "updated"
    return outcome


def _refusal(activity: Activity, exc: InvalidInput) -> None:
    """The register's findings about an activity, with its line and the IATI element for the field."""
    for f in exc.findings or [Finding("invalid", exc.message)]:
        where = _FIELDS.get(f.field or "", f.field)
        activity.findings.append(Finding(f.code, f.message, field=where, value=f.value, row=activity.line,
                                         source=activity.source))


def _replace_rows(run: _Run, project: Project, mapped: _Mapped, before: dict[str, Any],
                  after: dict[str, Any]) -> None:
    """Finance records, tags and documents: replaced (Core bulk statements) when they differ."""
    session = run.ctx.session
    pid = project.id
    fin_cols = ("kind", "type", "status", "transaction_date", "period_start", "period_end", "amount", "currency",
                "value_date", "description", "provider", "receiver", "ref", "extra")
    new_fin = [tuple(r[c] for c in fin_cols) for r in mapped.finance]
    old_fin = [tuple(r) for r in session.execute(select(*(getattr(FinanceRecord, c) for c in fin_cols))
                                                 .where(FinanceRecord.project_id == pid)
                                                 .order_by(FinanceRecord.id))]
    if old_fin != new_fin:
        session.execute(delete(FinanceRecord).where(FinanceRecord.project_id == pid))
        if mapped.finance:
            session.execute(insert(FinanceRecord), [{**r, "project_id": pid} for r in mapped.finance])
        before["finance"], after["finance"] = [len(old_fin), _digest(old_fin)], [len(new_fin), _digest(new_fin)]
    run.counts["finance_records"] += len(new_fin)

    old_tags = [tuple(r) for r in session.execute(
        select(ProjectTag.vocabulary, ProjectTag.code, ProjectTag.name, ProjectTag.percent)
        .where(ProjectTag.project_id == pid).order_by(ProjectTag.id))]
    if old_tags != mapped.tags:
        session.execute(delete(ProjectTag).where(ProjectTag.project_id == pid))
        if mapped.tags:
            session.execute(insert(ProjectTag), [
                {"project_id": pid, "vocabulary": v, "code": c, "name": n, "percent": p} for v, c, n, p in mapped.tags])
        before["tags"], after["tags"] = [len(old_tags), _digest(old_tags)], [len(mapped.tags), _digest(mapped.tags)]

    docs = []
    for i, doc in enumerate(mapped.documents):
        docs.append((_source_id(run, doc), doc["category"], i))
    old_docs = [tuple(r) for r in session.execute(
        select(ProjectDocument.source_id, ProjectDocument.category, ProjectDocument.position)
        .where(ProjectDocument.project_id == pid).order_by(ProjectDocument.position))]
    if old_docs != docs:
        session.execute(delete(ProjectDocument).where(ProjectDocument.project_id == pid))
        if docs:
            session.execute(insert(ProjectDocument), [
                {"project_id": pid, "source_id": s, "category": c, "position": i} for s, c, i in docs])
        before["documents"], after["documents"] = [s for s, _, _ in old_docs], [s for s, _, _ in docs]
    run.counts["documents"] += len(docs)


def _source_id(run: _Run, doc: dict[str, Any]) -> int:
    url = doc["url"]
    if url in run.sources:
        return run.sources[url]
    session = run.ctx.session
    found = session.scalar(select(Source.id).where(Source.url == url).order_by(Source.id).limit(1))
    if found is None:
        source = Source(title=doc["title"], url=url, media_type=doc["format"], language=doc["language"],
                        published=doc["published"], known_from=doc["known_from"], publisher=doc["publisher"],
                        kind="official", note="a document-link of an IATI activity")
        session.add(source)
        session.flush()
        audit.record(run.ctx, "create", "source", source.id, None, audit.snapshot(source))
        found = source.id
    run.sources[url] = found
    return found


def _effective_date(activity: Activity, status: Status, after: date | None) -> tuple[str, str]:
    """The status event's date (a Period code) and where it came from: the first of these that is
    later than the project's latest event (``after``): the date the activity gives for that status,
    its last-updated-datetime, the file's generated-datetime, the actual start, the import day;
    never a date in the future."""
    own = {Status.IN_EXECUTION: "2", Status.IMPLEMENTED: "4", Status.CLOSED: "4"}.get(status)
    candidates: list[tuple[date | None, str]] = [(activity.date_of(own) if own else None, f"activity-date type {own}")]
    for value, what in ((activity.attrs.get("last-updated-datetime"), "last-updated-datetime"),
                        (activity.file_generated, "the file's generated-datetime")):
        candidates.append((parse_day(value.strip()[:10]) if value else None, what))
    candidates += [(activity.date_of("2"), "the actual start date"),
                   (date.today(), "the import day (the activity gives no later date)")]
    today = date.today()
    for day, what in candidates:
        # A status is recorded when it has happened: a date in the future (publishers' "actual"
        # dates are sometimes plans) gives way to the next candidate.
        if day is not None and day <= today and (after is None or day > after):
            return day.isoformat(), what
    return today.isoformat(), "the import day"


def _record_status(run: _Run, activity: Activity, project: Project, old_status: str | None) -> bool:
    if activity.status is None:
        return False
    try:
        status = Status.from_iati(activity.status)
    except InvalidInput:
        _warn(activity, "activity-status/@code", "unknown_status", f"activity-status '{activity.status}' is not an "
              "ActivityStatus code (1-6); no status was recorded", activity.status)
        return False
    if project.status == status.value:
        return False
    latest = run.ctx.session.scalar(select(func.max(StatusEvent.effective_start))
                                    .where(StatusEvent.project_id == project.id))
    effective, why = _effective_date(activity, status, latest)
    reopen = old_status is not None and Status(old_status) in TERMINAL and status not in TERMINAL
    note = f"IATI activity-status {activity.status} in {Path(activity.source).name}; dated by {why}"
    try:
        add_status_event(run.ctx, StatusSpec(project.code, status.value, effective, note=note, reopen=reopen))
    except InvalidInput as exc:
        _warn(activity, "activity-status/@code", "status_not_recorded",
              f"activity-status {activity.status} ({status.value}) was not recorded: {exc.message}",
              activity.status)
        return False
    if reopen:
        _warn(activity, "activity-status/@code", "reopened", f"the project was {old_status}; the publisher now "
              f"reports it as {status.value}, recorded as a reopening", activity.status)
    return True


# -- the bulk path: new projects in batches, through Core statements ----------------------------
#
# The same rules as upsert_project and add_status_event (check_project validates each project;
# a new project's first status needs no transition check), written with one multi-row INSERT per
# table per batch instead of one flush per row. Organisations are resolved as _organisation does
# (by IATI identifier, then by name), from a cache filled by one query per batch.


def create_many(run: _Run, items: list[tuple[int, Activity]]) -> dict[int, str | None]:
    """Create the projects of activities whose identifiers are not registered; returns each one's
    outcome ("created", or None when refused) by its index in the batch."""
    ctx = run.ctx
    outcomes: dict[int, str | None] = {}
    bases = {i: slugify(a.identifier) for i, a in items}
    taken: set[str] = set()
    for chunk in _chunks(sorted(set(bases.values()))):
        taken.update(ctx.session.scalars(select(Project.code).where(Project.code.in_(chunk))))
    ready: list[tuple[int, Activity, _Mapped, Any]] = []
    _known_refs(run, {p.ref.strip() for _, a in items for p in a.participants if p.ref and p.ref.strip()})
    for i, a in items:
        code = bases[i] if bases[i] not in taken else _free_code(run, a.identifier, taken)
        taken.add(code)
        mapped = _map(run, a, code, None)
        if not a.valid:
            outcomes[i] = None
            continue
        try:
            checked = check_project(ctx, mapped.spec)
        except InvalidInput as exc:
            _refusal(a, exc)
            outcomes[i] = None
            continue
        ready.append((i, a, mapped, checked))
    if not ready:
        return outcomes
    org_ids = _organisation_ids(run, [p for *_, checked in ready for p in checked.participants])
    source_ids = _source_ids(run, [d for _, _, mapped, _ in ready for d in mapped.documents])
    now = utcnow()
    rows, firsts = [], []
    for _, a, mapped, checked in ready:
        first = _first_status(a)
        firsts.append(first)
        rows.append({**checked.fields, "iati": mapped.iati, "narratives": mapped.narratives, "version": 1,
                     "created_at": now, "updated_at": now, "status": first[0] if first else None,
                     "status_effective": first[1].code if first else None,
                     "status_start": first[1].start if first else None})
    table = _table(Project)
    ids = list(ctx.session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
    children: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "sectors", "participants", "locations", "tags", "finance", "documents", "events")}
    audits: list[dict[str, Any]] = []
    for pid, row, first, (i, a, mapped, checked) in zip(ids, rows, firsts, ready, strict=True):
        outcomes[i] = "created"
        children["sectors"] += [{"project_id": pid, "dac_code": c, "percent": pct} for c, pct in checked.sectors]
        children["participants"] += [
            {"project_id": pid, "organisation_id": org_ids[(p.name.strip(), p.iati_ref)], "role": p.role,
             "version": 1, "created_at": now, "updated_at": now} for p, _ in checked.participants]
        children["locations"] += [{**v, "project_id": pid, "version": 1, "created_at": now, "updated_at": now}
                                  for v in checked.location_values]
        children["tags"] += [{"project_id": pid, "vocabulary": v, "code": c, "name": n, "percent": pct}
                             for v, c, n, pct in mapped.tags]
        children["finance"] += [{**r, "project_id": pid, "version": 1, "created_at": now, "updated_at": now}
                                for r in mapped.finance]
        docs = [(source_ids[d["url"]], d["category"], n) for n, d in enumerate(mapped.documents)]
        children["documents"] += [{"project_id": pid, "source_id": s, "category": c, "position": n} for s, c, n in docs]
        # As register_project records it: the columns (IATI JSON not yet set) and the children.
        snap = {c.key: audit.jsonable(row.get(c.key)) for c in table.columns if c.key not in ("iati", "narratives")}
        snap.update(id=pid, iati={}, narratives={}, **audit.jsonable(_audit_children(checked)))
        audits.append(_audit_row(ctx, "create", "project", row["code"], None, snap))
        # A new project's import event says what it brought; digests only matter for what changes.
        after: dict[str, Any] = {}
        fin = mapped.finance
        if fin:
            after["finance"] = [len(fin)]
        if mapped.tags:
            after["tags"] = [len(mapped.tags)]
        if docs:
            after["documents"] = [s for s, _, _ in docs]
        if first:
            status, period, note = first
            children["events"].append({"project_id": pid, "status": status, "effective": period.code,
                                       "effective_start": period.start, "recorded_at": ctx.now, "source_id": None,
                                       "note": note, "reopen": False, "backdated": False, "actor": ctx.actor,
                                       "claim_id": None})
            after["status"] = status
        audits.append(_audit_row(ctx, "import", "project", row["code"], None,
                                 {**after, "file": a.source, "line": a.line}))
        run.counts["finance_records"] += len(fin)
        run.counts["documents"] += len(docs)
    for name, model in (("sectors", ProjectSector), ("participants", Participant), ("locations", Location),
                        ("tags", ProjectTag), ("finance", FinanceRecord), ("documents", ProjectDocument)):
        if children[name]:
            ctx.session.execute(insert(_table(model)), children[name])
    events = children["events"]
    code_by_id = {pid: row["code"] for pid, row in zip(ids, rows, strict=True)}
    if events:
        event_table = _table(StatusEvent)
        event_ids = ctx.session.execute(insert(event_table).returning(event_table.c.id, sort_by_parameter_order=True),
                                        events).scalars()
        for event_id, event in zip(event_ids, events, strict=True):
            code = code_by_id[event["project_id"]]
            audits.append(_audit_row(ctx, "status", "project", code, {"status": None, "status_effective": None},
                                     {"status": event["status"], "status_effective": event["effective"],
                                      "event": audit.jsonable({**event, "id": event_id})}))
        run.counts["status_events"] += len(events)
    ctx.session.execute(insert(_table(AuditEvent)), audits)
    return outcomes


_FIN_COLS = ("kind", "type", "status", "transaction_date", "period_start", "period_end", "amount", "currency",
             "value_date", "description", "provider", "receiver", "ref", "extra")


def _known_refs(run: _Run, refs: set[str]) -> None:
    """Fill the cache of registered organisation names by IATI identifier, one query per 500."""
    missing = sorted(r for r in refs if r not in run.org_names and len(r) <= 100)
    for chunk in _chunks(missing):
        query = select(Organisation.iati_ref, Organisation.name).where(Organisation.iati_ref.in_(chunk))
        found = {ref: name for ref, name in run.ctx.session.execute(query)}
        for ref in chunk:
            run.org_names[ref] = found.get(ref)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _audit_children(checked: Any) -> dict[str, Any]:
    """What register_project records of a project's children in its audit event."""
    return {"sectors": {c: p for c, p in checked.sectors},
            "participants": [{"name": p.name, "role": p.role} for p, _ in checked.participants],
            "locations": [v["name"] for v in checked.location_values]}


def _audit_row(ctx: Context, action: str, entity: str, entity_id: object, before: dict[str, Any] | None,
               after: dict[str, Any] | None) -> dict[str, Any]:
    return {"at": ctx.now, "actor": ctx.actor, "action": action, "entity": entity, "entity_id": str(entity_id),
            "before": before, "after": after, "request_id": ctx.request_id}


def _first_status(a: Activity) -> tuple[str, Period, str] | None:
    """A new project's first status: (status, effective period, note), or None."""
    if a.status is None:
        return None
    try:
        status = Status.from_iati(a.status)
    except InvalidInput:
        _warn(a, "activity-status/@code", "unknown_status", f"activity-status '{a.status}' is not an "
              "ActivityStatus code (1-6); no status was recorded", a.status)
        return None
    effective, why = _effective_date(a, status, None)
    return status.value, Period.parse(effective), _status_note(a, why)


def _status_note(a: Activity, why: str) -> str:
    return f"IATI activity-status {a.status} in {Path(a.source).name}; dated by {why}"


def _organisation_ids(run: _Run, wanted: list[tuple[ParticipantSpec, str | None]]) -> dict[tuple[str, str | None], int]:
    """Organisation ids for participants, found as _organisation finds them (IATI identifier first,
    then name) or created (with their audit events)."""
    session, cache = run.ctx.session, run.org_ids
    refs = sorted({p.iati_ref for p, _ in wanted if p.iati_ref and ("ref", p.iati_ref) not in cache})
    names = sorted({p.name.strip() for p, _ in wanted if ("name", p.name.strip()) not in cache})
    for chunk in _chunks(refs):
        for oid, ref in session.execute(select(Organisation.id, Organisation.iati_ref)
                                        .where(Organisation.iati_ref.in_(chunk))):
            cache[("ref", ref)] = oid
    for chunk in _chunks(names):
        query = select(Organisation.id, Organisation.name).where(Organisation.name.in_(chunk))
        for oid, name in session.execute(query):
            cache[("name", name)] = oid
    now = utcnow()
    new: list[dict[str, Any]] = []
    pending: dict[tuple[str, str | None], int] = {}  # key -> index in new
    for p, country in wanted:
        name = p.name.strip()
        key = (name, p.iati_ref)
        if key in pending or (p.iati_ref and ("ref", p.iati_ref) in cache) or ("name", name) in cache:
            continue
        same = next((k for k, n in pending.items() if (p.iati_ref and k[1] == p.iati_ref) or k[0] == name), None)
        if same is not None:
            pending[key] = pending[same]
            continue
        pending[key] = len(new)
        new.append({"name": name, "country": country, "kind": p.kind, "iati_ref": p.iati_ref, "aliases": [],
                    "version": 1, "created_at": now, "updated_at": now})
    result: dict[tuple[str, str | None], int] = {}
    if new:
        table = _table(Organisation)
        ids = list(session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), new).scalars())
        session.execute(insert(_table(AuditEvent)), [
            _audit_row(run.ctx, "create", "organisation", oid, None, audit.jsonable({**row, "id": oid}))
            for oid, row in zip(ids, new, strict=True)])
        for key, index in pending.items():
            result[key] = ids[index]
        for oid, row in zip(ids, new, strict=True):
            cache[("name", row["name"])] = oid
            if row["iati_ref"]:
                cache[("ref", row["iati_ref"])] = oid
    for p, _ in wanted:
        key = (p.name.strip(), p.iati_ref)
        if key not in result:
            found = cache.get(("ref", p.iati_ref)) if p.iati_ref else None
            result[key] = found if found is not None else cache[("name", p.name.strip())]
    return result


def _source_ids(run: _Run, docs: list[dict[str, Any]]) -> dict[str, int]:
    """Source ids for document links by URL: the registered source with that URL, or a new one."""
    session = run.ctx.session
    missing = sorted({d["url"] for d in docs} - set(run.sources))
    for chunk in _chunks(missing):
        for sid, url in session.execute(select(Source.id, Source.url).where(Source.url.in_(chunk)).order_by(Source.id)):
            run.sources.setdefault(url, sid)
    now = utcnow()
    new: dict[str, dict[str, Any]] = {}
    for d in docs:
        if d["url"] not in run.sources and d["url"] not in new:
            new[d["url"]] = {"title": d["title"], "url": d["url"], "media_type": d["format"],
                             "language": d["language"], "published": d["published"], "known_from": d["known_from"],
                             "publisher": d["publisher"], "kind": "official",
                             "note": "a document-link of an IATI activity", "version": 1, "created_at": now,
                             "updated_at": now}
    if new:
        table = _table(Source)
        rows = list(new.values())
        ids = list(session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
        session.execute(insert(_table(AuditEvent)), [
            _audit_row(run.ctx, "create", "source", sid, None, audit.jsonable({**row, "id": sid}))
            for sid, row in zip(ids, rows, strict=True)])
        for sid, row in zip(ids, rows, strict=True):
            run.sources[row["url"]] = sid
    return run.sources


def _map(run: _Run, activity: Activity, code: str, existing: Project | None) -> _Mapped:
    """An activity as a ProjectSpec plus the rows and JSON the import owns."""
    a = activity
    title = first_text(a.title) or ""
    if len(title) > 500:
        _warn(a, "title/narrative", "clipped", f"the title is {len(title)} characters; the project title keeps the "
              "first 500 (the whole text stays in the project's narratives)")
    description = next((first_text(texts) for kind, texts in a.descriptions if kind in (None, "1")), None) \
        or next((first_text(texts) for _, texts in a.descriptions), None)
    tags: list[_Tag] = []
    host = None
    for i, country in enumerate(a.countries):
        alpha3 = countrynames.mappings.get(country.code.upper()) if len(country.code) == 2 else None
        if alpha3 is not None and find_country(alpha3) != alpha3:
            alpha3 = None  # a code countrynames maps but cooptrack's countries do not know (XK, Kosovo)
        if alpha3 is None:
            _warn(a, f"recipient-country[{i + 1}]/@code", "unknown_country", f"recipient-country '{country.code}' "
                  "is not an ISO 3166 alpha-2 code; kept as a tag", country.code)
        if alpha3 is not None and host is None:
            host = alpha3
        else:
            tags.append(_tag("recipient-country", country.code, country.narratives, country.percentage))
    for region in a.regions:
        tags.append(_tag(f"recipient-region:{region.vocabulary or '1'}", region.code, region.narratives,
                     region.percentage))
    sectors = _sectors(a, tags)
    participants = _participants(run, a)
    funding_ref = next((p.iati_ref for p in participants if p.role == "funding" and country_of_ref(p.iati_ref)), None)
    partner = country_of_ref(a.reporting_org.ref if a.reporting_org else None) or country_of_ref(funding_ref)
    value, currency, value_date = _value(run, a)
    dates = {name: a.date_of(t) for t, name in (("1", "planned_start"), ("2", "actual_start"),
                                                 ("3", "planned_end"), ("4", "actual_end"))}
    programme = run.options.programme
    if programme is None and existing is not None and existing.programme_id is not None:
        programme = run.ctx.session.scalar(select(Programme.code).where(Programme.id == existing.programme_id))

    def keep(new: Any, attr: str) -> Any:
        return new if new is not None or existing is None else getattr(existing, attr)

    spec = ProjectSpec(
        code=code, title=_clip(title, 500), programme=programme, description=keep(description, "description"),
        aliases=list(existing.aliases) if existing is not None else [],
        host_country=keep(host, "host_country"), partner_country=keep(partner, "partner_country"),
        value=keep(value, "value_amount"), currency=keep(currency, "value_currency"),
        value_date=keep(value_date, "value_date"),
        sectors=sectors if sectors or existing is None else {s.dac_code: s.percent for s in existing.sectors},
        participants=participants, locations=_locations(a) or _kept_locations(existing),
        iati_identifier=a.identifier or None, national_id=existing.national_id if existing is not None else None,
        **{k: keep(v, k) for k, v in dates.items()},
    )
    if existing is not None:
        _same_order(spec, existing)
    documents = _documents(a)
    return _Mapped(spec, _iati_json(a), _narratives(a), tags, _finance(a), documents)


def _same_order(spec: ProjectSpec, existing: Project) -> None:
    """Participants and locations in the order the registered project lists them, when they are
    the same: upsert_project compares them as lists, and the relationships have no order."""
    old = [(x.organisation.name, x.role) for x in existing.participants]
    new = [(p.name, p.role) for p in spec.participants]
    if sorted(old) == sorted(new) and len(set(old)) == len(old):
        spec.participants.sort(key=lambda p: old.index((p.name, p.role)))
    names = [loc.name for loc in existing.locations]
    if sorted(names) == sorted(loc.name for loc in spec.locations):
        by_name = sorted(spec.locations, key=lambda loc: names.index(loc.name))
        if [(x.latitude, x.longitude) for x in by_name] == [(x.latitude, x.longitude) for x in existing.locations]:
            spec.locations = by_name


def _tag(vocabulary: str, code: str, names: list[Narrative], percent: Decimal | None) -> _Tag:
    """A tag row, clipped to its columns (the whole text stays in Project.iati)."""
    name = first_text(names)
    return vocabulary[:64], code[:200], _clip(name, 500) if name else None, percent


def _sectors(a: Activity, tags: list[_Tag]) -> dict[str, str | int | Decimal]:
    dac = [s for s in a.sectors if s.vocabulary in (None, "1")]
    unknown = [s for s in dac if codes.sector(s.code) is None]
    for s in unknown:
        _warn(a, "sector/@code", "unknown_sector", f"sector '{s.code}' is not a DAC 5-digit code; the activity's DAC "
              "sectors are kept as tags (vocabulary sector:1)", s.code)
    result: dict[str, str | int | Decimal] = {}
    for s in a.sectors:
        if s.vocabulary in (None, "1") and not unknown:
            result[s.code] = s.percentage if s.percentage is not None else Decimal(100)
        else:
            tags.append(_tag(f"sector:{s.vocabulary or '1'}", s.code, s.narratives, s.percentage))
    return result


def _participants(run: _Run, a: Activity) -> list[ParticipantSpec]:
    """Participants under the publisher's names. An organisation identifier is passed on only when
    it is not registered yet or is registered under the same name: publishers give one identifier
    to several offices (Cordaid Iraq, Cordaid Afghanistan...), which stay apart by name."""
    result: list[ParticipantSpec] = []
    seen: set[tuple[str, str]] = set()
    for i, org in enumerate(a.participants):
        where = f"participating-org[{i + 1}]"
        role = ROLES.get((org.role or "").strip())
        ref = org.ref.strip() if org.ref and org.ref.strip() and len(org.ref.strip()) <= 100 else None
        name = org.name or ref
        if role is None:
            _warn(a, f"{where}/@role", "unknown_role", f"participating-org role '{org.role}' is not an "
                  "OrganisationRole code (1-4); this participant was not recorded", org.role)
            continue
        if name is None:
            _warn(a, where, "unnamed_org", "participating-org has neither a name nor a ref; it was not recorded")
            continue
        name = _clip(name, 300)
        if (name, role) in seen:
            continue  # the same organisation in the same role twice
        seen.add((name, role))
        if ref is not None:
            if ref not in run.org_names:
                run.org_names[ref] = run.ctx.session.scalar(select(Organisation.name)
                                                            .where(Organisation.iati_ref == ref))
            registered = run.org_names[ref]
            if registered is None:
                run.org_names[ref] = name
            elif registered != name:
                ref = None
        kind = org.type if org.type and len(org.type) <= 8 else None
        result.append(ParticipantSpec(name, role, country=country_of_ref(org.ref), kind=kind, iati_ref=ref))
    return result


def location_name(names: list[Narrative], ref: str | None, position: int) -> str:
    """A location's name in the register: its first name, else its ref, else 'location N'."""
    return _clip(first_text(names) or ref or f"location {position}", 300)


def _locations(a: Activity) -> list[LocationSpec]:
    return [LocationSpec(location_name(p.name, p.ref, i + 1), latitude=p.latitude, longitude=p.longitude)
            for i, p in enumerate(a.locations)]


def _kept_locations(existing: Project | None) -> list[LocationSpec]:
    if existing is None:
        return []
    return [LocationSpec(loc.name, loc.country, loc.admin_area, loc.latitude, loc.longitude)
            for loc in existing.locations]


def _value(run: _Run, a: Activity) -> tuple[Decimal | None, str | None, date | None]:
    for kind in (COMMITMENT, INCOMING_COMMITMENT):
        rows = [m for m in a.finance if m.kind == "transaction" and m.type == kind]
        if not rows:
            continue
        currencies = sorted({m.currency or "" for m in rows})
        total = sum((m.amount for m in rows), Decimal(0))
        if len(currencies) > 1 or total < 0:
            why = f"in {', '.join(currencies)}" if len(currencies) > 1 else f"summing to {total}"
            _warn(a, "transaction/transaction-type", "value_not_set", f"the commitments (type {kind}) are {why}; "
                  "the project value was left as it was")
            run.counts["value_not_set"] += 1
            return None, None, None
        return total, currencies[0], min(m.value_date for m in rows)
    return None, None, None


def _org_json(org: Any) -> dict[str, Any] | None:
    if org is None:
        return None
    data = {"ref": org.ref, "type": org.type, "activity-id": org.activity_id, **org.attrs,
            "narratives": _narratives_json(org.narratives)}
    return {k: v for k, v in data.items() if v not in (None, [], {})}


def _finance(a: Activity) -> list[dict[str, Any]]:
    rows = []
    for m in a.finance:
        for what, code in (("type", m.type), ("status", m.status)):
            if code is not None and len(code) > 8:
                a.findings.append(Finding("bad_code", f"a {m.kind.replace('_', ' ')}'s {what} code '{code[:40]}' is "
                                          "longer than 8 characters; IATI codes are short (e.g. 2, 11)",
                                          field=f"{m.kind.replace('_', '-')}/@{what}", value=code[:40],
                                          row=a.line, source=a.source))
        extra = dict(m.extra)
        for side, org in (("provider-org", m.provider), ("receiver-org", m.receiver)):
            if org is not None:
                extra[side] = _org_json(org)
        if len(m.description) > 1:
            extra["description"] = _narratives_json(m.description)
        rows.append({
            "kind": m.kind, "type": m.type, "status": m.status, "transaction_date": m.day,
            "period_start": m.period_start, "period_end": m.period_end, "amount": m.amount, "currency": m.currency,
            "value_date": m.value_date, "description": first_text(m.description),
            "provider": _clip(m.provider.name, 300) if m.provider and m.provider.name else None,
            "receiver": _clip(m.receiver.name, 300) if m.receiver and m.receiver.name else None,
            "ref": _clip(m.ref, 200) if m.ref else None, "extra": extra,
        })
    return rows


def _documents(a: Activity) -> list[dict[str, Any]]:
    """The activity's document links, each URL once (the repeats are dropped from the activity)."""
    docs: list[dict[str, Any]] = []
    kept: list[DocumentLink] = []
    publisher = a.reporting_org.name if a.reporting_org else None
    for i, d in enumerate(a.documents):
        if any(k.url == d.url for k in kept) or len(d.url) > 2000:
            why = "is listed twice" if len(d.url) <= 2000 else "is longer than 2,000 characters"
            _warn(a, f"document-link[{i + 1}]/@url", "document_skipped", f"document url {why}; kept once",
                  d.url[:80])
            continue
        kept.append(d)
        docs.append({"url": d.url, "format": _clip(d.format, 100), "title": _clip(first_text(d.title) or d.url, 500),
                     "language": d.languages[0][:8] if d.languages else None,
                     "published": d.day.isoformat() if d.day else None, "known_from": d.day,
                     "publisher": _clip(publisher, 200) if publisher else None,
                     "category": d.categories[0][:8] if d.categories else None})
    a.documents = kept
    return docs


def _narratives(a: Activity) -> dict[str, Any]:
    return {"title": _narratives_json(a.title),
            "description": [{"type": kind, "narratives": _narratives_json(texts)} if kind else
                            {"narratives": _narratives_json(texts)} for kind, texts in a.descriptions]}


def _coded_json(c: Coded) -> dict[str, Any]:
    data = {"code": c.code, "vocabulary": c.vocabulary, "percentage": c.percentage,
            "vocabulary-uri": c.vocabulary_uri, "narratives": _narratives_json(c.narratives)}
    return {k: audit.jsonable(v) for k, v in data.items() if v not in (None, [])}


def _iati_json(a: Activity) -> dict[str, Any]:
    """What the export needs and no column holds, in IATI's own names."""
    data: dict[str, Any] = {
        "attrs": a.attrs,
        "reporting-org": _org_json(a.reporting_org),
        "codes": a.codes,
        "default-aid-type": a.default_aid_types,
        "capital-spend": a.capital_spend,
        "other-identifier": a.other_identifiers,
        "activity-date": {d.type: _narratives_json(d.narratives) for d in a.dates if d.narratives},
        "participating-org": [{"role": p.role, **(_org_json(p) or {})} for p in a.participants],
        "recipient-country": [_coded_json(c) for c in a.countries],
        "recipient-region": [_coded_json(c) for c in a.regions],
        "sector": [_coded_json(c) for c in a.sectors],
        "location": [{"ref": p.ref, "name": _narratives_json(p.name), "srsName": p.srs_name, "xml": p.xml}
                     for p in a.locations],
        "document-link": [{"url": d.url, "title": _narratives_json(d.title),
                           "description": _narratives_json(d.description), "categories": d.categories,
                           "languages": d.languages} for d in a.documents],
        "xml": [list(x) for x in a.verbatim],
    }
    return {k: v for k, v in data.items() if v not in (None, [], {})}



# -- export ------------------------------------------------------------------------------------

ROLE_CODES = {"funding": "1", "accountable": "2", "extending": "3", "implementing": "4", "investor": "1",
              "contractor": "4"}
DEFAULT_CATEGORY = "A12"  # Activity web page: for a linked document with no category


@dataclass
class ReportingOrg:
    """The reporting-org for projects that have none stored (cooptrack's own projects)."""

    ref: str | None = None
    name: str | None = None
    type: str | None = None


def _alpha2(alpha3: str) -> str | None:
    for a2, a3 in countrynames.mappings.items():
        if a3 == alpha3 and len(a2) == 2:
            return str(a2)
    return None


def _texts(items: list[dict[str, str]] | None) -> list[Narrative]:
    return [Narrative(n.get("text", ""), n.get("lang")) for n in items or []]


def _org_of(data: dict[str, Any] | None, name: str | None = None) -> Org | None:
    if not data:
        return Org([Narrative(name)]) if name else None
    attrs = {k: v for k, v in data.items() if k not in ("ref", "type", "role", "activity-id", "narratives")}
    return Org(_texts(data.get("narratives")), data.get("ref"), data.get("type"), data.get("role"),
               data.get("activity-id"), attrs)


def _stored(items: list[dict[str, Any]], code: str, vocabulary: str | None = None) -> dict[str, Any]:
    for item in items:
        if item.get("code") == code and (vocabulary is None or (item.get("vocabulary") or "1") == vocabulary):
            return item
    return {}


class _Exporter:
    def __init__(self, default_org: ReportingOrg, report: Report) -> None:
        self.default_org = default_org
        self.report = report

    def note(self, project: Project, code: str, message: str, severity: str = "warning") -> None:
        self.report.add(Finding(code, message, source=project.code, severity="error" if severity == "error"
                                else "warning"))

    def activity(self, p: Project) -> Activity | None:
        data = p.iati or {}
        org = _org_of(data.get("reporting-org"))
        if org is None:
            d = self.default_org
            if not (d.ref and d.name):
                self.note(p, "no_reporting_org", f"project {p.code} has no IATI reporting organisation; pass "
                          "--reporting-org-ref and --reporting-org-name (and --reporting-org-type)", "error")
                return None
            org = Org([Narrative(d.name)], d.ref, d.type)
        a = Activity(source=p.code, line=0, position=0, reporting_org=org)
        a.identifier = p.iati_identifier or f"{org.ref}-{p.code}"
        a.attrs = dict(data.get("attrs") or {"last-updated-datetime": p.updated_at.isoformat(timespec="seconds")
                                             .replace("+00:00", "Z")})
        stored = p.narratives or {}
        titles = _texts(stored.get("title"))
        a.title = titles if first_text(titles) == p.title else [Narrative(p.title)]
        descriptions = [(d.get("type"), _texts(d.get("narratives"))) for d in stored.get("description", [])]
        first = next((first_text(t) for k, t in descriptions if k in (None, "1")), None) \
            or next((first_text(t) for _, t in descriptions), None)
        if not descriptions or first != p.description:
            descriptions = [("1", [Narrative(p.description or p.title)])]
        a.descriptions = descriptions
        a.participants = self.participants(p, data, org)
        a.other_identifiers = data.get("other-identifier", [])
        a.status = str(Status(p.status).iati_code) if p.status else None
        if a.status is None:
            a.status = "1"
            self.note(p, "no_status", f"project {p.code} has no status; exported as 1 (pipeline/identification)")
        self.dates(p, a, data)
        a.codes = dict(data.get("codes", {}))
        a.default_aid_types = data.get("default-aid-type", [])
        a.capital_spend = data.get("capital-spend")
        self.places(p, a, data)
        self.classifications(p, a, data)
        self.money(p, a)
        self.documents(p, a, data)
        a.verbatim = [(tag, xml) for tag, xml in data.get("xml", [])]
        return a

    def participants(self, p: Project, data: dict[str, Any], reporting: Org) -> list[Org]:
        """The register's participants, written as the publisher wrote them where they still match
        (a publisher may list one organisation twice in a role, e.g. with two activity ids)."""
        rows = [(x.organisation, ROLE_CODES.get(x.role, "4")) for x in p.participants]
        matched: set[int] = set()
        result: list[Org] = []
        for item in data.get("participating-org", []):
            names = {first_text(_texts(item.get("narratives"))), item.get("ref")} - {None}
            for i, (org, role) in enumerate(rows):
                if role == item.get("role") and org.name in names:
                    kept = _org_of(item)
                    assert kept is not None
                    if not kept.narratives:
                        kept.narratives = [Narrative(org.name)]
                    result.append(kept)
                    matched.add(i)
                    break
        result += [Org([Narrative(org.name)], org.iati_ref, org.kind, role)
                   for i, (org, role) in enumerate(rows) if i not in matched]
        if not result:
            result = [Org(list(reporting.narratives), reporting.ref, reporting.type, "2")]
            self.note(p, "no_participants", f"project {p.code} has no participants; the reporting organisation is "
                      "exported as accountable (IATI requires one participating-org)")
        return result

    def dates(self, p: Project, a: Activity, data: dict[str, Any]) -> None:
        texts = data.get("activity-date", {})
        for kind, day in (("1", p.planned_start), ("2", p.actual_start), ("3", p.planned_end), ("4", p.actual_end)):
            if day is not None:
                a.dates.append(ActivityDate(kind, day, _texts(texts.get(kind))))
        if a.dates:
            return
        events = list(p.events)
        started = next((e for e in events if e.status not in ("pipeline", "agreed")), None)
        event = started or (events[0] if events else None)
        kind = "2" if started else "1"
        day = event.effective_start if event else p.created_at.date()
        why = f"the status history ({event.status} from {event.effective})" if event else "the day it was registered"
        a.dates.append(ActivityDate(kind, day, [Narrative(f"Derived by cooptrack from {why}", "en")]))
        self.note(p, "derived_date", f"project {p.code} has no dates; exported activity-date type {kind} "
                  f"{day.isoformat()} from {why} (IATI requires one)")

    def places(self, p: Project, a: Activity, data: dict[str, Any]) -> None:
        stored = data.get("location", [])
        for i, loc in enumerate(sorted(p.locations, key=lambda x: x.id)):
            item = stored[i] if i < len(stored) else {}
            names = _texts(item.get("name"))
            same = bool(item) and location_name(names, item.get("ref"), i + 1) == loc.name
            a.locations.append(Place(names if same else [Narrative(loc.name)],
                                     item.get("ref") if same else None, loc.latitude, loc.longitude,
                                     item.get("srsName") if same else None, item.get("xml", []) if same else []))

    def classifications(self, p: Project, a: Activity, data: dict[str, Any]) -> None:
        countries, regions, sectors = (data.get("recipient-country", []), data.get("recipient-region", []),
                                       data.get("sector", []))
        if p.host_country:
            code = _alpha2(p.host_country)
            item: dict[str, Any] = next(
                (c for c in countries if countrynames.mappings.get(c["code"].upper()) == p.host_country), {})
            if code:
                a.countries.append(Coded(item.get("code", code), None, _pct(item), None,
                                         _texts(item.get("narratives"))))
        order = [(c.get("vocabulary") or "1", c.get("code")) for c in sectors]
        for s in p.sectors:
            item = _stored(sectors, s.dac_code, "1")
            a.sectors.append(Coded(s.dac_code, item.get("vocabulary", "1"), s.percent, None,
                                   _texts(item.get("narratives"))))
        for tag in p.tags:
            vocabulary = tag.vocabulary.partition(":")[2] or None
            texts = [Narrative(tag.name)] if tag.name else []
            if tag.vocabulary == "recipient-country":
                item = _stored(countries, tag.code)
                a.countries.append(Coded(tag.code, None, tag.percent, None, _texts(item.get("narratives")) or texts))
            elif tag.vocabulary.startswith("recipient-region:"):
                item = _stored(regions, tag.code, vocabulary)
                a.regions.append(Coded(tag.code, item.get("vocabulary", vocabulary), tag.percent,
                                       item.get("vocabulary-uri"), _texts(item.get("narratives")) or texts))
            elif tag.vocabulary.startswith("sector:"):
                item = _stored(sectors, tag.code, vocabulary)
                a.sectors.append(Coded(tag.code, item.get("vocabulary", vocabulary), tag.percent,
                                       item.get("vocabulary-uri"), _texts(item.get("narratives")) or texts))
        # In the publisher's order where known (the register orders DAC sectors by code).
        a.sectors.sort(key=lambda c: order.index((c.vocabulary or "1", c.code))
                       if (c.vocabulary or "1", c.code) in order else len(order))

    def money(self, p: Project, a: Activity) -> None:
        for r in p.finance:
            extra = r.extra or {}
            value_date = r.value_date or r.transaction_date or r.period_start
            if value_date is None or (r.kind != "transaction" and r.period_start is None):
                self.note(p, "finance_skipped", f"project {p.code}: a {r.kind} of {r.amount} {r.currency} has no "
                          "dates; not exported")
                continue
            description = _texts(extra.get("description")) or ([Narrative(r.description)] if r.description else [])
            a.finance.append(Money(
                r.kind, r.amount, r.currency, value_date, r.type, r.status, r.transaction_date or value_date,
                r.period_start, r.period_end, r.ref, description,
                _org_of(extra.get("provider-org"), r.provider) if (r.provider or extra.get("provider-org")) else None,
                _org_of(extra.get("receiver-org"), r.receiver) if (r.receiver or extra.get("receiver-org")) else None,
                extra))
        if p.value_amount is not None and not p.finance:
            self.note(p, "value_not_exported", f"project {p.code}: its value ({p.value_amount} {p.value_currency}) "
                      "is not exported; IATI carries money as transactions and budgets only")

    def documents(self, p: Project, a: Activity, data: dict[str, Any]) -> None:
        stored = {d.get("url"): d for d in data.get("document-link", [])}
        for doc in p.documents:
            src = doc.source
            if not src.url:
                self.note(p, "document_skipped", f"project {p.code}: document '{src.title}' has no URL; not exported")
                continue
            item = stored.get(src.url, {})
            titles = _texts(item.get("title"))
            categories = item.get("categories") or []
            if not categories or categories[0] != doc.category:
                categories = [doc.category or DEFAULT_CATEGORY]
            a.documents.append(DocumentLink(
                src.url, src.media_type or "application/octet-stream",
                titles if titles and _clip(first_text(titles) or src.url, 500) == src.title
                else [Narrative(src.title)],
                _texts(item.get("description")), categories,
                item.get("languages") or ([src.language] if src.language else []),
                parse_day(src.published) if src.published else None))


def _pct(item: dict[str, Any]) -> Decimal | None:
    return Decimal(item["percentage"]) if item.get("percentage") is not None else None


def export_activities(ctx: Context, report: Report, programme: str | None = None,
                      reporting_org: ReportingOrg | None = None) -> Iterable[Activity]:
    """The register's projects (of one programme, or all) as IATI activities, ordered by id;
    problems go to ``report`` (an error means the export must not be used)."""
    from sqlalchemy.orm import selectinload


    query = select(Project).order_by(Project.code).options(
        selectinload(Project.sectors), selectinload(Project.participants).selectinload(Participant.organisation),
        selectinload(Project.locations), selectinload(Project.tags), selectinload(Project.finance),
        selectinload(Project.documents).selectinload(ProjectDocument.source), selectinload(Project.events))
    if programme:
        query = query.where(Project.programme_id == get_programme(ctx, programme).id)
    exporter = _Exporter(reporting_org or ReportingOrg(), report)
    for project in ctx.session.scalars(query.execution_options(yield_per=200)):
        activity = exporter.activity(project)
        if activity is not None:
            yield activity
