"""The spreadsheet import's reads and writes, in a few statements per table instead of a few
per row: the registered projects a file names, loaded with their children; new projects with
their sectors, participants, organisations, first status events and audit events, inserted
many rows at a time. What each row holds is what ``register_project``, ``_organisation`` and
``add_status_event`` write for the same project one at a time (tests/test_tabular_bulk.py holds
the two paths to the same database content).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table, func, select, type_coerce
from sqlalchemy.types import NullType

from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.projects import CHECKED_FIELDS, LocationSpec, _audit_extra, _Checked
from cooptrack.store.models import (
    AuditEvent,
    Location,
    Organisation,
    Participant,
    Project,
    ProjectSector,
    StatusEvent,
)

CHUNK = 500  # keys per IN (...) query


def _chunks(keys: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (keys[i:i + CHUNK] for i in range(0, len(keys), CHUNK))


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


# --- registered projects ---------------------------------------------------------------------


@dataclass(slots=True)
class Registered:
    """A registered project as the import compares and merges it: the columns check_project
    decides, the current status and the children, in the order the ORM relationships give."""

    id: int
    fields: dict[str, Any]  # CHECKED_FIELDS, as stored
    status: str | None
    status_effective: str | None
    sectors: list[tuple[str, Decimal]]  # by DAC code
    participants: list[tuple[str, str, str | None]]  # organisation name, role, organisation country; by id
    locations: list[LocationSpec]  # by id

    def children_state(self) -> dict[str, Any]:
        """What ``projects._children_state`` gives for the project."""
        return {"sectors": dict(self.sectors),
                "participants": [{"name": n, "role": r} for n, r, _ in self.participants],
                "locations": [loc.name for loc in self.locations]}

    def unchanged(self, checked: _Checked) -> bool:
        """What upsert_project would find: every field and child as registered."""
        return self.fields == checked.fields and self.children_state() == _audit_extra(checked)


def load_registered(ctx: Context, codes: Sequence[str]) -> dict[str, Registered]:
    """The registered projects among ``codes``, by code. When they are a good part of the
    register, every project is read and the others skipped: one statement per table instead of
    one per 500 ids (building a statement with 500 parameters costs more than reading the rows)."""
    p = _table(Project).c
    found: dict[str, Registered] = {}
    by_id: dict[int, Registered] = {}
    if not codes:
        return found
    scan = len(codes) >= 4 * CHUNK and 3 * len(codes) >= (ctx.session.scalar(select(func.count(p.id))) or 0)
    wanted = set(codes)
    columns = (p.id, p.status, p.status_effective, *(p[k] for k in CHECKED_FIELDS))
    assert CHECKED_FIELDS[0] == "code"
    for chunk in [None] if scan else _chunks(codes):
        for pid, status, effective, *values in _fetch(ctx, columns, *_among(p.code, chunk)):
            if values[0] in wanted:
                reg = Registered(pid, dict(zip(CHECKED_FIELDS, values, strict=True)), status, effective, [], [], [])
                found[values[0]] = by_id[pid] = reg
    s, pa, o, loc = _table(ProjectSector).c, _table(Participant).c, _table(Organisation).c, _table(Location).c
    for chunk in [None] if scan else _chunks(sorted(by_id)):
        for pid, code, pct in _fetch(ctx, (s.project_id, s.dac_code, s.percent), *_among(s.project_id, chunk),
                                     order_by=(s.project_id, s.dac_code)):
            if pid in by_id:
                by_id[pid].sectors.append((code, pct))
        for pid, name, role, country in _fetch(ctx, (pa.project_id, o.name, pa.role, o.country),
                                               *_among(pa.project_id, chunk), pa.organisation_id == o.id,
                                               order_by=(pa.id,)):
            if pid in by_id:
                by_id[pid].participants.append((name, role, country))
        for pid, *values in _fetch(ctx, (loc.project_id, loc.name, loc.country, loc.admin_area, loc.latitude,
                                         loc.longitude), *_among(loc.project_id, chunk), order_by=(loc.id,)):
            if pid in by_id:
                by_id[pid].locations.append(LocationSpec(*values))
    return found


def _among(column: Any, keys: Sequence[Any] | None) -> tuple[Any, ...]:
    """The condition ``column IN keys``, or none (every row) without keys."""
    return () if keys is None else (column.in_(keys),)


def _fetch(ctx: Context, columns: Sequence[Any], *where: Any, order_by: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of ``select(*columns).where(*where)``, each value converted by its column type's
    result processor once per distinct value (the driver's values are fetched as they come)."""
    result = ctx.session.connection().execute(select(*(type_coerce(c, NullType()) for c in columns))
                                              .where(*where).order_by(*order_by))
    driver_types = [d[1] for d in result.cursor.description]
    raw = result.tuples().all()
    if not raw:
        return []
    dialect = result.dialect
    values = list(zip(*raw, strict=True))
    for i, column in enumerate(columns):
        processor = column.type.dialect_impl(dialect).result_processor(dialect, driver_types[i])
        if processor is not None:
            values[i] = _convert_all(processor, values[i], isinstance(column.type, JSON))
    return list(zip(*values, strict=True))


def _convert_all(processor: Callable[[Any], Any], values: Sequence[Any], fresh: bool) -> tuple[Any, ...]:
    """``processor`` over ``values``, once per distinct value; with ``fresh`` (JSON: results
    that could be changed in place) once per value."""
    if fresh:
        return tuple(processor(v) for v in values)
    converted = {v: processor(v) for v in set(values)}
    return tuple(converted[v] for v in values)


# --- bulk writes -----------------------------------------------------------------------------

class _Insert:
    """One multi-row INSERT into ``model``'s table: rows are tuples in ``columns`` order, which
    must name every column but the id (so no column default is silently skipped). Each value is
    converted by its column type's bind processor for the connection's dialect, the conversion
    SQLAlchemy applies to a Core ``insert()``, once per distinct value; the rows go to the
    driver's executemany through ``exec_driver_sql``."""

    def __init__(self, ctx: Context, model: Any, columns: Sequence[str]) -> None:
        table = _table(model)
        missing = {c.key for c in table.columns} - {"id"} - set(columns)
        assert not missing, f"{table.name}: columns without a value: {sorted(missing)}"
        self.ctx = ctx
        self.columns = tuple(columns)
        conn = ctx.session.connection()
        dialect = conn.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        self.sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
                    f"({', '.join(quote(c) for c in self.columns)}) VALUES ({', '.join([mark] * len(self.columns))})")
        self.processors: list[tuple[int, Callable[[Any], Any]]] = []
        for i, name in enumerate(self.columns):
            type_ = table.c[name].type
            processor = type_.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors.append((i, processor))

    def run(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        for i, processor in self.processors:
            columns[i] = _bind_all(processor, columns[i])
        bound = list(zip(*columns, strict=True))
        conn = self.ctx.session.connection()
        for i in range(0, len(bound), 5000):
            conn.exec_driver_sql(self.sql, bound[i:i + 5000])


def _bind_all(processor: Callable[[Any], Any], values: Sequence[Any]) -> tuple[Any, ...]:
    """``processor`` over ``values``, once per distinct value (an empty list or dict counts as a
    value; other lists and dicts are converted one by one)."""
    converted: dict[Any, Any] = {}
    out = []
    for value in values:
        if isinstance(value, list | dict):
            if value:
                out.append(processor(value))
                continue
            key: Any = type(value)
        else:
            key = value
        if key not in converted:
            converted[key] = processor(value)
        out.append(converted[key])
    return tuple(out)


def _new_ids(ctx: Context, key: Any, id_column: Any, keys: list[Any], after: int) -> dict[Any, int]:
    """The ids of the rows just inserted, by their unique ``key``: the rows with ids above the
    largest before the insert, then (should any be missing) the rest by key."""
    found = dict(ctx.session.execute(select(key, id_column).where(id_column > after)).tuples().all())
    missing = [k for k in keys if k not in found]
    for chunk in _chunks(missing):
        found.update(ctx.session.execute(select(key, id_column).where(key.in_(chunk))).tuples().all())
    return found


def _max_id(ctx: Context, id_column: Any) -> int:
    return ctx.session.scalar(select(func.coalesce(func.max(id_column), 0))) or 0


def _organisation_ids(ctx: Context, names: list[str]) -> dict[str, int]:
    o = _table(Organisation).c
    found: dict[str, int] = {}
    for chunk in _chunks(names):
        found.update(ctx.session.execute(select(o.name, o.id).where(o.name.in_(chunk))).tuples().all())
    return found


def _jsonable_columns(model: Any) -> tuple[str, ...]:
    return tuple(c.key for c in _table(model).columns)


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


# audit.jsonable by exact type, for the types a project row holds; anything else goes to it.
_TO_JSON: dict[type, Callable[[Any], Any]] = {date: date.isoformat, datetime: datetime.isoformat,
                                              Decimal: _decimal_text}


def _json_ready(value: Any) -> Any:
    """``audit.jsonable``, with the common cases first."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    convert = _TO_JSON.get(kind)
    if convert is not None:
        return convert(value)
    if kind is dict:
        return {k: _json_ready(v) for k, v in value.items()}
    if kind is list:
        return [_json_ready(v) for v in value]
    return audit.jsonable(value)


def _snapshot(keys: Sequence[str], values: dict[str, Any], extra: dict[str, Any] | None = None,
              base: dict[str, Any] | None = None) -> dict[str, Any]:
    """What ``audit.snapshot`` gives for a row holding ``values`` (plus ``extra`` keys): ``keys``
    converted into a copy of ``base`` (the snapshot of the values every row shares), if given."""
    data = dict(base) if base is not None else {}
    for k in keys:
        data[k] = _json_ready(values.get(k))
    if extra:
        for k, v in extra.items():
            data[k] = _json_ready(v)
    return data


_PROJECT = _jsonable_columns(Project)
_ORGANISATION = _jsonable_columns(Organisation)
_EVENT = _jsonable_columns(StatusEvent)
_AUDIT_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "before", "after", "request_id")
_NO_STATUS = {"status": None, "status_effective": None}


def create_many(ctx: Context, items: list[tuple[_Checked, str | None, str | None, Any]]) -> int:
    """Insert new projects checked by ``check_project``, each with its first status event when
    given (status, the Period code of its date, and the Period): the rows and audit events
    ``register_project``, ``_organisation`` and ``add_status_event`` write one at a time."""
    ctx.session.flush()
    now, actor, request = ctx.now, ctx.actor, ctx.request_id
    audits: list[tuple[Any, ...]] = []
    stamps = (1, now, now)

    names: dict[str, str | None] = {}
    for checked, *_ in items:
        for participant, country in checked.participants:
            names.setdefault(participant.name.strip(), country)
    org_ids = _organisation_ids(ctx, sorted(names))
    new_orgs: list[tuple[str, str | None, None, None, list[str]]] = [
        (n, c, None, None, []) for n, c in names.items() if n not in org_ids]
    if new_orgs:
        o = _table(Organisation).c
        before = _max_id(ctx, o.id)
        _Insert(ctx, Organisation, ("name", "country", "kind", "iati_ref", "aliases", "version", "created_at",
                                    "updated_at")).run([(*org, *stamps) for org in new_orgs])
        org_ids.update(_new_ids(ctx, o.name, o.id, [org[0] for org in new_orgs], before))
        for name, country, kind, ref, aliases in new_orgs:
            values = {"id": org_ids[name], "name": name, "country": country, "kind": kind, "iati_ref": ref,
                      "aliases": aliases, "version": 1, "created_at": now, "updated_at": now}
            audits.append((now, actor, "create", "organisation", str(org_ids[name]), None,
                           _snapshot(_ORGANISATION, values), request))

    p = _table(Project).c
    project_columns = [c for c in _PROJECT if c != "id"]
    projects: list[dict[str, Any]] = []
    for checked, status, effective, period in items:
        projects.append({**checked.fields, "value_claim_id": None, "narratives": {}, "iati": {}, "status": status,
                         "status_effective": effective, "status_start": period.start if period else None,
                         "version": 2 if status else 1,  # created, then its status set: two versions
                         "created_at": now, "updated_at": now})
    before = _max_id(ctx, p.id)
    shared: dict[str, Any] = {"value_claim_id": None, "narratives": {}, "iati": {}, "status": None,
                              "status_effective": None, "status_start": None, "version": 1, "created_at": now,
                              "updated_at": now}
    base = _snapshot(_PROJECT, shared)
    varying = tuple(k for k in _PROJECT if k not in shared)
    get = itemgetter(*project_columns)
    _Insert(ctx, Project, project_columns).run([get(v) for v in projects])
    ids = _new_ids(ctx, p.code, p.id, [v["code"] for v in projects], before)

    sectors: list[tuple[Any, ...]] = []
    participants: list[tuple[Any, ...]] = []
    events: list[dict[str, Any]] = []
    for values, (checked, status, *_) in zip(projects, items, strict=True):
        code = values["code"]
        pid = values["id"] = ids[code]
        sectors += [(pid, c, pct) for c, pct in checked.sectors]
        participants += [(pid, org_ids[x.name.strip()], x.role, *stamps) for x, _ in checked.participants]
        audits.append((now, actor, "create", "project", code, None,
                       _snapshot(varying, values, _audit_extra(checked), base), request))
        if status:
            events.append({"project_id": pid, "status": status, "effective": values["status_effective"],
                           "effective_start": values["status_start"], "recorded_at": now, "source_id": None,
                           "note": None, "reopen": False, "backdated": False, "actor": actor, "claim_id": None})
    _Insert(ctx, ProjectSector, ("project_id", "dac_code", "percent")).run(sectors)
    _Insert(ctx, Participant, ("project_id", "organisation_id", "role", "version", "created_at", "updated_at")
            ).run(participants)
    if events:
        e = _table(StatusEvent).c
        event_columns = [c for c in _EVENT if c != "id"]
        before = _max_id(ctx, e.id)
        _Insert(ctx, StatusEvent, event_columns).run([itemgetter(*event_columns)(v) for v in events])
        event_ids = _new_ids(ctx, e.project_id, e.id, [v["project_id"] for v in events], before)
        code_by_id = {v["id"]: v["code"] for v in projects}
        event_base = _snapshot(_EVENT, events[0])
        event_varying = ("id", "project_id", "status", "effective", "effective_start")
        for new in events:
            new["id"] = event_ids[new["project_id"]]
            audits.append((now, actor, "status", "project", code_by_id[new["project_id"]], _NO_STATUS,
                           {"status": new["status"], "status_effective": new["effective"],
                            "event": _snapshot(event_varying, new, base=event_base)}, request))
    _Insert(ctx, AuditEvent, _AUDIT_COLUMNS).run(audits)
    return len(projects)
