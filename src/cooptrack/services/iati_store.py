"""IATI import: writing. What the register says about a prepared activity (``project_spec``:
organisations already registered, what an updated project keeps); new projects in batches through
multi-row inserts (``create_many``); an updated project's finance records, tags and documents
replaced when they differ; status events; organisations and sources found or created, each with
its audit event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, cast

import countrynames
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import sqltypes

from cooptrack.domain.countries import find_country
from cooptrack.domain.period import Period
from cooptrack.domain.status import TERMINAL, Status
from cooptrack.errors import InvalidInput
from cooptrack.formats.iati_read import parse_day
from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.iati_findings import ImportRun, Item, refusal, warn
from cooptrack.services.iati_mapping import (
    FINANCE_COLUMNS,
    FINANCE_DAYS,
    Document,
    ParticipantRow,
    Prepared,
    Tag,
    clip,
    slugify,
)
from cooptrack.services.projects import (
    LocationSpec,
    ParticipantSpec,
    ProjectSpec,
    StatusSpec,
    add_status_event,
    check_project,
    organisation_aliases,
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


def _digest(rows: list[Any]) -> str:
    """A short fingerprint of rows for the audit log (which rows an import replaced)."""
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start: start + size]


def _registered(run: ImportRun, identifiers: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(identifiers))):
        found.update(x for x in run.ctx.session.scalars(select(Project.iati_identifier)
                                                         .where(Project.iati_identifier.in_(chunk))) if x)
    return found


def _existing(run: ImportRun, item: Item, code_hint: str | None) -> Project | None:
    session = run.ctx.session
    if item.p.identifier:
        return session.scalar(select(Project).where(Project.iati_identifier == item.p.identifier))
    return session.scalar(select(Project).where(Project.code == code_hint))


def _free_code(run: ImportRun, identifier: str, taken: set[str] | None = None) -> str:
    base = slugify(identifier)
    code, n = base, 1
    while (taken is not None and code in taken) or \
            run.ctx.session.scalar(select(Project.id).where(Project.code == code)) is not None:
        n += 1
        suffix = f"-{n}"
        code = base[: 64 - len(suffix)] + suffix
    return code


def _day(n: int | None) -> date | None:
    return None if n is None else date.fromordinal(n)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


# -- what the register says about a prepared activity --------------------------------------------


def country_of_ref(ref: str | None) -> str | None:
    """The country of an IATI organisation identifier (its registration agency prefix, e.g.
    KR-GOV-010 -> KOR), or None (XM-DAC-..., XI-IATI-... are not countries)."""
    if not ref or len(ref) < 3 or ref[2] != "-":
        return None
    code: str | None = countrynames.mappings.get(ref[:2].upper())
    return code


def project_spec(run: ImportRun, item: Item, code: str, existing: Project | None) -> ProjectSpec:
    """The project an activity makes (``existing``: the registered one it updates). Adds the
    mapping's findings to the item's and sets its tags."""
    p = item.p
    if len(p.title) > 500:
        warn(item, "title/narrative", "clipped", f"the title is {len(p.title)} characters; the project title keeps "
             "the first 500 (the whole text stays in the project's narratives)")
    host = None
    item.tags = []
    for i, (country, tag) in enumerate(p.countries):
        alpha3 = countrynames.mappings.get(country.upper()) if len(country) == 2 else None
        if alpha3 is not None and find_country(alpha3) != alpha3:
            alpha3 = None  # a code countrynames maps but cooptrack's countries do not know (XK, Kosovo)
        if alpha3 is None:
            warn(item, f"recipient-country[{i + 1}]/@code", "unknown_country", f"recipient-country '{country}' "
                 "is not an ISO 3166 alpha-2 code; kept as a tag", country)
        if alpha3 is not None and host is None:
            host = alpha3
        else:
            item.tags.append(tag)
    item.tags += p.tags
    item.noted()
    if p.value_not_set:
        run.counts["value_not_set"] += 1
    participants = _participant_specs(run, p.participants)
    funding_ref = next((x.iati_ref for x in participants if x.role == "funding" and country_of_ref(x.iati_ref)), None)
    partner = country_of_ref(p.reporting_ref) or country_of_ref(funding_ref)
    programme = run.options.programme
    if programme is None and existing is not None and existing.programme_id is not None:
        programme = run.ctx.session.scalar(select(Programme.code).where(Programme.id == existing.programme_id))

    def keep(new: Any, attr: str) -> Any:
        return new if new is not None or existing is None else getattr(existing, attr)

    sectors: dict[str, str | int | Decimal] = {c: Decimal(pct) for c, pct in p.sectors}
    locations = [LocationSpec(name, latitude=_decimal(lat), longitude=_decimal(lon)) for name, lat, lon in p.locations]
    spec = ProjectSpec(
        code=code, title=clip(p.title, 500), programme=programme, description=keep(p.description, "description"),
        aliases=list(existing.aliases) if existing is not None else [],
        host_country=keep(host, "host_country"), partner_country=keep(partner, "partner_country"),
        value=keep(_decimal(p.value), "value_amount"), currency=keep(p.currency, "value_currency"),
        value_date=keep(_day(p.value_date), "value_date"),
        sectors=sectors if sectors or existing is None else {s.dac_code: s.percent for s in existing.sectors},
        participants=participants, locations=locations or _kept_locations(existing),
        iati_identifier=p.identifier or None, national_id=existing.national_id if existing is not None else None,
        **{k: keep(_day(v), k) for k, v in zip(("planned_start", "actual_start", "planned_end", "actual_end"), p.dates,
                                              strict=True)},
    )
    if existing is not None:
        _same_order(spec, existing)
    return spec


def _participant_specs(run: ImportRun, participants: list[ParticipantRow]) -> list[ParticipantSpec]:
    """Participants under the publisher's names. An organisation identifier is passed on only when
    it is not registered yet or is registered under the same name: publishers give one identifier
    to several offices (Cordaid Iraq, Cordaid Afghanistan...), which stay apart by name."""
    result = []
    for name, role, given, kind, ref in participants:
        if ref is not None:
            if ref not in run.org_names:
                run.org_names[ref] = run.ctx.session.scalar(select(Organisation.name)
                                                            .where(Organisation.iati_ref == ref))
            registered = run.org_names[ref]
            if registered is None:
                run.org_names[ref] = name
            elif registered != name:
                ref = None
        result.append(ParticipantSpec(name, role, country=country_of_ref(given), kind=kind, iati_ref=ref))
    return result


def _kept_locations(existing: Project | None) -> list[LocationSpec]:
    if existing is None:
        return []
    return [LocationSpec(loc.name, loc.country, loc.admin_area, loc.latitude, loc.longitude)
            for loc in existing.locations]


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


def effective_date(p: Prepared, status: Status, after: date | None) -> tuple[str, str]:
    """The status event's date (a Period code) and where it came from: the first of these that is
    later than the project's latest event (``after``): the date the activity gives for that status,
    its last-updated-datetime, the file's generated-datetime, the actual start, the import day;
    never a date in the future."""
    own = {Status.IN_EXECUTION: "2", Status.IMPLEMENTED: "4", Status.CLOSED: "4"}.get(status)
    candidates: list[tuple[date | None, str]] = [(p.date_of(own) if own else None, f"activity-date type {own}")]
    for value, what in ((p.last_updated, "last-updated-datetime"),
                        (p.file_generated, "the file's generated-datetime")):
        candidates.append((parse_day(value.strip()[:10]) if value else None, what))
    candidates += [(p.date_of("2"), "the actual start date"),
                   (date.today(), "the import day (the activity gives no later date)")]
    today = date.today()
    for day, what in candidates:
        # A status is recorded when it has happened: a date in the future (publishers' "actual"
        # dates are sometimes plans) gives way to the next candidate.
        if day is not None and day <= today and (after is None or day > after):
            return day.isoformat(), what
    return today.isoformat(), "the import day"


def status_note(p: Prepared, why: str) -> str:
    return f"IATI activity-status {p.status} in {Path(p.source).name}; dated by {why}"


def _first_status(item: Item) -> tuple[str, Period, str] | None:
    """A new project's first status: (status, effective period, note), or None."""
    p = item.p
    if p.status is None:
        return None
    try:
        status = Status.from_iati(p.status)
    except InvalidInput:
        warn(item, "activity-status/@code", "unknown_status", f"activity-status '{p.status}' is not an "
             "ActivityStatus code (1-6); no status was recorded", p.status)
        return None
    effective, why = effective_date(p, status, None)
    return status.value, Period.parse(effective), status_note(p, why)


# -- an updated project: its rows replaced when they differ ---------------------------------------


def _finance_values(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A prepared finance record with dates and the amount as the database gives them back."""
    kind, kind_type, status, day, start, end, amount, currency, value_date, *rest = row
    return (kind, kind_type, status, _day(day), _day(start), _day(end), Decimal(amount), currency, _day(value_date),
            *rest)


def _replace_rows(run: ImportRun, project: Project, item: Item, before: dict[str, Any],
                  after: dict[str, Any]) -> None:
    """Finance records, tags and documents: replaced (Core bulk statements) when they differ."""
    session = run.ctx.session
    pid = project.id
    p = item.p
    new_fin = [_finance_values(r) for r in p.finance]
    old_fin = [tuple(r) for r in session.execute(select(*(getattr(FinanceRecord, c) for c in FINANCE_COLUMNS))
                                                 .where(FinanceRecord.project_id == pid)
                                                 .order_by(FinanceRecord.id))]
    if old_fin != new_fin:
        session.execute(delete(FinanceRecord).where(FinanceRecord.project_id == pid))
        if p.finance:
            insert_tuples(session, FinanceRecord, (*FINANCE_COLUMNS, "project_id"), [(*r, pid) for r in p.finance],
                          days=FINANCE_DAYS)
        before["finance"], after["finance"] = [len(old_fin), _digest(old_fin)], [len(new_fin), _digest(new_fin)]
    run.counts["finance_records"] += len(new_fin)

    tags = _tag_values(item.tags)
    old_tags = [tuple(r) for r in session.execute(
        select(ProjectTag.vocabulary, ProjectTag.code, ProjectTag.name, ProjectTag.percent)
        .where(ProjectTag.project_id == pid).order_by(ProjectTag.id))]
    if old_tags != tags:
        session.execute(delete(ProjectTag).where(ProjectTag.project_id == pid))
        if tags:
            insert_rows(session, ProjectTag, [
                {"project_id": pid, "vocabulary": v, "code": c, "name": n, "percent": pct} for v, c, n, pct in tags])
        before["tags"], after["tags"] = [len(old_tags), _digest(old_tags)], [len(tags), _digest(tags)]

    docs = []
    for i, doc in enumerate(p.documents):
        docs.append((_source_id(run, doc), doc[7], i))
    old_docs = [tuple(r) for r in session.execute(
        select(ProjectDocument.source_id, ProjectDocument.category, ProjectDocument.position)
        .where(ProjectDocument.project_id == pid).order_by(ProjectDocument.position))]
    if old_docs != docs:
        session.execute(delete(ProjectDocument).where(ProjectDocument.project_id == pid))
        if docs:
            insert_rows(session, ProjectDocument, [
                {"project_id": pid, "source_id": s, "category": c, "position": i} for s, c, i in docs])
        before["documents"], after["documents"] = [s for s, _, _ in old_docs], [s for s, _, _ in docs]
    run.counts["documents"] += len(docs)


def _tag_values(tags: list[Tag]) -> list[tuple[str, str, str | None, Decimal | None]]:
    return [(v, c, n, _decimal(pct)) for v, c, n, pct in tags]


def _source_values(doc: Document) -> dict[str, Any]:
    """A document link's new source (its columns)."""
    url, media_type, title, language, published, known_from, publisher, _ = doc
    return {"title": title, "url": url, "media_type": media_type, "language": language, "published": published,
            "known_from": _day(known_from), "publisher": publisher, "kind": "official",
            "note": "a document-link of an IATI activity"}


def _source_id(run: ImportRun, doc: Document) -> int:
    url = doc[0]
    if url in run.sources:
        return run.sources[url]
    session = run.ctx.session
    found = session.scalar(select(Source.id).where(Source.url == url).order_by(Source.id).limit(1))
    if found is None:
        source = Source(**_source_values(doc))
        session.add(source)
        session.flush()
        audit.record(run.ctx, "create", "source", source.id, None, audit.snapshot(source))
        found = source.id
    run.sources[url] = found
    return found


def _record_status(run: ImportRun, item: Item, project: Project, old_status: str | None) -> bool:
    p = item.p
    if p.status is None:
        return False
    try:
        status = Status.from_iati(p.status)
    except InvalidInput:
        warn(item, "activity-status/@code", "unknown_status", f"activity-status '{p.status}' is not an "
             "ActivityStatus code (1-6); no status was recorded", p.status)
        return False
    if project.status == status.value:
        return False
    latest = run.ctx.session.scalar(select(func.max(StatusEvent.effective_start))
                                    .where(StatusEvent.project_id == project.id))
    effective, why = effective_date(p, status, latest)
    reopen = old_status is not None and Status(old_status) in TERMINAL and status not in TERMINAL
    try:
        add_status_event(run.ctx, StatusSpec(project.code, status.value, effective, note=status_note(p, why),
                                             reopen=reopen))
    except InvalidInput as exc:
        warn(item, "activity-status/@code", "status_not_recorded",
             f"activity-status {p.status} ({status.value}) was not recorded: {exc.message}", p.status)
        return False
    if reopen:
        warn(item, "activity-status/@code", "reopened", f"the project was {old_status}; the publisher now "
             f"reports it as {status.value}, recorded as a reopening", p.status)
    return True


# -- the bulk path: new projects in batches, through Core statements ----------------------------
#
# The same rules as upsert_project and add_status_event (check_project validates each project;
# a new project's first status needs no transition check), written with one multi-row INSERT per
# table per batch instead of one flush per row. Organisations are resolved as _organisation does
# (by IATI identifier, then by name), from a cache filled by one query per batch.


def create_many(run: ImportRun, items: list[tuple[int, Item]]) -> dict[int, str | None]:
    """Create the projects of activities whose identifiers are not registered; returns each one's
    outcome ("created", or None when refused) by its index in the batch."""
    ctx = run.ctx
    outcomes: dict[int, str | None] = {}
    bases = {i: slugify(item.p.identifier) for i, item in items}
    taken: set[str] = set()
    for chunk in _chunks(sorted(set(bases.values()))):
        taken.update(ctx.session.scalars(select(Project.code).where(Project.code.in_(chunk))))
    ready: list[tuple[int, Item, Any]] = []
    # check_project remembers what each rule said of a value (a country, a date, a participants list)
    # across the batch: no programme, industry or source changes while it is checked.
    memo: dict[Any, Any] = {}
    _known_refs(run, {ref for _, item in items for *_, ref in item.p.participants if ref is not None})
    for i, item in items:
        code = bases[i] if bases[i] not in taken else _free_code(run, item.p.identifier, taken)
        taken.add(code)
        spec = project_spec(run, item, code, None)
        if not item.valid:
            outcomes[i] = None
            continue
        try:
            checked = check_project(ctx, spec, memo)
        except InvalidInput as exc:
            refusal(item, exc)
            outcomes[i] = None
            continue
        ready.append((i, item, checked))
    if not ready:
        return outcomes
    org_ids = _organisation_ids(run, [p for *_, checked in ready for p in checked.participants])
    source_ids = _source_ids(run, [d for _, item, _ in ready for d in item.p.documents])
    now = utcnow()
    rows, firsts = [], []
    for _, item, checked in ready:
        first = _first_status(item)
        firsts.append(first)
        rows.append({**checked.fields, "iati": item.p.iati, "narratives": item.p.narratives, "version": 1,
                     "created_at": now, "updated_at": now, "status": first[0] if first else None,
                     "status_effective": first[1].code if first else None,
                     "status_start": first[1].start if first else None})
    snap_keys = [c.key for c in _table(Project).columns if c.key not in ("iati", "narratives")]
    ids = insert_rows(ctx.session, Project, rows, returning=True)
    children: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "sectors", "participants", "locations", "tags", "documents", "events")}
    finance: list[tuple[Any, ...]] = []
    audits: list[dict[str, Any]] = []
    for pid, row, first, (i, item, checked) in zip(ids, rows, firsts, ready, strict=True):
        p = item.p
        outcomes[i] = "created"
        children["sectors"] += [{"project_id": pid, "dac_code": c, "percent": pct} for c, pct in checked.sectors]
        children["participants"] += [
            {"project_id": pid, "organisation_id": org_ids[(x.name.strip(), x.iati_ref)], "role": x.role,
             "version": 1, "created_at": now, "updated_at": now} for x, _ in checked.participants]
        children["locations"] += [{**v, "project_id": pid, "version": 1, "created_at": now, "updated_at": now}
                                  for v in checked.location_values]
        children["tags"] += [{"project_id": pid, "vocabulary": v, "code": c, "name": n, "percent": pct}
                             for v, c, n, pct in _tag_values(item.tags)]
        finance += [(*r, pid) for r in p.finance]
        docs = [(source_ids[d[0]], d[7], n) for n, d in enumerate(p.documents)]
        children["documents"] += [{"project_id": pid, "source_id": s, "category": c, "position": n} for s, c, n in docs]
        # As register_project records it: the columns (IATI JSON not yet set) and the children.
        snap = {k: _as_json(row.get(k)) for k in snap_keys}
        snap.update(id=pid, iati={}, narratives={}, **_audit_children(checked))
        audits.append(_audit_row(ctx, "create", "project", row["code"], None, snap))
        # A new project's import event says what it brought; digests only matter for what changes.
        after: dict[str, Any] = {}
        if p.finance:
            after["finance"] = [len(p.finance)]
        if item.tags:
            after["tags"] = [len(item.tags)]
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
                                 {**after, "file": p.source, "line": p.line}))
        run.counts["finance_records"] += len(p.finance)
        run.counts["documents"] += len(docs)
    for name, model in (("sectors", ProjectSector), ("participants", Participant), ("locations", Location),
                        ("tags", ProjectTag)):
        if children[name]:
            insert_rows(ctx.session, model, children[name])
    if finance:
        insert_tuples(ctx.session, FinanceRecord, (*FINANCE_COLUMNS, "project_id"), finance,
                      constants={"version": 1, "created_at": now, "updated_at": now}, days=FINANCE_DAYS)
    if children["documents"]:
        insert_rows(ctx.session, ProjectDocument, children["documents"])
    events = children["events"]
    code_by_id = {pid: row["code"] for pid, row in zip(ids, rows, strict=True)}
    if events:
        event_ids = insert_rows(ctx.session, StatusEvent, events, returning=True)
        for event_id, event in zip(event_ids, events, strict=True):
            code = code_by_id[event["project_id"]]
            audits.append(_audit_row(ctx, "status", "project", code, {"status": None, "status_effective": None},
                                     {"status": event["status"], "status_effective": event["effective"],
                                      "event": {k: _as_json(v) for k, v in {**event, "id": event_id}.items()}}))
        run.counts["status_events"] += len(events)
    insert_rows(ctx.session, AuditEvent, audits)
    return outcomes


def _known_refs(run: ImportRun, refs: set[str]) -> None:
    """Fill the cache of registered organisation names by IATI identifier, one query per 500."""
    missing = sorted(r for r in refs if r not in run.org_names and len(r) <= 100)
    for chunk in _chunks(missing):
        query = select(Organisation.iati_ref, Organisation.name).where(Organisation.iati_ref.in_(chunk))
        found = {ref: name for ref, name in run.ctx.session.execute(query)}
        for ref in chunk:
            run.org_names[ref] = found.get(ref)


_PLAIN_JSON = frozenset((str, int, bool, float, type(None)))


def _as_json(value: Any) -> Any:
    """audit.jsonable, without the call for the values it returns as they are."""
    return value if type(value) in _PLAIN_JSON else audit.jsonable(value)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]], returning: bool = False) -> list[int]:
    """Insert rows (dicts with the same keys) into a model's table; with ``returning``, their new
    ids in order (see :func:`insert_tuples`)."""
    if not rows:
        return []
    same = rows[0].keys()
    if "id" in same or not all(r.keys() == same for r in rows):
        return _insert_core(session, _table(model), rows, returning)
    return insert_tuples(session, model, tuple(same), [tuple(r.values()) for r in rows], returning)


def insert_tuples(session: Session, model: type[Any], keys: tuple[str, ...], rows: list[tuple[Any, ...]],
                  returning: bool = False, constants: dict[str, Any] | None = None,
                  days: Collection[str] = ()) -> list[int]:
    """Insert rows (tuples of the columns ``keys``, plus ``constants``, the same in every row) into
    a model's table; the columns in ``days`` hold day numbers (``date.toordinal``). With
    ``returning``, the new ids in order.

    On SQLite the rows go to the driver's executemany, each column's bind processor applied once
    per distinct value (SQLAlchemy's per-row parameter handling costs more than the insert), and new
    ids are given explicitly: the import holds the write lock, and SQLite would give the same ones
    (max + 1, no table uses AUTOINCREMENT). Elsewhere a Core executemany."""
    if not rows:
        return []
    table = _table(model)
    conn = session.connection()
    dialect = conn.dialect
    constants = constants or {}
    n = len(rows)
    columns = dict(zip(keys, zip(*rows, strict=True), strict=True))
    if dialect.name != "sqlite":
        return _insert_core(session, table, _dicts(keys, rows, columns, constants, days), returning)
    ids: list[int] = []
    names = (*keys, *constants)
    if returning:
        first = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        ids = list(range(first, first + n))
        names = (*names, "id")
    statement, order = _sqlite_insert(table, names, dialect)
    values: list[Sequence[Any]] = []
    for name in order:
        column = table.c[name]
        process = _processor(column, dialect)
        if name == "id" and returning:
            values.append(ids)
        elif name in constants:
            value = constants[name]
            values.append([value if process is None else process(value)] * n)
        elif name in columns:
            values.append(_processed(process, columns[name], name in days))
        elif column.default is not None and column.default.is_scalar:
            value = column.default.arg  # type: ignore[attr-defined]
            values.append([value if process is None else process(value)] * n)
        else:  # a default computed per row: let SQLAlchemy do it
            return _insert_core(session, table, _dicts(keys, rows, columns, constants, days), returning)
    conn.exec_driver_sql(statement, list(zip(*values, strict=True)))
    return ids


_SQLITE_INSERTS: dict[tuple[str, tuple[str, ...]], tuple[str, list[str]]] = {}


def _sqlite_insert(table: Table, names: tuple[str, ...], dialect: Dialect) -> tuple[str, list[str]]:
    """The INSERT statement of these columns and the order of its parameters, compiled once."""
    key = (table.name, names)
    found = _SQLITE_INSERTS.get(key)
    if found is None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
        found = _SQLITE_INSERTS[key] = (compiled.string, list(compiled.positiontup or ()))
    return found


def _dicts(keys: tuple[str, ...], rows: list[tuple[Any, ...]], columns: dict[str, tuple[Any, ...]],
           constants: dict[str, Any], days: Collection[str]) -> list[dict[str, Any]]:
    """The rows as dicts, with dates for day numbers, for a Core insert."""
    if days:
        columns = {k: tuple(map(_day, v)) if k in days else v for k, v in columns.items()}
        rows = list(zip(*columns.values(), strict=True))
    return [{**dict(zip(keys, r, strict=True)), **constants} for r in rows]


def _insert_core(session: Session, table: Table, rows: list[dict[str, Any]], returning: bool) -> list[int]:
    if returning:
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(stmt, rows).scalars())
    session.execute(insert(table), rows)
    return []


def _processed(process: Callable[[Any], Any] | None, values: Sequence[Any], days: bool = False) -> Sequence[Any]:
    """A column through its bind processor (day numbers made dates first, with ``days``), each
    distinct value once when the values can be hashed (timestamps, dates, codes repeat on every
    row). Values equal in type and value bind alike: Amount writes 1.50 and 1.5 both as 1.5."""
    if process is not None and getattr(process, "json", False):
        return list(map(process, values))  # dicts and lists: nothing to remember them by
    if days:
        bind = process

        def process(value: Any) -> Any:
            day = _day(value)
            return day if bind is None or day is None else bind(day)
    if process is None:
        return values
    keys = list(zip(map(type, values), values, strict=True))  # by type too: True == 1, Decimal("1.5") == 1.5
    try:
        distinct = dict(zip(keys, values, strict=True))
    except TypeError:  # JSON: dicts and lists
        return list(map(process, values))
    if len(distinct) == len(values):
        return list(map(process, values))
    done = {k: process(v) for k, v in distinct.items()}
    return list(map(done.__getitem__, keys))


def _processor(column: Any, dialect: Any) -> Any:
    """The column's bind processor for the dialect; for JSON, the same serialisation (json.dumps
    with its defaults) through one C encoder made once, rather than one made by every dumps call."""
    impl = column.type.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    encode = _ENCODE
    plain_json = isinstance(impl, sqltypes.JSON) and dialect._json_serializer is None and \
        impl._str_impl.bind_processor(dialect) is None
    if encode is None or process is None or not plain_json:
        return process

    def to_json(value: Any) -> Any:
        if value.__class__ is dict or value.__class__ is list:
            # json.dumps({}) and json.dumps([]): most finance records have no extra
            return "".join(encode(value, 0)) if value else ("{}" if value.__class__ is dict else "[]")
        return process(value)

    to_json.json = True  # type: ignore[attr-defined]
    return to_json


# What json.dumps(value) uses for a dict or list: no indent, ", " and ": ", ASCII only, NaN allowed.
_ENCODE = c_make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False,
                         False, True) if c_make_encoder is not None else None


def _audit_children(checked: Any) -> dict[str, Any]:
    """What register_project records of a project's children in its audit event, as audit.jsonable
    gives it (names and roles are text)."""
    return {"sectors": {c: _as_json(p) for c, p in checked.sectors},
            "participants": [{"name": p.name, "role": p.role} for p, _ in checked.participants],
            "locations": [v["name"] for v in checked.location_values]}


def _audit_row(ctx: Context, action: str, entity: str, entity_id: object, before: dict[str, Any] | None,
               after: dict[str, Any] | None) -> dict[str, Any]:
    return {"at": ctx.now, "actor": ctx.actor, "action": action, "entity": entity, "entity_id": str(entity_id),
            "before": before, "after": after, "request_id": ctx.request_id}


_ALIASES_READ = ("aliases", "")  # in ImportRun.org_ids: the aliases ("alias", alias) are in the cache


def _organisation_ids(run: ImportRun, wanted: list[tuple[ParticipantSpec, str | None]]
                      ) -> dict[tuple[str, str | None], int]:
    """Organisation ids for participants, found as _organisation finds them (IATI identifier first,
    then name, then alias) or created (with their audit events). The aliases are read once per
    import (again after a refused file's rollback, which empties the cache): an import gives none."""
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
    if _ALIASES_READ not in cache:
        cache[_ALIASES_READ] = 0
        for alias, oid in organisation_aliases(session).items():
            cache[("alias", alias)] = oid
    now = utcnow()
    new: list[dict[str, Any]] = []
    pending: dict[tuple[str, str | None], int] = {}  # key -> index in new
    for p, country in wanted:
        name = p.name.strip()
        key = (name, p.iati_ref)
        if key in pending or (p.iati_ref and ("ref", p.iati_ref) in cache) or ("name", name) in cache \
                or ("alias", name) in cache:
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
        ids = insert_rows(session, Organisation, new, returning=True)
        insert_rows(session, AuditEvent, [
            _audit_row(run.ctx, "create", "organisation", oid, None, audit.jsonable({**row, "id": oid}))
            for oid, row in zip(ids, new, strict=True)])
        for key, index in pending.items():
            result[key] = ids[index]
        for oid, row in zip(ids, new, strict=True):
            cache[("name", row["name"])] = oid
            if row["iati_ref"]:
                cache[("ref", row["iati_ref"])] = oid
    for p, _ in wanted:
        name = p.name.strip()
        key = (name, p.iati_ref)
        if key not in result:
            found = cache.get(("ref", p.iati_ref)) if p.iati_ref else None
            if found is None:
                found = cache.get(("name", name))
            result[key] = found if found is not None else cache[("alias", name)]
    return result


def _source_ids(run: ImportRun, docs: list[Document]) -> dict[str, int]:
    """Source ids for document links by URL: the registered source with that URL, or a new one."""
    session = run.ctx.session
    missing = sorted({d[0] for d in docs} - set(run.sources))
    for chunk in _chunks(missing):
        for sid, url in session.execute(select(Source.id, Source.url).where(Source.url.in_(chunk)).order_by(Source.id)):
            run.sources.setdefault(url, sid)
    now = utcnow()
    new: dict[str, dict[str, Any]] = {}
    for d in docs:
        if d[0] not in run.sources and d[0] not in new:
            new[d[0]] = {**_source_values(d), "version": 1, "created_at": now, "updated_at": now}
    if new:
        rows = list(new.values())
        ids = insert_rows(session, Source, rows, returning=True)
        insert_rows(session, AuditEvent, [
            _audit_row(run.ctx, "create", "source", sid, None, audit.jsonable({**row, "id": sid}))
            for sid, row in zip(ids, rows, strict=True)])
        for sid, row in zip(ids, rows, strict=True):
            run.sources[row["url"]] = sid
    return run.sources
