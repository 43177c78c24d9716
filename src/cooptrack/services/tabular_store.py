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
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import date, datetime
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from operator import itemgetter
from typing import Any, Literal

from sqlalchemy import JSON, Table, Text, cast, func, or_, select, type_coerce
from sqlalchemy.types import NullType

from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.projects import (
    CHECKED_FIELDS,
    LocationSpec,
    _audit_extra,
    _Checked,
    as_registered,
    organisation_aliases,
)
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
ALIASES = "organisation aliases"  # create_many's memo: the registered aliases (no table is named so)


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
    # The participants' organisations as as_registered compares a row's with them: name, IATI
    # identifier, aliases (only those with an identifier or aliases).
    organisations: list[tuple[str, str | None, Any]] = field(default_factory=list)

    def children_state(self) -> dict[str, Any]:
        """What ``projects._children_state`` gives for the project."""
        return {"sectors": dict(self.sectors),
                "participants": [{"name": n, "role": r} for n, r, _ in self.participants],
                "locations": [loc.name for loc in self.locations]}

    def unchanged(self, checked: _Checked) -> bool:
        """What upsert_project would find: every field and child as registered."""
        if self.fields != checked.fields:
            return False
        if self.organisations:
            checked = dc_replace(checked, participants=as_registered(checked.participants, self.organisations))
        return self.children_state() == _audit_extra(checked)


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
    named: dict[int, list[int]] = {}  # organisation -> the projects naming it, a project once per participant
    for chunk in [None] if scan else _chunks(sorted(by_id)):
        for pid, code, pct in _fetch(ctx, (s.project_id, s.dac_code, s.percent), *_among(s.project_id, chunk),
                                     order_by=(s.project_id, s.dac_code)):
            if pid in by_id:
                by_id[pid].sectors.append((code, pct))
        for pid, org_id, name, role, country in _fetch(
                ctx, (pa.project_id, o.id, o.name, pa.role, o.country), *_among(pa.project_id, chunk),
                pa.organisation_id == o.id, order_by=(pa.id,)):
            if pid in by_id:
                by_id[pid].participants.append((name, role, country))
                named.setdefault(org_id, []).append(pid)
        for pid, *values in _fetch(ctx, (loc.project_id, loc.name, loc.country, loc.admin_area, loc.latitude,
                                         loc.longitude), *_among(loc.project_id, chunk), order_by=(loc.id,)):
            if pid in by_id:
                by_id[pid].locations.append(LocationSpec(*values))
    # The organisations with another name a row may give them (an IATI identifier, aliases), for
    # Registered.unchanged: one query over those alone (few), not a JSON value per participant.
    if named:
        other_names = or_(o.iati_ref.is_not(None), cast(o.aliases, Text).not_in(("[]", "null")))
        for org_id, name, ref, aliases in _fetch(ctx, (o.id, o.name, o.iati_ref, o.aliases), other_names,
                                                 order_by=(o.id,)):
            for pid in dict.fromkeys(named.get(org_id, ())):
                by_id[pid].organisations.append((name, ref, aliases))
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


_Found = tuple[set[Any], set[type]] | None  # what _distinct gives


def _bound(processor: Callable[[Any], Any] | None, values: Sequence[Any],
           memo: dict[type, dict[Any, Any]] | None = None, found: _Found | Literal[False] = False) -> Sequence[Any]:
    """``processor`` over ``values`` (the conversion a Core ``insert()`` applies), once per
    distinct value: per distinct value of the batch, or (``memo``, kept across the batches of
    one column) of the import. Equal values of one type bind alike (Amount writes 1.50 and 1.5
    both as 1.5). ``found``: ``_distinct(values)`` when already known."""
    if processor is None:
        return values
    if found is False:
        found = _distinct(values)
    if found is None:
        return _bound_each(processor, values)
    distinct, kinds = found
    if 2 * len(distinct) > len(values):  # mostly different: no dict
        return list(map(processor, values))
    if memo is None:
        done = {v: processor(v) for v in distinct}
    else:  # by type: True and 1 are never taken one for the other across batches either
        done = memo.setdefault(next(iter(kinds)) if kinds else _NONE, {})
        for v in distinct - done.keys():
            done[v] = processor(v)
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


def json_texts(values: Sequence[Any], memo: dict[type, dict[Any, str]] | None = None,
               found: _Found | Literal[False] = False) -> list[str]:
    """``json_text`` of each value, each distinct value's text made once (``memo``: kept across
    the batches of one column). Decimals are written as they are (60.0 stays "60.0", though it
    equals 60), so never taken from another value; nor are floats and datetimes. ``found``:
    ``_distinct(values)`` when already known."""
    if found is False:
        found = _distinct(values)
    if found is None:
        return [("[]" if kind is list else "{}") if (kind := v.__class__) in (list, dict) and not v else json_text(v)
                for v in values]
    distinct, kinds = found
    kind = next(iter(kinds)) if kinds else _NONE
    if kind is Decimal:
        return list(map(_decimal_json, values))
    if kind is float or kind is datetime:  # equal, yet written apart: -0.0 and 0.0; one instant in two zones
        return list(map(json_text, values))
    convert = _JSON_OF.get(kind) or json_text
    if None not in distinct and 2 * len(distinct) > len(values):  # mostly different: no dict
        return list(map(convert, values))
    done = {} if memo is None else memo.setdefault(kind, {})  # by type: True and 1 apart
    done[None] = "null"
    missing = distinct - done.keys()
    done.update(zip(missing, map(convert, missing), strict=True))
    return list(map(done.__getitem__, values))


class _Snapshot:
    """The JSON text of snapshot dicts with keys in a fixed order, some of them the same in
    every snapshot: ``json.dumps`` of the dict, built from a template with one slot per varying
    key, filled with the JSON texts of a column of values per slot."""

    def __init__(self, keys: Sequence[str], shared: dict[str, Any]) -> None:
        self.keys = tuple(keys)
        self.shared = {k: json_text(v).replace("%", "%%") for k, v in shared.items()}
        self.slots = tuple(k for k in keys if k not in shared)
        self.template = self._parts(())[0][0]

    def _parts(self, holes: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
        """The template cut where the values of ``holes`` go: each part with its slots."""
        parts: list[tuple[str, tuple[str, ...]]] = []
        text = "{"
        slots: list[str] = []
        for i, key in enumerate(self.keys):
            text += f"{', ' if i else ''}{json.dumps(key).replace('%', '%%')}: "
            if key in holes:
                parts.append((text, tuple(slots)))
                text, slots = "", []
            elif key in self.shared:
                text += self.shared[key]
            else:
                text += "%s"
                slots.append(key)
        parts.append((text + "}", tuple(slots)))
        return parts

    def texts(self, columns: Mapping[str, Sequence[str]]) -> list[str]:
        """The snapshots, from the JSON texts of each slot's values (``columns[slot]``)."""
        template = self.template
        return [template % row for row in zip(*(columns[k] for k in self.slots), strict=True)]

    def pieces(self, columns: Mapping[str, Sequence[str]], holes: Sequence[str], n: int) -> list[tuple[str, ...]]:
        """The ``n`` snapshots' texts cut where the values of ``holes`` (in the keys' order) go:
        ids the database gives, joined in by ``_joined``. The other slots as for ``texts``."""
        cut = []
        for template, slots in self._parts(holes):
            if slots:
                cut.append([template % row for row in zip(*(columns[k] for k in slots), strict=True)])
            else:
                cut.append([template % ()] * n)
        return list(zip(*cut, strict=True))


def _joined(pieces: Sequence[tuple[str, ...]], *ids: Sequence[int]) -> list[str]:
    """Snapshot texts from their ``pieces`` with the ids between them (``json_text`` of an int is
    its ``repr``)."""
    if len(ids) == 1:
        return [f"{a}{i}{b}" for (a, b), i in zip(pieces, ids[0], strict=True)]
    assert len(ids) == 2
    return [f"{a}{i}{b}{j}{c}" for (a, b, c), i, j in zip(pieces, ids[0], ids[1], strict=True)]


def _literal(value: Any) -> str | None:
    """A bound value as an SQLite literal that stores exactly what binding it stores (None when
    it is better bound: another type, or a text SQL cannot hold)."""
    if value is None:
        return "NULL"
    kind = value.__class__
    if kind is int:
        return repr(value)
    if kind is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


class _Insert:
    """One multi-row INSERT into ``model``'s table, values given column by column (every column
    but the id, so no column default is silently skipped). Each column goes through its type's
    bind processor for the connection's dialect (``_bound``); the rows go to the driver's
    executemany through ``exec_driver_sql``, so the store sees the write as any other."""

    def __init__(self, ctx: Context, model: Any, columns: Sequence[str],
                 memo: dict[str, dict[str, Any]] | None = None) -> None:
        table = _table(model)
        missing = {c.key for c in table.columns} - {"id"} - set(columns)
        assert not missing, f"{table.name}: columns without a value: {sorted(missing)}"
        self.ctx = ctx
        self.model = model
        self.columns = tuple(columns)
        conn = ctx.session.connection()
        dialect = conn.dialect
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.sqlite = dialect.name == "sqlite"
        quote = dialect.identifier_preparer.quote
        self.head = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
                     f"({', '.join(quote(c) for c in self.columns)}) VALUES ")
        self.processors = {name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                           for name in self.columns}
        # The bound values of each column, kept across the batches of an import (``_bound``).
        self.memo: dict[str, Any] | None = None if memo is None else memo.setdefault(table.name, {})

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

    def run(self, columns: Mapping[str, Sequence[Any]], bound: Iterable[str] = (),
            same: Mapping[str, Any] | None = None, found: Mapping[str, _Found] | None = None) -> None:
        """Insert the rows given as one sequence per column; the columns named in ``bound`` are
        already converted (by ``bind`` or ``_bound``). ``same``: columns with one value for every
        row, bound once. On SQLite a column with one value in every row (given in ``same``, or
        found so) is written into the statement: binding a parameter per row and column costs more
        than SQLite's own work for some tables. ``found``: ``_distinct`` of columns, when known."""
        done = set(bound)
        fixed = {c: v if c in done else self.bind(c, v) for c, v in (same or {}).items()}
        varying = [c for c in self.columns if c not in fixed]
        assert varying, "at least one column must vary"
        n = len(columns[varying[0]])
        memo, found = self.memo, found or {}
        values = {c: columns[c] if c in done else
                  _bound(self.processors[c], columns[c], None if memo is None else memo.setdefault(c, {}),
                         found.get(c, False))
                  for c in varying}
        literals: dict[str, str] = {}
        if self.sqlite:
            literals = {c: text for c, v in fixed.items() if (text := _literal(v)) is not None}
            if n > 1:  # (one row's values stay parameters: a statement of its own for every row is no gain)
                literals.update({c: text for c, column in values.items() if (text := _literal_of(column)) is not None})
        sql = self.head + "(" + ", ".join(literals.get(c, self.mark) for c in self.columns) + ")"
        params = [[fixed[c]] * n if c in fixed else values[c] for c in self.columns if c not in literals]
        rows: list[tuple[Any, ...]] = list(zip(*params, strict=True)) if params else [()] * n  # every value written in
        conn = self.ctx.session.connection()
        for i in range(0, len(rows), 5000):
            conn.exec_driver_sql(sql, rows[i:i + 5000])


def _literal_of(column: Sequence[Any]) -> str | None:
    """The SQLite literal of a column of bound values that are one value of one type in every row
    (1 and 1.0 are equal, yet stored apart), else None."""
    first = column[0]
    if column.count(first) != len(column) or len(set(map(type, column))) != 1:
        return None
    return _literal(first)


def _new_ids(ctx: Context, key: Any, id_column: Any, keys: Sequence[Any], after: int) -> dict[Any, int]:
    """The ids of the rows just inserted (``keys``, their unique ``key`` in the order inserted),
    by key. When the rows with ids above the largest before the insert are as many as were
    inserted and their ids have no gap, they are these, numbered in order (each row of one
    executemany takes the next id); else they are read back: the rows with ids above that
    largest, then (should any be missing) the rest by key."""
    n = len(keys)
    top, count = ctx.session.execute(select(func.max(id_column), func.count()).where(id_column > after)).one()
    if count == n and top == after + n:
        return dict(zip(keys, range(after + 1, after + n + 1), strict=True))
    found = dict(ctx.session.execute(select(key, id_column).where(id_column > after)).tuples().all())
    missing = [k for k in keys if k not in found]
    for chunk in _chunks(missing):
        found.update(ctx.session.execute(select(key, id_column).where(key.in_(chunk))).tuples().all())
    return found


def _max_id(ctx: Context, id_column: Any) -> int:
    return ctx.session.scalar(select(func.coalesce(func.max(id_column), 0))) or 0


def _organisation_ids(ctx: Context, names: list[str], aliases: Mapping[str, int]) -> dict[str, int]:
    """The registered organisations ``names`` name, as ``_organisation`` finds them: by name, else
    by alias (``aliases``: ``organisation_aliases``, read once per import)."""
    o = _table(Organisation).c
    found: dict[str, int] = {}
    for chunk in _chunks(names):
        found.update(ctx.session.execute(select(o.name, o.id).where(o.name.in_(chunk))).tuples().all())
    if aliases:
        for name in names:
            if name not in found and name in aliases:
                found[name] = aliases[name]
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


def _project_same(now: datetime) -> dict[str, Any]:
    """The columns of a new project that register_project sets alike on every one."""
    return {"value_claim_id": None, "narratives": {}, "iati": {}, "created_at": now, "updated_at": now}


def _event_same(now: datetime, actor: str) -> dict[str, Any]:
    """The columns of a first status event that add_status_event sets alike on every one."""
    return {"recorded_at": now, "source_id": None, "note": None, "reopen": False, "backdated": False,
            "actor": actor, "claim_id": None}


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


@dataclass
class NewRows:
    """New projects that passed ``check_project``, each with its first status event when it has
    one, in columns: what ``create_many`` inserts, as the checks gave it. Made by ``new_rows`` in
    the importing process or in the one reading the file (services/tabular_pipeline.py), where
    it travels well: the values many rows share (dates, countries, sectors and participants
    lists) are the same objects, pickled once."""

    columns: dict[str, list[Any]]  # CHECKED_FIELDS, status, status_effective, status_start, version
    sectors: list[list[tuple[str, Decimal]]]  # each distinct list once (``_numbered``)...
    sectors_of: list[int]  # ...and each row's place among them
    participants: list[list[tuple[Any, str | None]]]  # (ParticipantSpec, the organisation's country)
    participants_of: list[int]
    locations: list[list[str]]  # the locations' names

    def __len__(self) -> int:
        return len(self.sectors_of)


def _numbered(lists: Sequence[list[Any]]) -> tuple[list[list[Any]], list[int]]:
    """The distinct lists (in the order first given) and each list's place among them: lists of
    the same elements are one (the checks give every row with one cell text the same objects:
    check_project remembers them). Told apart by their elements' identity, never by equality:
    Decimal("60") equals Decimal("60.0"), yet each is written as it is. (Every element lives as
    long as ``lists``: no id is reused meanwhile.)"""
    places: dict[tuple[int, ...], int] = {}
    distinct: list[list[Any]] = []
    of = []
    for items in lists:
        key = tuple(map(id, items))
        place = places.get(key)
        if place is None:
            place = places[key] = len(distinct)
            distinct.append(items)
        of.append(place)
    return distinct, of


def new_rows(items: Sequence[tuple[_Checked, str | None, str | None, Any]]) -> NewRows:
    """``items``: new projects checked by ``check_project``, each with its first status event
    when given (status, the Period code of its date, and the Period)."""
    checked = [item[0] for item in items]
    fields = [c.fields for c in checked]
    columns: dict[str, list[Any]] = {key: list(map(itemgetter(key), fields)) for key in CHECKED_FIELDS}
    statuses = [item[1] for item in items]
    columns.update({
        "status": statuses, "status_effective": [item[2] for item in items],
        "status_start": [period.start if period else None for period in map(itemgetter(3), items)],
        "version": [2 if status else 1 for status in statuses]})  # created, then its status set: two versions
    return NewRows(columns, *_numbered([c.sectors for c in checked]), *_numbered([c.participants for c in checked]),
                   [[v["name"] for v in c.location_values] for c in checked])


@dataclass
class _Rendered:
    """What ``create_many`` makes of ``NewRows`` before it needs the database: the audit
    snapshots but for the ids the database gives, the children's rows but for the ids."""

    created: list[tuple[str, ...]]  # each project's create event snapshot, cut where its id goes
    sectors: list[tuple[int, str, Decimal]]  # (the project's place in the columns, DAC code, percent)
    participants: list[tuple[int, str, str]]  # (the project's place, organisation name, role)
    organisations: dict[str, str | None]  # the organisations named, each with its first mention's country
    statuses: list[int]  # the places of the projects with a first status event
    changed: list[tuple[str, ...]]  # their status events' audit snapshots, cut where the event's and project's ids go


def _render(rows: NewRows, now: datetime, actor: str, memo: dict[str, Any], found: Mapping[str, _Found]
            ) -> _Rendered:
    """``memo``: a dict kept across the batches of one import (the JSON texts of each column's
    values); ``found``: ``_distinct`` of the columns."""
    n = len(rows)
    columns = rows.columns

    # The create event's snapshot: the row as registered (no status yet, version 1) and its children.
    shared = {**_project_same(now), **_NO_STATUS, "status_start": None, "version": 1}
    snapshot = _Snapshot((*_PROJECT, *_CHILDREN), shared)
    texts = {key: json_texts(columns[key], memo.setdefault(key, {}), found[key])
             for key in snapshot.slots if key in columns}
    known = memo.setdefault("participant", {})
    sectors = [_sectors_json(items) for items in rows.sectors]
    participants = [_participants_json(items, known) for items in rows.participants]
    texts["sectors"] = list(map(sectors.__getitem__, rows.sectors_of))
    texts["participants"] = list(map(participants.__getitem__, rows.participants_of))
    texts["locations"] = [json_text(names) if names else "[]" for names in rows.locations]

    organisations: dict[str, str | None] = {}
    for items in rows.participants:  # in the order they are first named
        for participant, country in items:
            organisations.setdefault(participant.name.strip(), country)
    named = [[(x.name.strip(), x.role) for x, _ in items] for items in rows.participants]

    # The status events' audit snapshots: the status set, and the event as add_status_event writes it.
    statuses = columns["status"]
    chosen = [i for i, status in enumerate(statuses) if status]
    event = {"status": [statuses[i] for i in chosen], "effective": [columns["status_effective"][i] for i in chosen],
             "effective_start": [columns["status_start"][i] for i in chosen]}
    event_texts = {k: json_texts(v, memo.setdefault(f"event {k}", {})) for k, v in event.items()}
    inner = _Snapshot(_EVENT, _event_same(now, actor)).pieces(event_texts, ("id", "project_id"), len(chosen))
    outer = _Snapshot(("status", "status_effective", "event"), {}).pieces(
        {"status": event_texts["status"], "status_effective": event_texts["effective"]}, ("event",), len(chosen))
    return _Rendered(
        snapshot.pieces(texts, ("id",), n),
        [(i, code, pct) for i, place in enumerate(rows.sectors_of) for code, pct in rows.sectors[place]],
        [(i, name, role) for i, place in enumerate(rows.participants_of) for name, role in named[place]],
        organisations, chosen,
        [(before + a, b, c + after) for (before, after), (a, b, c) in zip(outer, inner, strict=True)])


def _audit_rows(insert: _Insert, entity_ids: Sequence[str], after: Sequence[str]) -> dict[str, Sequence[Any]]:
    """The varying columns of audit events as ``audit.record`` makes them, their snapshots given
    as JSON text (the text the JSON column's processor would make of them), ``after`` bound."""
    if not insert.plain_json:
        after = [insert.bind("after", json.loads(t)) for t in after]
    return {"entity_id": entity_ids, "after": after}


def _audit_same(ctx: Context, insert: _Insert, action: str, entity: str, before: str) -> dict[str, Any]:
    """The columns of a group of audit events alike in each (``before``: JSON text, bound)."""
    return {"at": ctx.now, "actor": ctx.actor, "action": action, "entity": entity,
            "before": before if insert.plain_json else insert.bind("before", json.loads(before)),
            "request_id": ctx.request_id}


def create_many(ctx: Context, rows: NewRows, memo: dict[str, dict[str, Any]] | None = None) -> int:
    """Insert new projects (``new_rows``) with their first status events: the rows and audit
    events ``register_project``, ``_organisation`` and ``add_status_event`` write one at a time.
    ``memo``: a dict kept across the batches of one import (what was made of each column's
    values: bound, as JSON text; the registered organisations' aliases)."""
    n = len(rows)
    if not n:
        return 0
    if memo is None:
        memo = {}
    ctx.session.flush()
    now = ctx.now
    found = {key: _distinct(values) for key, values in rows.columns.items()}
    batch = _render(rows, now, ctx.actor, memo.setdefault("json", {}), found)
    audit_insert = _Insert(ctx, AuditEvent, _AUDIT_COLUMNS)
    audits: list[tuple[dict[str, Any], dict[str, Sequence[Any]]]] = []  # (alike, varying) per group, in order

    # Organisations: those no participant names yet, each with its audit event. Aliases are read
    # once per import: an import gives none (the organisations it creates have none).
    aliases = memo.get(ALIASES)
    if aliases is None:
        aliases = memo[ALIASES] = organisation_aliases(ctx.session)
    org_ids = _organisation_ids(ctx, sorted(batch.organisations), aliases)
    new_orgs = [(name, country) for name, country in batch.organisations.items() if name not in org_ids]
    if new_orgs:
        o = _table(Organisation).c
        before = _max_id(ctx, o.id)
        _Insert(ctx, Organisation, _but_id(_ORGANISATION)).run(
            {"name": [name for name, _ in new_orgs], "country": [country for _, country in new_orgs]},
            same={"kind": None, "iati_ref": None, "aliases": [], "version": 1, "created_at": now, "updated_at": now})
        org_ids.update(_new_ids(ctx, o.name, o.id, [name for name, _ in new_orgs], before))
        snapshots = []
        for name, country in new_orgs:  # what audit.snapshot gives of the row
            values = {"id": org_ids[name], "name": name, "country": country, "kind": None, "iati_ref": None,
                      "aliases": [], "version": 1, "created_at": now, "updated_at": now}
            snapshots.append(json_text({key: values[key] for key in _ORGANISATION}))
        audits.append((_audit_same(ctx, audit_insert, "create", "organisation", "null"),
                       _audit_rows(audit_insert, [str(org_ids[name]) for name, _ in new_orgs], snapshots)))

    # Projects: the checked fields, and what register_project then add_status_event set.
    p = _table(Project).c
    before = _max_id(ctx, p.id)
    _Insert(ctx, Project, _but_id(_PROJECT), memo).run(rows.columns, same=_project_same(now), found=found)
    codes = rows.columns["code"]
    ids = _new_ids(ctx, p.code, p.id, codes, before)
    pids = list(map(ids.__getitem__, codes))
    audits.append((_audit_same(ctx, audit_insert, "create", "project", "null"),
                   _audit_rows(audit_insert, codes, _joined(batch.created, pids))))

    # Children.
    if batch.sectors:
        sector_insert = _Insert(ctx, ProjectSector, ("project_id", "dac_code", "percent"))
        places, dac_codes, percents = zip(*batch.sectors, strict=True)
        percent: dict[Decimal, Any] = {}
        bound_percents = [percent[x] if x in percent else percent.setdefault(x, sector_insert.bind("percent", x))
                          for x in percents]
        sector_insert.run({"project_id": list(map(pids.__getitem__, places)), "dac_code": dac_codes,
                           "percent": bound_percents}, bound=("percent",))
    if batch.participants:
        places, names, roles = zip(*batch.participants, strict=True)
        _Insert(ctx, Participant, ("project_id", "organisation_id", "role", "version", "created_at", "updated_at"),
                memo).run({"project_id": list(map(pids.__getitem__, places)),
                       "organisation_id": list(map(org_ids.__getitem__, names)), "role": roles},
                      same={"version": 1, "created_at": now, "updated_at": now})

    # First status events, each with its audit event.
    if batch.statuses:
        e = _table(StatusEvent).c
        chosen = batch.statuses
        project_ids = [pids[i] for i in chosen]
        event = {"project_id": project_ids, "status": [rows.columns["status"][i] for i in chosen],
                 "effective": [rows.columns["status_effective"][i] for i in chosen],
                 "effective_start": [rows.columns["status_start"][i] for i in chosen]}
        before = _max_id(ctx, e.id)
        _Insert(ctx, StatusEvent, _but_id(_EVENT), memo).run(event, same=_event_same(now, ctx.actor))
        event_ids = _new_ids(ctx, e.project_id, e.id, project_ids, before)
        audits.append((_audit_same(ctx, audit_insert, "status", "project", json_text(_NO_STATUS)),
                       _audit_rows(audit_insert, [codes[i] for i in chosen],
                                   _joined(batch.changed, list(map(event_ids.__getitem__, project_ids)),
                                           project_ids))))
    for same, varying in audits:
        audit_insert.run(varying, bound=("before", "after"), same=same)
    return n
