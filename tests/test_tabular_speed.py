"""The fast paths of the spreadsheet import give what the general ones give: the JSON text of an
audit snapshot, built column by column, is ``json.dumps`` of the snapshot; bind processors run
once per distinct value still convert every value as they would one by one."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from test_tabular import write_csv

from cooptrack.formats.tabular import read_sheet
from cooptrack.services import audit
from cooptrack.services.context import Context
from cooptrack.services.datasets import demo_path, load_dataset, read_dataset
from cooptrack.services.tabular import import_projects
from cooptrack.services.tabular_store import (
    _bound,
    _joined,
    _literal,
    _literal_of,
    _new_ids,
    _numbered,
    _Snapshot,
    json_text,
    json_texts,
)
from cooptrack.store.models import AuditEvent, Organisation, Project, ProjectSector
from cooptrack.store.types import Amount

VALUES: list[Any] = [None, "KAZ", "Ünïcode \"quoted\" \\ text", 0, 7, True, False, Decimal("60"), Decimal("60.0"),
                     Decimal("1E+2"), date(2019, 4, 22), datetime(2019, 4, 22, 10, 30, tzinfo=UTC), [], ["a", "b"],
                     {}, {"21020": Decimal("60.50")}, [{"name": "A", "role": "funding"}]]


def _reference(value: Any) -> str:
    return json.dumps(audit.jsonable(value))


def test_json_text_is_json_dumps_of_the_jsonable_value():
    for value in VALUES:
        assert json_text(value) == _reference(value), value


def test_json_texts_of_a_column_each_as_written():
    # One column at a time, as the import gives them; then every value of VALUES in one column.
    columns: list[list[Any]] = [
        ["b", "a", None, "b"], [f"code-{i}" for i in range(10)], [1, 2, None, 1], [True, 1, False, 0],
        [Decimal("60"), Decimal("60.0"), Decimal("60.00"), None], [date(2020, 1, 1), None, date(2020, 1, 1)],
        [[], [], ["x"], None], [{}, {"a": 1}, {}], [0.0, -0.0, None],
        [datetime(2020, 1, 1, 10, tzinfo=UTC), datetime(2020, 1, 1, 11, tzinfo=timezone(timedelta(hours=1)))], VALUES]
    for column in columns:
        assert json_texts(column) == [_reference(v) for v in column], column


def test_equal_decimals_keep_their_own_digits():
    assert json_texts([Decimal("60"), Decimal("60.0")]) == ['"60"', '"60.0"']


def test_snapshot_template_is_json_dumps_of_the_dict():
    keys = ("id", "code", "share%", "note", "version", "sectors")
    shared = {"note": "100% sure", "version": 1}
    snapshot = _Snapshot(keys, shared)
    rows = [{"id": 1, "code": "a%s", "share%": Decimal("12.5"), "sectors": {}},
            {"id": 2, "code": "b", "share%": None, "sectors": {"21020": Decimal("100")}}]
    texts = snapshot.texts({k: json_texts([r[k] for r in rows]) for k in snapshot.slots})
    assert texts == [_reference({k: {**r, **shared}[k] for k in keys}) for r in rows]


def test_bound_converts_each_value_as_one_by_one():
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    process = Amount().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    values = [Decimal("1.50"), Decimal("1.5"), None, Decimal("-0"), Decimal("100"), Decimal("1E+2")]
    assert list(_bound(process, values)) == [process(v) for v in values]
    mixed: list[Any] = [True, 1, 1.0, "1"]
    assert list(_bound(repr, mixed)) == [repr(v) for v in mixed]  # equal values of other types are not merged
    same: list[Any] = [{}, {}, [], ["a"], None]
    assert list(_bound(json.dumps, same)) == [json.dumps(v) for v in same]


def test_texts_and_bound_values_remembered_across_batches_as_made_each_time():
    """A column's JSON texts and bound values, kept from batch to batch, are what each batch
    alone gives: equal values of other types (True and 1) or digits (60 and 60.0) never stand
    for one another."""
    batches: list[list[Any]] = [[True, None, True], [1, 1, None], [Decimal("60"), Decimal("60")],
                                [Decimal("60.0"), None], [date(2020, 1, 1)] * 3, ["a", "b", "a"], ["b", None]]
    texts: dict[type, dict[Any, str]] = {}
    for batch in batches:
        assert json_texts(batch, texts) == [_reference(v) for v in batch], batch
    bound: dict[type, dict[Any, Any]] = {}
    for batch in batches:
        assert list(_bound(repr, batch, bound)) == [repr(v) for v in batch], batch


def test_a_literal_stores_what_binding_stores():
    """Values written into an INSERT as literals are stored as bound parameters are, in columns
    of each affinity the store's tables have (JSON and DATETIME columns have NUMERIC affinity)."""
    import sqlite3

    values: list[Any] = [None, 0, -5, 2**62, "", "it's", "Ünïcode", "0012", "1.50", "1e3", "2019-04-22",
                         '{"a": 1}', " 7 "]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (way TEXT, i INTEGER, v VARCHAR(10), n NUMERIC, j JSON, d DATETIME, b BLOB)")
    for value in values:
        literal = _literal(value)
        assert literal is not None
        conn.execute("INSERT INTO t VALUES ('bound', ?, ?, ?, ?, ?, ?)", [value] * 6)
        conn.execute(f"INSERT INTO t VALUES ('literal', {', '.join([literal] * 6)})")
        rows = conn.execute("SELECT i, typeof(i), v, typeof(v), n, typeof(n), j, typeof(j), d, typeof(d), b, "
                            "typeof(b) FROM t ORDER BY way").fetchall()
        assert rows[0] == rows[1], value
        conn.execute("DELETE FROM t")
    assert _literal(1.5) is None and _literal("nul\x00") is None and _literal(b"x") is None
    assert _literal_of([1, 1.0]) is None and _literal_of([1, 2]) is None and _literal_of([None, None]) == "NULL"
    assert _literal_of(["it's"] * 3) == "'it''s'"


def test_lists_numbered_by_their_elements_not_their_values():
    a, b = ("21020", Decimal("60")), ("21020", Decimal("60.0"))
    first, again = [a], [a]
    distinct, places = _numbered([first, [b], again, [], [], [a, b]])
    assert distinct == [[a], [b], [], [a, b]] and distinct[0] is first and places == [0, 1, 0, 2, 2, 3]


def test_snapshot_pieces_joined_with_the_ids_are_its_texts():
    keys = ("id", "code", "note", "event_id", "version")
    snapshot = _Snapshot(keys, {"version": 2, "note": "100%"})
    columns = {"code": json_texts(["a%s", "b"]), "id": json_texts([7, 8]), "event_id": json_texts([70, 80])}
    pieces = snapshot.pieces(columns, ("id", "event_id"), 2)
    assert _joined(pieces, [7, 8], [70, 80]) == snapshot.texts(columns)
    assert [p[0] for p in pieces] == ['{"id": ', '{"id": ']


def test_new_ids_numbered_in_order_or_read_back(store):
    """Rows inserted one after the other take the next ids; when they did not (another row took
    one between), the ids are read back."""
    table = Organisation.__table__
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def add(session: Any, names: list[str], ids: list[int | None]) -> None:
        for name, given in zip(names, ids, strict=True):
            values = {"name": name, "aliases": [], "version": 1, "created_at": now, "updated_at": now}
            session.execute(table.insert().values(**values, **({"id": given} if given else {})))

    with store.write() as session:
        ctx = Context(session, "tester")
        before = session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
        add(session, ["o1", "o2", "o3"], [None, None, None])
        assert _new_ids(ctx, table.c.name, table.c.id, ["o1", "o2", "o3"], before) == {
            "o1": before + 1, "o2": before + 2, "o3": before + 3}
        before += 3
        add(session, ["o4", "o5", "o6"], [before + 1, before + 3, before + 4])  # a gap
        assert _new_ids(ctx, table.c.name, table.c.id, ["o4", "o5", "o6"], before) == {
            "o4": before + 1, "o5": before + 3, "o6": before + 4}


HEADER = ["id", "title", "programme", "host_country", "partner_country", "value", "currency", "value_date",
          "sectors", "participants", "planned_start", "status", "status_date"]
ROWS = [HEADER,
        ["s1", "Ünïcode \"one\"", "fresh-wind", "KAZ", "KOR", "1,250,000.50", "usd", "22.04.2019",
         "21020:60.0; 21030:40", "Korea Eximbank (funding, KOR); New Org % (investor, KAZ)", "2019-05-01", "agreed",
         "2019-04"],
        ["s2", "Two", "", "", "", "10", "KZT", "", "12191", "", "", "", ""]]


def test_stored_audit_text_is_what_the_json_column_writes(store, tmp_path):
    """The snapshots the bulk insert stores as text read back as the one-by-one path's would
    (tests/test_tabular_bulk.py) and are, byte for byte, ``json.dumps`` of what they hold."""
    with store.write() as session:
        load_dataset(Context(session, "tester"), read_dataset(demo_path()), "demo", demo_path().parent)
    with store.read() as session:
        start = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    with store.write() as session:
        result = import_projects(Context(session, "tester"), read_sheet(write_csv(tmp_path / "s.csv", ROWS)))
    assert result.summary["created"] == 2
    table = AuditEvent.__table__
    with store.read() as session:
        raw = session.connection().exec_driver_sql(
            f"SELECT action, entity, {table.c.before.name}, {table.c.after.name} FROM {table.name} "
            f"WHERE id > {start} ORDER BY id").all()
        sectors_of = select(ProjectSector.percent).join(Project, Project.id == ProjectSector.project_id)
        percents = sorted(session.scalars(sectors_of.where(Project.code.in_(["s1", "s2"]))))
    assert [(a, e) for a, e, *_ in raw if e == "project"] == [("create", "project"), ("create", "project"),
                                                              ("status", "project")]
    for _, _, before, after in raw:
        for text in (before, after):
            as_text = text if isinstance(text, str) else json.dumps(text)
            assert as_text == json.dumps(json.loads(as_text))
    first = next(after for _, entity, _, after in raw if entity == "project")
    sectors = json.loads(first if isinstance(first, str) else json.dumps(first))["sectors"]
    assert sectors == {"21020": "60.0", "21030": "40"}
    assert percents == [Decimal("40"), Decimal("60"), Decimal("100")]


def test_check_project_remembered_gives_the_same_findings(store):
    """With the import's memo, each spec gets the findings (and order) of a check without one,
    the second time as the first: dates and their order, amounts and currencies included."""
    from cooptrack.errors import InvalidInput
    from cooptrack.services.projects import ProjectSpec, check_project

    specs = [
        ProjectSpec("a", "A", value="1,5", currency="usd", planned_start="2020-01-01", planned_end="2019-01-01"),
        ProjectSpec("b", "B", value="10", currency="xxx", actual_start="2021-02-30", actual_end="2020-01-01"),
        ProjectSpec("c", "C", value="10", planned_start="2020-01-01", planned_end="2019-01-01",
                    actual_start="2022-01-01", actual_end="2021-01-01", host_country="Narnia"),
        ProjectSpec("d", "D", value="2500000.50", currency="KZT", planned_start="2020-01-01", planned_end="2021-01-01"),
        ProjectSpec("Bad Id", "", value="-5", currency="USD", value_date="2019-13-01"),
    ]

    def outcome(spec: ProjectSpec, memo: dict[Any, Any] | None) -> Any:
        with store.read() as session:
            try:
                checked = check_project(Context(session, "tester"), spec, memo)
            except InvalidInput as exc:
                return [(f.code, f.field, f.value, f.message) for f in exc.findings]
            return checked.fields

    memo: dict[Any, Any] = {}
    for _ in range(2):
        for spec in specs:
            assert outcome(spec, memo) == outcome(spec, None), spec.code
    assert outcome(specs[3], None)["value_amount"] == Decimal("2500000.50")
    assert outcome(specs[3], None)["value_currency"] == "KZT"


def test_a_status_date_refused_as_a_day_is_not_read_as_a_period(store, tmp_path):
    """A status date the day parser refuses is reported as a bad date, and the status is then
    without its date: the period parser never sees the refused text."""
    rows = [["id", "title", "status", "status_date"], ["p1", "One", "agreed", "12.13.2019"],
            ["p2", "Two", "agreed", "2019-Q5"], ["p3", "Three", "agreed", "12.13.2019"]]
    with store.write() as session:
        result = import_projects(Context(session, "tester"), read_sheet(write_csv(tmp_path / "s.csv", rows)))
    found = [(f.row, f.code, f.field) for f in result.report.findings]
    assert found == [(2, "bad_date", "status_date"), (2, "missing_status_date", "status_date"),
                     (3, "bad_period", "status_date"),
                     (4, "bad_date", "status_date"), (4, "missing_status_date", "status_date")]
