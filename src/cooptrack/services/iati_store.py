"""IATI import: writing. New projects in batches through multi-row inserts (``create_many``); an
updated project's finance records, tags and documents replaced when they differ; status events;
organisations and sources found or created, each with its audit event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import sqltypes

from cooptrack.domain.status import TERMINAL, Status
from cooptrack.errors import InvalidInput
from cooptrack.formats.iati_read import (
    Activity,
)
from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.iati_findings import ImportRun, refusal, warn
from cooptrack.services.iati_mapping import Mapped, _effective_date, _first_status, map_activity, slugify
from cooptrack.services.projects import (
    ParticipantSpec,
    StatusSpec,
    add_status_event,
    check_project,
)
from cooptrack.store.models import (
    AuditEvent,
    FinanceRecord,
    Location,
    Organisation,
    Participant,
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


def _existing(run: ImportRun, activity: Activity, code_hint: str | None) -> Project | None:
    session = run.ctx.session
    if activity.identifier:
        return session.scalar(select(Project).where(Project.iati_identifier == activity.identifier))
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


def _replace_rows(run: ImportRun, project: Project, mapped: Mapped, before: dict[str, Any],
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
            insert_rows(session, FinanceRecord, [{**r, "project_id": pid} for r in mapped.finance])
        before["finance"], after["finance"] = [len(old_fin), _digest(old_fin)], [len(new_fin), _digest(new_fin)]
    run.counts["finance_records"] += len(new_fin)

    old_tags = [tuple(r) for r in session.execute(
        select(ProjectTag.vocabulary, ProjectTag.code, ProjectTag.name, ProjectTag.percent)
        .where(ProjectTag.project_id == pid).order_by(ProjectTag.id))]
    if old_tags != mapped.tags:
        session.execute(delete(ProjectTag).where(ProjectTag.project_id == pid))
        if mapped.tags:
            insert_rows(session, ProjectTag, [
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
            insert_rows(session, ProjectDocument, [
                {"project_id": pid, "source_id": s, "category": c, "position": i} for s, c, i in docs])
        before["documents"], after["documents"] = [s for s, _, _ in old_docs], [s for s, _, _ in docs]
    run.counts["documents"] += len(docs)


def _source_id(run: ImportRun, doc: dict[str, Any]) -> int:
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


def _record_status(run: ImportRun, activity: Activity, project: Project, old_status: str | None) -> bool:
    if activity.status is None:
        return False
    try:
        status = Status.from_iati(activity.status)
    except InvalidInput:
        warn(activity, "activity-status/@code", "unknown_status", f"activity-status '{activity.status}' is not an "
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
        warn(activity, "activity-status/@code", "status_not_recorded",
              f"activity-status {activity.status} ({status.value}) was not recorded: {exc.message}",
              activity.status)
        return False
    if reopen:
        warn(activity, "activity-status/@code", "reopened", f"the project was {old_status}; the publisher now "
              f"reports it as {status.value}, recorded as a reopening", activity.status)
    return True


# -- the bulk path: new projects in batches, through Core statements ----------------------------
#
# The same rules as upsert_project and add_status_event (check_project validates each project;
# a new project's first status needs no transition check), written with one multi-row INSERT per
# table per batch instead of one flush per row. Organisations are resolved as _organisation does
# (by IATI identifier, then by name), from a cache filled by one query per batch.


def create_many(run: ImportRun, items: list[tuple[int, Activity]]) -> dict[int, str | None]:
    """Create the projects of activities whose identifiers are not registered; returns each one's
    outcome ("created", or None when refused) by its index in the batch."""
    ctx = run.ctx
    outcomes: dict[int, str | None] = {}
    bases = {i: slugify(a.identifier) for i, a in items}
    taken: set[str] = set()
    for chunk in _chunks(sorted(set(bases.values()))):
        taken.update(ctx.session.scalars(select(Project.code).where(Project.code.in_(chunk))))
    ready: list[tuple[int, Activity, Mapped, Any]] = []
    # check_project remembers what each rule said of a value (a country, a date, a participants list)
    # across the batch: no programme, industry or source changes while it is checked.
    memo: dict[Any, Any] = {}
    _known_refs(run, {p.ref.strip() for _, a in items for p in a.participants if p.ref and p.ref.strip()})
    for i, a in items:
        code = bases[i] if bases[i] not in taken else _free_code(run, a.identifier, taken)
        taken.add(code)
        mapped = map_activity(run, a, code, None)
        if not a.valid:
            outcomes[i] = None
            continue
        try:
            checked = check_project(ctx, mapped.spec, memo)
        except InvalidInput as exc:
            refusal(a, exc)
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
    snap_keys = [c.key for c in _table(Project).columns if c.key not in ("iati", "narratives")]
    ids = insert_rows(ctx.session, Project, rows, returning=True)
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
        snap = {k: _as_json(row.get(k)) for k in snap_keys}
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
            insert_rows(ctx.session, model, children[name])
    events = children["events"]
    code_by_id = {pid: row["code"] for pid, row in zip(ids, rows, strict=True)}
    if events:
        event_ids = insert_rows(ctx.session, StatusEvent, events, returning=True)
        for event_id, event in zip(event_ids, events, strict=True):
            code = code_by_id[event["project_id"]]
            audits.append(_audit_row(ctx, "status", "project", code, {"status": None, "status_effective": None},
                                     {"status": event["status"], "status_effective": event["effective"],
                                      "event": audit.jsonable({**event, "id": event_id})}))
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
    ids in order. On SQLite the rows go to the driver's executemany as tuples, each column's own bind
    processor applied once per column (SQLAlchemy's per-row parameter handling costs more than the
    insert), and new ids are given explicitly: the import holds the write lock, and SQLite would
    give the same ones (max + 1, no table uses AUTOINCREMENT). Elsewhere a Core executemany."""
    if not rows:
        return []
    table = _table(model)
    conn = session.connection()
    dialect = conn.dialect
    keys = list(rows[0])
    same = rows[0].keys()
    if dialect.name != "sqlite" or "id" in same or not all(r.keys() == same for r in rows):
        return _insert_core(session, table, rows, returning)
    ids: list[int] = []
    if returning:
        first = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        ids = list(range(first, first + len(rows)))
        keys.append("id")
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup or ())
    columns: list[Sequence[Any]] = []
    for name in order:
        column = table.c[name]
        if name == "id" and returning:
            values: Sequence[Any] = ids
        elif name in rows[0]:
            values = [r[name] for r in rows]
        elif column.default is not None and column.default.is_scalar:
            values = [column.default.arg] * len(rows)  # type: ignore[attr-defined]
        else:  # a default computed per row: let SQLAlchemy do it
            return _insert_core(session, table, rows, returning)
        process = _processor(column, dialect)
        columns.append(values if process is None else _processed(process, values))
    conn.exec_driver_sql(compiled.string, list(zip(*columns, strict=True)))
    return ids


def _insert_core(session: Session, table: Table, rows: list[dict[str, Any]], returning: bool) -> list[int]:
    if returning:
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.execute(stmt, rows).scalars())
    session.execute(insert(table), rows)
    return []


def _processed(process: Callable[[Any], Any], values: Sequence[Any]) -> Sequence[Any]:
    """A column through its bind processor, each distinct value once when the values can be
    hashed (timestamps, dates, codes repeat on every row). Values equal in type and value bind
    alike: Amount writes 1.50 and 1.5 both as 1.5."""
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

    return to_json


# What json.dumps(value) uses for a dict or list: no indent, ", " and ": ", ASCII only, NaN allowed.
_ENCODE = c_make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False,
                         False, True) if c_make_encoder is not None else None


def _audit_children(checked: Any) -> dict[str, Any]:
    """What register_project records of a project's children in its audit event."""
    return {"sectors": {c: p for c, p in checked.sectors},
            "participants": [{"name": p.name, "role": p.role} for p, _ in checked.participants],
            "locations": [v["name"] for v in checked.location_values]}


def _audit_row(ctx: Context, action: str, entity: str, entity_id: object, before: dict[str, Any] | None,
               after: dict[str, Any] | None) -> dict[str, Any]:
    return {"at": ctx.now, "actor": ctx.actor, "action": action, "entity": entity, "entity_id": str(entity_id),
            "before": before, "after": after, "request_id": ctx.request_id}


def _organisation_ids(run: ImportRun, wanted: list[tuple[ParticipantSpec, str | None]]
                      ) -> dict[tuple[str, str | None], int]:
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
        key = (p.name.strip(), p.iati_ref)
        if key not in result:
            found = cache.get(("ref", p.iati_ref)) if p.iati_ref else None
            result[key] = found if found is not None else cache[("name", p.name.strip())]
    return result


def _source_ids(run: ImportRun, docs: list[dict[str, Any]]) -> dict[str, int]:
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
        rows = list(new.values())
        ids = insert_rows(session, Source, rows, returning=True)
        insert_rows(session, AuditEvent, [
            _audit_row(run.ctx, "create", "source", sid, None, audit.jsonable({**row, "id": sid}))
            for sid, row in zip(ids, rows, strict=True)])
        for sid, row in zip(ids, rows, strict=True):
            run.sources[row["url"]] = sid
    return run.sources
