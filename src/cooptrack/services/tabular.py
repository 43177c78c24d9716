"""Projects as spreadsheet rows: the template's columns, import (every row checked by
``check_project`` before anything is written, then upserted by id), and export.

One row is one project. Columns left out of a file keep the registered values of the
projects it updates; an empty cell clears the value. ``status`` and ``status_date`` record a
status event when the status differs from the project's current one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, event, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ORMExecuteState, Session, selectinload
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.schema import Column as TableColumn

from cooptrack.domain.period import Period
from cooptrack.domain.status import Status
from cooptrack.errors import AlreadyExists, InvalidInput, NotFound
from cooptrack.findings import Finding, Report
from cooptrack.formats.tabular import (
    Cell,
    Sheet,
    Value,
    day_text,
    match_header,
    parse_participants,
    parse_sectors,
    split_list,
    unescape_formula,
)
from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.programmes import get_programme
from cooptrack.services.projects import (
    LocationSpec,
    ParticipantSpec,
    ProjectSpec,
    StatusSpec,
    _audit_extra,
    _children_state,
    add_status_event,
    check_project,
    upsert_project,
)
from cooptrack.store.models import (
    AuditEvent,
    Organisation,
    Participant,
    Programme,
    Project,
    ProjectSector,
    Source,
    StatusEvent,
)
from cooptrack.store.types import plain


@dataclass(frozen=True)
class Column:
    name: str
    form: str
    example: str
    required: bool = False
    date: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("id", "the project's id: lower-case letters, digits, '.', '_' or '-'; the key rows are matched on",
           "bakad", required=True),
    Column("title", "the project's title", "Big Almaty Ring Road (BAKAD)", required=True),
    Column("programme", "a registered programme id", "fresh-wind"),
    Column("industry", "one of the programme's industries (empty: from the largest sector)", "Infrastructure"),
    Column("description", "free text", "66 km toll ring road around Almaty"),
    Column("aliases", "other names, separated by ';'", "BAKAD; Almaty ring road"),
    Column("host_country", "ISO 3166 alpha-3 code or a country name", "KAZ"),
    Column("partner_country", "ISO 3166 alpha-3 code or a country name", "KOR"),
    Column("value", "amount in the original currency; digits with a dot for decimals; thousands separated by "
           "',' or spaces are accepted (1,250,000 or 1 250 000), a lone comma (1,5) is refused", "1250000000"),
    Column("currency", "ISO 4217 code of the value", "USD"),
    Column("value_date", "the date the value is stated for (picks the exchange rate)", "2019-04-22", date=True),
    Column("sectors", "DAC 5-digit codes with percentages summing to 100, separated by ';'", "21020:60; 21030:40"),
    Column("participants", "organisations as 'Name (role, country)', separated by ';'; roles: funding, "
           "accountable, extending, implementing, investor, contractor",
           "Korea Expressway Corporation (contractor, KOR); Samruk-Kazyna (investor, KAZ)"),
    Column("planned_start", "date", "2018-05-01", date=True),
    Column("planned_end", "date", "2022-12-31", date=True),
    Column("actual_start", "date", "2018-06-15", date=True),
    Column("actual_end", "date", "", date=True),
    Column("iati_identifier", "IATI activity identifier, unique", "KR-GOV-010-2018-001"),
    Column("national_id", "the national registry's id", "KZ-PPP-0042"),
    Column("source", "id of a registered source backing these facts", "kazakh-invest-2019"),
    Column("status", "pipeline, agreed, in_execution, implemented, closed, suspended or cancelled; a status "
           "different from the current one is recorded as a new dated event", "in_execution"),
    Column("status_date", "when that status took effect: 2019, 2019-H1, 2019-Q3, 2019-07 or a date", "2019-04",
           date=True),
)
NAMES = [c.name for c in COLUMNS]
REQUIRED = [c.name for c in COLUMNS if c.required]
DATE_COLUMNS = {c.name for c in COLUMNS if c.date}
NOTES = (
    "Dates: write 2019-04-22. 22.04.2019 (day first) is accepted too; 04/22/2019 is refused because "
    "slashed dates mean different days in different countries.",
    "Blank rows are skipped. Each project id appears once per file.",
    "Import upserts by id: new ids are created, known ids updated. A column left out of the file keeps the "
    "registered values; an empty cell clears the value.",
    "Every row is checked before anything is written; one error anywhere means nothing is written.",
    "Cells starting with =, +, - or @ are written with a leading ' on export, and read back without it.",
)


def template_readme() -> list[list[str]]:
    lines = [["column", "required", "how to write it", "example"]]
    lines += [[c.name, "yes" if c.required else "", c.form, c.example] for c in COLUMNS]
    lines += [[], ["notes"]] + [[n] for n in NOTES]
    return lines


# --- export ----------------------------------------------------------------------------------


def _participants_text(participants: Sequence[Participant]) -> str | None:
    parts = []
    for p in sorted(participants, key=lambda x: x.id or 0):
        org = p.organisation
        parts.append(f"{org.name} ({p.role}, {org.country})" if org.country else f"{org.name} ({p.role})")
    return "; ".join(parts) or None


def project_cells(project: Project, source_codes: dict[int, str]) -> dict[str, Value]:
    """The project as one spreadsheet row (typed values: Decimal, date, text)."""
    return {
        "id": project.code,
        "title": project.title,
        "programme": project.programme.code if project.programme else None,
        "industry": project.industry.name if project.industry else None,
        "description": project.description,
        "aliases": "; ".join(project.aliases or []) or None,
        "host_country": project.host_country,
        "partner_country": project.partner_country,
        "value": plain(project.value_amount) if project.value_amount is not None else None,
        "currency": project.value_currency,
        "value_date": project.value_date,
        "sectors": "; ".join(f"{s.dac_code}:{format(plain(s.percent), 'f')}" for s in project.sectors) or None,
        "participants": _participants_text(project.participants),
        "planned_start": project.planned_start,
        "planned_end": project.planned_end,
        "actual_start": project.actual_start,
        "actual_end": project.actual_end,
        "iati_identifier": project.iati_identifier,
        "national_id": project.national_id,
        "source": source_codes.get(project.source_id) if project.source_id else None,
        "status": project.status,
        "status_date": project.status_effective,
    }


def check_fields(fields: Sequence[str] | None) -> list[str]:
    if not fields:
        return list(NAMES)
    chosen = [f.strip() for f in fields if f.strip()]
    unknown = [f for f in chosen if f not in NAMES]
    if unknown:
        msg = f"unknown field(s) {', '.join(unknown)}; the fields are: {', '.join(NAMES)}"
        raise InvalidInput(msg, [Finding("unknown_field", msg, field="--fields", value=", ".join(unknown))])
    return chosen


def _project_query() -> Any:
    return select(Project).order_by(Project.code).options(
        selectinload(Project.sectors), selectinload(Project.participants).selectinload(Participant.organisation),
        selectinload(Project.programme), selectinload(Project.industry))


def _source_codes(ctx: Context) -> dict[int, str]:
    return {i: c or str(i) for i, c in ctx.session.execute(select(Source.id, Source.code))}


def export_projects(ctx: Context, fields: Sequence[str], programme: str | None = None) -> Iterator[list[Value]]:
    """The rows of every project (of one programme), ordered by id, ``fields`` in order."""
    query = _project_query()
    if programme:
        query = query.where(Project.programme_id == get_programme(ctx, programme).id)
    codes = _source_codes(ctx)
    for project in ctx.session.scalars(query.execution_options(yield_per=1000)):
        cells = project_cells(project, codes)
        yield [cells[f] for f in fields]


# --- import ----------------------------------------------------------------------------------

# check_project names fields in words ("host country", "sectors[21020] percent"); the sheet
# names columns.
_FIELD_COLUMNS = {"project id": "id", "participants": "participants", "sectors": "sectors"}


def _column(finding_field: str | None, message: str) -> str | None:
    if finding_field is None:
        for name in ("programme", "source"):
            if message.startswith(f"{name} '"):
                return name
        return None
    base = finding_field.split("[", 1)[0].strip()
    name = _FIELD_COLUMNS.get(base, base.replace(" ", "_"))
    return name if name in NAMES else finding_field


@contextmanager
def cached_lookups(session: Session) -> Iterator[None]:
    """Serve repeated look-ups of a programme or a source by one column (``code = ...``)
    from memory for the length of an import: ``check_project`` looks them up for every row,
    and neither changes while projects are imported. SQLAlchemy's documented hook for result
    caching (``do_orm_execute``); any other statement runs as usual."""
    cache: dict[tuple[Any, ...], Any] = {}

    def serve(state: ORMExecuteState) -> Any:
        key = _lookup_key(state)
        if key is None:
            return None
        if key not in cache:
            cache[key] = state.invoke_statement().freeze()
        return cache[key]()

    event.listen(session, "do_orm_execute", serve)
    try:
        yield
    finally:
        event.remove(session, "do_orm_execute", serve)


def _lookup_key(state: ORMExecuteState) -> tuple[Any, ...] | None:
    if not state.is_select or state.is_relationship_load or state.is_column_load:
        return None
    stmt: Any = state.statement
    descriptions = stmt.column_descriptions
    entity = descriptions[0].get("entity") if len(descriptions) == 1 else None
    if entity not in (Programme, Source) or descriptions[0].get("type") is not entity:
        return None
    where = stmt.whereclause
    if (isinstance(where, BinaryExpression) and where.operator is operators.eq
            and isinstance(where.left, TableColumn) and where.left.table is entity.__table__
            and isinstance(where.right, BindParameter) and stmt._limit_clause is None):
        return (entity.__name__, where.left.name, where.right.value)
    return None


@dataclass
class _Row:
    number: int
    spec: ProjectSpec
    status: str | None = None
    status_date: str | None = None
    current_status: str | None = None
    project: Project | None = None  # the registered project this row updates
    checked: Any = None  # check_project's result


@dataclass
class ImportResult:
    report: Report
    summary: dict[str, int] = field(default_factory=dict)
    blank_rows: int = 0


def _text(cells: dict[str, Cell], name: str) -> str | None:
    value = cells.get(name)
    if isinstance(value, str):
        value = unescape_formula(value).strip()
    return value or None


def _spec(cells: dict[str, Cell], locations: list[LocationSpec], findings: list[Finding]) -> _Row | None:
    def parse(name: str, func: Any, default: Any) -> Any:
        text = _text(cells, name)
        if text is None:
            return default
        try:
            return func(text, name)
        except InvalidInput as exc:
            findings.extend(exc.findings)
            return default

    for name in DATE_COLUMNS:
        cells[name] = parse(name, day_text, None)
    participants = [ParticipantSpec(n, r, c) for n, r, c in parse("participants", parse_participants, [])]
    spec = ProjectSpec(
        code=_text(cells, "id") or "", title=_text(cells, "title") or "", programme=_text(cells, "programme"),
        industry=_text(cells, "industry"), description=_text(cells, "description"),
        aliases=split_list(_text(cells, "aliases") or ""), host_country=_text(cells, "host_country"),
        partner_country=_text(cells, "partner_country"),
        value=(_text(cells, "value") or "").replace("\u00a0", " ").replace("\u202f", " ") or None,
        currency=_text(cells, "currency"), value_date=_text(cells, "value_date"),
        sectors=parse("sectors", parse_sectors, {}), participants=participants, locations=locations,
        planned_start=_text(cells, "planned_start"), planned_end=_text(cells, "planned_end"),
        actual_start=_text(cells, "actual_start"), actual_end=_text(cells, "actual_end"),
        iati_identifier=_text(cells, "iati_identifier"), national_id=_text(cells, "national_id"),
        source=_text(cells, "source"))
    row = _Row(0, spec, status=_text(cells, "status"), status_date=_text(cells, "status_date"))
    if row.status is not None:
        try:
            row.status = Status.parse(row.status).value
        except InvalidInput as exc:
            findings.extend(exc.findings)
    if row.status_date is not None:
        try:
            row.status_date = Period.parse(row.status_date, "status_date").code
        except InvalidInput as exc:
            findings.extend(exc.findings)
    if row.status and not row.status_date:
        findings.append(Finding("missing_status_date", "a status needs its status_date (when it took effect), "
                                "e.g. 2019-04", field="status_date"))
    if row.status_date and not row.status:
        findings.append(Finding("missing_status", "status_date is filled but status is empty", field="status"))
    return row


def _existing(ctx: Context, codes: list[str]) -> dict[str, Project]:
    found: dict[str, Project] = {}
    for i in range(0, len(codes), 500):
        query = _project_query().where(Project.code.in_(codes[i:i + 500])).options(selectinload(Project.locations))
        found.update((p.code, p) for p in ctx.session.scalars(query))
    return found


def _iati_owners(ctx: Context, identifiers: list[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for i in range(0, len(identifiers), 500):
        chunk = identifiers[i:i + 500]
        for iati, code in ctx.session.execute(select(Project.iati_identifier, Project.code)
                                              .where(Project.iati_identifier.in_(chunk))):
            owners[iati] = code
    return owners


def _locations(project: Project) -> list[LocationSpec]:
    return [LocationSpec(loc.name, loc.country, loc.admin_area, loc.latitude, loc.longitude)
            for loc in project.locations]


def _keep_order(project: Project, spec: ProjectSpec) -> None:
    """The registered participants in their registered order when the row lists the same ones:
    a cell's order is not a change."""
    current = [(x.organisation.name, x.role) for x in project.participants]
    if sorted(current) == sorted((p.name, p.role) for p in spec.participants):
        spec.participants.sort(key=lambda p: current.index((p.name, p.role)))


def import_projects(ctx: Context, sheet: Sheet, dry_run: bool = False, max_findings: int = 100,
                    bulk: bool = True) -> ImportResult:
    """Check every row, then (only if no row has an error, and not ``dry_run``) write them
    all. The counts say what was (or, in a dry run, would be) created, updated, unchanged.
    ``bulk=False`` creates new projects one by one through ``upsert_project`` (slower; the
    reference the bulk path is tested against)."""
    report = Report(limit=max_findings)
    result = ImportResult(report, {"created": 0, "updated": 0, "unchanged": 0, "refused": 0})
    mapped, header_findings = match_header(sheet.header, NAMES, REQUIRED, sheet.name)
    report.extend(sheet.findings)
    report.extend(header_findings)
    if header_findings:
        return result
    raw = list(sheet.rows)
    result.blank_rows = sheet.blank_rows
    report.extend(sheet.findings[len(report.findings):])  # formulas found while reading the rows
    index = [(i, name) for i, name in enumerate(mapped) if name]
    width = len(mapped)
    code_at = mapped.index("id")
    existing = _existing(ctx, sorted({c for _, cells in raw if len(cells) > code_at and (c := cells[code_at])}))
    source_codes = _source_codes(ctx)
    rows: list[_Row] = []
    first_seen: dict[str, int] = {}
    iati_seen: dict[str, tuple[int, str]] = {}
    with cached_lookups(ctx.session):
        for number, cells in raw:
            if report.truncated:
                break
            findings: list[Finding] = []
            if any(c is not None for c in cells[width:]):
                findings.append(Finding("cells_beyond_header", f"the row has {len(cells)} cells but the header only "
                                        f"{width}: a value without a column (an unquoted ',' or ';' inside a "
                                        "value?); quote the value or remove the extra cells"))
            given = {name: (cells[i] if i < len(cells) else None) for i, name in index}
            project = existing.get(given.get("id") or "")
            merged: dict[str, Cell] = {}
            if project is not None:
                merged = {k: (format(v, "f") if isinstance(v, Decimal) else str(v) if v is not None else None)
                          for k, v in project_cells(project, source_codes).items() if k not in given}
            merged.update(given)
            row = _spec(merged, _locations(project) if project else [], findings)
            assert row is not None
            row.number, row.project = number, project
            row.current_status = project.status if project else None
            if project is not None:
                _keep_order(project, row.spec)
            code = row.spec.code
            if code and code in first_seen:
                findings.append(Finding("duplicate_id", f"id '{code}' is also on row {first_seen[code]}; each "
                                        "project once per file", field="id", value=code))
            first_seen.setdefault(code, number)
            try:
                row.checked = check_project(ctx, row.spec)
            except InvalidInput as exc:
                findings.extend(exc.findings)
            iati = row.spec.iati_identifier
            if iati and iati in iati_seen and iati_seen[iati][1] != code:
                findings.append(Finding("duplicate_iati_identifier", f"iati_identifier '{iati}' is also on row "
                                        f"{iati_seen[iati][0]}; each activity has one project", "iati_identifier",
                                        iati))
            elif iati:
                iati_seen[iati] = (number, code)
            rows.append(row)
            if findings:
                result.summary["refused"] += 1
                report.extend([replace(f, row=number, source=sheet.name, field=_column(f.field, f.message))
                               for f in findings])
        owners = _iati_owners(ctx, sorted(iati_seen))
        for iati, (number, code) in iati_seen.items():
            if owners.get(iati, code) != code:
                result.summary["refused"] += 1
                msg = f"iati_identifier '{iati}' belongs to project '{owners[iati]}'; an identifier names one project"
                report.add(Finding("iati_identifier_taken", msg, "iati_identifier", iati, number, sheet.name))
        if report.valid:
            _write(ctx, rows, result, sheet.name, dry_run, bulk)
    return result


def _write(ctx: Context, rows: list[_Row], result: ImportResult, source: str, dry_run: bool,
           bulk: bool = True) -> None:
    """Write every row inside a savepoint; roll it back on any refusal or in a dry run. New
    projects are inserted in bulk (``bulk``); rows of registered projects go through
    ``upsert_project`` unless nothing in them differs."""
    report, counts = result.report, result.summary
    savepoint = ctx.session.begin_nested()
    fresh = []
    for row in rows:
        status_change = bool(row.status and row.status != row.current_status)
        if row.project is None and bulk:
            fresh.append(row)
            continue
        if row.project is not None and not status_change and _unchanged(row.project, row.checked):
            counts["unchanged"] += 1
            continue
        try:
            _, outcome = upsert_project(ctx, row.spec, match_iati=False)
            if status_change:
                assert row.status and row.status_date
                add_status_event(ctx, StatusSpec(row.spec.code, row.status, row.status_date))
                outcome = "updated" if outcome == "unchanged" else outcome
            counts[outcome] += 1
        except InvalidInput as exc:
            counts["refused"] += 1
            report.extend([replace(f, row=row.number, source=source, field=_column(f.field, f.message))
                           for f in exc.findings])
        except (AlreadyExists, NotFound) as exc:
            counts["refused"] += 1
            report.add(Finding(exc.code, exc.message, row=row.number, source=source))
    if fresh and report.valid:
        counts["created"] += create_many(ctx, [(r.checked, r.status, r.status_date) for r in fresh])
    if dry_run or not report.valid:
        savepoint.rollback()
        if not report.valid:
            counts.update(created=0, updated=0, unchanged=0)
    else:
        savepoint.commit()


def _unchanged(project: Project, checked: Any) -> bool:
    """What upsert_project would find: every field and child as registered."""
    return all(getattr(project, k) == v for k, v in checked.fields.items()) and \
        _children_state(project) == _audit_extra(checked)


def create_many(ctx: Context, items: list[tuple[Any, str | None, str | None]]) -> int:
    """Insert new projects checked by ``check_project`` (with a first status event when given)
    in a few statements: the rows, audit events and organisations ``register_project`` and
    ``add_status_event`` write one project at a time. tests/test_tabular_bulk.py holds the
    two paths to the same result."""
    now, actor = ctx.now, ctx.actor
    stamps = {"version": 1, "created_at": now, "updated_at": now}
    events: list[dict[str, Any]] = []

    def record(action: str, entity: str, entity_id: object, before: Any, after: Any) -> None:
        events.append({"at": now, "actor": actor, "action": action, "entity": entity, "entity_id": str(entity_id),
                       "before": before, "after": after, "request_id": ctx.request_id})

    names: dict[str, str | None] = {}
    for checked, _, _ in items:
        for participant, country in checked.participants:
            names.setdefault(participant.name.strip(), country)
    org_ids = _organisation_ids(ctx, sorted(names))
    new_orgs: list[dict[str, Any]] = [{"name": n, "country": c, "kind": None, "iati_ref": None, "aliases": [], **stamps}
                for n, c in names.items() if n not in org_ids]
    _insert(ctx, Organisation, new_orgs)
    org_ids.update(_organisation_ids(ctx, [o["name"] for o in new_orgs]))
    for org in new_orgs:
        record("create", "organisation", org_ids[org["name"]], None,
               _snapshot(Organisation, {**org, "id": org_ids[org["name"]]}))
    projects = [{**checked.fields, "narratives": {}, "iati": {}, **stamps} for checked, _, _ in items]
    for values, (_, status, effective) in zip(projects, items, strict=True):
        period = Period.parse(effective) if status and effective else None
        values.update(status=status, status_effective=period.code if period else None,
                      status_start=period.start if period else None,
                      version=2 if period else 1)  # created, then its status set: two versions
    _insert(ctx, Project, projects)
    ids = _ids(ctx, Project.code, Project.id, [v["code"] for v in projects])
    sectors, participants, first_events = [], [], []
    for values, (checked, status, _) in zip(projects, items, strict=True):
        pid = values["id"] = ids[values["code"]]
        sectors += [{"project_id": pid, "dac_code": c, "percent": p} for c, p in checked.sectors]
        participants += [{"project_id": pid, "organisation_id": org_ids[p.name.strip()], "role": p.role, **stamps}
                         for p, _ in checked.participants]
        created = {**values, "status": None, "status_effective": None, "status_start": None, "version": 1}
        record("create", "project", values["code"], None, _snapshot(Project, created, **_audit_extra(checked)))
        if status:
            first_events.append({"project_id": pid, "status": status, "effective": values["status_effective"],
                                 "effective_start": values["status_start"], "recorded_at": now, "source_id": None,
                                 "note": None, "reopen": False, "backdated": False, "actor": actor, "claim_id": None,
                                 "code": values["code"]})
    _insert(ctx, ProjectSector, sectors)
    _insert(ctx, Participant, participants)
    _insert(ctx, StatusEvent, [{k: v for k, v in e.items() if k != "code"} for e in first_events])
    event_ids = _ids(ctx, StatusEvent.project_id, StatusEvent.id, [e["project_id"] for e in first_events])
    for new in first_events:
        code = new.pop("code")
        record("status", "project", code, {"status": None, "status_effective": None},
               {"status": new["status"], "status_effective": new["effective"],
                "event": _snapshot(StatusEvent, {**new, "id": event_ids[new["project_id"]]})})
    for i in range(0, len(events), 5000):
        ctx.session.execute(insert(_table(AuditEvent)), events[i:i + 5000])
    return len(projects)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _organisation_ids(ctx: Context, names: list[str]) -> dict[str, int]:
    return _ids(ctx, Organisation.name, Organisation.id, names)


def _ids(ctx: Context, key: Any, id_column: Any, keys: list[Any]) -> dict[Any, int]:
    """The ids of the rows whose unique ``key`` is in ``keys``. (Insert with RETURNING would
    go row by row on SQLite, where a multi-row RETURNING has no guaranteed order.)"""
    found: dict[Any, int] = {}
    for i in range(0, len(keys), 500):
        for k, row_id in ctx.session.execute(select(key, id_column).where(key.in_(keys[i:i + 500]))):
            found[k] = row_id
    return found


def _insert(ctx: Context, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 5000):
        ctx.session.execute(insert(_table(model)), rows[i:i + 5000])


def _snapshot(model: Any, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What ``audit.snapshot`` gives for a row of ``model`` holding ``values``."""
    data = {attr.key: audit.jsonable(values.get(attr.key)) for attr in sa_inspect(model).column_attrs}
    data.update({k: audit.jsonable(v) for k, v in extra.items()})
    return data
