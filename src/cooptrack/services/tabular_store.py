"""The spreadsheet import's reads and writes, in a few statements per table instead of a few
per row: the registered projects a file names, loaded with their children; new projects with
their sectors, participants, organisations, first status events and audit events, inserted
many rows at a time. What each row holds is what ``register_project``, ``_organisation`` and
``add_status_event`` write for the same project one at a time (tests/test_tabular_bulk.py holds
the two paths to the same database content).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
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
#
# Column by column rather than row by row: a column's values go through its type's bind
# processor (and the audit snapshots' JSON encoding) once per distinct value, in C loops
# (set, dict, map) where the values allow it; only the values that differ on every row (ids,
# titles, amounts) are converted one by one.


_NONE = type(None)


def _distinct(values: Sequence[Any]) -> tuple[set[Any], set[type]] | None:
    """The distinct values and their types (None's aside), when a dict keyed by them may stand
    for the values themselves: all hashable, and of one type (no True and 1, 1 and 1.0)."""
    try:
        distinct = set(values)
    except TypeError:  # lists and dicts
        return None
    kinds = set(map(type, values))  # of the values: the set keeps one of True and 1
    kinds.discard(_NONE)
    return (distinct, kinds) if len(kinds) <= 1 else None


def _bound(processor: Callable[[Any], Any] | None, values: Sequence[Any]) -> Sequence[Any]:
    """``processor`` over ``values`` (the conversion a Core ``insert()`` applies), once per
    distinct value. Equal values of one type bind alike (Amount writes 1.50 and 1.5 both as 1.5)."""
    if processor is None:
        return values
    found = _distinct(values)
    if found is None:
        return _bound_each(processor, values)
    done = {v: processor(v) for v in found[0]}
    return list(map(done.__getitem__, values))


def _bound_each(processor: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """``processor`` over values some of which are lists or dicts (JSON): each object once (the
    same dict given for every row is converted once), and every empty list or dict alike."""
    done: dict[Any, Any] = {}
    out = []
    for value in values:
        kind = value.__class__
        key = kind if (kind is list or kind is dict) and not value else id(value)
        if key not in done:
            done[key] = processor(value)
        out.append(done[key])
    return out


# What json.dumps(value) does with a dict or list: no indent, ", " and ": ", ASCII only.
_ENCODE = c_make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False,
                         False, True) if c_make_encoder is not None else None


def json_text(value: Any) -> str:
    """``json.dumps(audit.jsonable(value))``: the text an audit snapshot's value is stored as."""
    ready = audit.jsonable(value)
    if _ENCODE is not None and ready.__class__ in (dict, list):
        return "".join(_ENCODE(ready, 0))
    return json.dumps(ready)


def _decimal_json(value: Decimal | None) -> str:
    return "null" if value is None else encode_basestring_ascii(format(value, "f"))


def _iso_json(value: date) -> str:
    return encode_basestring_ascii(value.isoformat())


# json_text of the common types, with less work.
_JSON_OF: dict[type, Callable[[Any], str]] = {str: encode_basestring_ascii, int: int.__repr__, date: _iso_json}


def json_texts(values: Sequence[Any]) -> list[str]:
    """``json_text`` of each value, each distinct value's text made once. Decimals are written
    as they are (60.0 stays "60.0", though it equals 60), so never taken from another value;
    nor are floats and datetimes."""
    found = _distinct(values)
    if found is None:
        return [("[]" if kind is list else "{}") if (kind := v.__class__) in (list, dict) and not v else json_text(v)
                for v in values]
    distinct, kinds = found
    kind = kinds.pop() if kinds else _NONE
    if kind is Decimal:
        return list(map(_decimal_json, values))
    if kind is float or kind is datetime:  # equal, yet written apart: -0.0 and 0.0; one instant in two zones
        return list(map(json_text, values))
    convert = _JSON_OF.get(kind) or json_text
    if None not in distinct and 2 * len(distinct) > len(values):  # mostly different: no dict
        return list(map(convert, values))
    distinct.discard(None)
    done = dict(zip(distinct, map(convert, distinct), strict=True))
    done[None] = "null"
    return list(map(done.__getitem__, values))


class _Snapshot:
    """The JSON text of snapshot dicts with keys in a fixed order, some of them the same in
    every snapshot: ``json.dumps`` of the dict, built from a template with one slot per varying
    key, filled with the JSON texts of a column of values per slot."""

    def __init__(self, keys: Sequence[str], shared: dict[str, Any]) -> None:
        parts = []
        self.slots = tuple(k for k in keys if k not in shared)
        for k in keys:
            value = "%s" if k not in shared else json_text(shared[k]).replace("%", "%%")
            parts.append(f"{json.dumps(k).replace('%', '%%')}: {value}")
        self.template = "{" + ", ".join(parts) + "}"

    def texts(self, columns: Mapping[str, Sequence[str]]) -> list[str]:
        """The snapshots, from the JSON texts of each slot's values (``columns[slot]``)."""
        template = self.template
        return [template % row for row in zip(*(columns[k] for k in self.slots), strict=True)]


class _Insert:
    """One multi-row INSERT into ``model``'s table, values given column by column (every column
    but the id, so no column default is silently skipped). Each column goes through its type's
    bind processor for the connection's dialect (``_bound``); the rows go to the driver's
    executemany through ``exec_driver_sql``, so the store sees the write as any other."""

    def __init__(self, ctx: Context, model: Any, columns: Sequence[str]) -> None:
        table = _table(model)
        missing = {c.key for c in table.columns} - {"id"} - set(columns)
        assert not missing, f"{table.name}: columns without a value: {sorted(missing)}"
        self.ctx = ctx
        self.model = model
        self.columns = tuple(columns)
        conn = ctx.session.connection()
        dialect = conn.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        self.sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
                    f"({', '.join(quote(c) for c in self.columns)}) VALUES ({', '.join([mark] * len(self.columns))})")
        self.processors = {name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                           for name in self.columns}

    @property
    def plain_json(self) -> bool:
        """Whether the JSON columns store ``json.dumps`` of a value as it is (so JSON text
        made beforehand can be bound as it is)."""
        sample = {"a": [1, None]}
        return all(self.bind(c.key, sample) == json.dumps(sample) for c in _table(self.model).columns
                   if isinstance(c.type, JSON))

    def bind(self, name: str, value: Any) -> Any:
        """One value of column ``name``, bound."""
        processor = self.processors[name]
        return value if processor is None else processor(value)

    def run(self, columns: Mapping[str, Sequence[Any]], bound: Iterable[str] = ()) -> None:
        """Insert the rows given as one sequence per column; the columns named in ``bound`` are
        already converted (by ``bind`` or ``_bound``)."""
        done = set(bound)
        values = [columns[c] if c in done else _bound(self.processors[c], columns[c]) for c in self.columns]
        rows = list(zip(*values, strict=True))
        conn = self.ctx.session.connection()
        for i in range(0, len(rows), 5000):
            conn.exec_driver_sql(self.sql, rows[i:i + 5000])


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


def _column_keys(model: Any) -> tuple[str, ...]:
    return tuple(c.key for c in _table(model).columns)


def _but_id(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(k for k in keys if k != "id")


_PROJECT = _column_keys(Project)
_ORGANISATION = _column_keys(Organisation)
_EVENT = _column_keys(StatusEvent)
_AUDIT_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "before", "after", "request_id")
_NO_STATUS = {"status": None, "status_effective": None}
_CHILDREN = ("sectors", "participants", "locations")  # the keys _audit_extra adds to a project's snapshot


def _sectors_json(sectors: list[tuple[str, Decimal]]) -> str:
    """``json_text({code: percent, ...})``."""
    if not sectors:
        return "{}"
    return "{" + ", ".join([f"{encode_basestring_ascii(c)}: {_decimal_json(p)}" for c, p in sectors]) + "}"


def _participants_json(participants: list[tuple[Any, str | None]], known: dict[tuple[str, str], str]) -> str:
    """``json_text([{"name": ..., "role": ...}, ...])``, each participant's text made once."""
    if not participants:
        return "[]"
    parts = []
    for spec, _ in participants:
        key = (spec.name, spec.role)
        text = known.get(key)
        if text is None:
            text = known[key] = json_text({"name": spec.name, "role": spec.role})
        parts.append(text)
    return "[" + ", ".join(parts) + "]"


def _locations_json(checked: _Checked) -> str:
    return json_text([v["name"] for v in checked.location_values]) if checked.location_values else "[]"


def _audit_rows(ctx: Context, insert: _Insert, action: str, entity_ids: Sequence[str],
                before: Sequence[str], after: Sequence[str]) -> dict[str, Sequence[Any]]:
    """Audit events as ``audit.record`` makes them, their snapshots given as JSON text (the
    text the JSON column's processor would make of them), the other columns bound."""
    n = len(entity_ids)
    if not insert.plain_json:
        before = [insert.bind("before", json.loads(t)) for t in before]
        after = [insert.bind("after", json.loads(t)) for t in after]
    return {"at": [insert.bind("at", ctx.now)] * n, "actor": [ctx.actor] * n, "action": [action] * n,
            "entity": ["project"] * n, "entity_id": entity_ids, "before": before, "after": after,
            "request_id": [ctx.request_id] * n}


def _extend(columns: dict[str, list[Any]], more: dict[str, Sequence[Any]]) -> None:
    for key, values in more.items():
        columns.setdefault(key, []).extend(values)


def create_many(ctx: Context, items: list[tuple[_Checked, str | None, str | None, Any]]) -> int:
    """Insert new projects checked by ``check_project``, each with its first status event when
    given (status, the Period code of its date, and the Period): the rows and audit events
    ``register_project``, ``_organisation`` and ``add_status_event`` write one at a time."""
    if not items:
        return 0
    ctx.session.flush()
    now, actor = ctx.now, ctx.actor
    n = len(items)
    checked = [item[0] for item in items]
    audit_insert = _Insert(ctx, AuditEvent, _AUDIT_COLUMNS)
    audits: dict[str, list[Any]] = {}

    # Organisations: those no participant names yet, each with its audit event.
    names: dict[str, str | None] = {}
    for c in checked:
        for participant, country in c.participants:
            names.setdefault(participant.name.strip(), country)
    org_ids = _organisation_ids(ctx, sorted(names))
    new_orgs = [(name, country) for name, country in names.items() if name not in org_ids]
    if new_orgs:
        o = _table(Organisation).c
        before = _max_id(ctx, o.id)
        m = len(new_orgs)
        _Insert(ctx, Organisation, _but_id(_ORGANISATION)).run({
            "name": [name for name, _ in new_orgs], "country": [country for _, country in new_orgs],
            "kind": [None] * m, "iati_ref": [None] * m, "aliases": [[]] * m, "version": [1] * m,
            "created_at": [now] * m, "updated_at": [now] * m})
        org_ids.update(_new_ids(ctx, o.name, o.id, [name for name, _ in new_orgs], before))
        snapshots = []
        for name, country in new_orgs:  # what audit.snapshot gives of the row
            values = {"id": org_ids[name], "name": name, "country": country, "kind": None, "iati_ref": None,
                      "aliases": [], "version": 1, "created_at": now, "updated_at": now}
            snapshots.append(json_text({key: values[key] for key in _ORGANISATION}))
        org_audits = _audit_rows(ctx, audit_insert, "create", [str(org_ids[name]) for name, _ in new_orgs],
                                 ["null"] * m, snapshots)
        org_audits["entity"] = ["organisation"] * m
        _extend(audits, org_audits)

    # Projects: the checked fields, and what register_project then add_status_event set.
    p = _table(Project).c
    fields = [c.fields for c in checked]
    columns: dict[str, Sequence[Any]] = {key: list(map(itemgetter(key), fields)) for key in CHECKED_FIELDS}
    statuses = [item[1] for item in items]
    periods = [item[3] for item in items]
    columns.update({
        "value_claim_id": [None] * n, "narratives": [{}] * n, "iati": [{}] * n, "status": statuses,
        "status_effective": [item[2] for item in items],
        "status_start": [period.start if period else None for period in periods],
        "version": [2 if status else 1 for status in statuses],  # created, then its status set: two versions
        "created_at": [now] * n, "updated_at": [now] * n})
    before = _max_id(ctx, p.id)
    _Insert(ctx, Project, _but_id(_PROJECT)).run(columns)
    codes = columns["code"]
    ids = _new_ids(ctx, p.code, p.id, list(codes), before)
    pids = list(map(ids.__getitem__, codes))

    # The create event's snapshot: the row as registered (no status yet, version 1) and its children.
    shared: dict[str, Any] = {"value_claim_id": None, "narratives": {}, "iati": {}, "status": None,
                              "status_effective": None, "status_start": None, "version": 1, "created_at": now,
                              "updated_at": now}
    snapshot = _Snapshot((*_PROJECT, *_CHILDREN), shared)
    texts = {key: json_texts(columns[key]) for key in snapshot.slots if key in columns}
    known: dict[tuple[str, str], str] = {}
    texts.update(id=json_texts(pids), sectors=[_sectors_json(c.sectors) for c in checked],
                 participants=[_participants_json(c.participants, known) for c in checked],
                 locations=[_locations_json(c) for c in checked])
    _extend(audits, _audit_rows(ctx, audit_insert, "create", codes, ["null"] * n, snapshot.texts(texts)))

    # Children.
    sector_insert = _Insert(ctx, ProjectSector, ("project_id", "dac_code", "percent"))
    percent: dict[Decimal, Any] = {}
    sectors = [(pid, code, pct) for pid, c in zip(pids, checked, strict=True) for code, pct in c.sectors]
    if sectors:
        project_ids, dac_codes, percents = zip(*sectors, strict=True)
        bound_percents = [percent[x] if x in percent else percent.setdefault(x, sector_insert.bind("percent", x))
                          for x in percents]
        sector_insert.run({"project_id": project_ids, "dac_code": dac_codes, "percent": bound_percents},
                          bound=("percent",))
    participants = [(pid, org_ids[x.name.strip()], x.role) for pid, c in zip(pids, checked, strict=True)
                    for x, _ in c.participants]
    if participants:
        project_ids, organisation_ids, roles = zip(*participants, strict=True)
        m = len(participants)
        _Insert(ctx, Participant, ("project_id", "organisation_id", "role", "version", "created_at", "updated_at")
                ).run({"project_id": project_ids, "organisation_id": organisation_ids, "role": roles,
                       "version": [1] * m, "created_at": [now] * m, "updated_at": [now] * m})

    # First status events, each with its audit event.
    chosen = [i for i, status in enumerate(statuses) if status]
    if chosen:
        e = _table(StatusEvent).c
        m = len(chosen)
        event: dict[str, list[Any]] = {
            "project_id": [pids[i] for i in chosen], "status": [statuses[i] for i in chosen],
            "effective": [columns["status_effective"][i] for i in chosen],
            "effective_start": [columns["status_start"][i] for i in chosen], "recorded_at": [now] * m,
            "source_id": [None] * m, "note": [None] * m, "reopen": [False] * m, "backdated": [False] * m,
            "actor": [actor] * m, "claim_id": [None] * m}
        before = _max_id(ctx, e.id)
        _Insert(ctx, StatusEvent, _but_id(_EVENT)).run(event)
        event_ids = _new_ids(ctx, e.project_id, e.id, event["project_id"], before)
        event["id"] = list(map(event_ids.__getitem__, event["project_id"]))
        varying = ("id", "project_id", "status", "effective", "effective_start")
        inner = _Snapshot(_EVENT, {k: v[0] for k, v in event.items() if k not in varying})
        event_texts = inner.texts({k: json_texts(event[k]) for k in varying})
        outer = _Snapshot(("status", "status_effective", "event"), {})
        after = outer.texts({"status": json_texts(event["status"]), "status_effective": json_texts(event["effective"]),
                             "event": event_texts})
        _extend(audits, _audit_rows(ctx, audit_insert, "status", [codes[i] for i in chosen],
                                    [json_text(_NO_STATUS)] * m, after))
    audit_insert.run(audits, bound=("at", "before", "after"))
    return n
